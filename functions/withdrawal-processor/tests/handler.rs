//! The withdrawal processor's Lambda handler over in-memory adapters: an SQS batch (fixture
//! `events/sqs_batch.json`) delivering the same withdrawal twice, and a malformed message.
//! Without a bank (`DEMO_BANK_URL` unset) the reference rail leaves the payout to the operator.

use std::collections::BTreeMap;
use std::sync::Arc;

use mooring::clock::FixedClock;
use mooring::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::stellar::{Asset, Keypair, Network};
use mooring::store::{InMemoryStore, TransactionStore};
use mooring::time::Timestamp;
use withdrawal_processor::SqsEvent;

const NOW: u64 = 1_700_000_000;

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

#[tokio::test]
async fn a_batch_hands_the_payout_to_the_rail_once_and_reports_the_malformed_message() {
    let issuer = key(30);
    let usdc = Asset::credit("USDC", issuer.account_id()).unwrap();
    let store = Arc::new(InMemoryStore::default());
    let mut withdrawal = Transaction::new(
        Protocol::Sep24,
        Kind::Withdrawal,
        TransactionStatus::PendingAnchor,
        UserKey {
            account: key(40).account_id(),
            memo: None,
        },
        usdc,
        Timestamp::from_secs(NOW - 60),
    );
    withdrawal.amount_in = Some("30".parse().unwrap());
    withdrawal.amount_out = Some("29.425".parse().unwrap());
    withdrawal.to = Some("****3000".into());
    store.insert(&withdrawal).await.unwrap();

    let settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &key(1).account_id().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect();
    let service = withdrawal_processor::service(
        &settings,
        withdrawal_processor::Ports {
            store: store.clone(),
            clock: Arc::new(FixedClock::at(NOW)),
            submissions: Arc::new(mooring::queue::InMemoryQueue::default()),
        },
    )
    .unwrap();
    let json = include_str!("events/sqs_batch.json").replace("__WITHDRAWAL__", &withdrawal.id);
    let event: SqsEvent = serde_json::from_str(&json).unwrap();

    let response = withdrawal_processor::handle(&service, event.clone()).await;
    assert_eq!(
        response.failed_ids(),
        ["a1b2c3d4-0000-4000-8000-00000000beef"]
    );
    let stored = store.get(&withdrawal.id).await.unwrap().unwrap();
    assert_eq!(stored.status, TransactionStatus::PendingExternal);

    // Delivered again: nothing to do.
    let again = withdrawal_processor::handle(&service, event).await;
    assert_eq!(again.failed_ids().len(), 1);
    assert_eq!(
        store.get(&withdrawal.id).await.unwrap().unwrap().version,
        stored.version
    );
}
