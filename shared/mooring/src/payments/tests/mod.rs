//! The payment workers' tests over the in-memory adapters, in one layout: the doubles every
//! worker test shares are here (the stub rail, the fee hook, the yielding ledger, store and a
//! flaky queue); [`deposits`] drives the poller, the submitter and the trustline re-check,
//! [`withdrawals`] the payment watcher and the withdrawal processor, [`receives`] the SEP-31 side
//! (the watcher's matching and expiry, the outgoing-payments worker, the payout poller).

mod deposits;
mod receives;
mod withdrawals;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::horizon::{
    AccountRecord, Horizon, HorizonError, InMemoryHorizon, PaymentRecord, Submission,
    TransactionRecord,
};
use crate::i18n::Lang;
use crate::integrations::{
    CompletedPayout, DepositIntegration, FeeIntegration, FlowContext, Form, FormValues,
    IntegrationError, InteractiveFlow, OutgoingOutcome, ReceiveIntegration, ReceivedDeposit,
    WithdrawalIntegration, WithdrawalOutcome,
};
use crate::model::{IncomingPayment, Kind, Transaction, TransactionStatus};
use crate::queue::{InMemoryQueue, Queue, QueueError, QueueMessage};
use crate::stellar::{AccountId, Amount, Keypair};
use crate::store::{
    Cursors, InMemoryStore, IncomingPayments, Page, StoreError, StoredCursor, TransactionQuery,
    TransactionStore,
};

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
/// calls per transaction. Fees are the configured ones (1 USDC fixed in both scenes).
#[derive(Default)]
struct Rail {
    arrived: Mutex<Vec<ReceivedDeposit>>,
    after_deposit: Mutex<HashMap<String, usize>>,
    calls: Mutex<HashMap<String, usize>>,
    answers: Mutex<Vec<Result<WithdrawalOutcome, IntegrationError>>>,
    settled: Mutex<Vec<String>>,
    polls: AtomicUsize,
    outgoing_calls: Mutex<HashMap<String, usize>>,
    outgoing_answers: Mutex<Vec<Result<OutgoingOutcome, IntegrationError>>>,
}

impl Rail {
    fn after_deposit_calls(&self, id: &str) -> usize {
        self.after_deposit
            .lock()
            .expect("lock")
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    fn answer(&self, answer: Result<WithdrawalOutcome, IntegrationError>) {
        self.answers.lock().expect("lock").push(answer);
    }

    fn calls(&self, id: &str) -> usize {
        self.calls
            .lock()
            .expect("lock")
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    fn total_calls(&self) -> usize {
        self.calls.lock().expect("lock").values().sum()
    }

    fn answer_outgoing(&self, answer: Result<OutgoingOutcome, IntegrationError>) {
        self.outgoing_answers.lock().expect("lock").push(answer);
    }

    fn outgoing_calls(&self, id: &str) -> usize {
        self.outgoing_calls
            .lock()
            .expect("lock")
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    fn total_outgoing_calls(&self) -> usize {
        self.outgoing_calls.lock().expect("lock").values().sum()
    }
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

    async fn after_deposit(&self, transaction: &Transaction) -> Result<(), IntegrationError> {
        assert_eq!(transaction.status, TransactionStatus::Completed);
        *self
            .after_deposit
            .lock()
            .expect("lock")
            .entry(transaction.id.clone())
            .or_default() += 1;
        Ok(())
    }
}

impl WithdrawalIntegration for Rail {
    async fn process_withdrawal(
        &self,
        transaction: &Transaction,
    ) -> Result<WithdrawalOutcome, IntegrationError> {
        assert_eq!(transaction.status, TransactionStatus::PendingAnchor);
        assert!(transaction.payout_started_at.is_some(), "claimed first");
        *self
            .calls
            .lock()
            .expect("lock")
            .entry(transaction.id.clone())
            .or_default() += 1;
        // Let a concurrent delivery run while the payout is "on the wire".
        tokio::task::yield_now().await;
        let scripted = {
            let mut answers = self.answers.lock().expect("lock");
            (!answers.is_empty()).then(|| answers.remove(0))
        };
        scripted.unwrap_or_else(|| {
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
        *self
            .outgoing_calls
            .lock()
            .expect("lock")
            .entry(transaction.id.clone())
            .or_default() += 1;
        // Let a concurrent delivery run while the payout is "on the wire".
        tokio::task::yield_now().await;
        let scripted = {
            let mut answers = self.outgoing_answers.lock().expect("lock");
            (!answers.is_empty()).then(|| answers.remove(0))
        };
        scripted.unwrap_or_else(|| {
            Ok(OutgoingOutcome::Completed {
                external_transaction_id: Some(format!("SWIFT-{}", &transaction.id[..8])),
            })
        })
    }
}

impl FeeIntegration for Rail {}

/// Fees from the asset's configuration (the default hook).
struct ConfiguredFees;
impl FeeIntegration for ConfiguredFees {}

/// The in-memory ledger behind a wrapper that yields to the scheduler around every call (so
/// that `join!`ed workers interleave) and can slip a transaction in before the next submission.
#[derive(Default)]
struct Ledger {
    inner: InMemoryHorizon,
    slip_in: Mutex<Option<String>>,
}

impl Horizon for Ledger {
    async fn account(&self, id: &AccountId) -> Result<Option<AccountRecord>, HorizonError> {
        tokio::task::yield_now().await;
        self.inner.account(id).await
    }

    async fn submit(&self, envelope_xdr: &str) -> Result<Submission, HorizonError> {
        tokio::task::yield_now().await;
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
    async fn list_needing_attention(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<IncomingPayment>, StoreError> {
        pause().await;
        self.0.list_needing_attention(limit, cursor).await
    }
}
