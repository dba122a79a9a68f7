use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use mooring::clock::SystemClock;
use mooring::config::{ConfigError, Env};
use mooring::queue::sqs::SqsQueue;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    mooring::telemetry::init();
    let ports = ports()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let service = deposit_poller::service(&Env, ports)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let service = &service;
        async move {
            deposit_poller::handle(service, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}

/// Transactions (and the reference rail's customers) in DynamoDB, the submissions queue in SQS:
/// one AWS configuration, loaded once.
async fn ports() -> Result<deposit_poller::Ports<DynamoStore, SqsQueue>, ConfigError> {
    let sdk = mooring::aws::config_loader().load().await;
    Ok(deposit_poller::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        submissions: Arc::new(SqsQueue::from_env_with(
            &sdk,
            &Env,
            "SUBMISSIONS_QUEUE_URL",
        )?),
        clock: Arc::new(SystemClock),
    })
}
