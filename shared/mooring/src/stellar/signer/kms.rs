//! The AWS KMS adapter of [`Signer`]: an `ECC_NIST_EDWARDS25519` key whose private half never
//! leaves KMS. Its public key is read once (`GetPublicKey`, at cold start), which makes the key a
//! Stellar account; each signature is one `Sign` call (`ED25519_SHA_512` over the raw message,
//! a 32-byte transaction hash).

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};

use super::{ed25519_key_from_der, SignFuture, Signer, SignerError};
use crate::stellar::AccountId;

/// KMS signs messages of at most 4096 bytes in `RAW` mode.
pub const MAX_RAW_MESSAGE: usize = 4096;

/// A Stellar key held in KMS.
#[derive(Clone)]
pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    key_id: String,
    account: AccountId,
}

impl std::fmt::Debug for KmsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KmsSigner({}, key: {})", self.account, self.key_id)
    }
}

/// The KMS client of the function (built once per cold start).
pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::config::Builder::from(sdk).interceptor(crate::aws::TraceHeader);
    aws_sdk_kms::Client::from_conf(config.build())
}

impl KmsSigner {
    /// Reads the key's public key (`GetPublicKey`) and checks that it is an ed25519 signing
    /// key. `key_id` is a key ARN, id or alias.
    pub async fn connect(
        client: aws_sdk_kms::Client,
        key_id: impl Into<String>,
    ) -> Result<Self, SignerError> {
        let key_id = key_id.into();
        let answer = client
            .get_public_key()
            .key_id(&key_id)
            .send()
            .await
            .map_err(|e| {
                SignerError::Unavailable(format!(
                    "GetPublicKey of {key_id}: {}",
                    aws_sdk_kms::error::DisplayErrorContext(&e)
                ))
            })?;
        if answer.key_spec() != Some(&KeySpec::EccNistEdwards25519) {
            return Err(SignerError::InvalidKey(format!(
                "{key_id} has key spec {:?}; a Stellar key is ECC_NIST_EDWARDS25519",
                answer.key_spec()
            )));
        }
        if answer
            .key_usage()
            .is_some_and(|usage| usage != &KeyUsageType::SignVerify)
        {
            return Err(SignerError::InvalidKey(format!(
                "{key_id} is not a SIGN_VERIFY key"
            )));
        }
        let der = answer
            .public_key()
            .ok_or_else(|| SignerError::InvalidKey(format!("{key_id}: no public key")))?;
        let account = ed25519_key_from_der(der.as_ref())?;
        Ok(Self {
            client,
            key_id,
            account,
        })
    }

    /// [`Self::connect`], as the shared signer a function holds, its account logged: what a
    /// function's start passes to the settings that connect keys in KMS.
    pub async fn connect_shared(
        client: aws_sdk_kms::Client,
        key_id: String,
    ) -> Result<std::sync::Arc<dyn Signer>, SignerError> {
        let signer = Self::connect(client, key_id).await?;
        tracing::info!(account = %signer.account, key = %signer.key_id, "key in KMS");
        Ok(std::sync::Arc::new(signer))
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    async fn sign_raw(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        if message.len() > MAX_RAW_MESSAGE {
            return Err(SignerError::MessageTooLong {
                len: message.len(),
                max: MAX_RAW_MESSAGE,
            });
        }
        let answer = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::Ed25519Sha512)
            .send()
            .await
            .map_err(|e| {
                SignerError::Unavailable(format!(
                    "Sign with {}: {}",
                    self.key_id,
                    aws_sdk_kms::error::DisplayErrorContext(&e)
                ))
            })?;
        answer
            .signature()
            .and_then(|blob| <[u8; 64]>::try_from(blob.as_ref()).ok())
            .ok_or(SignerError::BadSignature)
    }
}

impl Signer for KmsSigner {
    fn account_id(&self) -> AccountId {
        self.account
    }

    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(self.sign_raw(message))
    }
}
