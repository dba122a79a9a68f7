//! The expiry sweeper's Lambda handler over the in-memory store (schedule event fixture): the
//! transactions waiting past their deadline end, the ones still in time stay, an operator's
//! smaller pages read less, `PENDING_TRUST_ACTION=refund` refunds an untrusted deposit once (queued
//! to the submissions queue), and bad expiry settings stop the function at start.

use std::collections::BTreeMap;
use std::sync::Arc;

use mooring::clock::FixedClock;
use mooring::config::AnchorConfig;
use mooring::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey, SYSTEM_ACTOR};
use mooring::queue::{InMemoryQueue, QueueMessage};
use mooring::stellar::{Amount, Asset, Keypair, Network};
use mooring::store::{InMemoryStore, TransactionStore};
use mooring::time::Timestamp;

const NOW: u64 = 1_700_000_000;

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

fn settings(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let signing = key(1).account_id().to_string();
    [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", signing.as_str()),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

struct Sweeper {
    service: expiry_sweeper::Service<InMemoryStore, InMemoryQueue>,
    anchor: AnchorConfig,
    store: Arc<InMemoryStore>,
    submissions: Arc<InMemoryQueue>,
}

fn sweeper(extra: &[(&str, &str)]) -> Sweeper {
    // The store keeps its change stream: what the callback dispatcher reads.
    let store = Arc::new(InMemoryStore::with_stream());
    let submissions = Arc::new(InMemoryQueue::default());
    let anchor = AnchorConfig::from_source(&settings(extra)).unwrap();
    let service = expiry_sweeper::service(
        &anchor,
        expiry_sweeper::Ports {
            store: store.clone(),
            submissions: submissions.clone(),
            clock: Arc::new(FixedClock::at(NOW)),
        },
    );
    Sweeper {
        service,
        anchor,
        store,
        submissions,
    }
}

impl Sweeper {
    /// A transaction that entered `status` `ago` seconds ago, with the deadline its writer sets.
    async fn waiting(&self, kind: Kind, status: TransactionStatus, ago: u64) -> Transaction {
        let protocol = if kind == Kind::Receive {
            Protocol::Sep31
        } else {
            Protocol::Sep24
        };
        let mut t = Transaction::new(
            protocol,
            kind,
            status,
            UserKey {
                account: key(40).account_id(),
                memo: None,
            },
            Asset::credit("USDC", key(30).account_id()).unwrap(),
            Timestamp::from_secs(NOW - ago),
        );
        self.anchor.expiry.stamp(&mut t, None);
        self.store.insert(&t).await.unwrap();
        t
    }

    async fn run(&self, event: serde_json::Value) -> serde_json::Value {
        expiry_sweeper::handle(&self.service, event).await.unwrap()
    }

    /// The writes so far that changed a transaction's status: each is one callback, posted
    /// from the table's stream.
    fn status_changes(&self) -> usize {
        self.store
            .take_stream()
            .iter()
            .filter(|(before, after)| before.as_ref().is_some_and(|b| b.status != after.status))
            .count()
    }

    async fn status(&self, t: &Transaction) -> TransactionStatus {
        self.store.get(&t.id).await.unwrap().unwrap().status
    }
}

fn schedule() -> serde_json::Value {
    serde_json::from_str(include_str!("events/schedule.json")).unwrap()
}

#[tokio::test]
async fn a_scheduled_run_ends_what_waited_too_long_and_nothing_else() {
    let s = sweeper(&[]);
    use TransactionStatus::*;
    let abandoned_form = s.waiting(Kind::Deposit, Incomplete, 3_600).await;
    let form_in_time = s.waiting(Kind::Withdrawal, Incomplete, 3_599).await;
    let unfunded = s
        .waiting(Kind::Deposit, PendingUserTransferStart, 86_400)
        .await;
    let untrusted = s.waiting(Kind::Deposit, PendingTrust, 7 * 86_400).await;
    // SEP-31, due, but no payment-watcher run has read past its deadline yet.
    let unpaid = s.waiting(Kind::Receive, PendingSender, 86_400).await;

    let report = s.run(schedule()).await;
    assert_eq!(report["expired"], 2, "{report}");
    assert_eq!(report["ended"], 1, "{report}");
    assert_eq!(report["awaiting_watcher"], 1, "{report}");
    assert_eq!(report["skipped"], 0, "{report}");
    assert_eq!(
        report["stuck"], 0,
        "due, but not past the hour after: {report}"
    );
    assert_eq!(s.status(&abandoned_form).await, Expired);
    assert_eq!(s.status(&unfunded).await, Expired);
    assert_eq!(s.status(&untrusted).await, Error);
    assert_eq!(s.status(&form_in_time).await, Incomplete);
    assert_eq!(s.status(&unpaid).await, PendingSender);
    assert_eq!(s.status_changes(), 3, "each end is one write, heard once");
    assert!(s.submissions.messages().is_empty(), "error is the default");

    let again = s.run(schedule()).await;
    assert_eq!(
        (again["expired"].clone(), again["ended"].clone()),
        (0.into(), 0.into())
    );
}

#[tokio::test]
async fn an_operator_may_read_smaller_pages() {
    let s = sweeper(&[("EXPIRE_INCOMPLETE_AFTER_SECONDS", "60")]);
    for _ in 0..10 {
        s.waiting(Kind::Deposit, TransactionStatus::Incomplete, 120)
            .await;
    }
    // Pages of 2: the oldest page and two of the rotation (from the oldest too): 4 at most.
    let report = s.run(serde_json::json!({"page_size": 2})).await;
    assert_eq!(report["checked"], 4, "{report}");
    assert_eq!(report["expired"], 4, "{report}");
    let report = s.run(schedule()).await;
    assert_eq!(report["expired"], 6, "{report}");
}

#[tokio::test]
async fn with_the_refund_action_an_untrusted_deposit_is_refunded_once() {
    let s = sweeper(&[("PENDING_TRUST_ACTION", "refund")]);
    let mut untrusted = s
        .waiting(Kind::Deposit, TransactionStatus::PendingTrust, 7 * 86_400)
        .await;
    untrusted.amount_in = Some(Amount::from_stroops(100_000_000));
    s.store
        .update(&mut untrusted, TransactionStatus::PendingTrust)
        .await
        .unwrap();

    let report = s.run(schedule()).await;
    assert_eq!(report["refunded"], 1, "{report}");
    assert_eq!(report["ended"], 0, "{report}");
    let stored = s.store.get(&untrusted.id).await.unwrap().unwrap();
    assert_eq!(stored.status, TransactionStatus::PendingAnchor);
    let refund = stored.pending_refund.expect("requested");
    assert_eq!(refund.requested_by, SYSTEM_ACTOR);
    assert_eq!(refund.amount, Amount::from_stroops(100_000_000));
    assert_eq!(
        s.submissions.messages(),
        [QueueMessage::new(untrusted.id.clone(), Kind::Deposit)]
    );
    assert_eq!(s.status_changes(), 1, "the refund is one write, heard once");

    let again = s.run(schedule()).await;
    assert_eq!(again["refunded"], 0, "{again}");
    assert_eq!(s.submissions.messages().len(), 1, "queued once");
}

#[test]
fn bad_expiry_settings_stop_the_function_at_start_with_a_clear_error() {
    let error = AnchorConfig::from_source(&settings(&[("PENDING_TRUST_ACTION", "later")]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("PENDING_TRUST_ACTION"), "{error}");
    assert!(error.contains("use 'error' or 'refund'"), "{error}");
    let error = AnchorConfig::from_source(&settings(&[(
        "EXPIRE_PENDING_USER_TRANSFER_START_AFTER_SECONDS",
        "a day",
    )]))
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("EXPIRE_PENDING_USER_TRANSFER_START_AFTER_SECONDS is invalid"),
        "{error}"
    );
}
