//! The operator's actions, listings, dead-letter redrive and balances over the in-memory
//! adapters.

use std::collections::BTreeMap;

use super::dead_letters::InMemoryDeadLetters;
use super::listing::incoming_payments;
use super::*;
use crate::clock::FixedClock;
use crate::horizon::InMemoryHorizon;
use crate::model::{
    IncomingPayment, PaymentOutcome, Protocol, SubmissionState, UserKey, SYSTEM_ACTOR,
};
use crate::queue::InMemoryQueue;
use crate::stellar::{AccountId, Amount, Asset, Keypair, Network};
use crate::store::{InMemoryStore, IncomingPayments};

const NOW: u64 = 1_700_000_000;

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

fn usdc() -> Asset {
    Asset::credit("USDC", key(1).account_id()).expect("asset")
}

fn user(n: u8) -> UserKey {
    UserKey {
        account: key(n).account_id(),
        memo: None,
    }
}

fn protocol(kind: Kind) -> Protocol {
    match kind {
        Kind::Receive => Protocol::Sep31,
        _ => Protocol::Sep24,
    }
}

/// The anchor: a store, the three worker queues, a clock standing at `NOW`.
struct Anchor {
    store: InMemoryStore,
    submissions: InMemoryQueue,
    withdrawals: InMemoryQueue,
    outgoing: InMemoryQueue,
    clock: FixedClock,
}

impl Anchor {
    fn new() -> Self {
        Self {
            store: InMemoryStore::default(),
            submissions: InMemoryQueue::default(),
            withdrawals: InMemoryQueue::default(),
            outgoing: InMemoryQueue::default(),
            clock: FixedClock::at(NOW),
        }
    }

    fn operator(&self, name: &str) -> Operator<'_, InMemoryStore, InMemoryQueue> {
        Operator::new(
            &self.store,
            Queues {
                submissions: &self.submissions,
                withdrawals: &self.withdrawals,
                outgoing: &self.outgoing,
            },
            &self.clock,
            Actor::new(name).expect("name"),
        )
    }

    /// A stored transaction of `kind` in `status`, started `age` seconds ago.
    async fn transaction(&self, kind: Kind, status: TransactionStatus, age: u64) -> Transaction {
        let started = Timestamp::from_secs(NOW - age);
        let mut t = Transaction::new(protocol(kind), kind, status, user(7), usdc(), started);
        t.amount_in = Some(Amount::from_stroops(100_000_000));
        t.amount_out = Some(Amount::from_stroops(99_000_000));
        self.store.insert(&t).await.expect("insert");
        t
    }

    /// A stored transaction moved by the anchor's own code from `from` to `to` (the history
    /// records the step), after `change` set what that step leaves behind.
    async fn moved(
        &self,
        kind: Kind,
        from: TransactionStatus,
        to: TransactionStatus,
        change: impl FnOnce(&mut Transaction),
    ) -> Transaction {
        let mut t = self.transaction(kind, from, 600).await;
        t.status = to;
        t.status_message = Some(format!("went {to}"));
        change(&mut t);
        self.store.update(&mut t, from).await.expect("move");
        t
    }

    async fn get(&self, id: &str) -> Transaction {
        self.store.get(id).await.expect("get").expect("stored")
    }

    fn queued(&self) -> [usize; 3] {
        [
            self.submissions.messages().len(),
            self.withdrawals.messages().len(),
            self.outgoing.messages().len(),
        ]
    }
}

/// Plans and applies `action` as `operator`, from a fresh read.
async fn act(
    anchor: &Anchor,
    operator: &str,
    id: &str,
    plan: fn(&Transaction) -> Result<Plan, OperatorError>,
    reason: Option<&str>,
) -> Result<Applied, OperatorError> {
    let operator = anchor.operator(operator);
    let read = operator.transaction(id).await?;
    let plan = plan(&read)?;
    operator.apply(&read, &plan, reason).await
}

fn refusal(result: Result<Applied, OperatorError>) -> String {
    match result {
        Err(OperatorError::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Asserts that `plan` refuses transaction `id`, saying `because`.
async fn refuses(
    anchor: &Anchor,
    id: &str,
    plan: fn(&Transaction) -> Result<Plan, OperatorError>,
    because: &str,
) {
    let why = refusal(act(anchor, "ana", id, plan, None).await);
    assert!(why.contains(because), "{why}");
}

#[tokio::test]
async fn retry_requeues_a_pending_anchor_deposit_keeping_its_status_and_records_who_and_why() {
    let anchor = Anchor::new();
    let t = anchor
        .transaction(Kind::Deposit, TransactionStatus::PendingAnchor, 600)
        .await;
    anchor.clock.set(NOW + 30);
    let applied = act(
        &anchor,
        "ana",
        &t.id,
        plan_retry,
        Some("stuck since the outage"),
    )
    .await
    .expect("retried");
    assert_eq!(applied.queued, Some(WorkerQueue::Submissions));
    assert_eq!(
        anchor.submissions.messages(),
        [QueueMessage::new(t.id.clone(), Kind::Deposit)]
    );
    let stored = anchor.get(&t.id).await;
    assert_eq!(stored, applied.transaction);
    assert_eq!(stored.status, TransactionStatus::PendingAnchor);
    assert_eq!(stored.version, t.version + 1);
    assert_eq!(stored.updated_at, Timestamp::from_secs(NOW + 30));
    let entry = stored.history.last().expect("recorded");
    assert_eq!(entry.by, "operator:ana");
    assert_eq!(entry.at, Timestamp::from_secs(NOW + 30));
    assert_eq!(
        (entry.from, entry.status, entry.version),
        (
            TransactionStatus::PendingAnchor,
            TransactionStatus::PendingAnchor,
            stored.version
        )
    );
    assert_eq!(
        entry.note.as_deref(),
        Some("retry: stays pending_anchor, queued to submissions. Reason: stuck since the outage")
    );
}

#[tokio::test]
async fn retry_sends_each_kind_to_the_worker_that_owns_its_status() {
    let anchor = Anchor::new();
    let cases = [
        (Kind::Deposit, TransactionStatus::PendingStellar, [1, 0, 0]),
        (
            Kind::DepositExchange,
            TransactionStatus::PendingAnchor,
            [2, 0, 0],
        ),
        (
            Kind::Withdrawal,
            TransactionStatus::PendingAnchor,
            [2, 1, 0],
        ),
        (
            Kind::WithdrawalExchange,
            TransactionStatus::PendingAnchor,
            [2, 2, 0],
        ),
        (Kind::Receive, TransactionStatus::PendingReceiver, [2, 2, 1]),
    ];
    for (kind, status, queued) in cases {
        let t = anchor.transaction(kind, status, 60).await;
        let applied = act(&anchor, "ana", &t.id, plan_retry, None)
            .await
            .expect("retried");
        assert_eq!(
            applied.transaction.status, status,
            "{kind:?} keeps its status"
        );
        assert_eq!(anchor.queued(), queued, "{kind:?} in {status}");
    }
}

#[tokio::test]
async fn retry_sends_a_pending_trust_deposit_back_to_pending_anchor() {
    let anchor = Anchor::new();
    let t = anchor
        .moved(
            Kind::Deposit,
            TransactionStatus::PendingAnchor,
            TransactionStatus::PendingTrust,
            |_| {},
        )
        .await;
    let applied = act(&anchor, "ana", &t.id, plan_retry, None)
        .await
        .expect("retried");
    assert_eq!(applied.transaction.status, TransactionStatus::PendingAnchor);
    assert_eq!(applied.transaction.status_message, None);
    assert_eq!(anchor.queued(), [1, 0, 0]);
}

#[tokio::test]
async fn retry_refuses_what_no_worker_takes_and_changes_nothing() {
    let anchor = Anchor::new();
    for (kind, status) in [
        (Kind::Deposit, TransactionStatus::PendingUserTransferStart),
        (Kind::Deposit, TransactionStatus::Completed),
        (Kind::Withdrawal, TransactionStatus::OnHold),
        (Kind::Withdrawal, TransactionStatus::PendingExternal),
        (Kind::Receive, TransactionStatus::PendingAnchor),
    ] {
        let t = anchor.transaction(kind, status, 60).await;
        refuses(&anchor, &t.id, plan_retry, "no worker takes it").await;
        assert_eq!(anchor.get(&t.id).await, t, "unchanged");
    }
    assert_eq!(anchor.queued(), [0, 0, 0]);
}

#[tokio::test]
async fn a_deposit_that_failed_before_anything_was_signed_is_retried() {
    let anchor = Anchor::new();
    let t = anchor
        .moved(
            Kind::Deposit,
            TransactionStatus::PendingAnchor,
            TransactionStatus::Error,
            |_| {},
        )
        .await;
    let applied = act(&anchor, "ana", &t.id, plan_retry, Some("account created"))
        .await
        .expect("retried");
    assert_eq!(applied.transaction.status, TransactionStatus::PendingAnchor);
    assert_eq!(applied.transaction.status_message, None);
    assert_eq!(anchor.queued(), [1, 0, 0]);
    let last = anchor
        .get(&t.id)
        .await
        .history
        .last()
        .cloned()
        .expect("entry");
    assert_eq!(
        (last.from, last.status),
        (TransactionStatus::Error, TransactionStatus::PendingAnchor)
    );
}

#[tokio::test]
async fn an_error_is_not_retried_when_something_may_have_been_paid_or_the_step_is_unknown() {
    let anchor = Anchor::new();
    // The submitter signed an envelope, then failed: it may be on the network.
    let signed = anchor
        .moved(
            Kind::Deposit,
            TransactionStatus::PendingAnchor,
            TransactionStatus::Error,
            |t| {
                t.submission = SubmissionState::Failed;
                t.envelope_hash = Some("ab12".into());
            },
        )
        .await;
    refuses(&anchor, &signed.id, plan_retry, "envelope ab12").await;

    // The rail was called for the payout and failed: its outcome is unknown.
    let paid_out = anchor
        .moved(
            Kind::Withdrawal,
            TransactionStatus::PendingAnchor,
            TransactionStatus::Error,
            |t| t.payout_started_at = Some(Timestamp::from_secs(NOW - 100)),
        )
        .await;
    refuses(&anchor, &paid_out.id, plan_retry, "handed to the rail").await;

    // The deposit poller refused the funds: no worker step to repeat.
    let refused_funds = anchor
        .moved(
            Kind::Deposit,
            TransactionStatus::PendingUserTransferStart,
            TransactionStatus::Error,
            |_| {},
        )
        .await;
    refuses(
        &anchor,
        &refused_funds.id,
        plan_retry,
        "failed in pending_user_transfer_start",
    )
    .await;

    // No history: which step failed is unknown.
    let old = anchor
        .transaction(Kind::Receive, TransactionStatus::Error, 60)
        .await;
    refuses(&anchor, &old.id, plan_retry, "history does not say").await;

    assert_eq!(anchor.queued(), [0, 0, 0]);
}

#[tokio::test]
async fn accept_continues_an_on_hold_transaction_from_its_workers_status() {
    let anchor = Anchor::new();
    let paid = |t: &mut Transaction| t.stellar_transaction_id = Some("cafe".into());
    let deposit = anchor
        .moved(
            Kind::Deposit,
            TransactionStatus::PendingUserTransferStart,
            TransactionStatus::OnHold,
            |_| {},
        )
        .await;
    let withdrawal = anchor
        .moved(
            Kind::Withdrawal,
            TransactionStatus::PendingUserTransferStart,
            TransactionStatus::OnHold,
            paid,
        )
        .await;
    let receive = anchor
        .moved(
            Kind::Receive,
            TransactionStatus::PendingSender,
            TransactionStatus::OnHold,
            paid,
        )
        .await;
    for (t, status, queued) in [
        (&deposit, TransactionStatus::PendingAnchor, [1, 0, 0]),
        (&withdrawal, TransactionStatus::PendingAnchor, [1, 1, 0]),
        (&receive, TransactionStatus::PendingReceiver, [1, 1, 1]),
    ] {
        let applied = act(&anchor, "ana", &t.id, plan_accept, Some("amount checked"))
            .await
            .expect("accepted");
        assert_eq!(applied.transaction.status, status);
        assert_eq!(applied.transaction.status_message, None);
        assert_eq!(applied.transaction.amount_out, t.amount_out, "amounts kept");
        assert_eq!(anchor.queued(), queued);
    }
}

#[tokio::test]
async fn accept_refuses_what_is_not_on_hold_or_has_nothing_to_pay_out() {
    let anchor = Anchor::new();
    let pending = anchor
        .transaction(Kind::Withdrawal, TransactionStatus::PendingAnchor, 60)
        .await;
    refuses(&anchor, &pending.id, plan_accept, "only on_hold").await;
    let unpaid = anchor
        .transaction(Kind::Withdrawal, TransactionStatus::OnHold, 60)
        .await;
    refuses(&anchor, &unpaid.id, plan_accept, "nothing to pay out").await;
    assert_eq!(anchor.queued(), [0, 0, 0]);
}

#[tokio::test]
async fn expire_ends_an_abandoned_transaction_with_a_status_message() {
    let anchor = Anchor::new();
    let t = anchor
        .transaction(
            Kind::Deposit,
            TransactionStatus::PendingUserTransferStart,
            86_400,
        )
        .await;
    let applied = act(&anchor, "ana", &t.id, |t| plan_expire(t, None), None)
        .await
        .expect("expired");
    assert_eq!(applied.transaction.status, TransactionStatus::Expired);
    assert_eq!(
        applied.transaction.status_message.as_deref(),
        Some(DEFAULT_EXPIRED_MESSAGE)
    );
    assert_eq!(applied.queued, None);

    let t = anchor
        .transaction(Kind::Receive, TransactionStatus::PendingSender, 60)
        .await;
    let read = anchor.get(&t.id).await;
    let plan = plan_expire(&read, Some("The sender cancelled.")).expect("plan");
    let applied = anchor
        .operator("bo")
        .apply(&read, &plan, Some("asked by phone"))
        .await
        .expect("expired");
    assert_eq!(
        applied.transaction.status_message.as_deref(),
        Some("The sender cancelled.")
    );
    let entry = applied.transaction.history.last().expect("entry");
    assert_eq!(entry.by, "operator:bo");
    assert_eq!(
        entry.note.as_deref(),
        Some("expire: pending_sender -> expired. Reason: asked by phone")
    );
    assert_eq!(anchor.queued(), [0, 0, 0]);
}

#[tokio::test]
async fn expire_refuses_ended_transactions_and_those_holding_or_paying_funds() {
    let anchor = Anchor::new();
    let expire = |t: &Transaction| plan_expire(t, None);
    let ended = anchor
        .transaction(Kind::Deposit, TransactionStatus::Completed, 60)
        .await;
    refuses(&anchor, &ended.id, expire, "ended").await;
    let arrived = anchor
        .transaction(Kind::Deposit, TransactionStatus::OnHold, 60)
        .await;
    refuses(
        &anchor,
        &arrived.id,
        expire,
        "funds arrived: refund it instead",
    )
    .await;
    let paid = anchor
        .moved(
            Kind::Withdrawal,
            TransactionStatus::PendingUserTransferStart,
            TransactionStatus::PendingExternal,
            |t| t.stellar_transaction_id = Some("beef".into()),
        )
        .await;
    refuses(&anchor, &paid.id, expire, "beef paid the anchor").await;
    let claimed = anchor
        .moved(
            Kind::Receive,
            TransactionStatus::PendingReceiver,
            TransactionStatus::PendingExternal,
            |t| t.payout_started_at = Some(Timestamp::from_secs(NOW)),
        )
        .await;
    refuses(&anchor, &claimed.id, expire, "handed to the rail").await;
}

#[tokio::test]
async fn of_two_operators_acting_on_one_read_one_wins_and_the_other_changes_nothing() {
    let anchor = Anchor::new();
    let t = anchor
        .moved(
            Kind::Withdrawal,
            TransactionStatus::PendingUserTransferStart,
            TransactionStatus::OnHold,
            |t| t.stellar_transaction_id = Some("cafe".into()),
        )
        .await;
    let (ana, bo) = (anchor.operator("ana"), anchor.operator("bo"));
    let read_by_ana = ana.transaction(&t.id).await.expect("read");
    let read_by_bo = bo.transaction(&t.id).await.expect("read");
    let accept = plan_accept(&read_by_ana).expect("plan");
    let expire = plan_expire(&read_by_bo, None);
    assert!(expire.is_err(), "funds arrived: expiry is refused anyway");
    let accept_again = plan_accept(&read_by_bo).expect("plan");

    ana.apply(&read_by_ana, &accept, Some("first"))
        .await
        .expect("ana wins");
    let lost = bo.apply(&read_by_bo, &accept_again, Some("second")).await;
    assert!(
        matches!(lost, Err(OperatorError::Changed(ref id)) if *id == t.id),
        "{lost:?}"
    );
    let stored = anchor.get(&t.id).await;
    let by: Vec<&str> = stored.history.iter().map(|e| e.by.as_str()).collect();
    assert_eq!(by, [SYSTEM_ACTOR, "operator:ana"], "one operator entry");
    assert_eq!(anchor.queued(), [0, 1, 0], "queued once");
}

#[tokio::test]
async fn an_action_on_a_transaction_a_worker_moved_since_it_was_read_does_nothing() {
    let anchor = Anchor::new();
    let t = anchor
        .transaction(Kind::Deposit, TransactionStatus::PendingAnchor, 60)
        .await;
    let operator = anchor.operator("ana");
    let read = operator.transaction(&t.id).await.expect("read");
    let plan = plan_retry(&read).expect("plan");
    // The submitter stores its envelope meanwhile (status kept, version bumped).
    let mut worker = read.clone();
    worker.submission = SubmissionState::Signed;
    anchor
        .store
        .update(&mut worker, TransactionStatus::PendingAnchor)
        .await
        .expect("worker");
    let result = operator.apply(&read, &plan, None).await;
    assert!(
        matches!(result, Err(OperatorError::Changed(_))),
        "{result:?}"
    );
    assert_eq!(anchor.get(&t.id).await, worker);
    assert_eq!(anchor.queued(), [0, 0, 0]);
}

#[tokio::test]
async fn a_queue_failure_after_the_write_is_an_error_that_says_what_happened() {
    struct Down;
    impl Queue for Down {
        async fn send(&self, _: &QueueMessage) -> Result<(), QueueError> {
            Err(QueueError::Unavailable("SQS is down".into()))
        }
    }
    let anchor = Anchor::new();
    let t = anchor
        .moved(
            Kind::Deposit,
            TransactionStatus::PendingAnchor,
            TransactionStatus::PendingTrust,
            |_| {},
        )
        .await;
    let down = Down;
    let operator = Operator::new(
        &anchor.store,
        Queues {
            submissions: &down,
            withdrawals: &down,
            outgoing: &down,
        },
        &anchor.clock,
        Actor::new("ana").expect("name"),
    );
    let read = operator.transaction(&t.id).await.expect("read");
    let plan = plan_retry(&read).expect("plan");
    let error = operator
        .apply(&read, &plan, None)
        .await
        .expect_err("not queued");
    assert!(
        matches!(error, OperatorError::NotQueued { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("is now pending_anchor") && message.contains("retry it again"),
        "{message}"
    );
    assert_eq!(
        anchor.get(&t.id).await.status,
        TransactionStatus::PendingAnchor,
        "the write stands (the poller re-queues stuck deposits too)"
    );
}

/// A withdrawal held for its amount: its Stellar payment (from key 9, memo text "MOOR-1",
/// 5 USDC) is on record.
async fn held_withdrawal(anchor: &Anchor) -> Transaction {
    let t = anchor
        .moved(
            Kind::Withdrawal,
            TransactionStatus::PendingUserTransferStart,
            TransactionStatus::OnHold,
            |t| {
                t.stellar_transaction_id = Some("hash-p1".into());
            },
        )
        .await;
    let mut paid = payment("p1", PaymentOutcome::Matched, NOW - 300);
    paid.transaction_id = Some(t.id.clone());
    anchor.store.record(&paid).await.expect("record");
    t
}

/// Plans the refund of `id` as `operator` from a fresh read, and applies it.
async fn refund(
    anchor: &Anchor,
    operator: &str,
    id: &str,
    scope: RefundScope,
    reason: Option<&str>,
) -> Result<Applied, OperatorError> {
    let operator = anchor.operator(operator);
    let read = operator.transaction(id).await?;
    let plan = operator.plan_refund(&read, scope, reason).await?;
    operator.apply(&read, &plan, None).await
}

#[tokio::test]
async fn an_on_hold_withdrawal_is_refunded_to_its_payer_recorded_and_queued_once() {
    let anchor = Anchor::new();
    let t = held_withdrawal(&anchor).await;
    let operator = anchor.operator("ana");
    let plan = operator
        .plan_refund(&t, RefundScope::OnHold, Some("wrong amount"))
        .await
        .expect("plan");
    let line = plan.describe();
    let payer = key(9).account_id().to_string();
    assert!(
        line.contains("on_hold -> pending_stellar, queued to submissions")
            && line.contains(&format!("5 of the 5 received back to {payer}"))
            && line.contains("memo text \"MOOR-1\""),
        "{line}"
    );
    assert_eq!(anchor.get(&t.id).await, t, "planning writes nothing");

    let applied = operator.apply(&t, &plan, None).await.expect("applied");
    assert_eq!(applied.queued, Some(WorkerQueue::Submissions));
    let stored = anchor.get(&t.id).await;
    assert_eq!(stored.status, TransactionStatus::PendingStellar);
    let refund = stored.pending_refund.as_ref().expect("under way");
    assert_eq!(refund.requested_by, "operator:ana");
    assert_eq!(refund.reason, "wrong amount");
    let entry = stored.history.last().expect("recorded");
    assert_eq!(
        (entry.by.as_str(), entry.from),
        ("operator:ana", TransactionStatus::OnHold)
    );
    assert!(entry
        .note
        .as_deref()
        .is_some_and(|n| n.contains("wrong amount")));
    assert_eq!(anchor.queued(), [1, 0, 0]);
    assert_eq!(
        anchor.submissions.messages(),
        [QueueMessage::new(t.id.clone(), Kind::Withdrawal)]
    );

    // The same plan again: the transaction moved on, nothing more is done.
    assert!(matches!(
        operator.apply(&t, &plan, None).await,
        Err(OperatorError::Changed(_))
    ));
    assert_eq!(anchor.queued(), [1, 0, 0]);
}

#[tokio::test]
async fn of_two_operators_refunding_at_once_one_refunds() {
    let anchor = Anchor::new();
    let t = held_withdrawal(&anchor).await;
    let (ana, bo) = (anchor.operator("ana"), anchor.operator("bo"));
    let ana_plan = ana
        .plan_refund(&t, RefundScope::OnHold, Some("rejected"))
        .await
        .expect("plan");
    let bo_plan = bo
        .plan_refund(&t, RefundScope::Any, Some("rejected too"))
        .await
        .expect("plan");
    let (first, second) =
        tokio::join!(ana.apply(&t, &ana_plan, None), bo.apply(&t, &bo_plan, None));
    assert_eq!(
        [first.is_ok(), second.is_ok()]
            .iter()
            .filter(|ok| **ok)
            .count(),
        1,
        "{first:?} {second:?}"
    );
    let lost = if first.is_ok() { second } else { first };
    assert!(matches!(lost, Err(OperatorError::Changed(_))), "{lost:?}");
    assert_eq!(anchor.queued(), [1, 0, 0], "queued once");

    // Planned again from a fresh read: the refund under way is the reason.
    let why = refusal(refund(&anchor, "bo", &t.id, RefundScope::Any, Some("again")).await);
    assert!(
        why.contains("a refund is already under way (requested by operator:"),
        "{why}"
    );
}

#[tokio::test]
async fn refunds_are_refused_with_the_refund_modules_reasons() {
    let anchor = Anchor::new();
    let pending = anchor
        .transaction(Kind::Withdrawal, TransactionStatus::PendingAnchor, 60)
        .await;
    let why = refusal(refund(&anchor, "ana", &pending.id, RefundScope::OnHold, Some("x")).await);
    assert!(why.contains("resolve --refund is for on_hold"), "{why}");
    let why = refusal(refund(&anchor, "ana", &pending.id, RefundScope::Any, Some("x")).await);
    assert!(why.starts_with(&format!("cannot refund withdrawal {} (pending_anchor): a withdrawal in pending_anchor cannot be refunded", pending.id)), "{why}");

    let held = held_withdrawal(&anchor).await;
    let why = refusal(refund(&anchor, "ana", &held.id, RefundScope::OnHold, None).await);
    assert!(
        why.ends_with("a reason for the refund is required"),
        "{why}"
    );
    let completed = anchor
        .transaction(Kind::Deposit, TransactionStatus::Completed, 60)
        .await;
    refusal(refund(&anchor, "ana", &completed.id, RefundScope::Any, Some("x")).await);
    assert!(matches!(
        refund(&anchor, "ana", "nope", RefundScope::Any, Some("x")).await,
        Err(OperatorError::NotFound(_))
    ));
    assert_eq!(anchor.queued(), [0, 0, 0]);
    assert_eq!(anchor.get(&held.id).await, held);
}

#[tokio::test]
async fn an_on_hold_deposit_is_refunded_off_chain_through_the_submitter() {
    let anchor = Anchor::new();
    let t = anchor
        .moved(
            Kind::Deposit,
            TransactionStatus::PendingUserTransferStart,
            TransactionStatus::OnHold,
            |_| {},
        )
        .await;
    let applied = refund(
        &anchor,
        "ana",
        &t.id,
        RefundScope::OnHold,
        Some("kyc failed"),
    )
    .await
    .expect("refund");
    assert_eq!(applied.transaction.status, TransactionStatus::PendingAnchor);
    let refund = applied.transaction.pending_refund.expect("under way");
    assert_eq!(
        (refund.amount, refund.stellar),
        (Amount::from_stroops(100_000_000), None)
    );
    assert_eq!(anchor.queued(), [1, 0, 0]);
}

#[tokio::test]
async fn retry_requeues_a_refund_stuck_in_pending_stellar_to_the_submitter() {
    let anchor = Anchor::new();
    let t = held_withdrawal(&anchor).await;
    refund(&anchor, "ana", &t.id, RefundScope::OnHold, Some("rejected"))
        .await
        .expect("refund");
    act(&anchor, "bo", &t.id, plan_retry, Some("stuck"))
        .await
        .expect("retried");
    assert_eq!(anchor.queued(), [2, 0, 0]);
    let stored = anchor.get(&t.id).await;
    assert_eq!(stored.status, TransactionStatus::PendingStellar);
    assert!(stored.pending_refund.is_some(), "still the refund");
    // A withdrawal in pending_stellar without a refund is not the console's to re-queue.
    let paying = anchor
        .moved(
            Kind::Withdrawal,
            TransactionStatus::PendingAnchor,
            TransactionStatus::PendingStellar,
            |_| {},
        )
        .await;
    refusal(act(&anchor, "bo", &paying.id, plan_retry, None).await);
}

#[tokio::test]
async fn names_reasons_and_ids_are_checked() {
    assert_eq!(
        Actor::new(" ana.b@ops ").expect("ok").label(),
        "operator:ana.b@ops"
    );
    for bad in ["", "a b", "x".repeat(65).as_str(), "a\nb"] {
        assert!(Actor::new(bad).is_err(), "{bad:?}");
    }
    assert!(check_reason("fine").is_ok());
    assert!(check_reason(" ").is_err());
    assert!(check_reason("two\nlines").is_err());
    assert!(check_reason(&"r".repeat(501)).is_err());
    let anchor = Anchor::new();
    let t = anchor
        .transaction(Kind::Deposit, TransactionStatus::PendingAnchor, 60)
        .await;
    let read = anchor.get(&t.id).await;
    let plan = plan_retry(&read).expect("plan");
    let error = anchor
        .operator("ana")
        .apply(&read, &plan, Some("two\nlines"))
        .await
        .expect_err("bad reason");
    assert!(matches!(error, OperatorError::Invalid(_)));
    assert_eq!(anchor.get(&t.id).await, t, "nothing written");
    let missing = anchor.operator("ana").transaction("nope").await;
    assert!(matches!(missing, Err(OperatorError::NotFound(ref id)) if id == "nope"));
}

#[test]
fn a_plan_describes_itself() {
    let t = Transaction::new(
        Protocol::Sep24,
        Kind::Deposit,
        TransactionStatus::PendingUserTransferStart,
        user(7),
        usdc(),
        Timestamp::from_secs(NOW),
    );
    let plan = plan_expire(&t, Some("Too late.")).expect("plan");
    assert_eq!(
        plan.describe(),
        format!(
            "expire deposit {}: pending_user_transfer_start -> expired (status_message \"Too late.\")",
            t.id
        )
    );
}

fn filter() -> ListFilter {
    ListFilter {
        statuses: Vec::new(),
        kinds: Vec::new(),
        user: None,
        started_before: None,
        started_since: None,
        limit: 50,
    }
}

fn ids(listing: &Listing) -> Vec<&str> {
    listing.transactions.iter().map(|t| t.id.as_str()).collect()
}

#[tokio::test]
async fn listings_filter_by_status_kind_and_age_oldest_first() {
    let anchor = Anchor::new();
    let old_deposit = anchor
        .transaction(Kind::Deposit, TransactionStatus::PendingAnchor, 7_200)
        .await;
    let new_deposit = anchor
        .transaction(
            Kind::Deposit,
            TransactionStatus::PendingUserTransferStart,
            60,
        )
        .await;
    let withdrawal = anchor
        .transaction(Kind::Withdrawal, TransactionStatus::OnHold, 3_600)
        .await;
    let done = anchor
        .transaction(Kind::Deposit, TransactionStatus::Completed, 30)
        .await;
    let store = &anchor.store;

    let all = list_transactions(store, &filter()).await.expect("list");
    assert_eq!(
        ids(&all),
        [&old_deposit.id, &withdrawal.id, &new_deposit.id],
        "every non-final status, oldest first"
    );
    assert!(!all.more);

    for (narrowed, expected) in [
        (
            ListFilter {
                statuses: vec![TransactionStatus::Completed],
                ..filter()
            },
            vec![&done.id],
        ),
        (
            ListFilter {
                kinds: vec![Kind::Deposit],
                ..filter()
            },
            vec![&old_deposit.id, &new_deposit.id],
        ),
        (
            ListFilter {
                started_before: Some(Timestamp::from_secs(NOW - 3_000)),
                ..filter()
            },
            vec![&old_deposit.id, &withdrawal.id],
        ),
        (
            // Inclusive.
            ListFilter {
                started_since: Some(Timestamp::from_secs(NOW - 3_600)),
                ..filter()
            },
            vec![&withdrawal.id, &new_deposit.id],
        ),
    ] {
        let listing = list_transactions(store, &narrowed).await.expect("list");
        assert_eq!(ids(&listing), expected, "{narrowed:?}");
    }

    let one = ListFilter {
        limit: 1,
        ..filter()
    };
    let page = list_transactions(store, &one).await.expect("list");
    assert_eq!(ids(&page), [&old_deposit.id]);
    assert!(page.more, "more match than the limit");
}

#[tokio::test]
async fn listings_by_account_use_the_users_transactions() {
    let anchor = Anchor::new();
    let mine = anchor
        .transaction(Kind::Withdrawal, TransactionStatus::PendingAnchor, 600)
        .await;
    let mine_older = anchor
        .transaction(Kind::Deposit, TransactionStatus::Incomplete, 6_000)
        .await;
    let _mine_done = anchor
        .transaction(Kind::Deposit, TransactionStatus::Completed, 60)
        .await;
    let mut other = Transaction::new(
        Protocol::Sep24,
        Kind::Deposit,
        TransactionStatus::Incomplete,
        user(8),
        usdc(),
        Timestamp::from_secs(NOW),
    );
    other.id = "other".into();
    anchor.store.insert(&other).await.expect("insert");

    let by_user = ListFilter {
        user: Some(user(7)),
        ..filter()
    };
    let listing = list_transactions(&anchor.store, &by_user)
        .await
        .expect("list");
    assert_eq!(ids(&listing), [&mine_older.id, &mine.id]);

    let narrowed = ListFilter {
        kinds: vec![Kind::Withdrawal],
        started_before: Some(Timestamp::from_secs(NOW - 60)),
        ..by_user.clone()
    };
    let listing = list_transactions(&anchor.store, &narrowed)
        .await
        .expect("list");
    assert_eq!(ids(&listing), [&mine.id]);
    let too_recent = ListFilter {
        started_since: Some(Timestamp::from_secs(NOW - 60)),
        ..by_user
    };
    let listing = list_transactions(&anchor.store, &too_recent)
        .await
        .expect("list");
    assert!(listing.transactions.is_empty());
}

fn payment(id: &str, outcome: PaymentOutcome, at: u64) -> IncomingPayment {
    IncomingPayment {
        id: id.into(),
        account: key(2).account_id(),
        transaction_hash: format!("hash-{id}"),
        from: Some(key(9).account_id()),
        asset: usdc(),
        amount: Amount::from_stroops(50_000_000),
        off_chain: None,
        memo_type: "text".into(),
        memo: Some("MOOR-1".into()),
        created_at: Timestamp::from_secs(at),
        outcome,
        transaction_id: None,
        note: Some("no open transaction has this memo".into()),
        recorded_at: Timestamp::from_secs(at),
    }
}

#[tokio::test]
async fn incoming_payments_needing_attention_are_listed_oldest_first() {
    let store = InMemoryStore::default();
    for (id, outcome, at) in [
        ("1", PaymentOutcome::Unmatched, NOW - 30),
        ("2", PaymentOutcome::Matched, NOW - 20),
        ("3", PaymentOutcome::WrongAmount, NOW - 10),
        ("4", PaymentOutcome::History, NOW - 5),
        ("5", PaymentOutcome::Duplicate, NOW),
    ] {
        store
            .record(&payment(id, outcome, at))
            .await
            .expect("record");
    }
    let (found, more) = incoming_payments(&store, 10).await.expect("list");
    let found: Vec<&str> = found.iter().map(|p| p.id.as_str()).collect();
    assert_eq!((found, more), (vec!["1", "3", "5"], false));
    let (found, more) = incoming_payments(&store, 2).await.expect("list");
    assert_eq!((found.len(), more), (2, true));
}

#[tokio::test]
async fn a_redrive_moves_every_dead_letter_back_to_its_source() {
    let queue = InMemoryDeadLetters::default();
    for n in 0..25 {
        queue.push(&format!("m{n}"));
    }
    assert_eq!(queue.depth().await.expect("depth"), 25);
    let report = redrive(&queue, 1_000).await;
    assert_eq!(
        report,
        RedriveReport {
            moved: 25,
            stopped: None
        }
    );
    assert!(queue.is_empty());
    assert_eq!(queue.source().len(), 25);
    assert_eq!(queue.source()[0], "m0");
    assert_eq!(redrive(&queue, 1_000).await.moved, 0, "nothing left");
}

#[tokio::test]
async fn a_redrive_stops_at_its_maximum() {
    let queue = InMemoryDeadLetters::default();
    for n in 0..5 {
        queue.push(&format!("m{n}"));
    }
    assert_eq!(redrive(&queue, 3).await.moved, 3);
    assert_eq!(queue.len(), 2);
}

#[tokio::test]
async fn an_interrupted_redrive_loses_nothing_and_a_second_one_finishes_it() {
    let queue = InMemoryDeadLetters::default();
    for n in 0..3 {
        queue.push(&format!("m{n}"));
    }
    // Sending fails: the message stays in the dead-letter queue.
    queue.fail_next_send();
    let report = redrive(&queue, 10).await;
    assert_eq!(report.moved, 0);
    assert!(report.stopped.expect("stopped").contains("stays"));
    queue.expire_visibility();
    assert_eq!(queue.len(), 3);

    // Sent but not deleted: it is sent again by the next redrive (a harmless duplicate).
    queue.fail_next_delete();
    let report = redrive(&queue, 10).await;
    assert_eq!(report.moved, 0);
    assert_eq!(queue.source(), ["m0"]);
    queue.expire_visibility();
    let report = redrive(&queue, 10).await;
    assert_eq!(
        report,
        RedriveReport {
            moved: 3,
            stopped: None
        }
    );
    assert!(queue.is_empty());
    let mut sent = queue.source();
    sent.sort();
    assert_eq!(sent, ["m0", "m0", "m1", "m2"]);
}

fn submitter_env(distribution: &Keypair, channel_seed: &Keypair) -> BTreeMap<String, String> {
    let other_distribution = key(5).account_id();
    let assets = format!(
        r#"[{{"code":"USDC","issuer":"{}","distribution_account":"{}","seps":["sep24"],"deposit":{{}}}},
            {{"code":"EURC","issuer":"{}","distribution_account":"{other_distribution}","seps":["sep24"]}}]"#,
        key(1).account_id(),
        distribution.account_id(),
        key(1).account_id(),
    );
    [
        ("HOME_DOMAIN", "localhost:8000".to_owned()),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE.to_owned()),
        ("SIGNING_KEY", key(4).account_id().to_string()),
        ("ASSETS", assets),
        ("DISTRIBUTION_SEED", distribution.secret_seed().to_string()),
        ("CHANNEL_SEED", channel_seed.secret_seed().to_string()),
        ("CHANNEL_COUNT", "2".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[test]
fn the_anchors_accounts_come_from_the_submitters_settings_as_public_keys() {
    let (distribution, channel_seed) = (key(2), key(3));
    let env = submitter_env(&distribution, &channel_seed);
    let found = anchor_accounts(&env).expect("accounts");
    assert_eq!(found.horizon_url, "https://horizon-testnet.stellar.org");
    let roles: Vec<(&str, AccountId)> = found
        .accounts
        .iter()
        .map(|a| (a.role.as_str(), a.account))
        .collect();
    let channels = crate::payments::channel_accounts(&channel_seed, 2);
    assert_eq!(
        roles,
        [
            ("distribution", distribution.account_id()),
            ("distribution of EURC", key(5).account_id()),
            ("channel 0", channels[0]),
            ("channel 1", channels[1]),
        ]
    );
    let shown = format!("{found:?}");
    assert!(!shown.contains(distribution.secret_seed().as_str()));
    assert!(!shown.contains(channel_seed.secret_seed().as_str()));

    let mut missing = env.clone();
    missing.remove("CHANNEL_SEED");
    assert_eq!(
        anchor_accounts(&missing).expect_err("missing").to_string(),
        "CHANNEL_SEED must be set"
    );
}

#[tokio::test]
async fn balances_come_from_horizon_and_a_missing_account_is_said_so() {
    let horizon = InMemoryHorizon::new(Network::new(Network::TESTNET_PASSPHRASE));
    let funded = key(2).account_id();
    horizon.fund(funded, Amount::from_stroops(100_000_000));
    horizon.add_trustline(&funded, &usdc(), Amount::from_stroops(1_000_000_000), true);
    let accounts = [
        AnchorAccount {
            role: "distribution".into(),
            account: funded,
        },
        AnchorAccount {
            role: "channel 0".into(),
            account: key(3).account_id(),
        },
    ];
    let found = balances(&horizon, &accounts).await;
    assert_eq!(found.len(), 2);
    assert!(found[0].exists);
    let assets: Vec<(&str, String)> = found[0]
        .balances
        .iter()
        .map(|b| (b.asset.as_str(), b.balance.to_string()))
        .collect();
    assert!(assets.contains(&("XLM", "10".to_owned())), "{assets:?}");
    assert!(
        assets.contains(&(
            format!("USDC:{}", key(1).account_id()).as_str(),
            "0".to_owned()
        )),
        "{assets:?}"
    );
    assert!(!found[1].exists && found[1].balances.is_empty() && found[1].error.is_none());

    horizon.set_unavailable(true);
    let found = balances(&horizon, &accounts).await;
    assert!(found.iter().all(|b| b.error.is_some()));
}
