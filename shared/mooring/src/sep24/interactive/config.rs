//! The settings of the interactive flow, read once per cold start.

use crate::auth::AuthConfig;
use crate::config::{AnchorConfig, ConfigError, Secret, Sep24Config, Source};

/// Settings of the interactive flow, read once per cold start.
#[derive(Debug, Clone)]
pub struct InteractiveConfig {
    pub anchor: AnchorConfig,
    /// `JWT_SECRET`: the link, session and CSRF keys derive from it.
    pub jwt_secret: Secret,
    /// `INTERACTIVE_TOKEN_SECONDS`, `INTERACTIVE_SESSION_SECONDS`.
    pub sep24: Sep24Config,
    /// Whether the session cookie is `Secure`: `PUBLIC_URL` is https.
    pub secure_cookie: bool,
}

impl InteractiveConfig {
    /// Reads the interactive flow's settings; the anchor's are parsed once per cold start, by
    /// the caller.
    pub fn from_source(src: &impl Source, anchor: AnchorConfig) -> Result<Self, ConfigError> {
        let auth = AuthConfig::from_source(src, &anchor)?;
        let sep24 = Sep24Config::from_source(src)?;
        Ok(Self {
            secure_cookie: anchor.serves_https(),
            anchor,
            jwt_secret: auth.jwt_secret,
            sep24,
        })
    }
}
