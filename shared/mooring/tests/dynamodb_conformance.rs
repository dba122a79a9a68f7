//! The DynamoDB adapter against a DynamoDB emulator: the conformance suite every adapter passes,
//! and what only this adapter can get wrong (paging through index queries, cursors, TTL
//! leftovers, errors).
//!
//! The tables are created from template.yaml by `infra/local_stack/tables.py`, which prints the
//! variables read here (`tests/run.sh` does all of it):
//! `MOORING_TEST_DYNAMODB_ENDPOINT`, `MOORING_TEST_TRANSACTIONS_TABLE`,
//! `MOORING_TEST_CUSTOMERS_TABLE`, `MOORING_TEST_CHALLENGES_TABLE`. Without them the emulator
//! tests are skipped, except under CI (`CI` set), where skipping would hide a broken setup.

#![cfg(feature = "dynamodb")]

use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use mooring::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::stellar::{Asset, Keypair};
use mooring::store::dynamodb::{config_loader, DynamoStore, TableNames};
use mooring::store::{conformance, ChallengeStore, StoreError, TransactionQuery, TransactionStore};
use mooring::time::Timestamp;

/// The emulator's endpoint, then the transactions, customers and challenges tables.
const VARIABLES: [&str; 4] = [
    "MOORING_TEST_DYNAMODB_ENDPOINT",
    "MOORING_TEST_TRANSACTIONS_TABLE",
    "MOORING_TEST_CUSTOMERS_TABLE",
    "MOORING_TEST_CHALLENGES_TABLE",
];

struct Emulator {
    client: Client,
    tables: TableNames,
}

/// The emulator's client and tables, or None (after saying so) when the variables are unset.
async fn emulator() -> Option<Emulator> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let [Some(endpoint), Some(transactions), Some(customers), Some(challenges)] =
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
    Some(Emulator {
        client: client(&endpoint, true).await,
        tables: TableNames {
            transactions,
            customers,
            challenges,
        },
    })
}

/// A client of the crate's own configuration (HTTP client, timeouts), pointed at `endpoint`.
async fn client(endpoint: &str, retries: bool) -> Client {
    let mut loader = config_loader()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"));
    if !retries {
        // An unreachable endpoint fails on the first attempt instead of after backoffs.
        loader = loader.retry_config(aws_config::retry::RetryConfig::disabled());
    }
    Client::new(&loader.load().await)
}

fn store(emulator: &Emulator) -> DynamoStore {
    DynamoStore::new(emulator.client.clone(), emulator.tables.clone())
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
        kind: None,
        no_older_than: None,
        limit,
        cursor: None,
    }
}

#[tokio::test]
async fn passes_the_conformance_suite() {
    let Some(emulator) = emulator().await else {
        return;
    };
    conformance::run_all(&store(&emulator)).await;
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
    q.kind = Some(Kind::Deposit);
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
    q.kind = Some(Kind::Deposit);
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
    let store = DynamoStore::new(
        client(&format!("http://127.0.0.1:{port}"), false).await,
        TableNames {
            transactions: "t".into(),
            customers: "c".into(),
            challenges: "h".into(),
        },
    );
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
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).expect("CSPRNG");
    u64::from_le_bytes(bytes)
}
