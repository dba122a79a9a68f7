//! The payout poller's Lambda handler over in-memory adapters (schedule event fixture): without
//! a bank the reference rail reports no payout done, so pending_external withdrawals stay.

use std::collections::BTreeMap;
use std::sync::Arc;

use mooring::clock::FixedClock;
use mooring::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::queue::InMemoryQueue;
use mooring::stellar::{Asset, Keypair, Network};
use mooring::store::{InMemoryStore, TransactionStore};
use mooring::time::Timestamp;

const NOW: u64 = 1_700_000_000;

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

#[tokio::test]
async fn a_scheduled_run_checks_the_pending_payouts() {
    let store = Arc::new(InMemoryStore::default());
    let mut withdrawal = Transaction::new(
        Protocol::Sep24,
        Kind::Withdrawal,
        TransactionStatus::PendingExternal,
        UserKey {
            account: key(40).account_id(),
            memo: None,
        },
        Asset::credit("USDC", key(30).account_id()).unwrap(),
        Timestamp::from_secs(NOW - 60),
    );
    withdrawal.amount_out = Some("9".parse().unwrap());
    store.insert(&withdrawal).await.unwrap();
    let settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &key(1).account_id().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect();
    let service = payout_poller::service(
        &settings,
        payout_poller::Ports {
            store: store.clone(),
            withdrawals: Arc::new(InMemoryQueue::default()),
            clock: Arc::new(FixedClock::at(NOW)),
        },
    )
    .unwrap();
    let event: serde_json::Value =
        serde_json::from_str(include_str!("events/schedule.json")).unwrap();
    let report = payout_poller::handle(&service, event).await.unwrap();
    assert_eq!(report["checked"], 1);
    assert_eq!(report["completed"], 0);
    assert_eq!(
        store.get(&withdrawal.id).await.unwrap().unwrap().status,
        TransactionStatus::PendingExternal
    );
}
