//! The deposit poller (a schedule): asks the integration which deposits' off-chain funds
//! arrived, moves each to `pending_anchor` with a conditional write, and queues its Stellar
//! payment. Overlapping runs are harmless: the conditional write lets one run move a deposit,
//! the other skips it, and the submitter is idempotent anyway.
//!
//! It also re-queues what has sat on the submitter for a while (a message lost between the write
//! and the send, a submission whose retries were dead-lettered and since fixed): deposits in
//! `pending_anchor` or `pending_stellar`, and the Stellar refunds of withdrawals and SEP-31
//! payments (`pending_stellar`), each at most once per `requeue_after`. The submitter picks up
//! where the stored state says (a stored envelope is looked up, never rebuilt blindly).
//!
//! Then it reads the rail's feed of incoming transfers and records, for the operator, the money
//! that pays no deposit ([`super::offchain`]).
//!
//! Each run's work is bounded and fair ([`scan_status`]): per kind and status, the newest page
//! and the next pages of a rotation saved between runs, so a deposit that just arrived is
//! looked at on the next run however many abandoned ones wait before it (the expiry sweeper
//! ends those), and every waiting deposit within one lap of the rotation.

use std::sync::Arc;
use std::time::Duration;

use super::offchain::UnmatchedTransfers;
use super::{asset_config, WorkerError};
use crate::clock::Clock;
use crate::config::AssetConfig;
use crate::integrations::{
    DepositIntegration, Fee, FeeIntegration, FeeRequest, Operation, ReceivedDeposit,
};
use crate::model::{Kind, Transaction, TransactionStatus};
use crate::queue::{Queue, QueueMessage};
use crate::stellar::Amount;
use crate::store::scan::{scan_name, scan_status, ScanPlan};
use crate::store::{Cursors, IncomingPayments, StoreError, TransactionStore};
use crate::time::Timestamp;

/// The name of the poller's scans ([`scan_name`]).
pub const WORKER: &str = "deposit-poller";

/// The statuses in which a deposit waits for its off-chain funds.
pub const WAITING: [TransactionStatus; 2] = [
    TransactionStatus::PendingUserTransferStart,
    TransactionStatus::PendingExternal,
];

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Deposits shown to `poll_pending_deposits`.
    pub pending: usize,
    /// Deposits the integration reported received.
    pub received: usize,
    /// Moved to `pending_anchor` and queued by this run.
    pub queued: usize,
    /// Received, but another run (or request) changed them first.
    pub skipped: usize,
    /// Received but refused (amount not covering the fee, unknown asset...): status `error`; or,
    /// for a deposit bound to a SEP-38 quote, funds not matching it: status `on_hold`.
    pub refused: usize,
    /// Deposits long in `pending_anchor` or `pending_stellar` (and refunds long in
    /// `pending_stellar`), queued again.
    pub requeued: usize,
    /// Messages that could not be sent (their deposits are re-queued by a later run).
    pub send_failures: usize,
    /// Incoming off-chain transfers read from the rail's feed.
    pub transfers: usize,
    /// Of those, recorded for the operator by this run: they pay no deposit.
    pub unmatched_transfers: usize,
}

pub struct DepositPoller<S, Q, I> {
    store: Arc<S>,
    submissions: Arc<Q>,
    integration: Arc<I>,
    assets: Vec<AssetConfig>,
    clock: Arc<dyn Clock>,
    page_size: usize,
    requeue_after: Duration,
}

impl<S, Q, I> DepositPoller<S, Q, I>
where
    S: TransactionStore + Cursors + IncomingPayments,
    Q: Queue,
    I: DepositIntegration + FeeIntegration,
{
    /// `assets`: the anchor's configured assets (for the fee).
    pub fn new(
        store: Arc<S>,
        submissions: Arc<Q>,
        integration: Arc<I>,
        assets: Vec<AssetConfig>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            submissions,
            integration,
            assets,
            clock,
            page_size: 50,
            requeue_after: Duration::from_secs(300),
        }
    }

    /// Deposits per `poll_pending_deposits` call, and per page of the scans (default 50: a run
    /// reads at most three pages per kind and status).
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// How long a deposit may sit in `pending_anchor` or `pending_stellar` before it is queued
    /// again (default 5 min).
    pub fn with_requeue_after(mut self, after: Duration) -> Self {
        self.requeue_after = after;
        self
    }

    /// One run: `pending_user_transfer_start`, then `pending_external`, then the stuck ones.
    pub async fn poll_deposits(&self) -> Result<PollReport, WorkerError> {
        let mut report = PollReport::default();
        for status in WAITING {
            let pending = self.scan(status).await?;
            for page in pending.chunks(self.page_size) {
                report.pending += page.len();
                let received = self.integration.poll_pending_deposits(page).await?;
                for deposit in received {
                    self.receive(page, deposit, status, &mut report).await?;
                }
            }
        }
        self.requeue_stuck(&mut report).await?;
        UnmatchedTransfers {
            store: &*self.store,
            integration: &*self.integration,
            assets: &self.assets,
            now: Timestamp::from_secs(self.clock.now()),
        }
        .run(&mut report)
        .await?;
        tracing::info!(?report, "deposit poll");
        Ok(report)
    }

    /// This run's share of the deposits (plain and exchange) in `status`.
    async fn scan(&self, status: TransactionStatus) -> Result<Vec<Transaction>, WorkerError> {
        self.scan_kinds(&Kind::DEPOSITS, status).await
    }

    async fn scan_kinds(
        &self,
        kinds: &[Kind],
        status: TransactionStatus,
    ) -> Result<Vec<Transaction>, WorkerError> {
        let plan = ScanPlan::newest_first(self.page_size);
        let now = Timestamp::from_secs(self.clock.now());
        let mut all = Vec::new();
        for &kind in kinds {
            let name = scan_name(WORKER, kind, status);
            all.extend(scan_status(&*self.store, &name, kind, status, &plan, now).await?);
        }
        Ok(all)
    }

    async fn receive(
        &self,
        page: &[Transaction],
        deposit: ReceivedDeposit,
        status: TransactionStatus,
        report: &mut PollReport,
    ) -> Result<(), WorkerError> {
        let Some(read) = page.iter().find(|t| t.id == deposit.transaction_id) else {
            tracing::warn!(transaction_id = %deposit.transaction_id,
                "poll_pending_deposits returned a deposit it was not given; ignored");
            return Ok(());
        };
        report.received += 1;
        let mut transaction = read.clone();
        let now = Timestamp::from_secs(self.clock.now());
        transaction.updated_at = now;
        transaction.amount_in = Some(deposit.amount_in);
        if deposit.external_transaction_id.is_some() {
            transaction.external_transaction_id = deposit.external_transaction_id.clone();
        }
        let settled = match read.quote_id {
            // A deposit bound to a SEP-38 quote keeps the quote's amounts.
            Some(_) => quoted(read, &deposit, now).map(|()| None),
            None => self.amounts(&transaction, &deposit).await.map(Some),
        };
        match settled {
            Ok(None) => {
                transaction.amount_in = read.amount_in;
                transaction.status = TransactionStatus::PendingAnchor;
                transaction.status_message = None;
            }
            Err(Refusal::Hold(message)) => {
                tracing::warn!(transaction_id = %transaction.id, %message, "received deposit held");
                transaction.amount_in = read.amount_in;
                transaction.status = TransactionStatus::OnHold;
                transaction.status_message = Some(message);
            }
            Ok(Some((fee, out))) => {
                let asset_id = transaction.asset.sep38_id();
                transaction.amount_in_asset = Some(asset_id.clone());
                transaction.fee_details = Some(fee.details(asset_id.clone()));
                transaction.amount_out = Some(out);
                transaction.amount_out_asset = Some(asset_id);
                transaction.status = TransactionStatus::PendingAnchor;
                transaction.status_message = None;
            }
            Err(Refusal::Error(message)) => {
                tracing::warn!(transaction_id = %transaction.id, %message, "received deposit refused");
                transaction.status = TransactionStatus::Error;
                transaction.status_message = Some(message);
            }
        }
        match self.store.update(&mut transaction, status).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                report.skipped += 1;
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        }
        if matches!(
            transaction.status,
            TransactionStatus::Error | TransactionStatus::OnHold
        ) {
            report.refused += 1;
            return Ok(());
        }
        match self
            .submissions
            .send(&QueueMessage::new(transaction.id.clone(), transaction.kind))
            .await
        {
            Ok(()) => report.queued += 1,
            Err(error) => {
                tracing::error!(transaction_id = %transaction.id, %error,
                    "could not queue the payment; a later run re-queues it");
                report.send_failures += 1;
            }
        }
        Ok(())
    }

    /// The fee (with the fee integration's breakdown) and `amount_out` of a received deposit,
    /// or why it cannot be paid.
    async fn amounts(
        &self,
        transaction: &Transaction,
        deposit: &ReceivedDeposit,
    ) -> Result<(Fee, Amount), Refusal> {
        if deposit.amount_in.stroops() <= 0 {
            return Err(Refusal::Error(
                "the amount received must be positive".into(),
            ));
        }
        let fee = match deposit.amount_fee {
            Some(fee) => Fee::from(fee),
            None => {
                let asset = asset_config(&self.assets, &transaction.asset).ok_or_else(|| {
                    Refusal::Error(format!("{} is not a configured asset", transaction.asset))
                })?;
                let request = FeeRequest {
                    operation: Operation::Deposit,
                    fee_type: None,
                    asset,
                    amount: deposit.amount_in,
                    user: Some(&transaction.user),
                };
                self.integration
                    .fee_details(&request)
                    .await
                    .map_err(|e| Refusal::Error(format!("the fee could not be computed: {e}")))?
            }
        };
        if fee.total.stroops() < 0 {
            return Err(Refusal::Error("the fee must not be negative".into()));
        }
        let out = deposit
            .amount_in
            .checked_sub(fee.total)
            .filter(|out| out.stroops() > 0)
            .ok_or_else(|| {
                Refusal::Error("the amount received does not cover the fee".to_owned())
            })?;
        Ok((fee, out))
    }

    async fn requeue_stuck(&self, report: &mut PollReport) -> Result<(), WorkerError> {
        let cutoff = self
            .clock
            .now()
            .saturating_sub(self.requeue_after.as_secs());
        let cutoff = Timestamp::from_secs(cutoff);
        let mut stuck = self.scan(TransactionStatus::PendingAnchor).await?;
        stuck.extend(self.scan(TransactionStatus::PendingStellar).await?);
        // The Stellar refunds of withdrawals and SEP-31 payments.
        let refunds = [Kind::Withdrawal, Kind::WithdrawalExchange, Kind::Receive];
        stuck.extend(
            self.scan_kinds(&refunds, TransactionStatus::PendingStellar)
                .await?,
        );
        for read in stuck.iter().filter(|t| t.updated_at < cutoff) {
            // Touch it first (conditional, status unchanged), so that it is sent again at most
            // once per `requeue_after` however often the poller runs.
            let mut transaction = read.clone();
            transaction.updated_at = Timestamp::from_secs(self.clock.now());
            match self.store.update(&mut transaction, read.status).await {
                Ok(()) => {}
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(error.into()),
            }
            match self
                .submissions
                .send(&QueueMessage::new(transaction.id.clone(), transaction.kind))
                .await
            {
                Ok(()) => report.requeued += 1,
                Err(error) => {
                    tracing::error!(transaction_id = %transaction.id, %error, "could not re-queue");
                    report.send_failures += 1;
                }
            }
        }
        Ok(())
    }
}

/// Why a received deposit does not go on to payment.
enum Refusal {
    /// It cannot be paid as received (status `error`).
    Error(String),
    /// Funds arrived that the operator must look at (status `on_hold`).
    Hold(String),
}

/// A deposit bound to a SEP-38 quote goes on only if the funds are exactly the quote's
/// sell_amount and arrived before the quote expired ([`Transaction::quote_deadline`]); otherwise the
/// funds are held for the operator.
fn quoted(read: &Transaction, deposit: &ReceivedDeposit, now: Timestamp) -> Result<(), Refusal> {
    let expected = read.amount_in.map(|a| a.to_string()).unwrap_or_default();
    if read.amount_in != Some(deposit.amount_in) {
        return Err(Refusal::Hold(format!(
            "Received {}, the quote is for {expected}; held for review by the anchor.",
            deposit.amount_in
        )));
    }
    if read.quote_deadline().is_some_and(|deadline| now > deadline) {
        return Err(Refusal::Hold(format!(
            "Received {} after the quote expired; held for review by the anchor.",
            deposit.amount_in
        )));
    }
    Ok(())
}
