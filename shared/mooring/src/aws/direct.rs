//! One-attempt JSON calls to an AWS service without the SDK's orchestrator, for the calls a
//! function makes on almost every request (a listing's Query, SEP-10's replay record).
//!
//! The SDK runs every call through a general machine (interceptors, a config bag, endpoint and
//! auth scheme resolution, retry bookkeeping, its own document model for the JSON): about half
//! of a listing's instructions. A direct call is one signed `POST /` on a kept-alive connection,
//! to the endpoint, in the region and with the credentials of the SDK's configuration, signed by
//! the same cached-key signer. It makes exactly one attempt: what is not a clear answer is
//! [`Unanswered`], and the caller sends the call again through the SDK, whose retries, backoff,
//! clock-skew correction and error classification take over from there.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;

use super::sigv4::KeyCachingSigner;
use crate::config::{ConfigError, Env};

/// A direct call is one attempt; a slow answer is left to the SDK's retries, well within the
/// function's timeout (the SDK gives up after 10 s, see `aws::config_loader`).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// Credentials without an expiry (a Lambda's, from its environment) are resolved again after
/// this long, as the SDK's identity cache does.
const UNDATED_CREDENTIALS_KEPT: Duration = Duration::from_secs(15 * 60);
/// Dated credentials are resolved again this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// Which service, and how its JSON protocol names operations.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// The SigV4 signing name (`dynamodb`).
    pub signing_name: &'static str,
    /// `X-Amz-Target` is this, a dot, then the operation (`DynamoDB_20120810`).
    pub target_prefix: &'static str,
    /// `application/x-amz-json-1.0` or `-1.1`.
    pub content_type: &'static str,
}

/// A call that got no clear answer (a transport error, a timeout, no credentials): send it
/// through the SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unanswered;

/// An answer of the service.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The error type of an error answer (`__type`, without its namespace), if it has one.
    pub fn error_type(&self) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            #[serde(rename = "__type")]
            kind: String,
        }
        let body: ErrorBody = serde_json::from_slice(&self.body).ok()?;
        let kind = body.kind.rsplit('#').next().unwrap_or_default();
        Some(kind.to_owned())
    }
}

/// Direct calls to one endpoint of one service. Cheap to clone; build it once per cold start.
#[derive(Clone)]
pub struct DirectClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    url: String,
    host: String,
    region: String,
    service: Service,
    provider: SharedCredentialsProvider,
    credentials: Mutex<Option<(Credentials, SystemTime)>>,
    signer: KeyCachingSigner,
    /// Set when the service refused a signature: the clock may be off, which only the SDK's
    /// signer corrects, so the SDK makes every call from then on.
    off: AtomicBool,
    /// Calls answered and unanswered, for the tests to see which path a call took.
    answered: AtomicU64,
    unanswered: AtomicU64,
}

impl std::fmt::Debug for DirectClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectClient")
            .field("url", &self.inner.url)
            .field("region", &self.inner.region)
            .field("off", &self.inner.off.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl DirectClient {
    /// Calls to `endpoint` (an `http(s)://authority` URL, as the SDK resolved it for `sdk`) with
    /// `sdk`'s region and credentials; `None` when `sdk` has neither, or the endpoint has a path
    /// (the SDK then makes every call). Fails only on a bad `AWS_CA_BUNDLE`.
    pub fn new(
        sdk: &aws_config::SdkConfig,
        endpoint: &str,
        service: Service,
    ) -> Result<Option<Self>, ConfigError> {
        let (Some(region), Some(provider)) = (sdk.region(), sdk.credentials_provider()) else {
            return Ok(None);
        };
        let url = format!("{}/", endpoint.trim_end_matches('/'));
        let Some(host) = super::sigv4::root_authority(&url).map(str::to_owned) else {
            return Ok(None);
        };
        let mut http = reqwest::Client::builder()
            .connect_timeout(ATTEMPT_TIMEOUT)
            .timeout(ATTEMPT_TIMEOUT)
            // As the SDK's client: no proxy from the environment, only the AWS roots.
            .no_proxy()
            .tls_built_in_root_certs(false);
        for root in super::tls::reqwest_roots(&Env)? {
            http = http.add_root_certificate(root);
        }
        let http = http
            .build()
            .map_err(|error| crate::config::invalid("AWS_ENDPOINT_URL", error))?;
        Ok(Some(Self {
            inner: Arc::new(Inner {
                http,
                url,
                host,
                region: region.as_ref().to_owned(),
                service,
                provider,
                credentials: Mutex::new(None),
                signer: KeyCachingSigner::default(),
                off: AtomicBool::new(false),
                answered: AtomicU64::new(0),
                unanswered: AtomicU64::new(0),
            }),
        }))
    }

    /// One attempt of `operation` with the JSON `body`.
    pub async fn call(&self, operation: &str, body: Vec<u8>) -> Result<Answer, Unanswered> {
        let result = self.attempt(operation, body).await;
        let counter = match result {
            Ok(_) => &self.inner.answered,
            Err(_) => &self.inner.unanswered,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    /// How many calls were answered, and how many not (left to the SDK).
    pub fn calls(&self) -> (u64, u64) {
        (
            self.inner.answered.load(Ordering::Relaxed),
            self.inner.unanswered.load(Ordering::Relaxed),
        )
    }

    async fn attempt(&self, operation: &str, body: Vec<u8>) -> Result<Answer, Unanswered> {
        let inner = &*self.inner;
        if inner.off.load(Ordering::Relaxed) {
            return Err(Unanswered);
        }
        let credentials = self.credentials().await?;
        let target = format!("{}.{operation}", inner.service.target_prefix);
        let headers = [
            ("content-type", inner.service.content_type),
            ("host", inner.host.as_str()),
            ("x-amz-target", target.as_str()),
        ];
        let signature = inner
            .signer
            .sign_post(
                &headers,
                &body,
                &credentials,
                (&inner.region, inner.service.signing_name),
                SystemTime::now(),
            )
            .ok_or(Unanswered)?;
        let mut request = inner.http.post(&inner.url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        for (name, value, sensitive) in signature {
            let mut value = http::HeaderValue::try_from(value).map_err(|_| Unanswered)?;
            value.set_sensitive(sensitive);
            request = request.header(name, value);
        }
        let request = crate::telemetry::with_trace_id(|trace_id| match trace_id {
            Some(trace_id) => request.header("x-amzn-trace-id", trace_id),
            None => request,
        });
        let response = request.body(body).send().await.map_err(|error| {
            tracing::debug!(%error, "direct {operation} unanswered; the SDK sends it");
            Unanswered
        })?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|_| Unanswered)?;
        let answer = Answer {
            status,
            body: body.into(),
        };
        if status != 200 {
            match answer.error_type().as_deref() {
                Some("InvalidSignatureException") => inner.off.store(true, Ordering::Relaxed),
                Some("ExpiredTokenException" | "UnrecognizedClientException") => {
                    *lock(&inner.credentials) = None;
                }
                _ => {}
            }
        }
        Ok(answer)
    }

    /// The credentials to sign with, resolved again when due.
    async fn credentials(&self) -> Result<Credentials, Unanswered> {
        let now = SystemTime::now();
        if let Some((credentials, refresh_at)) = &*lock(&self.inner.credentials) {
            if now < *refresh_at {
                return Ok(credentials.clone());
            }
        }
        let credentials = self
            .inner
            .provider
            .provide_credentials()
            .await
            .map_err(|_| Unanswered)?;
        let refresh_at = match credentials.expiry() {
            Some(expiry) => expiry.checked_sub(REFRESH_BEFORE_EXPIRY).unwrap_or(expiry),
            None => now + UNDATED_CREDENTIALS_KEPT,
        };
        if now >= refresh_at {
            // About to expire: the SDK's provider chain knows best what to do.
            return Err(Unanswered);
        }
        *lock(&self.inner.credentials) = Some((credentials.clone(), refresh_at));
        Ok(credentials)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
pub(crate) mod tests;
