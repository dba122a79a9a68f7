//! SEP-31 receiving anchor (`/sep31/info`, `POST /transactions`, `GET`/`PATCH
//! /transactions/:id`, `PUT /transactions/:id/callback`): Lambda glue around
//! [`mooring::sep31::Receive`], with the anchor's integration (`anchor_integrations`) checking
//! sending anchors, senders and receivers. Only partners get past `/info`. A transaction that
//! becomes `pending_receiver` here (after a `PATCH`) goes to the outgoing-payments queue. The
//! handler is public for the local gateway and the tests, which build the service over
//! in-memory adapters.
//!
//! Settings read once per cold start: the anchor's, `JWT_SECRET` (verifies SEP-10 tokens),
//! `SEP31_SENDING_ANCHORS` (the partners: `*`, a list of accounts, or empty for nobody),
//! `SIGNING_SEED` (optional: signs the callbacks to sending anchors, none are sent without it),
//! `SEP24_CALLBACK_TIMEOUT_MS`, `SEP24_CALLBACK_ALLOW_INSECURE`, and the integration's.

use std::convert::Infallible;
use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use lambda_http::{Body, Request, Response};
use mooring::auth::AuthConfig;
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Source};
use mooring::integrations::ReceiveIntegration;
use mooring::queue::Queue;
use mooring::sep31::{routes, Receive, ReceiveSettings, Sep31Config};
use mooring::startup::StartupError;
use mooring::store::{CustomerStore, QuoteStore, TransactionStore};
use mooring::transfer::callback::{CallbackSender, CallbackSettings, HttpCallbackSender};

/// The service over a store of transactions, quotes and customers (`S`), the outgoing-payments
/// queue (`Q`) and a sender of callbacks to sending anchors (`C`).
pub type Service<S, Q, C = HttpCallbackSender> = Receive<Integration<S>, S, C, Q>;

/// What the service runs on: DynamoDB, SQS and HTTP in Lambda, memory and a recorder in tests.
pub struct Ports<S, Q, C> {
    pub store: Arc<S>,
    pub outgoing: Arc<Q>,
    pub callbacks: C,
    pub clock: Arc<dyn Clock>,
}

/// The HTTP sender of the callbacks, from the settings the caller read once (the same
/// `CallbackSettings` give the service its signer).
pub fn http_callbacks(callbacks: &CallbackSettings) -> Result<HttpCallbackSender, StartupError> {
    Ok(HttpCallbackSender::from_settings(callbacks)?)
}

/// Builds the service from the settings, the anchor's configuration and the callback settings
/// (each parsed once by the caller).
pub fn service<S, Q, C>(
    settings: &impl Source,
    anchor: &AnchorConfig,
    callbacks: CallbackSettings,
    ports: Ports<S, Q, C>,
) -> Result<Service<S, Q, C>, StartupError>
where
    S: CustomerStore + QuoteStore + TransactionStore,
    Q: Queue,
    C: CallbackSender,
    Integration<S>: ReceiveIntegration,
{
    let receive = ReceiveSettings {
        anchor: anchor.clone(),
        auth: AuthConfig::from_source(settings, anchor)?,
        sep31: Sep31Config::from_source(settings)?,
        callback_signer: callbacks.signing_key,
    };
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    Ok(Receive::new(
        receive,
        integration,
        ports.store,
        ports.outgoing,
        ports.clock,
        ports.callbacks,
    ))
}

pub async fn handle<S, Q, C>(
    service: &Service<S, Q, C>,
    request: Request,
) -> Result<Response<Body>, Infallible>
where
    S: CustomerStore + QuoteStore + TransactionStore,
    Q: Queue,
    C: CallbackSender,
    Integration<S>: ReceiveIntegration,
{
    Ok(routes::handle(service, &request).await.map(Body::from))
}
