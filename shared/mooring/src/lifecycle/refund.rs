//! The operator's refund (`mooring-admin refund`, an `on_hold` payment rejected): what can be
//! refunded and how the refund is made are [`crate::payments::refund`]'s; this is the request.
//!
//! [`request_refund`] reads the transaction, checks it may be refunded, finds what the sender
//! paid (the recorded incoming payment of a withdrawal or SEP-31 payment), and marks the refund
//! with one conditional write over the status it read, recording who asked and why in the
//! transaction's history; then it queues the refund for the Stellar submitter. Two operators
//! at once: one write wins, the other reads again and gets
//! [`RefundError::AlreadyRefunding`]. The submitter makes the refund once however often the
//! message is delivered; a message that could not be sent is sent again by the deposit poller's
//! re-queue of stuck transactions.

use crate::clock::Clock;
use crate::model::Transaction;
use crate::payments::refund::{self, REFUNDING_MESSAGE};
use crate::queue::{Queue, QueueMessage};
use crate::store::{IncomingPayments, StoreError, TransactionStore};
use crate::time::Timestamp;

pub use crate::payments::refund::{RefundError, RefundOrder};

/// Reads and conditional writes tried before giving up on a transaction that keeps changing.
const ATTEMPTS: usize = 5;

/// Requests the refund of transaction `transaction_id` as `order` says (see the module). `Ok`:
/// the transaction as written, its refund under way (queued, or to be re-queued). The
/// submissions queue is the Stellar submitter's.
pub async fn request_refund<S, Q>(
    store: &S,
    submissions: &Q,
    clock: &dyn Clock,
    transaction_id: &str,
    order: RefundOrder<'_>,
) -> Result<Transaction, RefundError>
where
    S: TransactionStore + IncomingPayments,
    Q: Queue,
{
    if order.reason.trim().is_empty() {
        return Err(RefundError::NoReason);
    }
    let not_found = || RefundError::NotFound(transaction_id.chars().take(100).collect());
    for _ in 0..ATTEMPTS {
        let mut transaction = store.get(transaction_id).await?.ok_or_else(not_found)?;
        refund::refundable(&transaction)?;
        let payments = if transaction.kind.is_deposit() {
            Vec::new()
        } else {
            store.payments_for_transaction(&transaction.id).await?
        };
        let payment = refund::paying_payment(&transaction, &payments);
        let now = Timestamp::from_secs(clock.now());
        let plan = refund::plan(&transaction, payment, order, now)?;
        let expected = transaction.status;
        refund::mark(&mut transaction, plan, REFUNDING_MESSAGE.to_owned(), now);
        match store.update(&mut transaction, expected).await {
            Ok(()) => {}
            // Read again: a refund requested meanwhile is reported as such.
            Err(StoreError::Conflict) => continue,
            Err(error) => return Err(error.into()),
        }
        tracing::info!(transaction_id = %transaction.id, by = order.by,
            status = %transaction.status, "refund requested");
        let message = QueueMessage::new(transaction.id.clone(), transaction.kind);
        if let Err(error) = submissions.send(&message).await {
            // The refund is requested for good; the deposit poller queues it again later.
            tracing::error!(transaction_id = %transaction.id, %error,
                "the refund could not be queued; the deposit poller re-queues it");
        }
        return Ok(transaction);
    }
    Err(RefundError::Conflict)
}
