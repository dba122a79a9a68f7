//! Delivering one queued callback (the callback sender): signed when it is posted (digest 5.6),
//! retried with exponential backoff until the receiver answers 2xx.

use std::sync::Arc;

use super::{DueCallback, Subject};
use crate::clock::Clock;
use crate::metrics::Metric;
use crate::stellar::{Signer, SignerError};
use crate::transfer::callback::{
    parse_callback_url, sign_callback_with, CallbackError, CallbackSender,
};

/// Deliveries of one callback before the queue moves it to its dead-letter queue (the callbacks
/// queue's `maxReceiveCount` in template.yaml): with [`backoff`], about an hour and a half.
pub const MAX_ATTEMPTS: u32 = 10;

/// The first retry's delay, doubled for each further one up to [`MAX_BACKOFF_SECS`].
pub const FIRST_BACKOFF_SECS: u32 = 15;
pub const MAX_BACKOFF_SECS: u32 = 900;

/// How long to wait before delivering again after failed delivery number `attempt` (1-based):
/// 15 s, 30 s, 1 min, 2 min, 4 min, 8 min, then 15 min.
pub fn backoff(attempt: u32) -> u32 {
    let doublings = attempt.saturating_sub(1).min(16);
    FIRST_BACKOFF_SECS
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF_SECS)
}

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The receiver answered 2xx.
    Delivered,
    /// Can never be delivered (an unreadable message, a URL we refuse to call, a callback
    /// larger than a key in KMS signs): acknowledged, and logged as an error for the operator.
    Dropped(String),
    /// Failed for now (unreachable, timeout, not 2xx): deliver again after `after_secs`.
    Retry { after_secs: u32, reason: String },
}

/// Signs and posts callbacks, built once per cold start.
pub struct Deliverer<C> {
    sender: C,
    /// The SEP-10 key (`SIGNING_KEY`), a local seed or a key in KMS.
    signer: Arc<dyn Signer>,
    clock: Arc<dyn Clock>,
}

impl<C: CallbackSender> Deliverer<C> {
    pub fn new(sender: C, signer: Arc<dyn Signer>, clock: Arc<dyn Clock>) -> Self {
        Self {
            sender,
            signer,
            clock,
        }
    }

    /// Delivers a queued message (`attempt`: its receive count, 1 the first time).
    /// Counts it delivered or failed (`CallbacksDelivered`, `CallbacksFailed`), and logs in a
    /// span naming the transaction (or customer) it is about.
    pub async fn deliver(&self, message: &str, attempt: u32) -> Delivery {
        use tracing::Instrument;

        let callback = match DueCallback::from_json(message) {
            Ok(callback) => callback,
            Err(error) => {
                crate::metrics::count(Metric::CallbacksFailed, &[]);
                return Delivery::Dropped(format!("an unreadable callback: {error}"));
            }
        };
        let span = match callback.subject {
            Subject::Transaction => {
                tracing::info_span!("callback", transaction_id = %callback.id)
            }
            Subject::Customer => tracing::info_span!("callback", customer_id = %callback.id),
        };
        let delivery = self.post(callback, attempt).instrument(span).await;
        let metric = match delivery {
            Delivery::Delivered => Metric::CallbacksDelivered,
            Delivery::Dropped(_) | Delivery::Retry { .. } => Metric::CallbacksFailed,
        };
        crate::metrics::count(metric, &[]);
        delivery
    }

    async fn post(&self, callback: DueCallback, attempt: u32) -> Delivery {
        let Some(url) = parse_callback_url(&callback.url) else {
            return Delivery::Dropped("not a callback URL".into());
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        let id = callback.id.as_str();
        let version = callback.version;
        let now = self.clock.now();
        let signed = match sign_callback_with(self.signer.as_ref(), url, callback.body, now).await {
            Ok(signed) => signed,
            Err(error) => return signing_failed(error, id, version, &host, attempt),
        };
        match self.sender.send(&signed).await {
            Ok(()) => {
                tracing::info!(id, version, %host, attempt, "callback delivered");
                Delivery::Delivered
            }
            Err(CallbackError::Refused(reason)) => {
                tracing::error!(id, version, %host, %reason, "callback dropped");
                Delivery::Dropped(reason)
            }
            Err(CallbackError::Failed(reason)) => {
                let after_secs = backoff(attempt);
                tracing::warn!(id, version, %host, attempt, %reason, after_secs,
                    "callback failed; it will be retried");
                Delivery::Retry { after_secs, reason }
            }
        }
    }
}

/// A callback the key could not sign. One the key service never signs (larger than KMS's 4096
/// bytes, or a key that cannot sign) is dropped; one it could not sign for now (unreachable,
/// throttled, a signature that does not verify) is delivered again after its backoff.
fn signing_failed(
    error: SignerError,
    id: &str,
    version: u64,
    host: &str,
    attempt: u32,
) -> Delivery {
    let reason = format!("could not sign the callback: {error}");
    match error {
        SignerError::MessageTooLong { .. } | SignerError::InvalidKey(_) => {
            tracing::error!(id, version, %host, %reason, "callback dropped: it can never be signed");
            Delivery::Dropped(reason)
        }
        SignerError::Unavailable(_) | SignerError::BadSignature => {
            let after_secs = backoff(attempt);
            tracing::warn!(id, version, %host, attempt, %reason, after_secs,
                "callback not signed; it will be retried");
            Delivery::Retry { after_secs, reason }
        }
    }
}
