//! The operator's actions (issue 16, `mooring-admin`): retry, accept an `on_hold` transaction,
//! expire, refund; and what the console reads (listings, balances, dead-letter queues), in the
//! submodules.
//!
//! Every action is two steps, so that a person confirms what will happen before it happens:
//!
//! 1. a *plan* ([`plan_retry`], [`plan_accept`], [`plan_expire`], [`Operator::plan_refund`])
//!    decides from the transaction as read what the action does (the status it moves to, the
//!    worker queue it is sent to; for a refund, the amount, destination and memo planned by
//!    [`prepare_refund`]), or refuses with the reason;
//! 2. [`Operator::apply`] writes it: one conditional write on the status **and version** read,
//!    with a history entry by `operator:<name>` saying what was done and why, then the queue
//!    message. A transaction changed since it was read (a worker, another operator) is
//!    [`OperatorError::Changed`] and nothing is done: of two operators racing, one wins.
//!
//! Re-queueing is safe because every worker is idempotent under redelivery (the submitter's
//! stored envelope, the payout claim of the withdrawal and outgoing-payments workers). A
//! transaction in `error` is retried only when nothing can have been paid: it failed in the step
//! its worker repeats (the history says which), no Stellar envelope was ever signed for it (a
//! deposit) and no payout was handed to the rail (a withdrawal or SEP-31 payment).

pub mod balances;
pub mod dead_letters;
pub mod listing;

#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::clock::Clock;
use crate::lifecycle::refund::{
    commit_refund, prepare_refund, RefundError, RefundOrder, RefundPlan,
};
use crate::model::{Kind, SubmissionState, Transaction, TransactionStatus};
use crate::payments::refund::REFUNDING_MESSAGE;
use crate::queue::{Queue, QueueError, QueueMessage};
use crate::store::{IncomingPayments, StoreError, TransactionStore};
use crate::time::Timestamp;

pub use balances::{
    accounts_of, anchor_accounts, balances, record_lowest, AccountBalances, AnchorAccount,
    AnchorAccounts, AssetBalance, BalanceWatch,
};
pub use dead_letters::{redrive, DeadLetter, DeadLetterQueue, RedriveReport};
pub use listing::{list_transactions, ListFilter, Listing};

/// The `status_message` of a transaction the operator expired without giving one.
pub const DEFAULT_EXPIRED_MESSAGE: &str = "The anchor ended this transaction.";

/// Longest operator name and reason kept in a history entry.
const MAX_NAME: usize = 64;
const MAX_REASON: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("no transaction {0}")]
    NotFound(String),
    /// The action does not apply to the transaction as it stands; nothing was done.
    #[error("{0}")]
    Refused(String),
    /// The transaction changed since it was read; nothing was done.
    #[error(
        "transaction {0} changed since it was read (a worker or another operator moved it); \
         nothing was done: look at it again"
    )]
    Changed(String),
    /// The write happened but the queue message was not sent.
    #[error(
        "transaction {id} is now {status}, but it could not be sent to the {queue} queue ({cause}); \
         retry it again (the worker's own sweep also re-queues it)"
    )]
    NotQueued {
        id: String,
        status: TransactionStatus,
        queue: WorkerQueue,
        cause: QueueError,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
}

/// The person acting, recorded as `operator:<name>` in the transaction's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    /// A name of 1-64 letters, digits and `._-@+`.
    pub fn new(name: &str) -> Result<Self, OperatorError> {
        let name = name.trim();
        let allowed = |c: char| c.is_alphanumeric() || "._-@+".contains(c);
        if name.is_empty() || name.chars().count() > MAX_NAME || !name.chars().all(allowed) {
            return Err(OperatorError::Invalid(format!(
                "'{}' is not an operator name (1-{MAX_NAME} letters, digits and ._-@+)",
                name.chars().take(MAX_NAME).collect::<String>()
            )));
        }
        Ok(Self(name.to_owned()))
    }

    /// The history's `by`: `operator:<name>`.
    pub fn label(&self) -> String {
        format!("operator:{}", self.0)
    }
}

/// Why the operator acts, for the history: at most 500 characters, no control characters.
pub fn check_reason(reason: &str) -> Result<String, OperatorError> {
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > MAX_REASON
        || reason.chars().any(char::is_control)
    {
        return Err(OperatorError::Invalid(format!(
            "a reason is 1-{MAX_REASON} characters on one line"
        )));
    }
    Ok(reason.to_owned())
}

/// The worker queues an action may send a transaction to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerQueue {
    /// Deposits, for the Stellar submitter.
    Submissions,
    /// Withdrawals, for the withdrawal processor.
    Withdrawals,
    /// SEP-31 payments received, for the outgoing-payments worker.
    Outgoing,
}

impl WorkerQueue {
    /// The worker that owns a transaction of this kind.
    pub fn of(kind: Kind) -> Self {
        match kind {
            Kind::Deposit | Kind::DepositExchange => Self::Submissions,
            Kind::Withdrawal | Kind::WithdrawalExchange => Self::Withdrawals,
            Kind::Receive => Self::Outgoing,
        }
    }

    /// The status the worker takes its transactions in.
    pub fn working_status(self) -> TransactionStatus {
        match self {
            Self::Submissions | Self::Withdrawals => TransactionStatus::PendingAnchor,
            Self::Outgoing => TransactionStatus::PendingReceiver,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submissions => "submissions",
            Self::Withdrawals => "withdrawals",
            Self::Outgoing => "outgoing-payments",
        }
    }
}

impl std::fmt::Display for WorkerQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three worker queues.
pub struct Queues<'a, Q> {
    pub submissions: &'a Q,
    pub withdrawals: &'a Q,
    pub outgoing: &'a Q,
}

impl<Q> Queues<'_, Q> {
    fn get(&self, queue: WorkerQueue) -> &Q {
        match queue {
            WorkerQueue::Submissions => self.submissions,
            WorkerQueue::Withdrawals => self.withdrawals,
            WorkerQueue::Outgoing => self.outgoing,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Retry,
    Accept,
    Expire,
    Refund,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Accept => "accept",
            Self::Expire => "expire",
            Self::Refund => "refund",
        }
    }
}

/// What an action does to `status_message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageChange {
    Keep,
    Clear,
    Set(String),
}

/// What an action will do to the transaction as read; applied by [`Operator::apply`] only if
/// the transaction is still at `version` in `from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub action: Action,
    pub transaction_id: String,
    pub kind: Kind,
    pub version: u64,
    pub from: TransactionStatus,
    pub to: TransactionStatus,
    pub status_message: MessageChange,
    /// Where the transaction is sent after the write.
    pub queue: Option<WorkerQueue>,
    /// A refund: what goes back, where, with which memo, asked by whom and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund: Option<RefundPlan>,
}

impl Plan {
    fn new(action: Action, t: &Transaction, to: TransactionStatus) -> Self {
        Self {
            action,
            transaction_id: t.id.clone(),
            kind: t.kind,
            version: t.version,
            from: t.status,
            to,
            status_message: MessageChange::Clear,
            queue: None,
            refund: None,
        }
    }

    /// One line for the confirmation prompt: `retry deposit <id>: error -> pending_anchor,
    /// then queued to submissions`.
    pub fn describe(&self) -> String {
        let mut line = format!(
            "{} {} {}: {}",
            self.action.as_str(),
            self.kind.as_str(),
            self.transaction_id,
            self.summary()
        );
        if let MessageChange::Set(message) = &self.status_message {
            line.push_str(&format!(" (status_message \"{message}\")"));
        }
        if let Some(refund) = &self.refund {
            line.push_str(&format!("; {}", describe_refund(refund)));
        }
        line
    }

    /// What changes, for the history note: `error -> pending_anchor, queued to submissions`.
    pub fn summary(&self) -> String {
        let mut summary = if self.from == self.to {
            format!("stays {}", self.from)
        } else {
            format!("{} -> {}", self.from, self.to)
        };
        if let Some(queue) = self.queue {
            summary.push_str(&format!(", queued to {queue}"));
        }
        summary
    }
}

fn refused(action: Action, t: &Transaction, why: impl std::fmt::Display) -> OperatorError {
    OperatorError::Refused(format!(
        "cannot {} {} {} ({}): {why}",
        action.as_str(),
        t.kind.as_str(),
        t.id,
        t.status
    ))
}

/// `retry`: send the transaction to the worker that owns its status again.
///
/// | kind | status | does |
/// |---|---|---|
/// | deposit | `pending_anchor`, `pending_stellar` | queued to submissions (status kept) |
/// | withdrawal, SEP-31 | `pending_stellar` with a refund under way | queued to submissions (the submitter makes the refund) |
/// | deposit | `pending_trust` | `pending_anchor`, queued to submissions (the submitter checks the trustline again) |
/// | withdrawal | `pending_anchor` | queued to withdrawals (status kept) |
/// | SEP-31 | `pending_receiver` | queued to outgoing payments (status kept) |
/// | any | `error` | back to the worker's status and queued, only when nothing can have been paid (module documentation) |
pub fn plan_retry(t: &Transaction) -> Result<Plan, OperatorError> {
    use TransactionStatus as S;
    let worker = WorkerQueue::of(t.kind);
    if t.status == S::PendingStellar && t.pending_refund.is_some() && !t.kind.is_deposit() {
        // A withdrawal's or SEP-31 payment's refund is the Stellar submitter's.
        let mut plan = Plan::new(Action::Retry, t, t.status);
        plan.status_message = MessageChange::Keep;
        plan.queue = Some(WorkerQueue::Submissions);
        return Ok(plan);
    }
    let mut plan =
        match (worker, t.status) {
            (WorkerQueue::Submissions, S::PendingAnchor | S::PendingStellar)
            | (WorkerQueue::Withdrawals, S::PendingAnchor)
            | (WorkerQueue::Outgoing, S::PendingReceiver) => {
                let mut plan = Plan::new(Action::Retry, t, t.status);
                plan.status_message = MessageChange::Keep;
                plan
            }
            (WorkerQueue::Submissions, S::PendingTrust) => {
                if let Some(why) = signed_envelope(t) {
                    return Err(refused(Action::Retry, t, why));
                }
                Plan::new(Action::Retry, t, S::PendingAnchor)
            }
            (_, S::Error) => {
                why_not_retryable_error(t, worker).map_err(|why| refused(Action::Retry, t, why))?;
                Plan::new(Action::Retry, t, worker.working_status())
            }
            _ => return Err(refused(
                Action::Retry,
                t,
                "no worker takes it in this status. Retry re-queues deposits in pending_anchor, \
                 pending_stellar or pending_trust, withdrawals in pending_anchor, SEP-31 \
                 payments in pending_receiver, refunds in pending_stellar, and a transaction in error that failed in one of \
                 those steps before anything was paid",
            )),
        };
    plan.queue = Some(worker);
    Ok(plan)
}

/// Why a transaction in `error` cannot go back to its worker (`Err`), if it cannot.
fn why_not_retryable_error(t: &Transaction, worker: WorkerQueue) -> Result<(), String> {
    use TransactionStatus as S;
    let Some(failure) = t
        .history
        .iter()
        .rev()
        .find(|e| e.status == S::Error && e.from != S::Error)
    else {
        return Err(
            "its history does not say which step failed (it failed before the \
                    history was kept), so it is not known that nothing was paid"
                .into(),
        );
    };
    let repeatable = match worker {
        WorkerQueue::Submissions => matches!(failure.from, S::PendingAnchor | S::PendingStellar),
        _ => failure.from == worker.working_status(),
    };
    if !repeatable {
        return Err(format!(
            "it failed in {} ({}), not in the {worker} worker's step: a re-queue repeats nothing",
            failure.from,
            failure.note.as_deref().unwrap_or("no message")
        ));
    }
    if worker == WorkerQueue::Submissions {
        if let Some(why) = signed_envelope(t) {
            return Err(why);
        }
        if let Some(hash) = &t.stellar_transaction_id {
            return Err(format!("Stellar transaction {hash} paid it"));
        }
    }
    if let Some(started) = t.payout_started_at {
        return Err(format!(
            "its payout was handed to the rail at {started} and its outcome is unknown: it is \
             never paid out again (check with the rail, then refund or settle it)"
        ));
    }
    Ok(())
}

/// Why no new Stellar payment may be built for the deposit, if one was signed.
fn signed_envelope(t: &Transaction) -> Option<String> {
    if t.submission == SubmissionState::NotSubmitted && t.envelope_hash.is_none() {
        return None;
    }
    Some(format!(
        "a Stellar payment was signed for it (envelope {}, {:?}): it may be on the network, so \
         none is built again; look the hash up on the ledger",
        t.envelope_hash.as_deref().unwrap_or("unknown"),
        t.submission
    ))
}

/// `resolve --accept`: an `on_hold` transaction goes on as if nothing had held it, to the
/// status its worker continues from (`pending_anchor`, SEP-31 `pending_receiver`), and is
/// queued. Its amounts are kept as they stand.
pub fn plan_accept(t: &Transaction) -> Result<Plan, OperatorError> {
    if t.status != TransactionStatus::OnHold {
        return Err(refused(
            Action::Accept,
            t,
            "only on_hold transactions are accepted",
        ));
    }
    let worker = WorkerQueue::of(t.kind);
    match worker {
        WorkerQueue::Submissions => {
            if let Some(why) = signed_envelope(t) {
                return Err(refused(Action::Accept, t, why));
            }
            if let Some(hash) = &t.stellar_transaction_id {
                return Err(refused(
                    Action::Accept,
                    t,
                    format!("Stellar transaction {hash} paid it"),
                ));
            }
        }
        WorkerQueue::Withdrawals | WorkerQueue::Outgoing => {
            if t.stellar_transaction_id.is_none() {
                return Err(refused(
                    Action::Accept,
                    t,
                    "no Stellar payment was matched to it, so there is nothing to pay out",
                ));
            }
            if let Some(started) = t.payout_started_at {
                return Err(refused(
                    Action::Accept,
                    t,
                    format!("its payout was already handed to the rail at {started}"),
                ));
            }
        }
    }
    let mut plan = Plan::new(Action::Accept, t, worker.working_status());
    plan.queue = Some(worker);
    Ok(plan)
}

/// `expire`: a transaction nobody will finish ends `expired` with a `status_message`
/// (`message`, default [`DEFAULT_EXPIRED_MESSAGE`]). Refused for a final status, for a
/// transaction whose payment may be under way (a signed Stellar envelope, a payout handed to the
/// rail) and for one whose user's funds arrived (those are refunded, not kept).
pub fn plan_expire(t: &Transaction, message: Option<&str>) -> Result<Plan, OperatorError> {
    use TransactionStatus as S;
    if t.status.is_final() {
        return Err(refused(Action::Expire, t, "it has ended already"));
    }
    if t.kind.is_deposit() && t.submission == SubmissionState::Signed {
        let why = signed_envelope(t).unwrap_or_default();
        return Err(refused(Action::Expire, t, why));
    }
    if let Some(started) = t.payout_started_at {
        return Err(refused(
            Action::Expire,
            t,
            format!("its payout was handed to the rail at {started}"),
        ));
    }
    let received = if t.kind.is_deposit() {
        matches!(
            t.status,
            S::PendingAnchor | S::PendingStellar | S::PendingTrust | S::OnHold
        )
        .then(|| "its off-chain funds arrived".to_owned())
    } else {
        t.stellar_transaction_id
            .as_ref()
            .map(|hash| format!("Stellar transaction {hash} paid the anchor"))
    };
    if let Some(received) = received {
        return Err(refused(
            Action::Expire,
            t,
            format!("{received}: refund it instead (expiring would keep the funds)"),
        ));
    }
    let message = match message.map(str::trim) {
        Some(m) if m.is_empty() || m.chars().count() > MAX_REASON => {
            return Err(OperatorError::Invalid(format!(
                "a status message is 1-{MAX_REASON} characters"
            )))
        }
        Some(m) => m.to_owned(),
        None => DEFAULT_EXPIRED_MESSAGE.to_owned(),
    };
    let mut plan = Plan::new(Action::Expire, t, S::Expired);
    plan.status_message = MessageChange::Set(message);
    Ok(plan)
}

/// Which transactions a refund request takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundScope {
    /// `refund`: any transaction the refund support accepts.
    Any,
    /// `resolve --refund`: only an `on_hold` transaction.
    OnHold,
}

/// What [`Operator::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub action: Action,
    /// The transaction as written.
    pub transaction: Transaction,
    pub queued: Option<WorkerQueue>,
}

/// `100.0000000 of the 100.0000000 received back to G... on Stellar (memo text "abc")`, or
/// off chain for a deposit.
fn describe_refund(plan: &RefundPlan) -> String {
    let refund = &plan.refund;
    let mut line = format!("{} of the {} received", refund.amount, plan.received);
    match &refund.stellar {
        Some(to) => {
            line.push_str(&format!(
                " back to {} on Stellar (memo {}",
                to.destination, to.memo_type
            ));
            if let Some(memo) = &to.memo {
                line.push_str(&format!(" \"{memo}\""));
            }
            line.push(')');
        }
        None => line.push_str(" back off chain, through the deposit integration"),
    }
    line
}

/// A refused refund in the console's words (the refund module's reason), a lost race as
/// [`OperatorError::Changed`].
fn refund_error(t: &Transaction, error: RefundError) -> OperatorError {
    match error {
        RefundError::Conflict => OperatorError::Changed(t.id.clone()),
        RefundError::NotFound(id) => OperatorError::NotFound(id),
        RefundError::Store(error) => OperatorError::Store(error),
        refused_refund => refused(Action::Refund, t, refused_refund),
    }
}

/// The operator's actions over a store and the worker queues.
pub struct Operator<'a, S, Q> {
    store: &'a S,
    queues: Queues<'a, Q>,
    clock: &'a dyn Clock,
    actor: Actor,
}

impl<'a, S: TransactionStore, Q: Queue> Operator<'a, S, Q> {
    pub fn new(store: &'a S, queues: Queues<'a, Q>, clock: &'a dyn Clock, actor: Actor) -> Self {
        Self {
            store,
            queues,
            clock,
            actor,
        }
    }

    /// The transaction, read strongly consistently (its current version).
    pub async fn transaction(&self, id: &str) -> Result<Transaction, OperatorError> {
        transaction(self.store, id).await
    }

    /// Writes `plan` (made from `read`) with one conditional write on the status and version
    /// read, recorded in the history with `reason`, then sends the queue message.
    pub async fn apply(
        &self,
        read: &Transaction,
        plan: &Plan,
        reason: Option<&str>,
    ) -> Result<Applied, OperatorError> {
        if plan.transaction_id != read.id
            || plan.version != read.version
            || plan.from != read.status
        {
            return Err(OperatorError::Changed(read.id.clone()));
        }
        if let Some(refund) = &plan.refund {
            // The reason is in the plan (prepare_refund required it).
            return self.apply_refund(read, refund.clone()).await;
        }
        let reason = reason.map(check_reason).transpose()?;
        let mut updated = read.clone();
        updated.status = plan.to;
        match &plan.status_message {
            MessageChange::Keep => {}
            MessageChange::Clear => updated.status_message = None,
            MessageChange::Set(message) => updated.status_message = Some(message.clone()),
        }
        updated.updated_at = Timestamp::from_secs(self.clock.now());
        let what = format!("{}: {}", plan.action.as_str(), plan.summary());
        let note = match reason {
            Some(reason) => format!("{what}. Reason: {reason}"),
            None => what,
        };
        updated.record(plan.from, &self.actor.label(), Some(note));
        match self.store.update(&mut updated, plan.from).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(OperatorError::Changed(read.id.clone())),
            Err(error) => return Err(error.into()),
        }
        tracing::info!(transaction_id = %updated.id, action = plan.action.as_str(),
            by = %self.actor.label(), from = %plan.from, to = %plan.to, "operator action");
        if let Some(queue) = plan.queue {
            let message = QueueMessage::new(updated.id.clone(), updated.kind);
            if let Err(cause) = self.queues.get(queue).send(&message).await {
                return Err(OperatorError::NotQueued {
                    id: updated.id,
                    status: updated.status,
                    queue,
                    cause,
                });
            }
        }
        Ok(Applied {
            action: plan.action,
            transaction: updated,
            queued: plan.queue,
        })
    }
}

impl<S: TransactionStore, Q: Queue> Operator<'_, S, Q> {
    /// Requests the refund planned from `read` with [`commit_refund`] (one conditional write
    /// over the status and version read, recorded as the operator's with the reason) and
    /// queues it to the Stellar submitter.
    async fn apply_refund(
        &self,
        read: &Transaction,
        refund: RefundPlan,
    ) -> Result<Applied, OperatorError> {
        let requested = commit_refund(
            self.store,
            self.queues.submissions,
            self.clock,
            read,
            refund,
        )
        .await
        .map_err(|error| refund_error(read, error))?;
        let transaction = requested.transaction;
        if let Err(cause) = requested.queued {
            return Err(OperatorError::NotQueued {
                id: transaction.id,
                status: transaction.status,
                queue: WorkerQueue::Submissions,
                cause,
            });
        }
        Ok(Applied {
            action: Action::Refund,
            transaction,
            queued: Some(WorkerQueue::Submissions),
        })
    }
}

impl<S: TransactionStore + IncomingPayments, Q: Queue> Operator<'_, S, Q> {
    /// `refund` and `resolve --refund`: the refund of `read` (everything left to refund), as
    /// [`prepare_refund`] plans it, by this operator for `reason`; written by
    /// [`Operator::apply`]. Refused with the refund module's reason (no reason given, a refund
    /// under way, a status that cannot be refunded, a sender that cannot be paid...).
    pub async fn plan_refund(
        &self,
        read: &Transaction,
        scope: RefundScope,
        reason: Option<&str>,
    ) -> Result<Plan, OperatorError> {
        if scope == RefundScope::OnHold && read.status != TransactionStatus::OnHold {
            return Err(refused(
                Action::Refund,
                read,
                "resolve --refund is for on_hold transactions (use refund)",
            ));
        }
        let reason = reason.map(check_reason).transpose()?.unwrap_or_default();
        let by = self.actor.label();
        let order = RefundOrder {
            by: &by,
            reason: &reason,
            amount: None,
        };
        let planned = prepare_refund(self.store, self.clock, read, order)
            .await
            .map_err(|error| refund_error(read, error))?;
        let to = if planned.refund.stellar.is_some() {
            TransactionStatus::PendingStellar
        } else {
            TransactionStatus::PendingAnchor
        };
        let mut plan = Plan::new(Action::Refund, read, to);
        plan.status_message = MessageChange::Set(REFUNDING_MESSAGE.to_owned());
        plan.queue = Some(WorkerQueue::Submissions);
        plan.refund = Some(planned);
        Ok(plan)
    }
}

/// The transaction `id`, or [`OperatorError::NotFound`].
pub async fn transaction<S: TransactionStore>(
    store: &S,
    id: &str,
) -> Result<Transaction, OperatorError> {
    let id = id.trim();
    store
        .get(id)
        .await?
        .ok_or_else(|| OperatorError::NotFound(id.chars().take(80).collect()))
}
