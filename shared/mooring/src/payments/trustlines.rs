//! The trustline re-check (a schedule): `pending_trust` deposits whose destination account now
//! trusts the asset go back to `pending_anchor` (conditional write) and to the submissions
//! queue.

use std::sync::Arc;

use super::{list_deposits, WorkerError};
use crate::clock::Clock;
use crate::horizon::Horizon;
use crate::model::TransactionStatus;
use crate::queue::{Queue, QueueMessage};
use crate::stellar::{Asset, MuxedAccount};
use crate::store::{StoreError, TransactionStore};
use crate::time::Timestamp;

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecheckReport {
    /// `pending_trust` deposits looked at.
    pub checked: usize,
    /// Now trusted: back to `pending_anchor` and queued.
    pub queued: usize,
    /// Trusted, but changed by someone else first.
    pub skipped: usize,
    pub send_failures: usize,
}

pub struct TrustlineRecheck<S, H, Q> {
    store: Arc<S>,
    horizon: Arc<H>,
    submissions: Arc<Q>,
    clock: Arc<dyn Clock>,
    page_size: usize,
    max_pages: usize,
}

impl<S, H, Q> TrustlineRecheck<S, H, Q>
where
    S: TransactionStore,
    H: Horizon,
    Q: Queue,
{
    pub fn new(store: Arc<S>, horizon: Arc<H>, submissions: Arc<Q>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            horizon,
            submissions,
            clock,
            page_size: 50,
            max_pages: 20,
        }
    }

    pub async fn recheck_trustlines(&self) -> Result<RecheckReport, WorkerError> {
        let mut report = RecheckReport::default();
        let pending = list_deposits(
            &*self.store,
            TransactionStatus::PendingTrust,
            self.page_size,
            self.max_pages,
        )
        .await?;
        for read in &pending {
            report.checked += 1;
            let Some(destination) = read
                .to
                .as_deref()
                .and_then(|to| to.parse::<MuxedAccount>().ok())
            else {
                continue;
            };
            let Some(account) = self.horizon.account(&destination.account).await? else {
                continue;
            };
            let trusts = read.asset == Asset::Native
                || read.asset.issuer() == Some(&destination.account)
                || account.balance(&read.asset).is_some();
            if !trusts {
                continue;
            }
            let mut transaction = read.clone();
            transaction.status = TransactionStatus::PendingAnchor;
            transaction.status_message = None;
            transaction.updated_at = Timestamp::from_secs(self.clock.now());
            match self
                .store
                .update(&mut transaction, TransactionStatus::PendingTrust)
                .await
            {
                Ok(()) => {}
                Err(StoreError::Conflict) => {
                    report.skipped += 1;
                    continue;
                }
                Err(error) => return Err(error.into()),
            }
            match self
                .submissions
                .send(&QueueMessage::new(transaction.id.clone(), transaction.kind))
                .await
            {
                Ok(()) => report.queued += 1,
                Err(error) => {
                    tracing::error!(transaction_id = %transaction.id, %error,
                            "could not queue; the deposit poller re-queues it");
                    report.send_failures += 1;
                }
            }
        }
        tracing::info!(?report, "trustline re-check");
        Ok(report)
    }
}
