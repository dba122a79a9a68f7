use std::sync::Arc;

use mooring::clock::{Clock, SystemClock};
use mooring::config::{AnchorConfig, Env};
use mooring::horizon::HttpHorizon;
use mooring::queue::sqs::SqsQueue;
use mooring::startup::StartupError;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_schedule(&service, payment_watcher::handle).await
}

/// Transactions, cursors and payments in DynamoDB, Horizon over HTTPS, the withdrawals and
/// outgoing-payments queues in SQS: built once.
async fn service(
) -> Result<payment_watcher::Service<DynamoStore, HttpHorizon, SqsQueue>, StartupError> {
    let anchor = AnchorConfig::from_source(&Env)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sdk = mooring::aws::config_loader()?.load().await;
    let ports = payment_watcher::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        horizon: Arc::new(HttpHorizon::new(&anchor.horizon_url)?),
        withdrawals: Arc::new(SqsQueue::from_env_with(
            &sdk,
            &Env,
            "WITHDRAWALS_QUEUE_URL",
        )?),
        outgoing: Arc::new(SqsQueue::from_env_with(&sdk, &Env, "OUTGOING_QUEUE_URL")?),
        clock,
    };
    payment_watcher::service(&Env, &anchor, ports)
}
