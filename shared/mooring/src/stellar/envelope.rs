//! Transaction envelopes: decoding untrusted XDR with limits, hashing, signing, verifying.

use stellar_xdr::{self as xdr, Limits, ReadXdr, WriteXdr};

use super::{AccountId, Keypair, Network, VerifyingAccount};

/// Limits for decoding an envelope received from a client. A v1 envelope is at most a few KiB:
/// 100 operations, 20 signatures. Depth bounds recursion (nested Soroban values).
pub const DECODE_LIMITS: Limits = Limits {
    depth: crate::limits::MAX_XDR_DEPTH,
    len: crate::limits::MAX_XDR_BYTES,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the transaction is not valid base64-encoded XDR of a transaction envelope")]
    InvalidXdr,
    #[error("could not encode the transaction")]
    Encode,
}

/// Decodes a base64 `TransactionEnvelope` from untrusted input, with explicit limits.
pub fn decode_envelope(base64: &str) -> Result<xdr::TransactionEnvelope, EnvelopeError> {
    // Base64 of DECODE_LIMITS.len bytes; anything longer is rejected before decoding.
    if base64.len() > DECODE_LIMITS.len.div_ceil(3) * 4 {
        return Err(EnvelopeError::InvalidXdr);
    }
    xdr::TransactionEnvelope::from_xdr_base64(base64.trim(), DECODE_LIMITS)
        .map_err(|_| EnvelopeError::InvalidXdr)
}

pub fn encode_envelope(envelope: &xdr::TransactionEnvelope) -> Result<String, EnvelopeError> {
    envelope
        .to_xdr_base64(Limits::none())
        .map_err(|_| EnvelopeError::Encode)
}

/// Signs a transaction hash: ed25519 over the 32-byte hash, with the key's hint.
pub fn sign_hash(keypair: &Keypair, hash: &[u8; 32]) -> xdr::DecoratedSignature {
    let signature = keypair.sign(hash);
    xdr::DecoratedSignature {
        hint: xdr::SignatureHint(keypair.account_id().hint()),
        signature: xdr::Signature(
            signature
                .to_vec()
                .try_into()
                .expect("an ed25519 signature is 64 bytes"),
        ),
    }
}

/// True when `signature` is `key`'s valid signature of `hash`. The hint is checked first
/// (cheap), but never trusted alone.
pub fn verify_decorated(
    hash: &[u8; 32],
    signature: &xdr::DecoratedSignature,
    key: &AccountId,
) -> bool {
    signature.hint.0 == key.hint() && key.verify(hash, signature.signature.0.as_slice())
}

/// [`verify_decorated`] for a signature by one of our own keys, whose point is decompressed
/// once ([`VerifyingAccount`]).
pub fn verify_own_decorated(
    hash: &[u8; 32],
    signature: &xdr::DecoratedSignature,
    key: &VerifyingAccount,
) -> bool {
    signature.hint.0 == key.account_id().hint()
        && key.verify(hash, signature.signature.0.as_slice())
}

/// The hash of a v1 transaction on `network` (the Horizon transaction id, as bytes).
pub fn transaction_hash(
    tx: &xdr::Transaction,
    network: &Network,
) -> Result<[u8; 32], EnvelopeError> {
    tx.hash(network.id()).map_err(|_| EnvelopeError::Encode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_and_oversized_input() {
        for bad in ["", "AAAA", "not base64!", "AAAAAgAAAAA="] {
            assert_eq!(
                decode_envelope(bad),
                Err(EnvelopeError::InvalidXdr),
                "{bad}"
            );
        }
        let huge = "A".repeat(200_000);
        assert_eq!(decode_envelope(&huge), Err(EnvelopeError::InvalidXdr));
        // A length prefix claiming 2^31 operations must fail fast, not allocate.
        let mut bytes = vec![0, 0, 0, 2];
        bytes.extend([0u8; 4 + 32 + 4 + 8 + 4 + 4]);
        bytes.extend([0x7f, 0xff, 0xff, 0xff]);
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
        assert_eq!(decode_envelope(&b64), Err(EnvelopeError::InvalidXdr));
    }

    #[test]
    fn signs_and_verifies_with_hints() {
        let kp = Keypair::from_seed_bytes([1u8; 32]);
        let other = Keypair::from_seed_bytes([2u8; 32]);
        let hash = [5u8; 32];
        let sig = sign_hash(&kp, &hash);
        assert!(verify_decorated(&hash, &sig, &kp.account_id()));
        assert!(!verify_decorated(&hash, &sig, &other.account_id()));
        assert!(!verify_decorated(&[6u8; 32], &sig, &kp.account_id()));
        assert!(verify_own_decorated(&hash, &sig, &kp.verifying_account()));
        assert!(!verify_own_decorated(
            &hash,
            &sig,
            &other.verifying_account()
        ));
        assert!(!verify_own_decorated(
            &[6u8; 32],
            &sig,
            &kp.verifying_account()
        ));
    }
}
