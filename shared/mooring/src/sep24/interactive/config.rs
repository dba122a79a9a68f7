//! The settings of the interactive flow, read once per cold start.

use std::time::Duration;

use crate::auth::AuthConfig;
use crate::config::{AnchorConfig, ConfigError, Secret, Sep24Config, Source};
use crate::stellar::Keypair;
use crate::transfer::callback::CallbackSettings;

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
        let callbacks = CallbackSettings::from_source(src, &anchor)?;
        Ok(Self {
            secure_cookie: anchor.serves_https(),
            anchor,
            jwt_secret: auth.jwt_secret,
            sep24,
            signing_key: callbacks.signing_key,
            callback_timeout: callbacks.timeout,
            callback_allow_insecure: callbacks.allow_insecure,
        })
    }
}
