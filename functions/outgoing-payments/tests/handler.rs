//! The outgoing-payments worker's Lambda handler over in-memory adapters: an SQS batch (fixture
//! `events/sqs_batch.json`) delivering the same SEP-31 payment twice, a message for a
//! transaction that does not exist and an unreadable one; then the whole batch again. The
//! receiver is the sending anchor's SEP-12 customer with a bank account; without a bank
//! (`DEMO_BANK_URL` unset) the reference rail leaves the payout to the operator
//! (`pending_external`).

use std::collections::BTreeMap;
use std::sync::Arc;

use anchor_integrations::register_integrations;
use mooring::clock::{Clock, FixedClock};
use mooring::integrations::{CustomerIntegration, CustomerUpdate, RECEIVER_TYPE};
use mooring::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::stellar::{Asset, Keypair, Network};
use mooring::store::{InMemoryStore, TransactionStore};
use mooring::time::Timestamp;
use outgoing_payments::SqsEvent;

const NOW: u64 = 1_700_000_000;
/// The unreadable message of the fixture.
const UNREADABLE: &str = "a1b2c3d4-0000-4000-8000-00000000beef";

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

fn settings() -> BTreeMap<String, String> {
    [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &key(1).account_id().to_string()),
        ("KYC_VERIFIED_FIELDS", "none"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect()
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::at(NOW))
}

/// The sending anchor's receiver, registered through SEP-12 with the account to pay; its id.
async fn receiver(store: &Arc<InMemoryStore>) -> String {
    let kyc = register_integrations(
        &settings(),
        anchor_integrations::Ports::new(store, &clock()),
    )
    .expect("integration");
    let fields = [
        ("first_name", "Grace"),
        ("last_name", "Hopper"),
        ("email_address", "grace@example.com"),
        ("bank_account_number", "DE89370400440532013000"),
        ("bank_number", "37040044"),
    ];
    let update = CustomerUpdate {
        user: UserKey {
            account: key(40).account_id(),
            memo: Some(2),
        },
        id: None,
        kyc_type: Some(RECEIVER_TYPE.to_owned()),
        transaction_id: None,
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        verifications: BTreeMap::new(),
    };
    CustomerIntegration::put(&kyc, &update)
        .await
        .expect("customer saved")
}

/// A SEP-31 payment whose Stellar payment arrived: ready for its payout to `receiver_id`.
fn received(receiver_id: &str) -> Transaction {
    let usdc = Asset::credit("USDC", key(30).account_id()).expect("asset");
    let sending_anchor = UserKey {
        account: key(40).account_id(),
        memo: None,
    };
    let mut transaction = Transaction::new(
        Protocol::Sep31,
        Kind::Receive,
        TransactionStatus::PendingReceiver,
        sending_anchor,
        usdc,
        Timestamp::from_secs(NOW - 60),
    );
    transaction.amount_in = Some("100".parse().expect("amount"));
    transaction.amount_out = Some("98.5".parse().expect("amount"));
    transaction.funding_method = Some("SEPA".into());
    transaction.sender_id = Some("sender-1".into());
    transaction.receiver_id = Some(receiver_id.to_owned());
    transaction
}

fn service(store: &Arc<InMemoryStore>) -> outgoing_payments::Service<InMemoryStore> {
    outgoing_payments::service(
        &settings(),
        outgoing_payments::Ports {
            store: store.clone(),
            clock: clock(),
            submissions: Arc::new(mooring::queue::InMemoryQueue::default()),
        },
    )
    .expect("service")
}

fn batch(transaction: &Transaction) -> SqsEvent {
    let json = include_str!("events/sqs_batch.json").replace("__RECEIVE__", &transaction.id);
    serde_json::from_str(&json).expect("an SQS event")
}

#[tokio::test]
async fn a_payment_is_paid_out_once_and_only_the_unreadable_message_fails() {
    let store = Arc::new(InMemoryStore::default());
    let transaction = received(&receiver(&store).await);
    store.insert(&transaction).await.expect("insert");
    let service = service(&store);

    // The payment twice in one batch, an unknown transaction (acknowledged: nothing to do),
    // an unreadable body (retried, then the dead-letter queue).
    let response = outgoing_payments::handle(&service, batch(&transaction)).await;
    assert_eq!(response.failed_ids(), [UNREADABLE]);
    let paid = store
        .get(&transaction.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(paid.status, TransactionStatus::PendingExternal);

    // Delivered again: the claim and the outcome stand, nothing is written.
    let again = outgoing_payments::handle(&service, batch(&transaction)).await;
    assert_eq!(again.failed_ids(), [UNREADABLE]);
    let after = store
        .get(&transaction.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(after.status, TransactionStatus::PendingExternal);
    assert_eq!(after.version, paid.version);
}

#[tokio::test]
async fn a_transaction_of_another_kind_is_left_alone() {
    let store = Arc::new(InMemoryStore::default());
    let mut withdrawal = received(&receiver(&store).await);
    withdrawal.protocol = Protocol::Sep24;
    withdrawal.kind = Kind::Withdrawal;
    withdrawal.status = TransactionStatus::PendingAnchor;
    store.insert(&withdrawal).await.expect("insert");
    let service = service(&store);

    let response = outgoing_payments::handle(&service, batch(&withdrawal)).await;
    assert_eq!(response.failed_ids(), [UNREADABLE]);
    let stored = store
        .get(&withdrawal.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.status, TransactionStatus::PendingAnchor);
    assert_eq!(stored.version, withdrawal.version);
}
