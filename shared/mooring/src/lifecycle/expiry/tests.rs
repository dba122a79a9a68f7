//! The expiry sweeper over the in-memory store: each waiting status ends after its time and not
//! before, a concurrent change wins, a run's work is bounded, and deadlines are set on entering a
//! waiting status and dropped on leaving it. (SEP-31 `pending_sender` with the payment watcher:
//! `payments/tests/receives.rs`.)

use std::sync::Arc;

use super::*;
use crate::clock::FixedClock;
use crate::model::{Protocol, UserKey};
use crate::queue::{InMemoryQueue, QueueMessage};
use crate::status_callbacks::dispatch::heard_statuses;
use crate::stellar::Amount;
use crate::stellar::{Asset, Keypair};
use crate::store::InMemoryStore;

const NOW: u64 = 1_800_000_000;
const HOUR: u64 = 3_600;
const DAY: u64 = 86_400;

fn at(secs: u64) -> Timestamp {
    Timestamp::from_secs(secs)
}

/// A transaction of the user started at `started`, neither stamped nor stored.
fn transaction(
    protocol: Protocol,
    kind: Kind,
    status: TransactionStatus,
    started: Timestamp,
) -> Transaction {
    Transaction::new(
        protocol,
        kind,
        status,
        UserKey {
            account: Keypair::from_seed_bytes([9; 32]).account_id(),
            memo: None,
        },
        Asset::credit("USDC", Keypair::from_seed_bytes([8; 32]).account_id()).unwrap(),
        started,
    )
}

struct Scene {
    store: Arc<InMemoryStore>,
    submissions: Arc<InMemoryQueue>,
    clock: Arc<FixedClock>,
    config: ExpiryConfig,
}

impl Scene {
    fn new() -> Self {
        Self {
            store: Arc::new(InMemoryStore::with_stream()),
            submissions: Arc::new(InMemoryQueue::default()),
            clock: Arc::new(FixedClock::at(NOW)),
            config: ExpiryConfig::default(),
        }
    }

    fn sweeper(&self) -> ExpirySweeper<InMemoryStore, InMemoryQueue> {
        ExpirySweeper::new(
            self.store.clone(),
            self.submissions.clone(),
            self.config.clone(),
            self.clock.clone(),
        )
    }

    /// A transaction created `ago` seconds before now in `status`, with the deadline a writer
    /// sets (the config's stamp at creation).
    async fn created(
        &self,
        protocol: Protocol,
        kind: Kind,
        status: TransactionStatus,
        ago: u64,
    ) -> Transaction {
        let mut t = transaction(protocol, kind, status, at(NOW - ago));
        self.config.stamp(&mut t, None);
        self.store.insert(&t).await.unwrap();
        t
    }

    async fn deposit(&self, status: TransactionStatus, ago: u64) -> Transaction {
        self.created(Protocol::Sep24, Kind::Deposit, status, ago)
            .await
    }

    async fn get(&self, t: &Transaction) -> Transaction {
        self.store.get(&t.id).await.unwrap().unwrap()
    }

    /// Notes a payment-watcher run that caught up at `secs`.
    async fn watcher_caught_up(&self, secs: u64) {
        let stored = self
            .store
            .cursor(crate::payments::watcher::CAUGHT_UP)
            .await
            .unwrap();
        self.store
            .save_cursor(
                crate::payments::watcher::CAUGHT_UP,
                &at(secs).millis().to_string(),
                stored.map(|s| s.version),
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn each_waiting_status_ends_after_its_time_and_not_before() {
    let scene = Scene::new();
    let sweeper = scene.sweeper();
    use TransactionStatus::*;
    // Just due and just not due, per status.
    let incomplete = scene.deposit(Incomplete, HOUR).await;
    let incomplete_fresh = scene.deposit(Incomplete, HOUR - 1).await;
    let unfunded = scene.deposit(PendingUserTransferStart, DAY).await;
    let unfunded_fresh = scene.deposit(PendingUserTransferStart, DAY - 1).await;
    let sep6 = scene
        .created(
            Protocol::Sep6,
            Kind::DepositExchange,
            PendingUserTransferStart,
            DAY,
        )
        .await;
    let untrusted = scene.deposit(PendingTrust, 7 * DAY).await;
    let untrusted_fresh = scene.deposit(PendingTrust, 7 * DAY - 1).await;
    let withdrawal_form = scene
        .created(Protocol::Sep24, Kind::Withdrawal, Incomplete, HOUR)
        .await;
    // Not a waiting status: never touched, however old.
    let anchor = scene.deposit(PendingAnchor, 30 * DAY).await;

    let report = sweeper.sweep().await.unwrap();
    assert_eq!((report.expired, report.ended), (4, 1), "{report:?}");
    for (t, message) in [
        (&incomplete, INCOMPLETE_MESSAGE),
        (&withdrawal_form, INCOMPLETE_MESSAGE),
        (&unfunded, FUNDS_MESSAGE),
        (&sep6, FUNDS_MESSAGE),
    ] {
        let ended = scene.get(t).await;
        assert_eq!(ended.status, Expired, "{}", t.id);
        assert_eq!(ended.status_message.as_deref(), Some(message));
        assert_eq!(ended.user_action_required_by, None);
        assert_eq!(ended.updated_at, at(NOW));
        let entry = ended.history.last().unwrap();
        assert_eq!((entry.from, entry.status), (t.status, Expired));
        assert_eq!(entry.note.as_deref(), Some(message), "the history says why");
    }
    let ended = scene.get(&untrusted).await;
    assert_eq!(ended.status, Error);
    assert_eq!(
        ended.status_message.as_deref(),
        Some(pending_trust_message(&untrusted).as_str())
    );
    assert!(ended.status_message.unwrap().contains("did not trust USDC"));
    for t in [
        &incomplete_fresh,
        &unfunded_fresh,
        &untrusted_fresh,
        &anchor,
    ] {
        assert_eq!(scene.get(t).await.status, t.status, "{}", t.id);
    }

    // One second later the rest is due; nothing ends twice.
    scene.clock.set(NOW + 1);
    let report = sweeper.sweep().await.unwrap();
    assert_eq!((report.expired, report.ended), (2, 1), "{report:?}");
    assert_eq!(scene.get(&anchor).await.status, PendingAnchor);
    assert_eq!(sweeper.sweep().await.unwrap(), SweepReport::default());
}

#[tokio::test]
async fn a_withdrawal_awaiting_its_stellar_payment_expires_once_the_watcher_read_past_its_deadline()
{
    let scene = Scene::new();
    let sweeper = scene.sweeper();
    let withdrawal = scene
        .created(
            Protocol::Sep24,
            Kind::Withdrawal,
            TransactionStatus::PendingUserTransferStart,
            DAY,
        )
        .await;
    assert_eq!(sweeper.sweep().await.unwrap().awaiting_watcher, 1);
    scene.watcher_caught_up(NOW + 59).await;
    assert_eq!(sweeper.sweep().await.unwrap().awaiting_watcher, 1);
    scene.watcher_caught_up(NOW + 60).await;
    assert_eq!(sweeper.sweep().await.unwrap().expired, 1);
    let ended = scene.get(&withdrawal).await;
    assert_eq!(ended.status, TransactionStatus::Expired);
    assert_eq!(ended.status_message.as_deref(), Some(PAYMENT_MESSAGE));
}

#[tokio::test]
async fn a_quoted_transaction_expires_with_its_quote() {
    let scene = Scene::new();
    let mut t = transaction(
        Protocol::Sep6,
        Kind::DepositExchange,
        TransactionStatus::PendingUserTransferStart,
        at(NOW - 600),
    );
    t.quote_id = Some("quote-1".into());
    t.quote_expires_at = Some(at(NOW - 1));
    scene.config.stamp(&mut t, None);
    assert_eq!(
        t.user_action_required_by,
        Some(at(NOW - 1)),
        "the quote's expiry first"
    );
    scene.store.insert(&t).await.unwrap();
    assert_eq!(scene.sweeper().sweep().await.unwrap().expired, 1);
    let ended = scene.get(&t).await;
    assert_eq!(ended.status_message.as_deref(), Some(FUNDS_QUOTE_MESSAGE));
}

#[tokio::test]
async fn without_a_stored_deadline_the_time_in_the_status_counts() {
    let scene = Scene::new();
    // Created 30 days ago, funded by the form 23 h ago (before deadlines were stored).
    let mut t = scene.deposit(TransactionStatus::Incomplete, 30 * DAY).await;
    t.status = TransactionStatus::PendingUserTransferStart;
    t.updated_at = at(NOW - 23 * HOUR);
    t.user_action_required_by = None;
    scene
        .store
        .update(&mut t, TransactionStatus::Incomplete)
        .await
        .unwrap();
    assert_eq!(status_since(&scene.get(&t).await), at(NOW - 23 * HOUR));
    let sweeper = scene.sweeper();
    assert_eq!(sweeper.sweep().await.unwrap().expired, 0);
    scene.clock.set(NOW + HOUR);
    assert_eq!(sweeper.sweep().await.unwrap().expired, 1);
}

#[tokio::test]
async fn a_concurrent_change_wins() {
    let scene = Scene::new();
    let first = scene
        .deposit(TransactionStatus::PendingUserTransferStart, DAY + 10)
        .await;
    let second = scene
        .deposit(TransactionStatus::PendingUserTransferStart, DAY + 5)
        .await;
    // A payment arrives for the second while the sweeper works: its read is stale.
    let mut paid = scene.get(&second).await;
    paid.status = TransactionStatus::PendingAnchor;
    scene.store.race_next_update(paid);
    let report = scene.sweeper().sweep().await.unwrap();
    assert_eq!((report.expired, report.skipped), (1, 1), "{report:?}");
    assert_eq!(scene.get(&first).await.status, TransactionStatus::Expired);
    let paid = scene.get(&second).await;
    assert_eq!(paid.status, TransactionStatus::PendingAnchor);
    assert_eq!(paid.status_message, None);
}

/// Each end is one write, so the wallet hears of it once (the stream path).
#[tokio::test]
async fn each_end_is_written_and_heard_once() {
    let scene = Scene::new();
    let sweeper = scene.sweeper();
    let mut t = transaction(
        Protocol::Sep24,
        Kind::Deposit,
        TransactionStatus::Incomplete,
        at(NOW - HOUR),
    );
    t.callback_url = Some("https://wallet.example/cb".into());
    scene.config.stamp(&mut t, None);
    scene.store.insert(&t).await.unwrap();
    scene.store.take_stream();
    sweeper.sweep().await.unwrap();
    sweeper.sweep().await.unwrap();
    assert_eq!(
        heard_statuses(scene.store.take_stream()),
        [(t.id.clone(), "expired".to_owned())]
    );
}

#[tokio::test]
async fn a_run_is_bounded_and_a_backlog_not_due_never_hides_one_that_is() {
    let scene = Scene::new();
    let sweeper = scene.sweeper().with_page_size(10);
    // 200 abandoned forms, all due: a run reads at most three pages of a listing (the oldest
    // page and two of the rotation, which starts at the oldest too: 20 different ones).
    for _ in 0..200 {
        scene.deposit(TransactionStatus::Incomplete, 2 * HOUR).await;
    }
    let report = sweeper.sweep().await.unwrap();
    assert_eq!((report.checked, report.expired), (20, 20), "{report:?}");
    let mut runs = 1;
    loop {
        let report = sweeper.sweep().await.unwrap();
        assert!(report.checked <= 30, "{report:?}");
        if report.expired == 0 {
            break;
        }
        runs += 1;
    }
    assert_eq!(runs, 10, "200 in runs of 20");

    // 100 old withdrawals due a moment ago but waiting for the watcher to read past it, then a
    // new one whose quote expired two minutes ago (the watcher read past that): the new one is
    // reached within one lap of the rotation, behind a backlog that stays.
    let mut backlog = Vec::new();
    for _ in 0..100 {
        let mut waiting = transaction(
            Protocol::Sep24,
            Kind::Withdrawal,
            TransactionStatus::PendingUserTransferStart,
            at(NOW - 2 * DAY),
        );
        waiting.user_action_required_by = Some(at(NOW - 10));
        scene.store.insert(&waiting).await.unwrap();
        backlog.push(waiting);
    }
    let mut quoted = transaction(
        Protocol::Sep24,
        Kind::Withdrawal,
        TransactionStatus::PendingUserTransferStart,
        at(NOW - 60),
    );
    quoted.quote_id = Some("q".into());
    quoted.quote_expires_at = Some(at(NOW - 120));
    scene.config.stamp(&mut quoted, None);
    scene.store.insert(&quoted).await.unwrap();
    // The watcher read past the new one's deadline, not past the backlog's.
    scene.watcher_caught_up(NOW - 30).await;
    let mut runs = 0;
    while scene.get(&quoted).await.status != TransactionStatus::Expired {
        runs += 1;
        assert!(runs <= 6, "101 waiting, 20 a run in the rotation: one lap");
        let report = sweeper.sweep().await.unwrap();
        assert!(report.checked <= 30, "{report:?}");
    }
    assert_eq!(runs, 6);
    for waiting in &backlog {
        assert_eq!(
            scene.get(waiting).await.status,
            TransactionStatus::PendingUserTransferStart
        );
    }
}

#[test]
fn deadlines_are_set_on_entering_a_waiting_status_and_kept_while_it_lasts() {
    let config = ExpiryConfig::default();
    let mut t = transaction(
        Protocol::Sep24,
        Kind::Deposit,
        TransactionStatus::Incomplete,
        at(NOW),
    );
    config.stamp(&mut t, None);
    assert_eq!(t.user_action_required_by, Some(at(NOW + HOUR)));
    // A write in the same status keeps the deadline.
    t.updated_at = at(NOW + 300);
    config.stamp(&mut t, Some(TransactionStatus::Incomplete));
    assert_eq!(t.user_action_required_by, Some(at(NOW + HOUR)));
    // The form finished: a new deadline for the new wait, from the write.
    t.status = TransactionStatus::PendingUserTransferStart;
    t.updated_at = at(NOW + 600);
    config.stamp(&mut t, Some(TransactionStatus::Incomplete));
    assert_eq!(t.user_action_required_by, Some(at(NOW + 600 + DAY)));
    // Funds arrived: no deadline.
    t.status = TransactionStatus::PendingAnchor;
    t.updated_at = at(NOW + 700);
    config.stamp(&mut t, Some(TransactionStatus::PendingUserTransferStart));
    assert_eq!(t.user_action_required_by, None);
    // No trustline: the user must add one, by the pending_trust deadline (no quote cap).
    t.status = TransactionStatus::PendingTrust;
    t.quote_id = Some("q".into());
    t.quote_expires_at = Some(at(NOW));
    t.updated_at = at(NOW + 800);
    config.stamp(&mut t, Some(TransactionStatus::PendingAnchor));
    assert_eq!(t.user_action_required_by, Some(at(NOW + 800 + 7 * DAY)));
}

#[tokio::test]
async fn a_store_write_leaving_a_waiting_status_drops_the_deadline() {
    let scene = Scene::new();
    let mut t = scene
        .deposit(TransactionStatus::PendingUserTransferStart, 10)
        .await;
    assert!(t.user_action_required_by.is_some());
    // A write that keeps the status keeps it.
    t.status_message = Some("still waiting".into());
    scene
        .store
        .update(&mut t, TransactionStatus::PendingUserTransferStart)
        .await
        .unwrap();
    assert!(scene.get(&t).await.user_action_required_by.is_some());
    // Whoever moves it on, the deadline goes (the writer did not clear it).
    t.status = TransactionStatus::OnHold;
    scene
        .store
        .update(&mut t, TransactionStatus::PendingUserTransferStart)
        .await
        .unwrap();
    assert_eq!(scene.get(&t).await.user_action_required_by, None);
}

#[test]
fn the_anchor_settings_carry_the_expiry_settings_and_refuse_bad_ones_at_start() {
    use crate::config::AnchorConfig;
    let signing = Keypair::from_seed_bytes([1; 32]).account_id().to_string();
    let base = [
        ("HOME_DOMAIN", "anchor.example.com"),
        (
            "NETWORK_PASSPHRASE",
            crate::stellar::Network::TESTNET_PASSPHRASE,
        ),
        ("SIGNING_KEY", signing.as_str()),
        (INCOMPLETE_VAR, "120"),
        (PENDING_TRUST_ACTION_VAR, "error"),
    ];
    let anchor = AnchorConfig::from_source(&base).unwrap();
    assert_eq!(
        anchor.expiry.incomplete,
        std::time::Duration::from_secs(120)
    );
    assert_eq!(
        anchor.expiry.pending_user_transfer_start,
        ExpiryConfig::default().pending_user_transfer_start
    );
    let mut refund = base;
    refund[4] = (PENDING_TRUST_ACTION_VAR, "refund");
    assert_eq!(
        AnchorConfig::from_source(&refund)
            .unwrap()
            .expiry
            .pending_trust_action,
        PendingTrustAction::Refund
    );
    let mut unknown = base;
    unknown[4] = (PENDING_TRUST_ACTION_VAR, "shrug");
    let error = AnchorConfig::from_source(&unknown).unwrap_err().to_string();
    assert!(
        error.starts_with("PENDING_TRUST_ACTION is invalid"),
        "{error}"
    );
}

/// A deposit whose 25 USDC arrived, waiting `ago` seconds in `pending_trust`.
async fn untrusted_deposit(scene: &Scene, ago: u64) -> Transaction {
    let mut t = transaction(
        Protocol::Sep24,
        Kind::Deposit,
        TransactionStatus::PendingTrust,
        at(NOW - ago),
    );
    t.amount_in = Some(Amount::from_stroops(250_000_000));
    scene.config.stamp(&mut t, None);
    scene.store.insert(&t).await.unwrap();
    t
}

#[tokio::test]
async fn with_refund_a_pending_trust_deposit_past_its_time_is_refunded_once() {
    let mut scene = Scene::new();
    scene.config.pending_trust_action = PendingTrustAction::Refund;
    let due = untrusted_deposit(&scene, 7 * DAY).await;
    let waiting = untrusted_deposit(&scene, 7 * DAY - 1).await;

    let report = scene.sweeper().sweep().await.unwrap();
    assert_eq!((report.refunded, report.ended), (1, 0));
    let refunded = scene.store.get(&due.id).await.unwrap().unwrap();
    assert_eq!(refunded.status, TransactionStatus::PendingAnchor);
    assert_eq!(refunded.user_action_required_by, None);
    let refund = refunded.pending_refund.as_ref().expect("requested");
    assert_eq!(refund.amount, Amount::from_stroops(250_000_000));
    assert_eq!(
        (refund.requested_by.as_str(), refund.stellar.as_ref()),
        (SYSTEM_ACTOR, None)
    );
    assert!(
        refund.reason.contains("did not trust USDC"),
        "{}",
        refund.reason
    );
    assert_eq!(
        refunded.history.last().map(|e| e.by.as_str()),
        Some(SYSTEM_ACTOR)
    );
    assert_eq!(
        scene.submissions.messages(),
        [QueueMessage::new(due.id.clone(), Kind::Deposit)]
    );
    assert_eq!(
        scene.store.get(&waiting.id).await.unwrap().unwrap().status,
        TransactionStatus::PendingTrust
    );

    // The next run finds nothing more to do.
    assert_eq!(scene.sweeper().sweep().await.unwrap().refunded, 0);
    assert_eq!(scene.submissions.messages().len(), 1);
}

#[tokio::test]
async fn two_sweeps_racing_refund_a_pending_trust_deposit_once() {
    let mut scene = Scene::new();
    scene.config.pending_trust_action = PendingTrustAction::Refund;
    let due = untrusted_deposit(&scene, 8 * DAY).await;
    let (one, two) = (scene.sweeper(), scene.sweeper());
    let (a, b) = tokio::join!(one.sweep(), two.sweep());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.refunded + b.refunded, 1, "{a:?} {b:?}");
    assert_eq!(scene.submissions.messages().len(), 1);
    let stored = scene.store.get(&due.id).await.unwrap().unwrap();
    let requests = stored
        .history
        .iter()
        .filter(|e| {
            e.note
                .as_deref()
                .is_some_and(|n| n.starts_with("refund of"))
        })
        .count();
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn a_pending_trust_deposit_that_cannot_be_refunded_ends_in_error() {
    let mut scene = Scene::new();
    scene.config.pending_trust_action = PendingTrustAction::Refund;
    // No amount_in: nothing says what to refund.
    let t = scene
        .deposit(TransactionStatus::PendingTrust, 8 * DAY)
        .await;
    let report = scene.sweeper().sweep().await.unwrap();
    assert_eq!((report.refunded, report.ended), (0, 1));
    let stored = scene.store.get(&t.id).await.unwrap().unwrap();
    assert_eq!(stored.status, TransactionStatus::Error);
    assert!(scene.submissions.messages().is_empty());
}
