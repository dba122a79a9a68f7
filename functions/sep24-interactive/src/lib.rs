//! SEP-24 interactive pages (`/sep24/interactive...`, `/sep24/more-info`): Lambda glue around
//! [`mooring::sep24::interactive`], with the anchor's integration (`anchor_integrations`) as the
//! deposit, withdrawal and fee integration. The handler is public so the local gateway and tests can call it; they
//! build the service over in-memory adapters.
//!
//! Settings read (once per cold start): the anchor's (`HOME_DOMAIN`, `PUBLIC_URL`,
//! `NETWORK_PASSPHRASE`, `SIGNING_KEY`, `ASSETS`...), `JWT_SECRET` (link, session and CSRF
//! keys), `INTERACTIVE_TOKEN_SECONDS`, `INTERACTIVE_SESSION_SECONDS`, `SIGNING_SEED` (optional:
//! signs wallet URL callbacks; without it they are not sent), `SEP24_CALLBACK_TIMEOUT_MS`,
//! `SEP24_CALLBACK_ALLOW_INSECURE` (development only), and the integration's (`KYC_*`).

use std::convert::Infallible;
use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use lambda_http::{Body, Request, Response};
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Source};
use mooring::sep24::interactive::{
    routes, CallbackSender, HttpCallbackSender, Interactive, InteractiveConfig,
};
use mooring::startup::StartupError;
use mooring::store::{ChallengeStore, CustomerStore, TransactionStore};

/// The service over a store of transactions, used links and customers (`S`) and a sender of
/// wallet callbacks (`C`).
pub type Service<S, C = HttpCallbackSender> = Interactive<Integration<S>, S, C>;

/// The adapters the service runs on: DynamoDB and HTTP in Lambda, memory in tests.
pub struct Ports<S, C> {
    pub store: Arc<S>,
    pub callbacks: C,
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
pub fn service<S, C>(
    settings: &impl Source,
    config: InteractiveConfig,
    ports: Ports<S, C>,
) -> Result<Service<S, C>, StartupError>
where
    S: TransactionStore + ChallengeStore + CustomerStore,
    C: CallbackSender,
{
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    Ok(Interactive::new(
        integration,
        ports.store,
        ports.callbacks,
        config,
        ports.clock,
    ))
}

/// The HTTP sender of wallet callbacks, as configured (`SEP24_CALLBACK_TIMEOUT_MS`,
/// `SEP24_CALLBACK_ALLOW_INSECURE`).
pub fn http_callbacks(config: &InteractiveConfig) -> Result<HttpCallbackSender, StartupError> {
    Ok(HttpCallbackSender::new(
        config.callback_timeout,
        config.callback_allow_insecure,
    )?)
}

pub async fn handle<S, C>(
    service: &Service<S, C>,
    request: Request,
) -> Result<Response<Body>, Infallible>
where
    S: TransactionStore + ChallengeStore + CustomerStore,
    C: CallbackSender,
{
    Ok(routes::handle(service, &request).await.map(Body::from))
}
