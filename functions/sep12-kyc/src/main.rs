use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::config::{ConfigError, Env};
use mooring::queue::sqs::SqsQueue;
use mooring::store::dynamodb::files::DynamoFileStore;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    mooring::telemetry::init();
    let ports = ports()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let service = sep12_kyc::service(&Env, ports)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_http::run(lambda_http::service_fn(|request| {
        sep12_kyc::handle(&service, request)
    }))
    .await
}

/// Customers and transactions in DynamoDB, uploads in FilesTable, SQS for the outgoing payments:
/// one AWS configuration, loaded once, behind every adapter.
async fn ports() -> Result<sep12_kyc::Ports<DynamoStore, DynamoFileStore, SqsQueue>, ConfigError> {
    let sdk = mooring::aws::config_loader().load().await;
    Ok(sep12_kyc::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        files: Arc::new(DynamoFileStore::from_env_with(&sdk)?),
        outgoing: Arc::new(SqsQueue::from_env_with(&sdk, &Env, "OUTGOING_QUEUE_URL")?),
        clock: Arc::new(SystemClock),
    })
}
