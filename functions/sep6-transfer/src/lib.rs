//! SEP-6 programmatic deposit and withdrawal (`/sep6/info`, `/fee`, `/deposit`, `/withdraw`,
//! `/deposit-exchange`, `/withdraw-exchange`, `/transaction(s)`, `PATCH /transactions/:id`):
//! Lambda glue around [`mooring::sep6::Transfer`], with the anchor's integration
//! (`anchor_integrations`) answering the requests and the KYC loop. The handler is public for the
//! local gateway and the tests, which build the service over in-memory adapters.
//!
//! Settings read once per cold start: the anchor's, `JWT_SECRET` (verifies SEP-10 tokens),
//! `SEP24_ACCOUNT_CREATION` / `SEP24_CLAIMABLE_BALANCES` (the deposit features of `/info`),
//! `SIGNING_SEED` (optional: signs `on_change_callback` posts, none are sent without it),
//! `SEP24_CALLBACK_TIMEOUT_MS`, `SEP24_CALLBACK_ALLOW_INSECURE`, and the integration's.

use std::convert::Infallible;
use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use lambda_http::{Body, Request, Response};
use mooring::auth::AuthConfig;
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Sep24Config, Source};
use mooring::integrations::{CustomerIntegration, FeeIntegration, ProgrammaticIntegration};
use mooring::sep6::{routes, Transfer, TransferSettings};
use mooring::startup::StartupError;
use mooring::store::{CustomerStore, QuoteStore, TransactionStore};
use mooring::transfer::callback::{CallbackSender, CallbackSettings, HttpCallbackSender};

/// The service over a store of transactions, quotes and customers (`S`) and a sender of
/// `on_change_callback` posts (`C`).
pub type Service<S, C = HttpCallbackSender> = Transfer<Integration<S>, S, C>;

/// What the service runs on: DynamoDB and HTTP in Lambda, memory and a recorder in tests.
pub struct Ports<S, C> {
    pub store: Arc<S>,
    pub callbacks: C,
    pub clock: Arc<dyn Clock>,
}

/// The HTTP sender of wallet callbacks (`SEP24_CALLBACK_TIMEOUT_MS`,
/// `SEP24_CALLBACK_ALLOW_INSECURE`).
pub fn http_callbacks(
    settings: &impl Source,
    anchor: &AnchorConfig,
) -> Result<HttpCallbackSender, StartupError> {
    let callbacks = CallbackSettings::from_source(settings, anchor)?;
    Ok(HttpCallbackSender::from_settings(&callbacks)?)
}

/// Builds the service from the settings and the anchor's configuration (parsed once by the
/// caller).
pub fn service<S, C>(
    settings: &impl Source,
    anchor: &AnchorConfig,
    ports: Ports<S, C>,
) -> Result<Service<S, C>, StartupError>
where
    S: CustomerStore + QuoteStore + TransactionStore,
    C: CallbackSender,
    Integration<S>: ProgrammaticIntegration + FeeIntegration + CustomerIntegration,
{
    let transfer = TransferSettings {
        anchor: anchor.clone(),
        auth: AuthConfig::from_source(settings, anchor)?,
        deposits: Sep24Config::from_source(settings)?,
        callback_signer: CallbackSettings::from_source(settings, anchor)?.signing_key,
    };
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    Ok(Transfer::new(
        transfer,
        integration,
        ports.store,
        ports.clock,
        ports.callbacks,
    ))
}

pub async fn handle<S, C>(
    service: &Service<S, C>,
    request: Request,
) -> Result<Response<Body>, Infallible>
where
    S: CustomerStore + QuoteStore + TransactionStore,
    C: CallbackSender,
    Integration<S>: ProgrammaticIntegration + FeeIntegration + CustomerIntegration,
{
    Ok(routes::handle(service, &request).await.map(Body::from))
}
