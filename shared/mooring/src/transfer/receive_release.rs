//! SEP-31 transactions waiting for their customers (`pending_customer_info_update`) go back to
//! `pending_receiver` once the sender and the receiver are both `ACCEPTED` for that transaction
//! (`CustomerIntegration::customer_status` with its id): one conditional write each (a lost race
//! is skipped: whoever won moved it), then the transaction is queued once for the outgoing
//! payment (the sending anchor hears of the change from the table's stream).
//!
//! SEP-12 runs it after each change of a customer ([`ReceiveRelease::release_customer`]); the
//! payout poller runs it over the waiting transactions ([`ReceiveRelease::release_all`], a
//! bounded, fair share per run), for a fix that landed while the outgoing-payments worker was
//! still writing the wait (SEP-12 then found the transaction `pending_receiver` and left it).

use crate::integrations::{CustomerIntegration, IntegrationError, RECEIVER_TYPE, SENDER_TYPE};
use crate::model::{CustomerStatus, Kind, Transaction, TransactionStatus};
use crate::queue::{Queue, QueueMessage};
use crate::store::scan::{scan_name, scan_status, ScanPlan};
use crate::store::{Cursors, StoreError, TransactionStore};
use crate::time::Timestamp;

/// Waiting transactions read per page, and pages read per run.
const PAGE: usize = 100;
const MAX_PAGES: usize = 20;

/// One release run over borrowed ports.
pub struct ReceiveRelease<'a, I, T, Q> {
    pub integration: &'a I,
    pub store: &'a T,
    pub outgoing: &'a Q,
    pub now: Timestamp,
}

impl<I, T, Q> ReceiveRelease<'_, I, T, Q>
where
    I: CustomerIntegration,
    T: TransactionStore,
    Q: Queue,
{
    /// Releases the waiting transactions of this customer (as sender or receiver). Answers how
    /// many moved.
    pub async fn release_customer(&self, customer_id: &str) -> Result<usize, StoreError> {
        self.release_where(|t| {
            t.sender_id.as_deref() == Some(customer_id)
                || t.receiver_id.as_deref() == Some(customer_id)
        })
        .await
    }

    /// Releases the waiting transactions whose customers are complete, of this run's share of
    /// them ([`scan_status`]: the newest page and the next pages of a rotation). Answers how
    /// many moved.
    pub async fn release_all(&self) -> Result<usize, StoreError>
    where
        T: Cursors,
    {
        let (kind, status) = (Kind::Receive, TransactionStatus::PendingCustomerInfoUpdate);
        let name = scan_name("receive-release", kind, status);
        let plan = ScanPlan::newest_first(PAGE);
        let waiting = scan_status(self.store, &name, kind, status, &plan, self.now).await?;
        let mut moved = 0;
        for transaction in waiting {
            if self.release(transaction).await {
                moved += 1;
            }
        }
        Ok(moved)
    }

    async fn release_where(
        &self,
        wanted: impl Fn(&Transaction) -> bool,
    ) -> Result<usize, StoreError> {
        let mut waiting = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .store
                .list_by_status(
                    Kind::Receive,
                    TransactionStatus::PendingCustomerInfoUpdate,
                    PAGE,
                    cursor.as_deref(),
                )
                .await?;
            waiting.extend(page.items.into_iter().filter(|t| wanted(t)));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut moved = 0;
        for transaction in waiting {
            if self.release(transaction).await {
                moved += 1;
            }
        }
        Ok(moved)
    }

    /// Moves one waiting transaction on if its customers are complete; `true` if it moved.
    async fn release(&self, mut transaction: Transaction) -> bool {
        match self.customers_accepted(&transaction).await {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => {
                tracing::warn!(error = %e, transaction_id = %transaction.id, "checking customers");
                return false;
            }
        }
        transaction.status = TransactionStatus::PendingReceiver;
        transaction.updated_at = self.now;
        transaction.required_info_message = None;
        transaction.required_info_updates = None;
        match self
            .store
            .update(
                &mut transaction,
                TransactionStatus::PendingCustomerInfoUpdate,
            )
            .await
        {
            Ok(()) => {
                tracing::info!(transaction_id = %transaction.id, "customers complete: pending_receiver");
                let message = QueueMessage::new(transaction.id.clone(), transaction.kind);
                if let Err(e) = self.outgoing.send(&message).await {
                    // The transaction is pending_receiver; the payout poller's sweep of that
                    // status queues it again.
                    tracing::error!(error = %e, transaction_id = %transaction.id, "queueing the outgoing payment");
                }
                true
            }
            Err(StoreError::Conflict) => {
                tracing::info!(transaction_id = %transaction.id, "moved concurrently; skipped");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, transaction_id = %transaction.id, "moving to pending_receiver");
                false
            }
        }
    }

    async fn customers_accepted(
        &self,
        transaction: &Transaction,
    ) -> Result<bool, IntegrationError> {
        for (id, kyc_type) in [
            (&transaction.sender_id, SENDER_TYPE),
            (&transaction.receiver_id, RECEIVER_TYPE),
        ] {
            if let Some(id) = id {
                let status = self
                    .integration
                    .customer_status(id, kyc_type, Some(&transaction.id))
                    .await;
                match status {
                    Ok(CustomerStatus::Accepted) => {}
                    Ok(_) | Err(IntegrationError::NotFound) => return Ok(false),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(true)
    }
}
