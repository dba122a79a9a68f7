//! SEP-24 `GET /transaction` and `GET /transactions` (digest 5.7, 5.8): a user's own SEP-24
//! transactions, newest first ([`crate::transfer::history`]), with SEP-24's one `kind`.

use std::collections::BTreeMap;

use super::service::{param, Caller, Transfer};
use crate::config::Sep;
use crate::error::ApiError;
use crate::integrations::{DepositIntegration, FeeIntegration, WithdrawalIntegration};
use crate::model::{Kind, Protocol, Transaction};
use crate::store::{QuoteStore, TransactionStore};
use crate::transfer::history::History;

pub use crate::transfer::history::MAX_LIMIT;

impl<I, S> Transfer<I, S>
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + QuoteStore,
{
    fn history(&self) -> History<'_, S> {
        History {
            store: &*self.store,
            protocol: Protocol::Sep24,
            sep: Sep::Sep24,
            assets: &self.anchor.assets,
        }
    }

    /// `GET /transaction`: 404 unless it is the caller's SEP-24 transaction.
    pub async fn transaction(
        &self,
        caller: &Caller,
        params: &BTreeMap<String, String>,
    ) -> Result<Transaction, ApiError> {
        self.history().transaction(caller, params).await
    }

    /// `GET /transactions`: the caller's SEP-24 transactions of `asset_code`, narrowed by
    /// `kind` (`deposit` | `withdrawal`) and the listing's other parameters.
    pub async fn transactions(
        &self,
        caller: &Caller,
        params: &BTreeMap<String, String>,
    ) -> Result<Vec<Transaction>, ApiError> {
        let kinds = match param(params, "kind") {
            None => Vec::new(),
            Some("deposit") => vec![Kind::Deposit],
            Some("withdrawal") => vec![Kind::Withdrawal],
            Some(_) => {
                return Err(ApiError::bad_request(
                    "'kind' must be deposit or withdrawal",
                ))
            }
        };
        self.history().transactions(caller, params, kinds).await
    }
}
