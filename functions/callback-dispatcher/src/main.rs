use std::sync::Arc;

use mooring::clock::{Clock, SystemClock};
use mooring::config::Env;
use mooring::queue::sqs::SqsQueue;
use mooring::startup::StartupError;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_schedule(&service, |service, event| async move {
        let event = serde_json::from_value(event)?;
        let answer = callback_dispatcher::handle(service, event).await;
        serde_json::to_value(answer)
    })
    .await
}

/// Customers and worker state in DynamoDB, the callbacks queue in SQS: built once.
async fn service() -> Result<callback_dispatcher::Service<DynamoStore, SqsQueue>, StartupError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sdk = mooring::aws::config_loader()?.load().await;
    let ports = callback_dispatcher::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        callbacks: Arc::new(SqsQueue::from_env_with(&sdk, &Env, "CALLBACKS_QUEUE_URL")?),
        clock,
    };
    callback_dispatcher::service(&Env, ports)
}
