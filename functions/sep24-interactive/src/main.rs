use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Env};
use mooring::startup::StartupError;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_http(&service, sep24_interactive::handle).await
}

/// Transactions, used links and customers in DynamoDB.
async fn service() -> Result<sep24_interactive::Service<DynamoStore>, StartupError> {
    let sdk = mooring::aws::config_loader()?.load().await;
    // The secrets named by *_ARN settings, read once from Secrets Manager.
    let settings = mooring::aws::secrets::with_secrets(Env, &sdk).await?;
    let anchor = AnchorConfig::from_source(&settings)?;
    let config = sep24_interactive::config(&settings, &anchor)?;
    let ports = sep24_interactive::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        clock: Arc::new(SystemClock),
    };
    sep24_interactive::service(&settings, config, ports)
}
