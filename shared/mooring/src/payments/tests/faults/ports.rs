//! The fault-injecting ports of the simulation: the in-memory store, ledger and queues behind
//! wrappers that, drawing from one seeded RNG, throttle or time out a call (nothing applied),
//! apply a write and still fail (DynamoDB's timeout after the write, Horizon's 504 after the
//! ledger closed, SQS taking a message it reports as not sent), duplicate a message, or kill the
//! invocation at its Nth port call (before or after the call takes effect).
//!
//! An invocation is one worker call (a queue delivery or a scheduled run), run by
//! [`Faults::invoke`] under a task-local [`Invocation`]; calls made outside one (the scenario's
//! setup and checks) never fail.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use crate::horizon::{
    AccountRecord, Horizon, HorizonError, InMemoryHorizon, PaymentRecord, Submission,
    TransactionRecord,
};
use crate::model::{IncomingPayment, Kind, Transaction, TransactionStatus};
use crate::queue::{Queue, QueueError, QueueMessage};
use crate::stellar::AccountId;
use crate::store::{
    ChannelLease, ChannelLeases, Cursors, InMemoryStore, IncomingPayments, Page, StoreError,
    StoredCursor, TransactionQuery, TransactionStore,
};
use crate::time::Timestamp;

/// SplitMix64: small, seedable, and the same sequence on every platform.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `per_mille / 1000`.
    pub(super) fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// How one port call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Draw {
    Pass,
    /// Throttled or timed out before anything happened.
    Fail,
    /// Applied, then answered with an error (a write only; a read just fails).
    FailAfter,
    /// The process dies before the call takes effect.
    KillBefore,
    /// The call takes effect, then the process dies.
    KillAfter,
}

/// One worker invocation: its port calls so far, the call at which it dies (0: never), and
/// whether it did.
struct Invocation {
    calls: AtomicUsize,
    kill_at: usize,
    killed: AtomicBool,
}

tokio::task_local! {
    static INVOCATION: Arc<Invocation>;
}

/// The seeded source of every fault, shared by the ports.
pub(super) struct Faults {
    rng: Mutex<Rng>,
    /// Off for the quiescence phase: the workers then run on healthy ports.
    active: AtomicBool,
    /// Per mille of port calls that fail.
    rate: u64,
    /// Per mille of invocations killed at a random port call.
    kill_rate: u64,
    /// What was injected, for the failure report.
    pub(super) injected: AtomicUsize,
    pub(super) kills: AtomicUsize,
}

impl Faults {
    pub(super) fn new(seed: u64, rate: u64, kill_rate: u64) -> Self {
        Self {
            rng: Mutex::new(Rng::new(seed)),
            active: AtomicBool::new(true),
            rate,
            kill_rate,
            injected: AtomicUsize::new(0),
            kills: AtomicUsize::new(0),
        }
    }

    pub(super) fn stop(&self) {
        self.active.store(false, Ordering::SeqCst);
    }

    pub(super) fn active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    /// A draw from the shared RNG (the scenario's choices use it too, so one seed replays all).
    pub(super) fn below(&self, n: u64) -> u64 {
        self.rng.lock().expect("rng").below(n)
    }

    pub(super) fn chance(&self, per_mille: u64) -> bool {
        self.rng.lock().expect("rng").chance(per_mille)
    }

    /// Runs one worker invocation: `None` when it was killed (its future dropped at the port
    /// call that killed it; what the ports applied stays applied).
    pub(super) async fn invoke<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let kill_at = if self.active() && self.chance(self.kill_rate) {
            1 + self.below(14) as usize
        } else {
            0
        };
        let invocation = Arc::new(Invocation {
            calls: AtomicUsize::new(0),
            kill_at,
            killed: AtomicBool::new(false),
        });
        let watch = invocation.clone();
        INVOCATION
            .scope(invocation, async move {
                let mut work = pin!(work);
                std::future::poll_fn(|cx| match work.as_mut().poll(cx) {
                    Poll::Ready(value) => Poll::Ready(Some(value)),
                    Poll::Pending if watch.killed.load(Ordering::SeqCst) => Poll::Ready(None),
                    Poll::Pending => Poll::Pending,
                })
                .await
            })
            .await
    }

    /// How the current port call goes, `rate` per mille of calls failing.
    fn draw(&self, write: bool, rate: u64) -> Draw {
        let Ok(invocation) = INVOCATION.try_with(Arc::clone) else {
            return Draw::Pass;
        };
        if !self.active() {
            return Draw::Pass;
        }
        let call = invocation.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rng = self.rng.lock().expect("rng");
        if call == invocation.kill_at {
            self.kills.fetch_add(1, Ordering::SeqCst);
            return if rng.chance(500) {
                Draw::KillBefore
            } else {
                Draw::KillAfter
            };
        }
        if !rng.chance(rate) {
            return Draw::Pass;
        }
        self.injected.fetch_add(1, Ordering::SeqCst);
        if write && rng.chance(500) {
            Draw::FailAfter
        } else {
            Draw::Fail
        }
    }

    /// A port call: `call` is the real one, `fail` the error answered for a failed call.
    async fn port<T, E>(
        &self,
        write: bool,
        fail: impl FnOnce(&mut Rng) -> E,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        self.port_failing(self.rate, write, fail, call).await
    }

    /// [`Self::port`] with its own failure rate.
    async fn port_failing<T, E>(
        &self,
        rate: u64,
        write: bool,
        fail: impl FnOnce(&mut Rng) -> E,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        tokio::task::yield_now().await;
        let draw = self.draw(write, rate);
        match draw {
            Draw::Pass => call.await,
            Draw::Fail => Err(fail(&mut self.rng.lock().expect("rng"))),
            Draw::FailAfter => {
                let _ = call.await;
                Err(fail(&mut self.rng.lock().expect("rng")))
            }
            Draw::KillBefore => die().await,
            Draw::KillAfter => {
                let _ = call.await;
                die().await
            }
        }
    }
}

/// The process dies here: the invocation's future never resumes (see [`Faults::invoke`]).
async fn die<T>() -> T {
    // Called only from a port call inside an invocation.
    let _ = INVOCATION.try_with(|i| i.killed.store(true, Ordering::SeqCst));
    std::future::pending().await
}

fn store_error(rng: &mut Rng) -> StoreError {
    if rng.chance(500) {
        StoreError::Unavailable("ProvisionedThroughputExceededException (injected)".into())
    } else {
        StoreError::Unavailable("timed out (injected)".into())
    }
}

fn horizon_error(rng: &mut Rng) -> HorizonError {
    if rng.chance(500) {
        HorizonError::Status {
            status: 503,
            detail: "injected".into(),
        }
    } else {
        HorizonError::Unreachable("timed out (injected)".into())
    }
}

fn queue_error(_: &mut Rng) -> QueueError {
    QueueError::Unavailable("injected".into())
}

/// The in-memory store behind the faults.
pub(super) struct FaultyStore {
    pub(super) inner: InMemoryStore,
    faults: Arc<Faults>,
}

impl FaultyStore {
    pub(super) fn new(faults: Arc<Faults>) -> Self {
        Self {
            inner: InMemoryStore::default(),
            faults,
        }
    }

    async fn read<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.faults.port(false, store_error, call).await
    }

    async fn write<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.faults.port(true, store_error, call).await
    }
}

impl TransactionStore for FaultyStore {
    async fn insert(&self, transaction: &Transaction) -> Result<(), StoreError> {
        self.write(self.inner.insert(transaction)).await
    }
    async fn get(&self, id: &str) -> Result<Option<Transaction>, StoreError> {
        self.read(TransactionStore::get(&self.inner, id)).await
    }
    async fn update(
        &self,
        transaction: &mut Transaction,
        expected: TransactionStatus,
    ) -> Result<(), StoreError> {
        self.write(TransactionStore::update(&self.inner, transaction, expected))
            .await
    }
    async fn list_for_user(
        &self,
        query: &TransactionQuery,
    ) -> Result<Page<Transaction>, StoreError> {
        self.read(self.inner.list_for_user(query)).await
    }
    async fn list_by_status(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Transaction>, StoreError> {
        self.read(self.inner.list_by_status(kind, status, limit, cursor))
            .await
    }
    async fn list_by_status_newest_first(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Transaction>, StoreError> {
        self.read(
            self.inner
                .list_by_status_newest_first(kind, status, limit, cursor),
        )
        .await
    }
    async fn find_by_receiving_memo(
        &self,
        account: &AccountId,
        memo_type: &str,
        memo: &str,
    ) -> Result<Option<Transaction>, StoreError> {
        self.read(self.inner.find_by_receiving_memo(account, memo_type, memo))
            .await
    }
    async fn find_by_stellar_transaction_id(
        &self,
        hash: &str,
    ) -> Result<Option<Transaction>, StoreError> {
        self.read(self.inner.find_by_stellar_transaction_id(hash))
            .await
    }
    async fn find_by_external_id(&self, id: &str) -> Result<Option<Transaction>, StoreError> {
        self.read(self.inner.find_by_external_id(id)).await
    }
}

impl ChannelLeases for FaultyStore {
    async fn lease(
        &self,
        count: u32,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<ChannelLease>, StoreError> {
        self.write(self.inner.lease(count, holder, now, until))
            .await
    }
    async fn release(&self, lease: &ChannelLease) -> Result<(), StoreError> {
        self.write(self.inner.release(lease)).await
    }
}

impl Cursors for FaultyStore {
    async fn cursor(&self, name: &str) -> Result<Option<StoredCursor>, StoreError> {
        self.read(self.inner.cursor(name)).await
    }
    async fn save_cursor(
        &self,
        name: &str,
        value: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.write(self.inner.save_cursor(name, value, expected))
            .await
    }
}

impl IncomingPayments for FaultyStore {
    async fn record(&self, payment: &IncomingPayment) -> Result<bool, StoreError> {
        self.write(self.inner.record(payment)).await
    }
    async fn get_payment(&self, id: &str) -> Result<Option<IncomingPayment>, StoreError> {
        self.read(self.inner.get_payment(id)).await
    }
    async fn payments_for_transaction(
        &self,
        transaction_id: &str,
    ) -> Result<Vec<IncomingPayment>, StoreError> {
        self.read(self.inner.payments_for_transaction(transaction_id))
            .await
    }
    async fn list_needing_attention(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<IncomingPayment>, StoreError> {
        self.read(self.inner.list_needing_attention(limit, cursor))
            .await
    }
}

/// Per mille of submissions that fail: the submitter's recovery is the suite's main target.
const SUBMIT_FAULT_RATE: u64 = 300;

/// The in-memory ledger behind the faults: reads answer 503 or time out; a submission is
/// refused before it is sent (`Unreachable`), answered `Unknown` and lost, answered `Unknown`
/// and applied a little later (still queued in the network when Horizon gave up: it lands at a
/// later call, if its sequence number and time bounds still allow), or applied and answered
/// `Unknown` (Horizon's 504 after the ledger closed).
pub(super) struct FaultyLedger {
    pub(super) inner: InMemoryHorizon,
    faults: Arc<Faults>,
    /// Envelopes answered `Unknown` that may still land.
    in_flight: Mutex<Vec<String>>,
}

impl FaultyLedger {
    pub(super) fn new(faults: Arc<Faults>) -> Self {
        Self {
            inner: InMemoryHorizon::default(),
            faults,
            in_flight: Mutex::new(Vec::new()),
        }
    }

    /// Now and then, an envelope still in flight reaches a ledger (applied or refused, as the
    /// ledger decides then).
    async fn land_in_flight(&self) {
        let landing = {
            let mut in_flight = self.in_flight.lock().expect("ledger");
            if in_flight.is_empty() || !self.faults.chance(300) {
                None
            } else {
                Some(in_flight.remove(0))
            }
        };
        if let Some(envelope) = landing {
            let _ = self.inner.submit(&envelope).await;
        }
    }
}

impl Horizon for FaultyLedger {
    async fn account(&self, id: &AccountId) -> Result<Option<AccountRecord>, HorizonError> {
        self.land_in_flight().await;
        self.faults
            .port(false, horizon_error, self.inner.account(id))
            .await
    }

    async fn submit(&self, envelope_xdr: &str) -> Result<Submission, HorizonError> {
        let unknown = |rng: &mut Rng| {
            if rng.chance(300) {
                HorizonError::Unreachable("connection refused (injected)".into())
            } else {
                // Marks "answered Unknown" for the mapping below.
                HorizonError::Status {
                    status: 504,
                    detail: "injected".into(),
                }
            }
        };
        self.land_in_flight().await;
        match self
            .faults
            .port_failing(
                SUBMIT_FAULT_RATE,
                true,
                unknown,
                self.inner.submit(envelope_xdr),
            )
            .await
        {
            // A 504 (or a timeout once sent) is `Unknown` by the port's contract; the envelope
            // may still be on its way.
            Err(HorizonError::Status { status: 504, .. }) => {
                if self.faults.chance(500) {
                    let mut in_flight = self.in_flight.lock().expect("ledger");
                    in_flight.push(envelope_xdr.to_owned());
                }
                Ok(Submission::Unknown)
            }
            other => other,
        }
    }

    async fn transaction(&self, hash: &str) -> Result<Option<TransactionRecord>, HorizonError> {
        self.land_in_flight().await;
        self.faults
            .port(false, horizon_error, self.inner.transaction(hash))
            .await
    }

    async fn payments(
        &self,
        account: &AccountId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, HorizonError> {
        self.faults
            .port(
                false,
                horizon_error,
                self.inner.payments(account, cursor, limit),
            )
            .await
    }

    async fn latest_payment_cursor(
        &self,
        account: &AccountId,
    ) -> Result<Option<String>, HorizonError> {
        self.faults
            .port(
                false,
                horizon_error,
                self.inner.latest_payment_cursor(account),
            )
            .await
    }

    async fn base_fee(&self) -> Result<u32, HorizonError> {
        self.faults
            .port(false, horizon_error, self.inner.base_fee())
            .await
    }
}

/// A message waiting in a [`SimQueue`], with its failed deliveries.
#[derive(Debug, Clone)]
struct Waiting {
    message: QueueMessage,
    receives: u32,
}

/// An SQS queue: sends may fail (before or after the message is taken), a message may be
/// stored twice (at-least-once), deliveries come in random order (delays), a message whose
/// delivery failed or was killed comes back, an acknowledgement may be lost (redelivered after
/// success), and after [`MAX_RECEIVES`] failed deliveries a message goes to the dead-letter queue
/// (the workers' safety nets must then find its transaction).
pub(super) struct SimQueue {
    waiting: Mutex<Vec<Waiting>>,
    pub(super) dead_lettered: AtomicUsize,
    faults: Arc<Faults>,
}

/// The redrive policy's `maxReceiveCount`.
const MAX_RECEIVES: u32 = 4;

impl SimQueue {
    pub(super) fn new(faults: Arc<Faults>) -> Self {
        Self {
            waiting: Mutex::new(Vec::new()),
            dead_lettered: AtomicUsize::new(0),
            faults,
        }
    }

    fn push(&self, message: &QueueMessage) {
        self.waiting.lock().expect("queue").push(Waiting {
            message: message.clone(),
            receives: 0,
        });
    }

    pub(super) fn len(&self) -> usize {
        self.waiting.lock().expect("queue").len()
    }

    /// Receives a random waiting message (SQS promises no order), invisible until
    /// [`Self::settle`]d.
    pub(super) fn receive(&self) -> Option<(QueueMessage, u32)> {
        let mut waiting = self.waiting.lock().expect("queue");
        if waiting.is_empty() {
            return None;
        }
        let index = self.faults.below(waiting.len() as u64) as usize;
        let taken = waiting.swap_remove(index);
        Some((taken.message, taken.receives))
    }

    /// After a delivery: `done` (the consumer answered `Ok`) deletes the message, unless the
    /// acknowledgement is lost; otherwise it comes back, or is dead-lettered.
    pub(super) fn settle(&self, message: QueueMessage, receives: u32, done: bool) {
        let lost_ack = self.faults.active() && self.faults.chance(50);
        if done && !lost_ack {
            return;
        }
        let receives = receives + u32::from(!done);
        if receives >= MAX_RECEIVES {
            self.dead_lettered.fetch_add(1, Ordering::SeqCst);
            return;
        }
        self.waiting
            .lock()
            .expect("queue")
            .push(Waiting { message, receives });
    }
}

impl Queue for SimQueue {
    async fn send(&self, message: &QueueMessage) -> Result<(), QueueError> {
        let sent = async {
            self.push(message);
            if self.faults.active() && self.faults.chance(50) {
                self.push(message);
            }
            Ok(())
        };
        self.faults.port(true, queue_error, sent).await
    }
}
