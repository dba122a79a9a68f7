//! The payment watcher's Lambda handler over in-memory adapters: a schedule event fixture, and
//! an operator's invocation with smaller pages.

use std::collections::BTreeMap;
use std::sync::Arc;

use mooring::clock::FixedClock;
use mooring::config::AnchorConfig;
use mooring::horizon::InMemoryHorizon;
use mooring::queue::InMemoryQueue;
use mooring::stellar::{Keypair, Network};
use mooring::store::InMemoryStore;

const NOW: u64 = 1_700_000_000;

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

#[tokio::test]
async fn a_run_watches_each_receiving_account() {
    let distribution = key(20).account_id();
    let ledger = Arc::new(InMemoryHorizon::new(Network::testnet()));
    ledger.fund(distribution, "100".parse().unwrap());
    let assets = format!(
        r#"[{{"code":"USDC","issuer":"{}","distribution_account":"{distribution}","seps":["sep24"],
             "withdraw":{{"fee_fixed":0.5}}}}]"#,
        key(30).account_id()
    );
    let settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &key(1).account_id().to_string()),
        ("ASSETS", &assets),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect();
    let service = payment_watcher::service(
        &settings,
        &AnchorConfig::from_source(&settings).unwrap(),
        payment_watcher::Ports {
            store: Arc::new(InMemoryStore::default()),
            horizon: ledger,
            withdrawals: Arc::new(InMemoryQueue::default()),
            outgoing: Arc::new(InMemoryQueue::default()),
            clock: Arc::new(FixedClock::at(NOW)),
            status_listener: mooring::transfer::callback::no_listener(),
        },
    )
    .unwrap();
    assert_eq!(service.watcher().receiving_accounts(), [distribution]);
    let event: serde_json::Value =
        serde_json::from_str(include_str!("events/schedule.json")).unwrap();
    let report = payment_watcher::handle(&service, event).await.unwrap();
    assert_eq!(report["accounts"], 1);
    assert_eq!(report["records"], 0);
    let knobs = serde_json::json!({"page_limit": 2, "max_pages": 1});
    let report = payment_watcher::handle(&service, knobs).await.unwrap();
    assert_eq!(report["accounts"], 1);
}

#[tokio::test]
async fn a_run_expires_sep31_transactions_never_paid_after_the_configured_wait() {
    use mooring::model::{withdraw_memo, Kind, Protocol, Transaction, TransactionStatus, UserKey};
    use mooring::stellar::Asset;
    use mooring::store::TransactionStore;
    use mooring::time::Timestamp;

    let distribution = key(20).account_id();
    let issuer = key(30).account_id();
    let ledger = Arc::new(InMemoryHorizon::new(Network::testnet()));
    ledger.fund(distribution, "100".parse().unwrap());
    let assets = format!(
        r#"[{{"code":"USDC","issuer":"{issuer}","distribution_account":"{distribution}","seps":["sep24"],
             "withdraw":{{"fee_fixed":0.5}}}}]"#
    );
    let settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &key(1).account_id().to_string()),
        ("ASSETS", &assets),
        ("SEP31_PENDING_SENDER_SECONDS", "3600"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect();
    let store = Arc::new(InMemoryStore::default());
    let service = payment_watcher::service(
        &settings,
        &AnchorConfig::from_source(&settings).unwrap(),
        payment_watcher::Ports {
            store: store.clone(),
            horizon: ledger,
            withdrawals: Arc::new(InMemoryQueue::default()),
            outgoing: Arc::new(InMemoryQueue::default()),
            clock: Arc::new(FixedClock::at(NOW)),
            status_listener: mooring::transfer::callback::no_listener(),
        },
    )
    .unwrap();
    assert_eq!(service.watcher().receiving_accounts(), [distribution]);
    let mut ids = Vec::new();
    for started in [NOW - 3600, NOW - 60] {
        let mut tx = Transaction::new(
            Protocol::Sep31,
            Kind::Receive,
            TransactionStatus::PendingSender,
            UserKey {
                account: key(40).account_id(),
                memo: None,
            },
            Asset::credit("USDC", issuer).unwrap(),
            Timestamp::from_secs(started),
        );
        tx.amount_in = Some("10".parse().unwrap());
        tx.receiving_account = Some(distribution);
        tx.receiving_memo_type = Some("hash".into());
        tx.receiving_memo = Some(withdraw_memo(&tx.id));
        store.insert(&tx).await.unwrap();
        ids.push(tx.id);
    }
    let event: serde_json::Value =
        serde_json::from_str(include_str!("events/schedule.json")).unwrap();
    let report = payment_watcher::handle(&service, event).await.unwrap();
    assert_eq!(report["expired"], 1, "{report}");
    let status = |id: &str| {
        let store = store.clone();
        let id = id.to_owned();
        async move { store.get(&id).await.unwrap().unwrap().status }
    };
    assert_eq!(status(&ids[0]).await, TransactionStatus::Expired);
    assert_eq!(status(&ids[1]).await, TransactionStatus::PendingSender);
}
