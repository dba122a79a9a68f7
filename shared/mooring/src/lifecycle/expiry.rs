//! The ends of the waiting statuses: a transaction that waits on its user (or, SEP-31, on the
//! sending anchor) for longer than the anchor allows is ended by the expiry sweeper (a
//! schedule), and its `user_action_required_by` tells the wallet when that will be.
//!
//! | status | kinds | after ([`ExpiryConfig`]) | ends | `status_message` |
//! |---|---|---|---|---|
//! | `incomplete` | SEP-6/24 deposits and withdrawals | `EXPIRE_INCOMPLETE_AFTER_SECONDS` (1 h) | `expired` | [`INCOMPLETE_MESSAGE`] |
//! | `pending_user_transfer_start` | SEP-6/24 deposits | `EXPIRE_PENDING_USER_TRANSFER_START_AFTER_SECONDS` (24 h) | `expired` | [`FUNDS_MESSAGE`] |
//! | `pending_user_transfer_start` | SEP-6/24 withdrawals | the same | `expired` | [`PAYMENT_MESSAGE`] |
//! | `pending_sender` | SEP-31 | `EXPIRE_PENDING_SENDER_AFTER_SECONDS` (24 h) | `expired` | [`PAYMENT_MESSAGE`] |
//! | `pending_trust` | deposits | `PENDING_TRUST_AFTER_SECONDS` (7 days) | `PENDING_TRUST_ACTION`: `error` (default), or `refund` | [`pending_trust_message`]; refunded: [`REFUNDING_MESSAGE`](crate::payments::refund::REFUNDING_MESSAGE) |
//!
//! **The deadline.** Whoever moves a transaction into one of these statuses (or creates it
//! there) sets `user_action_required_by` with [`ExpiryConfig::stamp`]: the time it entered plus
//! the status's limit, and for a transaction bound to a SEP-38 quote that still waits for the
//! user's funds, the quote's expiry at the latest (SEP-24/31: "with a quote, expires with the
//! quote"; the message then says so). The deadline stays while the status does; a change to a
//! status without one drops it (the stores do, [`Transaction::note_write`]). The sweeper ends a
//! transaction once its deadline passed; one without a deadline (written before deadlines
//! existed) is due its status's limit after it entered the status ([`status_since`]).
//!
//! **Payments on Stellar first.** A withdrawal in `pending_user_transfer_start` and a SEP-31
//! transaction in `pending_sender` wait for a Stellar payment, which the payment watcher matches.
//! They expire only once the watcher has read every receiving account up to
//! [`STELLAR_GRACE`] past the deadline (the watcher notes each run that caught up,
//! [`PaymentWatcher::note_caught_up`](crate::payments::watcher::PaymentWatcher::note_caught_up)):
//! a payment made in time is matched before its transaction could expire. A watcher that is
//! behind (or never ran) keeps them waiting.
//!
//! **Writes.** Each end is a conditional write on the status read, with the `status_message`
//! saying why; the stores add the history entry. A transaction that changed meanwhile (paid,
//! completed by its form) is left alone: the concurrent change wins. Wallets and sending anchors
//! hear of each end from the table's stream ([`crate::status_callbacks`]).
//!
//! **Refunds.** With `PENDING_TRUST_ACTION=refund` a `pending_trust` deposit past its time is
//! refunded by [`SYSTEM_ACTOR`] ([`prepare_refund`] and [`commit_refund`] over the
//! transaction as read, so a deposit whose trustline arrived meanwhile is left to go on), then
//! queued to the Stellar submitter, which calls the deposit integration's `refund_deposit`
//! once. A deposit the refund module will not refund (e.g. a Stellar payment signed for it)
//! ends in `error` as with `PENDING_TRUST_ACTION=error`.
//!
//! **Bounded and fair.** Each run reads every listing it sweeps with [`scan_status`]: the oldest
//! page (the ones due first) and the next pages of a rotation saved between runs, so a backlog
//! that is not due yet (withdrawals waiting for the watcher) never hides one that is.

mod config;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

pub use config::{
    ExpiryConfig, PendingTrustAction, INCOMPLETE_VAR, PENDING_SENDER_VAR, PENDING_TRUST_ACTION_VAR,
    PENDING_TRUST_VAR, PENDING_USER_TRANSFER_START_VAR,
};

use crate::clock::Clock;
use crate::lifecycle::refund::{commit_refund, prepare_refund, RefundError, RefundOrder};
use crate::model::{Kind, Transaction, TransactionStatus, SYSTEM_ACTOR};
use crate::payments::watcher::caught_up_at;
use crate::payments::WorkerError;
use crate::queue::Queue;
use crate::store::scan::{scan_name, scan_status, Head, ScanPlan};
use crate::store::{Cursors, IncomingPayments, StoreError, TransactionStore};
use crate::time::Timestamp;

/// How long after a deadline a Stellar payment may still show up in Horizon (its ingestion
/// lag): a withdrawal or SEP-31 transaction expires only once the watcher read that far.
pub const STELLAR_GRACE: Duration = Duration::from_secs(60);

/// `status_message` of an `incomplete` transaction that expired.
pub const INCOMPLETE_MESSAGE: &str = "The transaction was not completed in time.";
/// ... whose quote expired before the transaction was completed.
pub const INCOMPLETE_QUOTE_MESSAGE: &str =
    "The quote expired before the transaction was completed.";
/// `status_message` of a deposit whose funds never came.
pub const FUNDS_MESSAGE: &str = "The funds did not arrive in time.";
/// ... bound to a quote that expired.
pub const FUNDS_QUOTE_MESSAGE: &str = "The funds did not arrive before the quote expired.";
/// `status_message` of a withdrawal or SEP-31 transaction whose Stellar payment never came.
pub const PAYMENT_MESSAGE: &str = "The payment did not arrive in time.";
/// ... bound to a quote that expired.
pub const PAYMENT_QUOTE_MESSAGE: &str = "The payment did not arrive before the quote expired.";

/// `status_message` of a deposit ended in `pending_trust`.
pub fn pending_trust_message(transaction: &Transaction) -> String {
    format!(
        "The receiving account did not trust {} in time, so the deposit was not paid; contact \
         the anchor for a refund.",
        transaction.asset.code()
    )
}

/// The listings the sweeper reads: every kind in each status it ends.
pub const SWEPT: [(Kind, TransactionStatus); 11] = [
    (Kind::Deposit, TransactionStatus::Incomplete),
    (Kind::Withdrawal, TransactionStatus::Incomplete),
    (Kind::DepositExchange, TransactionStatus::Incomplete),
    (Kind::WithdrawalExchange, TransactionStatus::Incomplete),
    (Kind::Deposit, TransactionStatus::PendingUserTransferStart),
    (
        Kind::Withdrawal,
        TransactionStatus::PendingUserTransferStart,
    ),
    (
        Kind::DepositExchange,
        TransactionStatus::PendingUserTransferStart,
    ),
    (
        Kind::WithdrawalExchange,
        TransactionStatus::PendingUserTransferStart,
    ),
    (Kind::Receive, TransactionStatus::PendingSender),
    (Kind::Deposit, TransactionStatus::PendingTrust),
    (Kind::DepositExchange, TransactionStatus::PendingTrust),
];

/// The name of the sweeper's scans.
const WORKER: &str = "expiry-sweeper";

fn after(at: Timestamp, wait: Duration) -> Timestamp {
    let wait = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
    Timestamp::from_millis(at.millis().saturating_add(wait))
}

/// Whether the transaction, in `status`, is waiting for the user's funds (so that a quote's
/// expiry bounds its wait).
fn awaits_funds(status: TransactionStatus) -> bool {
    matches!(
        status,
        TransactionStatus::Incomplete
            | TransactionStatus::PendingUserTransferStart
            | TransactionStatus::PendingSender
    )
}

/// Whether the transaction waits for a Stellar payment (matched by the payment watcher).
fn paid_on_stellar(kind: Kind, status: TransactionStatus) -> bool {
    match status {
        TransactionStatus::PendingUserTransferStart => !kind.is_deposit() && kind != Kind::Receive,
        TransactionStatus::PendingSender => kind == Kind::Receive,
        _ => false,
    }
}

/// When the transaction entered its current status: the last status change to it in its
/// history, else when it started (created in it, or its history did not reach back).
pub fn status_since(transaction: &Transaction) -> Timestamp {
    transaction
        .history
        .iter()
        .rev()
        .find(|entry| entry.status == transaction.status && entry.from != transaction.status)
        .map_or(transaction.started_at, |entry| entry.at)
}

impl ExpiryConfig {
    /// The deadline of a transaction that entered its status at `entered`: the status's limit
    /// after, and, waiting for funds at a quote, the quote's expiry at the latest. `None` for a
    /// status without one.
    pub fn deadline_from(
        &self,
        transaction: &Transaction,
        entered: Timestamp,
    ) -> Option<Timestamp> {
        let limit = self.limit(transaction.kind, transaction.status)?;
        let deadline = after(entered, limit);
        Some(match transaction.quote_deadline() {
            Some(quote) if awaits_funds(transaction.status) => deadline.min(quote),
            _ => deadline,
        })
    }

    /// Sets `user_action_required_by` of a transaction about to be written, read in status
    /// `from` (`None`: a new one): entering a status with a deadline sets it, counted from the
    /// write's `updated_at` (when the history says it entered); staying keeps it; any other
    /// status has none. Call it after setting the status and `updated_at`.
    pub fn stamp(&self, transaction: &mut Transaction, from: Option<TransactionStatus>) {
        if from == Some(transaction.status) {
            return;
        }
        transaction.user_action_required_by =
            self.deadline_from(transaction, transaction.updated_at);
    }

    /// When the sweeper ends the transaction: its deadline, or, without one, its status's limit
    /// after it entered the status.
    pub fn due_at(&self, transaction: &Transaction) -> Option<Timestamp> {
        self.limit(transaction.kind, transaction.status)?;
        transaction
            .user_action_required_by
            .or_else(|| self.deadline_from(transaction, status_since(transaction)))
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Transactions looked at.
    pub checked: usize,
    /// Ended `expired`.
    pub expired: usize,
    /// `pending_trust` deposits ended (`error`).
    pub ended: usize,
    /// `pending_trust` deposits whose refund was requested (`PENDING_TRUST_ACTION=refund`).
    pub refunded: usize,
    /// Due, but changed by someone else first (left as they are).
    pub skipped: usize,
    /// Due, but waiting for the payment watcher to read past their deadline.
    pub awaiting_watcher: usize,
}

/// The expiry sweeper: one [`sweep`](Self::sweep) per scheduled run. The submissions queue
/// (the Stellar submitter's) takes the refunds of `PENDING_TRUST_ACTION=refund`.
pub struct ExpirySweeper<S, Q> {
    store: Arc<S>,
    submissions: Arc<Q>,
    config: ExpiryConfig,
    clock: Arc<dyn Clock>,
    plan: ScanPlan,
}

impl<S, Q> ExpirySweeper<S, Q>
where
    S: TransactionStore + Cursors + IncomingPayments,
    Q: Queue,
{
    pub fn new(
        store: Arc<S>,
        submissions: Arc<Q>,
        config: ExpiryConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            submissions,
            config,
            clock,
            plan: ScanPlan {
                page_size: 100,
                head: Head::Oldest,
                head_pages: 1,
                rotation_pages: 2,
            },
        }
    }

    /// Transactions per page read (default 100; three pages per listing and run).
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.plan.page_size = page_size.max(1);
        self
    }

    /// One run over every listing. A listing that fails does not stop the others; the first
    /// error is returned after all were tried.
    pub async fn sweep(&self) -> Result<SweepReport, WorkerError> {
        let now = Timestamp::from_secs(self.clock.now());
        let watcher = caught_up_at(&*self.store).await?;
        let mut report = SweepReport::default();
        let mut first_error = None;
        for (kind, status) in SWEPT {
            if let Err(error) = self
                .sweep_listing(kind, status, now, watcher, &mut report)
                .await
            {
                tracing::error!(kind = kind.as_str(), %status, %error, "expiry sweep failed");
                first_error.get_or_insert(error);
            }
        }
        tracing::info!(?report, "expiry sweep");
        match first_error {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    async fn sweep_listing(
        &self,
        kind: Kind,
        status: TransactionStatus,
        now: Timestamp,
        watcher: Option<Timestamp>,
        report: &mut SweepReport,
    ) -> Result<(), WorkerError> {
        let name = scan_name(WORKER, kind, status);
        let waiting = scan_status(&*self.store, &name, kind, status, &self.plan, now).await?;
        for transaction in waiting {
            report.checked += 1;
            let Some(due) = self.config.due_at(&transaction) else {
                continue;
            };
            if now < due {
                continue;
            }
            if paid_on_stellar(kind, status)
                && watcher.is_none_or(|read_at| read_at < after(due, STELLAR_GRACE))
            {
                report.awaiting_watcher += 1;
                continue;
            }
            self.end(transaction, due, now, report).await?;
        }
        Ok(())
    }

    /// Ends a due transaction with a conditional write.
    async fn end(
        &self,
        read: Transaction,
        due: Timestamp,
        now: Timestamp,
        report: &mut SweepReport,
    ) -> Result<(), WorkerError> {
        let mut ended = read.clone();
        ended.updated_at = now;
        ended.user_action_required_by = None;
        let quote_expired = read.quote_deadline().is_some_and(|quote| due >= quote);
        let expired = match read.status {
            TransactionStatus::PendingTrust => {
                if self.config.pending_trust_action == PendingTrustAction::Refund
                    && self.refund(&read, now, report).await?
                {
                    return Ok(());
                }
                ended.status = TransactionStatus::Error;
                ended.status_message = Some(pending_trust_message(&ended));
                false
            }
            TransactionStatus::Incomplete => {
                expire(
                    &mut ended,
                    INCOMPLETE_MESSAGE,
                    INCOMPLETE_QUOTE_MESSAGE,
                    quote_expired,
                );
                true
            }
            _ if read.kind.is_deposit() => {
                expire(
                    &mut ended,
                    FUNDS_MESSAGE,
                    FUNDS_QUOTE_MESSAGE,
                    quote_expired,
                );
                true
            }
            _ => {
                expire(
                    &mut ended,
                    PAYMENT_MESSAGE,
                    PAYMENT_QUOTE_MESSAGE,
                    quote_expired,
                );
                true
            }
        };
        match self.store.update(&mut ended, read.status).await {
            Ok(()) => {}
            // Paid, completed or moved on meanwhile: that change wins.
            Err(StoreError::Conflict) => {
                report.skipped += 1;
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        }
        tracing::info!(
            transaction_id = %ended.id,
            from = %read.status,
            status = %ended.status,
            reason = ended.status_message.as_deref().unwrap_or(""),
            "expiry sweeper: transaction ended"
        );
        if expired {
            report.expired += 1;
        } else {
            report.ended += 1;
        }
        Ok(())
    }

    /// Refunds a `pending_trust` deposit past its time, over the transaction as read. `false`
    /// when the refund module refuses it (it then ends in `error`); a lost race is skipped.
    async fn refund(
        &self,
        read: &Transaction,
        now: Timestamp,
        report: &mut SweepReport,
    ) -> Result<bool, WorkerError> {
        let reason = format!(
            "the receiving account did not trust {} within {} seconds",
            read.asset.code(),
            self.config.pending_trust.as_secs()
        );
        let order = RefundOrder {
            by: SYSTEM_ACTOR,
            reason: &reason,
            amount: None,
        };
        let clock = &*self.clock;
        let requested = match prepare_refund(&*self.store, clock, read, order).await {
            Ok(plan) => commit_refund(&*self.store, &*self.submissions, clock, read, plan).await,
            Err(error) => Err(error),
        };
        match requested {
            Ok(_) => {
                tracing::info!(transaction_id = %read.id, at = %now,
                    "expiry sweeper: pending_trust deposit refunded");
                report.refunded += 1;
                Ok(true)
            }
            // Its trustline arrived, or someone else acted: that change wins.
            Err(RefundError::Conflict) => {
                report.skipped += 1;
                Ok(true)
            }
            Err(RefundError::Store(error)) => Err(error.into()),
            Err(refused) => {
                tracing::warn!(transaction_id = %read.id, %refused,
                    "expiry sweeper: the pending_trust deposit cannot be refunded; it ends in error");
                Ok(false)
            }
        }
    }
}

fn expire(transaction: &mut Transaction, message: &str, quote_message: &str, quote_expired: bool) {
    transaction.status = TransactionStatus::Expired;
    transaction.status_message = Some(
        if quote_expired {
            quote_message
        } else {
            message
        }
        .into(),
    );
}
