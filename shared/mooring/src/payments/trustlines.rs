//! The trustline re-check (a schedule): `pending_trust` deposits whose destination account now
//! trusts the asset go back to `pending_anchor` (conditional write) and to the submissions
//! queue. Each run looks at a bounded, fair share of them ([`scan_status`]: the newest page and
//! the next pages of a rotation); the expiry sweeper ends those that wait too long.

use std::sync::Arc;

use super::WorkerError;
use crate::clock::Clock;
use crate::horizon::Horizon;
use crate::model::{Kind, TransactionStatus};
use crate::queue::{Queue, QueueMessage};
use crate::stellar::{Asset, MuxedAccount};
use crate::store::scan::{scan_name, scan_status, ScanPlan};
use crate::store::{Cursors, StoreError, TransactionStore};
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
    plan: ScanPlan,
}

impl<S, H, Q> TrustlineRecheck<S, H, Q>
where
    S: TransactionStore + Cursors,
    H: Horizon,
    Q: Queue,
{
    pub fn new(store: Arc<S>, horizon: Arc<H>, submissions: Arc<Q>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            horizon,
            submissions,
            clock,
            plan: ScanPlan::newest_first(50),
        }
    }

    /// Deposits per page of the scans (default 50: at most three pages per kind and run).
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.plan.page_size = page_size.max(1);
        self
    }

    pub async fn recheck_trustlines(&self) -> Result<RecheckReport, WorkerError> {
        let mut report = RecheckReport::default();
        let now = Timestamp::from_secs(self.clock.now());
        let status = TransactionStatus::PendingTrust;
        let mut pending = Vec::new();
        for kind in Kind::DEPOSITS {
            let name = scan_name("trustline-recheck", kind, status);
            pending.extend(scan_status(&*self.store, &name, kind, status, &self.plan, now).await?);
        }
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
