use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use mooring::clock::SystemClock;
use mooring::config::{ConfigError, Env};
use mooring::store::dynamodb::DynamoStore;
use withdrawal_processor::SqsEvent;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    mooring::telemetry::init();
    let ports = ports()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let service = withdrawal_processor::service(&Env, ports)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let service = &service;
        async move {
            Ok::<_, lambda_runtime::Error>(
                withdrawal_processor::handle(service, event.payload).await,
            )
        }
    }))
    .await
}

async fn ports() -> Result<withdrawal_processor::Ports<DynamoStore>, ConfigError> {
    let sdk = mooring::aws::config_loader().load().await;
    Ok(withdrawal_processor::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        clock: Arc::new(SystemClock),
    })
}
