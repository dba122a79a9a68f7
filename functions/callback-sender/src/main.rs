use std::sync::Arc;

use mooring::clock::{Clock, SystemClock};
use mooring::config::{connect_signing_key, AnchorConfig, Env};
use mooring::queue::sqs::SqsQueue;
use mooring::startup::StartupError;
use mooring::stellar::signer::kms::{self, KmsSigner};
use mooring::transfer::callback::HttpCallbackSender;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mooring_lambda::Error> {
    let service = mooring_lambda::start(service()).await?;
    mooring_lambda::run_sqs(&service, callback_sender::handle).await
}

/// The callbacks queue in SQS (for the retries' backoff), callbacks over HTTPS, the SEP-10 key
/// in KMS (its public key read once) or its seed from Secrets Manager: built once.
async fn service() -> Result<callback_sender::Service<HttpCallbackSender, SqsQueue>, StartupError> {
    let sdk = mooring::aws::config_loader()?.load().await;
    // The secrets named by *_ARN settings, read once from Secrets Manager.
    let settings = mooring::aws::secrets::with_secrets(Env, &sdk).await?;
    let anchor = AnchorConfig::from_source(&settings)?;
    let signer = connect_signing_key(&settings, &anchor, |key_id| {
        KmsSigner::connect_shared(kms::client(&sdk), key_id)
    })
    .await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let queue = Arc::new(SqsQueue::from_env_with(
        &sdk,
        &settings,
        "CALLBACKS_QUEUE_URL",
    )?);
    callback_sender::service_with_signer(&settings, queue, clock, signer)
}
