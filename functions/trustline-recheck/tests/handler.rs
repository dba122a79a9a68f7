//! The trustline re-check's Lambda handler over in-memory adapters (schedule event fixture).

use std::sync::Arc;

use mooring::clock::FixedClock;
use mooring::horizon::InMemoryHorizon;
use mooring::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::queue::{InMemoryQueue, QueueMessage};
use mooring::stellar::{Asset, Keypair, Network};
use mooring::store::{InMemoryStore, TransactionStore};
use mooring::time::Timestamp;

const NOW: u64 = 1_700_000_000;

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

#[tokio::test]
async fn deposits_whose_account_now_trusts_the_asset_are_queued_again() {
    let usdc = Asset::credit("USDC", key(30).account_id()).unwrap();
    let store = Arc::new(InMemoryStore::default());
    let ledger = Arc::new(InMemoryHorizon::new(Network::testnet()));
    let queue = Arc::new(InMemoryQueue::default());
    let (trusting, not_yet) = (key(40).account_id(), key(41).account_id());
    for account in [trusting, not_yet] {
        ledger.fund(account, "10".parse().unwrap());
    }
    ledger.add_trustline(&trusting, &usdc, "1000".parse().unwrap(), true);
    let mut ids = Vec::new();
    for account in [trusting, not_yet] {
        let mut deposit = Transaction::new(
            Protocol::Sep24,
            Kind::Deposit,
            TransactionStatus::PendingTrust,
            UserKey {
                account,
                memo: None,
            },
            usdc.clone(),
            Timestamp::from_secs(NOW - 60),
        );
        deposit.to = Some(account.to_string());
        deposit.amount_in = Some("10".parse().unwrap());
        deposit.amount_out = Some("9".parse().unwrap());
        store.insert(&deposit).await.unwrap();
        ids.push(deposit.id);
    }
    let service = trustline_recheck::service(trustline_recheck::Ports {
        store: store.clone(),
        horizon: ledger,
        submissions: queue.clone(),
        clock: Arc::new(FixedClock::at(NOW)),
    });
    let event: serde_json::Value =
        serde_json::from_str(include_str!("events/schedule.json")).unwrap();
    trustline_recheck::handle(&service, event).await.unwrap();
    assert_eq!(
        queue.messages(),
        [QueueMessage::new(ids[0].clone(), Kind::Deposit)]
    );
    assert_eq!(
        store.get(&ids[0]).await.unwrap().unwrap().status,
        TransactionStatus::PendingAnchor
    );
    assert_eq!(
        store.get(&ids[1]).await.unwrap().unwrap().status,
        TransactionStatus::PendingTrust
    );
}
