//! SEP-31 receiving anchor (`/sep31/info`, `POST /transactions`, `GET`/`PATCH
//! /transactions/:id`, `PUT /transactions/:id/callback`): Lambda glue around
//! [`mooring::sep31::Receive`], with the anchor's integration (`anchor_integrations`) checking
//! sending anchors, senders and receivers. Only partners get past `/info`. A transaction that
//! becomes `pending_receiver` here (after a `PATCH`) goes to the outgoing-payments queue. The
//! handler is public for the local gateway and the tests, which build the service over
//! in-memory adapters.
//!
//! Settings read once per cold start: the anchor's, `JWT_SECRET` (verifies SEP-10 tokens),
//! `SEP31_SENDING_ANCHORS` (the partners: `*`, a list of accounts, or empty for nobody) and the
//! integration's. The sending anchor's callback URL is posted by the callback sender, from the
//! transactions table's stream: this function signs nothing.

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

/// The service over a store of transactions, quotes and customers (`S`) and the
/// outgoing-payments queue (`Q`).
pub type Service<S, Q> = Receive<Integration<S>, S, Q>;

/// What the service runs on: DynamoDB and SQS in Lambda, memory in tests.
pub struct Ports<S, Q> {
    pub store: Arc<S>,
    pub outgoing: Arc<Q>,
    pub clock: Arc<dyn Clock>,
}

/// Builds the service from the settings and the anchor's configuration (parsed once by the
/// caller).
pub fn service<S, Q>(
    settings: &impl Source,
    anchor: &AnchorConfig,
    ports: Ports<S, Q>,
) -> Result<Service<S, Q>, StartupError>
where
    S: CustomerStore + QuoteStore + TransactionStore,
    Q: Queue,
    Integration<S>: ReceiveIntegration,
{
    let receive = ReceiveSettings {
        anchor: anchor.clone(),
        auth: AuthConfig::from_source(settings, anchor)?,
        sep31: Sep31Config::from_source(settings)?,
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
    ))
}

pub async fn handle<S, Q>(
    service: &Service<S, Q>,
    request: Request,
) -> Result<Response<Body>, Infallible>
where
    S: CustomerStore + QuoteStore + TransactionStore,
    Q: Queue,
    Integration<S>: ReceiveIntegration,
{
    Ok(routes::handle(service, &request).await.map(Body::from))
}
