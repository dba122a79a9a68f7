//! Where the SEP-10 key is, and connecting it: the key that signs challenges (sep10-auth) and
//! status callbacks (the callback sender), a local seed or a key in KMS.

use std::sync::Arc;

use super::{invalid, AnchorConfig, ConfigError, Source};
use crate::stellar::{KeyLocation, Keypair, Signer, SignerError};

/// Where the SEP-10 key is: `SIGNING_KMS_KEY_ID`, a key in KMS, else `SIGNING_SEED` (deployed:
/// `SIGNING_SEED_ARN`, read from Secrets Manager); not both.
pub fn signing_key_location(src: &impl Source) -> Result<KeyLocation, ConfigError> {
    match (src.get("SIGNING_KMS_KEY_ID"), src.get("SIGNING_SEED")) {
        (Some(_), Some(_)) => Err(invalid(
            "SIGNING_KMS_KEY_ID",
            "set SIGNING_KMS_KEY_ID or SIGNING_SEED (SIGNING_SEED_ARN), not both",
        )),
        (Some(key), None) => Ok(KeyLocation::Kms(key.trim().to_owned())),
        (None, Some(seed)) => Ok(KeyLocation::Local(Box::new(
            Keypair::from_secret_seed(&seed).map_err(|e| invalid("SIGNING_SEED", e))?,
        ))),
        (None, None) => Err(ConfigError::Missing("SIGNING_KMS_KEY_ID or SIGNING_SEED")),
    }
}

/// The SEP-10 key as a signer, when it is a local seed; a key in KMS is refused (it needs the
/// function's KMS client: [`connect_signing_key`]).
pub fn local_signing_key(
    src: &impl Source,
    anchor: &AnchorConfig,
) -> Result<Arc<dyn Signer>, ConfigError> {
    match signing_key_location(src)? {
        KeyLocation::Local(key) => checked(Arc::new(*key), anchor, "SIGNING_SEED"),
        KeyLocation::Kms(_) => Err(invalid(
            "SIGNING_KMS_KEY_ID",
            "a key in KMS needs the function's KMS client (connect_signing_key)",
        )),
    }
}

/// The SEP-10 key as a signer: a local seed, or a key in KMS connected by `kms` (which reads
/// its public key, once per cold start). Either must be the account `SIGNING_KEY` publishes.
pub async fn connect_signing_key<F, Fut>(
    src: &impl Source,
    anchor: &AnchorConfig,
    kms: F,
) -> Result<Arc<dyn Signer>, ConfigError>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<Arc<dyn Signer>, SignerError>>,
{
    match signing_key_location(src)? {
        KeyLocation::Local(key) => checked(Arc::new(*key), anchor, "SIGNING_SEED"),
        KeyLocation::Kms(id) => {
            let signer = kms(id)
                .await
                .map_err(|e| invalid("SIGNING_KMS_KEY_ID", e))?;
            checked(signer, anchor, "SIGNING_KMS_KEY_ID")
        }
    }
}

fn checked(
    signer: Arc<dyn Signer>,
    anchor: &AnchorConfig,
    setting: &'static str,
) -> Result<Arc<dyn Signer>, ConfigError> {
    if signer.account_id() != anchor.signing_account {
        return Err(invalid(
            setting,
            format!(
                "is the key of {}, which is not SIGNING_KEY ({})",
                signer.account_id(),
                anchor.signing_account
            ),
        ));
    }
    Ok(signer)
}
