//! SEP-24 interactive pages (`/sep24/interactive...`, `/sep24/more-info`): Lambda glue around
//! [`mooring::sep24::interactive`], with the anchor's integration (`anchor_integrations`) as the
//! deposit, withdrawal and fee integration. The handler is public so the local gateway and tests can call it; they
//! build the service over in-memory adapters.
//!
//! Settings read (once per cold start): the anchor's (`HOME_DOMAIN`, `PUBLIC_URL`,
//! `NETWORK_PASSPHRASE`, `SIGNING_KEY`, `ASSETS`...), `JWT_SECRET` (link, session and CSRF
//! keys), `INTERACTIVE_TOKEN_SECONDS`, `INTERACTIVE_SESSION_SECONDS` and the integration's
//! (`KYC_*`). The wallet's `callback` URL is stored with the write that ends the flow and posted
//! by the callback sender, from the transactions table's stream: this function signs nothing.

use std::convert::Infallible;
use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use lambda_http::{Body, Request, Response};
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Source};
use mooring::sep24::interactive::{routes, Interactive, InteractiveConfig};
use mooring::startup::StartupError;
use mooring::store::{ChallengeStore, CustomerStore, TransactionStore};

/// The service over a store of transactions, used links and customers (`S`).
pub type Service<S> = Interactive<Integration<S>, S>;

/// The adapters the service runs on: DynamoDB in Lambda, memory in tests.
pub struct Ports<S> {
    pub store: Arc<S>,
    pub clock: Arc<dyn Clock>,
}

/// The interactive flow's settings, with the anchor's configuration parsed once per cold start.
pub fn config(
    settings: &impl Source,
    anchor: &AnchorConfig,
) -> Result<InteractiveConfig, StartupError> {
    Ok(InteractiveConfig::from_source(settings, anchor.clone())?)
}

/// Builds the service from the settings (the integration's) and the flow's configuration.
pub fn service<S>(
    settings: &impl Source,
    config: InteractiveConfig,
    ports: Ports<S>,
) -> Result<Service<S>, StartupError>
where
    S: TransactionStore + ChallengeStore + CustomerStore,
{
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    Ok(Interactive::new(
        integration,
        ports.store,
        config,
        ports.clock,
    ))
}

pub async fn handle<S>(service: &Service<S>, request: Request) -> Result<Response<Body>, Infallible>
where
    S: TransactionStore + ChallengeStore + CustomerStore,
{
    Ok(routes::handle(service, &request).await.map(Body::from))
}
