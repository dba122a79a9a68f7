//! The integration traits: where an anchor's own business logic plugs into Mooring.
//! Operators implement them in `shared/integrations` (crate `anchor-integrations`); methods
//! have a sensible default wherever one exists, so an implementation only overrides what it
//! needs.
//!
//! - [`TomlIntegration`]: stellar.toml (SEP-1);
//! - [`CustomerIntegration`] ([`customer`]): SEP-12 customers;
//! - [`InteractiveFlow`] ([`transfer`]): the hooks of the SEP-24 interactive flow that deposits
//!   and withdrawals share (forms, page texts, an external flow, SEP-9 fields from the wallet);
//! - [`DepositIntegration`], [`WithdrawalIntegration`] ([`transfer`]): each direction's own
//!   hooks on top (instructions and the deposit poller's; the payout);
//! - [`FeeIntegration`] ([`transfer`]): fees;
//! - [`ProgrammaticIntegration`] ([`programmatic`]): SEP-6 deposits and withdrawals (what a
//!   request needs: KYC, transaction details, instructions);
//! - [`QuoteIntegration`] ([`quote`]): SEP-38 prices and firm quotes;
//! - [`ReceiveIntegration`] ([`receive`]): SEP-31 payments received from sending anchors and
//!   paid out to their receivers.

pub mod customer;
pub mod programmatic;
pub mod quote;
pub mod receive;
pub mod transfer;

pub use customer::*;
pub use programmatic::*;
pub use quote::*;
pub use receive::*;
pub use transfer::*;

use crate::config::{AnchorConfig, ConfigError};
use crate::error::ApiError;
use crate::store::StoreError;

/// Adds to or changes the generated stellar.toml (SEP-1).
pub trait TomlIntegration: Send + Sync {
    /// Called once per cold start with the table Mooring generated from configuration; the
    /// result is served for the life of the function instance.
    fn extend_toml(&self, toml: &mut toml::Table, anchor: &AnchorConfig) {
        let _ = (toml, anchor);
    }
}

/// Why the anchor's integration could not be built at cold start (`register_integrations` in
/// `shared/integrations`): the function logs it and does not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A setting of the integration is missing or invalid (the message names it).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A client of an outside service (a bank, a KYC provider) could not be built.
    #[error("{service}: {reason}")]
    Client {
        service: &'static str,
        reason: String,
    },
}

/// Why an integration refused or failed. Converted into the HTTP answer in one place
/// (`From<IntegrationError> for ApiError`): invalid -> 400 with the message, not found -> 404,
/// unavailable -> 503 and internal -> 500 (their causes are logged, never returned).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrationError {
    /// The request is invalid; the message is returned to the client.
    #[error("{0}")]
    Invalid(String),
    /// No such record, or one that belongs to another user (never tell them apart).
    #[error("customer not found")]
    NotFound,
    /// A dependency (database, KYC provider) failed; the cause is logged.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or misconfiguration; the cause is logged.
    #[error("internal: {0}")]
    Internal(String),
}

impl IntegrationError {
    pub fn invalid(message: impl Into<String>) -> Self {
        IntegrationError::Invalid(message.into())
    }
}

impl From<IntegrationError> for ApiError {
    fn from(error: IntegrationError) -> Self {
        match error {
            IntegrationError::Invalid(message) => ApiError::BadRequest(message),
            IntegrationError::NotFound => ApiError::NotFound("customer not found".into()),
            IntegrationError::Unavailable(cause) => ApiError::Unavailable {
                public: "the customer service is unavailable; try again".into(),
                cause,
            },
            IntegrationError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<StoreError> for IntegrationError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => {
                IntegrationError::Unavailable("the customer was changed concurrently".into())
            }
            StoreError::Unavailable(cause) => IntegrationError::Unavailable(cause),
            other => IntegrationError::Internal(other.to_string()),
        }
    }
}
