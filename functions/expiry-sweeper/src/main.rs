use std::sync::Arc;

use mooring::clock::{Clock, SystemClock};
use mooring::config::{AnchorConfig, Env};
use mooring::queue::sqs::SqsQueue;
use mooring::startup::StartupError;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_schedule(&service, expiry_sweeper::handle).await
}

/// Transactions and the scans' rotations (worker state) in DynamoDB, the submissions queue
/// (refunds) in SQS: built once.
async fn service() -> Result<expiry_sweeper::Service<DynamoStore, SqsQueue>, StartupError> {
    let anchor = AnchorConfig::from_source(&Env)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sdk = mooring::aws::config_loader()?.load().await;
    let ports = expiry_sweeper::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        submissions: Arc::new(SqsQueue::from_env_with(
            &sdk,
            &Env,
            "SUBMISSIONS_QUEUE_URL",
        )?),
        clock,
    };
    let stuck = mooring::lifecycle::stuck::StuckConfig::from_source(&Env)?;
    Ok(expiry_sweeper::service(&anchor, ports).with_stuck(stuck))
}
