//! The Horizon port: what Mooring asks of the Stellar network, behind a small trait with an
//! HTTP adapter ([`HttpHorizon`]) and, for tests only (`cfg(test)` or the `testing` feature), an
//! in-memory ledger (`InMemoryHorizon`).

mod http_adapter;
#[cfg(any(test, feature = "testing"))]
mod memory;
mod model;
mod records;

use std::future::Future;

pub use http_adapter::HttpHorizon;
#[cfg(any(test, feature = "testing"))]
pub use memory::{ClaimableBalanceRecord, InMemoryHorizon, SubmitFault};
pub use model::{AccountRecord, Balance, Signer, SignerKey, Thresholds};
pub use records::{
    base_fee_from_fee_stats, payments_from_horizon_json, rejection_from_problem, PaymentKind,
    PaymentRecord, Submission, TransactionRecord,
};

use crate::stellar::AccountId;

#[derive(Debug, thiserror::Error)]
pub enum HorizonError {
    #[error("Horizon could not be reached: {0}")]
    Unreachable(String),
    #[error("Horizon answered {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("Horizon's answer could not be read: {0}")]
    Malformed(String),
}

/// Largest page size Horizon serves.
pub const MAX_PAGE_LIMIT: u32 = 200;

pub trait Horizon: Send + Sync {
    /// The account, or `None` when it does not exist on the ledger (a 404 is a value, not an error).
    fn account(
        &self,
        id: &AccountId,
    ) -> impl Future<Output = Result<Option<AccountRecord>, HorizonError>> + Send;

    /// `POST /transactions` of a signed envelope (base64 XDR), waiting for its ledger.
    ///
    /// `Ok(Submission::Unknown)` after a 504, another 5xx or a timeout once the request was sent;
    /// `Err(Unreachable)` only when nothing was sent (the connection failed).
    fn submit(
        &self,
        envelope_xdr: &str,
    ) -> impl Future<Output = Result<Submission, HorizonError>> + Send;

    /// `GET /transactions/{hash}`; `None` when Horizon does not know it (404).
    fn transaction(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<TransactionRecord>, HorizonError>> + Send;

    /// `GET /accounts/{id}/payments?cursor=&order=asc&limit=&join=transactions`: the payments
    /// after `cursor` (from the oldest when `None`), oldest first, at most `limit` (1-200).
    /// An account Horizon does not know has none.
    fn payments(
        &self,
        account: &AccountId,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PaymentRecord>, HorizonError>> + Send;

    /// The paging token of the account's newest payment (`order=desc&limit=1`): where the
    /// history a watcher finds on its first run ends; `None` when it has none.
    fn latest_payment_cursor(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<String>, HorizonError>> + Send;

    /// The fee per operation to bid, in stroops, from `GET /fee_stats` (see
    /// [`base_fee_from_fee_stats`]); callers fall back to their configured fee on error.
    fn base_fee(&self) -> impl Future<Output = Result<u32, HorizonError>> + Send;
}

impl<T: Horizon + ?Sized> Horizon for std::sync::Arc<T> {
    fn account(
        &self,
        id: &AccountId,
    ) -> impl Future<Output = Result<Option<AccountRecord>, HorizonError>> + Send {
        T::account(self, id)
    }

    fn submit(
        &self,
        envelope_xdr: &str,
    ) -> impl Future<Output = Result<Submission, HorizonError>> + Send {
        T::submit(self, envelope_xdr)
    }

    fn transaction(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<TransactionRecord>, HorizonError>> + Send {
        T::transaction(self, hash)
    }

    fn payments(
        &self,
        account: &AccountId,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PaymentRecord>, HorizonError>> + Send {
        T::payments(self, account, cursor, limit)
    }

    fn latest_payment_cursor(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<String>, HorizonError>> + Send {
        T::latest_payment_cursor(self, account)
    }

    fn base_fee(&self) -> impl Future<Output = Result<u32, HorizonError>> + Send {
        T::base_fee(self)
    }
}
