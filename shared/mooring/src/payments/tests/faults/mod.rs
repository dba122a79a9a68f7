//! The fault-injection suite (issue 17): the real workers (deposit poller, Stellar submitter,
//! payment watcher, withdrawal processor, outgoing-payments worker, their safety nets and the
//! refunds they start) run seeded random scenarios of deposits, withdrawals and SEP-31 payments
//! (some refused by the rail, hence refunded) over [`ports`] that throttle, time out, fail after
//! applying, redeliver, duplicate, delay and kill. After the faults stop, the workers run to
//! quiescence and the invariants are checked: nothing paid twice (ledger and bank), nothing
//! lost, every transaction terminal or resumable, and the ledger's balances equal to the
//! transactions' amounts to the stroop.
//!
//! `MOORING_FAULT_RUNS` sets the number of runs (default [`DEFAULT_RUNS`]),
//! `MOORING_FAULT_SEED` replays one seed; a failure names its seed.

mod ports;
mod rail;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use self::ports::{Faults, FaultyLedger, FaultyStore, SimQueue};
use self::rail::{Payout, SimRail};
use super::{amount, key, memo_of, payment_from, NOW};
use crate::clock::{Clock, FixedClock};
use crate::config::{AssetConfig, Sep24Config};
use crate::horizon::{Horizon, Submission};
use crate::integrations::ReceivedDeposit;
use crate::model::{withdraw_memo, Kind, Protocol, Transaction, TransactionStatus, UserKey};
use crate::payments::outgoing::OutgoingProcessor;
use crate::payments::watcher::PaymentWatcher;
use crate::payments::withdrawals::WithdrawalProcessor;
use crate::payments::{channel_accounts, DepositPoller, PaymentsConfig, Signers, Submitter};
use crate::queue::{DynQueue, QueueMessage};
use crate::stellar::{AccountId, Amount, Asset, Keypair, Memo};
use crate::store::TransactionStore;
use crate::time::Timestamp;

/// Runs in `cargo test` (CI); a long run sets `MOORING_FAULT_RUNS`.
const DEFAULT_RUNS: u64 = 1000;
/// Per mille of port calls failing, of invocations killed.
const FAULT_RATE: u64 = 80;
const KILL_RATE: u64 = 120;
const CHANNELS: u32 = 2;

/// What the scenario does with one transaction.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// The user's bank transfer of `amount_in` arrives.
    Deposit,
    /// The user pays `amount_in` on Stellar; the rail then answers.
    Withdrawal(Payout),
    /// The sending anchor pays `amount_in` on Stellar; the rail then answers.
    Receive(Payout),
}

struct Case {
    id: String,
    plan: Plan,
    amount_in: Amount,
    /// The deposit's memo (`id`), unique in the run.
    memo: u64,
    started: bool,
}

/// One run's world.
struct World {
    faults: Arc<Faults>,
    store: Arc<FaultyStore>,
    ledger: Arc<FaultyLedger>,
    rail: Arc<SimRail>,
    submissions: Arc<SimQueue>,
    withdrawals: Arc<SimQueue>,
    outgoing: Arc<SimQueue>,
    clock: Arc<FixedClock>,
    issuer: Keypair,
    distribution: Keypair,
    channel_seed: Keypair,
    user: Keypair,
    usdc: Asset,
    assets: Vec<AssetConfig>,
    cases: Vec<Case>,
    /// USDC balances after the setup.
    user_start: Amount,
    distribution_start: Amount,
}

impl World {
    async fn new(seed: u64) -> Self {
        let faults = Arc::new(Faults::new(seed, FAULT_RATE, KILL_RATE));
        let issuer = key(30);
        let distribution = key(20);
        let channel_seed = key(10);
        let user = key(40);
        let usdc = Asset::credit("USDC", issuer.account_id()).expect("asset");
        let ledger = Arc::new(FaultyLedger::new(faults.clone()));
        ledger.inner.set_now(NOW);
        for account in [
            issuer.account_id(),
            distribution.account_id(),
            user.account_id(),
        ]
        .into_iter()
        .chain(channel_accounts(&channel_seed, CHANNELS))
        {
            ledger.inner.fund(account, amount("100"));
        }
        for account in [distribution.account_id(), user.account_id()] {
            ledger
                .inner
                .add_trustline(&account, &usdc, amount("10000000"), true);
        }
        let assets: Vec<AssetConfig> = serde_json::from_value(serde_json::json!([{
            "code": "USDC",
            "issuer": issuer.account_id().to_string(),
            "distribution_account": distribution.account_id().to_string(),
            "seps": ["sep24", "sep31"],
            "deposit": {"fee_fixed": 1},
            "withdraw": {"fee_fixed": 1},
            "receive": {"fee_fixed": 1}
        }]))
        .expect("assets");
        let clock = Arc::new(FixedClock::at(NOW));
        let mut world = World {
            store: Arc::new(FaultyStore::new(faults.clone())),
            rail: Arc::new(SimRail::new(faults.clone(), clock.clone())),
            submissions: Arc::new(SimQueue::new(faults.clone())),
            withdrawals: Arc::new(SimQueue::new(faults.clone())),
            outgoing: Arc::new(SimQueue::new(faults.clone())),
            clock,
            faults,
            ledger,
            issuer,
            distribution,
            channel_seed,
            user,
            usdc,
            assets,
            cases: Vec::new(),
            user_start: Amount::ZERO,
            distribution_start: Amount::ZERO,
        };
        let (issuer, user, dist) = (
            world.issuer.clone(),
            world.user.account_id(),
            world.distribution.account_id(),
        );
        world.transfer(&issuer, dist, "100000", Memo::None).await;
        world.transfer(&issuer, user, "10000", Memo::None).await;
        world.user_start = world.usdc_of(&user);
        world.distribution_start = world.usdc_of(&dist);
        // The watcher's first run (no faults outside invocations) marks where history ends.
        world.watcher().watch_payments().await.expect("first watch");
        world
    }

    fn usdc_of(&self, account: &AccountId) -> Amount {
        self.ledger
            .inner
            .balance(account, &self.usdc)
            .unwrap_or(Amount::ZERO)
    }

    /// A payment of `value` USDC made outside the anchor (issuance, the user's payments).
    async fn transfer(&self, from: &Keypair, to: AccountId, value: &str, memo: Memo) {
        let inner = &self.ledger.inner;
        let signed = payment_from(inner, from, to.into(), &self.usdc, value, memo).await;
        let applied = inner.submit(&signed.envelope_xdr).await.expect("submit");
        assert!(matches!(applied, Submission::Applied { .. }), "{applied:?}");
    }

    fn config(&self) -> PaymentsConfig {
        PaymentsConfig {
            channel_count: CHANNELS,
            account_starting_balance: amount("2.01"),
            base_fee: None,
            tx_timeout: Duration::from_secs(300),
            lease: Duration::from_secs(60),
            sep24: Sep24Config {
                token_ttl: Duration::from_secs(300),
                session_ttl: Duration::from_secs(1800),
                account_creation: true,
                claimable_balances: false,
            },
        }
    }

    fn submitter(&self) -> Submitter<FaultyStore, FaultyLedger, SimRail> {
        Submitter::new(
            self.store.clone(),
            self.ledger.clone(),
            self.rail.clone(),
            self.ledger.inner.network().clone(),
            self.config(),
            Signers::new(self.distribution.clone(), &self.channel_seed, CHANNELS),
            self.clock.clone(),
        )
        .with_lookups(2, Duration::ZERO)
    }

    fn poller(&self) -> DepositPoller<FaultyStore, SimQueue, SimRail> {
        DepositPoller::new(
            self.store.clone(),
            self.submissions.clone(),
            self.rail.clone(),
            self.assets.clone(),
            self.clock.clone(),
        )
        .with_page_size(3)
    }

    fn watcher(&self) -> PaymentWatcher<FaultyStore, FaultyLedger, SimQueue, SimRail, SimQueue> {
        PaymentWatcher::new(
            self.store.clone(),
            self.ledger.clone(),
            self.withdrawals.clone(),
            self.outgoing.clone(),
            self.rail.clone(),
            self.assets.clone(),
            self.clock.clone(),
        )
        .with_page_limit(3)
    }

    fn refunds(&self) -> Arc<dyn DynQueue> {
        self.submissions.clone()
    }

    fn processor(&self) -> WithdrawalProcessor<FaultyStore, SimRail> {
        WithdrawalProcessor::new(self.store.clone(), self.rail.clone(), self.clock.clone())
            .with_refunds(self.refunds())
            .with_batch(3)
    }

    fn outgoing_worker(&self) -> OutgoingProcessor<FaultyStore, SimRail> {
        OutgoingProcessor::new(self.store.clone(), self.rail.clone(), self.clock.clone())
            .with_refunds(self.refunds())
            .with_batch(3)
    }

    /// The scenario: 2-6 transactions of random kinds, amounts and rail answers.
    async fn plan(&mut self) {
        let count = 2 + self.faults.below(5);
        for n in 0..count {
            let plan = match self.faults.below(3) {
                0 => Plan::Deposit,
                1 => Plan::Withdrawal(self.payout()),
                _ => Plan::Receive(self.payout()),
            };
            // 1.0000001 to 50 USDC, to the stroop.
            let stroops = 10_000_001 + self.faults.below(490_000_000) as i64;
            let amount_in = Amount::from_stroops(stroops);
            let memo = 1000 + n;
            let id = self.insert(plan, amount_in, memo).await;
            self.cases.push(Case {
                id,
                plan,
                amount_in,
                memo,
                started: false,
            });
        }
    }

    fn payout(&self) -> Payout {
        match self.faults.below(4) {
            0 => Payout::Refuse,
            1 => Payout::External,
            _ => Payout::Complete,
        }
    }

    async fn insert(&self, plan: Plan, amount_in: Amount, memo: u64) -> String {
        let (protocol, kind, status) = match plan {
            Plan::Deposit => (
                Protocol::Sep24,
                Kind::Deposit,
                TransactionStatus::PendingUserTransferStart,
            ),
            Plan::Withdrawal(_) => (
                Protocol::Sep24,
                Kind::Withdrawal,
                TransactionStatus::PendingUserTransferStart,
            ),
            Plan::Receive(_) => (
                Protocol::Sep31,
                Kind::Receive,
                TransactionStatus::PendingSender,
            ),
        };
        let user = UserKey {
            account: self.user.account_id(),
            memo: None,
        };
        let mut t = Transaction::new(
            protocol,
            kind,
            status,
            user,
            self.usdc.clone(),
            Timestamp::from_secs(NOW),
        );
        match plan {
            Plan::Deposit => {
                t.to = Some(self.user.account_id().to_string());
                t.deposit_memo = Some(memo.to_string());
                t.deposit_memo_type = Some("id".into());
            }
            Plan::Withdrawal(payout) | Plan::Receive(payout) => {
                t.amount_in = Some(amount_in);
                t.amount_out = amount_in.checked_sub(amount("1"));
                t.receiving_account = Some(self.distribution.account_id());
                t.receiving_memo_type = Some("hash".into());
                t.receiving_memo = Some(withdraw_memo(&t.id));
                self.rail.plan(&t.id, payout);
            }
        }
        self.store.inner.insert(&t).await.expect("insert");
        t.id
    }

    /// The user's side of case `n`: the deposit's bank transfer arrives, or the payment is made
    /// on Stellar.
    async fn start(&mut self, n: usize) {
        let case = &self.cases[n];
        match case.plan {
            Plan::Deposit => self.rail.arrive(ReceivedDeposit {
                transaction_id: case.id.clone(),
                amount_in: case.amount_in,
                amount_fee: None,
                external_transaction_id: Some(format!("BANK-IN-{}", case.memo)),
            }),
            Plan::Withdrawal(_) | Plan::Receive(_) => {
                let t = self.stored(&case.id).await;
                let value = case.amount_in.to_string();
                let (user, dist) = (self.user.clone(), self.distribution.account_id());
                self.transfer(&user, dist, &value, memo_of(&t)).await;
            }
        }
        self.cases[n].started = true;
    }

    async fn stored(&self, id: &str) -> Transaction {
        TransactionStore::get(&self.store.inner, id)
            .await
            .expect("get")
            .expect("stored")
    }

    fn advance(&self, secs: u64) {
        let now = self.clock.now() + secs;
        self.clock.set(now);
        self.ledger.inner.set_now(now);
    }

    /// One delivery of a message of `queue` to `consume` (sometimes two at once, as SQS may
    /// deliver a duplicate to two instances); the message settles on the outcome.
    async fn deliver<F, Fut, T, E>(&self, queue: &SimQueue, consume: F)
    where
        F: Fn(QueueMessage) -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let Some((message, receives)) = queue.receive() else {
            return;
        };
        let twice = self.faults.active() && self.faults.chance(150);
        if twice {
            let (a, b) = futures_util::future::join(
                self.faults.invoke(consume(message.clone())),
                self.faults.invoke(consume(message.clone())),
            )
            .await;
            let done = matches!(a, Some(Ok(_))) || matches!(b, Some(Ok(_)));
            queue.settle(message, receives, done);
        } else {
            let outcome = self.faults.invoke(consume(message.clone())).await;
            queue.settle(message, receives, matches!(outcome, Some(Ok(_))));
        }
    }

    /// One step of the faulty phase: a user action, a scheduled run, a delivery, or time.
    async fn step(&mut self) {
        match self.faults.below(10) {
            0 => {
                let waiting: Vec<usize> = (0..self.cases.len())
                    .filter(|&n| !self.cases[n].started)
                    .collect();
                if !waiting.is_empty() {
                    let n = waiting[self.faults.below(waiting.len() as u64) as usize];
                    self.start(n).await;
                }
            }
            1 => self.scheduled().await,
            2 | 3 | 9 => self.deliver_submission().await,
            4 => self.deliver_withdrawal().await,
            5 => self.deliver_outgoing().await,
            6 => {
                let watcher = self.watcher();
                self.faults.invoke(watcher.watch_payments()).await;
            }
            7 => {
                let poller = self.poller();
                self.faults.invoke(poller.poll_deposits()).await;
            }
            _ => self.advance(self.faults.below(120)),
        }
    }

    async fn deliver_submission(&self) {
        let submitter = &self.submitter();
        self.deliver(
            &self.submissions,
            |m| async move { submitter.submit(&m).await },
        )
        .await;
    }

    async fn deliver_withdrawal(&self) {
        let processor = &self.processor();
        self.deliver(&self.withdrawals, |m| async move {
            processor.process_withdrawal(&m).await
        })
        .await;
    }

    async fn deliver_outgoing(&self) {
        let worker = &self.outgoing_worker();
        self.deliver(&self.outgoing, |m| async move {
            worker.process_outgoing(&m).await
        })
        .await;
    }

    /// The scheduled safety nets and the payout poller, each its own invocation.
    async fn scheduled(&self) {
        let poller = self.poller();
        let processor = self.processor();
        let worker = self.outgoing_worker();
        let watcher = self.watcher();
        self.faults.invoke(poller.poll_deposits()).await;
        self.faults.invoke(watcher.watch_payments()).await;
        self.faults
            .invoke(processor.recover_stalled_withdrawals(&*self.withdrawals))
            .await;
        self.faults
            .invoke(worker.recover_stalled_outgoing(&*self.outgoing))
            .await;
        self.faults
            .invoke(processor.complete_external_withdrawals())
            .await;
    }

    /// Faults off: time passes, the schedules run and every queue drains, until nothing moves.
    async fn quiesce(&mut self) {
        self.faults.stop();
        for n in 0..self.cases.len() {
            if !self.cases[n].started {
                self.start(n).await;
            }
        }
        for _ in 0..12 {
            if !self.busy().await {
                break;
            }
            self.advance(400);
            self.scheduled().await;
            for _ in 0..200 {
                if self.submissions.len() + self.withdrawals.len() + self.outgoing.len() == 0 {
                    break;
                }
                self.deliver_submission().await;
                self.deliver_withdrawal().await;
                self.deliver_outgoing().await;
            }
        }
    }

    /// Whether a queue holds a message, or a transaction waits for a worker (a
    /// `pending_external` payout waits for one only once the rail paid it).
    async fn busy(&self) -> bool {
        if self.submissions.len() + self.withdrawals.len() + self.outgoing.len() > 0 {
            return true;
        }
        for case in &self.cases {
            let t = self.stored(&case.id).await;
            let waits = match t.status {
                TransactionStatus::PendingExternal => !self.rail.payouts(&t.id).is_empty(),
                status => !status.is_final() && status != TransactionStatus::Error,
            };
            if waits {
                return true;
            }
        }
        false
    }

    /// The invariants; `Err` says which one broke.
    async fn check(&self) -> Result<(), String> {
        let mut user_expected = self.user_start;
        let mut dist_expected = self.distribution_start;
        let user = self.user.account_id();
        let dist = self.distribution.account_id();
        let payments = self
            .ledger
            .inner
            .payments(&user, None, 200)
            .await
            .map_err(|e| e.to_string())?;
        for case in &self.cases {
            let t = self.stored(&case.id).await;
            let what = format!("{:?} {} ({})", case.plan, t.id, t.status.as_str());
            let amount_out = t.amount_out.unwrap_or(Amount::ZERO);
            match case.plan {
                Plan::Deposit => {
                    // Payments to the user carrying this deposit's memo.
                    let paid: Vec<_> = payments
                        .iter()
                        .filter(|p| {
                            p.to.as_ref() == Some(&user)
                                && p.from.as_ref() == Some(&dist)
                                && p.memo == Memo::Id(case.memo)
                        })
                        .collect();
                    match t.status {
                        TransactionStatus::Completed => {
                            if paid.len() != 1 || paid[0].amount != Some(amount_out) {
                                return Err(format!(
                                    "{what}: paid {paid:?}, amount_out {amount_out}"
                                ));
                            }
                            if t.stellar_transaction_id.as_deref()
                                != Some(paid[0].transaction_hash.as_str())
                            {
                                return Err(format!("{what}: recorded hash is not the payment's"));
                            }
                            user_expected = add(user_expected, amount_out)?;
                            dist_expected = sub(dist_expected, amount_out)?;
                        }
                        _ => return Err(format!("{what}: not completed, payments {paid:?}")),
                    }
                }
                Plan::Withdrawal(payout) | Plan::Receive(payout) => {
                    user_expected = sub(user_expected, case.amount_in)?;
                    dist_expected = add(dist_expected, case.amount_in)?;
                    let bank = self.rail.payouts(&t.id);
                    if bank.len() > 1 {
                        return Err(format!("{what}: paid out {} times", bank.len()));
                    }
                    match (t.status, payout) {
                        (TransactionStatus::Completed, Payout::Complete | Payout::External) => {
                            if bank != [amount_out] {
                                return Err(format!("{what}: bank paid {bank:?}"));
                            }
                        }
                        (TransactionStatus::Refunded, Payout::Refuse) => {
                            let refunds =
                                t.refunds.as_ref().ok_or(format!("{what}: no refunds"))?;
                            if !bank.is_empty() || refunds.payments.len() != 1 {
                                return Err(format!("{what}: bank {bank:?}, refunds {refunds:?}"));
                            }
                            user_expected = add(user_expected, refunds.amount_refunded)?;
                            dist_expected = sub(dist_expected, refunds.amount_refunded)?;
                        }
                        // A claim killed before it reported: handed to the operator, who
                        // checks the rail (resumable by hand).
                        (TransactionStatus::PendingExternal, _)
                            if t.status_message.is_some() && bank.is_empty() => {}
                        _ => {
                            return Err(format!(
                                "{what}: unexpected ending, bank {bank:?}, message {:?}",
                                t.status_message
                            ))
                        }
                    }
                }
            }
        }
        let (user_now, dist_now) = (self.usdc_of(&user), self.usdc_of(&dist));
        if user_now != user_expected || dist_now != dist_expected {
            return Err(format!(
                "balances: user {user_now} (expected {user_expected}), distribution {dist_now} (expected {dist_expected})"
            ));
        }
        Ok(())
    }
}

fn add(a: Amount, b: Amount) -> Result<Amount, String> {
    a.checked_add(b).ok_or_else(|| "overflow".to_owned())
}

fn sub(a: Amount, b: Amount) -> Result<Amount, String> {
    a.checked_sub(b).ok_or_else(|| "overflow".to_owned())
}

/// What the runs went through and came to, for the summary.
#[derive(Debug, Default)]
struct Tally {
    faults: usize,
    kills: usize,
    dead_lettered: usize,
    endings: std::collections::BTreeMap<String, usize>,
}

/// One seeded run: its invariant failure, if any.
async fn run(seed: u64, tally: &mut Tally) -> Result<(), String> {
    let mut world = World::new(seed).await;
    world.plan().await;
    let steps = 20 + world.faults.below(40);
    for _ in 0..steps {
        world.step().await;
    }
    world.quiesce().await;
    world.check().await?;
    tally.faults += world.faults.injected.load(Ordering::SeqCst);
    tally.kills += world.faults.kills.load(Ordering::SeqCst);
    tally.dead_lettered += [&world.submissions, &world.withdrawals, &world.outgoing]
        .iter()
        .map(|q| q.dead_lettered.load(Ordering::SeqCst))
        .sum::<usize>();
    for case in &world.cases {
        let t = world.stored(&case.id).await;
        let ending = format!("{:?} -> {}", case.plan, t.status.as_str());
        *tally.endings.entry(ending).or_default() += 1;
    }
    Ok(())
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}: not a number: {value}")),
    )
}

/// The runs of `seeds`: the seeds that failed (an invariant broken, or a panic). On a thread
/// of its own, with room for the workers' deep futures, each on a fresh single-threaded runtime
/// (a seed replays exactly).
fn run_seeds(seeds: Vec<u64>) -> Vec<u64> {
    let runs = move || {
        let mut failures = Vec::new();
        let mut tally = Tally::default();
        for seed in seeds {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("runtime");
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runtime.block_on(Box::pin(run(seed, &mut tally)))
            }));
            let problem = match outcome {
                Ok(Ok(())) => continue,
                Ok(Err(problem)) => problem,
                Err(_) => "panicked (see above)".to_owned(),
            };
            eprintln!("fault run failed: MOORING_FAULT_SEED={seed}: {problem}");
            failures.push(seed);
        }
        eprintln!("fault runs: {tally:#?}");
        failures
    };
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(runs)
        .expect("thread")
        .join()
        .expect("the runs panicked")
}

#[test]
fn randomized_faults_pay_once_lose_nothing_and_reconcile() {
    let seeds: Vec<u64> = match env_u64("MOORING_FAULT_SEED") {
        Some(seed) => vec![seed],
        None => (1..=env_u64("MOORING_FAULT_RUNS").unwrap_or(DEFAULT_RUNS)).collect(),
    };
    let runs = seeds.len();
    let failures = run_seeds(seeds);
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed; replay with MOORING_FAULT_SEED=<seed>: {failures:?}",
        failures.len(),
    );
}
