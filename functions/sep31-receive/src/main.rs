use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Env};
use mooring::queue::sqs::SqsQueue;
use mooring::startup::StartupError;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_http(&service, sep31_receive::handle).await
}

/// Transactions, quotes and customers in DynamoDB, the outgoing-payments queue in SQS: one AWS
/// configuration, loaded once, behind every adapter.
async fn service() -> Result<sep31_receive::Service<DynamoStore, SqsQueue>, StartupError> {
    let sdk = mooring::aws::config_loader()?.load().await;
    // The secrets named by *_ARN settings, read once from Secrets Manager.
    let settings = mooring::aws::secrets::with_secrets(Env, &sdk).await?;
    let anchor = AnchorConfig::from_source(&settings)?;
    let ports = sep31_receive::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        outgoing: Arc::new(SqsQueue::from_env_with(
            &sdk,
            &settings,
            "OUTGOING_QUEUE_URL",
        )?),
        clock: Arc::new(SystemClock),
    };
    sep31_receive::service(&settings, &anchor, ports)
}
