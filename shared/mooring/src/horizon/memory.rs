//! A small ledger in memory behind the Horizon port, for unit tests of everything that reads
//! accounts, submits transactions or watches payments.
//!
//! Submissions are validated and applied much as stellar-core does, for the operations an anchor
//! sends: `Payment`, `CreateAccount` and `CreateClaimableBalance` (unconditional claimants only
//! are recorded; anything else is `op_not_supported`). Each applied transaction closes a ledger.
//! Checked, in order: decoding (`tx_malformed`, v1 envelopes only), time bounds
//! (`tx_too_early`, `tx_too_late`), operations (`tx_missing_operation`), fee
//! (`tx_insufficient_fee`), source (`tx_no_source_account`), sequence (`tx_bad_seq`), signatures
//! (ed25519 signers of the transaction source and every operation source, weights against the low
//! and medium thresholds: `tx_bad_auth`; a signature of no such signer: `tx_bad_auth_extra`),
//! the fee balance (`tx_insufficient_balance`). Then the fee is charged and the sequence
//! consumed, and the operations run; if one fails none of their effects remain (`tx_failed`,
//! recorded as an unsuccessful transaction). Reserves: (2 + trustlines) x 0.5 XLM stay unspent.
//!
//! Resubmitting a landed envelope answers its outcome again without applying it twice, as Horizon
//! does. Test switches: [`SubmitFault`]s, [`InMemoryHorizon::set_unavailable`], a settable clock.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::{
    AccountRecord, Balance, Horizon, HorizonError, PaymentKind, PaymentRecord, Signer, SignerKey,
    Submission, Thresholds, TransactionRecord, MAX_PAGE_LIMIT,
};
use crate::stellar::{
    claimable_balance_id, decode_envelope, transaction_hash, verify_decorated, xdr, AccountId,
    Amount, Asset, Memo, MuxedAccount, Network,
};
use crate::time::Timestamp;

const BASE_RESERVE: i64 = 5_000_000;

/// What the next submission does instead of the usual, queued in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitFault {
    /// Applied as usual, but answered [`Submission::Unknown`] (Horizon's 504 after the
    /// transaction made it into a ledger).
    TimeoutAfterApplying,
    /// Answered [`Submission::Unknown`] and never applied (lost on the way).
    TimeoutWithoutApplying,
    /// Refused with these result codes, nothing applied (e.g. `tx_insufficient_fee`).
    Reject {
        transaction: String,
        operations: Vec<String>,
    },
}

/// A claimable balance created on the in-memory ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimableBalanceRecord {
    /// Horizon's id (see [`claimable_balance_id`]).
    pub id: String,
    pub asset: Asset,
    pub amount: Amount,
    pub claimants: Vec<AccountId>,
    pub sponsor: AccountId,
}

/// The in-memory ledger; `Default` is on the testnet passphrase.
#[derive(Debug)]
pub struct InMemoryHorizon {
    network: Network,
    state: Mutex<Ledger>,
    unavailable: AtomicBool,
}

#[derive(Debug)]
struct Ledger {
    accounts: HashMap<AccountId, AccountRecord>,
    transactions: HashMap<String, (TransactionRecord, Submission)>,
    payments: Vec<PaymentRecord>,
    claimable_balances: BTreeMap<String, ClaimableBalanceRecord>,
    ledger: u32,
    next_operation: u64,
    now: Option<u64>,
    base_fee: u32,
    faults: VecDeque<SubmitFault>,
    submitted: Vec<String>,
}

impl Default for InMemoryHorizon {
    fn default() -> Self {
        Self::new(Network::testnet())
    }
}

impl InMemoryHorizon {
    pub fn new(network: Network) -> Self {
        Self {
            network,
            state: Mutex::new(Ledger {
                accounts: HashMap::new(),
                transactions: HashMap::new(),
                payments: Vec::new(),
                claimable_balances: BTreeMap::new(),
                ledger: 1,
                next_operation: 1,
                now: None,
                base_fee: 100,
                faults: VecDeque::new(),
                submitted: Vec::new(),
            }),
            unavailable: AtomicBool::new(false),
        }
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Puts (or replaces) an account as given.
    pub fn insert(&self, account: AccountRecord) {
        self.lock().accounts.insert(account.account_id, account);
    }

    /// Creates an account holding `xlm`, with its master key as only signer (weight 1,
    /// thresholds 0) and the sequence number a new account gets (ledger << 32); for an existing
    /// account, sets its XLM balance to `xlm`.
    pub fn fund(&self, account: AccountId, xlm: Amount) {
        let mut state = self.lock();
        let sequence = i64::from(state.ledger) << 32;
        let record = state
            .accounts
            .entry(account)
            .or_insert_with(|| new_account(account, sequence));
        set_balance(record, &Asset::Native, xlm);
    }

    /// Adds a trustline (balance 0) or changes its limit and authorization.
    pub fn add_trustline(
        &self,
        account: &AccountId,
        asset: &Asset,
        limit: Amount,
        authorized: bool,
    ) {
        let mut state = self.lock();
        let Some(record) = state.accounts.get_mut(account) else {
            panic!("add_trustline: {account} does not exist");
        };
        match record.balances.iter_mut().find(|b| &b.asset == asset) {
            Some(line) => {
                line.limit = Some(limit);
                line.is_authorized = authorized;
            }
            None => record.balances.push(Balance {
                asset: asset.clone(),
                balance: Amount::ZERO,
                limit: Some(limit),
                is_authorized: authorized,
            }),
        }
    }

    /// The account's balance of `asset` (`None`: no such account or trustline; an issuer holds
    /// an unlimited amount of its own asset, shown as the largest amount).
    pub fn balance(&self, account: &AccountId, asset: &Asset) -> Option<Amount> {
        let state = self.lock();
        let record = state.accounts.get(account)?;
        if asset.issuer() == Some(account) {
            return Some(Amount::from_stroops(i64::MAX));
        }
        record.balance(asset).map(|b| b.balance)
    }

    pub fn claimable_balances(&self) -> Vec<ClaimableBalanceRecord> {
        self.lock().claimable_balances.values().cloned().collect()
    }

    /// Every transaction in the ledger (successful or not), in no particular order.
    pub fn transactions(&self) -> Vec<TransactionRecord> {
        self.lock()
            .transactions
            .values()
            .map(|(record, _)| record.clone())
            .collect()
    }

    /// Every envelope given to `submit`, duplicates included, in order.
    pub fn submitted(&self) -> Vec<String> {
        self.lock().submitted.clone()
    }

    /// Queues a fault for the next submission that would otherwise be applied (resubmissions of
    /// a landed envelope are answered from the ledger and take no fault).
    pub fn push_submit_fault(&self, fault: SubmitFault) {
        self.lock().faults.push_back(fault);
    }

    /// The next new submission lands, but answers as a 504 would.
    pub fn time_out_next_submission(&self) {
        self.push_submit_fault(SubmitFault::TimeoutAfterApplying);
    }

    /// The next new submission is refused with these codes.
    pub fn reject_next_submission(&self, transaction: &str, operations: &[&str]) {
        self.push_submit_fault(SubmitFault::Reject {
            transaction: transaction.to_owned(),
            operations: operations.iter().map(|s| (*s).to_owned()).collect(),
        });
    }

    /// Fixes the ledger's clock (Unix seconds) for time bounds and `created_at`; the system clock
    /// otherwise.
    pub fn set_now(&self, secs: u64) {
        self.lock().now = Some(secs);
    }

    /// What `base_fee` answers (100 by default).
    pub fn set_base_fee(&self, fee: u32) {
        self.lock().base_fee = fee;
    }

    /// Appends a payment record as given except for its `id` and `paging_token` (the next ones,
    /// returned), with no effect on balances: for watcher tests of what submissions here do not
    /// produce (path payments, fee bumps, failed transactions, other networks' quirks).
    pub fn record_payment(&self, mut record: PaymentRecord) -> PaymentRecord {
        let mut state = self.lock();
        let token = state.next_token();
        record.id = token.clone();
        record.paging_token = token;
        state.payments.push(record.clone());
        record
    }

    /// Makes every later call fail as if Horizon were down.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_available(&self) -> Result<(), HorizonError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(HorizonError::Unreachable(
                "in-memory Horizon is down".into(),
            ));
        }
        Ok(())
    }

    fn submit_now(&self, envelope_xdr: &str) -> Submission {
        let mut state = self.lock();
        state.submitted.push(envelope_xdr.to_owned());
        let Ok(xdr::TransactionEnvelope::Tx(envelope)) = decode_envelope(envelope_xdr) else {
            return rejected("tx_malformed", Vec::new());
        };
        let Ok(hash) = transaction_hash(&envelope.tx, &self.network) else {
            return rejected("tx_malformed", Vec::new());
        };
        let hash_hex = hex::encode(hash);
        if let Some((_, outcome)) = state.transactions.get(&hash_hex) {
            return outcome.clone();
        }
        let fault = state.faults.pop_front();
        match fault {
            Some(SubmitFault::Reject {
                transaction,
                operations,
            }) => return rejected(&transaction, operations),
            Some(SubmitFault::TimeoutWithoutApplying) => return Submission::Unknown,
            Some(SubmitFault::TimeoutAfterApplying) | None => {}
        }
        let outcome = state.apply(&envelope, hash, &hash_hex);
        if fault == Some(SubmitFault::TimeoutAfterApplying) {
            return Submission::Unknown;
        }
        outcome
    }
}

fn rejected(transaction: &str, operations: Vec<String>) -> Submission {
    Submission::Rejected {
        transaction: transaction.to_owned(),
        operations,
    }
}

fn new_account(account: AccountId, sequence: i64) -> AccountRecord {
    AccountRecord {
        account_id: account,
        sequence,
        thresholds: Thresholds::default(),
        signers: vec![Signer {
            key: SignerKey::Ed25519(account),
            weight: 1,
        }],
        balances: vec![Balance {
            asset: Asset::Native,
            balance: Amount::ZERO,
            limit: None,
            is_authorized: true,
        }],
    }
}

fn set_balance(record: &mut AccountRecord, asset: &Asset, amount: Amount) {
    if let Some(line) = record.balances.iter_mut().find(|b| &b.asset == asset) {
        line.balance = amount;
    }
}

fn native(record: &AccountRecord) -> i64 {
    record
        .balance(&Asset::Native)
        .map_or(0, |b| b.balance.stroops())
}

/// Native balance above the reserve.
fn spendable(record: &AccountRecord) -> i64 {
    let trustlines = record.balances.len().saturating_sub(1) as i64;
    native(record) - (2 + trustlines) * BASE_RESERVE
}

impl Ledger {
    fn next_token(&mut self) -> String {
        let token = (u64::from(self.ledger) << 32) | self.next_operation;
        self.next_operation += 1;
        token.to_string()
    }

    fn now(&self) -> u64 {
        self.now
            .unwrap_or_else(|| Timestamp::now().secs().max(0) as u64)
    }

    fn apply(
        &mut self,
        envelope: &xdr::TransactionV1Envelope,
        hash: [u8; 32],
        hash_hex: &str,
    ) -> Submission {
        let tx = &envelope.tx;
        let now = self.now();
        if let xdr::Preconditions::Time(bounds) = &tx.cond {
            if bounds.min_time.0 > now {
                return rejected("tx_too_early", Vec::new());
            }
            if bounds.max_time.0 != 0 && now > bounds.max_time.0 {
                return rejected("tx_too_late", Vec::new());
            }
        }
        if tx.operations.is_empty() {
            return rejected("tx_missing_operation", Vec::new());
        }
        let min_fee = u64::from(self.base_fee) * tx.operations.len() as u64;
        if u64::from(tx.fee) < min_fee {
            return rejected("tx_insufficient_fee", Vec::new());
        }
        let source = MuxedAccount::from_xdr(&tx.source_account).account;
        let Some(source_record) = self.accounts.get(&source) else {
            return rejected("tx_no_source_account", Vec::new());
        };
        if tx.seq_num.0 != source_record.sequence.wrapping_add(1) {
            return rejected("tx_bad_seq", Vec::new());
        }
        if let Some(code) = self.check_signatures(envelope, &hash, source) {
            return rejected(code, Vec::new());
        }
        if native(source_record) < i64::from(tx.fee) {
            return rejected("tx_insufficient_balance", Vec::new());
        }

        // Fee and sequence number are taken whatever the operations do.
        self.ledger += 1;
        self.next_operation = 1;
        let source_record = self.accounts.get_mut(&source).expect("checked above");
        source_record.sequence = tx.seq_num.0;
        let balance = native(source_record) - i64::from(tx.fee);
        set_balance(source_record, &Asset::Native, Amount::from_stroops(balance));

        let mut accounts = self.accounts.clone();
        let mut balances = self.claimable_balances.clone();
        let mut codes = Vec::new();
        let mut effects = Vec::new();
        for (index, op) in tx.operations.iter().enumerate() {
            let op_source = op
                .source_account
                .as_ref()
                .map_or(source, |m| MuxedAccount::from_xdr(m).account);
            match apply_operation(&mut accounts, self.ledger, op_source, &op.body) {
                Ok(Effect::ClaimableBalance(mut balance)) => {
                    balance.id = claimable_balance_id(&source, tx.seq_num.0, index as u32);
                    balances.insert(balance.id.clone(), balance);
                    codes.push("op_success".to_owned());
                }
                Ok(effect) => {
                    codes.push("op_success".to_owned());
                    effects.push(effect);
                }
                Err(code) => codes.push(code.to_owned()),
            }
        }
        let successful = codes.iter().all(|c| c == "op_success");
        let created_at = Timestamp::from_secs(now);
        let record = TransactionRecord {
            hash: hash_hex.to_owned(),
            successful,
            ledger: self.ledger,
            created_at,
        };
        let outcome = if successful {
            self.accounts = accounts;
            self.claimable_balances = balances;
            let memo = memo_from_xdr(&tx.memo);
            for effect in effects {
                let token = self.next_token();
                let Effect::Payment {
                    kind,
                    from,
                    to,
                    asset,
                    amount,
                } = effect
                else {
                    continue;
                };
                self.payments.push(PaymentRecord {
                    id: token.clone(),
                    paging_token: token,
                    kind,
                    successful: true,
                    transaction_hash: hash_hex.to_owned(),
                    from: Some(from),
                    to: Some(to.account),
                    to_muxed_id: to.id,
                    asset: Some(asset),
                    amount: Some(amount),
                    memo: memo.0.clone(),
                    return_memo: memo.1,
                    fee_bump: false,
                    created_at,
                });
            }
            Submission::Applied {
                hash: hash_hex.to_owned(),
                ledger: self.ledger,
            }
        } else {
            rejected("tx_failed", codes)
        };
        self.transactions
            .insert(hash_hex.to_owned(), (record, outcome.clone()));
        outcome
    }

    /// `None` when the signatures authorize the transaction, else the result code.
    fn check_signatures(
        &self,
        envelope: &xdr::TransactionV1Envelope,
        hash: &[u8; 32],
        source: AccountId,
    ) -> Option<&'static str> {
        // (account, threshold): the transaction source at LOW, each operation source at MEDIUM
        // (payments, account creations and claimable balances are medium operations).
        let mut needed: Vec<(AccountId, u8)> = Vec::new();
        let low = self.accounts.get(&source).map_or(0, |a| a.thresholds.low);
        needed.push((source, low));
        for op in envelope.tx.operations.iter() {
            let op_source = op
                .source_account
                .as_ref()
                .map_or(source, |m| MuxedAccount::from_xdr(m).account);
            let Some(record) = self.accounts.get(&op_source) else {
                continue; // op_no_source_account at application
            };
            needed.push((op_source, record.thresholds.medium));
        }
        let mut used = vec![false; envelope.signatures.len()];
        for (account, threshold) in needed {
            let Some(record) = self.accounts.get(&account) else {
                continue;
            };
            let mut weight = 0u32;
            for (key, key_weight) in record.ed25519_signers() {
                if key_weight == 0 {
                    continue;
                }
                if let Some(i) = envelope
                    .signatures
                    .iter()
                    .position(|s| verify_decorated(hash, s, &key))
                {
                    used[i] = true;
                    weight += key_weight;
                }
            }
            if weight < u32::from(threshold.max(1)) {
                return Some("tx_bad_auth");
            }
        }
        if used.iter().any(|u| !u) {
            return Some("tx_bad_auth_extra");
        }
        None
    }
}

enum Effect {
    Payment {
        kind: PaymentKind,
        from: AccountId,
        to: MuxedAccount,
        asset: Asset,
        amount: Amount,
    },
    ClaimableBalance(ClaimableBalanceRecord),
}

/// Moves `amount` of `asset` out of `from` (the issuer mints).
fn debit(
    accounts: &mut HashMap<AccountId, AccountRecord>,
    from: AccountId,
    asset: &Asset,
    amount: i64,
) -> Result<(), &'static str> {
    let record = accounts.get_mut(&from).ok_or("op_no_source_account")?;
    match asset {
        Asset::Native => {
            if spendable(record) < amount {
                return Err("op_underfunded");
            }
            let left = native(record) - amount;
            set_balance(record, asset, Amount::from_stroops(left));
        }
        Asset::Credit { issuer, .. } if *issuer == from => {}
        Asset::Credit { .. } => {
            let line = record
                .balances
                .iter_mut()
                .find(|b| &b.asset == asset)
                .ok_or("op_src_no_trust")?;
            if !line.is_authorized {
                return Err("op_src_not_authorized");
            }
            if line.balance.stroops() < amount {
                return Err("op_underfunded");
            }
            line.balance = Amount::from_stroops(line.balance.stroops() - amount);
        }
    }
    Ok(())
}

/// Moves `amount` of `asset` into `to` (the issuer burns).
fn credit(
    accounts: &mut HashMap<AccountId, AccountRecord>,
    to: AccountId,
    asset: &Asset,
    amount: i64,
) -> Result<(), &'static str> {
    let record = accounts.get_mut(&to).ok_or("op_no_destination")?;
    if asset.issuer() == Some(&to) {
        return Ok(());
    }
    let line = record
        .balances
        .iter_mut()
        .find(|b| &b.asset == asset)
        .ok_or("op_no_trust")?;
    if !line.is_authorized {
        return Err("op_not_authorized");
    }
    let total = line
        .balance
        .stroops()
        .checked_add(amount)
        .ok_or("op_line_full")?;
    if line.limit.is_some_and(|limit| total > limit.stroops()) {
        return Err("op_line_full");
    }
    line.balance = Amount::from_stroops(total);
    Ok(())
}

fn apply_operation(
    accounts: &mut HashMap<AccountId, AccountRecord>,
    ledger: u32,
    source: AccountId,
    body: &xdr::OperationBody,
) -> Result<Effect, &'static str> {
    if !accounts.contains_key(&source) {
        return Err("op_no_source_account");
    }
    match body {
        xdr::OperationBody::Payment(op) => {
            let to = MuxedAccount::from_xdr(&op.destination);
            let asset = asset_from_xdr(&op.asset).ok_or("op_malformed")?;
            if op.amount <= 0 {
                return Err("op_malformed");
            }
            if !accounts.contains_key(&to.account) {
                return Err("op_no_destination");
            }
            if asset.issuer().is_some_and(|i| !accounts.contains_key(i)) {
                return Err("op_no_issuer");
            }
            debit(accounts, source, &asset, op.amount)?;
            credit(accounts, to.account, &asset, op.amount)?;
            Ok(Effect::Payment {
                kind: PaymentKind::Payment,
                from: source,
                to,
                asset,
                amount: Amount::from_stroops(op.amount),
            })
        }
        xdr::OperationBody::CreateAccount(op) => {
            let destination = AccountId::from_xdr(&op.destination);
            if op.starting_balance <= 0 {
                return Err("op_malformed");
            }
            if accounts.contains_key(&destination) {
                return Err("op_already_exists");
            }
            if op.starting_balance < 2 * BASE_RESERVE {
                return Err("op_low_reserve");
            }
            debit(accounts, source, &Asset::Native, op.starting_balance)?;
            // As in stellar-core, a new account's sequence number is its ledger's << 32.
            let mut record = new_account(destination, i64::from(ledger) << 32);
            set_balance(
                &mut record,
                &Asset::Native,
                Amount::from_stroops(op.starting_balance),
            );
            accounts.insert(destination, record);
            Ok(Effect::Payment {
                kind: PaymentKind::CreateAccount,
                from: source,
                to: destination.into(),
                asset: Asset::Native,
                amount: Amount::from_stroops(op.starting_balance),
            })
        }
        xdr::OperationBody::CreateClaimableBalance(op) => {
            let asset = asset_from_xdr(&op.asset).ok_or("op_malformed")?;
            if op.amount <= 0 || op.claimants.is_empty() {
                return Err("op_malformed");
            }
            let claimants = op
                .claimants
                .iter()
                .map(|xdr::Claimant::ClaimantTypeV0(c)| AccountId::from_xdr(&c.destination))
                .collect();
            if let Asset::Credit { .. } = asset {
                let record = accounts.get(&source).ok_or("op_no_source_account")?;
                if asset.issuer() != Some(&source) && record.balance(&asset).is_none() {
                    return Err("op_no_trust");
                }
            }
            debit(accounts, source, &asset, op.amount).map_err(|code| match code {
                "op_src_no_trust" => "op_no_trust",
                "op_src_not_authorized" => "op_not_authorized",
                other => other,
            })?;
            Ok(Effect::ClaimableBalance(ClaimableBalanceRecord {
                id: String::new(),
                asset,
                amount: Amount::from_stroops(op.amount),
                claimants,
                sponsor: source,
            }))
        }
        _ => Err("op_not_supported"),
    }
}

fn asset_from_xdr(asset: &xdr::Asset) -> Option<Asset> {
    let code = |bytes: &[u8]| -> Option<String> {
        let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        String::from_utf8(bytes[..end].to_vec()).ok()
    };
    match asset {
        xdr::Asset::Native => Some(Asset::Native),
        xdr::Asset::CreditAlphanum4(a) => {
            Asset::credit(&code(&a.asset_code.0)?, AccountId::from_xdr(&a.issuer)).ok()
        }
        xdr::Asset::CreditAlphanum12(a) => {
            Asset::credit(&code(&a.asset_code.0)?, AccountId::from_xdr(&a.issuer)).ok()
        }
    }
}

/// The memo as a payment record shows it: the memo, and the bytes of a return memo apart.
fn memo_from_xdr(memo: &xdr::Memo) -> (Memo, Option<[u8; 32]>) {
    match memo {
        xdr::Memo::None => (Memo::None, None),
        xdr::Memo::Text(text) => (
            Memo::Text(String::from_utf8_lossy(text.as_slice()).into_owned()),
            None,
        ),
        xdr::Memo::Id(id) => (Memo::Id(*id), None),
        xdr::Memo::Hash(hash) => (Memo::Hash(hash.0), None),
        xdr::Memo::Return(hash) => (Memo::None, Some(hash.0)),
    }
}

impl Horizon for InMemoryHorizon {
    async fn account(&self, id: &AccountId) -> Result<Option<AccountRecord>, HorizonError> {
        self.check_available()?;
        Ok(self.lock().accounts.get(id).cloned())
    }

    async fn submit(&self, envelope_xdr: &str) -> Result<Submission, HorizonError> {
        self.check_available()?;
        Ok(self.submit_now(envelope_xdr))
    }

    async fn transaction(&self, hash: &str) -> Result<Option<TransactionRecord>, HorizonError> {
        self.check_available()?;
        Ok(self
            .lock()
            .transactions
            .get(&hash.to_ascii_lowercase())
            .map(|(record, _)| record.clone()))
    }

    async fn payments(
        &self,
        account: &AccountId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, HorizonError> {
        self.check_available()?;
        let after = match cursor {
            None => 0,
            Some(cursor) => cursor.parse::<u64>().map_err(|_| HorizonError::Status {
                status: 400,
                detail: "invalid cursor".into(),
            })?,
        };
        let limit = limit.clamp(1, MAX_PAGE_LIMIT) as usize;
        Ok(self
            .lock()
            .payments
            .iter()
            .filter(|p| involves(p, account))
            .filter(|p| p.paging_token.parse::<u64>().is_ok_and(|t| t > after))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn latest_payment_cursor(
        &self,
        account: &AccountId,
    ) -> Result<Option<String>, HorizonError> {
        self.check_available()?;
        Ok(self
            .lock()
            .payments
            .iter()
            .rev()
            .find(|p| involves(p, account))
            .map(|p| p.paging_token.clone()))
    }

    async fn base_fee(&self) -> Result<u32, HorizonError> {
        self.check_available()?;
        Ok(self.lock().base_fee)
    }
}

fn involves(payment: &PaymentRecord, account: &AccountId) -> bool {
    payment.from.as_ref() == Some(account) || payment.to.as_ref() == Some(account)
}
