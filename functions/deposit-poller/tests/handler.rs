//! The deposit poller's Lambda handler over in-memory adapters, with the reference rail asking a
//! tiny local HTTP server that stands for the demo bank; the event is a schedule fixture.

use std::collections::BTreeMap;
use std::sync::Arc;

use mooring::clock::FixedClock;
use mooring::config::AnchorConfig;
use mooring::model::{Kind, PaymentOutcome, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::queue::{InMemoryQueue, QueueMessage};
use mooring::stellar::{Asset, Keypair, Network};
use mooring::store::{InMemoryStore, IncomingPayments, TransactionStore};
use mooring::time::Timestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const NOW: u64 = 1_700_000_000;

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

/// A bank that answers `GET /transfers?reference=R` with one transfer of 100 for `reference`
/// and none for any other; its feed (`GET /transfers?since=0`) holds that transfer and one
/// whose reference names no deposit.
async fn bank(reference: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let reference = reference.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !String::from_utf8_lossy(&request).contains("\r\n\r\n") {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                let head = String::from_utf8_lossy(&request).to_string();
                let body = if head.starts_with(&format!("GET /transfers?reference={reference} ")) {
                    format!(
                        r#"{{"transfers": [{{"id": 3, "reference": "{reference}", "amount": "100", "currency": "USD"}}]}}"#
                    )
                } else if head.starts_with("GET /transfers?since=0&") {
                    format!(
                        r#"{{"transfers": [{{"id": 3, "reference": "{reference}", "amount": "100", "currency": "USD"}},
                                           {{"id": 4, "reference": "invoice 12", "amount": "40", "currency": "USD"}}]}}"#
                    )
                } else {
                    r#"{"transfers": []}"#.to_owned()
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test]
async fn a_scheduled_run_queues_the_deposits_whose_transfer_arrived() {
    let issuer = key(30);
    let distribution = key(20);
    let usdc = Asset::credit("USDC", issuer.account_id()).unwrap();
    let store = Arc::new(InMemoryStore::default());
    let queue = Arc::new(InMemoryQueue::default());
    let mut arrived = Transaction::new(
        Protocol::Sep24,
        Kind::Deposit,
        TransactionStatus::PendingUserTransferStart,
        UserKey {
            account: key(40).account_id(),
            memo: None,
        },
        usdc.clone(),
        Timestamp::from_secs(NOW - 60),
    );
    arrived.id = "1a2b3c4d-0000-4000-8000-000000000001".into();
    let mut waiting = arrived.clone();
    waiting.id = "9f8e7d6c-0000-4000-8000-000000000002".into();
    store.insert(&arrived).await.unwrap();
    store.insert(&waiting).await.unwrap();

    let bank_url = bank("MOOR-1A2B3C4D".into()).await;
    let assets = format!(
        r#"[{{"code":"USDC","issuer":"{}","distribution_account":"{}","seps":["sep24"],
             "deposit":{{"fee_fixed":1,"fee_percent":0.5}}}}]"#,
        issuer.account_id(),
        distribution.account_id()
    );
    let settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &key(1).account_id().to_string()),
        ("ASSETS", &assets),
        ("DEMO_BANK_URL", &bank_url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect();
    let service = deposit_poller::service(
        &settings,
        &AnchorConfig::from_source(&settings).unwrap(),
        deposit_poller::Ports {
            store: store.clone(),
            submissions: queue.clone(),
            clock: Arc::new(FixedClock::at(NOW)),
        },
    )
    .unwrap();

    let event: serde_json::Value =
        serde_json::from_str(include_str!("events/schedule.json")).unwrap();
    let report = deposit_poller::handle(&service, event.clone())
        .await
        .unwrap();
    assert_eq!(report["pending"], 2);
    assert_eq!(report["received"], 1);
    assert_eq!(report["queued"], 1);
    assert_eq!(
        queue.messages(),
        [QueueMessage::new(arrived.id.clone(), Kind::Deposit)]
    );
    let moved = store.get(&arrived.id).await.unwrap().unwrap();
    assert_eq!(moved.status, TransactionStatus::PendingAnchor);
    assert_eq!(moved.amount_in.unwrap().to_string(), "100");
    assert_eq!(moved.amount_out.unwrap().to_string(), "98.5");
    assert_eq!(moved.external_transaction_id.as_deref(), Some("3"));
    assert_eq!(
        store.get(&waiting.id).await.unwrap().unwrap().status,
        TransactionStatus::PendingUserTransferStart
    );
    // The bank's feed: transfer 3 paid the deposit; transfer 4 pays none, for the operator.
    assert_eq!(report["transfers"], 2, "{report}");
    assert_eq!(report["unmatched_transfers"], 1, "{report}");
    let unmatched = store.get_payment("offchain:4").await.unwrap().unwrap();
    assert_eq!(unmatched.outcome, PaymentOutcome::Unmatched);
    assert_eq!(unmatched.memo.as_deref(), Some("invoice 12"));
    assert!(store.get_payment("offchain:3").await.unwrap().is_none());

    // A second run (or an overlapping one) queues nothing more, records nothing more.
    let again = deposit_poller::handle(&service, event).await.unwrap();
    assert_eq!(again["queued"], 0);
    assert_eq!(
        (
            again["transfers"].clone(),
            again["unmatched_transfers"].clone()
        ),
        (0.into(), 0.into())
    );
    assert_eq!(queue.messages().len(), 1);
}

#[test]
fn the_configuration_is_checked_at_start() {
    let settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &key(1).account_id().to_string()),
        ("DEMO_BANK_URL", "ftp://bank"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect();
    let error = deposit_poller::service(
        &settings,
        &AnchorConfig::from_source(&settings).unwrap(),
        deposit_poller::Ports {
            store: Arc::new(InMemoryStore::default()),
            submissions: Arc::new(InMemoryQueue::default()),
            clock: Arc::new(FixedClock::at(NOW)),
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(error.contains("DEMO_BANK_URL"), "{error}");
}
