//! The payment watcher: finds the Stellar payments to the anchor's receiving accounts and moves
//! the withdrawals they pay to `pending_anchor`, and the SEP-31 transactions they pay to
//! `pending_receiver` (digest 10.8).
//!
//! For each receiving account (the distribution account of every asset with withdrawals or
//! SEP-31 receiving configured), it reads Horizon's payments in ascending order from a cursor stored under
//! [`cursor_name`], page by page until a short page. Each record that is a successful payment or
//! path payment *to* the account is matched by (account, memo) to a transaction:
//!
//! | finding | outcome | transaction |
//! |---|---|---|
//! | `pending_user_transfer_start`, same asset (code and issuer), amount within ±10 % of `amount_in` | `Matched` | one conditional write: `amount_in` = received, fee recomputed, `amount_out`, `stellar_transaction_id`, `from`, `pending_anchor`; then a message on the withdrawals queue |
//! | SEP-31 (`Receive`) in `pending_sender`, same asset, exactly `amount_in` | `Matched` | one conditional write: `stellar_transaction_id`, `from`, `pending_receiver` (the amounts agreed at `POST /transactions` kept); then a message on the outgoing queue |
//! | the same, amount within ±10 % of `amount_in` (no quote) | `Matched` | as above, with `amount_in` = received and the fee (the asset's `receive` fee settings) and `amount_out` recomputed |
//! | a quoted withdrawal or SEP-31 transaction: exactly the quote's `amount_in`, paid before it expires (SEP-31: the payment's ledger time) | `Matched` | as above, the quote's amounts kept |
//! | already paid by this very payment (seen again after a crash or by a second watcher) | as before | unchanged; the queue message is sent again while it is `pending_anchor` / `pending_receiver` (the workers are idempotent) |
//! | already paid by another operation of the same Stellar transaction | `Duplicate` | unchanged |
//! | already paid by another payment, or not waiting for one | `Duplicate` | unchanged |
//! | another asset | `WrongAsset` | unchanged (the user may still pay the right asset) |
//! | amount off by more than 10 %, or not paying its fee; quoted: not the quote's amount, or late | `WrongAmount` | `on_hold` with a `status_message` and the payment's hash |
//! | no transaction with this memo (or no memo) | `Unmatched` | - |
//! | the same, paid before the watcher's first run on the account | `History` (not for the operator) | - |
//!
//! First run (no cursor stored): the watcher starts at the beginning of the account's payment
//! history (Horizon without a cursor), not "from now", so that a withdrawal paid before it first
//! ran (a fresh deployment, a watcher that was down) is matched like any other payment. Before
//! it starts, it stores where that history ends, once, under [`history_name`]: the paging token
//! of the account's newest payment at that moment ([`START_CURSOR`] when it has none). A payment
//! up to there that matches no transaction is recorded as `History`, not put in the operator's
//! queue, so that an account with a long past does not flood it; matching works exactly as for
//! new payments, and a history payment whose memo names a transaction gets that transaction's
//! outcome. A long history is read over several runs ([`DEFAULT_MAX_PAGES`] per run).
//!
//! Every such payment is stored with [`IncomingPayments::record`] (once, by operation id), so
//! nothing the anchor received is dropped; the operator lists those needing attention. Records
//! that are not incoming payments (the anchor's own deposits, account creations, failed
//! transactions) are skipped. The cursor is saved, conditional on its version, after each page
//! (or, when a record fails, up to the last record processed): never past a record not yet
//! recorded. Re-processing a page after a crash changes nothing twice, because every decision is
//! taken again from the transaction's state. A cursor `Conflict` means another watcher is at
//! work on the account: this one stops there quietly.
//!
//! A run that read every account to its end ([`WatchReport::caught_up`]) is noted with
//! [`PaymentWatcher::note_caught_up`] under [`CAUGHT_UP`]: the expiry sweeper
//! (`lifecycle::expiry`) ends a withdrawal or SEP-31 transaction whose payment never came only
//! once the watcher read past its deadline, so that a payment already on the ledger is matched
//! first.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::WorkerError;
use crate::clock::Clock;
use crate::config::AssetConfig;
use crate::horizon::{Horizon, PaymentRecord};
use crate::integrations::{
    standard_fee, Fee, FeeIntegration, FeeRequest, IntegrationError, Operation,
};
use crate::model::{IncomingPayment, Kind, PaymentOutcome, Transaction, TransactionStatus};
use crate::queue::{Queue, QueueMessage};
use crate::stellar::{AccountId, Amount, Asset, Memo};
use crate::store::{Cursors, IncomingPayments, StoreError, TransactionStore};
use crate::time::Timestamp;

/// Records per Horizon page (Horizon's maximum).
pub const DEFAULT_PAGE_LIMIT: u32 = crate::horizon::MAX_PAGE_LIMIT;
/// Pages read per account and run; the next run goes on from the saved cursor.
pub const DEFAULT_MAX_PAGES: usize = 50;
/// How far the amount received may be from `amount_in`, in percent (SEP-24/6 practice).
pub const AMOUNT_TOLERANCE_PERCENT: i128 = 10;

/// The cursor before an account's first payment (Horizon paging tokens are positive): the
/// watcher then asks Horizon for the payments without a cursor, from the oldest.
pub const START_CURSOR: &str = "0";

/// Conditional writes retried after a `Conflict` before the record is left for the next run.
const WRITE_ATTEMPTS: usize = 5;

/// The stored cursor whose value is when the last run that caught up started (epoch millis):
/// every payment on the ledger before then (less Horizon's ingestion lag) was matched.
pub const CAUGHT_UP: &str = "payments-caught-up";

/// When the last watcher run that read every receiving account to its end started; `None`
/// before the first such run (or when the stored value is unreadable, logged).
pub async fn caught_up_at<S: Cursors + ?Sized>(store: &S) -> Result<Option<Timestamp>, StoreError> {
    let Some(stored) = store.cursor(CAUGHT_UP).await? else {
        return Ok(None);
    };
    let at = stored.value.parse::<i64>().ok().map(Timestamp::from_millis);
    if at.is_none() {
        tracing::warn!(value = %stored.value, "payment watcher: unreadable caught-up time ignored");
    }
    Ok(at)
}

/// The name of the stored Horizon cursor of a receiving account: `payments:<G...>`.
pub fn cursor_name(account: &AccountId) -> String {
    format!("payments:{account}")
}

/// The name under which the end of a receiving account's history is stored, once, on the
/// watcher's first run: `payments-history:<G...>`, the paging token of the account's newest
/// payment then ([`START_CURSOR`]: none). Never moved afterwards.
pub fn history_name(account: &AccountId) -> String {
    format!("payments-history:{account}")
}

/// What a run did, summed over the accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchReport {
    /// Receiving accounts watched.
    pub accounts: usize,
    /// Horizon records read.
    pub records: usize,
    /// Records that are not payments to the account (skipped; the cursor moves past them).
    pub skipped: usize,
    /// Payments that paid a withdrawal or a SEP-31 transaction (including ones seen again).
    pub matched: usize,
    /// Payments recorded for the operator (unmatched, duplicate, wrong asset or amount).
    pub needing_attention: usize,
    /// Payments from before the watcher's first run that match no transaction (recorded as
    /// `History`, not for the operator).
    pub history: usize,
    /// Accounts where another watcher moved the cursor first (this run stopped there).
    pub conflicts: usize,
    /// Accounts not read to their newest payment (the run stopped after its pages per run).
    pub behind: usize,
}

impl WatchReport {
    fn add(&mut self, other: &WatchReport) {
        self.accounts += other.accounts;
        self.records += other.records;
        self.skipped += other.skipped;
        self.matched += other.matched;
        self.needing_attention += other.needing_attention;
        self.history += other.history;
        self.conflicts += other.conflicts;
        self.behind += other.behind;
    }

    /// Whether every account was read to its newest payment by this run (none behind, none
    /// left to another watcher): the condition to expire unpaid transactions after it.
    pub fn caught_up(&self) -> bool {
        self.behind == 0 && self.conflicts == 0
    }
}

/// The watcher over a store `S` (transactions, cursors, incoming payments), Horizon `H`, the
/// withdrawals queue `Q`, the anchor's fee hook `F` and the outgoing-payments queue `O` (SEP-31;
/// the same queue type by default). Built once per cold start.
pub struct PaymentWatcher<S, H, Q, F, O = Q> {
    store: Arc<S>,
    horizon: Arc<H>,
    withdrawals: Arc<Q>,
    outgoing: Arc<O>,
    fees: Arc<F>,
    assets: Vec<AssetConfig>,
    clock: Arc<dyn Clock>,
    page_limit: u32,
    max_pages: usize,
}

/// What became of one payment, before it is recorded.
struct Decision {
    outcome: PaymentOutcome,
    transaction_id: Option<String>,
    note: Option<String>,
    /// Send the transaction to its queue (after recording): the withdrawals queue, or the
    /// outgoing queue for a SEP-31 `Receive`.
    send: Option<QueueMessage>,
}

impl Decision {
    fn attention(outcome: PaymentOutcome, tx: Option<&Transaction>, note: String) -> Self {
        Self {
            outcome,
            transaction_id: tx.map(|t| t.id.clone()),
            note: Some(note),
            send: None,
        }
    }
}

/// A decision that may need a conditional write first.
enum Step {
    Done(Decision),
    Write {
        updated: Box<Transaction>,
        expected: TransactionStatus,
        decision: Decision,
    },
}

/// The status a transaction paid by a Stellar payment waits for it in, and the one the payment
/// moves it to: withdrawals `pending_user_transfer_start` → `pending_anchor`, SEP-31
/// `pending_sender` → `pending_receiver`. `None`: not paid to the anchor on Stellar.
fn payment_statuses(kind: Kind) -> Option<(TransactionStatus, TransactionStatus)> {
    match kind {
        Kind::Withdrawal | Kind::WithdrawalExchange => Some((
            TransactionStatus::PendingUserTransferStart,
            TransactionStatus::PendingAnchor,
        )),
        Kind::Receive => Some((
            TransactionStatus::PendingSender,
            TransactionStatus::PendingReceiver,
        )),
        Kind::Deposit | Kind::DepositExchange => None,
    }
}

/// The transaction `paid` (its amounts settled) matched by the Stellar payment `hash` from
/// `payer`: from `waiting` on to `paid_status`, and queued for the payout.
fn matched(
    mut paid: Transaction,
    hash: &str,
    payer: Option<String>,
    now: Timestamp,
    (waiting, paid_status): (TransactionStatus, TransactionStatus),
) -> Step {
    paid.stellar_transaction_id = Some(hash.to_owned());
    paid.from = payer.or(paid.from.take());
    paid.status = paid_status;
    paid.status_message = None;
    paid.updated_at = now;
    let send = Some(QueueMessage::new(paid.id.clone(), paid.kind));
    let transaction_id = Some(paid.id.clone());
    Step::Write {
        updated: Box::new(paid),
        expected: waiting,
        decision: Decision {
            outcome: PaymentOutcome::Matched,
            transaction_id,
            note: None,
            send,
        },
    }
}

/// Whether `received` is within ±10 % of `expected` (any amount when nothing was expected).
fn amount_acceptable(received: Amount, expected: Option<Amount>) -> bool {
    match expected {
        None => true,
        Some(expected) if expected <= Amount::ZERO => true,
        Some(expected) => {
            let diff = (i128::from(received.stroops()) - i128::from(expected.stroops())).abs();
            diff * 100 <= i128::from(expected.stroops()) * AMOUNT_TOLERANCE_PERCENT
        }
    }
}

/// The stored end of an account's history as a paging token (`None`, logged, when it is not a
/// number: nothing is then taken for history).
fn history_end(account: &AccountId, stored: &str) -> Option<u64> {
    let end = stored.parse::<u64>().ok();
    if end.is_none() {
        tracing::warn!(%account, stored, "payment watcher: unreadable end of history ignored");
    }
    end
}

/// SEP-31's fee of an amount received: the standard fee (`fee_fixed`, `fee_percent`,
/// `fee_minimum`) of the asset's `receive` settings (zero when it has none).
fn receive_fee(asset: &AssetConfig, amount: Amount) -> Result<Amount, IntegrationError> {
    let as_withdraw = AssetConfig {
        withdraw: asset.receive.clone(),
        ..asset.clone()
    };
    standard_fee(&FeeRequest {
        operation: Operation::Withdraw,
        fee_type: None,
        asset: &as_withdraw,
        amount,
        user: None,
    })
}

impl<S, H, Q, F, O> PaymentWatcher<S, H, Q, F, O>
where
    S: TransactionStore + Cursors + IncomingPayments,
    H: Horizon,
    Q: Queue,
    F: FeeIntegration,
    O: Queue,
{
    /// A watcher queueing paid withdrawals on `withdrawals` and paid SEP-31 transactions on
    /// `outgoing`.
    pub fn new(
        store: Arc<S>,
        horizon: Arc<H>,
        withdrawals: Arc<Q>,
        outgoing: Arc<O>,
        fees: Arc<F>,
        assets: Vec<AssetConfig>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            horizon,
            withdrawals,
            outgoing,
            fees,
            assets,
            clock,
            page_limit: DEFAULT_PAGE_LIMIT,
            max_pages: DEFAULT_MAX_PAGES,
        }
    }

    /// Records per Horizon page (1-200).
    pub fn with_page_limit(mut self, limit: u32) -> Self {
        self.page_limit = limit.clamp(1, crate::horizon::MAX_PAGE_LIMIT);
        self
    }

    /// Pages read per account and run (at least 1).
    pub fn with_max_pages(mut self, pages: usize) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// The accounts watched: the distribution account of every asset with withdrawals or SEP-31
    /// receiving configured, once each. A disabled direction is still watched: transactions
    /// opened before it was disabled are still paid.
    pub fn receiving_accounts(&self) -> Vec<AccountId> {
        let mut accounts: Vec<AccountId> = Vec::new();
        for asset in self
            .assets
            .iter()
            .filter(|a| a.withdraw.is_some() || a.receive.is_some())
        {
            if let Some(account) = asset.distribution_account() {
                if !accounts.contains(&account) {
                    accounts.push(account);
                }
            }
        }
        accounts
    }

    /// One run over every receiving account. An account that fails does not stop the others;
    /// the first error is returned after all were tried (the next run resumes from the cursors).
    /// A run that [caught up](WatchReport::caught_up) is noted ([`Self::note_caught_up`]).
    pub async fn watch_payments(&self) -> Result<WatchReport, WorkerError> {
        let started = self.now();
        let mut report = WatchReport::default();
        let mut first_error = None;
        for account in self.receiving_accounts() {
            match self.watch_account(&account).await {
                Ok(one) => report.add(&one),
                Err(error) => {
                    tracing::error!(%account, %error, "payment watcher: account failed");
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        if report.caught_up() {
            self.note_caught_up(started).await?;
        }
        Ok(report)
    }

    /// Notes that a run which started at `started` read every receiving account to its end
    /// ([`WatchReport::caught_up`]). Never moves the time back; a concurrent note wins.
    pub async fn note_caught_up(&self, started: Timestamp) -> Result<(), WorkerError> {
        let stored = self.store.cursor(CAUGHT_UP).await?;
        let before = stored
            .as_ref()
            .and_then(|s| s.value.parse::<i64>().ok())
            .map(Timestamp::from_millis);
        if before.is_some_and(|before| before >= started) {
            return Ok(());
        }
        let value = started.millis().to_string();
        match self
            .store
            .save_cursor(CAUGHT_UP, &value, stored.map(|s| s.version))
            .await
        {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// One run over one account's payments.
    pub async fn watch_account(&self, account: &AccountId) -> Result<WatchReport, WorkerError> {
        let mut report = WatchReport {
            accounts: 1,
            ..WatchReport::default()
        };
        let name = cursor_name(account);
        // Where the account's history ends: read when an unmatched payment needs it.
        let mut history = None;
        let (mut cursor, mut version) = match self.store.cursor(&name).await? {
            Some(stored) => (stored.value, stored.version),
            None => {
                // First run: from the beginning of the account's payments, once the end of
                // its history is stored (before the cursor: a run that stops in between finds
                // it on the next try).
                history = Some(self.mark_history_end(account).await?);
                let start = START_CURSOR.to_owned();
                match self.store.save_cursor(&name, &start, None).await {
                    Ok(version) => (start, version),
                    Err(StoreError::Conflict) => {
                        tracing::info!(%account, "payment watcher: another watcher started the cursor");
                        report.conflicts += 1;
                        return Ok(report);
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        };

        let mut reached_end = false;
        for _ in 0..self.max_pages {
            let from = (cursor != START_CURSOR).then_some(cursor.as_str());
            let page = self
                .horizon
                .payments(account, from, self.page_limit)
                .await?;
            report.records += page.len();
            let mut processed: Option<&str> = None;
            let mut failure = None;
            for record in &page {
                match self.handle(account, record, &mut history).await {
                    Ok(None) => report.skipped += 1,
                    Ok(Some(PaymentOutcome::Matched)) => report.matched += 1,
                    Ok(Some(PaymentOutcome::History)) => report.history += 1,
                    Ok(Some(_)) => report.needing_attention += 1,
                    Err(error) => {
                        tracing::warn!(%account, payment = %record.id, %error,
                            "payment watcher: record not processed; the cursor stops before it");
                        failure = Some(error);
                        break;
                    }
                }
                processed = Some(&record.paging_token);
            }
            if let Some(token) = processed {
                match self.store.save_cursor(&name, token, Some(version)).await {
                    Ok(new_version) => {
                        version = new_version;
                        cursor = token.to_owned();
                    }
                    Err(StoreError::Conflict) => {
                        tracing::info!(%account, "payment watcher: another watcher moved the cursor; stopping");
                        report.conflicts += 1;
                        return match failure {
                            Some(error) => Err(error),
                            None => Ok(report),
                        };
                    }
                    Err(error) => return Err(failure.unwrap_or(error.into())),
                }
            }
            if let Some(error) = failure {
                return Err(error);
            }
            if page.len() < self.page_limit as usize {
                reached_end = true;
                break;
            }
        }
        if !reached_end {
            report.behind += 1;
        }
        Ok(report)
    }

    /// Stores where the account's history ends, unless stored already (a first run that
    /// stopped before saving its cursor, or another watcher): the paging token of its newest
    /// payment now. Returns the end in force.
    async fn mark_history_end(&self, account: &AccountId) -> Result<Option<u64>, WorkerError> {
        let name = history_name(account);
        if let Some(stored) = self.store.cursor(&name).await? {
            return Ok(history_end(account, &stored.value));
        }
        let end = self
            .horizon
            .latest_payment_cursor(account)
            .await?
            .unwrap_or_else(|| START_CURSOR.to_owned());
        match self.store.save_cursor(&name, &end, None).await {
            Ok(_) => {
                tracing::info!(%account, history_end = %end,
                    "payment watcher: first run; reading the account's payments from the oldest");
                Ok(history_end(account, &end))
            }
            // Another watcher stored it first: its end is the one.
            Err(StoreError::Conflict) => Ok(self
                .store
                .cursor(&name)
                .await?
                .and_then(|stored| history_end(account, &stored.value))),
            Err(error) => Err(error.into()),
        }
    }

    /// Whether the record is part of the account's history (paid up to the newest payment
    /// there was when the watcher first ran). The stored end is read once per run, and only
    /// when asked (for an unmatched payment).
    async fn in_history(
        &self,
        account: &AccountId,
        record: &PaymentRecord,
        history: &mut Option<Option<u64>>,
    ) -> Result<bool, WorkerError> {
        let end = match *history {
            Some(end) => end,
            None => {
                let end = self
                    .store
                    .cursor(&history_name(account))
                    .await?
                    .and_then(|stored| history_end(account, &stored.value));
                *history = Some(end);
                end
            }
        };
        Ok(match (end, record.paging_token.parse::<u64>()) {
            (Some(end), Ok(token)) => token <= end,
            // No end stored (a watcher deployed before history was kept), or a token that is
            // not a number: the payment is treated as new.
            _ => false,
        })
    }

    /// Processes one record: `None` when it is not an incoming payment (skipped), else the
    /// outcome recorded.
    async fn handle(
        &self,
        account: &AccountId,
        record: &PaymentRecord,
        history: &mut Option<Option<u64>>,
    ) -> Result<Option<PaymentOutcome>, WorkerError> {
        let incoming =
            record.successful && record.kind.is_payment() && record.to.as_ref() == Some(account);
        let (Some(asset), Some(amount)) = (&record.asset, record.amount) else {
            if incoming {
                tracing::warn!(payment = %record.id, "payment watcher: payment without asset or amount skipped");
            }
            return Ok(None);
        };
        if !incoming {
            return Ok(None);
        }

        let mut decision = self.decide(account, record, asset, amount).await?;
        if decision.outcome == PaymentOutcome::Unmatched
            && decision.transaction_id.is_none()
            && self.in_history(account, record, history).await?
        {
            decision.outcome = PaymentOutcome::History;
            decision.note = Some(format!(
                "{}; paid before the watcher's first run on the account (its history)",
                decision.note.as_deref().unwrap_or("no transaction")
            ));
        }
        let (memo_type, memo) = match (&record.memo, record.return_memo) {
            (Memo::None, Some(bytes)) => ("return".to_owned(), Some(BASE64.encode(bytes))),
            (memo, _) => (memo.type_name().to_owned(), memo.value()),
        };
        let payment = IncomingPayment {
            id: record.id.clone(),
            account: *account,
            transaction_hash: record.transaction_hash.clone(),
            from: record.from,
            asset: asset.clone(),
            amount,
            memo_type,
            memo,
            created_at: record.created_at,
            outcome: decision.outcome,
            transaction_id: decision.transaction_id.clone(),
            note: decision.note.clone(),
            recorded_at: self.now(),
            off_chain: None,
        };
        let new = self.store.record(&payment).await?;
        if decision.outcome.needs_attention() && new {
            tracing::warn!(
                payment = %record.id,
                outcome = ?decision.outcome,
                transaction_id = decision.transaction_id.as_deref().unwrap_or("-"),
                note = decision.note.as_deref().unwrap_or("-"),
                "payment watcher: payment recorded for the operator"
            );
        }
        if let Some(message) = &decision.send {
            if message.kind == Kind::Receive {
                self.outgoing.send(message).await?;
                tracing::info!(transaction_id = %message.transaction_id, payment = %record.id,
                    "payment watcher: SEP-31 payment received, queued for payout");
            } else {
                self.withdrawals.send(message).await?;
                tracing::info!(transaction_id = %message.transaction_id, payment = %record.id,
                    "payment watcher: withdrawal paid, queued for payout");
            }
        }
        Ok(Some(decision.outcome))
    }

    /// Matches the payment to its transaction and applies the outcome to it (conditional
    /// writes, re-read and re-decided after a `Conflict`).
    async fn decide(
        &self,
        account: &AccountId,
        record: &PaymentRecord,
        asset: &Asset,
        amount: Amount,
    ) -> Result<Decision, WorkerError> {
        let memo_value = match record.memo.value() {
            Some(value) => value,
            None => {
                let note = match (record.return_memo, record.to_muxed_id) {
                    (Some(_), _) => "a return memo (a bounced payment); not matched".to_owned(),
                    (None, Some(id)) => format!("no memo (sent to the muxed id {id})"),
                    (None, None) => "no memo".to_owned(),
                };
                return Ok(Decision::attention(PaymentOutcome::Unmatched, None, note));
            }
        };
        let memo_type = record.memo.type_name();
        let Some(mut transaction) = self
            .store
            .find_by_receiving_memo(account, memo_type, &memo_value)
            .await?
        else {
            return Ok(Decision::attention(
                PaymentOutcome::Unmatched,
                None,
                "no transaction expects this memo".to_owned(),
            ));
        };

        for _ in 0..WRITE_ATTEMPTS {
            match self.step(&transaction, record, asset, amount).await? {
                Step::Done(decision) => return Ok(decision),
                Step::Write {
                    mut updated,
                    expected,
                    decision,
                } => match self.store.update(&mut updated, expected).await {
                    Ok(()) => return Ok(decision),
                    Err(StoreError::Conflict) => match self.store.get(&transaction.id).await? {
                        Some(fresh) => transaction = fresh,
                        None => {
                            return Ok(Decision::attention(
                                PaymentOutcome::Unmatched,
                                None,
                                "its transaction was deleted".to_owned(),
                            ))
                        }
                    },
                    Err(error) => return Err(error.into()),
                },
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// The outcome of the payment for the transaction as it stands.
    async fn step(
        &self,
        transaction: &Transaction,
        record: &PaymentRecord,
        asset: &Asset,
        amount: Amount,
    ) -> Result<Step, WorkerError> {
        let tx = transaction;
        let hash = record.transaction_hash.as_str();
        let Some(statuses) = payment_statuses(tx.kind) else {
            return Ok(Step::Done(Decision::attention(
                PaymentOutcome::Unmatched,
                Some(tx),
                format!("the memo is that of a {} transaction", tx.kind.as_str()),
            )));
        };
        let (waiting, paid_status) = statuses;
        let receive = tx.kind == Kind::Receive;
        // This very payment was seen before (a crash before the cursor was saved, or another
        // watcher): the same outcome again, and the queue message again while it may be lost.
        // Unless the transaction was paid by another operation of the same Stellar transaction.
        if tx.stellar_transaction_id.as_deref() == Some(hash) {
            let seen = self.store.get_payment(&record.id).await?;
            if seen.is_none() && self.earlier_operation_paid(record, &tx.id).await? {
                return Ok(Step::Done(Decision::attention(
                    PaymentOutcome::Duplicate,
                    Some(tx),
                    "another operation of the same Stellar transaction already paid it".to_owned(),
                )));
            }
            if let Some(seen) = seen.filter(|p| p.outcome != PaymentOutcome::Matched) {
                return Ok(Step::Done(Decision {
                    outcome: seen.outcome,
                    transaction_id: seen.transaction_id,
                    note: seen.note,
                    send: None,
                }));
            }
            return Ok(Step::Done(match tx.status {
                TransactionStatus::OnHold => Decision::attention(
                    PaymentOutcome::WrongAmount,
                    Some(tx),
                    tx.status_message
                        .clone()
                        .unwrap_or_else(|| "the transaction is on hold".to_owned()),
                ),
                status => Decision {
                    outcome: PaymentOutcome::Matched,
                    transaction_id: Some(tx.id.clone()),
                    note: None,
                    send: (status == paid_status)
                        .then(|| QueueMessage::new(tx.id.clone(), tx.kind)),
                },
            }));
        }
        if tx.status != waiting {
            let note = match &tx.stellar_transaction_id {
                Some(paid) => format!(
                    "the transaction is {} and was already paid by Stellar transaction {paid}",
                    tx.status
                ),
                None => format!(
                    "the transaction is {}, not waiting for a payment",
                    tx.status
                ),
            };
            return Ok(Step::Done(Decision::attention(
                PaymentOutcome::Duplicate,
                Some(tx),
                note,
            )));
        }
        if *asset != tx.asset {
            return Ok(Step::Done(Decision::attention(
                PaymentOutcome::WrongAsset,
                Some(tx),
                format!("paid in {asset}, the transaction is for {}", tx.asset),
            )));
        }

        let now = self.now();
        let payer = record.from.map(|a| a.to_string());
        let hold = |reason: String| {
            let mut held = tx.clone();
            held.status = TransactionStatus::OnHold;
            held.status_message = Some(reason.clone());
            held.stellar_transaction_id = Some(hash.to_owned());
            held.from = payer.clone().or(held.from.take());
            held.updated_at = now;
            Step::Write {
                updated: Box::new(held),
                expected: waiting,
                decision: Decision::attention(PaymentOutcome::WrongAmount, Some(tx), reason),
            }
        };
        // A transaction bound to a SEP-38 quote pays out the quote's amounts: the payment must
        // be exactly its sell_amount and arrive before the quote expires (SEP-31: the Stellar
        // transaction's time, digest 7.2; a withdrawal: when the watcher sees it).
        if tx.quote_id.is_some() {
            let paid_at = if receive { record.created_at } else { now };
            let expected = tx.amount_in.map(|a| a.to_string()).unwrap_or_default();
            if tx.amount_in != Some(amount) {
                return Ok(hold(format!(
                    "Received {amount} {}, the quote is for {expected}; held for review by the anchor.",
                    asset.code()
                )));
            }
            if tx
                .quote_deadline()
                .is_some_and(|deadline| paid_at > deadline)
            {
                return Ok(hold(format!(
                    "Received {amount} {} after the quote expired; held for review by the anchor.",
                    asset.code()
                )));
            }
            return Ok(matched(tx.clone(), hash, payer, now, statuses));
        }
        if !amount_acceptable(amount, tx.amount_in) {
            let expected = tx.amount_in.map(|a| a.to_string()).unwrap_or_default();
            return Ok(hold(format!(
                "Received {amount} {}, expected {expected}; held for review by the anchor.",
                asset.code()
            )));
        }
        // SEP-31: the amounts agreed at `POST /transactions` stand when the sending anchor
        // paid exactly what it announced.
        if receive && tx.amount_in == Some(amount) {
            return Ok(matched(tx.clone(), hash, payer, now, statuses));
        }
        let fee = match self.fee(tx, amount).await {
            Ok(fee) => fee,
            Err(IntegrationError::Unavailable(cause)) => {
                return Err(IntegrationError::Unavailable(cause).into())
            }
            Err(IntegrationError::Invalid(message)) => {
                return Ok(hold(format!(
                    "Received {amount} {}: {message}; held for review by the anchor.",
                    asset.code()
                )))
            }
            Err(other) => {
                tracing::error!(transaction_id = %tx.id, error = %other, "payment watcher: fee failed");
                return Ok(hold(format!(
                    "Received {amount} {}: the fee could not be computed; held for review by the anchor.",
                    asset.code()
                )));
            }
        };
        let out = match amount.checked_sub(fee.total) {
            Some(out) if out > Amount::ZERO && fee.total >= Amount::ZERO => out,
            _ => {
                return Ok(hold(format!(
                    "Received {amount} {}, which does not cover the fee of {}; held for review by the anchor.",
                    asset.code(),
                    fee.total
                )))
            }
        };
        let asset_id = tx.asset.sep38_id();
        let mut paid = tx.clone();
        paid.amount_in = Some(amount);
        if receive {
            // The assets announced stay; the Stellar asset is paid out 1:1 minus the fee. An
            // off-chain `destination_asset` without a quote: the anchor's integration fills
            // `amount_out` at payout (SEP-31 7.3).
            let fee_asset = tx
                .fee_details
                .as_ref()
                .map_or_else(|| asset_id.clone(), |f| f.asset.clone());
            paid.fee_details = Some(fee.details(fee_asset));
            let one_to_one = tx.amount_out_asset.as_deref().is_none_or(|a| a == asset_id);
            paid.amount_out = one_to_one.then_some(out);
        } else {
            paid.amount_in_asset = Some(asset_id.clone());
            paid.fee_details = Some(fee.details(asset_id.clone()));
            paid.amount_out = Some(out);
            paid.amount_out_asset = Some(asset_id);
        }
        Ok(matched(paid, hash, payer, now, statuses))
    }

    /// Whether an earlier payment operation of the record's Stellar transaction was recorded as
    /// paying transaction `id`. Horizon's operation ids are TOIDs: the operations of one
    /// transaction share the id's upper bits, the low 12 bits are the operation's index + 1.
    async fn earlier_operation_paid(
        &self,
        record: &PaymentRecord,
        id: &str,
    ) -> Result<bool, WorkerError> {
        let Ok(op) = record.id.parse::<u64>() else {
            return Ok(false);
        };
        let first = (op & !0xFFF) + 1;
        // A transaction has at most 100 operations.
        for earlier in first.max(op.saturating_sub(100))..op {
            if let Some(seen) = self.store.get_payment(&earlier.to_string()).await? {
                if seen.transaction_hash == record.transaction_hash
                    && seen.outcome == PaymentOutcome::Matched
                    && seen.transaction_id.as_deref() == Some(id)
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The fee of the amount received: a withdrawal's from the asset's `FeeIntegration` (with
    /// its breakdown), a SEP-31 transaction's from the asset's `receive` settings.
    async fn fee(&self, tx: &Transaction, amount: Amount) -> Result<Fee, IntegrationError> {
        let Some(asset) = self.assets.iter().find(|a| a.asset.0 == tx.asset) else {
            return Err(IntegrationError::Internal(format!(
                "asset {} is not configured",
                tx.asset
            )));
        };
        if tx.kind == Kind::Receive {
            return receive_fee(asset, amount).map(Fee::from);
        }
        self.fees
            .fee_details(&FeeRequest {
                operation: Operation::Withdraw,
                fee_type: None,
                asset,
                amount,
                user: Some(&tx.user),
            })
            .await
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.clock.now())
    }
}
