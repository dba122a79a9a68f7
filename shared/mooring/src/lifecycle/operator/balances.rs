//! The anchor's own Stellar accounts (distribution, channels) and their balances from Horizon:
//! an empty channel account stops deposits, an empty distribution account stops them all.

use serde::Serialize;

use crate::config::{AnchorConfig, ConfigError, Source};
use crate::horizon::Horizon;
use crate::payments::{public_accounts, PaymentsConfig};
use crate::stellar::{AccountId, Amount, Asset};

/// One of the anchor's accounts and what it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorAccount {
    /// `distribution`, `channel 0`, ...
    pub role: String,
    pub account: AccountId,
}

/// The anchor's accounts and the Horizon that knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorAccounts {
    pub horizon_url: String,
    pub accounts: Vec<AnchorAccount>,
}

/// The accounts the Stellar submitter pays from, read from its settings (its function's
/// environment): `DISTRIBUTION_ACCOUNT` and `CHANNEL_ACCOUNTS` (public keys; a deployed
/// submitter's keys are in KMS or Secrets Manager, out of the console's reach), else the accounts
/// of plain `DISTRIBUTION_SEED` / `CHANNEL_SEED` values (development), and any other
/// distribution account an asset names. Public keys only: seeds go no further than this function.
pub fn anchor_accounts(submitter: &impl Source) -> Result<AnchorAccounts, ConfigError> {
    let anchor = AnchorConfig::from_source(submitter)?;
    let config = PaymentsConfig::from_source(submitter)?;
    let (distribution, channels) = public_accounts(submitter, &config)?;
    let mut accounts = vec![AnchorAccount {
        role: "distribution".into(),
        account: distribution,
    }];
    for asset in &anchor.assets {
        let Some(account) = asset.distribution_account() else {
            continue;
        };
        if accounts.iter().all(|a| a.account != account) {
            accounts.push(AnchorAccount {
                role: format!("distribution of {}", asset.asset.0.code()),
                account,
            });
        }
    }
    accounts.extend(
        channels
            .into_iter()
            .enumerate()
            .map(|(index, account)| AnchorAccount {
                role: format!("channel {index}"),
                account,
            }),
    );
    Ok(AnchorAccounts {
        horizon_url: anchor.horizon_url,
        accounts,
    })
}

/// One balance of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetBalance {
    /// `XLM`, or `CODE:ISSUER`.
    pub asset: String,
    pub balance: Amount,
    /// The trustline's limit (none for XLM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Amount>,
}

/// An account's balances, as Horizon knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountBalances {
    pub role: String,
    pub account: AccountId,
    /// False when the account does not exist on the ledger (never funded).
    pub exists: bool,
    pub balances: Vec<AssetBalance>,
    /// Horizon could not say (the account's state is unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Each account's balances; an account Horizon cannot answer for carries its error.
pub async fn balances<H: Horizon>(horizon: &H, accounts: &[AnchorAccount]) -> Vec<AccountBalances> {
    let mut all = Vec::with_capacity(accounts.len());
    for AnchorAccount { role, account } in accounts {
        let mut entry = AccountBalances {
            role: role.clone(),
            account: *account,
            exists: false,
            balances: Vec::new(),
            error: None,
        };
        match horizon.account(account).await {
            Ok(Some(record)) => {
                entry.exists = true;
                entry.balances = record
                    .balances
                    .iter()
                    .map(|b| AssetBalance {
                        asset: match &b.asset {
                            Asset::Native => "XLM".to_owned(),
                            credit => credit.to_string(),
                        },
                        balance: b.balance,
                        limit: b.limit,
                    })
                    .collect();
            }
            Ok(None) => {}
            Err(error) => entry.error = Some(error.to_string()),
        }
        all.push(entry);
    }
    all
}
