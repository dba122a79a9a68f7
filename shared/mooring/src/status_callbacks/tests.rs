//! The callback pipeline end to end on the in-memory adapters: writes → the store's change
//! stream → the dispatcher → the callbacks queue → the deliverer → the receiver.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::delivery::{backoff, Deliverer, Delivery, MAX_BACKOFF_SECS};
use super::dispatch::{due_callbacks, flow_end_callback, transaction_callback, Bodies, Dispatcher};
use super::{DueCallback, Subject};
use crate::clock::FixedClock;
use crate::integrations::{
    CustomerInfo, CustomerIntegration, CustomerQuery, CustomerUpdate, IntegrationError,
};
use crate::metrics::Metric;
use crate::model::{
    Customer, CustomerStatus, Kind, Protocol, Transaction, TransactionStatus, UserKey,
};
use crate::queue::{BodyQueue, InMemoryBodyQueue};
use crate::stellar::{Asset, FakeKeyService, Keypair, SignerError};
use crate::store::{InMemoryStore, TransactionStore};
use crate::time::Timestamp;
use crate::transfer::callback::{CallbackError, CallbackSender, SignedCallback};

const NOW: u64 = 1_800_000_000;
const PUBLIC_URL: &str = "https://anchor.example";

/// Stands for each SEP's view (the function wires the real ones; its tests check them): the
/// SEP, the id and the status, as `{"transaction": ...}`.
fn bodies() -> Bodies {
    fn view(sep: &str, t: &Transaction, public_url: &str) -> Result<String, serde_json::Error> {
        serde_json::to_string(&serde_json::json!({"transaction": {
            "sep": sep, "id": t.id, "status": t.status, "kind": t.kind, "link": public_url,
        }}))
    }
    Bodies {
        sep6: |t, url| view("6", t, url),
        sep24: |t, url| view("24", t, url),
        sep31: |t, url| view("31", t, url),
        public_url: PUBLIC_URL.into(),
    }
}

fn signer() -> Keypair {
    Keypair::from_seed_bytes([7; 32])
}

fn transaction(protocol: Protocol, kind: Kind, status: TransactionStatus) -> Transaction {
    let user = UserKey {
        account: Keypair::from_seed_bytes([2; 32]).account_id(),
        memo: None,
    };
    let mut t = Transaction::new(
        protocol,
        kind,
        status,
        user,
        Asset::Native,
        Timestamp::from_secs(NOW),
    );
    t.callback_url = Some("https://wallet.example/cb".into());
    t
}

/// Answers with the outcomes given, then 2xx; records what it was sent.
#[derive(Default)]
struct Receiver {
    failures: Mutex<Vec<CallbackError>>,
    received: Mutex<Vec<SignedCallback>>,
    attempts: AtomicU32,
}

impl Receiver {
    fn failing(failures: Vec<CallbackError>) -> Self {
        Self {
            failures: Mutex::new(failures),
            ..Self::default()
        }
    }

    fn received(&self) -> Vec<SignedCallback> {
        self.received.lock().expect("lock").clone()
    }
}

impl CallbackSender for Arc<Receiver> {
    async fn send(&self, callback: &SignedCallback) -> Result<(), CallbackError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let mut failures = self.failures.lock().expect("lock");
        if !failures.is_empty() {
            return Err(failures.remove(0));
        }
        self.received.lock().expect("lock").push(callback.clone());
        Ok(())
    }
}

/// A KYC whose customer status the test sets.
struct Kyc(Mutex<CustomerStatus>);

impl CustomerIntegration for Kyc {
    async fn get(&self, query: &CustomerQuery) -> Result<CustomerInfo, IntegrationError> {
        Ok(CustomerInfo {
            id: query.id.clone(),
            status: *self.0.lock().expect("lock"),
            fields: BTreeMap::new(),
            provided_fields: BTreeMap::new(),
            message: None,
        })
    }
    async fn put(&self, _: &CustomerUpdate) -> Result<String, IntegrationError> {
        Err(IntegrationError::invalid("unused"))
    }
    async fn delete(&self, _: &UserKey) -> Result<(), IntegrationError> {
        Err(IntegrationError::NotFound)
    }
    async fn customer_status(
        &self,
        _: &str,
        _: &str,
        _: Option<&str>,
    ) -> Result<CustomerStatus, IntegrationError> {
        Ok(*self.0.lock().expect("lock"))
    }
}

type TestDispatcher = Dispatcher<InMemoryBodyQueue, Kyc, InMemoryStore>;

fn dispatcher(status: CustomerStatus) -> (TestDispatcher, Arc<InMemoryBodyQueue>) {
    let queue = Arc::new(InMemoryBodyQueue::default());
    let dispatcher = Dispatcher::new(
        queue.clone(),
        Arc::new(Kyc(Mutex::new(status))),
        Arc::new(InMemoryStore::default()),
        bodies(),
    );
    (dispatcher, queue)
}

/// What a receiver checks (digest 5.6): `t=<secs>, s=<base64>` over `<t>.<host>.<body>`.
fn assert_signed(callback: &SignedCallback) {
    let (t, s) = callback
        .signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(", s="))
        .expect("the signature header's format");
    let signature = STANDARD.decode(s).expect("base64");
    let host = callback.url.host_str().expect("a host");
    let message = format!("{t}.{host}.{}", callback.body);
    assert!(
        signer().account_id().verify(message.as_bytes(), &signature),
        "signed by SIGNING_KEY"
    );
}

#[test]
fn status_and_kyc_changes_call_for_callbacks_and_other_writes_do_not() {
    let old = transaction(
        Protocol::Sep24,
        Kind::Deposit,
        TransactionStatus::Incomplete,
    );
    let callback = |old: Option<&Transaction>, new: &Transaction| {
        transaction_callback(old, new, &bodies()).expect("renders")
    };

    let mut new = old.clone();
    new.version = 1;
    new.status = TransactionStatus::PendingUserTransferStart;
    let due = callback(Some(&old), &new).expect("a status change is announced");
    assert_eq!(
        (due.subject, due.id.as_str(), due.version, due.url.as_str()),
        (
            Subject::Transaction,
            new.id.as_str(),
            1,
            "https://wallet.example/cb"
        )
    );
    let body: serde_json::Value = serde_json::from_str(&due.body).expect("json");
    assert_eq!(body["transaction"]["id"], new.id.as_str());
    assert_eq!(body["transaction"]["status"], "pending_user_transfer_start");
    assert_eq!(body["transaction"]["sep"], "24", "the SEP's own view");
    assert_eq!(body["transaction"]["link"], PUBLIC_URL);

    let mut same = old.clone();
    same.external_transaction_id = Some("bank-1".into());
    assert_eq!(callback(Some(&old), &same), None, "no status change");
    let mut kyc = old.clone();
    kyc.kyc_verified = Some(true);
    assert!(callback(Some(&old), &kyc).is_some(), "SEP-24: kyc_verified");
    let mut no_url = new.clone();
    no_url.callback_url = None;
    assert_eq!(callback(Some(&old), &no_url), None, "no URL, no callback");
    let mut post_message = new.clone();
    post_message.callback_url = Some("postMessage".into());
    assert_eq!(callback(Some(&old), &post_message), None, "not a URL");
    assert!(
        callback(None, &new).is_some(),
        "SEP-24/6: a new transaction"
    );

    let sep31 = transaction(
        Protocol::Sep31,
        Kind::Receive,
        TransactionStatus::PendingSender,
    );
    assert_eq!(
        callback(None, &sep31),
        None,
        "SEP-31: not the initial pending_sender"
    );
    let mut kyc31 = sep31.clone();
    kyc31.kyc_verified = Some(true);
    assert_eq!(callback(Some(&sep31), &kyc31), None, "SEP-31: status only");
    let mut paid = sep31.clone();
    paid.status = TransactionStatus::PendingReceiver;
    let due = callback(Some(&sep31), &paid).expect("SEP-31: a status change");
    let body: serde_json::Value = serde_json::from_str(&due.body).expect("json");
    assert_eq!(body["transaction"]["status"], "pending_receiver");
    assert_eq!(body["transaction"]["sep"], "31", "the SEP's own view");

    let sep6 = transaction(
        Protocol::Sep6,
        Kind::Withdrawal,
        TransactionStatus::PendingAnchor,
    );
    let mut done = sep6.clone();
    done.status = TransactionStatus::Completed;
    let due = callback(Some(&sep6), &done).expect("SEP-6: a status change");
    let body: serde_json::Value = serde_json::from_str(&due.body).expect("json");
    assert_eq!(body["transaction"]["sep"], "6");
    assert_eq!(body["transaction"]["kind"], "withdrawal");
}

/// The SEP-24 flow's `callback` URL hears the write that ends the flow, once, and nothing else;
/// a URL that is also the `on_change_callback` is posted that change once.
#[test]
fn the_end_of_an_interactive_flow_calls_its_callback_url_once() {
    let mut form = transaction(
        Protocol::Sep24,
        Kind::Deposit,
        TransactionStatus::Incomplete,
    );
    form.callback_url = None;
    let mut done = form.clone();
    done.version = 1;
    done.status = TransactionStatus::PendingUserTransferStart;
    done.flow_callback_url = Some("https://wallet.example/done".into());
    let end = |old: &Transaction, new: &Transaction| {
        flow_end_callback(Some(old), new, &bodies()).expect("renders")
    };

    let due = end(&form, &done).expect("the end of the flow");
    assert_eq!(
        (due.url.as_str(), due.version),
        ("https://wallet.example/done", 1)
    );
    let body: serde_json::Value = serde_json::from_str(&due.body).expect("json");
    assert_eq!(body["transaction"]["status"], "pending_user_transfer_start");
    assert_eq!(body["transaction"]["sep"], "24");

    let mut later = done.clone();
    later.version = 2;
    later.status = TransactionStatus::PendingAnchor;
    assert_eq!(end(&done, &later), None, "only the end of the flow");
    let mut still_incomplete = form.clone();
    still_incomplete.flow_callback_url = done.flow_callback_url.clone();
    assert_eq!(end(&form, &still_incomplete), None, "the flow goes on");
    assert_eq!(
        flow_end_callback(None, &done, &bodies()).expect("renders"),
        None,
        "not a new transaction"
    );
    let mut sep6 = done.clone();
    sep6.protocol = Protocol::Sep6;
    assert_eq!(end(&form, &sep6), None, "SEP-24 only");

    // With an on_change_callback: both hear the change; the same URL hears it once.
    let mut both = done.clone();
    both.callback_url = Some("https://wallet.example/changes".into());
    let urls = |new: &Transaction| {
        due_callbacks(Some(&form), new, &bodies())
            .expect("renders")
            .into_iter()
            .map(|c| c.url)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        urls(&both),
        [
            "https://wallet.example/changes",
            "https://wallet.example/done"
        ]
    );
    both.callback_url = both.flow_callback_url.clone();
    assert_eq!(urls(&both), ["https://wallet.example/done"]);
}

/// The writers (API, workers) never queue a callback: a function that dies right after its
/// write loses nothing, because the change stream carries every write to the dispatcher. Each
/// status change is delivered once, as of its version, signed, retried until a 2xx.
#[tokio::test]
async fn every_status_change_is_delivered_signed_even_when_the_writer_died_after_its_write() {
    let store = InMemoryStore::with_stream();
    let mut t = transaction(
        Protocol::Sep24,
        Kind::Deposit,
        TransactionStatus::Incomplete,
    );
    store.insert(&t).await.expect("insert");
    let walk = [
        TransactionStatus::PendingUserTransferStart,
        TransactionStatus::PendingAnchor,
        TransactionStatus::PendingStellar,
        TransactionStatus::Completed,
    ];
    for status in walk {
        let expected = t.status;
        t.status = status;
        store.update(&mut t, expected).await.expect("write");
        // ...and the writer "dies" here: it has nothing more to do for callbacks.
    }
    t.stellar_transaction_id = Some("ab".repeat(32));
    store
        .update(&mut t, TransactionStatus::Completed)
        .await
        .expect("a write that keeps the status");

    let (dispatcher, queue) = dispatcher(CustomerStatus::Accepted);
    let metrics = crate::metrics::Recording::start();
    for (before, after) in store.take_stream() {
        dispatcher
            .transaction_changed(before.as_ref(), &after)
            .await
            .expect("dispatched");
    }
    assert_eq!(
        metrics.recorded(),
        [(
            Metric::TransactionsFinished,
            vec![
                ("Kind", "deposit".to_owned()),
                ("Outcome", "completed".to_owned())
            ],
            1.0
        )],
        "the ending counted once, not the write after it"
    );
    let queued = queue.drain();
    let statuses: Vec<(u64, String)> = queued
        .iter()
        .map(|body| {
            let callback = DueCallback::from_json(body).expect("a callback");
            let view: serde_json::Value = serde_json::from_str(&callback.body).expect("json");
            (
                callback.version,
                view["transaction"]["status"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (0, "incomplete".to_owned()),
            (1, "pending_user_transfer_start".to_owned()),
            (2, "pending_anchor".to_owned()),
            (3, "pending_stellar".to_owned()),
            (4, "completed".to_owned()),
        ],
        "one callback per status change, each as of its version"
    );

    // The receiver is down for the first callback's first three deliveries.
    let receiver = Arc::new(Receiver::failing(vec![
        CallbackError::Failed("HTTP 503".into()),
        CallbackError::Failed("timed out".into()),
        CallbackError::Failed("could not connect".into()),
    ]));
    let deliverer = Deliverer::new(
        receiver.clone(),
        Arc::new(signer()),
        Arc::new(FixedClock::at(NOW + 5)),
    );
    let mut delays = Vec::new();
    for body in &queued {
        let mut attempt = 1;
        loop {
            match deliverer.deliver(body, attempt).await {
                Delivery::Delivered => break,
                Delivery::Retry { after_secs, .. } => delays.push(after_secs),
                other => panic!("unexpected {other:?}"),
            }
            attempt += 1;
            assert!(attempt <= 10, "delivered within the queue's attempts");
        }
    }
    let received = receiver.received();
    assert_eq!(
        received.len(),
        queued.len(),
        "each delivered once, after the 2xx"
    );
    assert_eq!(metrics.total(Metric::CallbacksDelivered, &[]), 5.0);
    assert_eq!(metrics.total(Metric::CallbacksFailed, &[]), 3.0);
    assert_eq!(delays, [15, 30, 60], "retried with backoff until the 2xx");
    for callback in &received {
        assert_signed(callback);
        assert!(
            callback.signature.starts_with(&format!("t={}, ", NOW + 5)),
            "signed when sent"
        );
    }
}

#[tokio::test]
async fn a_customer_callback_is_queued_when_its_status_changes_and_only_then() {
    let user = UserKey {
        account: Keypair::from_seed_bytes([4; 32]).account_id(),
        memo: None,
    };
    let mut customer = Customer::new(user, Timestamp::from_secs(NOW));
    let (dispatcher, queue) = dispatcher(CustomerStatus::NeedsInfo);
    assert!(
        !dispatcher.customer_changed(&customer).await.expect("ok"),
        "no URL yet"
    );
    customer.callback_url = Some("https://wallet.example/kyc".into());
    assert!(dispatcher.customer_changed(&customer).await.expect("ok"));
    assert!(
        !dispatcher.customer_changed(&customer).await.expect("ok"),
        "the same status again: nothing"
    );
    *dispatcher_kyc(&dispatcher).0.lock().expect("lock") = CustomerStatus::Accepted;
    customer.version = 3;
    assert!(dispatcher.customer_changed(&customer).await.expect("ok"));
    let queued: Vec<DueCallback> = queue
        .drain()
        .iter()
        .map(|b| DueCallback::from_json(b).expect("a callback"))
        .collect();
    let bodies: Vec<serde_json::Value> = queued
        .iter()
        .map(|c| serde_json::from_str(&c.body).expect("json"))
        .collect();
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[1].subject, Subject::Customer);
    assert_eq!(queued[1].url, "https://wallet.example/kyc");
    assert_eq!(bodies[0]["status"], "NEEDS_INFO");
    assert_eq!(bodies[1]["status"], "ACCEPTED");
    assert_eq!(bodies[1]["id"], customer.id.as_str());
}

fn dispatcher_kyc(dispatcher: &TestDispatcher) -> &Kyc {
    dispatcher.customers()
}

#[tokio::test]
async fn undeliverable_callbacks_are_dropped_and_failures_back_off() {
    let receiver = Arc::new(Receiver::failing(vec![CallbackError::Refused(
        "a private address".into(),
    )]));
    let deliverer = Deliverer::new(
        receiver.clone(),
        Arc::new(signer()),
        Arc::new(FixedClock::at(NOW)),
    );
    let metrics = crate::metrics::Recording::start();
    assert!(matches!(
        deliverer.deliver("not json", 1).await,
        Delivery::Dropped(_)
    ));
    let mut callback = DueCallback {
        subject: Subject::Transaction,
        id: "t-1".into(),
        version: 1,
        url: "javascript:alert(1)".into(),
        body: "{}".into(),
    };
    assert!(matches!(
        deliverer.deliver(&callback.to_json(), 1).await,
        Delivery::Dropped(_)
    ));
    callback.url = "https://10.0.0.1/cb".into();
    assert!(matches!(
        deliverer.deliver(&callback.to_json(), 1).await,
        Delivery::Dropped(_)
    ));
    assert_eq!(
        receiver.attempts.load(Ordering::SeqCst),
        1,
        "garbage is never sent"
    );
    assert_eq!(metrics.total(Metric::CallbacksFailed, &[]), 3.0);
    assert_eq!(metrics.total(Metric::CallbacksDelivered, &[]), 0.0);
    let delays: Vec<u32> = (1..=10).map(backoff).collect();
    assert_eq!(delays, [15, 30, 60, 120, 240, 480, 900, 900, 900, 900]);
    assert_eq!(backoff(u32::MAX), MAX_BACKOFF_SECS);
    assert_eq!(backoff(0), 15);
}

/// A queued callback to `https://wallet.example/cb` whose body is `size` bytes.
fn callback_of_size(size: usize) -> String {
    let padding = "x".repeat(size - r#"{"transaction":{"id":"t-1","memo":""}}"#.len());
    DueCallback {
        subject: Subject::Transaction,
        id: "t-1".into(),
        version: 2,
        url: "https://wallet.example/cb".into(),
        body: format!(r#"{{"transaction":{{"id":"t-1","memo":"{padding}"}}}}"#),
    }
    .to_json()
}

#[tokio::test]
async fn a_key_in_kms_signs_callbacks_up_to_its_limit_and_a_larger_one_is_dropped() {
    let receiver = Arc::new(Receiver::failing(Vec::new()));
    let kms = Arc::new(FakeKeyService::new(signer()));
    let deliverer = Deliverer::new(receiver.clone(), kms.clone(), Arc::new(FixedClock::at(NOW)));
    let metrics = crate::metrics::Recording::start();
    // `<t>.<host>.<body>`: 10 + 1 + 14 + 1 bytes around the body.
    let overhead = format!("{NOW}.wallet.example.").len();
    let largest = callback_of_size(FakeKeyService::MAX_MESSAGE - overhead);
    assert_eq!(deliverer.deliver(&largest, 1).await, Delivery::Delivered);
    assert_signed(&receiver.received()[0]);

    // One byte more can never be signed by KMS: dropped (not retried), counted as failed.
    let too_large = callback_of_size(FakeKeyService::MAX_MESSAGE - overhead + 1);
    let Delivery::Dropped(reason) = deliverer.deliver(&too_large, 1).await else {
        panic!("a callback KMS cannot sign is dropped");
    };
    assert!(reason.contains("4097 bytes"), "{reason}");
    assert_eq!(receiver.received().len(), 1, "never sent unsigned");
    assert_eq!(metrics.total(Metric::CallbacksFailed, &[]), 1.0);

    // A local seed has no limit.
    let local = Deliverer::new(
        receiver.clone(),
        Arc::new(signer()),
        Arc::new(FixedClock::at(NOW)),
    );
    assert_eq!(local.deliver(&too_large, 1).await, Delivery::Delivered);
    assert_signed(&receiver.received()[1]);
}

#[tokio::test]
async fn a_key_service_that_cannot_sign_now_makes_the_callback_retry() {
    let receiver = Arc::new(Receiver::failing(Vec::new()));
    let kms = Arc::new(FakeKeyService::new(signer()));
    let deliverer = Deliverer::new(receiver.clone(), kms.clone(), Arc::new(FixedClock::at(NOW)));
    let callback = callback_of_size(100);
    for failure in [
        SignerError::Unavailable("ThrottlingException".into()),
        SignerError::BadSignature,
    ] {
        kms.fail_with(Some(failure));
        assert!(matches!(
            deliverer.deliver(&callback, 2).await,
            Delivery::Retry { after_secs: 30, .. }
        ));
    }
    // A key that is not a signing key never will be: dropped.
    kms.fail_with(Some(SignerError::InvalidKey("disabled".into())));
    assert!(matches!(
        deliverer.deliver(&callback, 1).await,
        Delivery::Dropped(_)
    ));
    assert!(receiver.received().is_empty(), "nothing sent unsigned");
    kms.fail_with(None);
    assert_eq!(deliverer.deliver(&callback, 3).await, Delivery::Delivered);
    assert_signed(&receiver.received()[0]);
}

#[tokio::test]
async fn a_queue_that_is_down_fails_the_dispatch_so_the_stream_delivers_it_again() {
    struct Down;
    impl BodyQueue for Down {
        async fn send_body(&self, _: &str) -> Result<(), crate::queue::QueueError> {
            Err(crate::queue::QueueError::Unavailable("down".into()))
        }
    }
    let dispatcher = Dispatcher::new(
        Arc::new(Down),
        Arc::new(Kyc(Mutex::new(CustomerStatus::Accepted))),
        Arc::new(InMemoryStore::default()),
        bodies(),
    );
    let t = transaction(
        Protocol::Sep6,
        Kind::Deposit,
        TransactionStatus::PendingUserTransferStart,
    );
    assert!(dispatcher.transaction_changed(None, &t).await.is_err());
}
