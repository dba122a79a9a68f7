//! Client-domain attestation: fetching a wallet's stellar.toml for its SIGNING_KEY, safely
//! (https only, timeout, size cap, no connections to private addresses, bounded redirects).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::limits::MAX_STELLAR_TOML_BYTES as MAX_TOML_BYTES;
use crate::outbound::{is_private_literal, PublicAddressesOnly};
use crate::stellar::AccountId;

const MAX_REDIRECTS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientDomainError {
    #[error("could not fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("{url} is not valid TOML")]
    InvalidToml { url: String },
    #[error("{url} has no valid SIGNING_KEY")]
    NoSigningKey { url: String },
}

/// Finds the SIGNING_KEY a client domain publishes.
pub trait ClientDomainResolver: Send + Sync {
    fn signing_key(
        &self,
        domain: &str,
    ) -> impl Future<Output = Result<AccountId, ClientDomainError>> + Send;
}

/// Fixed domain → key answers, for tests.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default, Clone)]
pub struct InMemoryClientDomains(pub std::collections::HashMap<String, AccountId>);

#[cfg(any(test, feature = "testing"))]
impl ClientDomainResolver for InMemoryClientDomains {
    async fn signing_key(&self, domain: &str) -> Result<AccountId, ClientDomainError> {
        self.0
            .get(domain)
            .copied()
            .ok_or_else(|| ClientDomainError::Fetch {
                url: toml_url("https", domain),
                reason: "no such domain".into(),
            })
    }
}

/// Fetches `https://<domain>/.well-known/stellar.toml`.
#[derive(Debug, Clone)]
pub struct HttpClientDomainResolver {
    client: reqwest::Client,
    scheme: &'static str,
}

impl HttpClientDomainResolver {
    /// `allow_insecure` (development only) uses plain http and permits loopback/private hosts.
    pub fn new(timeout: Duration, allow_insecure: bool) -> Result<Self, reqwest::Error> {
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if !allow_insecure && attempt.url().scheme() != "https" {
                attempt.error("redirect to a non-https URL")
            } else if !allow_insecure && attempt.url().host_str().is_some_and(is_private_literal) {
                attempt.error("redirect to a private address")
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(redirects)
            .no_proxy()
            .user_agent(concat!("mooring/", env!("CARGO_PKG_VERSION")));
        if !allow_insecure {
            builder = builder
                .https_only(true)
                .dns_resolver(Arc::new(PublicAddressesOnly));
        }
        let client = builder.build()?;
        Ok(Self {
            client,
            scheme: if allow_insecure { "http" } else { "https" },
        })
    }
}

impl ClientDomainResolver for HttpClientDomainResolver {
    async fn signing_key(&self, domain: &str) -> Result<AccountId, ClientDomainError> {
        let url = toml_url(self.scheme, domain);
        let fetch_error = |reason: String| ClientDomainError::Fetch {
            url: url.clone(),
            reason,
        };
        if self.scheme == "https"
            && is_private_literal(domain.rsplit_once(':').map_or(domain, |(h, _)| h))
        {
            return Err(fetch_error("private address".into()));
        }
        let mut response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| fetch_error(public_reason(&e)))?;
        if !response.status().is_success() {
            return Err(fetch_error(format!("HTTP {}", response.status().as_u16())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| fetch_error(public_reason(&e)))?
        {
            if body.len() + chunk.len() > MAX_TOML_BYTES {
                return Err(fetch_error("stellar.toml is larger than 100 KB".into()));
            }
            body.extend_from_slice(&chunk);
        }
        signing_key_from_toml(&body).map_err(|e| match e {
            TomlProblem::Invalid => ClientDomainError::InvalidToml { url: url.clone() },
            TomlProblem::NoKey => ClientDomainError::NoSigningKey { url: url.clone() },
        })
    }
}

/// Why a client domain's stellar.toml gave no SIGNING_KEY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TomlProblem {
    Invalid,
    NoKey,
}

/// The SIGNING_KEY of a fetched stellar.toml (untrusted bytes, at most 100 KB).
pub fn signing_key_from_toml(body: &[u8]) -> Result<AccountId, TomlProblem> {
    let text = std::str::from_utf8(body).map_err(|_| TomlProblem::Invalid)?;
    let table: toml::Table = text.parse().map_err(|_| TomlProblem::Invalid)?;
    table
        .get("SIGNING_KEY")
        .and_then(|v| v.as_str())
        .and_then(|v| v.trim().parse().ok())
        .ok_or(TomlProblem::NoKey)
}

fn toml_url(scheme: &str, domain: &str) -> String {
    format!("{scheme}://{domain}/.well-known/stellar.toml")
}

/// A short reason for the caller; the full cause goes to the log only, so the answer cannot be
/// used to probe what lies behind a host.
fn public_reason(error: &reqwest::Error) -> String {
    tracing::info!(error = ?error, "client_domain fetch failed");
    let reason = if error.is_timeout() {
        "timed out"
    } else if error.is_redirect() {
        "redirect refused"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    reason.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_signing_key() {
        let key = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";
        let toml = format!("VERSION=\"2.0.0\"\nSIGNING_KEY=\"{key}\"\n");
        assert_eq!(
            signing_key_from_toml(toml.as_bytes())
                .ok()
                .map(|k| k.to_string()),
            Some(key.into())
        );
        assert!(matches!(
            signing_key_from_toml(b"SIGNING_KEY=\"GBAD\""),
            Err(TomlProblem::NoKey)
        ));
        assert!(matches!(
            signing_key_from_toml(b"not = = toml"),
            Err(TomlProblem::Invalid)
        ));
    }
}
