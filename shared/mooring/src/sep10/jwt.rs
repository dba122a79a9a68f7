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
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    validation: Validation,
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
            issuer,
            validation,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, JwtError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|_| JwtError::Signing)
    }

    /// Checks signature, algorithm, issuer and expiry at `now`.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, JwtError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
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
