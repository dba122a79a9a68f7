//! The operator's refund (`mooring-admin refund`, an `on_hold` payment rejected): what can be
//! refunded and how the refund is made are [`crate::payments::refund`]'s; this is the request.
//!
//! In two steps, so that a console can show what it is about to do and ask first:
//! [`prepare_refund`] checks that the transaction as read may be refunded and plans the refund
//! (what the sender paid, from the recorded incoming payment of a withdrawal or SEP-31 payment;
//! how much goes back, where, with which memo); [`commit_refund`] marks it with one conditional
//! write over the version read, recording who asked and why in the transaction's history, then
//! queues it for the Stellar submitter. [`request_refund`] does both, reading again after a lost
//! race. Two operators at once: one write wins, the other reads again and gets
//! [`RefundError::AlreadyRefunding`] (or, committing a stale plan, [`RefundError::Conflict`]).
//! The submitter makes the refund once however often the message is delivered; a message that
//! could not be sent is sent again by the deposit poller's re-queue of stuck transactions.

use crate::clock::Clock;
use crate::model::Transaction;
use crate::payments::refund::{self, REFUNDING_MESSAGE};
use crate::queue::{Queue, QueueError, QueueMessage};
use crate::store::{IncomingPayments, TransactionStore};
use crate::time::Timestamp;

pub use crate::payments::refund::{RefundError, RefundOrder, RefundPlan};

/// Reads and conditional writes [`request_refund`] tries before giving up on a transaction that
/// keeps changing.
const ATTEMPTS: usize = 5;

/// A refund requested: the transaction as written, and whether its message reached the
/// submissions queue (if not, the deposit poller sends it again after a while).
#[derive(Debug)]
pub struct RequestedRefund {
    pub transaction: Transaction,
    pub queued: Result<(), QueueError>,
}

/// The refund of `read` (a transaction as just read) as `order` asks, or why there can be none.
/// Writes nothing.
pub async fn prepare_refund<S>(
    store: &S,
    clock: &dyn Clock,
    read: &Transaction,
    order: RefundOrder<'_>,
) -> Result<RefundPlan, RefundError>
where
    S: IncomingPayments,
{
    if order.reason.trim().is_empty() {
        return Err(RefundError::NoReason);
    }
    refund::refundable(read)?;
    let payments = if read.kind.is_deposit() {
        Vec::new()
    } else {
        store.payments_for_transaction(&read.id).await?
    };
    let payment = refund::paying_payment(read, &payments);
    refund::plan(read, payment, order, Timestamp::from_secs(clock.now()))
}

/// Requests the refund `plan` (prepared from `read`): one conditional write over the status and
/// version read ([`RefundError::Conflict`] when the transaction changed since), then the
/// message to the Stellar submitter.
pub async fn commit_refund<S, Q>(
    store: &S,
    submissions: &Q,
    clock: &dyn Clock,
    read: &Transaction,
    plan: RefundPlan,
) -> Result<RequestedRefund, RefundError>
where
    S: TransactionStore,
    Q: Queue,
{
    let mut transaction = read.clone();
    let by = plan.refund.requested_by.clone();
    let now = Timestamp::from_secs(clock.now());
    refund::mark(&mut transaction, plan, REFUNDING_MESSAGE.to_owned(), now);
    store.update(&mut transaction, read.status).await?;
    tracing::info!(transaction_id = %transaction.id, %by, status = %transaction.status,
        "refund requested");
    let message = QueueMessage::new(transaction.id.clone(), transaction.kind);
    let queued = submissions.send(&message).await;
    if let Err(error) = &queued {
        // The refund is requested for good; the deposit poller queues it again later.
        tracing::error!(transaction_id = %transaction.id, %error,
            "the refund could not be queued; the deposit poller re-queues it");
    }
    Ok(RequestedRefund {
        transaction,
        queued,
    })
}

/// Prepares and commits the refund of transaction `transaction_id`, reading it again after a
/// lost race (see the module). The submissions queue is the Stellar submitter's.
pub async fn request_refund<S, Q>(
    store: &S,
    submissions: &Q,
    clock: &dyn Clock,
    transaction_id: &str,
    order: RefundOrder<'_>,
) -> Result<RequestedRefund, RefundError>
where
    S: TransactionStore + IncomingPayments,
    Q: Queue,
{
    let not_found = || RefundError::NotFound(transaction_id.chars().take(100).collect());
    for _ in 0..ATTEMPTS {
        let read = store.get(transaction_id).await?.ok_or_else(not_found)?;
        let plan = prepare_refund(store, clock, &read, order).await?;
        match commit_refund(store, submissions, clock, &read, plan).await {
            // Read again: a refund requested meanwhile is reported as such.
            Err(RefundError::Conflict) => continue,
            other => return other,
        }
    }
    Err(RefundError::Conflict)
}
