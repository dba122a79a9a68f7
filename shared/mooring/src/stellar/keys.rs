use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use stellar_strkey::ed25519;
use stellar_xdr as xdr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("'{0}' is not a valid Stellar account (G...)")]
    InvalidAccount(String),
    #[error("'{0}' is not a valid Stellar account (G... or M...)")]
    InvalidMuxedAccount(String),
    #[error("not a valid Stellar secret seed (S...)")]
    InvalidSecretSeed,
}

/// An ed25519 account id: the 32-byte public key behind a `G...` strkey.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId([u8; 32]);

impl AccountId {
    pub const fn from_bytes(key: [u8; 32]) -> Self {
        Self(key)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The signature hint: the last four bytes of the public key.
    pub fn hint(&self) -> [u8; 4] {
        [self.0[28], self.0[29], self.0[30], self.0[31]]
    }

    /// Verifies an ed25519 signature by this key over `message`, with the strict checks
    /// (canonical encodings, no small-order keys) that match stellar-core.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        VerifyingKey::from_bytes(&self.0)
            .map(|key| key.verify_strict(message, &signature).is_ok())
            .unwrap_or(false)
    }

    pub fn to_xdr(&self) -> xdr::AccountId {
        xdr::AccountId(xdr::PublicKey::PublicKeyTypeEd25519(xdr::Uint256(self.0)))
    }

    pub fn from_xdr(account: &xdr::AccountId) -> Self {
        let xdr::PublicKey::PublicKeyTypeEd25519(xdr::Uint256(key)) = &account.0;
        Self(*key)
    }
}

/// An account's public key with its curve point decompressed once: for a key whose signatures
/// are checked on every request (the SEP-10 server's own), where decompressing the key would be
/// a quarter of each verification. It holds no secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingAccount {
    account: AccountId,
    key: VerifyingKey,
}

impl VerifyingAccount {
    /// Refuses 32 bytes that are not a point of the curve (no signature could ever verify).
    pub fn new(account: AccountId) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(&account.0)
            .map_err(|_| KeyError::InvalidAccount(account.to_string()))?;
        Ok(Self { account, key })
    }

    pub fn account_id(&self) -> AccountId {
        self.account
    }

    /// [`AccountId::verify`], without decompressing the key again.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|signature| self.key.verify_strict(message, &signature).is_ok())
    }
}

impl fmt::Debug for VerifyingAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.account, f)
    }
}

impl FromStr for AccountId {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ed25519::PublicKey::from_string(s)
            .map(|key| Self(key.0))
            .map_err(|_| KeyError::InvalidAccount(truncate(s)))
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&ed25519::PublicKey(self.0), f)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A client account as SEPs name it: a `G...` account, or an `M...` muxed account
/// (the same key plus a 64-bit id that distinguishes users of a shared account).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MuxedAccount {
    pub account: AccountId,
    pub id: Option<u64>,
}

impl MuxedAccount {
    pub const fn new(account: AccountId, id: Option<u64>) -> Self {
        Self { account, id }
    }

    pub fn to_xdr(&self) -> xdr::MuxedAccount {
        match self.id {
            None => xdr::MuxedAccount::Ed25519(xdr::Uint256(self.account.0)),
            Some(id) => xdr::MuxedAccount::MuxedEd25519(xdr::MuxedAccountMed25519 {
                id,
                ed25519: xdr::Uint256(self.account.0),
            }),
        }
    }

    pub fn from_xdr(account: &xdr::MuxedAccount) -> Self {
        match account {
            xdr::MuxedAccount::Ed25519(xdr::Uint256(key)) => Self::new(AccountId(*key), None),
            xdr::MuxedAccount::MuxedEd25519(m) => Self::new(AccountId(m.ed25519.0), Some(m.id)),
        }
    }
}

impl From<AccountId> for MuxedAccount {
    fn from(account: AccountId) -> Self {
        Self::new(account, None)
    }
}

impl FromStr for MuxedAccount {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with('M') {
            ed25519::MuxedAccount::from_string(s)
                .map(|m| Self::new(AccountId(m.ed25519), Some(m.id)))
                .map_err(|_| KeyError::InvalidMuxedAccount(truncate(s)))
        } else {
            s.parse::<AccountId>()
                .map(Self::from)
                .map_err(|_| KeyError::InvalidMuxedAccount(truncate(s)))
        }
    }
}

impl fmt::Display for MuxedAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id {
            None => fmt::Display::fmt(&self.account, f),
            Some(id) => fmt::Display::fmt(
                &ed25519::MuxedAccount {
                    ed25519: self.account.0,
                    id,
                },
                f,
            ),
        }
    }
}

impl fmt::Debug for MuxedAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A signing keypair. The secret never leaves this type: `Debug` shows only the public key and
/// there is no `Display`; the key material is zeroed on drop.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
    public: AccountId,
}

impl Keypair {
    /// Parses an `S...` secret seed.
    pub fn from_secret_seed(seed: &str) -> Result<Self, KeyError> {
        let seed = ed25519::PrivateKey::from_string(seed.trim())
            .map_err(|_| KeyError::InvalidSecretSeed)?;
        Ok(Self::from_seed_bytes(seed.0))
    }

    pub fn from_seed_bytes(seed: [u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(&seed);
        let public = AccountId(signing.verifying_key().to_bytes());
        Self { signing, public }
    }

    /// A new random keypair from the operating system's CSPRNG.
    pub fn random() -> Self {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::getrandom(seed.as_mut()).expect("the operating system CSPRNG is unavailable");
        Self::from_seed_bytes(*seed)
    }

    pub fn account_id(&self) -> AccountId {
        self.public
    }

    /// The public half, ready to verify signatures ([`VerifyingAccount`]).
    pub fn verifying_account(&self) -> VerifyingAccount {
        VerifyingAccount {
            account: self.public,
            key: self.signing.verifying_key(),
        }
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Whether `signature` is this keypair's signature of `message`, told without a point
    /// multiplication: a SEP-10 login checks the server's signature of every challenge, and a
    /// verification (or signing again) is nearly half of its CPU.
    ///
    /// An ed25519 signature (R, S) of M by the secret scalar `a` with hash prefix `p` has
    /// S = r + H(R || A || M)·a, where r = H(p || M) (RFC 8032, 5.1.6). Only the holder of `a`
    /// and `p` can compute that S for any R, so checking it, two SHA-512s and a scalar
    /// multiply-add, tells our own signatures from anything else as surely as a verification:
    /// another S would need `a`, another R a SHA-512 collision. The comparison takes constant
    /// time, so it leaks nothing of the S expected.
    pub fn is_own_signature(&self, message: &[u8], signature: &[u8]) -> bool {
        use curve25519_dalek::Scalar;
        use ed25519_dalek::hazmat::ExpandedSecretKey;
        use sha2::{Digest, Sha512};
        use subtle::ConstantTimeEq;

        let Some((big_r, s)) = signature.split_at_checked(32) else {
            return false;
        };
        if s.len() != 32 {
            return false;
        }
        let secret = ExpandedSecretKey::from(&*zeroize::Zeroizing::new(self.signing.to_bytes()));
        let r = Scalar::from_hash(
            Sha512::new()
                .chain_update(secret.hash_prefix)
                .chain_update(message),
        );
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(big_r)
                .chain_update(self.public.0)
                .chain_update(message),
        );
        (k * secret.scalar + r).to_bytes().ct_eq(s).into()
    }

    /// The `S...` form of the seed, for tools that must hand it to an operator (never log it).
    pub fn secret_seed(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(
            ed25519::PrivateKey(self.signing.to_bytes())
                .as_unredacted()
                .to_string()
                .as_str()
                .to_owned(),
        )
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({}, secret: [redacted])", self.public)
    }
}

/// Error messages echo at most a short prefix of untrusted input.
fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_HEX: &str = "3f0c34bf93ad0d9971d04ccc90f705511c838aad9734a4a2fb0d7a03fc7fe89a";
    const G: &str = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";

    fn key() -> AccountId {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(KEY_HEX, &mut bytes).unwrap();
        AccountId::from_bytes(bytes)
    }

    #[test]
    fn sep23_account_vector_round_trips() {
        assert_eq!(key().to_string(), G);
        assert_eq!(G.parse::<AccountId>().unwrap(), key());
    }

    #[test]
    fn sep23_muxed_vectors_round_trip() {
        for (id, m) in [
            (
                0u64,
                "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUQ",
            ),
            (
                9223372036854775808,
                "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVAAAAAAAAAAAAAJLK",
            ),
        ] {
            let muxed: MuxedAccount = m.parse().unwrap();
            assert_eq!(muxed, MuxedAccount::new(key(), Some(id)));
            assert_eq!(muxed.to_string(), m);
            assert_eq!(MuxedAccount::from_xdr(&muxed.to_xdr()), muxed);
        }
    }

    #[test]
    fn rejects_bad_strkeys() {
        let bad_checksum = format!("{}A", &G[..55]);
        for s in [
            "",
            "G",
            &bad_checksum,
            "SA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ",
            "ga7qynf7sowq3glr2bgmzehxavirza4kvwltjjfc7mgxua74p7ujvsgz",
        ] {
            assert!(s.parse::<AccountId>().is_err(), "{s}");
            assert!(s.parse::<MuxedAccount>().is_err(), "{s}");
        }
        // An M address is not a plain account.
        assert!(
            "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUQ"
                .parse::<AccountId>()
                .is_err()
        );
    }

    #[test]
    fn keypair_debug_never_shows_the_secret() {
        let kp = Keypair::from_seed_bytes([7u8; 32]);
        let seed = kp.secret_seed();
        let debug = format!("{kp:?}");
        assert!(!debug.contains(seed.as_str()));
        assert!(debug.contains(&kp.account_id().to_string()));
        assert_eq!(
            Keypair::from_secret_seed(&seed).unwrap().account_id(),
            kp.account_id()
        );
        assert!(Keypair::from_secret_seed("SNOTASEED").is_err());
    }

    #[test]
    fn signatures_verify_only_for_the_signed_message() {
        let kp = Keypair::from_seed_bytes([9u8; 32]);
        let sig = kp.sign(b"message");
        assert!(kp.account_id().verify(b"message", &sig));
        assert!(!kp.account_id().verify(b"other", &sig));
        assert!(!kp.account_id().verify(b"message", &sig[..63]));
        assert!(!key().verify(b"message", &sig));
    }

    #[test]
    fn a_keypair_knows_its_own_signatures_and_nothing_else() {
        // RFC 8032, 7.1, TEST 1: a signature made by code we did not write.
        let mut seed = [0u8; 32];
        hex::decode_to_slice(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            &mut seed,
        )
        .unwrap();
        let rfc = Keypair::from_seed_bytes(seed);
        let rfc_signature = hex::decode(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        )
        .unwrap();
        assert!(rfc.is_own_signature(b"", &rfc_signature));
        assert!(!rfc.is_own_signature(b"x", &rfc_signature));

        let kp = Keypair::from_seed_bytes([9u8; 32]);
        let other = Keypair::from_seed_bytes([8u8; 32]);
        for n in 0u8..8 {
            let message = [n; 32];
            let signature = kp.sign(&message);
            assert!(kp.is_own_signature(&message, &signature));
            assert!(!kp.is_own_signature(&[n ^ 1; 32], &signature));
            assert!(!other.is_own_signature(&message, &signature));
            assert!(!kp.is_own_signature(&message, &other.sign(&message)));
            // Every bit of R and of S counts: what verifies is exactly what is recognised.
            for bit in 0..512 {
                let mut tampered = signature;
                tampered[bit / 8] ^= 1 << (bit % 8);
                assert!(!kp.is_own_signature(&message, &tampered), "bit {bit}");
                assert_eq!(
                    kp.account_id().verify(&message, &tampered),
                    kp.is_own_signature(&message, &tampered)
                );
            }
        }
        let signature = kp.sign(b"m");
        assert!(!kp.is_own_signature(b"m", &signature[..63]));
        assert!(!kp.is_own_signature(b"m", &[signature.as_slice(), &[0]].concat()));
        assert!(!kp.is_own_signature(b"m", &[]));
        assert!(!kp.is_own_signature(b"m", &[0; 64]));
    }
}
