use std::sync::Arc;

use mooring::clock::{Clock, SystemClock};
use mooring::config::Env;
use mooring::queue::sqs::SqsQueue;
use mooring::startup::StartupError;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_sqs(&service, outgoing_payments::handle).await
}

/// Transactions (and the reference rail's customers) in DynamoDB, the submissions queue (refunds)
/// in SQS: built once.
async fn service() -> Result<outgoing_payments::Service<DynamoStore>, StartupError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sdk = mooring::aws::config_loader()?.load().await;
    let ports = outgoing_payments::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        clock,
        submissions: Arc::new(SqsQueue::from_env_with(
            &sdk,
            &Env,
            "SUBMISSIONS_QUEUE_URL",
        )?),
    };
    outgoing_payments::service(&Env, ports)
}
