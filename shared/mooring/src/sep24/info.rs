//! SEP-24 `GET /info` (digest 5.1): per SEP-24 asset code, whether deposit and withdrawal are
//! enabled with their limits and fees (JSON numbers), the `/fee` endpoint (enabled, needs a
//! token) and the features the deposit submitter honours.

use serde::Serialize;
use serde_json::{Map, Value};

use super::service::Transfer;
use crate::config::Sep;
use crate::integrations::{DepositIntegration, FeeIntegration, Operation, WithdrawalIntegration};
use crate::store::{QuoteStore, TransactionStore};
use crate::transfer::limits::entry;
pub use crate::transfer::limits::number;

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
