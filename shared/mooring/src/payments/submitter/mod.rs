//! The Stellar submitter: pays one `pending_anchor` deposit per queue message, or makes one
//! refund (`Transaction::pending_refund`, see [`super::refund`]): a withdrawal's or SEP-31
//! payment's back to the sender on the Stellar network, with the same machinery as a deposit's
//! payment, or a deposit's off chain through `DepositIntegration::refund_deposit`, once per
//! claim.
//!
//! A payment is never submitted twice. Before anything is sent, the signed envelope and its hash
//! are stored on the transaction (`submission = Signed`) with a conditional write that also
//! moves it to `pending_stellar`; whoever wins that write owns the submission. While the
//! envelope awaits confirmation the transaction stays `pending_stellar`: a submission that
//! failed in a way that may be retried (refused for now, not confirmed in time, Horizon out of
//! reach, an envelope that can never land and is rebuilt) keeps it there with a
//! `status_message` describing the problem; a definitive failure is `error`; success is
//! `completed` (or `pending_trust`) and clears the `status_message`. A later delivery that finds
//! an envelope stored first asks Horizon what became of it:
//!
//! - it landed (successful) → the deposit completes with its hash (a refund is recorded in
//!   `refunds`);
//! - it landed and failed → the failure is handled (a rebuilt transaction says why);
//! - it did not land, and can no longer land (the channel account's sequence number moved past
//!   it, or its time bounds ended, checked *before* the hash is looked up, so the look-up is at
//!   least as recent) → the envelope is cleared and a new one built;
//! - otherwise the *same* envelope is resubmitted (Horizon answers a landed envelope with its
//!   result, and a sequence number can be used once, so this cannot pay twice).
//!
//! Channel accounts (the transaction's source: sequence number and fee) are leased through
//! [`ChannelLeases`], so concurrent submitters never share a sequence number; the distribution
//! account is every operation's source.

mod deposit;
mod envelope;
mod refund;

use std::sync::Arc;
use std::time::Duration;

use self::deposit::is_submitters;
use self::envelope::{Envelope, Fate};
use super::{PaymentsConfig, Signers, WorkerError};
use crate::clock::Clock;
use crate::horizon::{Horizon, Submission, TransactionRecord};
use crate::integrations::DepositIntegration;
use crate::lifecycle::expiry::ExpiryConfig;
use crate::metrics::Metric;
use crate::model::{SubmissionState, Transaction, TransactionStatus, SYSTEM_ACTOR};
use crate::queue::QueueMessage;
use crate::stellar::payment::MIN_BASE_FEE;
use crate::stellar::{build_signed_by, Memo, Network, Outgoing, PaymentError, PaymentSpec, Signer};
use crate::store::{ChannelLease, ChannelLeases, StoreError, TransactionStore};
use crate::time::Timestamp;

/// Reads, decisions and writes per message before giving up (each round follows a lost race
/// or a cleared envelope).
const MAX_ROUNDS: usize = 6;

/// What a message came to (the message is acknowledged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// The deposit is paid: `completed` with this Stellar transaction.
    Completed { stellar_transaction_id: String },
    /// The account does not trust the asset (it may have just been created): `pending_trust`
    /// until [`TrustlineRecheck`](super::TrustlineRecheck) sees the trustline.
    PendingTrust,
    /// The payment (or refund) failed for good: status `error` with this `status_message`.
    Failed { status_message: String },
    /// The refund was made: recorded in `refunds` with this id (a Stellar transaction's hash,
    /// or the rail's reference of an off-chain refund).
    Refunded { payment_id: String },
    /// Nothing to do: no such transaction, or no work for the submitter in it (a deposit
    /// neither `pending_anchor` nor `pending_stellar`, no refund under way: already done by an
    /// earlier delivery, say).
    Ignored { status: Option<TransactionStatus> },
}

/// What the submitter does for a transaction as it stands; `None`: nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    /// Pay the deposit (`pending_anchor`, or `pending_stellar` with its envelope).
    Deposit,
    /// Send the refund on Stellar (`pending_stellar`, a refund with a Stellar destination).
    StellarRefund,
    /// Refund a deposit off chain (`pending_anchor`, a refund without one).
    ExternalRefund,
}

impl Job {
    fn of(t: &Transaction) -> Option<Job> {
        match &t.pending_refund {
            Some(refund) if refund.stellar.is_some() => {
                (t.status == TransactionStatus::PendingStellar).then_some(Job::StellarRefund)
            }
            Some(_) => (t.kind.is_deposit() && t.status == TransactionStatus::PendingAnchor)
                .then_some(Job::ExternalRefund),
            None => (t.kind.is_deposit() && is_submitters(t.status)).then_some(Job::Deposit),
        }
    }
}

/// The deposit submitter, built once per Lambda instance.
pub struct Submitter<S, H, I> {
    store: Arc<S>,
    horizon: Arc<H>,
    integration: Arc<I>,
    network: Network,
    config: PaymentsConfig,
    signers: Signers,
    clock: Arc<dyn Clock>,
    lookup_tries: u32,
    lookup_delay: Duration,
    expiry_margin: Duration,
    /// The deadline of `pending_trust` (the user must add the trustline by then).
    expiry: ExpiryConfig,
}

/// One round's result: finished, or read the transaction again and decide anew.
enum Step {
    Done(SubmitOutcome),
    Again,
}

/// What the job's Stellar transaction does (with this memo), decided from the destination
/// account; or why it cannot be sent.
enum Plan {
    Submit(Memo, Vec<Outgoing>),
    PendingTrust(String),
    Fail(String),
}

impl<S, H, I> Submitter<S, H, I>
where
    S: TransactionStore + ChannelLeases,
    H: Horizon,
    I: DepositIntegration,
{
    pub fn new(
        store: Arc<S>,
        horizon: Arc<H>,
        integration: Arc<I>,
        network: Network,
        config: PaymentsConfig,
        signers: Signers,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            horizon,
            integration,
            network,
            config,
            signers,
            clock,
            lookup_tries: 3,
            lookup_delay: Duration::from_secs(2),
            expiry_margin: Duration::from_secs(60),
            expiry: ExpiryConfig::default(),
        }
    }

    /// How long a deposit may wait in `pending_trust` (the anchor's [`ExpiryConfig`]; default:
    /// the defaults): its `user_action_required_by`.
    pub fn with_expiry(mut self, expiry: ExpiryConfig) -> Self {
        self.expiry = expiry;
        self
    }

    /// After a submission answered "unknown" (504, timeout), how often and how far apart the
    /// hash is looked up before the message is retried (default 3 tries, 2 s apart).
    pub fn with_lookups(mut self, tries: u32, delay: Duration) -> Self {
        self.lookup_tries = tries;
        self.lookup_delay = delay;
        self
    }

    /// Handles one message of the submissions queue: a deposit to pay or a refund to make.
    /// `Ok`: acknowledge it; `Err`: retry it later (redelivery is safe).
    pub async fn submit(&self, message: &QueueMessage) -> Result<SubmitOutcome, WorkerError> {
        for _ in 0..MAX_ROUNDS {
            let Some(transaction) = self.store.get(&message.transaction_id).await? else {
                tracing::warn!(transaction_id = %message.transaction_id, "no such transaction");
                return Ok(SubmitOutcome::Ignored { status: None });
            };
            let Some(job) = Job::of(&transaction) else {
                return Ok(SubmitOutcome::Ignored {
                    status: Some(transaction.status),
                });
            };
            // A signed envelope, whatever the status (`pending_anchor` for one stored before
            // envelopes moved deposits to `pending_stellar`), is resumed, never rebuilt.
            let step = match job {
                Job::ExternalRefund => self.refund_off_chain(transaction).await?,
                _ if transaction.submission == SubmissionState::Signed => {
                    self.resume(job, transaction).await?
                }
                _ => self.start(job, transaction).await?,
            };
            if let Step::Done(outcome) = step {
                return Ok(outcome);
            }
        }
        Err(WorkerError::Pending(
            "the transaction kept changing; retrying later".into(),
        ))
    }

    fn now(&self) -> u64 {
        self.clock.now()
    }

    /// An envelope is stored: find out what became of it before anything else.
    async fn resume(&self, job: Job, transaction: Transaction) -> Result<Step, WorkerError> {
        let Some(envelope) = Envelope::read(&transaction) else {
            // Not ours to read: nothing can be resubmitted. Leave it to the operator.
            tracing::error!(transaction_id = %transaction.id, "a stored envelope could not be read");
            return self
                .fail(
                    job,
                    transaction,
                    "the stored Stellar transaction could not be read".into(),
                )
                .await;
        };
        match self.fate(&envelope).await? {
            Fate::Landed(record) => self.settle(job, transaction, &envelope, &record).await,
            Fate::Never => self.clear(transaction).await,
            Fate::Undecided => {
                tracing::info!(transaction_id = %transaction.id, hash = %envelope.hash,
                    "resubmitting the stored envelope");
                self.send(job, transaction, &envelope).await
            }
        }
    }

    /// Sends the stored envelope to Horizon and acts on the answer. Horizon out of reach (the
    /// envelope was not sent) is a problem to retry, noted on the transaction.
    async fn send(
        &self,
        job: Job,
        transaction: Transaction,
        envelope: &Envelope,
    ) -> Result<Step, WorkerError> {
        let answer = self.horizon.submit(&envelope.xdr).await;
        let outcome = match &answer {
            Ok(Submission::Applied { .. }) => "applied",
            Ok(Submission::Unknown) => "unknown",
            Ok(Submission::Rejected { .. }) => "rejected",
            Err(_) => "unreachable",
        };
        crate::metrics::count(Metric::StellarSubmissions, &[("Outcome", outcome)]);
        match answer {
            Ok(submission) => {
                self.on_submission(job, transaction, envelope, submission)
                    .await
            }
            Err(error) => {
                tracing::warn!(transaction_id = %transaction.id, %error,
                    "Horizon unavailable; the submission will be retried");
                self.retry_later(
                    transaction,
                    "The Stellar network could not be reached; the payment will be sent again."
                        .into(),
                    WorkerError::Horizon(error),
                )
                .await
            }
        }
    }

    /// No envelope yet: lease a channel, build, store, submit.
    async fn start(&self, job: Job, transaction: Transaction) -> Result<Step, WorkerError> {
        let now = self.now();
        let holder = format!("{}#{}", transaction.id, uuid::Uuid::new_v4());
        let until = now.saturating_add(self.config.lease.as_secs());
        let Some(lease) = self
            .store
            .lease(
                self.config.channel_count,
                &holder,
                Timestamp::from_secs(now),
                Timestamp::from_secs(until),
            )
            .await?
        else {
            return Err(WorkerError::ChannelsBusy);
        };
        let result = self.start_leased(job, transaction, &lease).await;
        if let Err(error) = self.store.release(&lease).await {
            // It expires by itself.
            tracing::warn!(channel = lease.index, %error, "could not release a channel lease");
        }
        result
    }

    async fn start_leased(
        &self,
        job: Job,
        mut transaction: Transaction,
        lease: &ChannelLease,
    ) -> Result<Step, WorkerError> {
        let channel = self.signers.channel(lease.index).ok_or_else(|| {
            WorkerError::Config(format!("no key for channel account {}", lease.index))
        })?;
        let plan = match job {
            Job::Deposit => self.deposit_plan(&transaction).await?,
            _ => self.refund_plan(&transaction).await?,
        };
        let (memo, operations) = match plan {
            Plan::Submit(memo, operations) => (memo, operations),
            Plan::PendingTrust(message) => return self.pending_trust(transaction, message).await,
            Plan::Fail(message) => return self.fail(job, transaction, message).await,
        };
        let channel_account = self
            .horizon
            .account(&channel.account_id())
            .await?
            .ok_or_else(|| {
                WorkerError::Config(format!(
                    "channel account {} ({}) does not exist: fund it",
                    lease.index,
                    channel.account_id()
                ))
            })?;
        let now = self.now();
        let spec = PaymentSpec {
            source: channel.account_id(),
            sequence: channel_account.sequence.saturating_add(1),
            fee_per_op: self.fee().await,
            // No lower bound: the ledger's close time lags the clock.
            time_bounds: (0, now.saturating_add(self.config.tx_timeout.as_secs())),
            memo,
            operation_source: self.signers.distribution.account_id(),
            operations,
        };
        let signers: Vec<&dyn Signer> = if channel.account_id() == spec.operation_source {
            vec![channel]
        } else {
            vec![channel, self.signers.distribution.as_ref()]
        };
        let signed = match build_signed_by(&spec, &self.network, &signers).await {
            Ok(signed) => signed,
            // The key service is out of reach: nothing was stored, the message comes back.
            Err(PaymentError::Signer(error)) => return Err(WorkerError::Signer(error)),
            Err(error) => {
                return self
                    .fail(
                        job,
                        transaction,
                        format!("the Stellar transaction could not be built: {error}"),
                    )
                    .await
            }
        };
        let expected = transaction.status;
        transaction.envelope_xdr = Some(signed.envelope_xdr.clone());
        transaction.envelope_hash = Some(signed.hash_hex.clone());
        transaction.submission = SubmissionState::Signed;
        transaction.status = TransactionStatus::PendingStellar;
        transaction.updated_at = Timestamp::from_secs(now);
        // Stored BEFORE it is submitted: whoever loses this write submits nothing.
        match self.store.update(&mut transaction, expected).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(Step::Again),
            Err(error) => return Err(error.into()),
        }
        let Some(envelope) = Envelope::read(&transaction) else {
            return Err(WorkerError::Config(
                "a built envelope could not be read back".into(),
            ));
        };
        tracing::info!(transaction_id = %transaction.id, hash = %envelope.hash,
            channel = lease.index, ?job, "submitting");
        self.send(job, transaction, &envelope).await
    }

    /// The fee bid per operation: configured, else Horizon's fee stats, else the minimum.
    async fn fee(&self) -> u32 {
        if let Some(fee) = self.config.base_fee {
            return fee;
        }
        match self.horizon.base_fee().await {
            Ok(fee) => fee.max(MIN_BASE_FEE),
            Err(error) => {
                tracing::warn!(%error, "fee stats unavailable; bidding the minimum fee");
                MIN_BASE_FEE
            }
        }
    }

    /// Whether a stored envelope landed, can never land, or may still land. The channel's
    /// sequence number and the clock are read before the hash is looked up.
    async fn fate(&self, envelope: &Envelope) -> Result<Fate, WorkerError> {
        let consumed = self
            .horizon
            .account(&envelope.source)
            .await?
            .is_some_and(|a| a.sequence >= envelope.sequence);
        let expired = envelope.max_time != 0
            && self.now()
                > envelope
                    .max_time
                    .saturating_add(self.expiry_margin.as_secs());
        if let Some(record) = self.horizon.transaction(&envelope.hash).await? {
            return Ok(Fate::Landed(record));
        }
        Ok(if consumed || expired {
            Fate::Never
        } else {
            Fate::Undecided
        })
    }

    async fn on_submission(
        &self,
        job: Job,
        transaction: Transaction,
        envelope: &Envelope,
        submission: Submission,
    ) -> Result<Step, WorkerError> {
        match submission {
            Submission::Applied { hash, ledger } => {
                let record = TransactionRecord {
                    hash,
                    successful: true,
                    ledger,
                    created_at: Timestamp::from_secs(self.now()),
                };
                self.settle(job, transaction, envelope, &record).await
            }
            Submission::Unknown => {
                for _ in 0..self.lookup_tries {
                    if !self.lookup_delay.is_zero() {
                        tokio::time::sleep(self.lookup_delay).await;
                    }
                    if let Some(record) = self.horizon.transaction(&envelope.hash).await? {
                        return self.settle(job, transaction, envelope, &record).await;
                    }
                }
                tracing::warn!(transaction_id = %transaction.id, hash = %envelope.hash,
                    "submission outcome unknown; the same envelope will be resubmitted");
                let problem = WorkerError::Pending(format!(
                    "the outcome of {} is not known yet",
                    envelope.hash
                ));
                self.retry_later(
                    transaction,
                    format!(
                        "The Stellar network has not confirmed transaction {} yet; it is being \
                         checked and sent again if needed.",
                        envelope.hash
                    ),
                    problem,
                )
                .await
            }
            Submission::Rejected {
                transaction: code,
                operations,
            } => {
                if code == "tx_failed" {
                    // In the ledger, failed: final for this envelope.
                    return self.failed_in_ledger(job, transaction, &operations).await;
                }
                // Not applied now, but an earlier submission of the same envelope may have
                // landed (a resubmission of a landed envelope can answer tx_bad_seq).
                match self.fate(envelope).await? {
                    Fate::Landed(record) => self.settle(job, transaction, envelope, &record).await,
                    Fate::Never if matches!(code.as_str(), "tx_bad_seq" | "tx_too_late") => {
                        tracing::info!(transaction_id = %transaction.id, %code,
                            "the envelope can never land; rebuilding");
                        self.clear(transaction).await
                    }
                    _ if matches!(
                        code.as_str(),
                        "tx_bad_seq"
                            | "tx_too_late"
                            | "tx_too_early"
                            | "tx_insufficient_fee"
                            | "tx_insufficient_balance"
                    ) =>
                    {
                        // Transient: keep the envelope, try again later.
                        tracing::warn!(transaction_id = %transaction.id, %code, "submission refused; retrying later");
                        let problem = WorkerError::Pending(format!("Stellar refused it: {code}"));
                        self.retry_later(
                            transaction,
                            format!(
                                "The Stellar network refused the payment for now ({code}); it \
                                 will be sent again."
                            ),
                            problem,
                        )
                        .await
                    }
                    _ => {
                        tracing::error!(transaction_id = %transaction.id, %code, "submission refused");
                        self.fail(
                            job,
                            transaction,
                            format!("the Stellar network refused the payment ({code})"),
                        )
                        .await
                    }
                }
            }
        }
    }

    /// The envelope is in the ledger.
    async fn settle(
        &self,
        job: Job,
        transaction: Transaction,
        envelope: &Envelope,
        record: &TransactionRecord,
    ) -> Result<Step, WorkerError> {
        if !record.successful {
            // Failed, reason unknown here: it can never apply, so a new transaction is built
            // and its submission says why.
            return self.clear(transaction).await;
        }
        if job != Job::Deposit {
            return self.refund_sent(transaction, &record.hash).await;
        }
        if envelope.pays {
            self.complete(
                transaction,
                &record.hash,
                envelope.claimable_balance_id.clone(),
            )
            .await
        } else {
            // Only the account was created.
            let message = deposit::no_trust_message(&transaction.asset);
            self.pending_trust(transaction, message).await
        }
    }

    async fn failed_in_ledger(
        &self,
        job: Job,
        transaction: Transaction,
        operations: &[String],
    ) -> Result<Step, WorkerError> {
        if job == Job::Deposit && operations.iter().any(|c| c == "op_no_trust") {
            let message = deposit::no_trust_message(&transaction.asset);
            return self.pending_trust(transaction, message).await;
        }
        let codes = operations
            .iter()
            .filter(|c| *c != "op_success")
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        self.fail(
            job,
            transaction,
            format!("the Stellar payment failed (tx_failed: {codes})"),
        )
        .await
    }

    /// The payment failed for good: `error` with `message` (a refund's ending says it was
    /// the refund, and clears `pending_refund`: the operator may request it again).
    async fn fail(
        &self,
        job: Job,
        mut transaction: Transaction,
        message: String,
    ) -> Result<Step, WorkerError> {
        tracing::error!(transaction_id = %transaction.id, %message, ?job, "payment failed");
        let expected = transaction.status;
        let now = Timestamp::from_secs(self.now());
        let message = if job == Job::Deposit {
            transaction.status = TransactionStatus::Error;
            transaction.status_message = Some(message.clone());
            transaction.updated_at = now;
            message
        } else {
            let message = format!("The refund could not be sent: {message}");
            crate::payments::refund::abandon(&mut transaction, message.clone(), now);
            message
        };
        if transaction.submission == SubmissionState::Signed {
            // The hash stays for the operator.
            transaction.submission = SubmissionState::Failed;
        }
        self.write(
            transaction,
            expected,
            SubmitOutcome::Failed {
                status_message: message,
            },
        )
        .await
    }

    /// Forgets an envelope that can never land, so that the next round builds a new one: the
    /// transaction stays `pending_stellar`, its `status_message` saying why it is sent again.
    async fn clear(&self, mut transaction: Transaction) -> Result<Step, WorkerError> {
        let expected = transaction.status;
        let lost = transaction.envelope_hash.take().unwrap_or_default();
        transaction.status = TransactionStatus::PendingStellar;
        transaction.status_message = Some(format!(
            "Stellar transaction {lost} did not go through and never can; a new one is being \
             sent."
        ));
        transaction.submission = SubmissionState::NotSubmitted;
        transaction.envelope_xdr = None;
        transaction.updated_at = Timestamp::from_secs(self.now());
        // Kept in the history even though the status may not change: the operator sees why.
        let note = transaction.status_message.clone();
        transaction.record(expected, SYSTEM_ACTOR, note);
        match self.store.update(&mut transaction, expected).await {
            Ok(()) | Err(StoreError::Conflict) => Ok(Step::Again),
            Err(error) => Err(error.into()),
        }
    }

    /// A problem the next delivery may overcome (the envelope is kept): the transaction stays
    /// `pending_stellar` with `message` as its `status_message` (a conditional write, skipped
    /// when it says so already), and the message is retried (`problem`).
    async fn retry_later(
        &self,
        mut transaction: Transaction,
        message: String,
        problem: WorkerError,
    ) -> Result<Step, WorkerError> {
        crate::metrics::count(Metric::SubmissionRetries, &[]);
        let expected = transaction.status;
        if expected != TransactionStatus::PendingStellar
            || transaction.status_message.as_deref() != Some(message.as_str())
        {
            transaction.status = TransactionStatus::PendingStellar;
            transaction.status_message = Some(message.clone());
            transaction.updated_at = Timestamp::from_secs(self.now());
            transaction.record(expected, SYSTEM_ACTOR, Some(message));
            match self.store.update(&mut transaction, expected).await {
                // Lost to another writer: the next delivery reads what it did.
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Err(problem)
    }

    /// Writes an ending over the version read in status `expected`.
    async fn write(
        &self,
        mut transaction: Transaction,
        expected: TransactionStatus,
        outcome: SubmitOutcome,
    ) -> Result<Step, WorkerError> {
        match self.store.update(&mut transaction, expected).await {
            Ok(()) => Ok(Step::Done(outcome)),
            Err(StoreError::Conflict) => Ok(Step::Again),
            Err(error) => Err(error.into()),
        }
    }
}
