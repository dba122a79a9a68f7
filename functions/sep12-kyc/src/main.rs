use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::queue::sqs::SqsQueue;
use mooring::store::dynamodb::DynamoStore;
use mooring::store::dynamodb_files::DynamoFileStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    mooring::telemetry::init();
    let store = DynamoStore::from_env()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let outgoing = SqsQueue::from_env(&mooring::config::Env, "OUTGOING_QUEUE_URL")
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let ports = sep12_kyc::Ports {
        store: Arc::new(store),
        files: Arc::new(
            DynamoFileStore::from_env()
                .await
                .inspect_err(|e| tracing::error!(error = %e, "configuration"))?,
        ),
        outgoing: Arc::new(outgoing),
        clock: Arc::new(SystemClock),
    };
    let service = sep12_kyc::service(&mooring::config::Env, ports)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_http::run(lambda_http::service_fn(|request| {
        sep12_kyc::handle(&service, request)
    }))
    .await
}
