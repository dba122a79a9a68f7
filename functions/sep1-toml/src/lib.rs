//! SEP-1 (`GET /.well-known/stellar.toml`): Lambda glue around [`mooring::sep1`]. The file is
//! generated once per cold start from configuration and the operator's toml integration.

use std::convert::Infallible;

use lambda_http::{Body, Request, Response};
use mooring::config::{AnchorConfig, Source};
use mooring::sep1::StellarToml;

pub type Service = StellarToml;

/// Builds the service from settings (the environment in Lambda).
pub fn service(settings: &impl Source) -> Result<Service, String> {
    let anchor = AnchorConfig::from_source(settings).map_err(|e| e.to_string())?;
    StellarToml::new(&anchor, &anchor_integrations::Anchor::default())
}

pub async fn handle(service: &Service, request: Request) -> Result<Response<Body>, Infallible> {
    Ok(service.handle(&request).map(Body::from))
}
