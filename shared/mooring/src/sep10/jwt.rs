//! The SEP-10 JWT (HS256): issuing it, and reading it back for the other SEP endpoints.

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::stellar::{AccountId, Memo, MuxedAccount};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    /// Hex SHA-256 hash of the challenge transaction.
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_domain: Option<String>,
    pub home_domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is invalid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("could not sign the token")]
    Signing,
}

/// HMAC keys for the anchor's JWTs, built once at start.
///
/// Rotation: tokens name their key (`kid`, a hash of the secret, never the secret). After the
/// JWT secret is rotated, the retired secret may be kept as the *previous* key
/// ([`JwtKeys::with_previous`]): tokens naming it are accepted until its deadline, then refused.
/// The choice is one comparison of the header's `kid`: no extra cost per request.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    previous: Option<PreviousKey>,
    issuer: String,
    validation: Validation,
}

struct PreviousKey {
    kid: String,
    decoding: DecodingKey,
    /// Unix seconds: tokens of this key are refused from then on.
    until: u64,
}

/// The `kid` of a JWT secret: the first 8 bytes of SHA-256 over a label and the secret, in hex.
pub fn key_id(secret: &Secret) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"mooring jwt key id\0")
        .chain_update(secret.expose().as_bytes())
        .finalize();
    hex::encode(&digest[..8])
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwtKeys(issuer: {}, keys: [redacted])", self.issuer)
    }
}

impl JwtKeys {
    pub fn new(secret: &Secret, issuer: String) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the injected clock in `verify`.
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp", "iat", "sub", "iss"]
            .into_iter()
            .map(String::from)
            .collect();
        validation.set_issuer(&[issuer.as_str()]);
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            kid: key_id(secret),
            previous: None,
            issuer,
            validation,
        }
    }

    /// Also accepts tokens of the retired secret `previous` until `until` (Unix seconds).
    pub fn with_previous(mut self, previous: &Secret, until: u64) -> Self {
        self.previous = Some(PreviousKey {
            kid: key_id(previous),
            decoding: DecodingKey::from_secret(previous.expose().as_bytes()),
            until,
        });
        self
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, JwtError> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|_| JwtError::Signing)
    }

    /// Checks signature, algorithm, issuer and expiry at `now`. A token naming the previous key
    /// is checked with it until its deadline; any other (or none: tokens from before key ids)
    /// with the current key.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, JwtError> {
        // The header is read for its key id only while a previous key is honoured: `decode`
        // reads it again (and refuses a malformed one) either way.
        let decoding = match &self.previous {
            Some(previous) => {
                let kid = jsonwebtoken::decode_header(token)
                    .map_err(|_| JwtError::Invalid)?
                    .kid;
                if kid.as_deref() != Some(previous.kid.as_str()) {
                    &self.decoding
                } else if now >= previous.until {
                    return Err(JwtError::Invalid);
                } else {
                    &previous.decoding
                }
            }
            None => &self.decoding,
        };
        let claims = jsonwebtoken::decode::<Claims>(token, decoding, &self.validation)
            .map_err(|_| JwtError::Invalid)?
            .claims;
        if claims.exp <= now {
            return Err(JwtError::Expired);
        }
        Ok(claims)
    }
}

/// The authenticated user a JWT's `sub` names: an account plus, for shared accounts, a memo
/// (from `G...:memo` or an `M...` address). `G:memo` and `M` forms of one user are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WebAuthUser {
    pub account: AccountId,
    pub memo: Option<u64>,
    /// Whether the client authenticated as an `M...` address.
    pub muxed: bool,
}

impl WebAuthUser {
    pub fn from_subject(sub: &str) -> Result<Self, JwtError> {
        if let Some((account, memo)) = sub.split_once(':') {
            return Ok(Self {
                account: account.parse().map_err(|_| JwtError::Invalid)?,
                memo: Some(Memo::parse_id(memo).map_err(|_| JwtError::Invalid)?),
                muxed: false,
            });
        }
        let client: MuxedAccount = sub.parse().map_err(|_| JwtError::Invalid)?;
        Ok(Self {
            account: client.account,
            memo: client.id,
            muxed: client.id.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(
            &Secret::new("x".repeat(32)),
            "https://a.example/auth".into(),
        )
    }

    fn claims(exp: u64) -> Claims {
        Claims {
            iss: "https://a.example/auth".into(),
            sub: "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ:7".into(),
            iat: 100,
            exp,
            jti: "00".into(),
            client_domain: None,
            home_domain: "a.example".into(),
        }
    }

    #[test]
    fn round_trips_and_checks_expiry() {
        let token = keys().issue(&claims(200)).unwrap();
        assert_eq!(keys().verify(&token, 150).unwrap(), claims(200));
        assert_eq!(keys().verify(&token, 200), Err(JwtError::Expired));
    }

    #[test]
    fn rejects_other_keys_issuers_and_garbage() {
        let token = keys().issue(&claims(200)).unwrap();
        let other = JwtKeys::new(
            &Secret::new("y".repeat(32)),
            "https://a.example/auth".into(),
        );
        assert_eq!(other.verify(&token, 150), Err(JwtError::Invalid));
        let other_issuer = JwtKeys::new(
            &Secret::new("x".repeat(32)),
            "https://b.example/auth".into(),
        );
        assert_eq!(other_issuer.verify(&token, 150), Err(JwtError::Invalid));
        assert_eq!(keys().verify("a.b.c", 150), Err(JwtError::Invalid));
        // alg=none must never be accepted.
        let none = format!(
            "eyJhbGciOiJub25lIn0.{}.",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                serde_json::to_vec(&claims(200)).unwrap()
            )
        );
        assert_eq!(keys().verify(&none, 150), Err(JwtError::Invalid));
    }

    #[test]
    fn after_a_rotation_old_tokens_are_accepted_until_the_deadline_only() {
        let old = keys();
        let old_token = old.issue(&claims(10_000)).unwrap();
        let rotated = JwtKeys::new(
            &Secret::new("n".repeat(32)),
            "https://a.example/auth".into(),
        )
        .with_previous(&Secret::new("x".repeat(32)), 1_000);
        // New tokens name the new key; both verify during the grace period.
        let new_token = rotated.issue(&claims(10_000)).unwrap();
        assert_ne!(
            jsonwebtoken::decode_header(&new_token).unwrap().kid,
            jsonwebtoken::decode_header(&old_token).unwrap().kid
        );
        assert_eq!(rotated.verify(&old_token, 999), Ok(claims(10_000)));
        assert_eq!(rotated.verify(&new_token, 999), Ok(claims(10_000)));
        // After it, the old key's tokens are refused, though not expired.
        assert_eq!(rotated.verify(&old_token, 1_000), Err(JwtError::Invalid));
        assert_eq!(rotated.verify(&new_token, 1_000), Ok(claims(10_000)));
        // Without the previous key (a rotation finished), they never verify.
        let finished = JwtKeys::new(
            &Secret::new("n".repeat(32)),
            "https://a.example/auth".into(),
        );
        assert_eq!(finished.verify(&old_token, 999), Err(JwtError::Invalid));
        // A token naming the previous key but signed with another is refused.
        let forged = JwtKeys::new(
            &Secret::new("z".repeat(32)),
            "https://a.example/auth".into(),
        );
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key_id(&Secret::new("x".repeat(32))));
        let forged = jsonwebtoken::encode(&header, &claims(10_000), &forged.encoding).unwrap();
        assert_eq!(rotated.verify(&forged, 999), Err(JwtError::Invalid));
        // The key id does not reveal the secret.
        assert!(!key_id(&Secret::new("x".repeat(32))).contains("xxxx"));
    }

    #[test]
    fn parses_every_subject_form() {
        let g = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";
        let plain = WebAuthUser::from_subject(g).unwrap();
        assert_eq!((plain.memo, plain.muxed), (None, false));
        let memo = WebAuthUser::from_subject(&format!("{g}:9223372036854775808")).unwrap();
        let muxed = WebAuthUser::from_subject(
            "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVAAAAAAAAAAAAAJLK",
        )
        .unwrap();
        assert_eq!((memo.account, memo.memo), (muxed.account, muxed.memo));
        assert!(muxed.muxed);
        for bad in [
            "",
            "G",
            &format!("{g}:"),
            &format!("{g}:-1"),
            &format!("{g}:x"),
        ] {
            assert!(WebAuthUser::from_subject(bad).is_err(), "{bad}");
        }
    }
}
