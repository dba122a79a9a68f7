#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    mooring::telemetry::init();
    // TODO(lead): DynamoStore once the adapter lands; in-memory is per instance only.
    let challenges = mooring::store::InMemoryStore::default();
    let service = sep10_auth::service(&mooring::config::Env, challenges)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_http::run(lambda_http::service_fn(|request| {
        sep10_auth::handle(&service, request)
    }))
    .await
}
