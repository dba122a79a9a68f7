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
    let service = payout_poller::service(&Env, ports)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let service = &service;
        async move {
            payout_poller::handle(service, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}

async fn ports() -> Result<payout_poller::Ports<DynamoStore, SqsQueue>, ConfigError> {
    let sdk = mooring::aws::config_loader().load().await;
    Ok(payout_poller::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        withdrawals: Arc::new(SqsQueue::from_env_with(
            &sdk,
            &Env,
            "WITHDRAWALS_QUEUE_URL",
        )?),
        clock: Arc::new(SystemClock),
    })
}
