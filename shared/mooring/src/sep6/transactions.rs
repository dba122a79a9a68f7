//! SEP-6 `GET /transaction` and `GET /transactions` (digest 6.6): a user's own SEP-6
//! transactions ([`crate::transfer::history`]), `kind` a list. A transaction waiting in the KYC
//! loop is asked about again as it is read, so it moves on as soon as its customer is complete
//! ([`Transfer::advance`]).

use std::collections::BTreeMap;

use super::service::Transfer;
use crate::config::Sep;
use crate::error::ApiError;
use crate::integrations::{CustomerIntegration, FeeIntegration, ProgrammaticIntegration};
use crate::model::{Kind, Protocol, Transaction, TransactionStatus};
use crate::store::{QuoteStore, TransactionStore};
use crate::transfer::history::History;
use crate::transfer::{param, truncate, Caller};

/// A listing asks the integration again about at most this many transactions of the KYC loop
/// (the rest on a later read).
const MAX_ADVANCED_PER_LISTING: usize = 10;

impl<I, S> Transfer<I, S>
where
    I: ProgrammaticIntegration + FeeIntegration + CustomerIntegration,
    S: TransactionStore + QuoteStore,
{
    fn history(&self) -> History<'_, S> {
        History {
            store: &*self.store,
            protocol: Protocol::Sep6,
            sep: Sep::Sep6,
            assets: &self.anchor.assets,
        }
    }

    /// `GET /transaction`: 404 unless it is the caller's SEP-6 transaction.
    pub async fn transaction(
        &self,
        caller: &Caller,
        params: &BTreeMap<String, String>,
    ) -> Result<Transaction, ApiError> {
        let transaction = self.history().transaction(caller, params).await?;
        Ok(self.advance(transaction).await)
    }

    /// `GET /transactions`: the caller's SEP-6 transactions of `asset_code`, narrowed by
    /// `kind` (comma-separated after the routes joined repeated `kind` parameters: `deposit`,
    /// `deposit-exchange`, `withdrawal`, `withdrawal-exchange`) and the listing's other
    /// parameters.
    pub async fn transactions(
        &self,
        caller: &Caller,
        params: &BTreeMap<String, String>,
    ) -> Result<Vec<Transaction>, ApiError> {
        let kinds = match param(params, "kind") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|kind| match kind.trim() {
                    "deposit" => Ok(Kind::Deposit),
                    "deposit-exchange" => Ok(Kind::DepositExchange),
                    "withdrawal" => Ok(Kind::Withdrawal),
                    "withdrawal-exchange" => Ok(Kind::WithdrawalExchange),
                    other => Err(ApiError::bad_request(format!(
                        "'kind' must be deposit, deposit-exchange, withdrawal or \
                         withdrawal-exchange, not {}",
                        truncate(other)
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let listed = self.history().transactions(caller, params, kinds).await?;
        let mut advanced = 0;
        let mut transactions = Vec::with_capacity(listed.len());
        for transaction in listed {
            if transaction.status == TransactionStatus::PendingCustomerInfoUpdate
                && advanced < MAX_ADVANCED_PER_LISTING
            {
                advanced += 1;
                transactions.push(self.advance(transaction).await);
            } else {
                transactions.push(transaction);
            }
        }
        Ok(transactions)
    }
}
