//! SEP-10 web authentication (`GET /auth`, `POST /auth`): Lambda glue around
//! [`mooring::sep10`]. The handler is public so the local gateway and tests can call it.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Sep10Config, Source};
use mooring::horizon::HttpHorizon;
use mooring::sep10::{routes, HttpClientDomainResolver, Ports, WebAuth};
use mooring::startup::StartupError;
use mooring::store::ChallengeStore;

/// The service over a challenge store (DynamoDB in Lambda, memory in tests).
pub type Service<R> = WebAuth<HttpHorizon, HttpClientDomainResolver, R>;

/// Reads configuration and builds the HTTP clients: once per cold start. The SEP-10 key is a
/// local seed here (`mooring-local`, tests); a function with its key in KMS connects it first
/// (`Sep10Config::connect`) and calls [`service_with_config`].
pub fn service<R: ChallengeStore>(
    settings: &impl Source,
    anchor: &AnchorConfig,
    challenges: R,
) -> Result<Service<R>, StartupError> {
    service_with_config(
        anchor,
        Sep10Config::from_source(settings, anchor)?,
        challenges,
    )
}

/// Builds the HTTP clients around parsed settings (the SEP-10 key connected).
pub fn service_with_config<R: ChallengeStore>(
    anchor: &AnchorConfig,
    config: Sep10Config,
    challenges: R,
) -> Result<Service<R>, StartupError> {
    let horizon = HttpHorizon::new(&anchor.horizon_url)?;
    let client_domains = HttpClientDomainResolver::new(
        config.client_domain.timeout,
        config.client_domain.allow_insecure,
    )?;
    let ports = Ports {
        horizon,
        client_domains,
        challenges,
        clock: Arc::new(SystemClock),
    };
    Ok(WebAuth::new(anchor.clone(), config, ports))
}

pub async fn handle<R: ChallengeStore>(
    service: &Service<R>,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    Ok(routes::handle(service, &request).await.map(Body::from))
}
