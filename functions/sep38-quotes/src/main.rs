use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Env};
use mooring::startup::StartupError;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_http(&service, sep38_quotes::handle).await
}

/// Quotes (and customers) in DynamoDB, behind one AWS configuration loaded once.
async fn service() -> Result<sep38_quotes::Service<DynamoStore>, StartupError> {
    let sdk = mooring::aws::config_loader()?.load().await;
    // The secrets named by *_ARN settings, read once from Secrets Manager.
    let settings = mooring::aws::secrets::with_secrets(Env, &sdk).await?;
    let anchor = AnchorConfig::from_source(&settings)?;
    let ports = sep38_quotes::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        clock: Arc::new(SystemClock),
    };
    sep38_quotes::service(&settings, &anchor, ports)
}
