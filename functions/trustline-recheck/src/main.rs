use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Env};
use mooring::horizon::HttpHorizon;
use mooring::queue::sqs::SqsQueue;
use mooring::startup::StartupError;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_schedule(&service, trustline_recheck::handle).await
}

/// Transactions in DynamoDB, Horizon over HTTPS, the submissions queue in SQS: built once.
async fn service(
) -> Result<trustline_recheck::Service<DynamoStore, HttpHorizon, SqsQueue>, StartupError> {
    let anchor = AnchorConfig::from_source(&Env)?;
    let sdk = mooring::aws::config_loader()?.load().await;
    Ok(trustline_recheck::service(trustline_recheck::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        horizon: Arc::new(HttpHorizon::new(&anchor.horizon_url)?),
        submissions: Arc::new(SqsQueue::from_env_with(
            &sdk,
            &Env,
            "SUBMISSIONS_QUEUE_URL",
        )?),
        clock: Arc::new(SystemClock),
    }))
}
