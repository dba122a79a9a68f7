//! The settings of the interactive flow, read once per cold start.

use std::time::Duration;

use crate::auth::AuthConfig;
use crate::config::{AnchorConfig, ConfigError, Secret, Sep24Config, Source};
use crate::stellar::Keypair;

/// Settings of the interactive flow, read once per cold start.
#[derive(Debug, Clone)]
pub struct InteractiveConfig {
    pub anchor: AnchorConfig,
    /// `JWT_SECRET`: the link, session and CSRF keys derive from it.
    pub jwt_secret: Secret,
    /// `INTERACTIVE_TOKEN_SECONDS`, `INTERACTIVE_SESSION_SECONDS`.
    pub sep24: Sep24Config,
    /// `SIGNING_SEED`, which signs URL callbacks; without it they are not sent.
    pub signing_key: Option<Keypair>,
    /// `SEP24_CALLBACK_TIMEOUT_MS` (default 3000).
    pub callback_timeout: Duration,
    /// `SEP24_CALLBACK_ALLOW_INSECURE` (default false; development only): callbacks may go to
    /// plain http and to private or loopback addresses.
    pub callback_allow_insecure: bool,
    /// Whether the session cookie is `Secure`: `PUBLIC_URL` is https.
    pub secure_cookie: bool,
}

impl InteractiveConfig {
    /// Reads the interactive flow's settings; the anchor's are parsed once per cold start, by
    /// the caller.
    pub fn from_source(src: &impl Source, anchor: AnchorConfig) -> Result<Self, ConfigError> {
        let auth = AuthConfig::from_source(src, &anchor)?;
        let sep24 = Sep24Config::from_source(src)?;
        let signing_key = match src.get("SIGNING_SEED") {
            None => None,
            Some(seed) => {
                let pair = Keypair::from_secret_seed(&seed).map_err(|e| ConfigError::Invalid {
                    name: "SIGNING_SEED",
                    reason: e.to_string(),
                })?;
                if pair.account_id() != anchor.signing_account {
                    return Err(ConfigError::Invalid {
                        name: "SIGNING_SEED",
                        reason: "does not match SIGNING_KEY".into(),
                    });
                }
                Some(pair)
            }
        };
        let timeout_ms: u64 = match src.get("SEP24_CALLBACK_TIMEOUT_MS") {
            None => 3_000,
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|ms| *ms > 0)
                .ok_or(ConfigError::Invalid {
                    name: "SEP24_CALLBACK_TIMEOUT_MS",
                    reason: "must be a positive number of milliseconds".into(),
                })?,
        };
        let callback_allow_insecure = match src.get("SEP24_CALLBACK_ALLOW_INSECURE") {
            None => false,
            Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "SEP24_CALLBACK_ALLOW_INSECURE",
                reason: "must be true or false".into(),
            })?,
        };
        Ok(Self {
            secure_cookie: anchor.serves_https(),
            anchor,
            jwt_secret: auth.jwt_secret,
            sep24,
            signing_key,
            callback_timeout: Duration::from_millis(timeout_ms),
            callback_allow_insecure,
        })
    }
}
