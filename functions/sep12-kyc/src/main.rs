use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::queue::InMemoryQueue;
use mooring::store::dynamodb::DynamoStore;
use mooring::store::files::InMemoryFileStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    mooring::telemetry::init();
    let store = DynamoStore::from_env()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let ports = sep12_kyc::Ports {
        store: Arc::new(store),
        // TODO(lead): a durable FileStore adapter (S3, or DynamoDB in chunks) and the SQS
        // adapter of the outgoing-payments queue. In memory, files last only as long as this
        // instance and queued transactions wait in `pending_receiver` for the worker's sweep.
        files: Arc::new(InMemoryFileStore::default()),
        outgoing: Arc::new(InMemoryQueue::default()),
        clock: Arc::new(SystemClock),
    };
    let service = sep12_kyc::service(&mooring::config::Env, ports)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_http::run(lambda_http::service_fn(|request| {
        sep12_kyc::handle(&service, request)
    }))
    .await
}
