use std::sync::Arc;

use mooring::clock::{Clock, SystemClock};
use mooring::config::Env;
use mooring::queue::sqs::SqsQueue;
use mooring::startup::StartupError;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_schedule(&service, payout_poller::handle).await
}

/// Transactions in DynamoDB, the withdrawals and outgoing-payments queues in SQS: built once.
async fn service() -> Result<payout_poller::Service<DynamoStore, SqsQueue>, StartupError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sdk = mooring::aws::config_loader()?.load().await;
    let ports = payout_poller::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        withdrawals: Arc::new(SqsQueue::from_env_with(
            &sdk,
            &Env,
            "WITHDRAWALS_QUEUE_URL",
        )?),
        outgoing: Arc::new(SqsQueue::from_env_with(&sdk, &Env, "OUTGOING_QUEUE_URL")?),
        clock,
    };
    payout_poller::service(&Env, ports)
}
