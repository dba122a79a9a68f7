use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::config::{ConfigError, Env};
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    mooring::telemetry::init();
    let ports = ports()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let service = sep24_interactive::service(&Env, ports)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_http::run(lambda_http::service_fn(|request| {
        sep24_interactive::handle(&service, request)
    }))
    .await
}

/// Transactions, used links and customers in DynamoDB; wallet callbacks over HTTPS.
async fn ports() -> Result<
    sep24_interactive::Ports<DynamoStore, mooring::sep24::interactive::HttpCallbackSender>,
    String,
> {
    let sdk = mooring::aws::config_loader().load().await;
    let store = DynamoStore::from_env_with(&sdk).map_err(|e: ConfigError| e.to_string())?;
    Ok(sep24_interactive::Ports {
        store: Arc::new(store),
        callbacks: sep24_interactive::http_callbacks(&Env)?,
        clock: Arc::new(SystemClock),
    })
}
