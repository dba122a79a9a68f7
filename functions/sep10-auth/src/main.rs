use mooring::config::{AnchorConfig, Env, Sep10Config};
use mooring::stellar::signer::kms::{self, KmsSigner};
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(async {
        let sdk = mooring::aws::config_loader()?.load().await;
        // SIGNING_SEED and JWT_SECRET from Secrets Manager (their *_ARN settings), read once.
        let settings = mooring::aws::secrets::with_secrets(Env, &sdk).await?;
        let anchor = AnchorConfig::from_source(&settings)?;
        // The SEP-10 key: SIGNING_KMS_KEY_ID (its public key read once), else the seed.
        let config = Sep10Config::connect(&settings, &anchor, |key_id| {
            KmsSigner::connect_shared(kms::client(&sdk), key_id)
        })
        .await?;
        // Used challenges are recorded in DynamoDB (ChallengesTable, expiring by TTL).
        let challenges = DynamoStore::from_env_with(&sdk)?;
        sep10_auth::service_with_config(&anchor, config, challenges)
    })
    .await?;
    mooring_lambda::run_http(&service, sep10_auth::handle).await
}
