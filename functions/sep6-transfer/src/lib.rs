//! SEP-6 programmatic deposit and withdrawal (`/sep6/info`, `/fee`, `/deposit`, `/withdraw`,
//! `/deposit-exchange`, `/withdraw-exchange`, `/transaction(s)`, `PATCH /transactions/:id`):
//! Lambda glue around [`mooring::sep6::Transfer`], with the anchor's integration
//! (`anchor_integrations`) answering the requests and the KYC loop. The handler is public for the
//! local gateway and the tests, which build the service over in-memory adapters.
//!
//! Settings read once per cold start: the anchor's, `JWT_SECRET` (verifies SEP-10 tokens),
//! `SEP24_ACCOUNT_CREATION` / `SEP24_CLAIMABLE_BALANCES` (the deposit features of `/info`) and
//! the integration's. The wallet's `on_change_callback` is posted by the callback sender, from
//! the transactions table's stream: this function signs nothing.

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

/// The service over a store of transactions, quotes and customers (`S`).
pub type Service<S> = Transfer<Integration<S>, S>;

/// What the service runs on: DynamoDB in Lambda, memory in tests.
pub struct Ports<S> {
    pub store: Arc<S>,
    pub clock: Arc<dyn Clock>,
}

/// Builds the service from the settings and the anchor's configuration (parsed once by the
/// caller).
pub fn service<S>(
    settings: &impl Source,
    anchor: &AnchorConfig,
    ports: Ports<S>,
) -> Result<Service<S>, StartupError>
where
    S: CustomerStore + QuoteStore + TransactionStore,
    Integration<S>: ProgrammaticIntegration + FeeIntegration + CustomerIntegration,
{
    let transfer = TransferSettings {
        anchor: anchor.clone(),
        auth: AuthConfig::from_source(settings, anchor)?,
        deposits: Sep24Config::from_source(settings)?,
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
    ))
}

pub async fn handle<S>(service: &Service<S>, request: Request) -> Result<Response<Body>, Infallible>
where
    S: CustomerStore + QuoteStore + TransactionStore,
    Integration<S>: ProgrammaticIntegration + FeeIntegration + CustomerIntegration,
{
    Ok(routes::handle(service, &request).await.map(Body::from))
}
