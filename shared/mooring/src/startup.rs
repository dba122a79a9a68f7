//! Why a function could not start: one error for everything a cold start builds (settings,
//! the anchor's integration, clients of other services). The function logs it, naming the
//! setting at fault, and does not serve.

use crate::config::ConfigError;
use crate::horizon::HorizonError;
use crate::integrations::SetupError;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is missing or invalid (the message names it).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The anchor's integration (`register_integrations`) could not be built.
    #[error(transparent)]
    Integration(#[from] SetupError),
    /// The Horizon client could not be built from `HORIZON_URL`.
    #[error("Horizon client: {0}")]
    Horizon(#[from] HorizonError),
    /// An HTTP client (client-domain lookups, wallet callbacks) could not be built.
    #[error("HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
    /// stellar.toml could not be rendered from the configuration.
    #[error("stellar.toml: {0}")]
    StellarToml(#[from] toml::ser::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_setting_at_fault() {
        let config: StartupError = ConfigError::Missing("JWT_SECRET").into();
        assert_eq!(config.to_string(), "JWT_SECRET must be set");
        let integration: StartupError = SetupError::from(ConfigError::Invalid {
            name: "DEMO_BANK_URL",
            reason: "an http(s) URL is required".into(),
        })
        .into();
        assert_eq!(
            integration.to_string(),
            "DEMO_BANK_URL is invalid: an http(s) URL is required"
        );
    }
}
