//! Horizon's account resource, parsed from its exact JSON format.

use serde::Deserialize;

use super::HorizonError;
use crate::stellar::{AccountId, Amount, Asset};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub account_id: AccountId,
    pub sequence: i64,
    pub thresholds: Thresholds,
    pub signers: Vec<Signer>,
    pub balances: Vec<Balance>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct Thresholds {
    #[serde(rename = "low_threshold")]
    pub low: u8,
    #[serde(rename = "med_threshold")]
    pub medium: u8,
    #[serde(rename = "high_threshold")]
    pub high: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerKey {
    Ed25519(AccountId),
    /// sha256_hash, preauth_tx or ed25519_signed_payload signers: never satisfied by a plain
    /// signature of a transaction hash, so SEP-10 ignores them.
    Other {
        kind: String,
        key: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub key: SignerKey,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub asset: Asset,
    pub balance: Amount,
    /// Trustline limit; `None` for native XLM.
    pub limit: Option<Amount>,
    pub is_authorized: bool,
}

impl AccountRecord {
    /// The master key's signer entry and every other ed25519 signer, with their weights.
    pub fn ed25519_signers(&self) -> impl Iterator<Item = (AccountId, u32)> + '_ {
        self.signers.iter().filter_map(|s| match &s.key {
            SignerKey::Ed25519(key) => Some((*key, s.weight)),
            SignerKey::Other { .. } => None,
        })
    }

    pub fn balance(&self, asset: &Asset) -> Option<&Balance> {
        self.balances.iter().find(|b| &b.asset == asset)
    }

    /// Parses `GET /accounts/{id}`'s body.
    pub fn from_horizon_json(body: &[u8]) -> Result<Self, HorizonError> {
        let raw: RawAccount =
            serde_json::from_slice(body).map_err(|e| HorizonError::Malformed(e.to_string()))?;
        raw.try_into()
    }
}

#[derive(Deserialize)]
struct RawAccount {
    account_id: AccountId,
    sequence: String,
    thresholds: Thresholds,
    #[serde(default)]
    signers: Vec<RawSigner>,
    #[serde(default)]
    balances: Vec<RawBalance>,
}

#[derive(Deserialize)]
struct RawSigner {
    key: String,
    weight: u32,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct RawBalance {
    asset_type: String,
    asset_code: Option<String>,
    asset_issuer: Option<AccountId>,
    balance: String,
    limit: Option<String>,
    #[serde(default = "authorized_by_default")]
    is_authorized: bool,
}

fn authorized_by_default() -> bool {
    true
}

impl TryFrom<RawAccount> for AccountRecord {
    type Error = HorizonError;

    fn try_from(raw: RawAccount) -> Result<Self, HorizonError> {
        let malformed = |what: &str| HorizonError::Malformed(what.to_owned());
        let signers = raw
            .signers
            .into_iter()
            .map(|s| {
                let key = if s.kind == "ed25519_public_key" {
                    SignerKey::Ed25519(s.key.parse().map_err(|_| malformed("signer key"))?)
                } else {
                    SignerKey::Other {
                        kind: s.kind,
                        key: s.key,
                    }
                };
                Ok(Signer {
                    key,
                    weight: s.weight,
                })
            })
            .collect::<Result<_, HorizonError>>()?;
        let balances = raw
            .balances
            .into_iter()
            // Liquidity-pool shares are not assets an anchor moves.
            .filter(|b| b.asset_type != "liquidity_pool_shares")
            .map(|b| {
                let asset = match (b.asset_type.as_str(), b.asset_code, b.asset_issuer) {
                    ("native", _, _) => Asset::Native,
                    (_, Some(code), Some(issuer)) => {
                        Asset::credit(&code, issuer).map_err(|_| malformed("asset code"))?
                    }
                    _ => return Err(malformed("balance asset")),
                };
                Ok(Balance {
                    asset,
                    balance: b.balance.parse().map_err(|_| malformed("balance"))?,
                    limit: b
                        .limit
                        .map(|l| l.parse())
                        .transpose()
                        .map_err(|_| malformed("limit"))?,
                    is_authorized: b.is_authorized,
                })
            })
            .collect::<Result<_, HorizonError>>()?;
        Ok(AccountRecord {
            account_id: raw.account_id,
            sequence: raw.sequence.parse().map_err(|_| malformed("sequence"))?,
            thresholds: raw.thresholds,
            signers,
            balances,
        })
    }
}
