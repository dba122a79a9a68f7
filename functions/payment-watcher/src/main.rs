use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Env};
use mooring::horizon::HttpHorizon;
use mooring::queue::sqs::SqsQueue;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    mooring::telemetry::init();
    let ports = ports()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let service = payment_watcher::service(&Env, ports)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let service = &service;
        async move {
            payment_watcher::handle(service, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}

async fn ports() -> Result<payment_watcher::Ports<DynamoStore, HttpHorizon, SqsQueue>, String> {
    let sdk = mooring::aws::config_loader().load().await;
    let anchor = AnchorConfig::from_source(&Env).map_err(|e| e.to_string())?;
    Ok(payment_watcher::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk).map_err(|e| e.to_string())?),
        horizon: Arc::new(HttpHorizon::new(&anchor.horizon_url).map_err(|e| e.to_string())?),
        withdrawals: Arc::new(
            SqsQueue::from_env_with(&sdk, &Env, "WITHDRAWALS_QUEUE_URL")
                .map_err(|e| e.to_string())?,
        ),
        clock: Arc::new(SystemClock),
    })
}
