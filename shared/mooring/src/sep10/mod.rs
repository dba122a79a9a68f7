//! SEP-10 Stellar Web Authentication: challenges, their verification, and the JWT.
//!
//! [`WebAuth`] is the domain service; [`routes`] is its HTTP glue.

mod challenge;
mod client_domain;
mod jwt;
pub mod routes;
mod verify;

use std::sync::Arc;

pub use challenge::{build_challenge, Challenge, ChallengeRequest, ChallengeSpec};
#[cfg(any(test, feature = "testing"))]
pub use client_domain::InMemoryClientDomains;
/// Whether an address is globally routable (also guards the SEP-24 wallet callbacks).
pub use client_domain::{
    signing_key_from_toml, ClientDomainError, ClientDomainResolver, HttpClientDomainResolver,
    TomlProblem,
};
pub use jwt::{Claims, JwtError, JwtKeys, WebAuthUser};
pub use verify::Token;

use crate::clock::Clock;
use crate::config::{AnchorConfig, Sep10Config};
use crate::error::ApiError;
use crate::horizon::{Horizon, HorizonError};
use crate::store::{ChallengeStore, StoreError};

/// Clients' clocks may run up to this far behind ours (as the reference SDKs allow).
pub const CLOCK_SKEW_SECONDS: u64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum Sep10Error {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidChallenge(String),
    #[error("client_domain could not be verified: {0}")]
    ClientDomain(#[from] ClientDomainError),
    #[error("could not read the client account from Horizon")]
    Horizon(#[from] HorizonError),
    #[error("could not record the challenge")]
    Store(#[from] StoreError),
    /// The SEP-10 key could not sign (its key service is unreachable or misbehaves).
    #[error("could not sign the challenge: {0}")]
    Signer(#[from] crate::stellar::SignerError),
    #[error("{0}")]
    Internal(String),
}

impl From<Sep10Error> for ApiError {
    fn from(error: Sep10Error) -> Self {
        match error {
            Sep10Error::Horizon(cause) => ApiError::Unavailable {
                public: "could not read the client account from Horizon; try again".into(),
                cause: cause.to_string(),
            },
            Sep10Error::Store(cause) => ApiError::Unavailable {
                public: "could not record the challenge; try again".into(),
                cause: cause.to_string(),
            },
            Sep10Error::Signer(cause) => ApiError::Unavailable {
                public: "could not sign the challenge; try again".into(),
                cause: cause.to_string(),
            },
            Sep10Error::Internal(cause) => ApiError::Internal(cause),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

/// The SEP-10 service: issues challenges and exchanges signed ones for JWTs, each challenge at
/// most once (its hash is recorded in `challenges` until it expires).
pub struct WebAuth<H, C, R> {
    anchor: AnchorConfig,
    config: Sep10Config,
    jwt: JwtKeys,
    horizon: H,
    client_domains: C,
    challenges: R,
    clock: Arc<dyn Clock>,
}

/// The ports SEP-10 talks to.
pub struct Ports<H, C, R> {
    pub horizon: H,
    pub client_domains: C,
    pub challenges: R,
    pub clock: Arc<dyn Clock>,
}

impl<H: Horizon, C: ClientDomainResolver, R: ChallengeStore> WebAuth<H, C, R> {
    pub fn new(anchor: AnchorConfig, config: Sep10Config, ports: Ports<H, C, R>) -> Self {
        let jwt = crate::config::PreviousJwtSecret::keys(
            config.jwt_previous.as_ref(),
            &config.jwt_secret,
            anchor.web_auth_endpoint(),
        );
        Self {
            anchor,
            config,
            jwt,
            horizon: ports.horizon,
            client_domains: ports.client_domains,
            challenges: ports.challenges,
            clock: ports.clock,
        }
    }

    pub fn jwt(&self) -> &JwtKeys {
        &self.jwt
    }

    pub fn network_passphrase(&self) -> &str {
        self.anchor.network.passphrase()
    }
}
