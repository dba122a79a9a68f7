use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Env};
use mooring::queue::sqs::SqsQueue;
use mooring::startup::StartupError;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_sqs(&service, withdrawal_processor::handle).await
}

/// Transactions (and the reference rail's customers) in DynamoDB, the submissions queue (refunds)
/// in SQS: built once.
async fn service() -> Result<withdrawal_processor::Service<DynamoStore>, StartupError> {
    // Checked like every function's, though the processor itself needs none of it.
    AnchorConfig::from_source(&Env)?;
    let sdk = mooring::aws::config_loader()?.load().await;
    let ports = withdrawal_processor::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        clock: Arc::new(SystemClock),
        submissions: Arc::new(SqsQueue::from_env_with(
            &sdk,
            &Env,
            "SUBMISSIONS_QUEUE_URL",
        )?),
    };
    withdrawal_processor::service(&Env, ports)
}
