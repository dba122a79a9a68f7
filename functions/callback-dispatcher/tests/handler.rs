//! The callback dispatcher's Lambda handler over in-memory adapters, fed DynamoDB stream events
//! as Lambda delivers them: a transaction's status change is queued once; a write that changes
//! no status, a customer table's guard item, an unreadable record and a removal queue nothing;
//! a queue that is down fails the record, and the stream delivers it again.

use std::collections::BTreeMap;
use std::sync::Arc;

use callback_dispatcher::{handle, Ports, StreamEvent};
use mooring::clock::{Clock, FixedClock};
use mooring::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::queue::{BodyQueue, InMemoryBodyQueue, QueueError};
use mooring::status_callbacks::DueCallback;
use mooring::stellar::{Asset, Keypair, Network};
use mooring::store::InMemoryStore;
use mooring::time::Timestamp;
use serde_json::json;

const NOW: u64 = 1_700_000_000;
const TRANSACTIONS: &str = "mooring-TransactionsTable-1";
const CUSTOMERS: &str = "mooring-CustomersTable-1";

fn settings() -> BTreeMap<String, String> {
    [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        (
            "SIGNING_KEY",
            &Keypair::from_seed_bytes([1; 32]).account_id().to_string(),
        ),
        ("TRANSACTIONS_TABLE", TRANSACTIONS),
        ("CUSTOMERS_TABLE", CUSTOMERS),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect()
}

fn service<Q: BodyQueue>(queue: Arc<Q>) -> callback_dispatcher::Service<InMemoryStore, Q> {
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(NOW));
    callback_dispatcher::service(
        &settings(),
        Ports {
            store: Arc::new(InMemoryStore::default()),
            callbacks: queue,
            clock,
        },
    )
    .expect("service")
}

fn deposit(status: TransactionStatus, version: u64) -> Transaction {
    let user = UserKey {
        account: Keypair::from_seed_bytes([2; 32]).account_id(),
        memo: None,
    };
    let mut t = Transaction::new(
        Protocol::Sep24,
        Kind::Deposit,
        status,
        user,
        Asset::Native,
        Timestamp::from_secs(NOW),
    );
    t.id = "8e1c6c2e-6b1a-4c55-9d1e-0f4a8a3b7c11".into();
    t.version = version;
    t.callback_url = Some("https://wallet.example/cb".into());
    t
}

fn image(doc: &str) -> serde_json::Value {
    json!({"id": {"S": "x"}, "doc": {"S": doc}})
}

fn record(
    table: &str,
    sequence: &str,
    new: Option<serde_json::Value>,
    old: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut data = json!({"SequenceNumber": sequence, "StreamViewType": "NEW_AND_OLD_IMAGES"});
    if let Some(new) = new {
        data["NewImage"] = new;
    }
    if let Some(old) = old {
        data["OldImage"] = old;
    }
    json!({
        "eventID": sequence,
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "eventSourceARN": format!("arn:aws:dynamodb:us-east-1:000000000000:table/{table}/stream/2026-12-06T00:00:00.000"),
        "dynamodb": data,
    })
}

fn doc(t: &Transaction) -> String {
    serde_json::to_string(t).expect("json")
}

fn event(records: Vec<serde_json::Value>) -> StreamEvent {
    serde_json::from_value(json!({ "Records": records })).expect("a stream event")
}

#[tokio::test]
async fn status_changes_are_queued_and_nothing_else() {
    let queue = Arc::new(InMemoryBodyQueue::default());
    let service = service(queue.clone());
    let started = deposit(TransactionStatus::PendingUserTransferStart, 1);
    let paid = deposit(TransactionStatus::PendingAnchor, 2);
    let mut relabelled = paid.clone();
    relabelled.version = 3;
    relabelled.external_transaction_id = Some("bank-1".into());
    let answer = handle(
        &service,
        event(vec![
            record(
                TRANSACTIONS,
                "1",
                Some(image(&doc(&paid))),
                Some(image(&doc(&started))),
            ),
            record(
                TRANSACTIONS,
                "2",
                Some(image(&doc(&relabelled))),
                Some(image(&doc(&paid))),
            ),
            record(
                CUSTOMERS,
                "3",
                Some(json!({"id": {"S": "user#G..."}})),
                None,
            ),
            record(TRANSACTIONS, "4", Some(image("{not json")), None),
            record(TRANSACTIONS, "5", None, Some(image(&doc(&paid)))),
            record("another-table", "6", Some(image(&doc(&paid))), None),
        ]),
    )
    .await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    let queued = queue.drain();
    assert_eq!(queued.len(), 1, "{queued:?}");
    let callback = DueCallback::from_json(&queued[0]).expect("a callback");
    assert_eq!(
        (callback.id.as_str(), callback.version),
        (paid.id.as_str(), 2)
    );
    let body: serde_json::Value = serde_json::from_str(&callback.body).expect("json");
    assert_eq!(body["transaction"]["status"], "pending_anchor");
    assert!(
        body["transaction"]["more_info_url"]
            .as_str()
            .is_some_and(|url| url.starts_with("https://anchor.example.com")),
        "the SEP-24 view, with the anchor's links: {body}"
    );
}

#[tokio::test]
async fn a_record_that_cannot_be_queued_is_delivered_again_from_there() {
    struct Down;
    impl BodyQueue for Down {
        async fn send_body(&self, _: &str) -> Result<(), QueueError> {
            Err(QueueError::Unavailable("down".into()))
        }
    }
    let service = service(Arc::new(Down));
    let started = deposit(TransactionStatus::PendingUserTransferStart, 1);
    let paid = deposit(TransactionStatus::PendingAnchor, 2);
    let answer = handle(
        &service,
        event(vec![
            record(
                TRANSACTIONS,
                "7",
                Some(image(&doc(&started))),
                Some(image(&doc(&started))),
            ),
            record(
                TRANSACTIONS,
                "8",
                Some(image(&doc(&paid))),
                Some(image(&doc(&started))),
            ),
            record(
                TRANSACTIONS,
                "9",
                Some(image(&doc(&paid))),
                Some(image(&doc(&started))),
            ),
        ]),
    )
    .await;
    assert_eq!(
        answer.failed_ids(),
        ["8"],
        "the first record not dispatched"
    );
}

#[test]
fn the_tables_names_are_required() {
    let mut settings = settings();
    settings.remove("CUSTOMERS_TABLE");
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(NOW));
    let error = callback_dispatcher::service(
        &settings,
        Ports {
            store: Arc::new(InMemoryStore::default()),
            callbacks: Arc::new(InMemoryBodyQueue::default()),
            clock,
        },
    )
    .err()
    .expect("refused");
    assert!(error.to_string().contains("CUSTOMERS_TABLE"), "{error}");
}
