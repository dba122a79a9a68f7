use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Env};
use mooring::horizon::HttpHorizon;
use mooring::startup::StartupError;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_sqs(&service, stellar_submitter::handle).await
}

/// Transactions and channel leases in DynamoDB, Horizon over HTTPS: built once.
async fn service() -> Result<stellar_submitter::Service<DynamoStore, HttpHorizon>, StartupError> {
    let anchor = AnchorConfig::from_source(&Env)?;
    let sdk = mooring::aws::config_loader().load().await;
    let ports = stellar_submitter::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        horizon: Arc::new(HttpHorizon::new(&anchor.horizon_url)?),
        clock: Arc::new(SystemClock),
    };
    stellar_submitter::service(&Env, &anchor, ports)
}
