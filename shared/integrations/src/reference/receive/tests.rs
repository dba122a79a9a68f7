//! The reference SEP-31 hooks over the in-memory store and a local stand-in for the demo bank
//! (its answers as `infra/demo_bank` gives them: one payout per reference, closed accounts
//! refused with 422 and nothing recorded).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mooring::clock::FixedClock;
use mooring::config::AssetConfig;
use mooring::integrations::{CustomerIntegration, CustomerQuery, CustomerUpdate, FieldStatus};
use mooring::model::{Customer, Kind, Protocol, TransactionStatus, UserKey};
use mooring::stellar::Keypair;
use mooring::store::{InMemoryStore, StoreError};
use mooring::time::Timestamp;

use super::*;
use crate::reference::bank::tests::bank as local_bank;
use crate::reference::{DemoBank, KycSettings};

const ISSUER: &str = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";
const NOW: u64 = 1_700_000_000;
const IBAN: &str = "DE89370400440532013000";
const OTHER_IBAN: &str = "GB29NWBK60161331926819";
const CLOSED: &str = "account DE89370400440532013000 is closed";

/// A customer store that answers `Conflict` to the next `conflicts` updates, changing the stored
/// customer's account first when `change_account_to` is set (another writer got there first).
#[derive(Default)]
struct Racing {
    inner: InMemoryStore,
    conflicts: AtomicUsize,
    change_account_to: Mutex<Option<String>>,
}

impl CustomerStore for Racing {
    async fn insert(&self, customer: &Customer) -> Result<(), StoreError> {
        self.inner.insert(customer).await
    }

    async fn get(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        self.inner.get(id).await
    }

    async fn find_by_user(&self, user: &UserKey) -> Result<Option<Customer>, StoreError> {
        self.inner.find_by_user(user).await
    }

    async fn update(&self, customer: &mut Customer) -> Result<(), StoreError> {
        let racing = self
            .conflicts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if !racing {
            return self.inner.update(customer).await;
        }
        let change = self.change_account_to.lock().unwrap().take();
        if let Some(account) = change {
            let mut stored = self.inner.get(&customer.id).await?.expect("stored");
            stored.fields.insert(PAYOUT_FIELD.into(), account);
            stored.rejected_fields.clear();
            self.inner.update(&mut stored).await?;
        }
        Err(StoreError::Conflict)
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.delete(id).await
    }
}

/// The demo bank's payout rules, kept by the stand-in.
#[derive(Default)]
struct Book {
    closed: BTreeSet<String>,
    /// reference -> (payout id, amount, account)
    payouts: BTreeMap<String, (u64, String, String)>,
}

async fn demo_bank(book: Arc<Mutex<Book>>) -> (String, Arc<Mutex<Vec<String>>>) {
    local_bank(Arc::new(move |method: &str, path: &str, body: &str| {
        if (method, path) != ("POST", "/payouts") {
            return (404, r#"{"error": "not found"}"#.into());
        }
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        let reference = body["reference"].as_str().unwrap().to_owned();
        let amount = body["amount"].as_str().unwrap().to_owned();
        let account = body["account"].as_str().unwrap().to_owned();
        let mut book = book.lock().unwrap();
        let record = |id: u64, amount: &str, account: &str| {
            serde_json::json!({"id": id, "reference": reference, "amount": amount,
                               "currency": "USD", "account": account, "created_at": "x"})
            .to_string()
        };
        if let Some((id, paid, to)) = book.payouts.get(&reference) {
            if (paid, to) == (&amount, &account) {
                return (200, record(*id, paid, to));
            }
            return (409, r#"{"error": "exists"}"#.into());
        }
        if book.closed.contains(&account) {
            return (
                422,
                serde_json::json!({"error": format!("account {account} is closed"),
                                   "code": "account_closed"})
                .to_string(),
            );
        }
        let id = book.payouts.len() as u64 + 1;
        book.payouts
            .insert(reference.clone(), (id, amount.clone(), account.clone()));
        (201, record(id, &amount, &account))
    }))
    .await
}

struct Fixture {
    anchor: Anchor<Racing>,
    store: Arc<Racing>,
    asset: AssetConfig,
    book: Arc<Mutex<Book>>,
    requests: Arc<Mutex<Vec<String>>>,
}

/// The default KYC types without verification codes, so a customer completes in one PUT.
fn settings() -> KycSettings {
    KycSettings {
        verified: Vec::new(),
        ..KycSettings::default()
    }
}

async fn fixture_with(settings: KycSettings, with_bank: bool) -> Fixture {
    let store = Arc::new(Racing::default());
    let book = Arc::new(Mutex::new(Book::default()));
    let (url, requests) = demo_bank(book.clone()).await;
    let bank = with_bank.then(|| DemoBank::new(&url, Duration::from_secs(2)).unwrap());
    let asset: AssetConfig = serde_json::from_str(&format!(
        r#"{{"code": "USDC", "issuer": "{ISSUER}", "seps": ["sep31"],
            "receive": {{"min_amount": 1, "max_amount": 10000, "funding_methods": ["SEPA"]}}}}"#
    ))
    .expect("asset config");
    Fixture {
        anchor: Anchor::new(store.clone(), settings, Arc::new(FixedClock::at(NOW))).with_bank(bank),
        store,
        asset,
        book,
        requests,
    }
}

async fn fixture() -> Fixture {
    fixture_with(settings(), true).await
}

/// The sending anchor's account (seed 1) or another one's, with a memo per person.
fn user(seed: u8, memo: u64) -> UserKey {
    UserKey {
        account: Keypair::from_seed_bytes([seed; 32]).account_id(),
        memo: Some(memo),
    }
}

const PERSON: [(&str, &str); 3] = [
    ("first_name", "Ada"),
    ("last_name", "Lovelace"),
    ("email_address", "ada@example.com"),
];

fn receiver_fields(account: &str) -> Vec<(&str, &str)> {
    let mut fields = PERSON.to_vec();
    fields.extend([(PAYOUT_FIELD, account), ("bank_number", "37040044")]);
    fields
}

impl Fixture {
    /// `PUT /customer` with a type; the customer's id.
    async fn put(&self, user: UserKey, kyc_type: &str, fields: &[(&str, &str)]) -> String {
        let update = CustomerUpdate {
            user,
            id: None,
            kyc_type: Some(kyc_type.to_owned()),
            transaction_id: None,
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            verifications: BTreeMap::new(),
        };
        CustomerIntegration::put(&self.anchor, &update)
            .await
            .expect("customer saved")
    }

    /// A sender (memo 1) and a receiver (memo 2) of the sending anchor, both accepted.
    async fn parties(&self, account: &str) -> (String, String) {
        let sender = self.put(user(1, 1), SENDER_TYPE, &PERSON).await;
        let receiver = self
            .put(user(1, 2), RECEIVER_TYPE, &receiver_fields(account))
            .await;
        (sender, receiver)
    }

    fn transaction(&self, sender: Option<&str>, receiver: Option<&str>) -> Transaction {
        let mut transaction = Transaction::new(
            Protocol::Sep31,
            Kind::Receive,
            TransactionStatus::PendingSender,
            UserKey {
                account: Keypair::from_seed_bytes([1; 32]).account_id(),
                memo: None,
            },
            self.asset.asset.0.clone(),
            Timestamp::from_secs(NOW),
        );
        transaction.id = "5e5e5e5e-0000-4000-8000-000000000000".into();
        transaction.sender_id = sender.map(str::to_owned);
        transaction.receiver_id = receiver.map(str::to_owned);
        transaction.amount_in = Some("100".parse().unwrap());
        transaction.amount_out = Some("99.5".parse().unwrap());
        transaction
    }

    async fn post(&self, sender: Option<&str>, receiver: Option<&str>) -> PostAnswer {
        let sending_anchor = Keypair::from_seed_bytes([1; 32]).account_id();
        let body = serde_json::Map::new();
        let request = ReceiveRequest {
            asset: &self.asset,
            lang: Lang::En,
            body: &body,
            sending_anchor: &sending_anchor,
        };
        let mut transaction = self.transaction(sender, receiver);
        self.anchor
            .process_post_request(request, &mut transaction)
            .await
            .expect("an answer")
    }

    async fn pay(&self, transaction: &Transaction) -> Result<OutgoingOutcome, IntegrationError> {
        self.anchor.execute_outgoing_transaction(transaction).await
    }

    async fn customer(&self, id: &str) -> Customer {
        self.store.inner.get(id).await.unwrap().expect("stored")
    }

    /// SEP-12 `GET /customer` of the receiver (memo 2), for a transaction or none.
    async fn receiver_info(
        &self,
        id: &str,
        transaction_id: Option<&str>,
    ) -> mooring::integrations::CustomerInfo {
        let query = CustomerQuery {
            user: user(1, 2),
            id: Some(id.to_owned()),
            kyc_type: Some(RECEIVER_TYPE.to_owned()),
            transaction_id: transaction_id.map(str::to_owned),
            lang: "en".into(),
        };
        CustomerIntegration::get(&self.anchor, &query)
            .await
            .expect("info")
    }

    fn paid(&self) -> Vec<(String, String, String)> {
        self.book
            .lock()
            .unwrap()
            .payouts
            .iter()
            .map(|(reference, (_, amount, account))| {
                (reference.clone(), amount.clone(), account.clone())
            })
            .collect()
    }
}

fn needs(kyc_type: &str) -> PostAnswer {
    PostAnswer::CustomerInfoNeeded {
        kyc_type: kyc_type.to_owned(),
    }
}

#[tokio::test]
async fn a_post_needs_an_accepted_sender_then_receiver_of_the_sending_anchor() {
    let f = fixture().await;
    let (sender, receiver) = f.parties(IBAN).await;
    // Customers of the same sending anchor that are not accepted for the type asked.
    let incomplete = f
        .put(user(1, 3), SENDER_TYPE, &[("first_name", "Bob")])
        .await;
    let only_a_sender = f.put(user(1, 4), SENDER_TYPE, &PERSON).await;
    // Another anchor's complete customers.
    let foreign_sender = f.put(user(2, 1), SENDER_TYPE, &PERSON).await;
    let foreign_receiver = f
        .put(user(2, 2), RECEIVER_TYPE, &receiver_fields(IBAN))
        .await;
    let long = "x".repeat(5000);

    for bad_sender in [
        None,
        Some("no-such-customer"),
        Some(long.as_str()),
        Some(foreign_sender.as_str()),
        Some(incomplete.as_str()),
    ] {
        assert_eq!(
            f.post(bad_sender, Some(&receiver)).await,
            needs(SENDER_TYPE),
            "sender {bad_sender:?}"
        );
        assert_eq!(
            f.post(bad_sender, None).await,
            needs(SENDER_TYPE),
            "the sender is checked first"
        );
    }
    for bad_receiver in [
        None,
        Some("no-such-customer"),
        Some(foreign_receiver.as_str()),
        Some(only_a_sender.as_str()),
    ] {
        assert_eq!(
            f.post(Some(&sender), bad_receiver).await,
            needs(RECEIVER_TYPE),
            "receiver {bad_receiver:?}"
        );
    }
    assert_eq!(
        f.post(Some(&sender), Some(&receiver)).await,
        PostAnswer::Accepted
    );
    assert!(
        f.requests.lock().unwrap().is_empty(),
        "the bank is not asked"
    );
}

#[tokio::test]
async fn a_post_waits_for_verification_codes() {
    let f = fixture_with(KycSettings::default(), true).await;
    let (sender, receiver) = f.parties(IBAN).await;
    assert_eq!(
        f.post(Some(&sender), Some(&receiver)).await,
        needs(SENDER_TYPE),
        "the email's code was not sent back"
    );
}

#[tokio::test]
async fn the_receiver_is_paid_once_by_the_transaction_id() {
    let f = fixture().await;
    let (sender, receiver) = f.parties("de89 3704 0044 0532 0130 00").await;
    let transaction = f.transaction(Some(&sender), Some(&receiver));
    let done = OutgoingOutcome::Completed {
        external_transaction_id: Some("1".into()),
    };
    assert_eq!(f.pay(&transaction).await.unwrap(), done);
    // A redelivered message: the bank answers the payout already made (200).
    assert_eq!(f.pay(&transaction).await.unwrap(), done);
    assert_eq!(f.requests.lock().unwrap().len(), 2);
    assert_eq!(
        f.paid(),
        [(transaction.id.clone(), "99.5".into(), IBAN.into())],
        "paid once, to the account normalised"
    );
}

#[tokio::test]
async fn a_closed_account_is_rejected_until_the_sending_anchor_gives_another() {
    let f = fixture().await;
    f.book.lock().unwrap().closed.insert(IBAN.into());
    let (sender, receiver) = f.parties(IBAN).await;
    let transaction = f.transaction(Some(&sender), Some(&receiver));

    let OutgoingOutcome::CustomerInfoNeeded { message } = f.pay(&transaction).await.unwrap() else {
        panic!("the receiver's account must change");
    };
    assert!(message.contains(PAYOUT_FIELD), "{message}");
    assert!(message.contains(CLOSED), "{message}");
    assert!(f.paid().is_empty(), "nothing paid");
    let stored = f.customer(&receiver).await;
    let rejection = &stored.rejected_fields[PAYOUT_FIELD];
    assert_eq!(rejection.reason, CLOSED);
    assert_eq!(
        rejection.transaction_id.as_deref(),
        Some(transaction.id.as_str())
    );

    // SEP-12, for the transaction and without one: NEEDS_INFO, the account asked again.
    for transaction_id in [Some(transaction.id.as_str()), None] {
        let info = f.receiver_info(&receiver, transaction_id).await;
        assert_eq!(info.status, CustomerStatus::NeedsInfo, "{transaction_id:?}");
        assert_eq!(
            info.fields.keys().collect::<Vec<_>>(),
            [PAYOUT_FIELD],
            "{transaction_id:?}"
        );
        let provided = &info.provided_fields[PAYOUT_FIELD];
        assert_eq!(provided.status, Some(FieldStatus::Rejected));
        assert_eq!(provided.error.as_deref(), Some(CLOSED));
        assert_eq!(
            info.provided_fields["first_name"].status,
            Some(FieldStatus::Accepted)
        );
        let message = info.message.unwrap_or_default();
        assert!(message.contains(CLOSED), "{message}");
        assert_eq!(
            message.contains("for this transaction"),
            transaction_id.is_some(),
            "{message}"
        );
    }
    assert_eq!(
        f.anchor
            .customer_status(&receiver, RECEIVER_TYPE, Some(&transaction.id))
            .await
            .unwrap(),
        CustomerStatus::NeedsInfo
    );
    // A new transaction to the receiver is refused until the account changes.
    assert_eq!(
        f.post(Some(&sender), Some(&receiver)).await,
        needs(RECEIVER_TYPE)
    );
    // A redelivery does not ask the bank again.
    let asked = f.requests.lock().unwrap().len();
    assert!(matches!(
        f.pay(&transaction).await.unwrap(),
        OutgoingOutcome::CustomerInfoNeeded { .. }
    ));
    assert_eq!(f.requests.lock().unwrap().len(), asked);

    // The same account again keeps the rejection; another one clears it.
    f.put(user(1, 2), RECEIVER_TYPE, &[(PAYOUT_FIELD, IBAN)])
        .await;
    assert_eq!(
        f.anchor
            .customer_status(&receiver, RECEIVER_TYPE, Some(&transaction.id))
            .await
            .unwrap(),
        CustomerStatus::NeedsInfo
    );
    f.put(user(1, 2), RECEIVER_TYPE, &[(PAYOUT_FIELD, OTHER_IBAN)])
        .await;
    assert!(f.customer(&receiver).await.rejected_fields.is_empty());
    assert_eq!(
        f.anchor
            .customer_status(&receiver, RECEIVER_TYPE, Some(&transaction.id))
            .await
            .unwrap(),
        CustomerStatus::Accepted
    );
    // Mooring queues the payout again: the same reference, now paid to the new account.
    assert_eq!(
        f.pay(&transaction).await.unwrap(),
        OutgoingOutcome::Completed {
            external_transaction_id: Some("1".into())
        }
    );
    assert_eq!(
        f.paid(),
        [(transaction.id.clone(), "99.5".into(), OTHER_IBAN.into())]
    );
}

#[tokio::test]
async fn a_missing_or_malformed_account_is_rejected_without_asking_the_bank() {
    // A receiver type that does not require the account, so a receiver can lack it.
    let mut settings = settings();
    settings
        .required
        .insert(RECEIVER_TYPE.into(), vec!["first_name".into()]);
    let f = fixture_with(settings, true).await;
    let without = f
        .put(user(1, 5), RECEIVER_TYPE, &[("first_name", "Ann")])
        .await;
    let malformed = f
        .put(
            user(1, 6),
            RECEIVER_TYPE,
            &[("first_name", "Ben"), (PAYOUT_FIELD, "12")],
        )
        .await;
    for receiver in [&without, &malformed] {
        let transaction = f.transaction(None, Some(receiver));
        let outcome = f.pay(&transaction).await.unwrap();
        assert!(
            matches!(&outcome, OutgoingOutcome::CustomerInfoNeeded { message } if message.contains(PAYOUT_FIELD)),
            "{outcome:?}"
        );
        assert!(f
            .customer(receiver)
            .await
            .rejected_fields
            .contains_key(PAYOUT_FIELD));
        let status = f
            .anchor
            .customer_status(receiver, RECEIVER_TYPE, Some(&transaction.id))
            .await
            .unwrap();
        assert_eq!(status, CustomerStatus::NeedsInfo);
    }
    assert!(f.requests.lock().unwrap().is_empty());
    // Giving the account clears the rejection.
    f.put(user(1, 5), RECEIVER_TYPE, &[(PAYOUT_FIELD, IBAN)])
        .await;
    assert!(f.customer(&without).await.rejected_fields.is_empty());
}

#[tokio::test]
async fn without_a_bank_the_payout_is_the_operators() {
    let f = fixture_with(settings(), false).await;
    let (sender, receiver) = f.parties(IBAN).await;
    assert_eq!(
        f.pay(&f.transaction(Some(&sender), Some(&receiver)))
            .await
            .unwrap(),
        OutgoingOutcome::PendingExternal {
            external_transaction_id: None
        }
    );
}

#[tokio::test]
async fn a_payout_without_its_receiver_or_bank_fails_as_the_worker_expects() {
    let f = fixture().await;
    let (sender, receiver) = f.parties(IBAN).await;
    for receiver in [None, Some("gone")] {
        let error = f
            .pay(&f.transaction(Some(&sender), receiver))
            .await
            .unwrap_err();
        assert!(matches!(error, IntegrationError::Invalid(_)), "{error:?}");
    }
    let mut no_amount = f.transaction(Some(&sender), Some(&receiver));
    no_amount.amount_out = None;
    assert!(matches!(
        f.pay(&no_amount).await,
        Err(IntegrationError::Internal(_))
    ));

    let (down, _) = local_bank(Arc::new(|_, _: &str, _| (503, "{}".into()))).await;
    let anchor = Anchor::new(f.store.clone(), settings(), Arc::new(FixedClock::at(NOW)))
        .with_bank(Some(DemoBank::new(&down, Duration::from_secs(2)).unwrap()));
    let error = anchor
        .execute_outgoing_transaction(&f.transaction(Some(&sender), Some(&receiver)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, IntegrationError::Unavailable(_)),
        "{error:?}"
    );
    assert!(f.customer(&receiver).await.rejected_fields.is_empty());
}

#[tokio::test]
async fn recording_a_rejection_retries_concurrent_changes() {
    let f = fixture().await;
    f.book.lock().unwrap().closed.insert(IBAN.into());
    let (sender, receiver) = f.parties(IBAN).await;
    let transaction = f.transaction(Some(&sender), Some(&receiver));

    // Two writers got there first: the third write records it.
    f.store.conflicts.store(2, Ordering::SeqCst);
    assert!(matches!(
        f.pay(&transaction).await.unwrap(),
        OutgoingOutcome::CustomerInfoNeeded { .. }
    ));
    assert!(f
        .customer(&receiver)
        .await
        .rejected_fields
        .contains_key(PAYOUT_FIELD));

    // A customer that never stops changing: retried later (nothing was paid).
    f.put(
        user(1, 2),
        RECEIVER_TYPE,
        &[(PAYOUT_FIELD, "DE44500105175407324931")],
    )
    .await;
    f.book
        .lock()
        .unwrap()
        .closed
        .insert("DE44500105175407324931".into());
    f.store.conflicts.store(usize::MAX, Ordering::SeqCst);
    let error = f.pay(&transaction).await.unwrap_err();
    assert!(
        matches!(error, IntegrationError::Unavailable(_)),
        "{error:?}"
    );
    f.store.conflicts.store(0, Ordering::SeqCst);
    assert!(f.customer(&receiver).await.rejected_fields.is_empty());
}

#[tokio::test]
async fn a_rejection_is_not_recorded_on_an_account_changed_meanwhile() {
    let f = fixture().await;
    f.book.lock().unwrap().closed.insert(IBAN.into());
    let (sender, receiver) = f.parties(IBAN).await;
    let transaction = f.transaction(Some(&sender), Some(&receiver));
    // While the bank refuses the old account, the sending anchor gives a new one.
    f.store.conflicts.store(1, Ordering::SeqCst);
    *f.store.change_account_to.lock().unwrap() = Some(OTHER_IBAN.into());
    let error = f.pay(&transaction).await.unwrap_err();
    assert!(
        matches!(error, IntegrationError::Unavailable(_)),
        "nothing was paid: retried with the new account ({error:?})"
    );
    assert!(f.customer(&receiver).await.rejected_fields.is_empty());
    assert_eq!(
        f.pay(&transaction).await.unwrap(),
        OutgoingOutcome::Completed {
            external_transaction_id: Some("1".into())
        }
    );
    assert_eq!(
        f.paid(),
        [(transaction.id.clone(), "99.5".into(), OTHER_IBAN.into())]
    );
}
