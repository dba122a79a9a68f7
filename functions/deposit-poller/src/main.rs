use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Env};
use mooring::queue::sqs::SqsQueue;
use mooring::startup::StartupError;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_schedule(&service, deposit_poller::handle).await
}

/// Transactions (and the reference rail's customers) in DynamoDB, the submissions queue in SQS:
/// one AWS configuration, loaded once.
async fn service() -> Result<deposit_poller::Service<DynamoStore, SqsQueue>, StartupError> {
    let anchor = AnchorConfig::from_source(&Env)?;
    let sdk = mooring::aws::config_loader()?.load().await;
    let ports = deposit_poller::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        submissions: Arc::new(SqsQueue::from_env_with(
            &sdk,
            &Env,
            "SUBMISSIONS_QUEUE_URL",
        )?),
        clock: Arc::new(SystemClock),
    };
    deposit_poller::service(&Env, &anchor, ports)
}
