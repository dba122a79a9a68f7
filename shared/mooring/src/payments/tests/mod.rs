//! The payment workers' tests over the in-memory adapters, in one layout: the doubles every
//! worker test shares are here (the stub rail, the fee hook, the yielding ledger, store and a
//! flaky queue), and the [`Scene`] of the withdrawal and SEP-31 tests (an account paid on the
//! in-memory ledger, transactions paid and claimed); [`deposits`] drives the poller, the
//! submitter and the trustline re-check, [`withdrawals`] the payment watcher and the withdrawal
//! processor, [`receives`] the SEP-31 side (the watcher's matching and expiry, the
//! outgoing-payments worker, the payout poller), [`offchain`] the off-chain money that pays no
//! deposit.

mod deposits;
mod faults;
mod offchain;
mod receives;
mod refunds;
mod withdrawals;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::clock::FixedClock;
use crate::config::AssetConfig;
use crate::horizon::{
    AccountRecord, Horizon, HorizonError, InMemoryHorizon, PaymentKind, PaymentRecord, Submission,
    TransactionRecord,
};
use crate::i18n::Lang;
use crate::integrations::{
    CompletedPayout, DepositIntegration, Fee, FeeIntegration, FeeRequest, FlowContext, Form,
    FormValues, IncomingTransfer, IntegrationError, InteractiveFlow, OutgoingOutcome,
    ReceiveIntegration, ReceivedDeposit, WithdrawalIntegration, WithdrawalOutcome,
};
use crate::model::{
    withdraw_memo, FeeItem, IncomingPayment, Kind, Protocol, Transaction, TransactionStatus,
    UserKey,
};
use crate::payments::watcher::PaymentWatcher;
use crate::payments::withdrawals::WithdrawalProcessor;
use crate::queue::{InMemoryQueue, Queue, QueueError, QueueMessage};
use crate::stellar::{AccountId, Amount, Asset, Keypair, Memo};
use crate::store::{
    Cursors, InMemoryStore, IncomingPayments, Page, StoreError, StoredCursor, TransactionQuery,
    TransactionStore,
};
use crate::time::Timestamp;

const NOW: u64 = 1_700_000_000;

fn amount(s: &str) -> Amount {
    s.parse().expect("amount")
}

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

/// The anchor's rail, the one stub integration of every worker test. Deposits: reports as
/// received whatever `arrived` holds, counts `after_deposit` calls. Withdrawals:
/// `process_withdrawal` answers from a script (default `Completed`), counting calls per
/// transaction; `poll_outgoing_transactions` completes every transaction in `settled`. SEP-31:
/// `execute_outgoing_transaction` answers from its own script (default `Completed`), counting
/// calls per transaction. Deposit refunds: `refund_deposit` answers from a script (default a
/// bank reference), counting calls per transaction. Fees are the configured ones (1 USDC fixed
/// in both scenes), itemized as `fee_items` when some are set.
#[derive(Default)]
struct Rail {
    arrived: Mutex<Vec<ReceivedDeposit>>,
    /// The rail's feed of incoming transfers, served three at a time.
    feed: Mutex<Vec<IncomingTransfer>>,
    after_deposit: Calls,
    calls: Calls,
    answers: Mutex<Vec<Result<WithdrawalOutcome, IntegrationError>>>,
    settled: Mutex<Vec<String>>,
    polls: AtomicUsize,
    outgoing_calls: Calls,
    outgoing_answers: Mutex<Vec<Result<OutgoingOutcome, IntegrationError>>>,
    refund_calls: Calls,
    refund_answers: Mutex<Vec<Result<Option<String>, IntegrationError>>>,
    fee_items: Mutex<Vec<FeeItem>>,
}

impl Rail {
    fn after_deposit_calls(&self, id: &str) -> usize {
        count(&self.after_deposit, id)
    }

    fn answer(&self, answer: Result<WithdrawalOutcome, IntegrationError>) {
        self.answers.lock().expect("lock").push(answer);
    }

    fn calls(&self, id: &str) -> usize {
        count(&self.calls, id)
    }

    fn total_calls(&self) -> usize {
        self.calls.lock().expect("lock").values().sum()
    }

    fn answer_outgoing(&self, answer: Result<OutgoingOutcome, IntegrationError>) {
        self.outgoing_answers.lock().expect("lock").push(answer);
    }

    fn outgoing_calls(&self, id: &str) -> usize {
        count(&self.outgoing_calls, id)
    }

    fn total_outgoing_calls(&self) -> usize {
        self.outgoing_calls.lock().expect("lock").values().sum()
    }

    fn answer_refund(&self, answer: Result<Option<String>, IntegrationError>) {
        self.refund_answers.lock().expect("lock").push(answer);
    }

    fn refund_calls(&self, id: &str) -> usize {
        count(&self.refund_calls, id)
    }
}

/// Calls per transaction id.
type Calls = Mutex<HashMap<String, usize>>;

fn count(calls: &Calls, id: &str) -> usize {
    calls.lock().expect("lock").get(id).copied().unwrap_or(0)
}

fn bump(calls: &Calls, id: &str) {
    *calls
        .lock()
        .expect("lock")
        .entry(id.to_owned())
        .or_default() += 1;
}

/// The next scripted answer, if any is left.
fn scripted<T>(answers: &Mutex<Vec<T>>) -> Option<T> {
    let mut answers = answers.lock().expect("lock");
    (!answers.is_empty()).then(|| answers.remove(0))
}

impl InteractiveFlow for Rail {
    async fn form_for_transaction(
        &self,
        _context: FlowContext<'_>,
    ) -> Result<Option<Form>, IntegrationError> {
        Ok(None)
    }

    async fn after_form_validation(
        &self,
        _transaction: &mut Transaction,
        _form: &Form,
        _values: &FormValues,
        _lang: Lang,
    ) -> Result<(), IntegrationError> {
        Ok(())
    }
}

impl DepositIntegration for Rail {
    async fn poll_pending_deposits(
        &self,
        pending: &[Transaction],
    ) -> Result<Vec<ReceivedDeposit>, IntegrationError> {
        tokio::task::yield_now().await;
        let arrived = self.arrived.lock().expect("lock").clone();
        Ok(arrived
            .into_iter()
            .filter(|d| pending.iter().any(|t| t.id == d.transaction_id))
            .collect())
    }

    async fn incoming_transfers(
        &self,
        after: Option<&str>,
    ) -> Result<Vec<IncomingTransfer>, IntegrationError> {
        tokio::task::yield_now().await;
        let feed = self.feed.lock().expect("lock").clone();
        let start = match after {
            None => 0,
            Some(cursor) => feed
                .iter()
                .position(|t| t.cursor == cursor)
                .map_or(feed.len(), |i| i + 1),
        };
        Ok(feed.into_iter().skip(start).take(3).collect())
    }

    async fn after_deposit(&self, transaction: &Transaction) -> Result<(), IntegrationError> {
        assert_eq!(transaction.status, TransactionStatus::Completed);
        bump(&self.after_deposit, &transaction.id);
        Ok(())
    }

    async fn refund_deposit(
        &self,
        transaction: &Transaction,
        amount: Amount,
    ) -> Result<Option<String>, IntegrationError> {
        assert_eq!(transaction.status, TransactionStatus::PendingAnchor);
        let refund = transaction.pending_refund.as_ref().expect("a refund");
        assert!(refund.started_at.is_some(), "claimed first");
        assert_eq!(refund.amount, amount);
        bump(&self.refund_calls, &transaction.id);
        // Let a concurrent delivery run while the refund is "on the wire".
        tokio::task::yield_now().await;
        scripted(&self.refund_answers)
            .unwrap_or_else(|| Ok(Some(format!("REFUND-{}", &transaction.id[..8]))))
    }
}

impl WithdrawalIntegration for Rail {
    async fn process_withdrawal(
        &self,
        transaction: &Transaction,
    ) -> Result<WithdrawalOutcome, IntegrationError> {
        assert_eq!(transaction.status, TransactionStatus::PendingAnchor);
        assert!(transaction.payout_started_at.is_some(), "claimed first");
        bump(&self.calls, &transaction.id);
        // Let a concurrent delivery run while the payout is "on the wire".
        tokio::task::yield_now().await;
        scripted(&self.answers).unwrap_or_else(|| {
            Ok(WithdrawalOutcome::Completed {
                external_transaction_id: Some(format!("BANK-{}", &transaction.id[..8])),
            })
        })
    }

    async fn poll_outgoing_transactions(
        &self,
        pending: &[Transaction],
    ) -> Result<Vec<CompletedPayout>, IntegrationError> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        let settled = self.settled.lock().expect("lock").clone();
        Ok(pending
            .iter()
            .filter(|t| settled.contains(&t.id))
            .map(|t| CompletedPayout {
                transaction_id: t.id.clone(),
                external_transaction_id: Some("SETTLED".into()),
            })
            .collect())
    }
}

impl ReceiveIntegration for Rail {
    async fn execute_outgoing_transaction(
        &self,
        transaction: &Transaction,
    ) -> Result<OutgoingOutcome, IntegrationError> {
        assert_eq!(transaction.kind, Kind::Receive);
        assert_eq!(transaction.status, TransactionStatus::PendingReceiver);
        assert!(transaction.payout_started_at.is_some(), "claimed first");
        bump(&self.outgoing_calls, &transaction.id);
        // Let a concurrent delivery run while the payout is "on the wire".
        tokio::task::yield_now().await;
        scripted(&self.outgoing_answers).unwrap_or_else(|| {
            Ok(OutgoingOutcome::Completed {
                external_transaction_id: Some(format!("SWIFT-{}", &transaction.id[..8])),
            })
        })
    }
}

impl FeeIntegration for Rail {
    async fn fee_details(&self, request: &FeeRequest<'_>) -> Result<Fee, IntegrationError> {
        Ok(Fee {
            total: self.fee(request).await?,
            breakdown: self.fee_items.lock().expect("lock").clone(),
        })
    }
}

/// Fees from the asset's configuration (the default hook).
struct ConfiguredFees;
impl FeeIntegration for ConfiguredFees {}

/// The in-memory ledger behind a wrapper that yields to the scheduler around every call (so
/// that `join!`ed workers interleave), can slip a transaction in before the next submission, be
/// out of reach for submissions (`down_at_submit`), and record how a transaction of the store
/// looked each time an envelope was submitted (`on_submit` → `seen`).
#[derive(Default)]
struct Ledger {
    inner: InMemoryHorizon,
    slip_in: Mutex<Option<String>>,
    down_at_submit: std::sync::atomic::AtomicBool,
    on_submit: Mutex<Option<(Arc<InMemoryStore>, String)>>,
    seen: Mutex<Vec<Transaction>>,
}

impl Horizon for Ledger {
    async fn account(&self, id: &AccountId) -> Result<Option<AccountRecord>, HorizonError> {
        tokio::task::yield_now().await;
        self.inner.account(id).await
    }

    async fn submit(&self, envelope_xdr: &str) -> Result<Submission, HorizonError> {
        tokio::task::yield_now().await;
        if self.down_at_submit.swap(false, Ordering::SeqCst) {
            return Err(HorizonError::Unreachable("connection refused".into()));
        }
        let watched = self.on_submit.lock().expect("lock").clone();
        if let Some((store, id)) = watched {
            let stored = TransactionStore::get(&*store, &id).await.expect("get");
            self.seen.lock().expect("lock").extend(stored);
        }
        let slip_in = self.slip_in.lock().expect("lock").take();
        if let Some(other) = slip_in {
            assert!(matches!(
                self.inner.submit(&other).await?,
                Submission::Applied { .. }
            ));
        }
        let answer = self.inner.submit(envelope_xdr).await;
        tokio::task::yield_now().await;
        answer
    }

    async fn transaction(&self, hash: &str) -> Result<Option<TransactionRecord>, HorizonError> {
        tokio::task::yield_now().await;
        self.inner.transaction(hash).await
    }

    async fn payments(
        &self,
        account: &AccountId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, HorizonError> {
        self.inner.payments(account, cursor, limit).await
    }

    async fn latest_payment_cursor(
        &self,
        account: &AccountId,
    ) -> Result<Option<String>, HorizonError> {
        self.inner.latest_payment_cursor(account).await
    }

    async fn base_fee(&self) -> Result<u32, HorizonError> {
        self.inner.base_fee().await
    }
}

/// A queue whose `fail_at`-th send (1-based) fails, as a crash would interrupt the watcher.
#[derive(Default)]
struct FlakyQueue {
    inner: InMemoryQueue,
    sends: AtomicUsize,
    fail_at: AtomicUsize,
}

impl Queue for FlakyQueue {
    async fn send(&self, message: &QueueMessage) -> Result<(), QueueError> {
        let n = self.sends.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.fail_at.load(Ordering::SeqCst) {
            return Err(QueueError::Unavailable("crash".into()));
        }
        self.inner.send(message).await
    }
}

/// The in-memory store, yielding to the scheduler before every call, so that two workers on
/// one thread interleave between their reads and their conditional writes.
#[derive(Default)]
struct YieldingStore(InMemoryStore);

async fn pause() {
    tokio::task::yield_now().await;
}

impl TransactionStore for YieldingStore {
    async fn insert(&self, transaction: &Transaction) -> Result<(), StoreError> {
        pause().await;
        self.0.insert(transaction).await
    }
    async fn get(&self, id: &str) -> Result<Option<Transaction>, StoreError> {
        pause().await;
        TransactionStore::get(&self.0, id).await
    }
    async fn update(
        &self,
        transaction: &mut Transaction,
        expected: TransactionStatus,
    ) -> Result<(), StoreError> {
        pause().await;
        TransactionStore::update(&self.0, transaction, expected).await
    }
    async fn list_for_user(
        &self,
        query: &TransactionQuery,
    ) -> Result<Page<Transaction>, StoreError> {
        pause().await;
        self.0.list_for_user(query).await
    }
    async fn list_by_status(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Transaction>, StoreError> {
        pause().await;
        self.0.list_by_status(kind, status, limit, cursor).await
    }
    async fn list_by_status_newest_first(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Transaction>, StoreError> {
        pause().await;
        self.0
            .list_by_status_newest_first(kind, status, limit, cursor)
            .await
    }
    async fn find_by_receiving_memo(
        &self,
        account: &AccountId,
        memo_type: &str,
        memo: &str,
    ) -> Result<Option<Transaction>, StoreError> {
        pause().await;
        self.0
            .find_by_receiving_memo(account, memo_type, memo)
            .await
    }
    async fn find_by_stellar_transaction_id(
        &self,
        hash: &str,
    ) -> Result<Option<Transaction>, StoreError> {
        pause().await;
        self.0.find_by_stellar_transaction_id(hash).await
    }
    async fn find_by_external_id(&self, id: &str) -> Result<Option<Transaction>, StoreError> {
        pause().await;
        self.0.find_by_external_id(id).await
    }
}

impl Cursors for YieldingStore {
    async fn cursor(&self, name: &str) -> Result<Option<StoredCursor>, StoreError> {
        pause().await;
        self.0.cursor(name).await
    }
    async fn save_cursor(
        &self,
        name: &str,
        value: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        pause().await;
        self.0.save_cursor(name, value, expected).await
    }
}

impl IncomingPayments for YieldingStore {
    async fn record(&self, payment: &IncomingPayment) -> Result<bool, StoreError> {
        pause().await;
        self.0.record(payment).await
    }
    async fn get_payment(&self, id: &str) -> Result<Option<IncomingPayment>, StoreError> {
        pause().await;
        self.0.get_payment(id).await
    }
    async fn payments_for_transaction(
        &self,
        transaction_id: &str,
    ) -> Result<Vec<IncomingPayment>, StoreError> {
        pause().await;
        self.0.payments_for_transaction(transaction_id).await
    }
    async fn list_needing_attention(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<IncomingPayment>, StoreError> {
        pause().await;
        self.0.list_needing_attention(limit, cursor).await
    }
}

// ------------------------------------------------------------------------------------------
// The scene: an issuer, a distribution account, a user, USDC with a 1 USDC withdrawal fee
// ------------------------------------------------------------------------------------------

/// Shared by [`withdrawals`] and [`receives`] (the SEP-31 side watches the same account and
/// asset, which also has `receive` settings: a 1 USDC fee).
struct Scene<S> {
    store: Arc<S>,
    horizon: Arc<InMemoryHorizon>,
    clock: Arc<FixedClock>,
    issuer: Keypair,
    distribution: Keypair,
    user: Keypair,
    usdc: Asset,
    assets: Vec<AssetConfig>,
}

impl<S> Scene<S>
where
    S: TransactionStore + Cursors + IncomingPayments + Default,
{
    fn new() -> Self {
        let issuer = Keypair::random();
        let distribution = Keypair::random();
        let user = Keypair::random();
        let usdc = Asset::credit("USDC", issuer.account_id()).expect("asset");
        let assets: Vec<AssetConfig> = serde_json::from_value(serde_json::json!([{
            "code": "USDC",
            "issuer": issuer.account_id().to_string(),
            "distribution_account": distribution.account_id().to_string(),
            "seps": ["sep24", "sep31"],
            "withdraw": {"fee_fixed": 1},
            "deposit": {},
            "receive": {"fee_fixed": 1}
        }]))
        .expect("asset config");
        let horizon = Arc::new(InMemoryHorizon::default());
        horizon.set_now(NOW);
        for account in [&issuer, &distribution, &user] {
            horizon.fund(account.account_id(), amount("100"));
        }
        for account in [&distribution, &user] {
            horizon.add_trustline(&account.account_id(), &usdc, amount("1000000"), true);
        }
        Self {
            store: Arc::new(S::default()),
            horizon,
            clock: Arc::new(FixedClock::at(NOW)),
            issuer,
            distribution,
            user,
            usdc,
            assets,
        }
    }

    /// A watcher queueing withdrawals on `queue` (SEP-31 payments on a queue of their own,
    /// unread).
    fn watcher<Q: Queue>(
        &self,
        queue: Arc<Q>,
    ) -> PaymentWatcher<S, InMemoryHorizon, Q, ConfiguredFees, InMemoryQueue> {
        self.watcher_with(queue, Arc::new(InMemoryQueue::default()))
    }

    /// A watcher queueing withdrawals on `withdrawals` and SEP-31 payments on `outgoing`.
    fn watcher_with<Q: Queue, O: Queue>(
        &self,
        withdrawals: Arc<Q>,
        outgoing: Arc<O>,
    ) -> PaymentWatcher<S, InMemoryHorizon, Q, ConfiguredFees, O> {
        PaymentWatcher::new(
            self.store.clone(),
            self.horizon.clone(),
            withdrawals,
            outgoing,
            Arc::new(ConfiguredFees),
            self.assets.clone(),
            self.clock.clone(),
        )
    }

    fn processor(&self, rail: Arc<Rail>) -> WithdrawalProcessor<S, Rail> {
        WithdrawalProcessor::new(self.store.clone(), rail, self.clock.clone())
    }

    fn dist(&self) -> AccountId {
        self.distribution.account_id()
    }

    /// A withdrawal waiting for the user's payment of `amount_in`.
    async fn withdrawal(&self, amount_in: &str) -> Transaction {
        let mut tx = Transaction::new(
            Protocol::Sep24,
            Kind::Withdrawal,
            TransactionStatus::PendingUserTransferStart,
            UserKey {
                account: self.user.account_id(),
                memo: None,
            },
            self.usdc.clone(),
            Timestamp::from_secs(NOW),
        );
        tx.amount_in = Some(amount(amount_in));
        tx.amount_out = amount(amount_in).checked_sub(amount("1"));
        tx.receiving_account = Some(self.dist());
        tx.receiving_memo_type = Some("hash".into());
        tx.receiving_memo = Some(withdraw_memo(&tx.id));
        self.store.insert(&tx).await.expect("insert");
        tx
    }

    async fn get(&self, id: &str) -> Transaction {
        TransactionStore::get(&*self.store, id)
            .await
            .expect("get")
            .expect("exists")
    }

    /// A payment record as Horizon would list it (no effect on balances).
    fn record(&self, kind: PaymentKind, asset: &Asset, value: &str, memo: Memo) -> PaymentRecord {
        self.record_with(kind, asset, value, memo, |_| {})
    }

    /// As `record`, changed by `edit` before it is listed.
    fn record_with(
        &self,
        kind: PaymentKind,
        asset: &Asset,
        value: &str,
        memo: Memo,
        edit: impl FnOnce(&mut PaymentRecord),
    ) -> PaymentRecord {
        let hash: [u8; 32] = rand_bytes();
        let mut record = PaymentRecord {
            id: String::new(),
            paging_token: String::new(),
            kind,
            successful: true,
            transaction_hash: hex::encode(hash),
            from: Some(self.user.account_id()),
            to: Some(self.dist()),
            to_muxed_id: None,
            asset: Some(asset.clone()),
            amount: Some(amount(value)),
            memo,
            return_memo: None,
            fee_bump: false,
            created_at: Timestamp::from_secs(NOW),
        };
        edit(&mut record);
        self.horizon.record_payment(record)
    }

    /// The user pays `value` USDC for `tx` with its memo.
    fn pay(&self, tx: &Transaction, value: &str) -> PaymentRecord {
        self.record(PaymentKind::Payment, &self.usdc, value, memo_of(tx))
    }

    async fn attention(&self) -> Vec<IncomingPayment> {
        self.store
            .list_needing_attention(100, None)
            .await
            .expect("list")
            .items
    }

    /// `tx` paid on Stellar (a random transaction hash): moved to `status`, the worker's
    /// working status, waiting for its payout.
    async fn paid(&self, mut tx: Transaction, status: TransactionStatus) -> Transaction {
        let before = tx.status;
        tx.status = status;
        tx.stellar_transaction_id = Some(hex::encode(rand_bytes()));
        TransactionStore::update(&*self.store, &mut tx, before)
            .await
            .unwrap();
        tx
    }

    /// `tx` claimed for its payout at `NOW` by a delivery that never finished.
    async fn claimed(&self, mut tx: Transaction) -> Transaction {
        tx.payout_started_at = Some(Timestamp::from_secs(NOW));
        let status = tx.status;
        TransactionStore::update(&*self.store, &mut tx, status)
            .await
            .unwrap();
        tx
    }
}

fn memo_of(tx: &Transaction) -> Memo {
    Memo::from_sep(
        tx.receiving_memo_type.as_deref(),
        tx.receiving_memo.as_deref(),
    )
    .expect("memo")
}

/// A payment of `value` `asset` from `from` to `to` with `memo`, signed with the next sequence
/// number of `from` on `ledger`: its envelope and hash (for payments made outside the anchor).
async fn payment_from(
    ledger: &InMemoryHorizon,
    from: &Keypair,
    to: crate::stellar::MuxedAccount,
    asset: &Asset,
    value: &str,
    memo: Memo,
) -> crate::stellar::SignedTransaction {
    let source = from.account_id();
    let sequence = ledger
        .account(&source)
        .await
        .expect("account")
        .expect("exists")
        .sequence;
    let spec = crate::stellar::PaymentSpec {
        source,
        sequence: sequence + 1,
        fee_per_op: 100,
        time_bounds: (0, 0),
        memo,
        operation_source: source,
        operations: vec![crate::stellar::Outgoing::Payment {
            destination: to,
            asset: asset.clone(),
            amount: amount(value),
        }],
    };
    crate::stellar::build_signed(&spec, ledger.network(), &[from]).expect("sign")
}

fn rand_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("random");
    bytes
}

fn ids(messages: &[QueueMessage]) -> Vec<String> {
    let mut ids: Vec<String> = messages.iter().map(|m| m.transaction_id.clone()).collect();
    ids.sort();
    ids
}

/// The queue message of `tx` (its id and kind).
fn message(tx: &Transaction) -> QueueMessage {
    QueueMessage::new(tx.id.clone(), tx.kind)
}
