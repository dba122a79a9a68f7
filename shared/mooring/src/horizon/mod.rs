//! The Horizon port: what Mooring asks of the Stellar network, behind a small trait with an
//! HTTP adapter ([`HttpHorizon`]) and an in-memory one ([`InMemoryHorizon`]) for tests.

mod http_adapter;
mod memory;
mod model;

use std::future::Future;

pub use http_adapter::HttpHorizon;
pub use memory::InMemoryHorizon;
pub use model::{AccountRecord, Balance, Signer, SignerKey, Thresholds};

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

pub trait Horizon: Send + Sync {
    /// The account, or `None` when it does not exist on the ledger (a 404 is a value, not an error).
    fn account(
        &self,
        id: &AccountId,
    ) -> impl Future<Output = Result<Option<AccountRecord>, HorizonError>> + Send;
}

impl<T: Horizon + ?Sized> Horizon for std::sync::Arc<T> {
    fn account(
        &self,
        id: &AccountId,
    ) -> impl Future<Output = Result<Option<AccountRecord>, HorizonError>> + Send {
        T::account(self, id)
    }
}
