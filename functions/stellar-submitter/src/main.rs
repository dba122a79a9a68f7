use std::sync::Arc;

use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Env};
use mooring::horizon::HttpHorizon;
use mooring::payments::{PaymentsConfig, SignerSettings};
use mooring::startup::StartupError;
use mooring::stellar::signer::kms::{self, KmsSigner};
use mooring::stellar::Signer;
use mooring::store::dynamodb::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_sqs(&service, stellar_submitter::handle).await
}

/// Transactions and channel leases in DynamoDB, Horizon over HTTPS, the seeds from Secrets
/// Manager and the keys in KMS (their public keys read once): built once.
async fn service() -> Result<stellar_submitter::Service<DynamoStore, HttpHorizon>, StartupError> {
    let sdk = mooring::aws::config_loader()?.load().await;
    let settings = mooring::aws::secrets::with_secrets(Env, &sdk).await?;
    let anchor = AnchorConfig::from_source(&settings)?;
    let config = PaymentsConfig::from_source(&settings)?;
    let kms_client = kms::client(&sdk);
    let signers = SignerSettings::from_source(&settings, &config)?
        .connect(&anchor, |key_id| {
            let client = kms_client.clone();
            async move {
                let signer = KmsSigner::connect(client, key_id).await?;
                tracing::info!(account = %signer.account_id(), key = signer.key_id(), "key in KMS");
                Ok(Arc::new(signer) as Arc<dyn Signer>)
            }
        })
        .await?;
    let ports = stellar_submitter::Ports {
        store: Arc::new(DynamoStore::from_env_with(&sdk)?),
        horizon: Arc::new(HttpHorizon::new(&anchor.horizon_url)?),
        clock: Arc::new(SystemClock),
    };
    stellar_submitter::service_with_signers(&settings, &anchor, ports, signers)
}
