//! The callback sender (SQS, the callbacks queue): signs (with the SEP-10 key, a seed or a key
//! in KMS) and POSTs each queued callback ([`Deliverer`]). A failed delivery (unreachable, timeout, not 2xx) is delivered again after
//! an exponential backoff (the message's visibility is set to it), until the queue's
//! `maxReceiveCount` moves it to the dead-letter queue. A callback that can never be delivered
//! (an unreadable message, a URL we refuse to call) is logged and acknowledged.

use std::sync::Arc;

use mooring::clock::Clock;
use mooring::config::{local_signing_key, AnchorConfig, Source};
use mooring::queue::Redelivery;
use mooring::startup::StartupError;
use mooring::status_callbacks::delivery::{Deliverer, Delivery};
use mooring::stellar::Signer;
use mooring::transfer::callback::{CallbackSender, CallbackSettings, HttpCallbackSender};

pub use mooring::queue::sqs_event::{SqsBatchResponse, SqsEvent, SqsRecord};

pub struct Service<C, R> {
    deliverer: Deliverer<C>,
    redelivery: Arc<R>,
}

impl<C: CallbackSender, R: Redelivery> Service<C, R> {
    pub fn new(deliverer: Deliverer<C>, redelivery: Arc<R>) -> Self {
        Self {
            deliverer,
            redelivery,
        }
    }
}

/// Builds the sender (once per cold start) with the SEP-10 key as a local seed (`SIGNING_SEED`,
/// required here: it signs every callback; it must match `SIGNING_KEY`): the tools' and tests'
/// form of [`service_with_signer`].
pub fn service<R: Redelivery>(
    settings: &impl Source,
    redelivery: Arc<R>,
    clock: Arc<dyn Clock>,
) -> Result<Service<HttpCallbackSender, R>, StartupError> {
    let anchor = AnchorConfig::from_source(settings)?;
    let signer = local_signing_key(settings, &anchor)?;
    service_with_signer(settings, redelivery, clock, signer)
}

/// Builds the sender with the SEP-10 key already connected (a seed, or a key in KMS:
/// `mooring::config::connect_signing_key`), `SEP24_CALLBACK_TIMEOUT_MS` and
/// `SEP24_CALLBACK_ALLOW_INSECURE`.
pub fn service_with_signer<R: Redelivery>(
    settings: &impl Source,
    redelivery: Arc<R>,
    clock: Arc<dyn Clock>,
    signer: Arc<dyn Signer>,
) -> Result<Service<HttpCallbackSender, R>, StartupError> {
    let anchor = AnchorConfig::from_source(settings)?;
    let callbacks = CallbackSettings::from_source(settings, &anchor)?;
    let sender = HttpCallbackSender::from_settings(&callbacks)?;
    Ok(Service::new(
        Deliverer::new(sender, signer, clock),
        redelivery,
    ))
}

/// Delivers a batch, one callback after the other. Answers the messages to deliver again,
/// each hidden for its backoff first.
pub async fn handle<C: CallbackSender, R: Redelivery>(
    service: &Service<C, R>,
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut failed = Vec::new();
    mooring::queue::sqs_event::note_received(&event.records);
    for record in event.records {
        let attempt = record.receive_count();
        match service.deliverer.deliver(&record.body, attempt).await {
            Delivery::Delivered => {}
            Delivery::Dropped(reason) => {
                tracing::error!(message_id = %record.message_id, %reason,
                    "a callback that can never be delivered; acknowledged");
            }
            Delivery::Retry { after_secs, .. } => {
                if let Err(error) = service
                    .redelivery
                    .redeliver_after(&record.receipt_handle, after_secs)
                    .await
                {
                    // It comes back after the queue's visibility timeout instead.
                    tracing::warn!(message_id = %record.message_id, %error,
                        "could not set the callback's backoff");
                }
                failed.push(record.message_id);
            }
        }
    }
    SqsBatchResponse::failed(failed)
}
