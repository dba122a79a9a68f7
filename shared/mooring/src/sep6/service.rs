//! The SEP-6 API as a domain service ([`Transfer`]): `/info` ([`super::info`]), the deposit and
//! withdrawal requests with their exchange variants ([`super::request`]), the KYC loop and
//! `PATCH` ([`super::update`]) and the user's transactions ([`super::transactions`]). Its HTTP
//! glue is [`super::routes`]; the `sep6-transfer` function wires it to Lambda.

use std::sync::Arc;

use http::HeaderMap;

use crate::auth::{AuthConfig, Authenticator};
use crate::clock::Clock;
use crate::config::{AnchorConfig, Sep24Config};
use crate::error::ApiError;
use crate::integrations::{FeeIntegration, ProgrammaticIntegration};
use crate::store::{QuoteStore, TransactionStore};
use crate::time::Timestamp;
use crate::transfer::Caller;

/// The settings the service is built from (read once per cold start).
#[derive(Debug, Clone)]
pub struct TransferSettings {
    pub anchor: AnchorConfig,
    /// Verifies SEP-10 tokens.
    pub auth: AuthConfig,
    /// The deposit features `/info` announces: the Stellar submitter honours
    /// `SEP24_ACCOUNT_CREATION` and `SEP24_CLAIMABLE_BALANCES` for every deposit, SEP-6's too.
    pub deposits: Sep24Config,
}

/// The SEP-6 API over an anchor's integration `I` and a transaction and quote store `S`. The
/// wallet's `on_change_callback` hears of each status change from the table's stream
/// ([`crate::status_callbacks`]), never from here.
pub struct Transfer<I, S> {
    pub(super) anchor: AnchorConfig,
    pub(super) deposits: Sep24Config,
    pub(super) integration: I,
    auth: Authenticator,
    pub(super) store: Arc<S>,
    clock: Arc<dyn Clock>,
}

impl<I, S> Transfer<I, S>
where
    I: ProgrammaticIntegration + FeeIntegration,
    S: TransactionStore + QuoteStore,
{
    pub fn new(
        settings: TransferSettings,
        integration: I,
        store: Arc<S>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            auth: Authenticator::new(&settings.auth, clock.clone()),
            anchor: settings.anchor,
            deposits: settings.deposits,
            integration,
            store,
            clock,
        }
    }

    /// The anchor's public base URL (for `more_info_url`).
    pub fn public_url(&self) -> &str {
        &self.anchor.public_url
    }

    /// The caller of a request, or SEP-6's 403 `{"type": "authentication_required"}`.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        Caller::authenticate(&self.auth, headers)
    }

    pub(super) fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.clock.now())
    }
}
