//! SEP-1 (`GET /.well-known/stellar.toml`): Lambda glue around [`mooring::sep1`]. The file is
//! generated once per cold start from configuration and the anchor's integration (its
//! `TomlIntegration` hook).

use std::convert::Infallible;

use anchor_integrations::{register_integrations, Ports};
use lambda_http::{Body, Request, Response};
use mooring::config::{AnchorConfig, Source};
use mooring::sep1::StellarToml;
use mooring::startup::StartupError;

pub type Service = StellarToml;

/// Builds the service from settings (the environment in Lambda) and the anchor's configuration
/// (parsed once per cold start).
pub fn service(settings: &impl Source, anchor: &AnchorConfig) -> Result<Service, StartupError> {
    let integration = register_integrations(settings, Ports::without_store())?;
    Ok(StellarToml::new(anchor, &integration)?)
}

pub async fn handle(service: &Service, request: Request) -> Result<Response<Body>, Infallible> {
    Ok(service.handle(&request).map(Body::from))
}
