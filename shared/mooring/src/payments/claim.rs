//! The payout-claim lifecycle of the workers that pay out off-chain exactly once: the
//! withdrawal processor ([`super::withdrawals`], withdrawals in `pending_anchor`) and the
//! outgoing-payments worker ([`super::outgoing`], SEP-31 payouts in `pending_receiver`). Each
//! holds a [`Claims`] over its *working status* and a log label, and supplies only its hook call
//! and the [`Ending`] each answer writes.
//!
//! [`Claims::pay_once`] handles one queue message:
//!
//! 1. Load the transaction; anything not eligible or not in the working status is acknowledged
//!    and left alone.
//! 2. Claim it: one conditional write setting
//!    [`payout_started_at`](crate::model::Transaction::payout_started_at) (status still the
//!    working one). Of two deliveries racing, one wins; the other re-reads. A claim found
//!    already set is retried while recent ([`WorkerError::Pending`]) and, once stale, handed to
//!    the operator (`pending_external` with a `status_message`): the hook is never called again.
//! 3. Call the hook exactly once and write its outcome on our claim (conditional; re-applied on
//!    a fresh read while the claim is still ours: same `payout_started_at`, status the working
//!    one or `pending_external`). `Unavailable` (nothing was paid) releases the claim instead
//!    and the message is retried; `Invalid` (the rail refused the payout for good: nothing was
//!    paid) refunds the payment to its sender (`pending_stellar`, the refund queued for the
//!    Stellar submitter: [`super::refund`]), or ends in `error` with its message when no refund
//!    can be sent; any other error ends in `error` with [`PAYOUT_FAILED_MESSAGE`] (the cause is
//!    logged; whether money left is unknown, so the operator decides on a refund).
//!
//! [`Claims::recover`] is the scheduled sweep: stale claims to the operator, unclaimed
//! transactions not updated for as long sent to the queue again.

use std::fmt::Debug;
use std::sync::Arc;

use super::refund::{self, RefundOrder};
use super::withdrawals::{
    RecoveryReport, DEFAULT_BATCH, DEFAULT_STALE_CLAIM_SECS, PAYOUT_FAILED_MESSAGE,
};
use super::WorkerError;
use crate::clock::Clock;
use crate::integrations::IntegrationError;
use crate::model::{Kind, Transaction, TransactionStatus, SYSTEM_ACTOR};
use crate::queue::{DynQueue, Queue, QueueMessage};
use crate::store::scan::{scan_name, scan_status, ScanPlan};
use crate::store::{Cursors, StoreError, TransactionStore};
use crate::time::Timestamp;

/// Conditional writes tried before a conflict is given up on (the message is retried).
pub(super) const WRITE_ATTEMPTS: usize = 5;

/// The hook's outcome, as written on the claimed transaction.
pub(super) enum Ending {
    Completed(Option<String>),
    PendingExternal(Option<String>),
    /// SEP-31: the receiver's SEP-12 data must be fixed; the claim is cleared.
    CustomerInfoNeeded(String),
    /// SEP-31: transaction fields are needed (`required_info_updates`); the claim is cleared.
    TransactionInfoNeeded(String, serde_json::Value),
    Error(String),
    /// The rail refused the payout for good (this message): refunded to the sender.
    Refund(String),
}

impl Ending {
    fn apply(&self, t: &mut Transaction, now: Timestamp) {
        match self {
            Ending::Completed(external) => {
                t.status = TransactionStatus::Completed;
                t.completed_at = Some(now);
                t.status_message = None;
                if external.is_some() {
                    t.external_transaction_id = external.clone();
                }
            }
            Ending::PendingExternal(external) => {
                t.status = TransactionStatus::PendingExternal;
                t.status_message = None;
                if external.is_some() {
                    t.external_transaction_id = external.clone();
                }
            }
            Ending::CustomerInfoNeeded(message) => {
                t.status = TransactionStatus::PendingCustomerInfoUpdate;
                t.status_message = None;
                t.required_info_message = Some(message.clone());
                t.required_info_updates = None;
                // Nothing was paid: the transaction is paid out afresh once it is fixed.
                t.payout_started_at = None;
            }
            Ending::TransactionInfoNeeded(message, updates) => {
                t.status = TransactionStatus::PendingTransactionInfoUpdate;
                t.status_message = None;
                t.required_info_message = Some(message.clone());
                t.required_info_updates = Some(updates.clone());
                t.payout_started_at = None;
            }
            Ending::Error(message) => {
                t.status = TransactionStatus::Error;
                t.status_message = Some(message.clone());
            }
            Ending::Refund(message) => {
                let order = RefundOrder {
                    by: SYSTEM_ACTOR,
                    reason: message,
                    amount: None,
                };
                match refund::plan(t, None, order, now) {
                    Ok(plan) => refund::mark(t, plan, refunding_message(message), now),
                    Err(error) => {
                        tracing::error!(transaction_id = %t.id, %error,
                            "the refused payout cannot be refunded automatically");
                        t.status = TransactionStatus::Error;
                        t.status_message = Some(message.clone());
                    }
                }
            }
        }
        t.updated_at = now;
    }
}

/// A processor's answer for a message, in the cases the lifecycle decides on its own.
pub(super) trait Processed: Debug + Sized {
    /// No such transaction, not eligible, or not in the working status.
    fn nothing_to_do(status: Option<TransactionStatus>) -> Self;
    /// An earlier claim never finished: handed to the operator, hook not called.
    fn handed_to_operator() -> Self;
    /// The hook paid: `completed`.
    fn completed() -> Self;
    /// The hook started the payout: `pending_external`.
    fn pending_external() -> Self;
    /// The hook failed (another error than `Unavailable` and `Invalid`, or `Invalid` with
    /// nothing to refund).
    fn failed() -> Self;
    /// The rail refused the payout for good: the payment is being refunded.
    fn refunding() -> Self;
}

/// The hook paid: `completed` (with the rail's id, if any).
pub(super) fn completed<P: Processed>(external_transaction_id: Option<String>) -> (P, Ending) {
    (P::completed(), Ending::Completed(external_transaction_id))
}

/// The hook started the payout: `pending_external` (with the rail's id, if any).
pub(super) fn pending_external<P: Processed>(
    external_transaction_id: Option<String>,
) -> (P, Ending) {
    (
        P::pending_external(),
        Ending::PendingExternal(external_transaction_id),
    )
}

/// Implements [`Processed`] for a processor's answer enum, whose variants for these cases are
/// `NothingToDo { status }`, `HandedToOperator`, `Completed`, `PendingExternal`, `Failed` and
/// `Refunding`.
macro_rules! processed {
    ($answer:ty) => {
        impl $crate::payments::claim::Processed for $answer {
            fn nothing_to_do(status: Option<$crate::model::TransactionStatus>) -> Self {
                Self::NothingToDo { status }
            }

            fn handed_to_operator() -> Self {
                Self::HandedToOperator
            }

            fn completed() -> Self {
                Self::Completed
            }

            fn pending_external() -> Self {
                Self::PendingExternal
            }

            fn failed() -> Self {
                Self::Failed
            }

            fn refunding() -> Self {
                Self::Refunding
            }
        }
    };
}
pub(super) use processed;

/// `status_message` of a payment refunded because the rail refused its payout.
fn refunding_message(refusal: &str) -> String {
    let refusal = refusal.trim().trim_end_matches('.');
    format!("The payout could not be made ({refusal}); the payment is being refunded.")
}

pub(super) fn stale_claim_message(started: Timestamp) -> String {
    format!(
        "The payout started at {started} has no recorded outcome; the anchor is confirming it \
         with the payment provider."
    )
}

/// Retry the message later: the payout is being made by another delivery.
pub(super) fn in_progress(id: &str, started: Timestamp) -> WorkerError {
    WorkerError::Pending(format!(
        "the payout of {id} is in progress (claimed at {started})"
    ))
}

/// The claims of one worker: its store and clock, the status its transactions wait in to be
/// paid out (`working`), the label of its log lines, and its scheduled runs' limits.
pub(super) struct Claims<S> {
    pub(super) store: Arc<S>,
    clock: Arc<dyn Clock>,
    /// After this long an unfinished claim (or an unclaimed transaction) counts as stalled.
    pub(super) stale_claim_secs: u64,
    /// Transactions per store page (and per `poll_outgoing_transactions` call); a scheduled
    /// run reads at most three pages per kind and status ([`Claims::scan`]).
    pub(super) batch: usize,
    working: TransactionStatus,
    label: &'static str,
    /// Where a refund of a refused payout is queued (the Stellar submitter's queue); without
    /// one the deposit poller's re-queue of stuck transactions sends it.
    pub(super) refunds: Option<Arc<dyn DynQueue>>,
}

impl<S: TransactionStore> Claims<S> {
    /// With the default limits ([`DEFAULT_STALE_CLAIM_SECS`], [`DEFAULT_BATCH`]).
    pub(super) fn new(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        working: TransactionStatus,
        label: &'static str,
    ) -> Self {
        Self {
            store,
            clock,
            stale_claim_secs: DEFAULT_STALE_CLAIM_SECS,
            batch: DEFAULT_BATCH,
            working,
            label,
            refunds: None,
        }
    }

    /// Handles one queue message: claims transaction `id` (if of an `eligible` kind and in the
    /// working status), calls `hook` exactly once on the claim and writes the ending it chose.
    /// `Err` means "retry the message later".
    pub(super) async fn pay_once<P: Processed>(
        &self,
        id: &str,
        eligible: fn(Kind) -> bool,
        hook: impl AsyncFnOnce(&Transaction) -> Result<(P, Ending), IntegrationError>,
    ) -> Result<P, WorkerError> {
        let label = self.label;
        let Some(mut tx) = self.store.get(id).await? else {
            tracing::warn!(transaction_id = id, "{label}: no such transaction");
            return Ok(P::nothing_to_do(None));
        };
        let mut claimed = None;
        for _ in 0..WRITE_ATTEMPTS {
            if !eligible(tx.kind) || tx.status != self.working {
                return Ok(P::nothing_to_do(Some(tx.status)));
            }
            let now = self.now();
            if let Some(started) = tx.payout_started_at {
                if !self.is_stale(started, now) {
                    return Err(in_progress(id, started));
                }
                match self.hand_to_operator(&tx, started, now).await {
                    Ok(()) => return Ok(P::handed_to_operator()),
                    Err(WorkerError::Store(StoreError::Conflict)) => {
                        tx = self.reload(id).await?;
                        continue;
                    }
                    Err(error) => return Err(error),
                }
            }
            let mut claim = tx.clone();
            claim.payout_started_at = Some(now);
            claim.updated_at = now;
            match self.store.update(&mut claim, self.working).await {
                Ok(()) => {
                    claimed = Some(claim);
                    break;
                }
                Err(StoreError::Conflict) => tx = self.reload(id).await?,
                Err(error) => return Err(error.into()),
            }
        }
        let Some(claim) = claimed else {
            return Err(StoreError::Conflict.into());
        };

        // The one call of the hook for this claim.
        let result = hook(&claim).await;
        let now = self.now();
        let (processed, ending) = match result {
            Ok(answer) => answer,
            Err(IntegrationError::Unavailable(cause)) => {
                tracing::warn!(transaction_id = id, %cause,
                    "{label}: the rail is unavailable; claim released, retry later");
                self.release(claim).await?;
                return Err(IntegrationError::Unavailable(cause).into());
            }
            Err(IntegrationError::Invalid(message)) => {
                tracing::warn!(transaction_id = id, %message, "{label}: payout refused; refunding");
                (P::refunding(), Ending::Refund(message))
            }
            Err(other) => {
                tracing::error!(transaction_id = id, error = %other, "{label}: payout failed");
                (P::failed(), Ending::Error(PAYOUT_FAILED_MESSAGE.to_owned()))
            }
        };
        let written = self.finish(claim, now, &ending).await?;
        if let Some(refunding) = written.filter(|t| t.pending_refund.is_some()) {
            self.queue_refund(&refunding).await;
            tracing::info!(transaction_id = id, "{label}: done, refunding");
            return Ok(processed);
        }
        // A refund that could not be planned ended in `error`.
        let processed = match ending {
            Ending::Refund(_) => P::failed(),
            _ => processed,
        };
        tracing::info!(transaction_id = id, outcome = ?processed, "{label}: done");
        Ok(processed)
    }

    /// A claim that never reported back: `pending_external` with a `status_message` (the
    /// payout's outcome is unknown), conditional on the working status.
    async fn hand_to_operator(
        &self,
        tx: &Transaction,
        started: Timestamp,
        now: Timestamp,
    ) -> Result<(), WorkerError> {
        let mut held = tx.clone();
        held.status = TransactionStatus::PendingExternal;
        held.status_message = Some(stale_claim_message(started));
        held.updated_at = now;
        self.store.update(&mut held, self.working).await?;
        tracing::error!(transaction_id = %tx.id, %started,
            "{}: payout claimed but never finished; handed to the operator", self.label);
        Ok(())
    }

    /// Sends a refund to the Stellar submitter; a failure is left to the deposit poller's
    /// re-queue of stuck transactions.
    async fn queue_refund(&self, transaction: &Transaction) {
        let Some(queue) = &self.refunds else {
            tracing::warn!(transaction_id = %transaction.id,
                "{}: no refunds queue; the deposit poller queues the refund", self.label);
            return;
        };
        let message = QueueMessage::new(transaction.id.clone(), transaction.kind);
        if let Err(error) = queue.send_boxed(&message).await {
            tracing::error!(transaction_id = %transaction.id, %error,
                "{}: the refund could not be queued; the deposit poller re-queues it", self.label);
        }
    }

    /// Writes the hook's outcome on our claim (conditional; re-applied on a fresh read while
    /// the claim is still ours); answers the transaction written (`None`: moved by someone
    /// else, not written).
    async fn finish(
        &self,
        claim: Transaction,
        now: Timestamp,
        ending: &Ending,
    ) -> Result<Option<Transaction>, WorkerError> {
        let started = claim.payout_started_at;
        let mut current = claim;
        for _ in 0..WRITE_ATTEMPTS {
            // Still ours: the working status with our claim, or handed to the operator as
            // stale while the hook was slow (`pending_external` with our claim): the outcome
            // is written either way.
            let ours = current.payout_started_at == started
                && (current.status == self.working
                    || current.status == TransactionStatus::PendingExternal);
            if !ours {
                tracing::error!(transaction_id = %current.id, status = %current.status,
                    "{}: the transaction was moved during its payout; outcome not written",
                    self.label);
                return Ok(None);
            }
            let expected = current.status;
            let mut done = current.clone();
            ending.apply(&mut done, now);
            match self.store.update(&mut done, expected).await {
                Ok(()) => return Ok(Some(done)),
                Err(StoreError::Conflict) => current = self.reload(&current.id).await?,
                Err(error) => return Err(error.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Clears our claim (nothing was paid), conditional.
    async fn release(&self, claim: Transaction) -> Result<(), WorkerError> {
        let started = claim.payout_started_at;
        let mut current = claim;
        for _ in 0..WRITE_ATTEMPTS {
            let mut free = current.clone();
            free.payout_started_at = None;
            free.updated_at = self.now();
            match self.store.update(&mut free, self.working).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => {
                    current = self.reload(&current.id).await?;
                    if current.status != self.working || current.payout_started_at != started {
                        return Ok(());
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// The scheduled sweep over `waiting` (transactions listed in the working status): a claim
    /// older than the stale limit goes to `pending_external` for the operator; an unclaimed
    /// transaction not updated for that long is sent to `queue` again (its message was lost;
    /// the worker is idempotent), logged as "`{lost}` never processed".
    /// A scheduled run's share of the transactions of `kind` in `status`: bounded and fair
    /// ([`scan_status`]: the newest page and the next pages of a rotation), read before any is
    /// changed; `worker` names the scan's saved rotation.
    pub(super) async fn scan(
        &self,
        worker: &str,
        kind: Kind,
        status: TransactionStatus,
    ) -> Result<Vec<Transaction>, WorkerError>
    where
        S: Cursors,
    {
        let name = scan_name(worker, kind, status);
        let plan = ScanPlan::newest_first(self.batch);
        Ok(scan_status(&*self.store, &name, kind, status, &plan, self.now()).await?)
    }

    pub(super) async fn recover<Q: Queue>(
        &self,
        waiting: impl IntoIterator<Item = Transaction>,
        now: Timestamp,
        queue: &Q,
        lost: &str,
        report: &mut RecoveryReport,
    ) -> Result<(), WorkerError> {
        for tx in waiting {
            match tx.payout_started_at {
                Some(started) if self.is_stale(started, now) => {
                    match self.hand_to_operator(&tx, started, now).await {
                        Ok(()) => report.handed_to_operator += 1,
                        Err(WorkerError::Store(StoreError::Conflict)) => {}
                        Err(error) => return Err(error),
                    }
                }
                Some(_) => {}
                None if self.is_stale(tx.updated_at, now) => {
                    queue
                        .send(&QueueMessage::new(tx.id.clone(), tx.kind))
                        .await?;
                    tracing::warn!(transaction_id = %tx.id,
                        "{}: {lost} never processed; queued again", self.label);
                    report.requeued += 1;
                }
                None => {}
            }
        }
        Ok(())
    }

    /// A fresh read of a transaction; one gone meanwhile counts as a conflict.
    pub(super) async fn reload(&self, id: &str) -> Result<Transaction, WorkerError> {
        self.store
            .get(id)
            .await?
            .ok_or(WorkerError::Store(StoreError::Conflict))
    }

    fn is_stale(&self, since: Timestamp, now: Timestamp) -> bool {
        older_than(since, now, self.stale_claim_secs)
    }

    pub(super) fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.clock.now())
    }
}

/// Whether `since` is at least `secs` before `now`.
pub(super) fn older_than(since: Timestamp, now: Timestamp, secs: u64) -> bool {
    now.millis().saturating_sub(since.millis())
        >= i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}
