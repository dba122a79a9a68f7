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
use crate::stellar::Keypair;
use crate::store::{QuoteStore, TransactionStore};
use crate::time::Timestamp;
use crate::transfer::callback::{post_to_callback_url, CallbackSender};
use crate::transfer::Caller;

use super::view::{Envelope, TransactionView};
use crate::model::Transaction;

/// The settings the service is built from (read once per cold start).
#[derive(Debug, Clone)]
pub struct TransferSettings {
    pub anchor: AnchorConfig,
    /// Verifies SEP-10 tokens.
    pub auth: AuthConfig,
    /// The deposit features `/info` announces: the Stellar submitter honours
    /// `SEP24_ACCOUNT_CREATION` and `SEP24_CLAIMABLE_BALANCES` for every deposit, SEP-6's too.
    pub deposits: Sep24Config,
    /// Signs `on_change_callback` posts (`SIGNING_SEED`); `None`: they are not sent.
    pub callback_signer: Option<Keypair>,
}

/// The SEP-6 API over an anchor's integration `I`, a transaction and quote store `S` and a
/// wallet-callback sender `C`.
pub struct Transfer<I, S, C> {
    pub(super) anchor: AnchorConfig,
    pub(super) deposits: Sep24Config,
    pub(super) integration: I,
    auth: Authenticator,
    pub(super) store: Arc<S>,
    clock: Arc<dyn Clock>,
    callbacks: C,
    callback_signer: Option<Keypair>,
}

impl<I, S, C> Transfer<I, S, C>
where
    I: ProgrammaticIntegration + FeeIntegration,
    S: TransactionStore + QuoteStore,
    C: CallbackSender,
{
    pub fn new(
        settings: TransferSettings,
        integration: I,
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        callbacks: C,
    ) -> Self {
        Self {
            auth: Authenticator::new(&settings.auth, clock.clone()),
            anchor: settings.anchor,
            deposits: settings.deposits,
            integration,
            store,
            clock,
            callbacks,
            callback_signer: settings.callback_signer,
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

    /// Posts the transaction, signed, to its `on_change_callback` (after a status change this
    /// API made). Failures are logged.
    pub(super) async fn notify(&self, transaction: &Transaction) {
        let view = Envelope(TransactionView::new(transaction));
        post_to_callback_url(
            &self.callbacks,
            self.callback_signer.as_ref(),
            transaction,
            &view,
            self.clock.now(),
        )
        .await;
    }
}
