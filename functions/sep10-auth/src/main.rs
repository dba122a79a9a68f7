use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    mooring::telemetry::init();
    // Used challenges are recorded in DynamoDB (ChallengesTable, expiring by TTL).
    let challenges = DynamoStore::from_env()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let service = sep10_auth::service(&mooring::config::Env, challenges)
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    lambda_http::run(lambda_http::service_fn(|request| {
        sep10_auth::handle(&service, request)
    }))
    .await
}
