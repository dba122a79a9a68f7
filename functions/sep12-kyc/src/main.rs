use std::sync::Arc;

use mooring::clock::{Clock, SystemClock};
use mooring::config::{AnchorConfig, Env};
use mooring::queue::sqs::SqsQueue;
use mooring::startup::StartupError;
use mooring::store::dynamodb::files::DynamoFileStore;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_http(&service, sep12_kyc::handle).await
}

/// Customers and transactions in DynamoDB, uploads in FilesTable, SQS for the outgoing payments:
/// one AWS configuration, loaded once, behind every adapter.
async fn service(
) -> Result<sep12_kyc::Service<DynamoStore, DynamoFileStore, SqsQueue>, StartupError> {
    let sdk = mooring::aws::config_loader()?.load().await;
    // The secrets named by *_ARN settings, read once from Secrets Manager.
    let settings = mooring::aws::secrets::with_secrets(Env, &sdk).await?;
    let anchor = AnchorConfig::from_source(&settings)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ports = sep12_kyc::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        files: Arc::new(DynamoFileStore::from_env_with(&sdk)?),
        outgoing: Arc::new(SqsQueue::from_env_with(
            &sdk,
            &settings,
            "OUTGOING_QUEUE_URL",
        )?),
        clock,
    };
    sep12_kyc::service(&settings, &anchor, ports)
}
