//! SEP-6 `GET /info` (digest 6.1): per SEP-6 asset code, each direction with its funding
//! methods, limits and fees (JSON numbers); the exchange directions for assets quoted through
//! SEP-38; the endpoints (every one needs a SEP-10 token); the deposit features.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::service::Transfer;
use crate::config::{AssetConfig, Sep, TransferLimits};
use crate::error::ApiError;
use crate::integrations::{FeeIntegration, FeeRequest, Operation, ProgrammaticIntegration};
use crate::stellar::Amount;
use crate::store::{QuoteStore, TransactionStore};
use crate::transfer::limits::entry;
use crate::transfer::{fee_query, param, Caller};

/// The `/info` answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Info {
    pub deposit: Map<String, Value>,
    #[serde(rename = "deposit-exchange")]
    pub deposit_exchange: Map<String, Value>,
    pub withdraw: Map<String, Value>,
    #[serde(rename = "withdraw-exchange")]
    pub withdraw_exchange: Map<String, Value>,
    pub fee: FeeEndpoint,
    pub transactions: Endpoint,
    pub transaction: Endpoint,
    pub features: Features,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub enabled: bool,
    pub authentication_required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeEndpoint {
    pub enabled: bool,
    pub authentication_required: bool,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Features {
    pub account_creation: bool,
    pub claimable_balances: bool,
}

/// Every endpoint but `/info` needs a token.
const AUTHENTICATED: Endpoint = Endpoint {
    enabled: true,
    authentication_required: true,
};

impl<I, S> Transfer<I, S>
where
    I: ProgrammaticIntegration + FeeIntegration,
    S: TransactionStore + QuoteStore,
{
    /// `GET /info`. Assets are keyed by code (`native` for XLM); should two SEP-6 assets share
    /// a code, the first configured is shown. An asset that is also quoted through SEP-38 has
    /// the exchange directions too.
    pub fn info(&self) -> Info {
        let mut info = Info {
            deposit: Map::new(),
            deposit_exchange: Map::new(),
            withdraw: Map::new(),
            withdraw_exchange: Map::new(),
            fee: FeeEndpoint {
                enabled: true,
                authentication_required: true,
                description:
                    "fee_fixed plus fee_percent of the amount, at least fee_minimum, \
                              as /info lists them per asset; quoted exchanges carry the quote's fee"
                        .into(),
            },
            transactions: AUTHENTICATED,
            transaction: AUTHENTICATED,
            features: Features {
                account_creation: self.deposits.account_creation,
                claimable_balances: self.deposits.claimable_balances,
            },
        };
        for asset in self.anchor.assets.iter().filter(|a| a.offers(Sep::Sep6)) {
            let code = asset.asset.code();
            let exchange = asset.offers(Sep::Sep38);
            for (operation, plain, exchanged) in [
                (
                    Operation::Deposit,
                    &mut info.deposit,
                    &mut info.deposit_exchange,
                ),
                (
                    Operation::Withdraw,
                    &mut info.withdraw,
                    &mut info.withdraw_exchange,
                ),
            ] {
                if plain.contains_key(code) {
                    continue;
                }
                let limits = operation.limits(asset).filter(|l| l.enabled);
                plain.insert(code.to_owned(), direction(limits, true));
                if exchange && limits.is_some() {
                    exchanged.insert(code.to_owned(), direction(limits, false));
                }
            }
        }
        info
    }
}

/// One direction of an asset: `{"enabled": false}` when it is not offered; else enabled, with
/// the token requirement, funding methods and (for the plain direction) limits and fees. The
/// amounts of an exchange are the quote's, so its entry shows no fees.
fn direction(limits: Option<&TransferLimits>, with_fees: bool) -> Value {
    let mut entry_map = match (limits, with_fees) {
        (Some(_), true) | (None, _) => match entry(limits) {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        (Some(_), false) => {
            let mut map = Map::new();
            map.insert("enabled".into(), Value::Bool(true));
            map
        }
    };
    if let Some(limits) = limits {
        entry_map.insert("authentication_required".into(), Value::Bool(true));
        entry_map.insert(
            "funding_methods".into(),
            Value::Array(
                limits
                    .funding_methods
                    .iter()
                    .map(|m| Value::String(m.clone()))
                    .collect(),
            ),
        );
    }
    Value::Object(entry_map)
}

impl<I, S> Transfer<I, S>
where
    I: ProgrammaticIntegration + FeeIntegration,
    S: TransactionStore + QuoteStore,
{
    /// `GET /fee` (deprecated, as SEP-24's): `operation` (`deposit` | `withdraw`), `asset_code`,
    /// `amount` (within the direction's limits), `type` (the funding method, passed on to the
    /// anchor's `FeeIntegration`).
    pub async fn fee(
        &self,
        caller: &Caller,
        params: &BTreeMap<String, String>,
    ) -> Result<Amount, ApiError> {
        let (operation, asset, amount) = fee_query(&self.anchor.assets, Sep::Sep6, params)?;
        let user = caller.key();
        let request = FeeRequest {
            operation,
            fee_type: param(params, "type"),
            asset,
            amount,
            user: Some(&user),
        };
        Ok(self.integration.fee(&request).await?)
    }
}

/// The funding method a request names: `funding_method`, which must be one of the direction's,
/// or its deprecated name `type`, whose free-form values from older wallets (`bank_account`,
/// `SEPA`, ...) name one of ours or, when the direction has a single method, mean that one.
/// With neither, a direction of one method needs none (the validator and older wallets send
/// none). Anything else is 400.
pub(super) fn funding_method<'a>(
    limits: &'a TransferLimits,
    asset: &AssetConfig,
    funding_method: Option<&str>,
    old_type: Option<&str>,
) -> Result<&'a str, ApiError> {
    let methods = &limits.funding_methods;
    let named = |sent: &str| methods.iter().find(|m| m.as_str() == sent);
    let only = match methods.as_slice() {
        [only] => Some(only),
        _ => None,
    };
    let found = match (funding_method, old_type) {
        (Some(sent), _) => named(sent),
        (None, Some(sent)) => named(sent).or(only),
        (None, None) => only,
    };
    found
        .map(String::as_str)
        .ok_or_else(|| match funding_method.or(old_type) {
            Some(_) => ApiError::bad_request(format!(
                "'funding_method' must be one of {} for {}",
                methods.join(", "),
                asset.asset.code()
            )),
            None => ApiError::bad_request(format!(
                "'funding_method' is required: one of {}",
                methods.join(", ")
            )),
        })
}
