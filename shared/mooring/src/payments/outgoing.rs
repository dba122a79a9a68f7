//! The outgoing-payments worker: pays out off-chain the SEP-31 payments received from sending
//! anchors (`pending_receiver`, queued on the outgoing queue by the payment watcher, by SEP-12
//! once the customers are complete, or by a `PATCH`), through the anchor's
//! [`ReceiveIntegration`]. The withdrawal processor ([`super::withdrawals`]) is its model.
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
//! | `Err(Invalid)` | `error` with its message |
//! | any other error | `error` with a generic message (the cause is logged) |
//!
//! A delivery that finds the payout claimed and not finished never calls the hook again: while
//! the claim is recent the message is retried later (an `Err`: the first delivery may still be
//! running); once it is older than [`DEFAULT_STALE_CLAIM_SECS`] the payout's outcome is unknown
//! and the transaction goes to `pending_external` with a `status_message`, where
//! `poll_outgoing_transactions` (and the operator) settle it. A hook that answers after its
//! claim was handed over still has its outcome written (the claim is still its own).
//!
//! On a schedule, [`recover_stalled_outgoing`](OutgoingProcessor::recover_stalled_outgoing)
//! hands stale claims to the operator and re-queues `pending_receiver` transactions nobody
//! claimed (a lost message, or one SEP-12 could not send).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::withdrawals::{
    in_progress, stale_claim_message, RecoveryReport, DEFAULT_BATCH, DEFAULT_MAX_SCAN,
    DEFAULT_STALE_CLAIM_SECS, PAYOUT_FAILED_MESSAGE,
};
use super::WorkerError;
use crate::clock::Clock;
use crate::integrations::{InfoField, IntegrationError, OutgoingOutcome, ReceiveIntegration};
use crate::model::{Kind, Transaction, TransactionStatus};
use crate::queue::{Queue, QueueMessage};
use crate::store::{StoreError, TransactionStore};
use crate::time::Timestamp;

const WRITE_ATTEMPTS: usize = 5;

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
}

/// The worker over a store `S` and the anchor's SEP-31 integration `I`. Built once per cold
/// start.
pub struct OutgoingProcessor<S, I> {
    store: Arc<S>,
    integration: Arc<I>,
    clock: Arc<dyn Clock>,
    stale_claim_secs: u64,
    batch: usize,
    max_scan: usize,
}

/// The hook's outcome, as written on the claimed transaction.
enum Ending {
    Completed(Option<String>),
    PendingExternal(Option<String>),
    CustomerInfoNeeded(String),
    TransactionInfoNeeded(String, serde_json::Value),
    Error(String),
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
        }
        t.updated_at = now;
    }
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
        Self {
            store,
            integration,
            clock,
            stale_claim_secs: DEFAULT_STALE_CLAIM_SECS,
            batch: DEFAULT_BATCH,
            max_scan: DEFAULT_MAX_SCAN,
        }
    }

    /// After how many seconds an unfinished claim (or a `pending_receiver` transaction never
    /// claimed) counts as stalled.
    pub fn with_stale_claim_after(mut self, secs: u64) -> Self {
        self.stale_claim_secs = secs;
        self
    }

    /// Transactions per store page (at least 1).
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Handles one message of the outgoing queue. `Err` means "retry the message later".
    pub async fn process_outgoing(
        &self,
        message: &QueueMessage,
    ) -> Result<OutgoingProcessed, WorkerError> {
        let id = message.transaction_id.as_str();
        let Some(mut tx) = self.store.get(id).await? else {
            tracing::warn!(
                transaction_id = id,
                "outgoing payments: no such transaction"
            );
            return Ok(OutgoingProcessed::NothingToDo { status: None });
        };
        let mut claimed = None;
        for _ in 0..WRITE_ATTEMPTS {
            if tx.kind != Kind::Receive || tx.status != TransactionStatus::PendingReceiver {
                return Ok(OutgoingProcessed::NothingToDo {
                    status: Some(tx.status),
                });
            }
            let now = self.now();
            if let Some(started) = tx.payout_started_at {
                if !self.is_stale(started, now) {
                    return Err(in_progress(id, started));
                }
                match self.hand_to_operator(&tx, started, now).await {
                    Ok(()) => return Ok(OutgoingProcessed::HandedToOperator),
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
            match self
                .store
                .update(&mut claim, TransactionStatus::PendingReceiver)
                .await
            {
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
        let result = self.integration.execute_outgoing_transaction(&claim).await;
        let now = self.now();
        let (processed, ending) = match result {
            Ok(OutgoingOutcome::Completed {
                external_transaction_id,
            }) => (
                OutgoingProcessed::Completed,
                Ending::Completed(external_transaction_id),
            ),
            Ok(OutgoingOutcome::PendingExternal {
                external_transaction_id,
            }) => (
                OutgoingProcessed::PendingExternal,
                Ending::PendingExternal(external_transaction_id),
            ),
            Ok(OutgoingOutcome::CustomerInfoNeeded { message }) => {
                tracing::info!(transaction_id = id, %message,
                    "outgoing payments: the receiver's information must be updated");
                (
                    OutgoingProcessed::CustomerInfoNeeded,
                    Ending::CustomerInfoNeeded(message),
                )
            }
            Ok(OutgoingOutcome::TransactionInfoNeeded { message, fields }) => {
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
            Err(IntegrationError::Unavailable(cause)) => {
                tracing::warn!(transaction_id = id, %cause,
                    "outgoing payments: the rail is unavailable; claim released, retry later");
                self.release(claim).await?;
                return Err(IntegrationError::Unavailable(cause).into());
            }
            Err(IntegrationError::Invalid(message)) => {
                tracing::warn!(transaction_id = id, %message, "outgoing payments: payout refused");
                (OutgoingProcessed::Failed, Ending::Error(message))
            }
            Err(other) => {
                tracing::error!(transaction_id = id, error = %other, "outgoing payments: payout failed");
                (
                    OutgoingProcessed::Failed,
                    Ending::Error(PAYOUT_FAILED_MESSAGE.to_owned()),
                )
            }
        };
        self.finish(claim, now, &ending).await?;
        tracing::info!(transaction_id = id, outcome = ?processed, "outgoing payments: done");
        Ok(processed)
    }

    /// A claim that never reported back: `pending_external` with a `status_message` (the
    /// payout's outcome is unknown), conditional on `pending_receiver`.
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
        self.store
            .update(&mut held, TransactionStatus::PendingReceiver)
            .await?;
        tracing::error!(transaction_id = %tx.id, %started,
            "outgoing payments: payout claimed but never finished; handed to the operator");
        Ok(())
    }

    /// Writes the hook's outcome on our claim (conditional; re-applied on a fresh read while
    /// the claim is still ours).
    async fn finish(
        &self,
        claim: Transaction,
        now: Timestamp,
        ending: &Ending,
    ) -> Result<(), WorkerError> {
        let started = claim.payout_started_at;
        let mut current = claim;
        for _ in 0..WRITE_ATTEMPTS {
            // Still ours: `pending_receiver` with our claim, or handed to the operator as stale
            // while the hook was slow (`pending_external` with our claim).
            let ours = current.payout_started_at == started
                && matches!(
                    current.status,
                    TransactionStatus::PendingReceiver | TransactionStatus::PendingExternal
                );
            if !ours {
                tracing::error!(transaction_id = %current.id, status = %current.status,
                    "outgoing payments: the transaction was moved during its payout; outcome not written");
                return Ok(());
            }
            let expected = current.status;
            let mut done = current.clone();
            ending.apply(&mut done, now);
            match self.store.update(&mut done, expected).await {
                Ok(()) => return Ok(()),
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
            match self
                .store
                .update(&mut free, TransactionStatus::PendingReceiver)
                .await
            {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => {
                    current = self.reload(&current.id).await?;
                    if current.status != TransactionStatus::PendingReceiver
                        || current.payout_started_at != started
                    {
                        return Ok(());
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Scheduled safety net over `pending_receiver` transactions: a claim older than the stale
    /// limit goes to `pending_external` for the operator (its hook call never reported back);
    /// an unclaimed one not updated for that long is sent to `outgoing` again (its message was
    /// lost; the worker is idempotent).
    pub async fn recover_stalled_outgoing<Q: Queue>(
        &self,
        outgoing: &Q,
    ) -> Result<RecoveryReport, WorkerError> {
        let mut report = RecoveryReport::default();
        let now = self.now();
        let waiting = super::list_all(
            &*self.store,
            Kind::Receive,
            TransactionStatus::PendingReceiver,
            self.batch,
            self.max_scan.div_ceil(self.batch),
        )
        .await?;
        for tx in waiting.into_iter().take(self.max_scan) {
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
                    outgoing
                        .send(&QueueMessage::new(tx.id.clone(), tx.kind))
                        .await?;
                    tracing::warn!(transaction_id = %tx.id,
                        "outgoing payments: pending_receiver never processed; queued again");
                    report.requeued += 1;
                }
                None => {}
            }
        }
        Ok(report)
    }

    async fn reload(&self, id: &str) -> Result<Transaction, WorkerError> {
        self.store
            .get(id)
            .await?
            .ok_or(WorkerError::Store(StoreError::Conflict))
    }

    fn is_stale(&self, since: Timestamp, now: Timestamp) -> bool {
        now.millis().saturating_sub(since.millis())
            >= i64::try_from(self.stale_claim_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.clock.now())
    }
}
