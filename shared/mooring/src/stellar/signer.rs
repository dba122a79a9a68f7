//! Who signs a transaction: an account's public key and a way to sign a 32-byte transaction
//! hash with its ed25519 key. The key may live in this process ([`Keypair`]) or in AWS KMS
//! (`kms::KmsSigner`, feature `kms`), where it never leaves the key service.

use std::future::Future;
use std::pin::Pin;

use stellar_xdr as xdr;

use super::{AccountId, Keypair};

#[cfg(feature = "kms")]
pub mod kms;

/// Why a signature could not be made. Local keys never fail; a remote key service can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    /// The key service could not be reached or refused (throttled, access denied, disabled
    /// key): the caller may retry later.
    #[error("the key service could not sign: {0}")]
    Unavailable(String),
    /// The key is not a usable Stellar key (wrong key spec, or a malformed answer).
    #[error("the key is not an ed25519 signing key: {0}")]
    InvalidKey(String),
    /// The signature the key service returned does not verify with the account's public key.
    #[error("the key service returned a signature that does not verify")]
    BadSignature,
    /// The message is longer than the key service signs (KMS: 4096 bytes in `RAW` mode). It
    /// never will be signed: not worth a retry.
    #[error("a message of {len} bytes is longer than the key service signs (at most {max})")]
    MessageTooLong { len: usize, max: usize },
}

/// Where a key lives, as configured, before any key service is contacted.
#[derive(Debug, Clone)]
pub enum KeyLocation {
    /// In this process: a seed (read from Secrets Manager when deployed).
    Local(Box<Keypair>),
    /// In AWS KMS (an `ECC_NIST_EDWARDS25519` key's ARN, id or alias): the private key never
    /// leaves KMS; its account is read at cold start.
    Kms(String),
}

/// A boxed future, so that signers of different kinds fit behind `dyn Signer`.
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<[u8; 64], SignerError>> + Send + 'a>>;

/// An ed25519 key that signs Stellar transaction hashes (and other short messages).
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// The Stellar account (`G...`) of the key.
    fn account_id(&self) -> AccountId;

    /// The ed25519 signature of `message` (a 32-byte transaction hash, or a SEP-10 challenge's
    /// hash).
    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a>;

    /// Whether the key is in this process, so its signatures need no checking
    /// ([`sign_checked`]): a remote key service's answers are checked before they are used.
    fn is_local(&self) -> bool {
        false
    }

    /// Whether `signature` is this key's signature of `message`, when the key can tell without
    /// a verification (a key in this process: [`Keypair::is_own_signature`]); `None` for a key
    /// service, whose signatures only a verification checks.
    fn is_own_signature(&self, _message: &[u8], _signature: &[u8]) -> Option<bool> {
        None
    }
}

/// The local adapter: the key is in this process.
impl Signer for Keypair {
    fn account_id(&self) -> AccountId {
        Keypair::account_id(self)
    }

    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        let signature = Keypair::sign(self, message);
        Box::pin(std::future::ready(Ok(signature)))
    }

    fn is_local(&self) -> bool {
        true
    }

    fn is_own_signature(&self, message: &[u8], signature: &[u8]) -> Option<bool> {
        Some(Keypair::is_own_signature(self, message, signature))
    }
}

/// `signer`'s signature of `message`, checked against its account unless the key is in this
/// process: a faulty key service can never make us hand out a signature that does not verify.
pub async fn sign_checked(signer: &dyn Signer, message: &[u8]) -> Result<[u8; 64], SignerError> {
    let signature = signer.sign(message).await?;
    if !signer.is_local() && !signer.account_id().verify(message, &signature) {
        return Err(SignerError::BadSignature);
    }
    Ok(signature)
}

/// A key service in memory, for tests: it signs as KMS does (a remote key: its signatures are
/// checked; messages of at most 4096 bytes), or fails as told.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug)]
pub struct FakeKeyService {
    key: Keypair,
    failure: std::sync::Mutex<Option<SignerError>>,
}

#[cfg(any(test, feature = "testing"))]
impl FakeKeyService {
    /// KMS's limit on a `RAW` message.
    pub const MAX_MESSAGE: usize = 4096;

    pub fn new(key: Keypair) -> Self {
        Self {
            key,
            failure: std::sync::Mutex::new(None),
        }
    }

    /// Every signing from now on fails with `failure` (`None`: signs again).
    pub fn fail_with(&self, failure: Option<SignerError>) {
        *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = failure;
    }
}

#[cfg(any(test, feature = "testing"))]
impl Signer for FakeKeyService {
    fn account_id(&self) -> AccountId {
        self.key.account_id()
    }

    fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        let failure = self
            .failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let answer = match failure {
            Some(SignerError::BadSignature) => Ok([0; 64]),
            Some(failure) => Err(failure),
            None if message.len() > Self::MAX_MESSAGE => Err(SignerError::MessageTooLong {
                len: message.len(),
                max: Self::MAX_MESSAGE,
            }),
            None => Ok(self.key.sign(message)),
        };
        Box::pin(std::future::ready(answer))
    }
}

/// Signs a transaction hash through any [`Signer`], with the key's hint: the async counterpart
/// of [`super::sign_hash`]. A remote signature is verified before it is used, so a faulty key
/// service can never produce an envelope the network refuses as badly signed.
pub async fn sign_hash_with(
    signer: &dyn Signer,
    hash: &[u8; 32],
) -> Result<xdr::DecoratedSignature, SignerError> {
    let signature = sign_checked(signer, hash).await?;
    Ok(xdr::DecoratedSignature {
        hint: xdr::SignatureHint(signer.account_id().hint()),
        signature: xdr::Signature(
            signature
                .to_vec()
                .try_into()
                .map_err(|_| SignerError::BadSignature)?,
        ),
    })
}

/// The raw ed25519 public key in a DER `SubjectPublicKeyInfo` (what KMS `GetPublicKey`
/// returns): for ed25519 (OID 1.3.101.112) it is the last 32 bytes of the 44-byte structure.
pub fn ed25519_key_from_der(der: &[u8]) -> Result<AccountId, SignerError> {
    // SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits) <32 bytes> }
    const PREFIX: [u8; 12] = [
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    let key: [u8; 32] = der
        .strip_prefix(&PREFIX[..])
        .and_then(|rest| rest.try_into().ok())
        .ok_or_else(|| {
            SignerError::InvalidKey(format!(
                "expected a 44-byte ed25519 SubjectPublicKeyInfo, got {} bytes",
                der.len()
            ))
        })?;
    Ok(AccountId::from_bytes(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stellar::verify_decorated;

    /// A key service that answers with someone else's signature.
    #[derive(Debug)]
    struct Impostor {
        claimed: AccountId,
        actual: Keypair,
    }

    impl Signer for Impostor {
        fn account_id(&self) -> AccountId {
            self.claimed
        }
        fn sign<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
            let signature = self.actual.sign(message);
            Box::pin(async move { Ok(signature) })
        }
    }

    #[tokio::test]
    async fn a_local_key_signs_like_sign_hash() {
        let key = Keypair::from_seed_bytes([7; 32]);
        let hash = [3u8; 32];
        let signature = sign_hash_with(&key, &hash).await.expect("sign");
        assert_eq!(signature, crate::stellar::sign_hash(&key, &hash));
        assert!(verify_decorated(&hash, &signature, &key.account_id()));
    }

    #[tokio::test]
    async fn a_signature_that_does_not_verify_is_refused() {
        let impostor = Impostor {
            claimed: Keypair::from_seed_bytes([1; 32]).account_id(),
            actual: Keypair::from_seed_bytes([2; 32]),
        };
        assert_eq!(
            sign_hash_with(&impostor, &[0; 32]).await,
            Err(SignerError::BadSignature)
        );
    }

    #[tokio::test]
    async fn a_remote_signature_is_checked_and_a_local_one_is_not_needed() {
        let key = Keypair::from_seed_bytes([3; 32]);
        let remote = FakeKeyService::new(key.clone());
        let message = b"a challenge hash";
        assert_eq!(sign_checked(&remote, message).await, Ok(key.sign(message)));
        // A key service answering garbage is caught before the signature is used.
        remote.fail_with(Some(SignerError::BadSignature));
        assert_eq!(
            sign_checked(&remote, message).await,
            Err(SignerError::BadSignature)
        );
        assert!(key.is_local() && !remote.is_local());
        assert_eq!(sign_checked(&key, message).await, Ok(key.sign(message)));
    }

    #[test]
    fn reads_the_raw_key_from_a_der_public_key() {
        let key = Keypair::from_seed_bytes([5; 32]).account_id();
        let mut der = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        der.extend(key.as_bytes());
        assert_eq!(ed25519_key_from_der(&der), Ok(key));
        // A P-256 key, a truncated one, trailing bytes: refused, never a panic.
        for bad in [
            &der[..20],
            &[0x30, 0x59, 0x30, 0x13][..],
            &[der.as_slice(), &[0]].concat(),
        ] {
            assert!(matches!(
                ed25519_key_from_der(bad),
                Err(SignerError::InvalidKey(_))
            ));
        }
    }
}
