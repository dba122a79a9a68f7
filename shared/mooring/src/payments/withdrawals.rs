//! The withdrawal processor: pays out off-chain the withdrawals whose Stellar payment arrived
//! (`pending_anchor`, queued by the payment watcher), through the anchor's
//! [`WithdrawalIntegration`].
//!
//! [`process_withdrawal`](WithdrawalProcessor::process_withdrawal) handles one queue message:
//!
//! 1. Load the transaction; anything but a `pending_anchor` withdrawal is acknowledged and left
//!    alone (a message seen again after the work was done).
//! 2. Claim it: one conditional write setting
//!    [`payout_started_at`](crate::model::Transaction::payout_started_at) (status still
//!    `pending_anchor`). Of two deliveries racing, one wins; the other re-reads.
//! 3. Call [`WithdrawalIntegration::process_withdrawal`] exactly once, then write the outcome
//!    (conditional): `Completed` -> `completed` with `completed_at`; `PendingExternal` ->
//!    `pending_external`; `Invalid` (the rail refused the payout for good, nothing was paid) ->
//!    the payment is refunded to the user on Stellar (`pending_stellar`, then `refunded`:
//!    [`super::refund`]); any other error but `Unavailable` -> `error` with a generic message
//!    (the cause is logged; the operator may refund); `Unavailable` (the rail is down, nothing
//!    was paid) -> the claim is released and the message retried.
//!
//! A delivery that finds the payout claimed and not finished never calls the hook again: while
//! the claim is recent the message is retried later (an `Err`: the first delivery may still be
//! running); once it is older than [`DEFAULT_STALE_CLAIM_SECS`] the payout's outcome is unknown
//! and the transaction goes to `pending_external` with a `status_message`, where
//! `poll_outgoing_transactions` (and the operator) settle it. A hook that answers after its
//! claim was handed over still has its outcome written (the claim is still its own).
//!
//! The claim lifecycle (steps 1 to 3, the stale hand-over, the recovery sweep) is shared with the
//! SEP-31 outgoing-payments worker ([`super::outgoing`]) in `payments::claim`.
//!
//! Deployment: the processor's Lambda timeout (and so the longest hook call) must stay well
//! under [`DEFAULT_STALE_CLAIM_SECS`].
//!
//! On a schedule, [`complete_external_withdrawals`](WithdrawalProcessor::complete_external_withdrawals)
//! moves `pending_external` withdrawals and SEP-31 payouts (see [`super::outgoing`]) the rail
//! reports done to `completed`, and
//! [`recover_stalled_withdrawals`](WithdrawalProcessor::recover_stalled_withdrawals) hands stale
//! claims to the operator and re-queues paid withdrawals whose queue message was lost.

use std::sync::Arc;

use super::claim::{completed, pending_external, processed, Claims, WRITE_ATTEMPTS};
use super::WorkerError;
use crate::clock::Clock;
use crate::integrations::{WithdrawalIntegration, WithdrawalOutcome};
use crate::model::{Kind, Transaction, TransactionStatus};
use crate::queue::{DynQueue, Queue, QueueMessage};
use crate::store::{Cursors, StoreError, TransactionStore};

/// After this long a claimed payout without an outcome is handed to the operator.
pub const DEFAULT_STALE_CLAIM_SECS: u64 = 300;
/// Transactions per `poll_outgoing_transactions` call and per store page (a scheduled run
/// reads at most three pages per kind and status).
pub const DEFAULT_BATCH: usize = 50;

/// The kinds paid out off-chain by the rail, whose `pending_external` payouts
/// `poll_outgoing_transactions` confirms: withdrawals and SEP-31 payments received.
pub const PAID_OUT_KINDS: [Kind; 3] = [Kind::Withdrawal, Kind::WithdrawalExchange, Kind::Receive];

/// `status_message` of a withdrawal whose payout failed for another reason than `Invalid`.
pub const PAYOUT_FAILED_MESSAGE: &str =
    "The payout could not be made. The anchor has been notified and will contact you.";

/// What `process_withdrawal` did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WithdrawalProcessed {
    /// No such transaction, not a withdrawal, or not `pending_anchor` (e.g. already done):
    /// nothing to do.
    NothingToDo { status: Option<TransactionStatus> },
    /// The hook paid it: `completed`.
    Completed,
    /// The hook started the payout: `pending_external`.
    PendingExternal,
    /// The hook failed: `error` with a `status_message`.
    Failed,
    /// An earlier claim never finished: `pending_external` for the operator, hook not called.
    HandedToOperator,
    /// The rail refused the payout for good (`Invalid`: nothing was paid): the payment is
    /// refunded to its sender (`pending_stellar`, queued for the Stellar submitter).
    Refunding,
}

/// What a `complete_external_withdrawals` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompletionReport {
    /// `pending_external` payouts (withdrawals and SEP-31) shown to `poll_outgoing_transactions`.
    pub checked: usize,
    /// Moved to `completed`.
    pub completed: usize,
}

/// What a `recover_stalled_withdrawals` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Stale claims moved to `pending_external` for the operator.
    pub handed_to_operator: usize,
    /// Unclaimed `pending_anchor` withdrawals sent to the queue again.
    pub requeued: usize,
}

/// The processor over a store `S` and the anchor's integration `I`. Built once per cold start.
pub struct WithdrawalProcessor<S, I> {
    claims: Claims<S>,
    integration: Arc<I>,
}

processed!(WithdrawalProcessed);

fn is_withdrawal(kind: Kind) -> bool {
    matches!(kind, Kind::Withdrawal | Kind::WithdrawalExchange)
}

impl<S, I> WithdrawalProcessor<S, I>
where
    S: TransactionStore,
    I: WithdrawalIntegration,
{
    pub fn new(store: Arc<S>, integration: Arc<I>, clock: Arc<dyn Clock>) -> Self {
        let claims = Claims::new(
            store,
            clock,
            TransactionStatus::PendingAnchor,
            "withdrawal processor",
        );
        Self {
            claims,
            integration,
        }
    }

    /// After how many seconds an unfinished claim (or a paid withdrawal never claimed) counts
    /// as stalled.
    pub fn with_stale_claim_after(mut self, secs: u64) -> Self {
        self.claims.stale_claim_secs = secs;
        self
    }

    /// Queues the refund of a payout the rail refused for good on `submissions` (the Stellar
    /// submitter's queue). Without it the deposit poller's re-queue sends it, later.
    pub fn with_refunds(mut self, submissions: Arc<dyn DynQueue>) -> Self {
        self.claims.refunds = Some(submissions);
        self
    }

    /// Transactions per `poll_outgoing_transactions` call and store page (at least 1).
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.claims.batch = batch.max(1);
        self
    }

    /// Handles one message of the withdrawals queue. `Err` means "retry the message later".
    pub async fn process_withdrawal(
        &self,
        message: &QueueMessage,
    ) -> Result<WithdrawalProcessed, WorkerError> {
        let hook = async |claim: &Transaction| {
            let outcome = self.integration.process_withdrawal(claim).await?;
            Ok(match outcome {
                WithdrawalOutcome::Completed {
                    external_transaction_id,
                } => completed(external_transaction_id),
                WithdrawalOutcome::PendingExternal {
                    external_transaction_id,
                } => pending_external(external_transaction_id),
            })
        };
        self.claims
            .pay_once(&message.transaction_id, is_withdrawal, hook)
            .await
    }

    /// Moves the `pending_external` outgoing payments that `poll_outgoing_transactions` reports
    /// done to `completed` (conditional writes: a transaction moved meanwhile is left alone):
    /// withdrawals and SEP-31 payouts (`Receive`) alike, the rail's one hook for every payment
    /// it sends ([`PAID_OUT_KINDS`]).
    pub async fn complete_external_withdrawals(&self) -> Result<CompletionReport, WorkerError>
    where
        S: Cursors,
    {
        let mut report = CompletionReport::default();
        for kind in PAID_OUT_KINDS {
            let pending = self
                .claims
                .scan(
                    "payout-completion",
                    kind,
                    TransactionStatus::PendingExternal,
                )
                .await?;
            for batch in pending.chunks(self.claims.batch) {
                report.checked += batch.len();
                let done = self.integration.poll_outgoing_transactions(batch).await?;
                for payout in done {
                    let Some(tx) = batch.iter().find(|t| t.id == payout.transaction_id) else {
                        tracing::warn!(transaction_id = %payout.transaction_id,
                            "withdrawal processor: poll_outgoing_transactions named a transaction it was not given");
                        continue;
                    };
                    if self
                        .complete_external(tx.clone(), payout.external_transaction_id)
                        .await?
                    {
                        report.completed += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    async fn complete_external(
        &self,
        mut tx: Transaction,
        external_transaction_id: Option<String>,
    ) -> Result<bool, WorkerError> {
        for _ in 0..WRITE_ATTEMPTS {
            if tx.status != TransactionStatus::PendingExternal {
                return Ok(false);
            }
            let now = self.claims.now();
            let mut done = tx.clone();
            done.status = TransactionStatus::Completed;
            done.completed_at = Some(now);
            done.updated_at = now;
            done.status_message = None;
            if external_transaction_id.is_some() {
                done.external_transaction_id = external_transaction_id.clone();
            }
            match self
                .claims
                .store
                .update(&mut done, TransactionStatus::PendingExternal)
                .await
            {
                Ok(()) => {
                    tracing::info!(transaction_id = %tx.id, "withdrawal processor: payout confirmed, completed");
                    return Ok(true);
                }
                Err(StoreError::Conflict) => tx = self.claims.reload(&tx.id).await?,
                Err(error) => return Err(error.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Scheduled safety net over `pending_anchor` withdrawals: a claim older than the stale
    /// limit goes to `pending_external` for the operator (its hook call never reported back);
    /// an unclaimed one not updated for that long is sent to `withdrawals` again (its message
    /// was lost; the processor is idempotent).
    pub async fn recover_stalled_withdrawals<Q: Queue>(
        &self,
        withdrawals: &Q,
    ) -> Result<RecoveryReport, WorkerError>
    where
        S: Cursors,
    {
        let mut report = RecoveryReport::default();
        let now = self.claims.now();
        for kind in Kind::WITHDRAWALS {
            let waiting = self
                .claims
                .scan(
                    "withdrawal-recovery",
                    kind,
                    TransactionStatus::PendingAnchor,
                )
                .await?;
            self.claims
                .recover(waiting, now, withdrawals, "paid withdrawal", &mut report)
                .await?;
        }
        Ok(report)
    }
}
