//! Tests of the SEP-12 service with a stub integration and the in-memory adapters: the SEP-31
//! release of transactions once their customers are complete (races and queue failures
//! included). The full wallet flows over the reference integration are in
//! `functions/sep12-kyc/tests`.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::*;
use crate::clock::FixedClock;
use crate::config::Secret;
use crate::integrations::{FieldSpec, ProgrammaticIntegration};
use crate::model::{CustomerStatus, Kind, Protocol, Transaction, TransactionStatus, UserKey};
use crate::queue::QueueMessage;
use crate::queue::{InMemoryQueue, QueueError};
use crate::status_callbacks::dispatch::heard_statuses;
use crate::stellar::{Asset, Keypair};
use crate::store::files::InMemoryFileStore;
use crate::store::{InMemoryStore, Page, TransactionQuery};

const NOW: u64 = 1_700_000_000;

/// Customers are ACCEPTED once a PUT sends `complete`; ids are the users' accounts.
#[derive(Default)]
struct Stub {
    accepted: Mutex<HashSet<String>>,
}

impl ProgrammaticIntegration for Stub {}

impl CustomerIntegration for Stub {
    async fn get(&self, query: &CustomerQuery) -> Result<CustomerInfo, IntegrationError> {
        Ok(CustomerInfo {
            id: query.id.clone(),
            status: CustomerStatus::NeedsInfo,
            fields: BTreeMap::from([(
                "first_name".to_owned(),
                FieldSpec::sep9("first_name").unwrap(),
            )]),
            provided_fields: BTreeMap::new(),
            message: None,
        })
    }

    async fn put(&self, update: &CustomerUpdate) -> Result<String, IntegrationError> {
        let id = update.user.to_string();
        if update.fields.contains_key("first_name") {
            self.accepted.lock().unwrap().insert(id.clone());
        }
        Ok(id)
    }

    async fn delete(&self, _user: &UserKey) -> Result<(), IntegrationError> {
        Ok(())
    }

    async fn customer_status(
        &self,
        id: &str,
        _kyc_type: &str,
        _transaction_id: Option<&str>,
    ) -> Result<CustomerStatus, IntegrationError> {
        Ok(if self.accepted.lock().unwrap().contains(id) {
            CustomerStatus::Accepted
        } else {
            CustomerStatus::NeedsInfo
        })
    }
}

/// The in-memory store, where another worker can move a transaction just before our write.
#[derive(Default)]
struct Racing {
    inner: InMemoryStore,
    race: AtomicBool,
}

impl TransactionStore for Racing {
    async fn insert(&self, transaction: &Transaction) -> Result<(), StoreError> {
        self.inner.insert(transaction).await
    }

    async fn get(&self, id: &str) -> Result<Option<Transaction>, StoreError> {
        TransactionStore::get(&self.inner, id).await
    }

    async fn update(
        &self,
        transaction: &mut Transaction,
        expected: TransactionStatus,
    ) -> Result<(), StoreError> {
        if self.race.swap(false, Ordering::SeqCst) {
            let mut theirs = TransactionStore::get(&self.inner, &transaction.id)
                .await?
                .unwrap();
            theirs.status = TransactionStatus::PendingReceiver;
            TransactionStore::update(&self.inner, &mut theirs, expected).await?;
        }
        TransactionStore::update(&self.inner, transaction, expected).await
    }

    async fn list_for_user(
        &self,
        query: &TransactionQuery,
    ) -> Result<Page<Transaction>, StoreError> {
        self.inner.list_for_user(query).await
    }

    async fn list_by_status(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Transaction>, StoreError> {
        self.inner.list_by_status(kind, status, limit, cursor).await
    }

    async fn list_by_status_newest_first(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Transaction>, StoreError> {
        self.inner
            .list_by_status_newest_first(kind, status, limit, cursor)
            .await
    }

    async fn find_by_receiving_memo(
        &self,
        account: &crate::stellar::AccountId,
        memo_type: &str,
        memo: &str,
    ) -> Result<Option<Transaction>, StoreError> {
        self.inner
            .find_by_receiving_memo(account, memo_type, memo)
            .await
    }

    async fn find_by_stellar_transaction_id(
        &self,
        hash: &str,
    ) -> Result<Option<Transaction>, StoreError> {
        self.inner.find_by_stellar_transaction_id(hash).await
    }

    async fn find_by_external_id(&self, id: &str) -> Result<Option<Transaction>, StoreError> {
        self.inner.find_by_external_id(id).await
    }
}

struct DownQueue;

impl Queue for DownQueue {
    async fn send(&self, _message: &QueueMessage) -> Result<(), QueueError> {
        Err(QueueError::Unavailable("connection refused".into()))
    }
}

fn service<Q: Queue>(
    transactions: Arc<Racing>,
    queue: Arc<Q>,
) -> Kyc<Stub, Racing, InMemoryFileStore, Q> {
    let clock = Arc::new(FixedClock::at(NOW));
    let auth = Authenticator::new(
        &crate::auth::AuthConfig {
            jwt_secret: Secret::new("s".repeat(32)),
            jwt_previous: None,
            issuer: "https://anchor.example/auth".into(),
        },
        clock.clone(),
    );
    Kyc::new(
        Stub::default(),
        auth,
        transactions,
        Arc::new(InMemoryFileStore::with_clock(clock.clone())),
        queue,
        clock,
    )
}

/// The sending anchor's account; its users are memos 1, 2, ...
fn anchor() -> WebAuthUser {
    WebAuthUser {
        account: Keypair::from_seed_bytes([9; 32]).account_id(),
        memo: None,
        muxed: false,
    }
}

fn customer_id(memo: u64) -> String {
    UserKey {
        account: anchor().account,
        memo: Some(memo),
    }
    .to_string()
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn waiting(store: &Racing, sender: &str, receiver: &str) -> Transaction {
    let mut transaction = Transaction::new(
        Protocol::Sep31,
        Kind::Receive,
        TransactionStatus::PendingCustomerInfoUpdate,
        UserKey {
            account: anchor().account,
            memo: None,
        },
        Asset::Native,
        Timestamp::from_secs(NOW),
    );
    transaction.sender_id = Some(sender.to_owned());
    transaction.receiver_id = Some(receiver.to_owned());
    store.insert(&transaction).await.unwrap();
    transaction
}

async fn status(store: &Racing, id: &str) -> TransactionStatus {
    TransactionStore::get(store, id)
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn a_transaction_moves_once_all_its_customers_are_accepted() {
    let store = Arc::new(Racing::default());
    let queue = Arc::new(InMemoryQueue::default());
    let kyc = service(store.clone(), queue.clone());
    let (sender, receiver) = (customer_id(1), customer_id(2));
    let both = waiting(&store, &sender, &receiver).await;
    let receiver_only = waiting(&store, "nobody", &receiver).await;

    // The receiver is complete but neither transaction's sender is: nothing moves.
    kyc.put(
        &anchor(),
        &params(&[("memo", "2"), ("first_name", "R")]),
        Vec::new(),
    )
    .await
    .unwrap();
    assert!(queue.messages().is_empty());
    assert_eq!(
        status(&store, &both.id).await,
        TransactionStatus::PendingCustomerInfoUpdate
    );

    kyc.put(
        &anchor(),
        &params(&[("memo", "1"), ("first_name", "S")]),
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        queue.drain(),
        [QueueMessage::new(both.id.clone(), Kind::Receive)]
    );
    assert_eq!(
        status(&store, &both.id).await,
        TransactionStatus::PendingReceiver
    );
    assert_eq!(
        status(&store, &receiver_only.id).await,
        TransactionStatus::PendingCustomerInfoUpdate
    );

    // Again: nothing is waiting any more, nothing is queued twice.
    kyc.put(
        &anchor(),
        &params(&[("memo", "1"), ("first_name", "S")]),
        Vec::new(),
    )
    .await
    .unwrap();
    assert!(queue.messages().is_empty());
}

#[tokio::test]
async fn a_lost_race_is_skipped_and_not_queued() {
    let store = Arc::new(Racing::default());
    let queue = Arc::new(InMemoryQueue::default());
    let kyc = service(store.clone(), queue.clone());
    let id = customer_id(1);
    let transaction = waiting(&store, &id, &id).await;
    store.race.store(true, Ordering::SeqCst);
    kyc.put(
        &anchor(),
        &params(&[("memo", "1"), ("first_name", "S")]),
        Vec::new(),
    )
    .await
    .unwrap();
    // The other worker moved it (and queues it itself): we neither overwrite nor queue.
    let stored = TransactionStore::get(&*store, &transaction.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.status, stored.version),
        (TransactionStatus::PendingReceiver, 1)
    );
    assert!(queue.messages().is_empty());
}

#[tokio::test]
async fn a_queue_failure_does_not_fail_the_put() {
    let store = Arc::new(Racing::default());
    let kyc = service(store.clone(), Arc::new(DownQueue));
    let id = customer_id(1);
    let transaction = waiting(&store, &id, &id).await;
    let answer = kyc
        .put(
            &anchor(),
            &params(&[("memo", "1"), ("first_name", "S")]),
            Vec::new(),
        )
        .await;
    assert_eq!(answer.unwrap(), id);
    assert_eq!(
        status(&store, &transaction.id).await,
        TransactionStatus::PendingReceiver
    );
}

#[tokio::test]
async fn verification_needs_an_id_and_codes() {
    let store = Arc::new(Racing::default());
    let kyc = service(store, Arc::new(InMemoryQueue::default()));
    for (pairs, message) in [
        (
            vec![("email_address_verification", "1")],
            "'id' is required",
        ),
        (vec![("id", "x")], "at least one"),
        (
            vec![("id", "x"), ("first_name", "A")],
            "is not a <SEP-9 field>_verification",
        ),
    ] {
        let error = kyc.verify(&anchor(), &params(&pairs)).await.unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(error.to_string().contains(message), "{error}");
    }
    // The stub does not support verification: the integration's refusal is a 400.
    let error = kyc
        .verify(
            &anchor(),
            &params(&[("id", "x"), ("email_address_verification", "1")]),
        )
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "verification is not supported");
}

#[test]
fn integration_errors_map_to_statuses_in_one_place() {
    let cases = [
        (IntegrationError::invalid("bad"), 400, "bad"),
        (IntegrationError::NotFound, 404, "customer not found"),
        (
            IntegrationError::Unavailable("db down".into()),
            503,
            "the customer service is unavailable; try again",
        ),
        (
            IntegrationError::Internal("bug".into()),
            500,
            "internal error",
        ),
    ];
    for (error, status, message) in cases {
        let api: ApiError = error.into();
        assert_eq!(api.status(), status);
        assert_eq!(api.to_string(), message);
    }
    let conflict: IntegrationError = StoreError::Conflict.into();
    assert!(matches!(conflict, IntegrationError::Unavailable(_)));
}

#[test]
fn customer_info_always_lists_fields_when_info_is_needed() {
    let needs = CustomerInfo {
        id: None,
        status: CustomerStatus::NeedsInfo,
        fields: BTreeMap::new(),
        provided_fields: BTreeMap::new(),
        message: None,
    };
    assert_eq!(
        serde_json::to_value(&needs).unwrap(),
        serde_json::json!({"status": "NEEDS_INFO", "fields": {}})
    );
    let mut spec = FieldSpec::sep9("sex").unwrap();
    spec.status = Some(crate::integrations::FieldStatus::VerificationRequired);
    let accepted = CustomerInfo {
        id: Some("c".into()),
        status: CustomerStatus::Accepted,
        fields: BTreeMap::new(),
        provided_fields: BTreeMap::from([("sex".to_owned(), spec)]),
        message: Some("ok".into()),
    };
    assert_eq!(
        serde_json::to_value(&accepted).unwrap(),
        serde_json::json!({"id": "c", "status": "ACCEPTED", "message": "ok",
            "provided_fields": {"sex": {"type": "string", "description": "Sex: male, female or other",
                "choices": ["male", "female", "other"], "status": "VERIFICATION_REQUIRED"}}})
    );
}

/// A SEP-6 transfer of `memo`'s user waiting for its customer (`pending_customer_info_update`).
async fn waiting_transfer(store: &Racing, memo: u64) -> Transaction {
    let transaction = Transaction::new(
        Protocol::Sep6,
        Kind::Deposit,
        TransactionStatus::PendingCustomerInfoUpdate,
        UserKey {
            account: anchor().account,
            memo: Some(memo),
        },
        Asset::Native,
        Timestamp::from_secs(NOW),
    );
    store.insert(&transaction).await.unwrap();
    transaction
}

#[tokio::test]
async fn a_put_moves_the_users_sep6_transfers_waiting_for_kyc_on_and_no_one_elses() {
    let store = Arc::new(Racing::default());
    let native: crate::config::AssetConfig = serde_json::from_str(
        r#"{"code": "native", "seps": ["sep6"], "deposit": {"funding_methods": ["cash"]}}"#,
    )
    .unwrap();
    let kyc = service(store.clone(), Arc::new(InMemoryQueue::default()))
        .with_transfer_assets(vec![native]);
    let mine = waiting_transfer(&store, 3).await;
    let another_users = waiting_transfer(&store, 4).await;

    // The stub's SEP-6 hooks answer "ready": the PUT moves the user's transfer on.
    kyc.put(
        &anchor(),
        &params(&[("memo", "3"), ("first_name", "Ada")]),
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        status(&store, &mine.id).await,
        TransactionStatus::PendingUserTransferStart
    );
    assert_eq!(
        status(&store, &another_users.id).await,
        TransactionStatus::PendingCustomerInfoUpdate
    );
}

/// The release is one write, so the sending anchor hears of it once (the stream path), however
/// often the customer is put.
#[tokio::test]
async fn a_released_transaction_is_heard_once() {
    let store = Arc::new(Racing {
        inner: InMemoryStore::with_stream(),
        ..Racing::default()
    });
    let queue = Arc::new(InMemoryQueue::default());
    let kyc = service(store.clone(), queue.clone());
    let id = customer_id(1);
    let mut transaction = waiting(&store, &id, &id).await;
    transaction.callback_url = Some("https://sender.example/cb".into());
    TransactionStore::update(
        &store.inner,
        &mut transaction,
        TransactionStatus::PendingCustomerInfoUpdate,
    )
    .await
    .unwrap();
    store.inner.take_stream();
    for _ in 0..2 {
        kyc.put(
            &anchor(),
            &params(&[("memo", "1"), ("first_name", "S")]),
            Vec::new(),
        )
        .await
        .unwrap();
    }
    assert_eq!(
        heard_statuses(store.inner.take_stream()),
        [(transaction.id.clone(), "pending_receiver".to_owned())]
    );
}
