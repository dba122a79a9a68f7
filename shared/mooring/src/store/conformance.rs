//! The behaviour every storage adapter must have, written once and run against each (in-memory
//! in unit tests, DynamoDB against the emulator). Each run uses fresh random accounts and ids, so
//! it can run repeatedly against the same tables. Panics describe the first broken guarantee.

use super::{
    ChallengeStore, ChannelLease, ChannelLeases, Cursors, CustomerStore, IncomingPayments,
    Position, QuoteStore, StoreError, TransactionQuery, TransactionStore,
};
use crate::decimal::{Decimal, MAX_SCALE};
use crate::model::{
    Customer, CustomerStatus, FieldRejection, IncomingPayment, Kind, OffChainTransfer,
    PaymentOutcome, Protocol, Quote, QuoteContext, QuoteFee, QuoteFeeDetail, SubmissionState,
    Transaction, TransactionStatus, UserKey,
};
use crate::stellar::{Amount, Asset, Keypair};
use crate::time::Timestamp;

/// Runs every check.
pub async fn run_all<
    S: TransactionStore
        + CustomerStore
        + ChallengeStore
        + ChannelLeases
        + Cursors
        + IncomingPayments
        + QuoteStore,
>(
    store: &S,
) {
    transactions_round_trip(store).await;
    transaction_updates_are_conditional(store).await;
    status_changes_are_kept_in_the_history(store).await;
    concurrent_status_changes_have_one_winner(store).await;
    user_listings_are_newest_first_paged_and_private(store).await;
    user_listings_start_before_a_transaction(store).await;
    status_listings_serve_the_pollers(store).await;
    status_listings_read_from_both_ends(store).await;
    lookups_by_memo_hash_and_external_id(store).await;
    customers(store).await;
    challenges_are_consumed_once(store).await;
    quotes_are_written_once(store).await;
    run_payment_workers(store).await;
}

/// Every status change is in the stored history once, by the system unless an action was
/// recorded for the write; a write that keeps the status adds nothing.
pub async fn status_changes_are_kept_in_the_history<S: TransactionStore>(store: &S) {
    use crate::model::SYSTEM_ACTOR;
    let mut t = transaction(
        user(None),
        Kind::Withdrawal,
        TransactionStatus::PendingUserTransferStart,
        1_700_000_000_000,
    );
    store.insert(&t).await.expect("insert");
    t.status = TransactionStatus::OnHold;
    t.status_message = Some("held for review".into());
    store
        .update(&mut t, TransactionStatus::PendingUserTransferStart)
        .await
        .expect("hold");
    t.external_transaction_id = Some("bank-1".into());
    store
        .update(&mut t, TransactionStatus::OnHold)
        .await
        .expect("a write that keeps the status");
    t.status = TransactionStatus::PendingAnchor;
    t.record(
        TransactionStatus::OnHold,
        "operator:ana",
        Some("accepted".into()),
    );
    store
        .update(&mut t, TransactionStatus::OnHold)
        .await
        .expect("accept");
    let stored = store.get(&t.id).await.expect("get").expect("exists");
    let seen: Vec<_> = stored
        .history
        .iter()
        .map(|e| {
            (
                e.version,
                e.from,
                e.status,
                e.by.as_str(),
                e.note.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                1,
                TransactionStatus::PendingUserTransferStart,
                TransactionStatus::OnHold,
                SYSTEM_ACTOR,
                Some("held for review")
            ),
            (
                3,
                TransactionStatus::OnHold,
                TransactionStatus::PendingAnchor,
                "operator:ana",
                Some("accepted")
            ),
        ]
    );
    assert_eq!(stored, t, "the caller's copy is what was stored");
}

/// The checks of the payment workers' state (channel leases, cursors, incoming payments).
pub async fn run_payment_workers<S: ChannelLeases + Cursors + IncomingPayments>(store: &S) {
    channel_leases_have_one_holder(store).await;
    cursors_move_by_conditional_saves(store).await;
    payments_are_recorded_once(store).await;
    payments_needing_attention_are_listed_oldest_first(store).await;
    payments_are_found_by_their_transaction(store).await;
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
    t.pending_refund = Some(crate::model::PendingRefund {
        amount: "100.5".parse().expect("amount"),
        stellar: Some(crate::model::StellarRefund {
            destination: Keypair::random().account_id().to_string(),
            memo_type: "id".into(),
            memo: Some("12345".into()),
        }),
        full: true,
        from: TransactionStatus::OnHold,
        requested_by: "operator:alice".into(),
        requested_at: Timestamp::from_millis(1_700_000_000_500),
        reason: "wrong amount ✓".into(),
        started_at: None,
    });
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
        kinds: Vec::new(),
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
    query.kinds = vec![Kind::Withdrawal];
    let withdrawals = store.list_for_user(&query).await.expect("list").items;
    assert_eq!(withdrawals.len(), 3);
    assert!(withdrawals.iter().all(|t| t.kind == Kind::Withdrawal));

    query.kinds = Vec::new();
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
            kinds: Vec::new(),
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
        kinds: Vec::new(),
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
    query.kinds = vec![Kind::Withdrawal];
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

    query.kinds = Vec::new();
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

/// The scheduled scans read a status listing from its newest end too, and resume the oldest
/// first one from a cursor saved between runs: a cursor is a position, valid (and skipping
/// nothing) after transactions left the status. The listing used (a withdrawal-exchange in
/// `pending_trust`) is one no worker uses, and this check leaves it empty.
pub async fn status_listings_read_from_both_ends<S: TransactionStore>(store: &S) {
    let (kind, status) = (Kind::WithdrawalExchange, TransactionStatus::PendingTrust);
    let base = 1_650_000_000_000 + i64::try_from(rand_u64() % 1_000_000).expect("small") * 100;
    let mut ids = Vec::new();
    for i in 0..5 {
        let t = transaction(user(None), kind, status, base + i);
        store.insert(&t).await.expect("insert");
        ids.push(t.id);
    }
    let mut newest = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_by_status_newest_first(kind, status, 2, cursor.as_deref())
            .await
            .expect("list");
        assert!(page.items.len() <= 2, "a page holds at most its limit");
        newest.extend(page.items.into_iter().map(|t| t.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(newest, expected, "newest first, each once");

    let first = store
        .list_by_status(kind, status, 2, None)
        .await
        .expect("list");
    let first_ids: Vec<&str> = first.items.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(first_ids, [ids[0].as_str(), ids[1].as_str()]);
    let cursor = first.next.expect("more follow");
    // Two transactions leave the status, one of them not read yet.
    for id in [&ids[0], &ids[2]] {
        let mut moved = store.get(id).await.expect("get").expect("exists");
        moved.status = TransactionStatus::PendingAnchor;
        store.update(&mut moved, status).await.expect("update");
    }
    let rest = store
        .list_by_status(kind, status, 10, Some(&cursor))
        .await
        .expect("a saved cursor outlives changes to the listing");
    let rest_ids: Vec<&str> = rest.items.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        rest_ids,
        [ids[3].as_str(), ids[4].as_str()],
        "the listing resumes after the cursor's position, skipping nothing"
    );
    assert_eq!(rest.next, None);
    assert_eq!(
        store
            .list_by_status(kind, TransactionStatus::Incomplete, 10, Some(&cursor))
            .await,
        Err(StoreError::InvalidCursor),
        "a cursor is bound to its listing"
    );
    for id in [&ids[1], &ids[3], &ids[4]] {
        let mut moved = store.get(id).await.expect("get").expect("exists");
        moved.status = TransactionStatus::PendingAnchor;
        store.update(&mut moved, status).await.expect("update");
    }
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
    c.rejected_fields.insert(
        "bank_account_number".into(),
        FieldRejection {
            reason: "account DE89370400440532013000 is closed".into(),
            transaction_id: Some("tx-1".into()),
        },
    );
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
    c.rejected_fields.clear();
    store.update(&mut c).await.expect("update");
    assert_eq!(c.version, 1);
    assert_eq!(
        store.get(&c.id).await.expect("get"),
        Some(c.clone()),
        "an update writes the whole customer, a cleared rejection included"
    );
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

fn decimal(text: &str) -> Decimal {
    Decimal::parse_unbounded(text, MAX_SCALE).expect("decimal")
}

/// A quote with every optional field empty.
fn minimal_quote(owner: UserKey) -> Quote {
    let created = Timestamp::from_millis(1_700_000_000_123);
    let usdc = usdc();
    Quote {
        id: format!("quote-{:016x}", rand_u64()),
        user: owner,
        context: QuoteContext::Sep24,
        sell_asset: "iso4217:USD".into(),
        sell_amount: decimal("100"),
        sell_delivery_method: None,
        buy_asset: format!(
            "stellar:{}:{}",
            usdc.code(),
            usdc.issuer().expect("an issued asset")
        ),
        buy_amount: decimal("98"),
        buy_delivery_method: None,
        country_code: None,
        price: decimal("1"),
        total_price: decimal("1.0204081632653061224490"),
        fee: QuoteFee {
            total: decimal("2"),
            asset: "iso4217:USD".into(),
            details: Vec::new(),
        },
        expires_at: Timestamp::from_millis(created.millis() + 300_000),
        created_at: created,
        transaction_id: None,
    }
}

pub async fn quotes_are_written_once<S: QuoteStore>(store: &S) {
    // Every optional field set, prices with many decimals, a fee with a breakdown.
    let full = Quote {
        context: QuoteContext::Sep31,
        sell_amount: decimal("100.25"),
        sell_delivery_method: Some("ACH".into()),
        buy_amount: decimal("92.1"),
        buy_delivery_method: Some("WIRE ✓".into()),
        country_code: Some("BRA".into()),
        price: decimal("1.0640608034744842562432"),
        total_price: decimal("1.0884907709011943539630"),
        fee: QuoteFee {
            total: decimal("2.25"),
            asset: "iso4217:USD".into(),
            details: vec![
                QuoteFeeDetail {
                    name: "Service fee".into(),
                    description: Some("the anchor's 1.5%".into()),
                    amount: decimal("1.5"),
                },
                QuoteFeeDetail {
                    name: "Network fee".into(),
                    description: None,
                    amount: decimal("0.75"),
                },
            ],
        },
        ..minimal_quote(user(Some(9)))
    };
    let minimal = minimal_quote(user(None));
    assert_eq!(store.get_quote(&full.id).await, Ok(None), "not yet stored");
    for quote in [&full, &minimal] {
        store.insert_quote(quote).await.expect("insert quote");
        assert_eq!(
            store.get_quote(&quote.id).await,
            Ok(Some(quote.clone())),
            "a quote reads back exactly as written"
        );
    }

    let mut same_id = minimal_quote(user(None));
    same_id.id = full.id.clone();
    assert_eq!(
        store.insert_quote(&same_id).await,
        Err(StoreError::Conflict),
        "a quote id is used once"
    );
    assert_eq!(
        store.get_quote(&full.id).await,
        Ok(Some(full.clone())),
        "and the first quote is unchanged"
    );

    // Concurrent inserts of one id: one wins.
    let contested = minimal_quote(user(None));
    let (a, b) = tokio::join!(
        store.insert_quote(&contested),
        store.insert_quote(&contested)
    );
    assert!(
        matches!(
            (&a, &b),
            (Ok(()), Err(StoreError::Conflict)) | (Err(StoreError::Conflict), Ok(()))
        ),
        "one of two concurrent inserts wins: {a:?} {b:?}"
    );

    // A quote backs one transaction: the first use wins, and the quote then shows it.
    let (a, b) = tokio::join!(
        store.use_quote(&minimal.id, "transaction-a"),
        store.use_quote(&minimal.id, "transaction-b")
    );
    let winner = match (&a, &b) {
        (Ok(()), Err(StoreError::Conflict)) => "transaction-a",
        (Err(StoreError::Conflict), Ok(())) => "transaction-b",
        other => panic!("one of two uses of a quote wins: {other:?}"),
    };
    let used = store
        .get_quote(&minimal.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(used.transaction_id.as_deref(), Some(winner));
    let unused = Quote {
        transaction_id: None,
        ..used
    };
    assert_eq!(unused, minimal, "using a quote changes nothing else");

    let unknown = format!("quote-{:016x}", rand_u64());
    assert_eq!(store.get_quote(&unknown).await, Ok(None));
    assert_eq!(
        store.use_quote(&unknown, "transaction-c").await,
        Err(StoreError::Conflict),
        "an unknown quote cannot be used"
    );
    assert_eq!(
        store.get_quote("").await,
        Ok(None),
        "no quote has an empty id"
    );
}

/// Channel leases. Channels are not namespaced, so every run leases the same indexes: its times
/// start at the wall clock, after the leases of any earlier run (which all end within a second or
/// two of that run's start, released or not) have expired. Runs against one store must not
/// overlap, nor may anything else lease its channels meanwhile.
pub async fn channel_leases_have_one_holder<S: ChannelLeases>(store: &S) {
    let base = Timestamp::now().millis();
    let at = |offset: i64| Timestamp::from_millis(base + offset);
    let holder = |name: &str| format!("{name}-{:016x}", rand_u64());

    // Two submitters race for the only channel.
    for round in 0..3 {
        let (start, end) = (at(round * 100), at(round * 100 + 100));
        let (a, b) = (holder("a"), holder("b"));
        let (ra, rb) = tokio::join!(
            store.lease(1, &a, start, end),
            store.lease(1, &b, start, end),
        );
        let (ra, rb) = (ra.expect("lease"), rb.expect("lease"));
        assert!(
            ra.is_some() != rb.is_some(),
            "exactly one of two concurrent leases of one channel wins: {ra:?} {rb:?}"
        );
        let won = ra.or(rb).expect("a winner");
        assert_eq!(won.index, 0);
        assert!(won.holder == a || won.holder == b);
        assert_eq!(won.until, end);
        store.release(&won).await.expect("release");
    }

    // The channel is held until base+400 (exclusive).
    let first = store
        .lease(1, &holder("first"), at(300), at(400))
        .await
        .expect("lease")
        .expect("the released channel is free");
    assert_eq!(
        store.lease(1, &holder("x"), at(399), at(500)).await,
        Ok(None),
        "a held channel is not leased again"
    );
    let impostor = ChannelLease {
        holder: holder("impostor"),
        ..first.clone()
    };
    store.release(&impostor).await.expect("release");
    assert_eq!(
        store.lease(1, &holder("x"), at(399), at(500)).await,
        Ok(None),
        "a release by another holder leaves the lease alone"
    );

    // Expired: taken over; the old holder's late release does not free the new lease.
    let second = store
        .lease(1, &holder("second"), at(400), at(500))
        .await
        .expect("lease")
        .expect("a lease expires at its end");
    assert_eq!(second.index, 0);
    assert_ne!(second.holder, first.holder);
    store.release(&first).await.expect("release");
    assert_eq!(
        store.lease(1, &holder("x"), at(450), at(550)).await,
        Ok(None),
        "the expired holder's release leaves its successor's lease alone"
    );
    store.release(&second).await.expect("release");
    assert!(
        store
            .lease(1, &holder("x"), at(450), at(550))
            .await
            .expect("lease")
            .is_some(),
        "the holder's release frees the channel"
    );

    // Every channel of a pool: each once, then none; a release frees one.
    let mut held = Vec::new();
    for _ in 0..3 {
        let lease = store
            .lease(3, &holder("pool"), at(600), at(700))
            .await
            .expect("lease")
            .expect("a free channel");
        assert!(lease.index < 3);
        held.push(lease);
    }
    let mut indexes: Vec<u32> = held.iter().map(|l| l.index).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, [0, 1, 2], "each channel leased once");
    assert_eq!(
        store.lease(3, &holder("pool"), at(650), at(750)).await,
        Ok(None),
        "no channel while all are leased"
    );
    assert_eq!(
        store.lease(0, &holder("none"), at(650), at(750)).await,
        Ok(None)
    );
    store.release(&held[1]).await.expect("release");
    let again = store
        .lease(3, &holder("pool"), at(650), at(750))
        .await
        .expect("lease")
        .expect("the released channel");
    assert_eq!(again.index, held[1].index);
    for lease in [&held[0], &held[2], &again] {
        store.release(lease).await.expect("release");
    }
}

pub async fn cursors_move_by_conditional_saves<S: Cursors>(store: &S) {
    let name = format!("payments:{}", Keypair::random().account_id());
    assert_eq!(store.cursor(&name).await, Ok(None));
    assert_eq!(
        store.save_cursor(&name, "10", Some(0)).await,
        Err(StoreError::Conflict),
        "a save expecting a version of a cursor never stored loses"
    );
    let v1 = store
        .save_cursor(&name, "10", None)
        .await
        .expect("first save");
    assert_eq!(
        store.cursor(&name).await,
        Ok(Some(super::StoredCursor {
            value: "10".into(),
            version: v1,
        }))
    );
    assert_eq!(
        store.save_cursor(&name, "11", None).await,
        Err(StoreError::Conflict),
        "a second first save loses"
    );
    let v2 = store
        .save_cursor(&name, "20", Some(v1))
        .await
        .expect("save");
    assert!(v2 > v1, "versions increase: {v1} then {v2}");
    assert_eq!(
        store.save_cursor(&name, "15", Some(v1)).await,
        Err(StoreError::Conflict),
        "a save from a stale version loses"
    );

    // Two watchers move the cursor from the same version: one wins.
    let (a, b) = tokio::join!(
        store.save_cursor(&name, "30", Some(v2)),
        store.save_cursor(&name, "31", Some(v2)),
    );
    assert!(
        a.is_ok() != b.is_ok(),
        "one of two concurrent saves wins: {a:?} {b:?}"
    );
    assert!([&a, &b].contains(&&Err(StoreError::Conflict)));
    let (value, v3) = match (a, b) {
        (Ok(v), _) => ("30", v),
        (_, Ok(v)) => ("31", v),
        _ => unreachable!("checked above"),
    };
    assert!(v3 > v2);
    assert_eq!(
        store.cursor(&name).await,
        Ok(Some(super::StoredCursor {
            value: value.into(),
            version: v3,
        }))
    );
    let other = format!("payments:{}", Keypair::random().account_id());
    assert_eq!(store.cursor(&other).await, Ok(None), "cursors are per name");
}

fn incoming_payment(outcome: PaymentOutcome, recorded_ms: i64) -> IncomingPayment {
    IncomingPayment {
        id: rand_u64().to_string(),
        account: Keypair::random().account_id(),
        transaction_hash: format!("{:064x}", rand_u64()),
        from: Some(Keypair::random().account_id()),
        asset: usdc(),
        amount: "12.5".parse().expect("amount"),
        memo_type: "id".into(),
        memo: Some(rand_u64().to_string()),
        created_at: Timestamp::from_millis(recorded_ms - 5000),
        outcome,
        transaction_id: None,
        note: None,
        recorded_at: Timestamp::from_millis(recorded_ms),
        off_chain: None,
    }
}

pub async fn payments_are_recorded_once<S: IncomingPayments>(store: &S) {
    let mut payment = incoming_payment(PaymentOutcome::WrongAmount, 1_700_000_000_000);
    payment.transaction_id = Some("tx-1".into());
    payment.note = Some("expected 100 ± 10%, received 12.5 ✓".into());
    assert_eq!(store.get_payment(&payment.id).await, Ok(None));
    assert_eq!(store.record(&payment).await, Ok(true), "first record");
    assert_eq!(
        store.get_payment(&payment.id).await,
        Ok(Some(payment.clone())),
        "a payment reads back exactly as recorded"
    );

    let mut again = payment.clone();
    again.outcome = PaymentOutcome::Matched;
    again.note = None;
    again.recorded_at = Timestamp::from_millis(1_700_000_001_000);
    assert_eq!(
        store.record(&again).await,
        Ok(false),
        "a payment recorded twice is refused the second time"
    );
    assert_eq!(
        store.get_payment(&payment.id).await,
        Ok(Some(payment.clone())),
        "and the record is unchanged"
    );

    let minimal = IncomingPayment {
        from: None,
        memo_type: "none".into(),
        memo: None,
        asset: Asset::Native,
        ..incoming_payment(PaymentOutcome::Unmatched, 1_700_000_000_000)
    };
    // Concurrent watchers recording the same payment: one records it.
    let (a, b) = tokio::join!(store.record(&minimal), store.record(&minimal));
    assert!(
        matches!((&a, &b), (Ok(true), Ok(false)) | (Ok(false), Ok(true))),
        "one of two concurrent records wins: {a:?} {b:?}"
    );
    assert_eq!(store.get_payment(&minimal.id).await, Ok(Some(minimal)));

    // Money that arrived off chain, recorded by its transfer id, reads back with its transfer.
    let transfer = OffChainTransfer {
        id: rand_u64().to_string(),
        reference: Some("MOOR-1A2B3C4D".into()),
        amount: "25".parse().expect("amount"),
        currency: Some("USD".into()),
        sender: Some("DE89 3704 0044 0532 0130 00".into()),
    };
    let off_chain = IncomingPayment {
        id: OffChainTransfer::payment_id(&transfer.id),
        transaction_hash: transfer.id.clone(),
        from: None,
        memo_type: "text".into(),
        memo: transfer.reference.clone(),
        off_chain: Some(transfer),
        ..incoming_payment(PaymentOutcome::Duplicate, 1_700_000_000_000)
    };
    assert_eq!(store.record(&off_chain).await, Ok(true));
    assert_eq!(store.record(&off_chain).await, Ok(false), "once");
    assert_eq!(store.get_payment(&off_chain.id).await, Ok(Some(off_chain)));
}

/// A transaction's payments (matched or not), oldest first; none for an unknown or empty id.
pub async fn payments_are_found_by_their_transaction<S: IncomingPayments>(store: &S) {
    let transaction_id = format!("tx-{}", rand_u64());
    let mut matched = incoming_payment(PaymentOutcome::Matched, 1_700_000_002_000);
    matched.transaction_id = Some(transaction_id.clone());
    let mut duplicate = incoming_payment(PaymentOutcome::Duplicate, 1_700_000_001_000);
    duplicate.transaction_id = Some(transaction_id.clone());
    let mut other = incoming_payment(PaymentOutcome::WrongAmount, 1_700_000_000_000);
    other.transaction_id = Some(format!("tx-{}", rand_u64()));
    let unmatched = incoming_payment(PaymentOutcome::Unmatched, 1_700_000_000_000);
    for payment in [&matched, &duplicate, &other, &unmatched] {
        assert_eq!(store.record(payment).await, Ok(true));
    }
    assert_eq!(
        store.payments_for_transaction(&transaction_id).await,
        Ok(vec![duplicate, matched]),
        "a transaction's payments, oldest first"
    );
    assert_eq!(
        store
            .payments_for_transaction(&format!("tx-{}", rand_u64()))
            .await,
        Ok(Vec::new())
    );
    assert_eq!(store.payments_for_transaction("").await, Ok(Vec::new()));
}

pub async fn payments_needing_attention_are_listed_oldest_first<S: IncomingPayments>(store: &S) {
    // Other runs' payments share the listing: look for this run's, in order. Recorded out of
    // order, two at the same millisecond (ordered by id).
    let base = 1_500_000_000_000;
    let outcomes = [
        (PaymentOutcome::WrongAsset, 3000),
        (PaymentOutcome::Matched, 1000),
        (PaymentOutcome::Unmatched, 1000),
        (PaymentOutcome::Duplicate, 2000),
        (PaymentOutcome::WrongAmount, 0),
        (PaymentOutcome::Matched, 0),
        (PaymentOutcome::Unmatched, 2000),
        (PaymentOutcome::History, 1500),
    ];
    let mut mine = Vec::new();
    for (outcome, offset) in outcomes {
        let payment = incoming_payment(outcome, base + offset);
        assert_eq!(store.record(&payment).await, Ok(true));
        mine.push(payment);
    }
    let quiet: Vec<String> = mine
        .iter()
        .filter(|p| matches!(p.outcome, PaymentOutcome::Matched | PaymentOutcome::History))
        .map(|p| p.id.clone())
        .collect();
    let mut expected: Vec<&IncomingPayment> = mine
        .iter()
        .filter(|p| p.outcome.needs_attention())
        .collect();
    expected.sort_by(|a, b| (a.recorded_at, &a.id).cmp(&(b.recorded_at, &b.id)));
    let expected: Vec<String> = expected.iter().map(|p| p.id.clone()).collect();

    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    let mut previous: Option<(Timestamp, String)> = None;
    loop {
        let page = store
            .list_needing_attention(2, cursor.as_deref())
            .await
            .expect("list");
        assert!(page.items.len() <= 2, "a page holds at most the limit");
        for p in &page.items {
            assert!(p.outcome.needs_attention(), "only what needs attention");
            let key = (p.recorded_at, p.id.clone());
            assert!(
                previous.as_ref().is_none_or(|prev| *prev < key),
                "oldest first, each once"
            );
            previous = Some(key);
            if expected.contains(&p.id) {
                assert_eq!(Some(p), mine.iter().find(|m| m.id == p.id), "listed whole");
            }
        }
        seen.extend(page.items.into_iter().map(|p| p.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert!(
        !seen.iter().any(|id| quiet.contains(id)),
        "matched and history payments are not listed"
    );
    let ours: Vec<String> = seen
        .into_iter()
        .filter(|id| expected.contains(id))
        .collect();
    assert_eq!(
        ours, expected,
        "every payment needing attention, oldest first"
    );

    assert_eq!(
        store
            .list_needing_attention(2, Some("not a cursor"))
            .await
            .map(|p| p.items.len()),
        Err(StoreError::InvalidCursor)
    );
}

fn rand_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).expect("CSPRNG");
    u64::from_le_bytes(bytes)
}
