//! SEP-38 quote API (`/sep38/info`, `/sep38/prices`, `/sep38/price`, `/sep38/quote`,
//! `/sep38/quote/{id}`): Lambda glue around [`mooring::sep38::Quotes`], with the anchor's
//! integration (`anchor_integrations`) as the quote integration. The handler is public so the
//! local gateway and tests can call it; tests build the service over in-memory adapters.

use std::convert::Infallible;
use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use lambda_http::{Body, Request, Response};
use mooring::auth::AuthConfig;
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Source};
use mooring::integrations::QuoteIntegration;
use mooring::sep38::{routes, QuoteSettings, Quotes, Sep38Config};
use mooring::startup::StartupError;
use mooring::store::{CustomerStore, QuoteStore};

/// The service over a store of quotes (and customers, which the integration may consult).
pub type Service<S> = Quotes<Integration<S>, S>;

/// The adapters the service runs on: DynamoDB in Lambda, memory in tests.
pub struct Ports<S> {
    pub store: Arc<S>,
    pub clock: Arc<dyn Clock>,
}

/// Reads configuration (once per cold start) and builds the service. The function verifies
/// SEP-10 tokens with `JWT_SECRET`; it never gets the signing seed.
pub fn service<S>(
    settings: &impl Source,
    anchor: &AnchorConfig,
    ports: Ports<S>,
) -> Result<Service<S>, StartupError>
where
    S: CustomerStore + QuoteStore,
    Integration<S>: QuoteIntegration,
{
    let quote_settings = QuoteSettings {
        sep38: Sep38Config::from_source(settings, anchor)?,
        auth: AuthConfig::from_source(settings, anchor)?,
    };
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    Ok(Quotes::new(
        quote_settings,
        integration,
        ports.store,
        ports.clock,
    ))
}

pub async fn handle<S>(service: &Service<S>, request: Request) -> Result<Response<Body>, Infallible>
where
    S: CustomerStore + QuoteStore,
    Integration<S>: QuoteIntegration,
{
    Ok(routes::handle(service, &request).await.map(Body::from))
}
