//! The payout poller's Lambda handler over in-memory adapters (schedule event fixture): without
//! a bank the reference rail reports no payout done, so pending_external payouts (withdrawals
//! and SEP-31) stay; the SEP-31 safety net hands a stale claim to the operator and queues a
//! payment nobody claimed on the outgoing-payments queue (not the withdrawals queue).

use std::collections::BTreeMap;
use std::sync::Arc;

use mooring::clock::FixedClock;
use mooring::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::queue::{InMemoryQueue, QueueMessage};
use mooring::stellar::{Asset, Keypair, Network};
use mooring::store::{InMemoryStore, TransactionStore};
use mooring::time::Timestamp;

const NOW: u64 = 1_700_000_000;

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

fn transaction(
    protocol: Protocol,
    kind: Kind,
    status: TransactionStatus,
    updated_secs_ago: u64,
) -> Transaction {
    let mut transaction = Transaction::new(
        protocol,
        kind,
        status,
        UserKey {
            account: key(40).account_id(),
            memo: None,
        },
        Asset::credit("USDC", key(30).account_id()).unwrap(),
        Timestamp::from_secs(NOW - updated_secs_ago),
    );
    transaction.amount_in = Some("10".parse().unwrap());
    transaction.amount_out = Some("9".parse().unwrap());
    transaction
}

struct Poller {
    service: payout_poller::Service<InMemoryStore, InMemoryQueue>,
    store: Arc<InMemoryStore>,
    withdrawals: Arc<InMemoryQueue>,
    outgoing: Arc<InMemoryQueue>,
}

fn poller() -> Poller {
    let store = Arc::new(InMemoryStore::default());
    let withdrawals = Arc::new(InMemoryQueue::default());
    let outgoing = Arc::new(InMemoryQueue::default());
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
            withdrawals: withdrawals.clone(),
            outgoing: outgoing.clone(),
            clock: Arc::new(FixedClock::at(NOW)),
        },
    )
    .unwrap();
    Poller {
        service,
        store,
        withdrawals,
        outgoing,
    }
}

impl Poller {
    async fn run(&self) -> serde_json::Value {
        let event: serde_json::Value =
            serde_json::from_str(include_str!("events/schedule.json")).unwrap();
        payout_poller::handle(&self.service, event).await.unwrap()
    }

    async fn status(&self, transaction: &Transaction) -> TransactionStatus {
        self.store
            .get(&transaction.id)
            .await
            .unwrap()
            .unwrap()
            .status
    }
}

#[tokio::test]
async fn a_scheduled_run_checks_the_pending_payouts() {
    let poller = poller();
    let withdrawal = transaction(
        Protocol::Sep24,
        Kind::Withdrawal,
        TransactionStatus::PendingExternal,
        60,
    );
    let received = transaction(
        Protocol::Sep31,
        Kind::Receive,
        TransactionStatus::PendingExternal,
        60,
    );
    for t in [&withdrawal, &received] {
        poller.store.insert(t).await.unwrap();
    }
    let report = poller.run().await;
    assert_eq!(report["checked"], 2);
    assert_eq!(report["completed"], 0);
    for t in [&withdrawal, &received] {
        assert_eq!(poller.status(t).await, TransactionStatus::PendingExternal);
    }
}

#[tokio::test]
async fn stalled_sep31_payouts_go_to_the_operator_or_back_to_the_outgoing_queue() {
    let poller = poller();
    // Claimed ten minutes ago, never finished: its outcome is unknown.
    let mut claimed = transaction(
        Protocol::Sep31,
        Kind::Receive,
        TransactionStatus::PendingReceiver,
        600,
    );
    claimed.payout_started_at = Some(Timestamp::from_secs(NOW - 600));
    // Received ten minutes ago and never claimed: its message was lost.
    let lost = transaction(
        Protocol::Sep31,
        Kind::Receive,
        TransactionStatus::PendingReceiver,
        600,
    );
    // Received a moment ago: its message may still be on its way.
    let fresh = transaction(
        Protocol::Sep31,
        Kind::Receive,
        TransactionStatus::PendingReceiver,
        10,
    );
    for t in [&claimed, &lost, &fresh] {
        poller.store.insert(t).await.unwrap();
    }

    let report = poller.run().await;
    assert_eq!(report["outgoing_handed_to_operator"], 1, "{report}");
    assert_eq!(report["outgoing_requeued"], 1, "{report}");
    assert_eq!(report["handed_to_operator"], 0, "{report}");
    assert_eq!(report["requeued"], 0, "{report}");
    assert_eq!(
        poller.status(&claimed).await,
        TransactionStatus::PendingExternal
    );
    assert_eq!(
        poller.status(&lost).await,
        TransactionStatus::PendingReceiver
    );
    assert_eq!(
        poller.status(&fresh).await,
        TransactionStatus::PendingReceiver
    );
    assert_eq!(
        poller.outgoing.messages(),
        [QueueMessage::new(lost.id.clone(), Kind::Receive)]
    );
    assert!(poller.withdrawals.messages().is_empty());
}

/// A customer of the sending anchor (account `key(40)`, this memo) with these fields.
async fn customer(store: &InMemoryStore, memo: u64, fields: &[(&str, &str)]) -> String {
    let mut customer = mooring::model::Customer::new(
        UserKey {
            account: key(40).account_id(),
            memo: Some(memo),
        },
        Timestamp::from_secs(NOW - 600),
    );
    for (name, value) in fields {
        customer.fields.insert((*name).into(), (*value).into());
    }
    mooring::store::CustomerStore::insert(store, &customer)
        .await
        .unwrap();
    customer.id
}

#[tokio::test]
async fn a_sep31_payment_whose_customers_are_complete_by_now_is_released() {
    let p = poller();
    let person = [
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("email_address", "ada@example.com"),
    ];
    let sender = customer(&p.store, 1, &person).await;
    let receiver = customer(
        &p.store,
        2,
        &[
            &person[..],
            &[
                ("bank_account_number", "DE89370400440532013000"),
                ("bank_number", "37040044"),
            ],
        ]
        .concat(),
    )
    .await;
    let lacking = customer(&p.store, 3, &person[..1]).await;
    let mut ready = transaction(
        Protocol::Sep31,
        Kind::Receive,
        TransactionStatus::PendingCustomerInfoUpdate,
        60,
    );
    ready.sender_id = Some(sender.clone());
    ready.receiver_id = Some(receiver);
    let mut waiting = ready.clone();
    waiting.id = "still-waiting".into();
    waiting.receiver_id = Some(lacking);
    for t in [&ready, &waiting] {
        p.store.insert(t).await.unwrap();
    }

    let answer = p.run().await;
    assert_eq!(answer["released"], 1, "{answer}");
    assert_eq!(p.status(&ready).await, TransactionStatus::PendingReceiver);
    assert_eq!(
        p.status(&waiting).await,
        TransactionStatus::PendingCustomerInfoUpdate
    );
    assert_eq!(
        p.outgoing.messages(),
        [QueueMessage::new(ready.id.clone(), Kind::Receive)]
    );
    assert!(p.withdrawals.messages().is_empty());
    assert_eq!(p.run().await["released"], 0, "released once");
}
