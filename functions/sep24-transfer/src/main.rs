use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::config::{ConfigError, Env};
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    mooring::telemetry::init();
    let ports = ports()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let service = sep24_transfer::service(&Env, ports)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_http::run(lambda_http::service_fn(|request| {
        sep24_transfer::handle(&service, request)
    }))
    .await
}

/// Transactions and customers in DynamoDB, behind one AWS configuration loaded once.
async fn ports() -> Result<sep24_transfer::Ports<DynamoStore>, ConfigError> {
    let sdk = mooring::aws::config_loader().load().await;
    Ok(sep24_transfer::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        clock: Arc::new(SystemClock),
    })
}
