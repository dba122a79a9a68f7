//! The SEP-10 JWT on the other SEP endpoints: `Authorization: Bearer <jwt>` is read from the
//! request, verified (signature, issuer, expiry at the injected clock's now) and turned into the
//! [`WebAuthUser`] it names.
//!
//! Functions that only VERIFY tokens (SEP-6/12/24/31/38) get an [`AuthConfig`]: the JWT secret
//! and the issuer, never the SEP-10 signing seed. How a failure is answered depends on the SEP:
//! SEP-12 and SEP-31/38 answer `{"error": ...}` (401 for SEP-12, see `From<AuthError> for
//! ApiError`), SEP-6/24 answer 403 `{"type": "authentication_required"}` through
//! [`AuthError::authentication_required`].

use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::HeaderMap;

use crate::clock::Clock;
use crate::config::{AnchorConfig, ConfigError, PreviousJwtSecret, Secret, Source};
use crate::error::ApiError;
use crate::sep10::{Claims, JwtError, JwtKeys, WebAuthUser};

/// What a token-verifying function needs: the HS256 secret (`JWT_SECRET`) and the issuer the
/// SEP-10 function puts in its tokens (its endpoint URL).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub jwt_secret: Secret,
    /// The JWT secret being retired, during a rotation (`JWT_SECRET_PREVIOUS`).
    pub jwt_previous: Option<PreviousJwtSecret>,
    pub issuer: String,
}

impl AuthConfig {
    pub fn from_source(src: &impl Source, anchor: &AnchorConfig) -> Result<Self, ConfigError> {
        let secret = src
            .get("JWT_SECRET")
            .ok_or(ConfigError::Missing("JWT_SECRET"))?;
        if secret.len() < 32 {
            return Err(ConfigError::Invalid {
                name: "JWT_SECRET",
                reason: "must be at least 32 characters".into(),
            });
        }
        Ok(Self {
            jwt_secret: Secret::new(secret),
            jwt_previous: PreviousJwtSecret::from_source(src)?,
            issuer: anchor.web_auth_endpoint(),
        })
    }
}

/// Why a request is not authenticated. The message is safe to return to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required: send 'Authorization: Bearer <SEP-10 token>'")]
    Missing,
    #[error("the Authorization header must be 'Bearer <SEP-10 token>'")]
    Malformed,
    #[error("the SEP-10 token is invalid")]
    Invalid,
    #[error("the SEP-10 token has expired")]
    Expired,
}

impl AuthError {
    /// SEP-6/24's answer: 403 `{"type": "authentication_required"}`.
    pub fn authentication_required(self) -> ApiError {
        tracing::info!(reason = %self, "authentication required");
        ApiError::AuthenticationRequired
    }
}

/// SEP-12's answer (the default): 401 `{"error": ...}`.
impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        ApiError::Unauthorized(error.to_string())
    }
}

/// Verifies SEP-10 tokens; built once per cold start.
pub struct Authenticator {
    keys: JwtKeys,
    clock: Arc<dyn Clock>,
}

impl Authenticator {
    pub fn new(config: &AuthConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            keys: PreviousJwtSecret::keys(
                config.jwt_previous.as_ref(),
                &config.jwt_secret,
                config.issuer.clone(),
            ),
            clock,
        }
    }

    /// The user a request's bearer token names.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<WebAuthUser, AuthError> {
        self.authenticate_claims(headers).map(|(user, _)| user)
    }

    /// The user a request's bearer token names, with the token's claims (e.g. `client_domain`).
    pub fn authenticate_claims(
        &self,
        headers: &HeaderMap,
    ) -> Result<(WebAuthUser, Claims), AuthError> {
        let header = headers.get(AUTHORIZATION).ok_or(AuthError::Missing)?;
        let header = header.to_str().map_err(|_| AuthError::Malformed)?.trim();
        let (scheme, token) = header.split_once(' ').ok_or(AuthError::Malformed)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(AuthError::Malformed);
        }
        let claims = self
            .keys
            .verify(token, self.clock.now())
            .map_err(|e| match e {
                JwtError::Expired => AuthError::Expired,
                _ => AuthError::Invalid,
            })?;
        let user = WebAuthUser::from_subject(&claims.sub).map_err(|_| AuthError::Invalid)?;
        Ok((user, claims))
    }
}

#[cfg(test)]
mod tests {
    use http::header::HeaderValue;

    use super::*;
    use crate::clock::FixedClock;
    use crate::sep10::Claims;

    const ISSUER: &str = "https://anchor.example/auth";
    const G: &str = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";

    fn config() -> AuthConfig {
        AuthConfig {
            jwt_secret: Secret::new("s".repeat(32)),
            jwt_previous: None,
            issuer: ISSUER.into(),
        }
    }

    fn token(sub: &str, exp: u64) -> String {
        JwtKeys::new(&config().jwt_secret, ISSUER.into())
            .issue(&Claims {
                iss: ISSUER.into(),
                sub: sub.into(),
                iat: 100,
                exp,
                jti: "00".into(),
                client_domain: None,
                home_domain: "anchor.example".into(),
            })
            .unwrap()
    }

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn reads_the_user_of_a_valid_token() {
        let auth = Authenticator::new(&config(), Arc::new(FixedClock::at(150)));
        let user = auth
            .authenticate(&headers(&format!(
                "Bearer {}",
                token(&format!("{G}:7"), 200)
            )))
            .unwrap();
        assert_eq!(
            (user.account.to_string(), user.memo),
            (G.to_owned(), Some(7))
        );
        // The scheme is case-insensitive.
        let user = auth
            .authenticate(&headers(&format!("bearer {}", token(G, 200))))
            .unwrap();
        assert_eq!(user.memo, None);
    }

    #[test]
    fn refuses_missing_malformed_invalid_and_expired_tokens() {
        let clock = Arc::new(FixedClock::at(150));
        let auth = Authenticator::new(&config(), clock.clone());
        assert_eq!(
            auth.authenticate(&HeaderMap::new()),
            Err(AuthError::Missing)
        );
        assert_eq!(
            auth.authenticate(&headers(&token(G, 200))),
            Err(AuthError::Malformed)
        );
        assert_eq!(
            auth.authenticate(&headers("Basic dXNlcjpwYXNz")),
            Err(AuthError::Malformed)
        );
        assert_eq!(
            auth.authenticate(&headers("Bearer a.b.c")),
            Err(AuthError::Invalid)
        );
        let other_issuer = JwtKeys::new(&config().jwt_secret, "https://other/auth".into());
        let foreign = other_issuer
            .issue(&Claims {
                iss: "https://other/auth".into(),
                sub: G.into(),
                iat: 100,
                exp: 200,
                jti: "00".into(),
                client_domain: None,
                home_domain: "other".into(),
            })
            .unwrap();
        assert_eq!(
            auth.authenticate(&headers(&format!("Bearer {foreign}"))),
            Err(AuthError::Invalid)
        );
        clock.set(200);
        assert_eq!(
            auth.authenticate(&headers(&format!("Bearer {}", token(G, 200)))),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn maps_to_401_or_to_sep24s_403() {
        let sep12: ApiError = AuthError::Expired.into();
        assert_eq!(sep12.status(), 401);
        assert_eq!(sep12.to_string(), "the SEP-10 token has expired");
        let sep24 = AuthError::Missing.authentication_required();
        assert_eq!(sep24.status(), 403);
        assert!(matches!(sep24, ApiError::AuthenticationRequired));
    }

    #[test]
    fn config_needs_only_the_jwt_secret() {
        let src = [
            ("HOME_DOMAIN", "anchor.example"),
            ("NETWORK_PASSPHRASE", "Test SDF Network ; September 2015"),
            ("SIGNING_KEY", G),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ];
        let anchor = AnchorConfig::from_source(&src).unwrap();
        let config = AuthConfig::from_source(&src, &anchor).unwrap();
        assert_eq!(config.issuer, "https://anchor.example/auth");
        assert!(!format!("{config:?}").contains("0123456789abcdef"));
        let short = [("JWT_SECRET", "short")];
        assert!(AuthConfig::from_source(&short, &anchor)
            .unwrap_err()
            .to_string()
            .starts_with("JWT_SECRET is invalid"));
        let none: [(&str, &str); 0] = [];
        assert_eq!(
            AuthConfig::from_source(&none, &anchor)
                .unwrap_err()
                .to_string(),
            "JWT_SECRET must be set"
        );
    }
}
