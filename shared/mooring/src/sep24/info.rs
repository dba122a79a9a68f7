//! SEP-24 `GET /info` (digest 5.1): per SEP-24 asset code, whether deposit and withdrawal are
//! enabled with their limits and fees (JSON numbers), the `/fee` endpoint (enabled, needs a
//! token) and the features the deposit submitter honours.

use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::service::Transfer;
use crate::config::{Sep, TransferLimits};
use crate::integrations::{DepositIntegration, FeeIntegration, Operation, WithdrawalIntegration};
use crate::stellar::Amount;
use crate::store::{QuoteStore, TransactionStore};

/// The `/info` answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Info {
    pub deposit: Map<String, Value>,
    pub withdraw: Map<String, Value>,
    pub fee: FeeEndpoint,
    pub features: Features,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FeeEndpoint {
    pub enabled: bool,
    pub authentication_required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Features {
    pub account_creation: bool,
    pub claimable_balances: bool,
}

impl<I, S> Transfer<I, S>
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + QuoteStore,
{
    /// `GET /info`. Assets are keyed by code (`native` for XLM), as SEP-24 shows them; should
    /// two SEP-24 assets share a code, the first configured is shown.
    pub fn info(&self) -> Info {
        let mut deposit = Map::new();
        let mut withdraw = Map::new();
        for asset in self.anchor.assets.iter().filter(|a| a.offers(Sep::Sep24)) {
            let code = asset.asset.code();
            for (operation, map) in [
                (Operation::Deposit, &mut deposit),
                (Operation::Withdraw, &mut withdraw),
            ] {
                if !map.contains_key(code) {
                    map.insert(code.to_owned(), entry(operation.limits(asset)));
                }
            }
        }
        Info {
            deposit,
            withdraw,
            fee: FeeEndpoint {
                enabled: true,
                authentication_required: true,
            },
            features: Features {
                account_creation: self.sep24.account_creation,
                claimable_balances: self.sep24.claimable_balances,
            },
        }
    }
}

/// One asset's entry for one direction: `{"enabled": false}` when it is not offered.
fn entry(limits: Option<&TransferLimits>) -> Value {
    let mut entry = Map::new();
    let limits = limits.filter(|l| l.enabled);
    entry.insert("enabled".into(), Value::Bool(limits.is_some()));
    if let Some(limits) = limits {
        for (key, value) in [
            ("min_amount", limits.min_amount),
            ("max_amount", limits.max_amount),
            ("fee_fixed", limits.fee_fixed),
            ("fee_percent", limits.fee_percent),
            ("fee_minimum", limits.fee_minimum),
        ] {
            if let Some(value) = value {
                entry.insert(key.into(), number(value));
            }
        }
    }
    Value::Object(entry)
}

/// An amount as a JSON number (`/info` and `/fee` show numbers): an integer when whole, else
/// the nearest double of its decimal, which prints as that decimal.
pub fn number(amount: Amount) -> Value {
    const UNIT: i64 = 10_000_000;
    if amount.stroops() % UNIT == 0 {
        return Value::Number(Number::from(amount.stroops() / UNIT));
    }
    amount
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}
