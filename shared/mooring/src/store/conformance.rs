//! The behaviour every storage adapter must have, written once and run against each (in-memory
//! in unit tests, DynamoDB against the emulator). Each run uses fresh random accounts and ids, so
//! it can run repeatedly against the same tables. Panics describe the first broken guarantee.

use super::{
    ChallengeStore, CustomerStore, Position, StoreError, TransactionQuery, TransactionStore,
};
use crate::model::{
    Customer, CustomerStatus, Kind, Protocol, SubmissionState, Transaction, TransactionStatus,
    UserKey,
};
use crate::stellar::{Amount, Asset, Keypair};
use crate::time::Timestamp;

/// Runs every check.
pub async fn run_all<S: TransactionStore + CustomerStore + ChallengeStore>(store: &S) {
    transactions_round_trip(store).await;
    transaction_updates_are_conditional(store).await;
    concurrent_status_changes_have_one_winner(store).await;
    user_listings_are_newest_first_paged_and_private(store).await;
    user_listings_start_before_a_transaction(store).await;
    status_listings_serve_the_pollers(store).await;
    lookups_by_memo_hash_and_external_id(store).await;
    customers(store).await;
    challenges_are_consumed_once(store).await;
}

fn user(memo: Option<u64>) -> UserKey {
    UserKey {
        account: Keypair::random().account_id(),
        memo,
    }
}

fn usdc() -> Asset {
    Asset::credit("USDC", Keypair::from_seed_bytes([42; 32]).account_id()).expect("valid asset")
}

fn transaction(
    user: UserKey,
    kind: Kind,
    status: TransactionStatus,
    started_ms: i64,
) -> Transaction {
    Transaction::new(
        Protocol::Sep24,
        kind,
        status,
        user,
        usdc(),
        Timestamp::from_millis(started_ms),
    )
}

pub async fn transactions_round_trip<S: TransactionStore>(store: &S) {
    let mut t = transaction(
        user(Some(7)),
        Kind::Withdrawal,
        TransactionStatus::Incomplete,
        1_700_000_000_000,
    );
    t.amount_in = Some("100.5".parse().expect("amount"));
    t.amount_out = Some(Amount::from_stroops(999_999_999));
    t.receiving_account = Some(Keypair::random().account_id());
    t.receiving_memo = Some("12345".into());
    t.receiving_memo_type = Some("id".into());
    t.required_info_updates = Some(serde_json::json!({"dest": {"description": "IBAN"}}));
    t.submission = SubmissionState::Signed;
    t.envelope_hash = Some("ab".repeat(32));
    t.status_message = Some("unicode ✓ and \"quotes\"".into());
    store.insert(&t).await.expect("insert");
    assert_eq!(
        store.get(&t.id).await.expect("get"),
        Some(t.clone()),
        "a transaction reads back exactly as written"
    );
    assert_eq!(
        store.insert(&t).await,
        Err(StoreError::Conflict),
        "inserting an existing id is a conflict"
    );
    assert_eq!(store.get("no-such-id").await.expect("get"), None);
}

pub async fn transaction_updates_are_conditional<S: TransactionStore>(store: &S) {
    let mut t = transaction(
        user(None),
        Kind::Deposit,
        TransactionStatus::Incomplete,
        1_700_000_000_000,
    );
    store.insert(&t).await.expect("insert");
    let stale = t.clone();

    t.status = TransactionStatus::PendingUserTransferStart;
    store
        .update(&mut t, TransactionStatus::Incomplete)
        .await
        .expect("first update");
    assert_eq!(t.version, 1, "an update bumps the version");
    assert_eq!(store.get(&t.id).await.expect("get").expect("exists"), t);

    let mut from_stale = stale.clone();
    from_stale.status = TransactionStatus::Error;
    assert_eq!(
        store
            .update(&mut from_stale, TransactionStatus::Incomplete)
            .await,
        Err(StoreError::Conflict),
        "a write from a stale read loses"
    );
    let mut wrong_status = t.clone();
    wrong_status.status = TransactionStatus::Completed;
    assert_eq!(
        store
            .update(&mut wrong_status, TransactionStatus::PendingAnchor)
            .await,
        Err(StoreError::Conflict),
        "a write expecting another status loses"
    );
    assert_eq!(
        store.get(&t.id).await.expect("get").expect("exists").status,
        TransactionStatus::PendingUserTransferStart
    );

    let mut missing = transaction(user(None), Kind::Deposit, TransactionStatus::Incomplete, 0);
    assert_eq!(
        store
            .update(&mut missing, TransactionStatus::Incomplete)
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        store.get(&missing.id).await.expect("get"),
        None,
        "an update never creates"
    );
}

pub async fn concurrent_status_changes_have_one_winner<S: TransactionStore>(store: &S) {
    for _ in 0..5 {
        let t = transaction(
            user(None),
            Kind::Deposit,
            TransactionStatus::PendingUserTransferStart,
            1_700_000_000_000,
        );
        store.insert(&t).await.expect("insert");
        let (mut a, mut b) = (t.clone(), t.clone());
        a.status = TransactionStatus::PendingAnchor;
        b.status = TransactionStatus::PendingAnchor;
        b.status_message = Some("second poller".into());
        let (ra, rb) = tokio::join!(
            store.update(&mut a, TransactionStatus::PendingUserTransferStart),
            store.update(&mut b, TransactionStatus::PendingUserTransferStart),
        );
        let winners = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        assert_eq!(
            winners, 1,
            "exactly one of two concurrent status changes wins: {ra:?} {rb:?}"
        );
        assert!([&ra, &rb].iter().any(|r| **r == Err(StoreError::Conflict)));
        let stored = store.get(&t.id).await.expect("get").expect("exists");
        assert_eq!(stored.version, 1);
        let winner = if ra.is_ok() { &a } else { &b };
        assert_eq!(&stored, winner, "the stored record is the winner's, whole");
    }
}

pub async fn user_listings_are_newest_first_paged_and_private<S: TransactionStore>(store: &S) {
    let owner = user(Some(1));
    let same_account_other_memo = UserKey {
        account: owner.account,
        memo: Some(2),
    };
    let base = 1_700_000_000_000;
    let mut mine = Vec::new();
    for i in 0..7 {
        let kind = if i % 2 == 0 {
            Kind::Deposit
        } else {
            Kind::Withdrawal
        };
        let t = transaction(owner, kind, TransactionStatus::Incomplete, base + i * 1000);
        store.insert(&t).await.expect("insert");
        mine.push(t);
    }
    let mut other_asset = transaction(
        owner,
        Kind::Deposit,
        TransactionStatus::Incomplete,
        base + 500,
    );
    other_asset.asset =
        Asset::credit("EURC", Keypair::from_seed_bytes([43; 32]).account_id()).expect("asset");
    store.insert(&other_asset).await.expect("insert");
    store
        .insert(&transaction(
            same_account_other_memo,
            Kind::Deposit,
            TransactionStatus::Incomplete,
            base + 9000,
        ))
        .await
        .expect("insert");

    let mut query = TransactionQuery {
        user: owner,
        protocol: None,
        asset_code: Some("USDC".into()),
        kind: None,
        no_older_than: None,
        limit: 3,
        cursor: None,
        before: None,
    };
    let mut seen = Vec::new();
    loop {
        let page = store.list_for_user(&query).await.expect("list");
        assert!(page.items.len() <= 3, "a page holds at most the limit");
        seen.extend(page.items.into_iter().map(|t| t.id));
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = mine.iter().rev().map(|t| t.id.clone()).collect();
    assert_eq!(
        seen, expected,
        "all of the user's USDC transactions, newest first, each once; no other memo's"
    );

    query.cursor = None;
    query.limit = 100;
    query.kind = Some(Kind::Withdrawal);
    let withdrawals = store.list_for_user(&query).await.expect("list").items;
    assert_eq!(withdrawals.len(), 3);
    assert!(withdrawals.iter().all(|t| t.kind == Kind::Withdrawal));

    query.kind = None;
    query.no_older_than = Some(Timestamp::from_millis(base + 4000));
    let recent = store.list_for_user(&query).await.expect("list").items;
    assert_eq!(
        recent.len(),
        3,
        "no_older_than keeps transactions started at or after it"
    );

    query.no_older_than = None;
    query.asset_code = None;
    let everything = store.list_for_user(&query).await.expect("list").items;
    assert_eq!(
        everything.len(),
        8,
        "without an asset filter every asset is listed"
    );

    let other = store
        .list_for_user(&TransactionQuery {
            user: same_account_other_memo,
            ..query.clone()
        })
        .await
        .expect("list")
        .items;
    assert_eq!(
        other.len(),
        1,
        "a memo-distinguished user sees only its own"
    );

    query.cursor = Some("not a cursor".into());
    assert_eq!(
        store.list_for_user(&query).await,
        Err(StoreError::InvalidCursor)
    );
}

/// SEP-6/24 `paging_id`: only transactions older than a given one (exclusive), in listing order
/// (ties on `started_at` broken by id), combined with the other filters and with paging.
pub async fn user_listings_start_before_a_transaction<S: TransactionStore>(store: &S) {
    let owner = user(None);
    let base = 1_650_000_000_000;
    // Two pairs started in the same millisecond: the id orders them.
    let starts = [0, 1000, 1000, 2000, 3000, 3000, 4000];
    let mut mine = Vec::new();
    for (i, start) in starts.into_iter().enumerate() {
        let kind = if i % 2 == 0 {
            Kind::Deposit
        } else {
            Kind::Withdrawal
        };
        let t = transaction(owner, kind, TransactionStatus::Incomplete, base + start);
        store.insert(&t).await.expect("insert");
        mine.push(t);
    }
    store
        .insert(&transaction(
            user(None),
            Kind::Deposit,
            TransactionStatus::Incomplete,
            base + 500,
        ))
        .await
        .expect("insert");
    // Newest first, as both adapters list.
    mine.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
    let ids = |items: &[Transaction]| items.iter().map(|t| t.id.clone()).collect::<Vec<_>>();

    for (i, position) in mine.iter().enumerate() {
        let query = TransactionQuery {
            user: owner,
            protocol: Some(Protocol::Sep24),
            asset_code: None,
            kind: None,
            no_older_than: None,
            limit: 100,
            cursor: None,
            before: Some(Position::of(position)),
        };
        let older = store.list_for_user(&query).await.expect("list").items;
        assert_eq!(
            ids(&older),
            ids(&mine[i + 1..]),
            "exactly the transactions listed after #{i}, without it"
        );
    }

    // Paged two at a time from the second newest: the same sequence.
    let mut query = TransactionQuery {
        user: owner,
        protocol: None,
        asset_code: Some("USDC".into()),
        kind: None,
        no_older_than: None,
        limit: 2,
        cursor: None,
        before: Some(Position::of(&mine[1])),
    };
    let mut seen = Vec::new();
    loop {
        let page = store.list_for_user(&query).await.expect("list");
        assert!(page.items.len() <= 2);
        seen.extend(ids(&page.items));
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ids(&mine[2..]), "pages continue before the position");

    query.cursor = None;
    query.limit = 100;
    query.kind = Some(Kind::Withdrawal);
    let withdrawals = store.list_for_user(&query).await.expect("list").items;
    let expected: Vec<Transaction> = mine[2..]
        .iter()
        .filter(|t| t.kind == Kind::Withdrawal)
        .cloned()
        .collect();
    assert_eq!(
        ids(&withdrawals),
        ids(&expected),
        "kind and position combine"
    );

    query.kind = None;
    query.no_older_than = Some(Timestamp::from_millis(base + 1000));
    let recent = store.list_for_user(&query).await.expect("list").items;
    let expected: Vec<Transaction> = mine[2..]
        .iter()
        .filter(|t| t.started_at.millis() >= base + 1000)
        .cloned()
        .collect();
    assert_eq!(
        ids(&recent),
        ids(&expected),
        "no_older_than and position combine"
    );

    // Older transactions exist before this position, but none as recent as no_older_than.
    query.before = Some(Position::of(&mine[mine.len() - 2]));
    query.no_older_than = Some(Timestamp::from_millis(base + 2000));
    assert!(
        store
            .list_for_user(&query)
            .await
            .expect("list")
            .items
            .is_empty(),
        "nothing is before a position older than no_older_than"
    );
    query.no_older_than = None;
    assert!(!store
        .list_for_user(&query)
        .await
        .expect("list")
        .items
        .is_empty());
    query.before = Some(Position::of(&mine[mine.len() - 1]));
    assert!(
        store
            .list_for_user(&query)
            .await
            .expect("list")
            .items
            .is_empty(),
        "nothing is before the oldest"
    );
}

pub async fn status_listings_serve_the_pollers<S: TransactionStore>(store: &S) {
    // Other runs' records share these statuses: look for this run's, in order.
    let owner = user(None);
    let mut ids = Vec::new();
    for i in 0..4 {
        let t = transaction(
            owner,
            Kind::Deposit,
            TransactionStatus::PendingUserTransferStart,
            1_600_000_000_000 + i,
        );
        store.insert(&t).await.expect("insert");
        ids.push(t.id);
    }
    let other_kind = transaction(
        owner,
        Kind::Withdrawal,
        TransactionStatus::PendingUserTransferStart,
        1_600_000_000_000,
    );
    store.insert(&other_kind).await.expect("insert");

    let mut cursor = None;
    let mut seen = Vec::new();
    loop {
        let page = store
            .list_by_status(
                Kind::Deposit,
                TransactionStatus::PendingUserTransferStart,
                2,
                cursor.as_deref(),
            )
            .await
            .expect("list");
        assert!(page
            .items
            .iter()
            .all(|t| t.kind == Kind::Deposit
                && t.status == TransactionStatus::PendingUserTransferStart));
        seen.extend(
            page.items
                .into_iter()
                .filter(|t| t.user == owner)
                .map(|t| t.id),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen, ids,
        "every deposit in the status, oldest first, each once"
    );

    let mut moved = store.get(&ids[0]).await.expect("get").expect("exists");
    moved.status = TransactionStatus::PendingAnchor;
    store
        .update(&mut moved, TransactionStatus::PendingUserTransferStart)
        .await
        .expect("update");
    let still = store
        .list_by_status(
            Kind::Deposit,
            TransactionStatus::PendingUserTransferStart,
            1000,
            None,
        )
        .await
        .expect("list")
        .items;
    assert!(
        !still.iter().any(|t| t.id == ids[0]),
        "a transaction leaves its old status's listing"
    );
    let anchor = store
        .list_by_status(Kind::Deposit, TransactionStatus::PendingAnchor, 1000, None)
        .await
        .expect("list")
        .items;
    assert!(
        anchor.iter().any(|t| t.id == ids[0]),
        "and joins the new one"
    );
}

pub async fn lookups_by_memo_hash_and_external_id<S: TransactionStore>(store: &S) {
    let anchor_account = Keypair::random().account_id();
    let mut t = transaction(
        user(None),
        Kind::Withdrawal,
        TransactionStatus::PendingUserTransferStart,
        1,
    );
    t.receiving_account = Some(anchor_account);
    t.receiving_memo_type = Some("id".into());
    t.receiving_memo = Some("4242".into());
    let hash = format!("{:064x}", rand_u64());
    t.stellar_transaction_id = Some(hash.clone());
    let external = format!("bank-{}", rand_u64());
    t.external_transaction_id = Some(external.clone());
    store.insert(&t).await.expect("insert");

    let found = store
        .find_by_receiving_memo(&anchor_account, "id", "4242")
        .await
        .expect("find");
    assert_eq!(found.map(|f| f.id), Some(t.id.clone()));
    assert_eq!(
        store
            .find_by_receiving_memo(&anchor_account, "text", "4242")
            .await
            .expect("find"),
        None,
        "memo type matters"
    );
    assert_eq!(
        store
            .find_by_receiving_memo(&anchor_account, "id", "4243")
            .await
            .expect("find"),
        None
    );
    assert_eq!(
        store
            .find_by_stellar_transaction_id(&hash)
            .await
            .expect("find")
            .map(|f| f.id),
        Some(t.id.clone())
    );
    assert_eq!(
        store
            .find_by_external_id(&external)
            .await
            .expect("find")
            .map(|f| f.id),
        Some(t.id.clone())
    );
    assert_eq!(
        store
            .find_by_external_id("no-such-reference")
            .await
            .expect("find"),
        None
    );
}

pub async fn customers<S: CustomerStore>(store: &S) {
    let owner = user(Some(5));
    let mut c = Customer::new(owner, Timestamp::from_secs(1_700_000_000));
    c.fields.insert("first_name".into(), "Ada".into());
    c.statuses
        .insert("sep31-receiver".into(), CustomerStatus::NeedsInfo);
    c.pending_verifications
        .insert("email_address".into(), "123456".into());
    store.insert(&c).await.expect("insert");
    assert_eq!(store.get(&c.id).await.expect("get"), Some(c.clone()));
    assert_eq!(
        store.find_by_user(&owner).await.expect("find"),
        Some(c.clone())
    );
    let sibling = UserKey {
        account: owner.account,
        memo: Some(6),
    };
    assert_eq!(
        store.find_by_user(&sibling).await.expect("find"),
        None,
        "another memo is another customer"
    );
    let plain = UserKey {
        account: owner.account,
        memo: None,
    };
    assert_eq!(
        store.find_by_user(&plain).await.expect("find"),
        None,
        "the account without memo is another customer"
    );

    let duplicate = Customer::new(owner, Timestamp::from_secs(1_700_000_001));
    assert_eq!(
        store.insert(&duplicate).await,
        Err(StoreError::Conflict),
        "one customer per user"
    );
    assert_eq!(store.get(&duplicate.id).await.expect("get"), None);

    let stale = c.clone();
    c.fields.insert("last_name".into(), "Lovelace".into());
    store.update(&mut c).await.expect("update");
    assert_eq!(c.version, 1);
    let mut stale = stale;
    stale.fields.insert("last_name".into(), "Byron".into());
    assert_eq!(
        store.update(&mut stale).await,
        Err(StoreError::Conflict),
        "a stale customer write loses"
    );
    assert_eq!(
        store.get(&c.id).await.expect("get").expect("exists").fields["last_name"],
        "Lovelace"
    );

    assert!(store.delete(&c.id).await.expect("delete"));
    assert_eq!(store.get(&c.id).await.expect("get"), None);
    assert_eq!(store.find_by_user(&owner).await.expect("find"), None);
    assert!(
        !store.delete(&c.id).await.expect("delete"),
        "deleting twice finds nothing"
    );
    // After deletion the user may register again.
    store
        .insert(&Customer::new(owner, Timestamp::from_secs(1_700_000_002)))
        .await
        .expect("re-register");
}

pub async fn challenges_are_consumed_once<S: ChallengeStore>(store: &S) {
    let hash = format!("{:064x}", rand_u64());
    let expires = Timestamp::from_millis(Timestamp::now().millis() + 900_000);
    assert!(
        store.consume(&hash, expires).await.expect("consume"),
        "first use is accepted"
    );
    assert!(
        !store.consume(&hash, expires).await.expect("consume"),
        "a second use is refused"
    );
    let other = format!("{:064x}", rand_u64());
    assert!(store.consume(&other, expires).await.expect("consume"));
}

fn rand_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).expect("CSPRNG");
    u64::from_le_bytes(bytes)
}
