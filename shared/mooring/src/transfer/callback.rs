//! Wallet callbacks by URL: the URL a wallet may give ([`parse_callback_url`]), the signature
//! (digest 5.6, [`sign_callback_with`]) and the port that posts ([`CallbackSender`]) so tests capture
//! the request. The HTTP adapter ([`HttpCallbackSender`]) never follows redirects, has a short
//! timeout, and refuses plain http and private or loopback addresses unless the operator allows
//! them for development (`SEP24_CALLBACK_ALLOW_INSECURE`).
//!
//! Only the callback sender posts callbacks ([`crate::status_callbacks`]): the request handlers
//! and workers write the transaction, and the table's stream carries the change to it.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::config::{AnchorConfig, ConfigError, Source};
use crate::outbound::{is_public, PublicAddressesOnly};
use crate::stellar::{sign_checked, Keypair, Signer, SignerError};

/// How the callback sender signs and posts callbacks, read once per cold start.
#[derive(Debug, Clone)]
pub struct CallbackSettings {
    /// `SIGNING_SEED`, which signs callbacks; without it they are not sent.
    pub signing_key: Option<Keypair>,
    /// `SEP24_CALLBACK_TIMEOUT_MS` (default 3000).
    pub timeout: Duration,
    /// `SEP24_CALLBACK_ALLOW_INSECURE` (default false; development only): callbacks may go to
    /// plain http and to private or loopback addresses.
    pub allow_insecure: bool,
}

impl CallbackSettings {
    pub fn from_source(src: &impl Source, anchor: &AnchorConfig) -> Result<Self, ConfigError> {
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
        let allow_insecure = match src.get("SEP24_CALLBACK_ALLOW_INSECURE") {
            None => false,
            Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "SEP24_CALLBACK_ALLOW_INSECURE",
                reason: "must be true or false".into(),
            })?,
        };
        Ok(Self {
            signing_key,
            timeout: Duration::from_millis(timeout_ms),
            allow_insecure,
        })
    }
}

/// A callback ready to send: where, the exact body, and the `Signature` header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCallback {
    pub url: url::Url,
    pub body: String,
    /// `t=<unix seconds>, s=<base64 signature>`, sent as `Signature` and `X-Stellar-Signature`.
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("callback refused: {0}")]
    Refused(String),
    #[error("callback failed: {0}")]
    Failed(String),
}

/// Sends wallet callbacks.
pub trait CallbackSender: Send + Sync {
    fn send(
        &self,
        callback: &SignedCallback,
    ) -> impl Future<Output = Result<(), CallbackError>> + Send;
}

/// Signs `body` for `url` at `now` (digest 5.6): ed25519 over `<t>.<host>.<body>`, with the
/// SEP-10 key, local or in KMS. A key in KMS signs at most 4096 bytes (`RAW` messages), so a
/// larger callback is refused with [`SignerError::MessageTooLong`]: it can never be signed there.
pub async fn sign_callback_with(
    signer: &dyn Signer,
    url: url::Url,
    body: String,
    now: u64,
) -> Result<SignedCallback, SignerError> {
    let signature = sign_checked(signer, callback_payload(&url, &body, now).as_bytes()).await?;
    Ok(signed_callback(url, body, now, &signature))
}

/// What a callback's signature covers (digest 5.6): `<t>.<host>.<body>`.
fn callback_payload(url: &url::Url, body: &str, now: u64) -> String {
    let host = url.host_str().unwrap_or_default();
    format!("{now}.{host}.{body}")
}

fn signed_callback(url: url::Url, body: String, now: u64, signature: &[u8; 64]) -> SignedCallback {
    SignedCallback {
        signature: format!("t={now}, s={}", STANDARD.encode(signature)),
        url,
        body,
    }
}

/// A callback URL a wallet may give: absolute http(s) with a host, no credentials, at most
/// [`crate::limits::MAX_URL_BYTES`].
pub fn parse_callback_url(value: &str) -> Option<url::Url> {
    if value.len() > crate::limits::MAX_URL_BYTES {
        return None;
    }
    let url = url::Url::parse(value).ok()?;
    (matches!(url.scheme(), "https" | "http")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none())
    .then_some(url)
}

/// Records callbacks instead of sending them (tests).
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
pub struct RecordingCallbacks {
    sent: std::sync::Mutex<Vec<SignedCallback>>,
}

#[cfg(any(test, feature = "testing"))]
impl RecordingCallbacks {
    pub fn sent(&self) -> Vec<SignedCallback> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(any(test, feature = "testing"))]
impl CallbackSender for RecordingCallbacks {
    async fn send(&self, callback: &SignedCallback) -> Result<(), CallbackError> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(callback.clone());
        Ok(())
    }
}

impl<T: CallbackSender + ?Sized> CallbackSender for Arc<T> {
    fn send(
        &self,
        callback: &SignedCallback,
    ) -> impl Future<Output = Result<(), CallbackError>> + Send {
        T::send(self, callback)
    }
}

/// Posts callbacks over HTTPS to public addresses only.
#[derive(Debug, Clone)]
pub struct HttpCallbackSender {
    client: reqwest::Client,
    allow_insecure: bool,
}

impl HttpCallbackSender {
    /// The sender the settings describe (`SEP24_CALLBACK_TIMEOUT_MS`,
    /// `SEP24_CALLBACK_ALLOW_INSECURE`).
    pub fn from_settings(settings: &CallbackSettings) -> Result<Self, reqwest::Error> {
        Self::new(settings.timeout, settings.allow_insecure)
    }

    /// `allow_insecure` (development only) permits plain http and loopback/private hosts.
    pub fn new(timeout: Duration, allow_insecure: bool) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
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
            allow_insecure,
        })
    }
}

impl CallbackSender for HttpCallbackSender {
    async fn send(&self, callback: &SignedCallback) -> Result<(), CallbackError> {
        let url = &callback.url;
        if !self.allow_insecure {
            if url.scheme() != "https" {
                return Err(CallbackError::Refused("not an https URL".into()));
            }
            let private = match url.host() {
                Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
                Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
                None => true,
            };
            if private {
                return Err(CallbackError::Refused("a private address".into()));
            }
        }
        let response = self
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("signature", &callback.signature)
            .header("x-stellar-signature", &callback.signature)
            .body(callback.body.clone())
            .send()
            .await
            .map_err(|e| {
                let reason = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                tracing::debug!(error = ?e, "callback request");
                CallbackError::Failed(reason.into())
            })?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(CallbackError::Failed(format!(
                "HTTP {}",
                response.status().as_u16()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_signature_covers_time_host_and_body() {
        let signer = Keypair::from_seed_bytes([3; 32]);
        let url = parse_callback_url("https://wallet.example:8443/cb?x=1").expect("url");
        let body = r#"{"transaction":{"id":"1"}}"#.to_owned();
        let signed = sign_callback_with(&signer, url, body.clone(), 1_700_000_000)
            .await
            .expect("a local key signs");
        let (t, s) = signed
            .signature
            .strip_prefix("t=")
            .and_then(|rest| rest.split_once(", s="))
            .expect("format");
        assert_eq!(t, "1700000000");
        let signature = STANDARD.decode(s).expect("base64");
        let message = format!("1700000000.wallet.example.{body}");
        assert!(signer.account_id().verify(message.as_bytes(), &signature));
        assert!(!signer.account_id().verify(
            format!("1700000000.other.example.{body}").as_bytes(),
            &signature
        ));
    }

    #[test]
    fn only_plain_web_urls_are_callbacks() {
        assert!(parse_callback_url("https://wallet.example/cb").is_some());
        assert!(parse_callback_url("http://localhost:9000/cb").is_some());
        for bad in [
            "postMessage",
            "javascript:alert(1)",
            "ftp://x.example/",
            "https://u:p@x.example/",
            "/relative",
        ] {
            assert!(parse_callback_url(bad).is_none(), "{bad}");
        }
    }

    #[tokio::test]
    async fn the_http_sender_refuses_private_and_plain_http_targets() {
        let sender = HttpCallbackSender::new(Duration::from_secs(1), false).expect("client");
        let signer = Keypair::from_seed_bytes([3; 32]);
        for target in [
            "http://wallet.example/cb",
            "https://127.0.0.1/cb",
            "https://[::1]/cb",
            "https://10.0.0.8/cb",
            "https://169.254.169.254/latest",
            "https://localhost/cb",
        ] {
            let url = parse_callback_url(target).expect("url");
            let signed = sign_callback_with(&signer, url, "{}".into(), 1)
                .await
                .expect("a local key signs");
            assert!(
                matches!(sender.send(&signed).await, Err(CallbackError::Refused(_))),
                "{target}"
            );
        }
    }
}
