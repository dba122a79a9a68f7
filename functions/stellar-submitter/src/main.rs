use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, ConfigError, Env};
use mooring::horizon::HttpHorizon;
use mooring::store::dynamodb::DynamoStore;
use stellar_submitter::SqsEvent;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    mooring::telemetry::init();
    let ports = ports()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let service = stellar_submitter::service(&Env, ports)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let service = &service;
        async move {
            Ok::<_, lambda_runtime::Error>(stellar_submitter::handle(service, event.payload).await)
        }
    }))
    .await
}

/// Transactions and channel leases in DynamoDB, Horizon over HTTPS: built once.
async fn ports() -> Result<stellar_submitter::Ports<DynamoStore, HttpHorizon>, String> {
    let sdk = mooring::aws::config_loader().load().await;
    let anchor = AnchorConfig::from_source(&Env).map_err(|e| e.to_string())?;
    let horizon = HttpHorizon::new(&anchor.horizon_url).map_err(|e| e.to_string())?;
    Ok(stellar_submitter::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk).map_err(|e: ConfigError| e.to_string())?),
        horizon: Arc::new(horizon),
        clock: Arc::new(SystemClock),
    })
}
