//! The SEP-31 receiving API as a domain service ([`Receive`]): `/info` ([`super::info`]),
//! `POST /transactions` ([`super::request`]), a transaction, its `PATCH` and callback URL
//! ([`super::transactions`]). Its HTTP glue is [`super::routes`].

use std::sync::Arc;

use http::HeaderMap;

use super::config::{Partners, Sep31Config};
use crate::auth::{AuthConfig, Authenticator};
use crate::clock::Clock;
use crate::config::AnchorConfig;
use crate::error::ApiError;
use crate::integrations::{IntegrationError, ReceiveIntegration};
use crate::model::{Protocol, Transaction};
use crate::queue::Queue;
use crate::store::{QuoteStore, TransactionStore};
use crate::time::Timestamp;
use crate::transfer::{store_error, Caller};

/// The settings the service is built from (read once per cold start).
#[derive(Debug, Clone)]
pub struct ReceiveSettings {
    pub anchor: AnchorConfig,
    /// Verifies SEP-10 tokens.
    pub auth: AuthConfig,
    /// Who may send payments.
    pub sep31: Sep31Config,
}

/// The SEP-31 receiving API over an anchor's integration `I`, a transaction and quote store
/// `S` and the outgoing-payments queue `Q` (where a transaction goes once it is
/// `pending_receiver`). The sending anchor hears of each status change from the table's stream
/// ([`crate::status_callbacks`]), never from here.
pub struct Receive<I, S, Q> {
    pub(super) anchor: AnchorConfig,
    partners: Partners,
    pub(super) integration: I,
    auth: Authenticator,
    pub(super) store: Arc<S>,
    pub(super) outgoing: Arc<Q>,
    clock: Arc<dyn Clock>,
}

impl<I, S, Q> Receive<I, S, Q>
where
    I: ReceiveIntegration,
    S: TransactionStore + QuoteStore,
    Q: Queue,
{
    pub fn new(
        settings: ReceiveSettings,
        integration: I,
        store: Arc<S>,
        outgoing: Arc<Q>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            auth: Authenticator::new(&settings.auth, clock.clone()),
            anchor: settings.anchor,
            partners: settings.sep31.sending_anchors,
            integration,
            store,
            outgoing,
            clock,
        }
    }

    /// The sending anchor of a request: a valid SEP-10 token of a configured partner that the
    /// integration accepts ([`ReceiveIntegration::valid_sending_anchor`]); anything else is
    /// SEP-31's 403 `{"error": ...}`.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let (user, claims) = self
            .auth
            .authenticate_claims(headers)
            .map_err(|e| ApiError::Forbidden(e.to_string()))?;
        let refused = || {
            tracing::info!(account = %user.account, "not a sending anchor");
            ApiError::Forbidden("this account is not a sending anchor of this anchor".into())
        };
        if !self.partners.admits(&user.account) {
            return Err(refused());
        }
        match self.integration.valid_sending_anchor(&user.account).await {
            Ok(true) => {}
            Ok(false) | Err(IntegrationError::Invalid(_) | IntegrationError::NotFound) => {
                return Err(refused())
            }
            Err(error) => return Err(error.into()),
        }
        Ok(Caller {
            user,
            client_domain: claims.client_domain,
        })
    }

    pub(super) fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.clock.now())
    }

    /// The caller's SEP-31 transaction `id`; 404 for an unknown id, another sending anchor's
    /// transaction and any other SEP's alike.
    pub(super) async fn own(&self, caller: &Caller, id: &str) -> Result<Transaction, ApiError> {
        let not_found = || ApiError::NotFound("transaction not found".into());
        if id.len() > 256 {
            return Err(not_found());
        }
        self.store
            .get(id)
            .await
            .map_err(store_error)?
            .filter(|t| t.protocol == Protocol::Sep31 && t.user == caller.key())
            .ok_or_else(not_found)
    }
}
