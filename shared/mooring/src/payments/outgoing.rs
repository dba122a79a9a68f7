//! The outgoing-payments worker: pays out off-chain the SEP-31 payments received from sending
//! anchors (`pending_receiver`, queued on the outgoing queue by the payment watcher, by SEP-12
//! once the customers are complete, or by a `PATCH`), through the anchor's
//! [`ReceiveIntegration`]. Its claim lifecycle is the withdrawal processor's
//! ([`super::withdrawals`]): both run the one implementation in `payments::claim`.
//!
//! [`process_outgoing`](OutgoingProcessor::process_outgoing) handles one queue message:
//!
//! 1. Load the transaction; anything but a `pending_receiver` `Receive` transaction is
//!    acknowledged and left alone (a message seen again after the work was done).
//! 2. Claim it: one conditional write setting
//!    [`payout_started_at`](crate::model::Transaction::payout_started_at) (status still
//!    `pending_receiver`). Of two deliveries racing, one wins; the other re-reads.
//! 3. Call [`ReceiveIntegration::execute_outgoing_transaction`] exactly once, then write the
//!    outcome (conditional):
//!
//! | answer | transaction |
//! |---|---|
//! | `Completed` | `completed` with `completed_at` (and the external id) |
//! | `PendingExternal` | `pending_external` (and the external id), completed by the payout poller through `WithdrawalIntegration::poll_outgoing_transactions` |
//! | `CustomerInfoNeeded` | `pending_customer_info_update` with `required_info_message`, claim cleared (SEP-12 queues it again once the customer changes) |
//! | `TransactionInfoNeeded` | `pending_transaction_info_update` with `required_info_message` and `required_info_updates` (`{"transaction": {...}}`, as `/info`'s `fields`), claim cleared |
//! | `Err(Unavailable)` | claim released, the message retried (nothing was paid) |
//! | `Err(Invalid)` | the payout was refused for good (nothing paid): refunded to the sending anchor on Stellar (`pending_stellar`, then `refunded`; [`super::refund`]) |
//! | any other error | `error` with a generic message (the cause is logged) |
//!
//! A delivery that finds the payout claimed and not finished never calls the hook again: while
//! the claim is recent the message is retried later (an `Err`: the first delivery may still be
//! running); once it is older than
//! [`DEFAULT_STALE_CLAIM_SECS`](super::withdrawals::DEFAULT_STALE_CLAIM_SECS) the payout's
//! outcome is unknown and the transaction goes to `pending_external` with a `status_message`, where
//! `poll_outgoing_transactions` (and the operator) settle it. A hook that answers after its
//! claim was handed over still has its outcome written (the claim is still its own).
//!
//! On a schedule, [`recover_stalled_outgoing`](OutgoingProcessor::recover_stalled_outgoing)
//! hands stale claims to the operator and re-queues `pending_receiver` transactions nobody
//! claimed (a lost message, or one SEP-12 could not send).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::claim::{completed, pending_external, processed, Claims, Ending};
use super::withdrawals::{RecoveryReport, PAYOUT_FAILED_MESSAGE};
use super::WorkerError;
use crate::clock::Clock;
use crate::integrations::{InfoField, OutgoingOutcome, ReceiveIntegration};
use crate::model::{Kind, Transaction, TransactionStatus};
use crate::queue::{DynQueue, Queue, QueueMessage};
use crate::store::{Cursors, TransactionStore};

/// What `process_outgoing` did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutgoingProcessed {
    /// No such transaction, not a SEP-31 `Receive`, or not `pending_receiver` (e.g. already
    /// done): nothing to do.
    NothingToDo { status: Option<TransactionStatus> },
    /// The hook paid the receiver: `completed`.
    Completed,
    /// The hook started the payout: `pending_external`.
    PendingExternal,
    /// The receiver's SEP-12 data must be fixed: `pending_customer_info_update`.
    CustomerInfoNeeded,
    /// Transaction fields are needed (deprecated `PATCH`): `pending_transaction_info_update`.
    TransactionInfoNeeded,
    /// The hook failed: `error` with a `status_message`.
    Failed,
    /// An earlier claim never finished: `pending_external` for the operator, hook not called.
    HandedToOperator,
    /// The rail refused the payout for good (`Invalid`: nothing was paid): the payment is
    /// refunded to its sender (`pending_stellar`, queued for the Stellar submitter).
    Refunding,
}

/// The worker over a store `S` and the anchor's SEP-31 integration `I`. Built once per cold
/// start.
pub struct OutgoingProcessor<S, I> {
    claims: Claims<S>,
    integration: Arc<I>,
}

processed!(OutgoingProcessed);

fn is_receive(kind: Kind) -> bool {
    kind == Kind::Receive
}

/// SEP-31's `required_info_updates`: the fields in `/info`'s `fields` format,
/// `{"transaction": {<name>: {description, optional?}}}`.
fn required_info_updates(
    fields: &BTreeMap<String, InfoField>,
) -> Result<serde_json::Value, serde_json::Error> {
    Ok(serde_json::json!({ "transaction": serde_json::to_value(fields)? }))
}

impl<S, I> OutgoingProcessor<S, I>
where
    S: TransactionStore,
    I: ReceiveIntegration,
{
    pub fn new(store: Arc<S>, integration: Arc<I>, clock: Arc<dyn Clock>) -> Self {
        let claims = Claims::new(
            store,
            clock,
            TransactionStatus::PendingReceiver,
            "outgoing payments",
        );
        Self {
            claims,
            integration,
        }
    }

    /// After how many seconds an unfinished claim (or a `pending_receiver` transaction never
    /// claimed) counts as stalled.
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

    /// Transactions per store page (at least 1).
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.claims.batch = batch.max(1);
        self
    }

    /// Handles one message of the outgoing queue. `Err` means "retry the message later".
    pub async fn process_outgoing(
        &self,
        message: &QueueMessage,
    ) -> Result<OutgoingProcessed, WorkerError> {
        let id = message.transaction_id.as_str();
        let hook = async |claim: &Transaction| {
            let outcome = self.integration.execute_outgoing_transaction(claim).await?;
            Ok(match outcome {
                OutgoingOutcome::Completed {
                    external_transaction_id,
                } => completed(external_transaction_id),
                OutgoingOutcome::PendingExternal {
                    external_transaction_id,
                } => pending_external(external_transaction_id),
                OutgoingOutcome::CustomerInfoNeeded { message } => {
                    tracing::info!(transaction_id = id, %message,
                        "outgoing payments: the receiver's information must be updated");
                    (
                        OutgoingProcessed::CustomerInfoNeeded,
                        Ending::CustomerInfoNeeded(message),
                    )
                }
                OutgoingOutcome::TransactionInfoNeeded { message, fields } => {
                    match required_info_updates(&fields) {
                        Ok(updates) => (
                            OutgoingProcessed::TransactionInfoNeeded,
                            Ending::TransactionInfoNeeded(message, updates),
                        ),
                        Err(error) => {
                            tracing::error!(transaction_id = id, %error,
                                "outgoing payments: required_info_updates could not be written");
                            (
                                OutgoingProcessed::Failed,
                                Ending::Error(PAYOUT_FAILED_MESSAGE.to_owned()),
                            )
                        }
                    }
                }
            })
        };
        self.claims.pay_once(id, is_receive, hook).await
    }

    /// Scheduled safety net over `pending_receiver` transactions: a claim older than the stale
    /// limit goes to `pending_external` for the operator (its hook call never reported back);
    /// an unclaimed one not updated for that long is sent to `outgoing` again (its message was
    /// lost; the worker is idempotent).
    pub async fn recover_stalled_outgoing<Q: Queue>(
        &self,
        outgoing: &Q,
    ) -> Result<RecoveryReport, WorkerError>
    where
        S: Cursors,
    {
        let mut report = RecoveryReport::default();
        let now = self.claims.now();
        let waiting = self
            .claims
            .scan(
                "outgoing-recovery",
                Kind::Receive,
                TransactionStatus::PendingReceiver,
            )
            .await?;
        self.claims
            .recover(waiting, now, outgoing, "pending_receiver", &mut report)
            .await?;
        Ok(report)
    }
}
