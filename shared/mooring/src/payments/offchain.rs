//! Off-chain money that pays no deposit, recorded for the operator by the deposit poller
//! (after each run's deposits): a second bank transfer with the reference of a deposit already
//! paid, a transfer whose reference names no deposit, a transfer for a deposit that expired.
//! Never silently ignored: each is an [`IncomingPayment`] with `off_chain` set, outcome
//! `duplicate` or `unmatched`, which `IncomingPayments::list_needing_attention` lists (the
//! operator's console).
//!
//! The integration reads its rail's feed ([`DepositIntegration::incoming_transfers`]) and says
//! of each transfer what it can tell alone ([`TransferClaim`]); the poller decides the rest:
//!
//! | claim | decided | recorded |
//! |---|---|---|
//! | `NamesNoDeposit` | at once | `unmatched` |
//! | `Repeats { first }` | at once | `duplicate`, naming the deposit `first` paid |
//! | `MayPayDeposit`, a deposit's `external_transaction_id` is its id | at once | nothing: it paid that deposit |
//! | `MayPayDeposit`, none | once every deposit waiting for its funds was shown to `poll_pending_deposits` after the transfer arrived ([`covered_since`] of the poller's scans, less [`CLOCK_SKEW`]) | `unmatched` |
//!
//! The feed's position is saved under [`FEED_CURSOR`] up to the last transfer decided (never
//! past one undecided, so nothing is skipped); a run reads at most [`MAX_PAGES`] pages of it.
//! Recording is idempotent by the transfer's id (`offchain:<id>`): a page read again records
//! nothing twice.

use super::deposit_poller::{PollReport, WAITING, WORKER};
use super::{asset_config, WorkerError};
use crate::config::AssetConfig;
use crate::integrations::{DepositIntegration, IncomingTransfer, TransferClaim};
use crate::model::{IncomingPayment, Kind, OffChainTransfer, PaymentOutcome, Transaction};
use crate::store::scan::{covered_since, scan_name};
use crate::store::{Cursors, IncomingPayments, StoreError, TransactionStore};
use crate::time::Timestamp;

/// The stored position in the rail's feed of incoming transfers.
pub const FEED_CURSOR: &str = "offchain-transfers";
/// Pages of the feed a run reads at most.
pub const MAX_PAGES: usize = 5;
/// How far the rail's clock may be from the anchor's, in milliseconds: a transfer counts as
/// arrived this much later than the rail says.
pub const CLOCK_SKEW: i64 = 60_000;

/// One pass over the feed, with borrowed ports.
pub(super) struct UnmatchedTransfers<'a, S, I> {
    pub store: &'a S,
    pub integration: &'a I,
    pub assets: &'a [AssetConfig],
    pub now: Timestamp,
}

/// What became of one transfer.
enum Settled {
    Decided,
    /// It may still pay a waiting deposit: the feed's position stays before it.
    Undecided,
}

impl<S, I> UnmatchedTransfers<'_, S, I>
where
    S: TransactionStore + Cursors + IncomingPayments,
    I: DepositIntegration,
{
    /// Reads the feed from its saved position, records what pays no deposit, saves the new
    /// position. A failing rail is logged and retried on the next run.
    pub async fn run(&self, report: &mut PollReport) -> Result<(), WorkerError> {
        let covered = self.covered().await?;
        let stored = self.store.cursor(FEED_CURSOR).await?;
        let mut after = stored.as_ref().map(|s| s.value.clone());
        let mut moved = false;
        for _ in 0..MAX_PAGES {
            let page = match self.integration.incoming_transfers(after.as_deref()).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(%error, "deposit poller: the rail's incoming transfers could not be read");
                    break;
                }
            };
            if page.is_empty() {
                break;
            }
            let mut held = false;
            for transfer in &page {
                report.transfers += 1;
                // Decidable ones after an undecided one are recorded too (once: recording is
                // idempotent), but the position stays before the undecided one.
                if let Settled::Undecided = self.settle(transfer, covered, report).await? {
                    held = true;
                }
                if !held {
                    after = Some(transfer.cursor.clone());
                    moved = true;
                }
            }
            if held {
                break;
            }
        }
        if let (true, Some(position)) = (moved, after) {
            match self
                .store
                .save_cursor(FEED_CURSOR, &position, stored.map(|s| s.version))
                .await
            {
                // Another run moved it: it decided the same transfers.
                Ok(_) | Err(StoreError::Conflict) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// Since when every deposit waiting for its funds has been shown to the integration: the
    /// oldest of the poller's scans' last completed laps (`None` until each completed one).
    async fn covered(&self) -> Result<Option<Timestamp>, StoreError> {
        let mut oldest: Option<Timestamp> = None;
        for status in WAITING {
            for kind in Kind::DEPOSITS {
                let Some(since) =
                    covered_since(self.store, &scan_name(WORKER, kind, status)).await?
                else {
                    return Ok(None);
                };
                oldest = Some(oldest.map_or(since, |o| o.min(since)));
            }
        }
        Ok(oldest)
    }

    async fn settle(
        &self,
        incoming: &IncomingTransfer,
        covered: Option<Timestamp>,
        report: &mut PollReport,
    ) -> Result<Settled, WorkerError> {
        let transfer = &incoming.transfer;
        let (outcome, paid, note) = match &incoming.claim {
            TransferClaim::NamesNoDeposit => (
                PaymentOutcome::Unmatched,
                None,
                "its reference names no deposit".to_owned(),
            ),
            TransferClaim::Repeats { first } => {
                let paid = self.store.find_by_external_id(first).await?;
                let note = match &paid {
                    Some(deposit) => format!(
                        "a second transfer with this reference: transfer {first} paid deposit {}",
                        deposit.id
                    ),
                    None => format!("a second transfer with this reference (the first: {first})"),
                };
                (PaymentOutcome::Duplicate, paid, note)
            }
            TransferClaim::MayPayDeposit => {
                if self
                    .store
                    .find_by_external_id(&transfer.id)
                    .await?
                    .is_some()
                {
                    return Ok(Settled::Decided);
                }
                let arrived = incoming.received_at.millis().saturating_add(CLOCK_SKEW);
                if covered.is_none_or(|since| since.millis() <= arrived) {
                    return Ok(Settled::Undecided);
                }
                (
                    PaymentOutcome::Unmatched,
                    None,
                    "no deposit waiting for its funds took it: its reference names none, or one \
                     no longer waiting (e.g. expired)"
                        .to_owned(),
                )
            }
        };
        let Some(payment) = self.payment(incoming, outcome, paid.as_ref(), note) else {
            tracing::error!(transfer = %transfer.id,
                "deposit poller: an off-chain transfer pays no deposit, but no asset takes deposits to record it under; kept for the next run");
            return Ok(Settled::Undecided);
        };
        if self.store.record(&payment).await? {
            report.unmatched_transfers += 1;
            tracing::warn!(
                transfer = %transfer.id,
                reference = transfer.reference.as_deref().unwrap_or(""),
                amount = %transfer.amount,
                outcome = ?payment.outcome,
                "off-chain money that pays no deposit, recorded for the operator"
            );
        }
        Ok(Settled::Decided)
    }

    /// The record of a transfer: under the deposit's asset and distribution account when it
    /// names one, else the anchor's first asset taking deposits.
    fn payment(
        &self,
        incoming: &IncomingTransfer,
        outcome: PaymentOutcome,
        paid: Option<&Transaction>,
        note: String,
    ) -> Option<IncomingPayment> {
        let named = paid.and_then(|deposit| asset_config(self.assets, &deposit.asset));
        let fallback = self
            .assets
            .iter()
            .filter(|asset| asset.deposit.is_some())
            .chain(self.assets.iter());
        let (asset, account) = named
            .into_iter()
            .chain(fallback)
            .find_map(|asset| Some((asset, asset.distribution_account()?)))?;
        let transfer: &OffChainTransfer = &incoming.transfer;
        Some(IncomingPayment {
            id: OffChainTransfer::payment_id(&transfer.id),
            account,
            transaction_hash: transfer.id.clone(),
            from: None,
            asset: asset.asset.0.clone(),
            amount: transfer.amount,
            memo_type: "text".into(),
            memo: transfer.reference.clone(),
            created_at: incoming.received_at,
            outcome,
            transaction_id: paid.map(|deposit| deposit.id.clone()),
            note: Some(note),
            recorded_at: self.now,
            off_chain: Some(transfer.clone()),
        })
    }
}
