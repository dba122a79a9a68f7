//! The callback sender's Lambda handler: an SQS batch of queued callbacks as Lambda delivers it.
//! Delivered and undeliverable callbacks are acknowledged; a failed one is hidden for its
//! backoff (by its receive count) and delivered again; the function refuses to start without
//! the key that signs callbacks; a key in KMS cannot sign a callback above 4096 bytes, which is
//! acknowledged rather than retried forever.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use callback_sender::{handle, Service, SqsEvent};
use mooring::clock::{Clock, FixedClock};
use mooring::queue::InMemoryBodyQueue;
use mooring::status_callbacks::delivery::Deliverer;
use mooring::status_callbacks::{DueCallback, Subject};
use mooring::stellar::{FakeKeyService, Keypair, Network};
use mooring::transfer::callback::{CallbackError, CallbackSender, SignedCallback};
use serde_json::json;

const NOW: u64 = 1_700_000_000;

/// Answers 503 for one host, 2xx for the others; records what it was sent.
#[derive(Default)]
struct Wallets(Mutex<Vec<SignedCallback>>);

impl CallbackSender for Wallets {
    async fn send(&self, callback: &SignedCallback) -> Result<(), CallbackError> {
        if callback.url.host_str() == Some("down.example") {
            return Err(CallbackError::Failed("HTTP 503".into()));
        }
        self.0.lock().expect("lock").push(callback.clone());
        Ok(())
    }
}

fn callback(url: &str) -> String {
    DueCallback {
        subject: Subject::Transaction,
        id: "t-1".into(),
        version: 4,
        url: url.into(),
        body: r#"{"transaction":{"id":"t-1","status":"completed"}}"#.into(),
    }
    .to_json()
}

fn message(id: &str, body: &str, receive_count: u32) -> serde_json::Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("receipt-{id}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": receive_count.to_string()},
        "eventSource": "aws:sqs",
    })
}

#[tokio::test]
async fn failed_callbacks_back_off_and_the_others_are_acknowledged() {
    let wallets = Arc::new(Wallets::default());
    let queue = Arc::new(InMemoryBodyQueue::default());
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(NOW));
    let service = Service::new(
        Deliverer::new(
            wallets.clone(),
            Arc::new(Keypair::from_seed_bytes([1; 32])),
            clock,
        ),
        queue.clone(),
    );
    let event: SqsEvent = serde_json::from_value(json!({"Records": [
        message("m1", &callback("https://wallet.example/cb"), 1),
        message("m2", &callback("https://down.example/cb"), 3),
        message("m3", "garbage", 1),
    ]}))
    .expect("an SQS event");
    let answer = handle(&service, event).await;
    assert_eq!(answer.failed_ids(), ["m2"]);
    assert_eq!(
        queue.delays(),
        [("receipt-m2".to_owned(), 60)],
        "third delivery: 1 min"
    );
    let sent = wallets.0.lock().expect("lock").clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body,
        r#"{"transaction":{"id":"t-1","status":"completed"}}"#
    );
    assert!(sent[0].signature.starts_with(&format!("t={NOW}, s=")));
}

#[test]
fn the_signing_seed_is_required() {
    let seed = Keypair::from_seed_bytes([1; 32]);
    let mut settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &seed.account_id().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(NOW));
    let queue = Arc::new(InMemoryBodyQueue::default());
    let error = callback_sender::service(&settings, queue.clone(), clock.clone())
        .err()
        .expect("refused");
    assert!(error.to_string().contains("SIGNING_SEED"), "{error}");
    settings.insert("SIGNING_SEED".into(), seed.secret_seed().to_string());
    assert!(callback_sender::service(&settings, queue, clock).is_ok());
}

#[tokio::test]
async fn with_the_key_in_kms_a_callback_too_large_to_sign_is_acknowledged_not_retried() {
    let key = Keypair::from_seed_bytes([1; 32]);
    let settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &key.account_id().to_string()),
        ("SIGNING_KMS_KEY_ID", "alias/sep10"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(NOW));
    let queue = Arc::new(InMemoryBodyQueue::default());
    // The local form refuses a key in KMS; the function connects it first.
    assert!(callback_sender::service(&settings, queue.clone(), clock.clone()).is_err());
    let kms = Arc::new(FakeKeyService::new(key));
    let service =
        callback_sender::service_with_signer(&settings, queue.clone(), clock, kms).expect("starts");
    let huge = DueCallback {
        subject: Subject::Transaction,
        id: "t-2".into(),
        version: 1,
        // Never called: the callback cannot be signed, so it is not sent.
        url: "https://wallet.example/cb".into(),
        body: format!(
            r#"{{"transaction":{{"id":"t-2","message":"{}"}}}}"#,
            "x".repeat(5000)
        ),
    }
    .to_json();
    let event: SqsEvent =
        serde_json::from_value(json!({"Records": [message("m1", &huge, 1)]})).expect("an event");
    let answer = handle(&service, event).await;
    assert!(answer.failed_ids().is_empty(), "acknowledged, not retried");
    assert!(queue.delays().is_empty());
}
