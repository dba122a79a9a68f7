use mooring::config::{AnchorConfig, Env};
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(async {
        let anchor = AnchorConfig::from_source(&Env)?;
        // Used challenges are recorded in DynamoDB (ChallengesTable, expiring by TTL).
        let challenges = DynamoStore::from_env().await?;
        sep10_auth::service(&Env, &anchor, challenges)
    })
    .await?;
    mooring_lambda::run_http(&service, sep10_auth::handle).await
}
