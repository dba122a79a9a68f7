//! The DynamoDB adapters against a DynamoDB emulator: the conformance suites every adapter passes,
//! and what only these adapters can get wrong (paging through index queries, cursors, TTL
//! leftovers, errors; files in chunks, interrupted writes and deletes).
//!
//! The tables are created from template.yaml by `infra/local_stack/tables.py`, which prints the
//! variables read here (`tests/run.sh` does all of it):
//! `MOORING_TEST_DYNAMODB_ENDPOINT`, `MOORING_TEST_TRANSACTIONS_TABLE`,
//! `MOORING_TEST_CUSTOMERS_TABLE`, `MOORING_TEST_CHALLENGES_TABLE`, `MOORING_TEST_FILES_TABLE`,
//! `MOORING_TEST_WORKER_STATE_TABLE`, `MOORING_TEST_PAYMENTS_TABLE`, `MOORING_TEST_QUOTES_TABLE`.
//! Without them the emulator tests are skipped, except under CI (`CI` set), where skipping would
//! hide a broken setup.

#![cfg(feature = "dynamodb")]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use mooring::decimal::Decimal;
use mooring::model::{
    IncomingPayment, Kind, PaymentOutcome, Protocol, Quote, QuoteContext, QuoteFee, Transaction,
    TransactionStatus, UserKey,
};
use mooring::stellar::{Asset, Keypair};
use mooring::store::dynamodb::files::{DynamoFileStore, CHUNK_BYTES};
use mooring::store::dynamodb::{config_loader, DynamoStore, TableNames};
use mooring::store::files::{self, FileStore, StoredFile};
use mooring::store::{
    conformance, ChallengeStore, ChannelLease, ChannelLeases, Cursors, IncomingPayments,
    QuoteStore, StoreError, TransactionQuery, TransactionStore,
};
use mooring::time::Timestamp;

/// The emulator's endpoint, then the transactions, customers, challenges, files, worker state,
/// payments and quotes tables.
const VARIABLES: [&str; 8] = [
    "MOORING_TEST_DYNAMODB_ENDPOINT",
    "MOORING_TEST_TRANSACTIONS_TABLE",
    "MOORING_TEST_CUSTOMERS_TABLE",
    "MOORING_TEST_CHALLENGES_TABLE",
    "MOORING_TEST_FILES_TABLE",
    "MOORING_TEST_WORKER_STATE_TABLE",
    "MOORING_TEST_PAYMENTS_TABLE",
    "MOORING_TEST_QUOTES_TABLE",
];

struct Emulator {
    endpoint: String,
    sdk: aws_config::SdkConfig,
    client: Client,
    tables: TableNames,
    files: String,
}

/// The emulator's client and tables, or None (after saying so) when the variables are unset.
async fn emulator() -> Option<Emulator> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let [Some(endpoint), Some(transactions), Some(customers), Some(challenges), Some(files), Some(worker_state), Some(payments), Some(quotes)] =
        VARIABLES.map(var)
    else {
        let missing: Vec<&str> = VARIABLES
            .into_iter()
            .filter(|name| var(name).is_none())
            .collect();
        let some_set = missing.len() < VARIABLES.len();
        let message = format!(
            "the DynamoDB emulator tests need {} (tests/run.sh sets them up)",
            missing.join(", ")
        );
        // Half a configuration is a broken setup, not an opted-out one.
        if std::env::var_os("CI").is_some() || some_set {
            panic!("{message}");
        }
        eprintln!("skipped: {message}");
        return None;
    };
    let sdk = sdk_config(&endpoint, true).await;
    Some(Emulator {
        client: Client::new(&sdk),
        sdk,
        endpoint,
        tables: TableNames {
            transactions,
            customers,
            challenges,
            worker_state: Some(worker_state),
            payments: Some(payments),
            quotes: Some(quotes),
        },
        files,
    })
}

/// A client of the crate's own configuration (HTTP client, timeouts), pointed at `endpoint`.
async fn client(endpoint: &str, retries: bool) -> Client {
    Client::new(&sdk_config(endpoint, retries).await)
}

async fn sdk_config(endpoint: &str, retries: bool) -> aws_config::SdkConfig {
    let mut loader = config_loader()
        .expect("AWS settings")
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"));
    if !retries {
        // An unreachable endpoint fails on the first attempt instead of after backoffs.
        loader = loader.retry_config(aws_config::retry::RetryConfig::disabled());
    }
    loader.load().await
}

/// The store as a function builds it: the hot calls direct, the rest through the SDK.
fn store(emulator: &Emulator) -> DynamoStore {
    DynamoStore::with_config(&emulator.sdk, emulator.tables.clone()).expect("store")
}

fn fresh_user() -> UserKey {
    UserKey {
        account: Keypair::random().account_id(),
        memo: None,
    }
}

fn transaction(user: UserKey, kind: Kind, started_ms: i64) -> Transaction {
    Transaction::new(
        Protocol::Sep24,
        kind,
        TransactionStatus::Incomplete,
        user,
        Asset::Native,
        Timestamp::from_millis(started_ms),
    )
}

fn query(user: UserKey, limit: usize) -> TransactionQuery {
    TransactionQuery {
        user,
        protocol: None,
        asset_code: None,
        kinds: Vec::new(),
        no_older_than: None,
        limit,
        cursor: None,
        before: None,
    }
}

#[tokio::test]
async fn passes_the_conformance_suite() {
    let Some(emulator) = emulator().await else {
        return;
    };
    // Every call through the SDK, as the direct calls fall back to it.
    conformance::run_all(&DynamoStore::new(
        emulator.client.clone(),
        emulator.tables.clone(),
    ))
    .await;
    let store = store(&emulator);
    conformance::run_all(&store).await;
    let (answered, unanswered) = store.direct_calls().expect("direct calls");
    assert!(answered > 100, "the hot calls go direct: {answered}");
    assert_eq!(unanswered, 0, "the emulator answers every direct call");

    // A lease's item, and none after its release. Channels are shared by every lease in these
    // tables, so only this test (after the suite's checks) leases them, from after the suite's
    // leases ended.
    let worker_state = emulator
        .tables
        .worker_state
        .clone()
        .expect("worker state table");
    let now = Timestamp::from_millis(Timestamp::now().millis() + 1000);
    let until = Timestamp::from_millis(now.millis() + 100);
    let lease = store
        .lease(1, "inspector", now, until)
        .await
        .expect("lease")
        .expect("free");
    let item = raw_item(&emulator, &worker_state, "key", "channel#0")
        .await
        .expect("stored");
    assert_eq!(
        item.get("holder"),
        Some(&AttributeValue::S("inspector".into()))
    );
    assert_eq!(
        item.get("until"),
        Some(&AttributeValue::N(until.millis().to_string()))
    );
    store.release(&lease).await.expect("release");
    assert_eq!(
        raw_item(&emulator, &worker_state, "key", "channel#0").await,
        None,
        "a released lease leaves no item"
    );
}

/// An item as stored, read strongly consistently.
async fn raw_item(emulator: &Emulator, table: &str, key: &str, value: &str) -> Option<Item> {
    emulator
        .client
        .get_item()
        .table_name(table)
        .key(key, AttributeValue::S(value.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item
}

#[tokio::test]
async fn a_filter_reads_on_until_the_page_is_full() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = store(&emulator);
    let user = fresh_user();
    let base = 1_700_000_000_000;
    // Three deposits, oldest, behind 250 newer withdrawals: listing deposits newest first has to
    // read through several queries' worth of non-matching items before the page fills.
    let mut deposits = Vec::new();
    for i in 0..3 {
        let t = transaction(user, Kind::Deposit, base + i);
        store.insert(&t).await.expect("insert");
        deposits.push(t.id);
    }
    for i in 0..250 {
        store
            .insert(&transaction(user, Kind::Withdrawal, base + 1000 + i))
            .await
            .expect("insert");
    }
    let mut q = query(user, 2);
    q.kinds = vec![Kind::Deposit];
    let first = store.list_for_user(&q).await.expect("list");
    let ids: Vec<&str> = first.items.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [&deposits[2], &deposits[1]],
        "a full page, newest first"
    );
    q.cursor = Some(first.next.expect("a third deposit follows"));
    let second = store.list_for_user(&q).await.expect("list");
    let ids: Vec<&str> = second.items.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, [&deposits[0]]);
    assert_eq!(second.next, None, "nothing follows the oldest");

    // A page that ends exactly at the last match has no cursor to an empty page.
    q.cursor = None;
    q.limit = 3;
    let exact = store.list_for_user(&q).await.expect("list");
    assert_eq!(exact.items.len(), 3);
    assert_eq!(exact.next, None);

    // Without a filter, pages are exact too, and the last one has no next.
    let mut everything = query(user, 100);
    let mut total = 0;
    let mut pages = 0;
    loop {
        let page = store.list_for_user(&everything).await.expect("list");
        assert!(
            !page.items.is_empty(),
            "no empty page is reached by a cursor"
        );
        total += page.items.len();
        pages += 1;
        match page.next {
            Some(next) => everything.cursor = Some(next),
            None => break,
        }
    }
    assert_eq!((total, pages), (253, 3));
}

#[tokio::test]
async fn a_full_page_looks_ahead_before_offering_a_next_page() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = store(&emulator);
    let user = fresh_user();
    let base = 1_700_000_000_000;
    // The newest transaction is the only deposit; 150 older withdrawals follow it, more than one
    // query reads. The page of one deposit is full at once, and nothing after it matches.
    let deposit = transaction(user, Kind::Deposit, base + 1000);
    store.insert(&deposit).await.expect("insert");
    for i in 0..150 {
        store
            .insert(&transaction(user, Kind::Withdrawal, base + i))
            .await
            .expect("insert");
    }
    let mut q = query(user, 1);
    q.kinds = vec![Kind::Deposit];
    let page = store.list_for_user(&q).await.expect("list");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, deposit.id);
    assert_eq!(page.next, None, "no cursor to an empty page");
}

#[tokio::test]
async fn garbage_and_foreign_cursors_are_refused() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = store(&emulator);
    let user = fresh_user();
    for i in 0..3 {
        store
            .insert(&transaction(user, Kind::Deposit, 1_700_000_000_000 + i))
            .await
            .expect("insert");
    }
    let page = store.list_for_user(&query(user, 1)).await.expect("list");
    let cursor = page.next.expect("more follow");

    for garbage in ["", "%%%", "e30", "bm90IGpzb24", &"x".repeat(10_000)] {
        let mut q = query(user, 1);
        q.cursor = Some(garbage.to_owned());
        assert_eq!(
            store.list_for_user(&q).await,
            Err(StoreError::InvalidCursor),
            "{garbage:.20}"
        );
    }
    let mut someone_else = query(fresh_user(), 1);
    someone_else.cursor = Some(cursor.clone());
    assert_eq!(
        store.list_for_user(&someone_else).await,
        Err(StoreError::InvalidCursor),
        "a cursor is bound to its user"
    );
    assert_eq!(
        store
            .list_by_status(
                Kind::Deposit,
                TransactionStatus::Incomplete,
                1,
                Some(&cursor)
            )
            .await,
        Err(StoreError::InvalidCursor),
        "and to its listing"
    );
    let mut own = query(user, 1);
    own.cursor = Some(cursor);
    assert_eq!(
        store.list_for_user(&own).await.expect("list").items.len(),
        1
    );
}

#[tokio::test]
async fn an_expired_challenge_left_by_lazy_ttl_counts_as_absent() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = store(&emulator);
    let hash = format!("{:064x}", random_u64());
    let past = Timestamp::from_millis(Timestamp::now().millis() - 60_000);
    assert!(store.consume(&hash, past).await.expect("consume"));
    // The emulator, like DynamoDB within its TTL delay, still holds the item.
    assert!(
        store.consume(&hash, past).await.expect("consume"),
        "an expired challenge is no longer known"
    );
    let future = Timestamp::from_millis(Timestamp::now().millis() + 60_000);
    assert!(store.consume(&hash, future).await.expect("consume"));
    assert!(!store.consume(&hash, future).await.expect("consume"));
}

#[tokio::test]
async fn an_undecodable_record_is_corrupt() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = store(&emulator);
    let t = transaction(fresh_user(), Kind::Deposit, 1);
    store.insert(&t).await.expect("insert");
    emulator
        .client
        .update_item()
        .table_name(&emulator.tables.transactions)
        .key("id", AttributeValue::S(t.id.clone()))
        .update_expression("SET #doc = :doc")
        .expression_attribute_names("#doc", "doc")
        .expression_attribute_values(":doc", AttributeValue::S("{\"id\": 1".into()))
        .send()
        .await
        .expect("overwrite");
    assert!(matches!(
        store.get(&t.id).await,
        Err(StoreError::Corrupt(_))
    ));
}

/// Needs no emulator: a port nothing listens on.
#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let store = DynamoStore::with_config(
        &sdk_config(&format!("http://127.0.0.1:{port}"), false).await,
        TableNames {
            transactions: "t".into(),
            customers: "c".into(),
            challenges: "h".into(),
            worker_state: Some("w".into()),
            payments: Some("p".into()),
            quotes: Some("q".into()),
        },
    )
    .expect("store");
    let started = std::time::Instant::now();
    match store.get("some-id").await {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("GetItem"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        store.consume("hash", Timestamp::now()).await.is_err(),
        "no write is reported done"
    );
    let now = Timestamp::now();
    assert!(matches!(
        store.lease(4, "holder", now, now).await,
        Err(StoreError::Unavailable(_))
    ));
    let lease = ChannelLease {
        index: 0,
        holder: "holder".into(),
        until: now,
    };
    assert!(matches!(
        store.release(&lease).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.save_cursor("c", "1", None).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.list_needing_attention(10, None).await,
        Err(StoreError::Unavailable(_))
    ));
    match store.get_quote("some-id").await {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("GetItem"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let files = DynamoFileStore::new(
        client(&format!("http://127.0.0.1:{port}"), false).await,
        "f",
    );
    match files.get("some-id").await {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("GetItem"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn passes_the_payment_workers_checks_without_other_tables() {
    let Some(emulator) = emulator().await else {
        return;
    };
    // The payment workers' ports need only their two tables.
    let store = DynamoStore::new(
        emulator.client.clone(),
        TableNames {
            transactions: "no-such-table".into(),
            customers: "no-such-table".into(),
            challenges: "no-such-table".into(),
            ..emulator.tables.clone()
        },
    );
    conformance::cursors_move_by_conditional_saves(&store).await;
    conformance::payments_are_recorded_once(&store).await;
    conformance::payments_are_found_by_their_transaction(&store).await;
}

/// A payment recorded at 1_600_000_000_123 ms.
fn payment(outcome: PaymentOutcome) -> IncomingPayment {
    let recorded = Timestamp::from_millis(1_600_000_000_123);
    IncomingPayment {
        id: random_u64().to_string(),
        account: Keypair::random().account_id(),
        transaction_hash: format!("{:064x}", random_u64()),
        from: None,
        asset: Asset::Native,
        amount: "1".parse().expect("amount"),
        memo_type: "none".into(),
        memo: None,
        created_at: recorded,
        outcome,
        transaction_id: None,
        note: None,
        recorded_at: recorded,
        off_chain: None,
    }
}

/// Without `WORKER_STATE_TABLE`, `PAYMENTS_TABLE` or `QUOTES_TABLE` the other ports work, and
/// the calls that need a missing table fail, naming its variable.
#[tokio::test]
async fn a_missing_optional_table_fails_only_its_ports() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = DynamoStore::new(
        emulator.client.clone(),
        TableNames {
            worker_state: None,
            payments: None,
            quotes: None,
            ..emulator.tables.clone()
        },
    );
    let t = transaction(fresh_user(), Kind::Deposit, 1);
    store.insert(&t).await.expect("insert");
    let now = Timestamp::now();
    let missing = |variable: &str| StoreError::Unavailable(format!("{variable} is not set"));
    let w = missing("WORKER_STATE_TABLE");
    let p = missing("PAYMENTS_TABLE");
    assert_eq!(store.lease(4, "h", now, now).await.err(), Some(w.clone()));
    let lease = ChannelLease {
        index: 0,
        holder: "h".into(),
        until: now,
    };
    assert_eq!(store.release(&lease).await.err(), Some(w.clone()));
    assert_eq!(store.cursor("c").await.err(), Some(w.clone()));
    assert_eq!(store.save_cursor("c", "1", None).await.err(), Some(w));
    assert_eq!(
        store
            .record(&payment(PaymentOutcome::Unmatched))
            .await
            .err(),
        Some(p.clone())
    );
    assert_eq!(store.get_payment("1").await.err(), Some(p.clone()));
    assert_eq!(store.list_needing_attention(1, None).await.err(), Some(p));
    let q = missing("QUOTES_TABLE");
    assert_eq!(store.insert_quote(&quote()).await.err(), Some(q.clone()));
    assert_eq!(store.get_quote("q").await.err(), Some(q));
}

/// A quote expiring at 1_700_000_000_500 ms.
fn quote() -> Quote {
    let decimal = |text| Decimal::parse(text, 7).expect("decimal");
    Quote {
        id: format!("quote-{:016x}", random_u64()),
        user: fresh_user(),
        context: QuoteContext::Sep24,
        sell_asset: "iso4217:USD".into(),
        sell_amount: decimal("100"),
        sell_delivery_method: None,
        buy_asset: "stellar:native".into(),
        buy_amount: decimal("98"),
        buy_delivery_method: None,
        country_code: None,
        price: decimal("1"),
        total_price: decimal("1.0204082"),
        fee: QuoteFee {
            total: decimal("2"),
            asset: "iso4217:USD".into(),
            details: Vec::new(),
        },
        expires_at: Timestamp::from_millis(1_700_000_000_500),
        created_at: Timestamp::from_millis(1_699_999_700_000),
        transaction_id: None,
    }
}

/// A quote's item, as the module documentation describes it: `expires` (the TTL attribute) a year
/// after the quote expires; an undecodable one is corrupt.
#[tokio::test]
async fn quote_items_are_as_documented() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = store(&emulator);
    let quotes = emulator.tables.quotes.clone().expect("quotes table");
    let q = quote();
    store.insert_quote(&q).await.expect("insert");
    let item = raw_item(&emulator, &quotes, "id", &q.id)
        .await
        .expect("stored");
    assert_eq!(
        item.get("expires"),
        Some(&AttributeValue::N(
            (1_700_000_000 + 365 * 86_400).to_string()
        ))
    );
    let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["doc", "expires", "id"]);

    emulator
        .client
        .update_item()
        .table_name(&quotes)
        .key("id", AttributeValue::S(q.id.clone()))
        .update_expression("SET #doc = :doc")
        .expression_attribute_names("#doc", "doc")
        .expression_attribute_values(":doc", AttributeValue::S("{\"id\": 1".into()))
        .send()
        .await
        .expect("overwrite");
    assert!(matches!(
        store.get_quote(&q.id).await,
        Err(StoreError::Corrupt(_))
    ));
}

/// The items of the payment workers' state, as the module documentation describes them: the
/// sparse `needing_attention` index holds only what needs the operator; a cursor's version is a
/// number. (Leases: in `passes_the_conformance_suite`, the one test that leases channels.)
#[tokio::test]
async fn worker_state_and_payment_items_are_as_documented() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = store(&emulator);
    let payments = emulator.tables.payments.clone().expect("payments table");
    let worker_state = emulator
        .tables
        .worker_state
        .clone()
        .expect("worker state table");

    let matched = payment(PaymentOutcome::Matched);
    let unmatched = payment(PaymentOutcome::Unmatched);
    for p in [&matched, &unmatched] {
        assert_eq!(store.record(p).await, Ok(true));
    }
    let item = raw_item(&emulator, &payments, "id", &matched.id)
        .await
        .expect("stored");
    assert!(!item.contains_key("attention") && !item.contains_key("recorded"));
    let item = raw_item(&emulator, &payments, "id", &unmatched.id)
        .await
        .expect("stored");
    assert_eq!(
        item.get("attention"),
        Some(&AttributeValue::S("open".into()))
    );
    assert_eq!(
        item.get("recorded"),
        Some(&AttributeValue::S(format!(
            "001600000000123#{}",
            unmatched.id
        )))
    );

    // A cursor of another listing is refused.
    let user = fresh_user();
    for i in 0..2 {
        store
            .insert(&transaction(user, Kind::Deposit, i))
            .await
            .expect("insert");
    }
    let foreign = store
        .list_for_user(&query(user, 1))
        .await
        .expect("list")
        .next
        .expect("a next page");
    assert_eq!(
        store.list_needing_attention(1, Some(&foreign)).await,
        Err(StoreError::InvalidCursor)
    );

    let name = format!("payments:{}", Keypair::random().account_id());
    let version = store.save_cursor(&name, "123", None).await.expect("save");
    let item = raw_item(&emulator, &worker_state, "key", &format!("cursor#{name}"))
        .await
        .expect("stored");
    assert_eq!(item.get("value"), Some(&AttributeValue::S("123".into())));
    assert_eq!(
        item.get("version"),
        Some(&AttributeValue::N(version.to_string()))
    );
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).expect("CSPRNG");
    u64::from_le_bytes(bytes)
}

// Files (`DynamoFileStore`): a metadata item and chunks of at most CHUNK_BYTES under
// `pk = file#<id>`, link items under `user#<user>` and `customer#<id>`.

type Item = HashMap<String, AttributeValue>;

const MB5: usize = 5 * 1024 * 1024;

fn file_store(emulator: &Emulator) -> DynamoFileStore {
    DynamoFileStore::new(emulator.client.clone(), emulator.files.clone())
}

/// A file store whose client fails every `operation` request after the first `pass` of them:
/// what a crash or a timeout amid a sequence of requests looks like to the adapter.
async fn interrupted_store(
    emulator: &Emulator,
    operation: &'static str,
    pass: usize,
) -> DynamoFileStore {
    let sdk = sdk_config(&emulator.endpoint, false).await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(Interrupt {
            operation,
            pass: Arc::new(AtomicUsize::new(pass)),
        })
        .build();
    DynamoFileStore::new(Client::from_conf(config), emulator.files.clone())
}

#[derive(Debug)]
struct Interrupt {
    operation: &'static str,
    pass: Arc<AtomicUsize>,
}

impl Intercept for Interrupt {
    fn name(&self) -> &'static str {
        "Interrupt"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        // `X-Amz-Target: DynamoDB_20120810.PutItem`
        let target = context.request().headers().get("x-amz-target");
        if target.and_then(|t| t.rsplit('.').next()) == Some(self.operation)
            && self
                .pass
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_err()
        {
            return Err(format!("{} interrupted", self.operation).into());
        }
        Ok(())
    }
}

/// Every item of a partition, read directly.
async fn partition(emulator: &Emulator, pk: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = emulator
            .client
            .query()
            .table_name(&emulator.files)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("query");
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// The chunk items stored for file `id`, whichever write left them.
async fn chunks_of(emulator: &Emulator, id: &str) -> Vec<Item> {
    partition(emulator, &format!("file#{id}"))
        .await
        .into_iter()
        .filter(|item| sort_key(item).starts_with("chunk#"))
        .collect()
}

fn sort_key(item: &Item) -> &str {
    item.get("sk")
        .and_then(|sk| sk.as_s().ok())
        .expect("a string sort key")
}

fn user_pk(user: &UserKey) -> String {
    format!("user#{user}")
}

/// Bytes that differ everywhere (xorshift), so that a misplaced chunk shows.
fn content(size: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(size + 8);
    while bytes.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

fn new_file(user: UserKey, size: usize) -> StoredFile {
    StoredFile::new(user, "application/pdf", size, Timestamp::now())
}

#[tokio::test]
async fn files_pass_the_conformance_checks() {
    let Some(emulator) = emulator().await else {
        return;
    };
    files::conformance(&file_store(&emulator)).await;
}

#[tokio::test]
async fn files_up_to_5_mb_round_trip_byte_exact() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = file_store(&emulator);
    let user = fresh_user();
    for (seed, size) in [0, 1, CHUNK_BYTES, CHUNK_BYTES + 1, MB5]
        .into_iter()
        .enumerate()
    {
        let bytes = content(size, seed as u64 + 11);
        let file = new_file(user, size);
        store.put(&file, &bytes).await.expect("put");
        assert_eq!(store.get(&file.id).await, Ok(Some(file.clone())));
        let read = store
            .content(&file.id)
            .await
            .expect("content")
            .expect("stored");
        // Not assert_eq: a 5 MB difference is no message.
        assert!(read == bytes, "the {size} bytes read back differ");
        let chunks = chunks_of(&emulator, &file.id).await;
        assert_eq!(chunks.len(), size.div_ceil(CHUNK_BYTES), "{size} bytes");
        assert!(chunks.iter().all(|chunk| {
            chunk
                .get("data")
                .and_then(|data| data.as_b().ok())
                .is_some_and(|data| !data.as_ref().is_empty() && data.as_ref().len() <= CHUNK_BYTES)
        }));
    }
    assert_eq!(store.delete_for_user(&user).await, Ok(5));
}

#[tokio::test]
async fn an_interrupted_write_is_never_visible() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = file_store(&emulator);
    let user = fresh_user();
    let bytes = content(3 * CHUNK_BYTES + 5, 3);

    // Interrupted at the commit: every chunk is written, the metadata is not.
    let at_commit = interrupted_store(&emulator, "TransactWriteItems", 0).await;
    let file = new_file(user, bytes.len());
    assert!(matches!(
        at_commit.put(&file, &bytes).await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(
        chunks_of(&emulator, &file.id).await.len(),
        4,
        "chunks written"
    );
    assert_eq!(store.get(&file.id).await, Ok(None));
    assert_eq!(store.content(&file.id).await, Ok(None));
    assert_eq!(store.delete_for_user(&user).await, Ok(0));
    // What it left expires with the file, or goes with a delete.
    assert!(chunks_of(&emulator, &file.id)
        .await
        .iter()
        .all(|chunk| chunk.contains_key("expires_at")));
    assert_eq!(store.delete(&file.id).await, Ok(false));
    assert!(chunks_of(&emulator, &file.id).await.is_empty());

    // Interrupted amid the chunks.
    let amid_chunks = interrupted_store(&emulator, "PutItem", 2).await;
    let file = new_file(user, bytes.len());
    assert!(amid_chunks.put(&file, &bytes).await.is_err());
    assert_eq!(store.get(&file.id).await, Ok(None));
    assert_eq!(store.content(&file.id).await, Ok(None));
    // The upload, tried again, is whole.
    store.put(&file, &bytes).await.expect("put again");
    assert!(store.content(&file.id).await.expect("content") == Some(bytes.clone()));

    // A reader racing a writer sees nothing or everything.
    let big = content(MB5, 5);
    let file = new_file(user, big.len());
    let writer = {
        let (store, file, big) = (store.clone(), file.clone(), big.clone());
        tokio::spawn(async move { store.put(&file, &big).await })
    };
    let mut reads = 0;
    loop {
        let finished = writer.is_finished();
        match store.content(&file.id).await.expect("content") {
            Some(read) => {
                assert!(read == big, "a file is read whole");
                break;
            }
            None => assert!(!finished, "the write finished, so the file is there"),
        }
        reads += 1;
    }
    writer.await.expect("joins").expect("put");
    eprintln!("{reads} reads saw nothing before the file was whole");
    assert_eq!(store.delete_for_user(&user).await, Ok(2));
}

#[tokio::test]
async fn a_refused_put_leaves_the_existing_file_whole() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = file_store(&emulator);
    let original = content(2 * CHUNK_BYTES, 7);
    let file = new_file(fresh_user(), original.len());
    store.put(&file, &original).await.expect("put");

    let other = content(3 * CHUNK_BYTES, 8);
    let mut same_id = new_file(fresh_user(), other.len());
    same_id.id = file.id.clone();
    assert_eq!(store.put(&same_id, &other).await, Err(StoreError::Conflict));
    assert!(store.content(&file.id).await.expect("content") == Some(original));
    assert_eq!(store.get(&file.id).await, Ok(Some(file.clone())));
    assert_eq!(
        chunks_of(&emulator, &file.id).await.len(),
        2,
        "the refused write's chunks are gone"
    );
    // A size that is not the content's is refused before anything is written.
    let liar = new_file(file.user, 10);
    assert!(matches!(
        store.put(&liar, b"short").await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(chunks_of(&emulator, &liar.id).await.is_empty());
    assert!(store.delete(&file.id).await.expect("delete"));
}

#[tokio::test]
async fn delete_removes_every_chunk_and_link() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = file_store(&emulator);
    let user = fresh_user();
    let customer = uuid::Uuid::new_v4().to_string();
    let big = new_file(user, MB5);
    store.put(&big, &content(MB5, 9)).await.expect("put");
    store.attach(&big.id, &customer).await.expect("attach");
    let loose = new_file(user, CHUNK_BYTES + 1);
    store
        .put(&loose, &content(CHUNK_BYTES + 1, 10))
        .await
        .expect("put");
    assert_eq!(
        partition(&emulator, &format!("file#{}", big.id))
            .await
            .len(),
        1 + MB5.div_ceil(CHUNK_BYTES)
    );
    assert_eq!(partition(&emulator, &user_pk(&user)).await.len(), 2);
    assert_eq!(
        partition(&emulator, &format!("customer#{customer}"))
            .await
            .len(),
        1
    );

    assert_eq!(store.delete(&big.id).await, Ok(true));
    assert!(partition(&emulator, &format!("file#{}", big.id))
        .await
        .is_empty());
    assert!(partition(&emulator, &format!("customer#{customer}"))
        .await
        .is_empty());
    let links = partition(&emulator, &user_pk(&user)).await;
    assert_eq!(links.len(), 1);
    assert_eq!(sort_key(&links[0]), format!("file#{}", loose.id));
    assert_eq!(store.delete(&big.id).await, Ok(false));

    assert_eq!(store.delete_for_user(&user).await, Ok(1));
    assert!(partition(&emulator, &format!("file#{}", loose.id))
        .await
        .is_empty());
    assert!(partition(&emulator, &user_pk(&user)).await.is_empty());
}

#[tokio::test]
async fn an_interrupted_delete_is_finished_by_erasing_the_user() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = file_store(&emulator);
    let user = fresh_user();
    let file = new_file(user, 2 * CHUNK_BYTES + 1);
    store
        .put(&file, &content(2 * CHUNK_BYTES + 1, 12))
        .await
        .expect("put");
    store.attach(&file.id, "customer").await.expect("attach");

    // The metadata goes, then the chunk deletes fail.
    let interrupted = interrupted_store(&emulator, "DeleteItem", 0).await;
    assert!(interrupted.delete(&file.id).await.is_err());
    assert_eq!(store.get(&file.id).await, Ok(None), "gone at once");
    assert_eq!(chunks_of(&emulator, &file.id).await.len(), 3, "left over");
    assert!(
        chunks_of(&emulator, &file.id)
            .await
            .iter()
            .all(|chunk| !chunk.contains_key("expires_at")),
        "an attached file's chunks never expire: only a delete removes them"
    );

    // The user link, deleted last, still leads to them.
    assert_eq!(
        store.delete_for_user(&user).await,
        Ok(0),
        "no file was left"
    );
    assert!(partition(&emulator, &format!("file#{}", file.id))
        .await
        .is_empty());
    assert!(partition(&emulator, &user_pk(&user)).await.is_empty());
}

/// The items of a file's partition and of its user's.
async fn file_and_user_items(emulator: &Emulator, file: &StoredFile) -> Vec<Item> {
    let mut items = partition(emulator, &format!("file#{}", file.id)).await;
    items.extend(partition(emulator, &user_pk(&file.user)).await);
    items
}

#[tokio::test]
async fn attaching_stops_every_item_of_the_file_expiring() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = file_store(&emulator);
    let user = fresh_user();
    let file = new_file(user, 2 * CHUNK_BYTES);
    store
        .put(&file, &content(2 * CHUNK_BYTES, 13))
        .await
        .expect("put");
    let before = file_and_user_items(&emulator, &file).await;
    assert_eq!(before.len(), 1 + 2 + 1);
    assert!(before.iter().all(|item| item.contains_key("expires_at")));

    let customer = uuid::Uuid::new_v4().to_string();
    let attached = store.attach(&file.id, &customer).await.expect("attach");
    let after = file_and_user_items(&emulator, &file).await;
    assert_eq!(after.len(), 1 + 2 + 1);
    assert!(after.iter().all(|item| !item.contains_key("expires_at")));
    let listed = store.list_for_customer(&customer).await.expect("list");
    assert_eq!(listed, std::slice::from_ref(&attached));
    assert_eq!(store.get(&file.id).await, Ok(Some(attached)));
    assert_eq!(store.delete_for_user(&user).await, Ok(1));
}

#[tokio::test]
async fn an_expired_file_left_by_lazy_ttl_counts_as_absent() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = file_store(&emulator);
    let user = fresh_user();
    let mut stale = new_file(user, CHUNK_BYTES + 1);
    stale.expires_at = Some(Timestamp::from_millis(Timestamp::now().millis() - 60_000));
    store
        .put(&stale, &content(CHUNK_BYTES + 1, 14))
        .await
        .expect("put");
    // The emulator, like DynamoDB within its TTL delay, may still hold the items.
    assert_eq!(store.get(&stale.id).await, Ok(None));
    assert_eq!(store.content(&stale.id).await, Ok(None));
    assert_eq!(
        store.attach(&stale.id, "customer").await,
        Err(StoreError::Conflict)
    );
    // Its id may be used again.
    let fresh_bytes = content(10, 15);
    let mut fresh = new_file(user, fresh_bytes.len());
    fresh.id = stale.id.clone();
    store
        .put(&fresh, &fresh_bytes)
        .await
        .expect("put over a leftover");
    assert_eq!(store.get(&fresh.id).await, Ok(Some(fresh.clone())));
    assert_eq!(store.content(&fresh.id).await, Ok(Some(fresh_bytes)));
    // A delete takes the leftover's chunks too.
    assert_eq!(store.delete(&fresh.id).await, Ok(true));
    assert!(partition(&emulator, &format!("file#{}", fresh.id))
        .await
        .is_empty());
    assert_eq!(store.delete_for_user(&user).await, Ok(0));
}

#[tokio::test]
async fn a_missing_chunk_or_an_undecodable_file_is_corrupt() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = file_store(&emulator);
    let user = fresh_user();
    let file = new_file(user, CHUNK_BYTES + 1);
    store
        .put(&file, &content(CHUNK_BYTES + 1, 16))
        .await
        .expect("put");
    let chunks = chunks_of(&emulator, &file.id).await;
    emulator
        .client
        .delete_item()
        .table_name(&emulator.files)
        .key("pk", AttributeValue::S(format!("file#{}", file.id)))
        .key("sk", AttributeValue::S(sort_key(&chunks[1]).to_owned()))
        .send()
        .await
        .expect("delete a chunk");
    assert!(matches!(
        store.content(&file.id).await,
        Err(StoreError::Corrupt(_))
    ));

    emulator
        .client
        .update_item()
        .table_name(&emulator.files)
        .key("pk", AttributeValue::S(format!("file#{}", file.id)))
        .key("sk", AttributeValue::S("meta".into()))
        .update_expression("SET #doc = :doc")
        .expression_attribute_names("#doc", "doc")
        .expression_attribute_values(":doc", AttributeValue::S("{\"id\": 1".into()))
        .send()
        .await
        .expect("overwrite");
    assert!(matches!(
        store.get(&file.id).await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn ids_no_key_can_hold_name_no_file() {
    let Some(emulator) = emulator().await else {
        return;
    };
    let store = file_store(&emulator);
    let long = "x".repeat(4096);
    assert_eq!(store.get(&long).await, Ok(None));
    assert_eq!(store.content("").await, Ok(None));
    assert_eq!(store.delete(&long).await, Ok(false));
    assert_eq!(store.attach(&long, "c").await, Err(StoreError::Conflict));
    assert_eq!(store.list_for_customer(&long).await, Ok(Vec::new()));
}
