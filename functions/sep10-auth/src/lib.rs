//! SEP-10 web authentication (`GET /auth`, `POST /auth`): Lambda glue around
//! [`mooring::sep10`]. The handler is public so the local gateway and tests can call it.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Sep10Config, Source};
use mooring::horizon::HttpHorizon;
use mooring::sep10::{routes, HttpClientDomainResolver, WebAuth};

pub type Service = WebAuth<HttpHorizon, HttpClientDomainResolver>;

/// Reads configuration and builds the HTTP clients: once per cold start.
/// Builds the service from settings (the environment in Lambda).
pub fn service(settings: &impl Source) -> Result<Service, String> {
    let anchor = AnchorConfig::from_source(settings).map_err(|e| e.to_string())?;
    let config = Sep10Config::from_source(settings, &anchor).map_err(|e| e.to_string())?;
    let horizon = HttpHorizon::new(&anchor.horizon_url).map_err(|e| e.to_string())?;
    let client_domains = HttpClientDomainResolver::new(
        config.client_domain.timeout,
        config.client_domain.allow_insecure,
    )?;
    Ok(WebAuth::new(
        anchor,
        config,
        horizon,
        client_domains,
        Arc::new(SystemClock),
    ))
}

pub async fn handle(service: &Service, request: Request) -> Result<Response<Body>, Infallible> {
    Ok(routes::handle(service, &request).await.map(Body::from))
}
