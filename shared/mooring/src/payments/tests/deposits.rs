//! Deposits through the poller, the submitter and the trustline re-check, over the in-memory
//! store, queue and ledger.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::clock::FixedClock;
use crate::config::{AssetConfig, Sep24Config};
use crate::horizon::{Horizon, PaymentRecord, Submission, SubmitFault};
use crate::integrations::ReceivedDeposit;
use crate::model::{Kind, Protocol, SubmissionState, Transaction, TransactionStatus, UserKey};
use crate::payments::*;
use crate::queue::{InMemoryQueue, QueueMessage};
use crate::stellar::{
    build_signed, AccountId, Amount, Asset, Keypair, Memo, Outgoing, PaymentSpec,
};
use crate::store::{ChannelLeases, InMemoryStore, TransactionStore};
use crate::time::Timestamp;

pub(super) struct Anchor {
    pub(super) store: Arc<InMemoryStore>,
    pub(super) ledger: Arc<Ledger>,
    pub(super) rail: Arc<Rail>,
    pub(super) queue: Arc<InMemoryQueue>,
    pub(super) clock: Arc<FixedClock>,
    pub(super) distribution: Keypair,
    pub(super) channel_seed: Keypair,
    pub(super) usdc: Asset,
    pub(super) assets: Vec<AssetConfig>,
    pub(super) channels: u32,
    pub(super) claimable_balances: bool,
}

impl Anchor {
    pub(super) async fn new(channels: u32) -> Self {
        let issuer = key(30);
        let distribution = key(20);
        let channel_seed = key(10);
        let usdc = Asset::credit("USDC", issuer.account_id()).expect("asset");
        let ledger = Arc::new(Ledger::default());
        ledger.inner.set_now(NOW);
        for account in [issuer.account_id(), distribution.account_id()]
            .into_iter()
            .chain(channel_accounts(&channel_seed, channels))
        {
            ledger.inner.fund(account, amount("100"));
        }
        ledger
            .inner
            .add_trustline(&distribution.account_id(), &usdc, amount("1000000"), true);
        let issue = PaymentSpec {
            source: issuer.account_id(),
            sequence: (1i64 << 32) + 1,
            fee_per_op: 100,
            time_bounds: (0, 0),
            memo: Memo::None,
            operation_source: issuer.account_id(),
            operations: vec![Outgoing::Payment {
                destination: distribution.account_id().into(),
                asset: usdc.clone(),
                amount: amount("10000"),
            }],
        };
        let signed = build_signed(&issue, ledger.inner.network(), &[&issuer]).expect("sign");
        assert!(matches!(
            ledger.inner.submit(&signed.envelope_xdr).await,
            Ok(Submission::Applied { .. })
        ));
        let assets: Vec<AssetConfig> = serde_json::from_str(&format!(
            r#"[{{"code":"USDC","issuer":"{}","distribution_account":"{}","seps":["sep24"],
                 "deposit":{{"fee_fixed":1}},"withdraw":{{}}}}]"#,
            issuer.account_id(),
            distribution.account_id()
        ))
        .expect("assets");
        Anchor {
            store: Arc::new(InMemoryStore::default()),
            ledger,
            rail: Arc::new(Rail::default()),
            queue: Arc::new(InMemoryQueue::default()),
            clock: Arc::new(FixedClock::at(NOW)),
            distribution,
            channel_seed,
            usdc,
            assets,
            channels,
            claimable_balances: false,
        }
    }

    pub(super) fn config(&self) -> PaymentsConfig {
        PaymentsConfig {
            channel_count: self.channels,
            account_starting_balance: amount("2.01"),
            base_fee: None,
            tx_timeout: Duration::from_secs(300),
            lease: Duration::from_secs(60),
            sep24: Sep24Config {
                token_ttl: Duration::from_secs(300),
                session_ttl: Duration::from_secs(1800),
                account_creation: true,
                claimable_balances: self.claimable_balances,
            },
        }
    }

    pub(super) fn submitter(&self) -> Submitter<InMemoryStore, Ledger, Rail> {
        Submitter::new(
            self.store.clone(),
            self.ledger.clone(),
            self.rail.clone(),
            self.ledger.inner.network().clone(),
            self.config(),
            Signers::new(self.distribution.clone(), &self.channel_seed, self.channels),
            self.clock.clone(),
        )
        .with_lookups(2, Duration::ZERO)
    }

    pub(super) fn poller(&self) -> DepositPoller<InMemoryStore, InMemoryQueue, Rail> {
        DepositPoller::new(
            self.store.clone(),
            self.queue.clone(),
            self.rail.clone(),
            self.assets.clone(),
            self.clock.clone(),
        )
        .with_page_size(7)
    }

    pub(super) fn recheck(&self) -> TrustlineRecheck<InMemoryStore, Ledger, InMemoryQueue> {
        TrustlineRecheck::new(
            self.store.clone(),
            self.ledger.clone(),
            self.queue.clone(),
            self.clock.clone(),
        )
    }

    /// A user account holding `xlm`, trusting USDC when `trusts`.
    pub(super) fn user(&self, n: u8, trusts: bool) -> AccountId {
        let user = key(n).account_id();
        self.ledger.inner.fund(user, amount("10"));
        if trusts {
            self.ledger
                .inner
                .add_trustline(&user, &self.usdc, amount("1000000"), true);
        }
        user
    }

    /// A deposit of `out` USDC to `to`, in `status`, with an id memo.
    pub(super) async fn deposit(
        &self,
        to: &str,
        out: &str,
        memo: u64,
        status: TransactionStatus,
    ) -> String {
        self.deposit_of(Protocol::Sep24, Kind::Deposit, to, out, memo, status)
            .await
    }

    /// [`Self::deposit`] of a SEP and kind.
    pub(super) async fn deposit_of(
        &self,
        protocol: Protocol,
        kind: Kind,
        to: &str,
        out: &str,
        memo: u64,
        status: TransactionStatus,
    ) -> String {
        self.deposit_started(protocol, kind, to, out, memo, status, NOW - 10)
            .await
    }

    /// [`Self::deposit_of`] started at `started`.
    #[allow(clippy::too_many_arguments)]
    async fn deposit_started(
        &self,
        protocol: Protocol,
        kind: Kind,
        to: &str,
        out: &str,
        memo: u64,
        status: TransactionStatus,
        started: u64,
    ) -> String {
        let user = UserKey {
            account: key(99).account_id(),
            memo: None,
        };
        let mut t = Transaction::new(
            protocol,
            kind,
            status,
            user,
            self.usdc.clone(),
            Timestamp::from_secs(started),
        );
        t.to = Some(to.to_owned());
        if status == TransactionStatus::PendingAnchor {
            t.amount_in = Some(amount(out));
            t.amount_out = Some(amount(out));
        }
        t.deposit_memo = Some(memo.to_string());
        t.deposit_memo_type = Some("id".into());
        self.store.insert(&t).await.expect("insert");
        t.id
    }

    /// User 40, trusting USDC, and a `pending_anchor` deposit of `out` USDC to it (id memo 1).
    pub(super) async fn paying_user(&self, out: &str) -> (AccountId, String) {
        let user = self.user(40, true);
        let id = self
            .deposit(&user.to_string(), out, 1, TransactionStatus::PendingAnchor)
            .await;
        (user, id)
    }

    /// A deposit to user `n` whose funds (1 USDC, with a bank reference) arrived and do not
    /// cover its 1 USDC fee, after the poller's run (and that run's report).
    pub(super) async fn underpaid_deposit(&self, n: u8) -> (String, PollReport) {
        let user = self.user(n, true);
        let id = self
            .deposit(
                &user.to_string(),
                "0",
                u64::from(n),
                TransactionStatus::PendingUserTransferStart,
            )
            .await;
        *self.rail.arrived.lock().expect("lock") = vec![ReceivedDeposit {
            transaction_id: id.clone(),
            amount_in: amount("1"),
            amount_fee: None,
            external_transaction_id: Some(format!("BANK-IN-{n}")),
        }];
        let report = self.poller().poll_deposits().await.expect("poll");
        (id, report)
    }

    /// One delivery of the deposit's message, to a fresh submitter.
    pub(super) async fn deliver(&self, id: &str) -> Result<SubmitOutcome, WorkerError> {
        self.submitter().submit(&message(id)).await
    }

    /// The envelopes submitted after the setup's issuance, in order.
    pub(super) fn submitted(&self) -> Vec<String> {
        self.ledger.inner.submitted().split_off(1)
    }

    pub(super) async fn stored(&self, id: &str) -> Transaction {
        self.store.get(id).await.expect("get").expect("stored")
    }

    pub(super) fn usdc_of(&self, account: &AccountId) -> Option<Amount> {
        self.ledger.inner.balance(account, &self.usdc)
    }

    /// Payments of USDC on the ledger to `account` (create-account records excluded).
    pub(super) async fn usdc_payments_to(&self, account: &AccountId) -> Vec<PaymentRecord> {
        self.ledger
            .inner
            .payments(account, None, 200)
            .await
            .expect("payments")
            .into_iter()
            .filter(|p| p.to.as_ref() == Some(account) && p.asset.as_ref() == Some(&self.usdc))
            .collect()
    }

    /// Every lease is free again: `count` leases in a row succeed.
    pub(super) async fn assert_channels_released(&self) {
        let now = Timestamp::from_secs(NOW);
        let until = Timestamp::from_secs(NOW + 60);
        for i in 0..self.channels {
            let lease = self
                .store
                .lease(self.channels, &format!("check{i}"), now, until)
                .await
                .expect("lease");
            assert!(lease.is_some(), "channel lease {i} still held");
        }
        for i in 0..self.channels {
            let lease = crate::store::ChannelLease {
                index: i,
                holder: format!("check{i}"),
                until,
            };
            self.store.release(&lease).await.expect("release");
        }
    }
}

pub(super) fn message(id: &str) -> QueueMessage {
    QueueMessage::new(id, Kind::Deposit)
}

pub(super) fn completed_hash(outcome: &SubmitOutcome) -> &str {
    match outcome {
        SubmitOutcome::Completed {
            stellar_transaction_id,
        } => stellar_transaction_id,
        other => panic!("expected completed, got {other:?}"),
    }
}

#[tokio::test]
async fn pays_an_existing_account_exactly_amount_out_with_the_memo() {
    let anchor = Anchor::new(2).await;
    let user = anchor.user(40, true);
    let id = anchor
        .deposit(
            &user.to_string(),
            "12.5",
            4242,
            TransactionStatus::PendingAnchor,
        )
        .await;
    let outcome = anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("submit");
    let hash = completed_hash(&outcome).to_owned();

    assert_eq!(anchor.usdc_of(&user), Some(amount("12.5")));
    let payments = anchor.usdc_payments_to(&user).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].memo, Memo::Id(4242));
    assert_eq!(payments[0].from, Some(anchor.distribution.account_id()));
    assert_eq!(payments[0].transaction_hash, hash);
    let on_ledger = anchor.ledger.inner.transactions();
    assert!(on_ledger.iter().any(|t| t.hash == hash && t.successful));

    let t = anchor.stored(&id).await;
    assert_eq!(t.status, TransactionStatus::Completed);
    assert_eq!(t.stellar_transaction_id.as_deref(), Some(hash.as_str()));
    assert_eq!(t.completed_at, Some(Timestamp::from_secs(NOW)));
    assert_eq!(t.submission, SubmissionState::Confirmed);
    assert_eq!(t.envelope_hash.as_deref(), Some(hash.as_str()));
    assert_eq!(anchor.rail.after_deposit_calls(&id), 1);
    anchor.assert_channels_released().await;

    // The message again: nothing to do.
    let again = anchor.submitter().submit(&message(&id)).await;
    assert!(matches!(
        again,
        Ok(SubmitOutcome::Ignored {
            status: Some(TransactionStatus::Completed)
        })
    ));
    assert_eq!(anchor.submitted().len(), 1);
    assert_eq!(anchor.rail.after_deposit_calls(&id), 1);
}

#[tokio::test]
async fn a_muxed_destination_is_paid_as_muxed() {
    let anchor = Anchor::new(1).await;
    let user = anchor.user(41, true);
    let muxed = crate::stellar::MuxedAccount::new(user, Some(77)).to_string();
    let id = anchor
        .deposit(&muxed, "3", 1, TransactionStatus::PendingAnchor)
        .await;
    anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("submit");
    let payments = anchor.usdc_payments_to(&user).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].to_muxed_id, Some(77));
}

#[tokio::test]
async fn the_same_message_twice_pays_once() {
    let anchor = Anchor::new(2).await;
    let user = anchor.user(40, true);
    let first = anchor
        .deposit(&user.to_string(), "5", 1, TransactionStatus::PendingAnchor)
        .await;
    let second = anchor
        .deposit(&user.to_string(), "7", 2, TransactionStatus::PendingAnchor)
        .await;
    let submitter = anchor.submitter();

    // One after the other.
    let a = submitter.submit(&message(&first)).await.expect("a");
    let b = submitter.submit(&message(&first)).await.expect("b");
    completed_hash(&a);
    assert!(matches!(b, SubmitOutcome::Ignored { .. }));

    // At the same time, on two submitters.
    let other = anchor.submitter();
    let twice = message(&second);
    let (c, d) = tokio::join!(submitter.submit(&twice), other.submit(&twice));
    let outcomes = [c.expect("c"), d.expect("d")];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, SubmitOutcome::Completed { .. }))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(anchor.usdc_of(&user), Some(amount("12")));
    assert_eq!(anchor.usdc_payments_to(&user).await.len(), 2);
    assert_eq!(anchor.rail.after_deposit_calls(&first), 1);
    assert_eq!(anchor.rail.after_deposit_calls(&second), 1);
    assert_eq!(
        anchor.stored(&second).await.status,
        TransactionStatus::Completed
    );
    anchor.assert_channels_released().await;
}

/// The poller's fairness: a deposit whose funds just arrived is paid after one run, however
/// many abandoned deposits wait before it (each run reads a bounded share: the newest page and
/// two pages of the rotation).
#[tokio::test]
async fn ten_thousand_abandoned_deposits_do_not_delay_a_new_one_by_more_than_one_run() {
    let anchor = Anchor::new(1).await;
    let user = anchor.user(40, true);
    let to = user.to_string();
    for i in 0..10_000u64 {
        anchor
            .deposit_started(
                Protocol::Sep24,
                Kind::Deposit,
                &to,
                "0",
                i,
                TransactionStatus::PendingUserTransferStart,
                NOW - 86_000 + i,
            )
            .await;
    }
    let poller = anchor.poller();
    // The backlog is polled run after run; nothing arrives for it.
    for _ in 0..3 {
        let report = poller.poll_deposits().await.expect("poll");
        assert_eq!(report.pending, 21, "bounded: {report:?}");
        assert_eq!(report.queued, 0);
    }

    let new = anchor
        .deposit_started(
            Protocol::Sep24,
            Kind::Deposit,
            &to,
            "0",
            10_000,
            TransactionStatus::PendingUserTransferStart,
            NOW,
        )
        .await;
    *anchor.rail.arrived.lock().expect("lock") = vec![ReceivedDeposit {
        transaction_id: new.clone(),
        amount_in: amount("11"),
        amount_fee: None,
        external_transaction_id: Some("bank-new".into()),
    }];
    // One run.
    let report = poller.poll_deposits().await.expect("poll");
    assert_eq!((report.received, report.queued), (1, 1), "{report:?}");
    assert_eq!(
        anchor.stored(&new).await.status,
        TransactionStatus::PendingAnchor
    );
    assert_eq!(ids(&anchor.queue.drain()), [new]);
}

#[tokio::test]
async fn two_pollers_and_every_message_twice_pay_each_deposit_once() {
    let anchor = Anchor::new(4).await;
    let user = anchor.user(40, true);
    let mut ids = Vec::new();
    for i in 0..50u64 {
        let status = if i % 5 == 0 {
            TransactionStatus::PendingExternal
        } else {
            TransactionStatus::PendingUserTransferStart
        };
        ids.push(anchor.deposit(&user.to_string(), "0", i, status).await);
    }
    // Funds arrived for all of them: 11 each, fee 1 (configured), 10 paid.
    *anchor.rail.arrived.lock().expect("lock") = ids
        .iter()
        .map(|id| ReceivedDeposit {
            transaction_id: id.clone(),
            amount_in: amount("11"),
            amount_fee: None,
            external_transaction_id: Some(format!("bank-{id}")),
        })
        .collect();
    // Each run reads a bounded share (pages of 7: the newest and two of the rotation, per
    // status): overlapping pairs of runs until every deposit is queued.
    let (p1, p2) = (anchor.poller(), anchor.poller());
    let (mut queued, mut skipped, mut rounds) = (0, 0, 0);
    while queued < 50 {
        rounds += 1;
        assert!(rounds <= 3, "a lap of the rotation covers them all");
        let (r1, r2) = tokio::join!(p1.poll_deposits(), p2.poll_deposits());
        let (r1, r2) = (r1.expect("poll 1"), r2.expect("poll 2"));
        assert!(
            r1.pending <= 2 * 21 && r2.pending <= 2 * 21,
            "{r1:?} {r2:?}"
        );
        assert_eq!(r1.refused + r2.refused, 0);
        queued += r1.queued + r2.queued;
        skipped += r1.skipped + r2.skipped;
    }
    assert_eq!(queued, 50);
    assert!(skipped > 0, "the runs overlapped");

    let queued = anchor.queue.drain();
    for id in &ids {
        assert!(
            queued.iter().any(|m| &m.transaction_id == id),
            "{id} not queued"
        );
        let t = anchor.stored(id).await;
        assert_eq!(t.status, TransactionStatus::PendingAnchor);
        assert_eq!(t.amount_in, Some(amount("11")));
        assert_eq!(t.amount_out, Some(amount("10")));
        assert_eq!(t.fee_details.as_ref().map(|f| f.total), Some(amount("1")));
        assert_eq!(t.external_transaction_id, Some(format!("bank-{id}")));
    }

    // Every message delivered twice, four submitters at once (one per channel).
    let mut deliveries: Vec<QueueMessage> = queued.iter().chain(queued.iter()).cloned().collect();
    deliveries.sort_by(|a, b| a.transaction_id.cmp(&b.transaction_id));
    let submitters: Vec<_> = (0..4).map(|_| anchor.submitter()).collect();
    let mut retries = Vec::new();
    for chunk in deliveries.chunks(4) {
        let results =
            futures_util::future::join_all(chunk.iter().zip(&submitters).map(|(m, s)| s.submit(m)))
                .await;
        for (m, result) in chunk.iter().zip(results) {
            if result.is_err() {
                retries.push(m.clone());
            }
        }
    }
    // What failed (e.g. a busy channel) is retried, as SQS would.
    for _ in 0..5 {
        let pending = std::mem::take(&mut retries);
        for m in pending {
            if anchor.submitter().submit(&m).await.is_err() {
                retries.push(m);
            }
        }
    }
    assert!(retries.is_empty(), "{retries:?}");

    for id in &ids {
        let t = anchor.stored(id).await;
        assert_eq!(t.status, TransactionStatus::Completed, "{id}");
        assert_eq!(anchor.rail.after_deposit_calls(id), 1, "{id}");
    }
    let payments = anchor.usdc_payments_to(&user).await;
    assert_eq!(payments.len(), 50);
    assert_eq!(anchor.usdc_of(&user), Some(amount("500")));
    let mut memos: Vec<_> = payments.iter().map(|p| p.memo.clone()).collect();
    memos.sort_by_key(|m| format!("{m:?}"));
    memos.dedup();
    assert_eq!(memos.len(), 50, "one payment per deposit memo");
    anchor.assert_channels_released().await;

    // A later run finds nothing to do.
    let report = anchor.poller().poll_deposits().await.expect("poll");
    assert_eq!((report.pending, report.queued), (0, 0));
}

#[tokio::test]
async fn a_received_amount_below_the_fee_is_an_error() {
    let anchor = Anchor::new(1).await;
    let (id, report) = anchor.underpaid_deposit(40).await;
    assert_eq!((report.refused, report.queued), (1, 0));
    let t = anchor.stored(&id).await;
    assert_eq!(t.status, TransactionStatus::Error);
    assert!(t.status_message.is_some());
    assert!(anchor.queue.messages().is_empty());
}

#[tokio::test]
async fn stuck_pending_anchor_deposits_are_queued_again() {
    let anchor = Anchor::new(1).await;
    let user = anchor.user(40, true);
    let id = anchor
        .deposit(&user.to_string(), "2", 1, TransactionStatus::PendingAnchor)
        .await;
    let report = anchor.poller().poll_deposits().await.expect("poll");
    assert_eq!(report.requeued, 0, "recent: its message may be on its way");
    anchor.clock.set(NOW + 600);
    let report = anchor.poller().poll_deposits().await.expect("poll");
    assert_eq!(report.requeued, 1);
    assert_eq!(anchor.queue.messages(), [message(&id)]);
    // Not again at the next run, only after another while.
    anchor.clock.set(NOW + 660);
    let report = anchor.poller().poll_deposits().await.expect("poll");
    assert_eq!(report.requeued, 0);
    anchor.clock.set(NOW + 1000);
    let report = anchor.poller().poll_deposits().await.expect("poll");
    assert_eq!(report.requeued, 1);
    // The submitter picks it up as usual.
    let outcome = anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("submit");
    completed_hash(&outcome);
}

#[tokio::test]
async fn a_504_after_applying_is_looked_up_not_paid_again() {
    let anchor = Anchor::new(1).await;
    let user = anchor.user(40, true);
    let id = anchor
        .deposit(&user.to_string(), "9", 1, TransactionStatus::PendingAnchor)
        .await;
    anchor.ledger.inner.time_out_next_submission();
    let outcome = anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("submit");
    let hash = completed_hash(&outcome);
    assert_eq!(anchor.submitted().len(), 1, "never resubmitted");
    assert_eq!(anchor.usdc_of(&user), Some(amount("9")));
    let t = anchor.stored(&id).await;
    assert_eq!(t.status, TransactionStatus::Completed);
    assert_eq!(t.stellar_transaction_id.as_deref(), Some(hash));
    assert_eq!(anchor.rail.after_deposit_calls(&id), 1);
}

#[tokio::test]
async fn a_lost_submission_resubmits_the_same_envelope() {
    let anchor = Anchor::new(1).await;
    let user = anchor.user(40, true);
    let id = anchor
        .deposit(&user.to_string(), "9", 1, TransactionStatus::PendingAnchor)
        .await;
    anchor
        .ledger
        .inner
        .push_submit_fault(SubmitFault::TimeoutWithoutApplying);
    let first = anchor.submitter().submit(&message(&id)).await;
    assert!(matches!(first, Err(WorkerError::Pending(_))), "{first:?}");
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.status, TransactionStatus::PendingStellar);
    assert_eq!(stored.submission, SubmissionState::Signed);
    let problem = stored.status_message.clone().unwrap_or_default();
    let hash = stored.envelope_hash.clone().unwrap_or_default();
    assert!(
        problem.contains("not confirmed") && problem.contains(&hash),
        "{problem}"
    );
    assert_eq!(anchor.usdc_of(&user), Some(Amount::ZERO));
    anchor.assert_channels_released().await;

    // SQS delivers it again a little later.
    anchor.clock.set(NOW + 30);
    let outcome = anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("retry");
    let hash = completed_hash(&outcome);
    assert_eq!(Some(hash), stored.envelope_hash.as_deref());
    let submitted = anchor.submitted();
    assert_eq!(submitted.len(), 2);
    assert_eq!(submitted[0], submitted[1], "the same envelope");
    assert_eq!(anchor.usdc_of(&user), Some(amount("9")));
    assert_eq!(anchor.rail.after_deposit_calls(&id), 1);
    let done = anchor.stored(&id).await;
    assert_eq!(done.status, TransactionStatus::Completed);
    assert_eq!(done.status_message, None, "success clears the problem");
}

#[tokio::test]
async fn a_used_sequence_number_is_rebuilt_and_paid_once() {
    let anchor = Anchor::new(1).await;
    let user = anchor.user(40, true);
    let id = anchor
        .deposit(&user.to_string(), "6", 1, TransactionStatus::PendingAnchor)
        .await;
    // Someone else uses the channel's next sequence number just before our submission.
    let channel = channel_keypair(&anchor.channel_seed, 0);
    let sequence = anchor
        .ledger
        .inner
        .account(&channel.account_id())
        .await
        .expect("account")
        .expect("channel")
        .sequence
        + 1;
    let other = PaymentSpec {
        source: channel.account_id(),
        sequence,
        fee_per_op: 100,
        time_bounds: (0, 0),
        memo: Memo::None,
        operation_source: channel.account_id(),
        operations: vec![Outgoing::Payment {
            destination: anchor.distribution.account_id().into(),
            asset: Asset::Native,
            amount: amount("1"),
        }],
    };
    let other = build_signed(&other, anchor.ledger.inner.network(), &[&channel]).expect("sign");
    *anchor.ledger.slip_in.lock().expect("lock") = Some(other.envelope_xdr);

    let outcome = anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("submit");
    let hash = completed_hash(&outcome);
    let submitted = anchor.submitted();
    // The slipped-in one, ours refused with tx_bad_seq, ours rebuilt.
    assert_eq!(submitted.len(), 3);
    assert_ne!(submitted[1], submitted[2]);
    assert_eq!(anchor.usdc_of(&user), Some(amount("6")));
    assert_eq!(anchor.usdc_payments_to(&user).await.len(), 1);
    assert_eq!(
        anchor.stored(&id).await.stellar_transaction_id.as_deref(),
        Some(hash)
    );
    assert_eq!(anchor.rail.after_deposit_calls(&id), 1);
}

#[tokio::test]
async fn a_refused_bad_seq_that_may_still_land_keeps_the_envelope() {
    let anchor = Anchor::new(1).await;
    let user = anchor.user(40, true);
    let id = anchor
        .deposit(&user.to_string(), "6", 1, TransactionStatus::PendingAnchor)
        .await;
    // Refused, but the channel's sequence did not move: nothing proves it can never land.
    anchor
        .ledger
        .inner
        .reject_next_submission("tx_bad_seq", &[]);
    let first = anchor.submitter().submit(&message(&id)).await;
    assert!(matches!(first, Err(WorkerError::Pending(_))), "{first:?}");
    let hash = anchor.stored(&id).await.envelope_hash.expect("kept");
    let outcome = anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("retry");
    assert_eq!(completed_hash(&outcome), hash);
    assert_eq!(anchor.usdc_payments_to(&user).await.len(), 1);
}

#[tokio::test]
async fn a_missing_account_is_created_then_waits_for_its_trustline() {
    let anchor = Anchor::new(1).await;
    let user = key(50).account_id();
    let id = anchor
        .deposit(&user.to_string(), "8", 1, TransactionStatus::PendingAnchor)
        .await;
    let outcome = anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("submit");
    assert_eq!(outcome, SubmitOutcome::PendingTrust);
    assert_eq!(
        anchor.ledger.inner.balance(&user, &Asset::Native),
        Some(amount("2.01"))
    );
    let t = anchor.stored(&id).await;
    assert_eq!(t.status, TransactionStatus::PendingTrust);
    assert_eq!(t.submission, SubmissionState::NotSubmitted);
    assert!(t.status_message.is_some());
    // The user has until then to add the trustline (PENDING_TRUST_AFTER_SECONDS, a week).
    assert_eq!(
        t.user_action_required_by,
        Some(Timestamp::from_secs(NOW + 7 * 86_400))
    );

    // No trustline yet: the re-check leaves it.
    let report = anchor
        .recheck()
        .recheck_trustlines()
        .await
        .expect("recheck");
    assert_eq!((report.checked, report.queued), (1, 0));

    anchor
        .ledger
        .inner
        .add_trustline(&user, &anchor.usdc, amount("1000"), true);
    let report = anchor
        .recheck()
        .recheck_trustlines()
        .await
        .expect("recheck");
    assert_eq!(report.queued, 1);
    assert_eq!(anchor.queue.drain(), [message(&id)]);
    let outcome = anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("submit");
    completed_hash(&outcome);
    assert_eq!(anchor.usdc_of(&user), Some(amount("8")));
    assert_eq!(anchor.rail.after_deposit_calls(&id), 1);
}

#[tokio::test]
async fn a_missing_account_gets_a_claimable_balance_when_both_sides_support_it() {
    let mut anchor = Anchor::new(1).await;
    anchor.claimable_balances = true;
    let user = key(51).account_id();
    let id = anchor
        .deposit(&user.to_string(), "8", 1, TransactionStatus::PendingAnchor)
        .await;
    let mut t = anchor.stored(&id).await;
    t.claimable_balance_supported = true;
    anchor
        .store
        .update(&mut t, TransactionStatus::PendingAnchor)
        .await
        .expect("update");
    let outcome = anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("submit");
    completed_hash(&outcome);
    let balances = anchor.ledger.inner.claimable_balances();
    assert_eq!(balances.len(), 1);
    assert_eq!(balances[0].claimants, [user]);
    assert_eq!(balances[0].amount, amount("8"));
    let t = anchor.stored(&id).await;
    assert_eq!(t.status, TransactionStatus::Completed);
    assert_eq!(
        t.claimable_balance_id.as_deref(),
        Some(balances[0].id.as_str())
    );
    assert!(anchor.ledger.inner.balance(&user, &Asset::Native).is_some());
}

#[tokio::test]
async fn an_existing_account_without_trustline_is_pending_trust_or_gets_a_claimable_balance() {
    let mut anchor = Anchor::new(1).await;
    let user = anchor.user(52, false);
    let id = anchor
        .deposit(&user.to_string(), "3", 1, TransactionStatus::PendingAnchor)
        .await;
    let outcome = anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("submit");
    assert_eq!(outcome, SubmitOutcome::PendingTrust);
    assert!(anchor.submitted().is_empty(), "nothing sent");

    anchor.claimable_balances = true;
    let other = anchor
        .deposit(&user.to_string(), "3", 2, TransactionStatus::PendingAnchor)
        .await;
    let mut t = anchor.stored(&other).await;
    t.claimable_balance_supported = true;
    anchor
        .store
        .update(&mut t, TransactionStatus::PendingAnchor)
        .await
        .expect("update");
    let outcome = anchor
        .submitter()
        .submit(&message(&other))
        .await
        .expect("submit");
    completed_hash(&outcome);
    assert!(anchor.stored(&other).await.claimable_balance_id.is_some());
}

#[tokio::test]
async fn a_trustline_removed_before_payment_gives_pending_trust() {
    let anchor = Anchor::new(1).await;
    let user = anchor.user(53, true);
    let id = anchor
        .deposit(&user.to_string(), "3", 1, TransactionStatus::PendingAnchor)
        .await;
    anchor
        .ledger
        .inner
        .reject_next_submission("tx_failed", &["op_no_trust"]);
    let outcome = anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("submit");
    assert_eq!(outcome, SubmitOutcome::PendingTrust);
    assert_eq!(
        anchor.stored(&id).await.status,
        TransactionStatus::PendingTrust
    );
}

#[tokio::test]
async fn an_underfunded_distribution_account_is_an_error_with_a_message() {
    let anchor = Anchor::new(1).await;
    let user = anchor.user(40, true);
    let id = anchor
        .deposit(
            &user.to_string(),
            "20000",
            1,
            TransactionStatus::PendingAnchor,
        )
        .await;
    let outcome = anchor
        .submitter()
        .submit(&message(&id))
        .await
        .expect("submit");
    let SubmitOutcome::Failed { status_message } = outcome else {
        panic!("expected a failure, got {outcome:?}")
    };
    assert!(
        status_message.contains("op_underfunded"),
        "{status_message}"
    );
    let t = anchor.stored(&id).await;
    assert_eq!(t.status, TransactionStatus::Error);
    assert_eq!(t.status_message.as_deref(), Some(status_message.as_str()));
    assert_eq!(t.submission, SubmissionState::Failed);
    assert_eq!(anchor.rail.after_deposit_calls(&id), 0);
    anchor.assert_channels_released().await;
}

#[tokio::test]
async fn k_channels_and_n_concurrent_messages_never_collide() {
    const K: u32 = 3;
    const N: usize = 12;
    let anchor = Anchor::new(K).await;
    let user = anchor.user(40, true);
    let mut ids = Vec::new();
    for i in 0..N {
        ids.push(
            anchor
                .deposit(
                    &user.to_string(),
                    "1",
                    i as u64,
                    TransactionStatus::PendingAnchor,
                )
                .await,
        );
    }
    let submitters: Vec<_> = (0..N).map(|_| anchor.submitter()).collect();
    let mut pending: Vec<String> = ids.clone();
    let mut rounds = 0;
    while !pending.is_empty() {
        rounds += 1;
        assert!(rounds <= 10, "not done after 10 rounds: {pending:?}");
        let messages: Vec<QueueMessage> = pending.iter().map(|id| message(id)).collect();
        let results = futures_util::future::join_all(
            messages.iter().zip(&submitters).map(|(m, s)| s.submit(m)),
        )
        .await;
        let mut busy = Vec::new();
        for (m, result) in messages.iter().zip(results) {
            match result {
                Ok(outcome) => {
                    completed_hash(&outcome);
                }
                Err(WorkerError::ChannelsBusy) => busy.push(m.transaction_id.clone()),
                Err(other) => panic!("{other}"),
            }
        }
        pending = busy;
    }
    assert!(rounds > 1, "only {K} channels for {N} messages");
    // Every envelope submitted once and applied: no tx_bad_seq, no rebuild.
    let submitted = anchor.submitted();
    assert_eq!(submitted.len(), N);
    let on_ledger = anchor.ledger.inner.transactions();
    assert!(on_ledger.iter().all(|t| t.successful));
    assert_eq!(anchor.usdc_payments_to(&user).await.len(), N);
    for id in &ids {
        assert_eq!(anchor.rail.after_deposit_calls(id), 1);
    }
    anchor.assert_channels_released().await;
}

#[tokio::test]
async fn a_deposit_bound_to_a_quote_keeps_its_amounts_or_is_held() {
    let anchor = Anchor::new(1).await;
    let user = anchor.user(41, true);
    let pending = TransactionStatus::PendingUserTransferStart;
    // Quoted: 100.5 USD buys 99 USDC, the quote holds until its deadline.
    let mut ids = Vec::new();
    for (memo, deadline) in [(1, NOW + 600), (2, NOW + 600), (3, NOW - 1)] {
        let id = anchor.deposit(&user.to_string(), "0", memo, pending).await;
        let mut t = anchor.stored(&id).await;
        t.quote_id = Some(format!("quote-{memo}"));
        t.amount_in = Some(amount("100.5"));
        t.amount_in_asset = Some("iso4217:USD".into());
        t.amount_out = Some(amount("99"));
        t.amount_out_asset = Some(anchor.usdc.sep38_id());
        t.user_action_required_by = Some(Timestamp::from_secs(deadline));
        anchor.store.update(&mut t, pending).await.expect("bind");
        ids.push(id);
    }
    let arrived = |id: &String, received: &str| ReceivedDeposit {
        transaction_id: id.clone(),
        amount_in: amount(received),
        amount_fee: None,
        external_transaction_id: None,
    };
    *anchor.rail.arrived.lock().expect("lock") = vec![
        arrived(&ids[0], "100.5"),
        arrived(&ids[1], "100"),
        arrived(&ids[2], "100.5"),
    ];
    let report = anchor.poller().poll_deposits().await.expect("poll");
    assert_eq!((report.queued, report.refused), (1, 2));

    let exact = anchor.stored(&ids[0]).await;
    assert_eq!(exact.status, TransactionStatus::PendingAnchor);
    assert_eq!(
        (exact.amount_in, exact.amount_out),
        (Some(amount("100.5")), Some(amount("99"))),
        "the quote's amounts, not the SEP-24 fee's"
    );
    assert_eq!(exact.amount_in_asset.as_deref(), Some("iso4217:USD"));
    for (id, why) in [
        (&ids[1], "the quote is for 100.5"),
        (&ids[2], "after the quote expired"),
    ] {
        let held = anchor.stored(id).await;
        assert_eq!(held.status, TransactionStatus::OnHold);
        let message = held.status_message.unwrap_or_default();
        assert!(message.contains(why), "{message}");
        assert_eq!(held.amount_out, Some(amount("99")));
    }
    assert_eq!(anchor.queue.messages().len(), 1);
}

#[tokio::test]
async fn a_sep6_deposit_exchange_is_polled_and_queued_as_a_deposit() {
    let anchor = Anchor::new(1).await;
    let user = anchor.user(40, true);
    let id = anchor
        .deposit_of(
            Protocol::Sep6,
            Kind::DepositExchange,
            &user.to_string(),
            "0",
            1,
            TransactionStatus::PendingUserTransferStart,
        )
        .await;
    *anchor.rail.arrived.lock().expect("lock") = vec![ReceivedDeposit {
        transaction_id: id.clone(),
        amount_in: amount("10"),
        amount_fee: None,
        external_transaction_id: None,
    }];
    let report = anchor.poller().poll_deposits().await.expect("poll");
    assert_eq!((report.pending, report.queued), (1, 1));
    assert_eq!(
        anchor.stored(&id).await.status,
        TransactionStatus::PendingAnchor
    );
}

/// The statuses a transaction went through, from its history: `[from, to, to, ...]`.
fn statuses(t: &Transaction) -> Vec<TransactionStatus> {
    let mut seen: Vec<TransactionStatus> = t.history.first().map(|e| e.from).into_iter().collect();
    seen.extend(t.history.iter().map(|e| e.status));
    seen
}

#[tokio::test]
async fn the_envelope_is_stored_with_pending_stellar_before_it_is_submitted() {
    let anchor = Anchor::new(1).await;
    let (_, id) = anchor.paying_user("5").await;
    // What the ledger sees at submission time: the stored transaction.
    *anchor.ledger.on_submit.lock().expect("lock") = Some((anchor.store.clone(), id.clone()));
    let outcome = anchor.deliver(&id).await.expect("submit");
    let hash = completed_hash(&outcome).to_owned();
    let seen = anchor.ledger.seen.lock().expect("lock").clone();
    let [at_submission] = seen.as_slice() else {
        panic!("one submission expected, saw {seen:?}")
    };
    assert_eq!(at_submission.status, TransactionStatus::PendingStellar);
    assert_eq!(at_submission.submission, SubmissionState::Signed);
    assert_eq!(at_submission.envelope_hash.as_deref(), Some(hash.as_str()));
    let t = anchor.stored(&id).await;
    assert_eq!(
        statuses(&t),
        [
            TransactionStatus::PendingAnchor,
            TransactionStatus::PendingStellar,
            TransactionStatus::Completed
        ]
    );
}

#[tokio::test]
async fn a_refusal_that_may_pass_later_stays_pending_stellar_with_a_message() {
    let anchor = Anchor::new(1).await;
    let (user, id) = anchor.paying_user("5").await;
    anchor
        .ledger
        .inner
        .reject_next_submission("tx_insufficient_fee", &[]);
    let first = anchor.deliver(&id).await;
    assert!(matches!(first, Err(WorkerError::Pending(_))), "{first:?}");
    let t = anchor.stored(&id).await;
    assert_eq!(t.status, TransactionStatus::PendingStellar);
    assert_eq!(
        t.submission,
        SubmissionState::Signed,
        "the envelope is kept"
    );
    let problem = t.status_message.clone().unwrap_or_default();
    assert!(problem.contains("tx_insufficient_fee"), "{problem}");
    assert_eq!(anchor.usdc_of(&user), Some(Amount::ZERO));

    // The same refusal again changes nothing more (no second write of the same message).
    anchor
        .ledger
        .inner
        .reject_next_submission("tx_insufficient_fee", &[]);
    let again = anchor.deliver(&id).await;
    assert!(again.is_err());
    assert_eq!(anchor.stored(&id).await.version, t.version);

    let outcome = anchor.deliver(&id).await.expect("retry");
    assert_eq!(Some(completed_hash(&outcome)), t.envelope_hash.as_deref());
    let done = anchor.stored(&id).await;
    assert_eq!(done.status, TransactionStatus::Completed);
    assert_eq!(done.status_message, None);
    assert_eq!(anchor.usdc_payments_to(&user).await.len(), 1);
}

#[tokio::test]
async fn horizon_out_of_reach_at_submission_stays_pending_stellar_and_pays_once() {
    let anchor = Anchor::new(1).await;
    let (user, id) = anchor.paying_user("5").await;
    anchor
        .ledger
        .down_at_submit
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let first = anchor.deliver(&id).await;
    assert!(matches!(first, Err(WorkerError::Horizon(_))), "{first:?}");
    let t = anchor.stored(&id).await;
    assert_eq!(t.status, TransactionStatus::PendingStellar);
    assert_eq!(t.submission, SubmissionState::Signed);
    assert!(t
        .status_message
        .as_deref()
        .is_some_and(|m| m.contains("could not be reached")));

    let outcome = anchor.deliver(&id).await.expect("retry");
    assert_eq!(Some(completed_hash(&outcome)), t.envelope_hash.as_deref());
    assert_eq!(anchor.stored(&id).await.status_message, None);
    assert_eq!(anchor.usdc_payments_to(&user).await.len(), 1);
}

#[tokio::test]
async fn an_envelope_past_its_time_bounds_is_rebuilt_in_pending_stellar_with_a_message() {
    let anchor = Anchor::new(1).await;
    let (user, id) = anchor.paying_user("4").await;
    anchor
        .ledger
        .inner
        .push_submit_fault(SubmitFault::TimeoutWithoutApplying);
    assert!(anchor.deliver(&id).await.is_err());
    let lost = anchor.stored(&id).await.envelope_hash.expect("hash");
    // Redelivered after the envelope's max time (300 s) and the margin: it can never land. The
    // rebuilt envelope is refused for now: the history says the first one was dropped.
    anchor.clock.set(NOW + 400);
    anchor.ledger.inner.set_now(NOW + 400);
    anchor
        .ledger
        .inner
        .reject_next_submission("tx_insufficient_fee", &[]);
    assert!(anchor.deliver(&id).await.is_err());
    let t = anchor.stored(&id).await;
    assert_eq!(t.status, TransactionStatus::PendingStellar);
    assert_ne!(t.envelope_hash.as_deref(), Some(lost.as_str()), "rebuilt");
    assert!(t
        .history
        .iter()
        .any(|e| e.note.as_deref().is_some_and(|n| n.contains(&lost))));
    let outcome = anchor.deliver(&id).await.expect("retry");
    assert_ne!(completed_hash(&outcome), lost);
    assert_eq!(anchor.usdc_of(&user), Some(amount("4")));
    assert_eq!(anchor.usdc_payments_to(&user).await.len(), 1);
    assert_eq!(anchor.stored(&id).await.status_message, None);
}

#[tokio::test]
async fn a_definitive_failure_after_submission_is_an_error_from_pending_stellar() {
    let anchor = Anchor::new(1).await;
    let (_, id) = anchor.paying_user("5").await;
    anchor
        .ledger
        .inner
        .reject_next_submission("tx_bad_auth", &[]);
    let outcome = anchor.deliver(&id).await.expect("submit");
    assert!(
        matches!(outcome, SubmitOutcome::Failed { .. }),
        "{outcome:?}"
    );
    let t = anchor.stored(&id).await;
    assert_eq!(t.status, TransactionStatus::Error);
    assert_eq!(t.submission, SubmissionState::Failed);
    assert_eq!(
        statuses(&t),
        [
            TransactionStatus::PendingAnchor,
            TransactionStatus::PendingStellar,
            TransactionStatus::Error
        ]
    );
    // Never sent again.
    let again = anchor.deliver(&id).await;
    assert!(
        matches!(again, Ok(SubmitOutcome::Ignored { .. })),
        "{again:?}"
    );
    assert_eq!(anchor.submitted().len(), 1);
}

#[tokio::test]
async fn a_stuck_pending_stellar_deposit_is_queued_again_and_resumed_not_rebuilt() {
    let anchor = Anchor::new(1).await;
    let (user, id) = anchor.paying_user("2").await;
    anchor
        .ledger
        .inner
        .push_submit_fault(SubmitFault::TimeoutWithoutApplying);
    assert!(anchor.deliver(&id).await.is_err());
    let signed = anchor.stored(&id).await;
    assert_eq!(signed.status, TransactionStatus::PendingStellar);
    // Its message was dead-lettered; a later poller run sends it again.
    let report = anchor.poller().poll_deposits().await.expect("poll");
    assert_eq!(report.requeued, 0, "recent");
    anchor.clock.set(NOW + 120);
    anchor.ledger.inner.set_now(NOW + 120);
    let report = anchor.poller().poll_deposits().await.expect("poll");
    assert_eq!(report.requeued, 0, "not for requeue_after");
    anchor.clock.set(NOW + 301);
    let report = anchor.poller().poll_deposits().await.expect("poll");
    assert_eq!(report.requeued, 1);
    assert_eq!(anchor.queue.drain(), [message(&id)]);
    let outcome = anchor.deliver(&id).await.expect("resumed");
    assert_eq!(
        Some(completed_hash(&outcome)),
        signed.envelope_hash.as_deref(),
        "the stored envelope, not a new one"
    );
    assert_eq!(anchor.usdc_payments_to(&user).await.len(), 1);
}

#[tokio::test]
async fn an_envelope_stored_in_pending_anchor_before_this_change_is_resumed() {
    let anchor = Anchor::new(1).await;
    let (user, id) = anchor.paying_user("3").await;
    // Applied, but the answer was lost and not looked up yet.
    anchor
        .ledger
        .inner
        .push_submit_fault(SubmitFault::TimeoutAfterApplying);
    let first = anchor
        .submitter()
        .with_lookups(0, Duration::ZERO)
        .submit(&message(&id))
        .await;
    assert!(first.is_err(), "{first:?}");
    // As an older submitter left it: the envelope stored, the deposit in pending_anchor.
    let signed = anchor.stored(&id).await;
    let mut legacy = signed.clone();
    legacy.status = TransactionStatus::PendingAnchor;
    legacy.status_message = None;
    anchor
        .store
        .update(&mut legacy, signed.status)
        .await
        .expect("legacy state");

    let outcome = anchor.deliver(&id).await.expect("resume");
    assert_eq!(
        Some(completed_hash(&outcome)),
        signed.envelope_hash.as_deref()
    );
    assert_eq!(anchor.submitted().len(), 1, "looked up, not sent again");
    assert_eq!(anchor.usdc_payments_to(&user).await.len(), 1);
}

#[tokio::test]
async fn a_received_deposit_carries_the_fee_integrations_breakdown_when_it_adds_up() {
    let anchor = Anchor::new(1).await;
    let item = |name: &str, value: &str| crate::model::FeeItem {
        name: name.into(),
        description: None,
        amount: amount(value),
    };
    // The configured fee is 1 USDC: 0.75 + 0.25 adds up, 0.5 alone does not.
    *anchor.rail.fee_items.lock().expect("lock") =
        vec![item("Service fee", "0.75"), item("Bank fee", "0.25")];
    let (id, report) = anchor.underpaid_deposit(40).await;
    assert_eq!(report.refused, 1, "1 USDC does not cover the fee");
    let user = anchor.user(41, true);
    let itemized = anchor
        .deposit(
            &user.to_string(),
            "0",
            2,
            TransactionStatus::PendingUserTransferStart,
        )
        .await;
    let unbalanced = anchor
        .deposit(
            &user.to_string(),
            "0",
            3,
            TransactionStatus::PendingUserTransferStart,
        )
        .await;
    let arrived = |id: &String| ReceivedDeposit {
        transaction_id: id.clone(),
        amount_in: amount("10"),
        amount_fee: None,
        external_transaction_id: None,
    };
    *anchor.rail.arrived.lock().expect("lock") = vec![arrived(&itemized)];
    anchor.poller().poll_deposits().await.expect("poll");
    *anchor.rail.fee_items.lock().expect("lock") = vec![item("Service fee", "0.5")];
    *anchor.rail.arrived.lock().expect("lock") = vec![arrived(&unbalanced)];
    anchor.poller().poll_deposits().await.expect("poll");

    let fee = anchor.stored(&itemized).await.fee_details.expect("fee");
    assert_eq!(fee.total, amount("1"));
    assert_eq!(
        fee.breakdown,
        [item("Service fee", "0.75"), item("Bank fee", "0.25")]
    );
    let fee = anchor.stored(&unbalanced).await.fee_details.expect("fee");
    assert_eq!(fee.total, amount("1"));
    assert!(
        fee.breakdown.is_empty(),
        "a breakdown that does not add up is left out"
    );
    assert_eq!(
        anchor.stored(&id).await.fee_details,
        None,
        "refused: no fee"
    );
}
