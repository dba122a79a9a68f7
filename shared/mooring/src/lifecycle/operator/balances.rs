//! The anchor's own Stellar accounts (distribution, channels) and their balances from Horizon:
//! an empty channel account stops deposits, an empty distribution account stops them all.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{AnchorConfig, ConfigError, Source};
use crate::horizon::Horizon;
use crate::metrics::Metric;
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
    Ok(AnchorAccounts {
        accounts: accounts_of(&anchor, distribution, channels),
        horizon_url: anchor.horizon_url,
    })
}

/// The accounts the submitter pays from: the distribution account, any other distribution
/// account an asset names, and the channel accounts.
pub fn accounts_of(
    anchor: &AnchorConfig,
    distribution: AccountId,
    channels: Vec<AccountId>,
) -> Vec<AnchorAccount> {
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
    accounts
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

/// Records the lowest balance of the anchor's accounts (`LowestBalance`) in four groups, for
/// the low-balance alarms: `Accounts` `distribution` (every distribution account) or
/// `channels`, and `Asset` `XLM` or `issued` (every other asset; the distribution accounts'
/// only). An account that does not exist counts as 0 XLM; one Horizon could not answer for
/// counts as nothing (no news).
pub fn record_lowest(balances: &[AccountBalances]) {
    let mut lowest: [Option<i64>; 3] = [None; 3];
    let mut note = |slot: usize, stroops: i64| {
        lowest[slot] = Some(lowest[slot].map_or(stroops, |low| low.min(stroops)));
    };
    for entry in balances.iter().filter(|entry| entry.error.is_none()) {
        let channel = entry.role.starts_with("channel");
        let xlm_slot = if channel { 1 } else { 0 };
        if !entry.exists {
            note(xlm_slot, 0);
            continue;
        }
        for balance in &entry.balances {
            match (balance.asset == "XLM", channel) {
                (true, _) => note(xlm_slot, balance.balance.stroops()),
                (false, false) => note(2, balance.balance.stroops()),
                (false, true) => {}
            }
        }
    }
    let groups = [
        ("distribution", "XLM"),
        ("channels", "XLM"),
        ("distribution", "issued"),
    ];
    for ((accounts, asset), low) in groups.into_iter().zip(lowest) {
        if let Some(stroops) = low {
            crate::metrics::record(
                Metric::LowestBalance,
                &[("Accounts", accounts), ("Asset", asset)],
                stroops as f64 / 10_000_000.0,
            );
        }
    }
}

/// Checks the balances of the accounts a function pays from at most once per `every` (the
/// Stellar submitter, after a batch: only its payments lower them), and records the lowest.
pub struct BalanceWatch<H> {
    horizon: Arc<H>,
    accounts: Vec<AnchorAccount>,
    every: Duration,
    last: Mutex<Option<Instant>>,
}

impl<H: Horizon> BalanceWatch<H> {
    pub fn new(horizon: Arc<H>, accounts: Vec<AnchorAccount>, every: Duration) -> Self {
        Self {
            horizon,
            accounts,
            every,
            last: Mutex::new(None),
        }
    }

    /// Checks now unless it did within `every`. True when it checked.
    pub async fn check_if_due(&self) -> bool {
        {
            let mut last = self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < self.every) {
                return false;
            }
            *last = Some(Instant::now());
        }
        let found = balances(self.horizon.as_ref(), &self.accounts).await;
        for entry in found.iter().filter(|entry| entry.error.is_some()) {
            tracing::warn!(role = %entry.role, error = entry.error.as_deref().unwrap_or_default(),
                "balance not read");
        }
        record_lowest(&found);
        true
    }
}

#[cfg(test)]
mod metric_tests {
    use super::*;

    fn entry(role: &str, exists: bool, balances: &[(&str, i64)]) -> AccountBalances {
        AccountBalances {
            role: role.into(),
            account: crate::stellar::Keypair::from_seed_bytes([3; 32]).account_id(),
            exists,
            balances: balances
                .iter()
                .map(|(asset, stroops)| AssetBalance {
                    asset: (*asset).into(),
                    balance: Amount::from_stroops(*stroops),
                    limit: None,
                })
                .collect(),
            error: None,
        }
    }

    #[test]
    fn the_lowest_balance_of_each_group_is_recorded() {
        let mut unknown = entry("channel 2", true, &[("XLM", 1)]);
        unknown.error = Some("Horizon down".into());
        let all = [
            entry(
                "distribution",
                true,
                &[("XLM", 500_000_000), ("USDC:GA", 70_000_000)],
            ),
            entry(
                "distribution of EURC",
                true,
                &[("XLM", 900_000_000), ("EURC:GB", 20_000_000)],
            ),
            entry("channel 0", true, &[("XLM", 25_000_000)]),
            entry("channel 1", true, &[("XLM", 45_000_000)]),
            unknown,
        ];
        let metrics = crate::metrics::Recording::start();
        record_lowest(&all);
        let of = |accounts, asset| {
            metrics.total(
                Metric::LowestBalance,
                &[("Accounts", accounts), ("Asset", asset)],
            )
        };
        assert_eq!(metrics.recorded().len(), 3);
        assert_eq!(of("distribution", "XLM"), 50.0);
        assert_eq!(of("channels", "XLM"), 2.5);
        assert_eq!(of("distribution", "issued"), 2.0);

        let metrics = crate::metrics::Recording::start();
        record_lowest(&[entry("channel 0", false, &[])]);
        assert_eq!(metrics.recorded().len(), 1, "an unfunded account is empty");
        assert_eq!(
            metrics.total(
                Metric::LowestBalance,
                &[("Accounts", "channels"), ("Asset", "XLM")]
            ),
            0.0
        );
    }
}
