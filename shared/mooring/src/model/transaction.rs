use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::stellar::{AccountId, Amount, Asset};
use crate::time::Timestamp;

/// Which SEP created the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Sep6,
    Sep24,
    Sep31,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    #[serde(rename = "deposit")]
    Deposit,
    #[serde(rename = "withdrawal")]
    Withdrawal,
    #[serde(rename = "deposit-exchange")]
    DepositExchange,
    #[serde(rename = "withdrawal-exchange")]
    WithdrawalExchange,
    /// SEP-31: the anchor receives a payment and pays out off-chain.
    #[serde(rename = "receive")]
    Receive,
}

impl Kind {
    /// The kinds the deposit workers handle (SEP-6's exchange variant included).
    pub const DEPOSITS: [Kind; 2] = [Kind::Deposit, Kind::DepositExchange];
    /// The kinds the withdrawal workers handle.
    pub const WITHDRAWALS: [Kind; 2] = [Kind::Withdrawal, Kind::WithdrawalExchange];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deposit => "deposit",
            Kind::Withdrawal => "withdrawal",
            Kind::DepositExchange => "deposit-exchange",
            Kind::WithdrawalExchange => "withdrawal-exchange",
            Kind::Receive => "receive",
        }
    }

    pub fn is_deposit(self) -> bool {
        matches!(self, Kind::Deposit | Kind::DepositExchange)
    }
}

/// Every status of SEP-24 (5.10), SEP-6 (6.7) and SEP-31 (7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionStatus {
    Incomplete,
    PendingUserTransferStart,
    PendingUserTransferComplete,
    PendingExternal,
    PendingAnchor,
    OnHold,
    PendingStellar,
    PendingTrust,
    PendingUser,
    PendingCustomerInfoUpdate,
    PendingTransactionInfoUpdate,
    PendingSender,
    PendingReceiver,
    Completed,
    Refunded,
    Expired,
    NoMarket,
    TooSmall,
    TooLarge,
    Error,
}

impl TransactionStatus {
    pub const ALL: [TransactionStatus; 20] = [
        Self::Incomplete,
        Self::PendingUserTransferStart,
        Self::PendingUserTransferComplete,
        Self::PendingExternal,
        Self::PendingAnchor,
        Self::OnHold,
        Self::PendingStellar,
        Self::PendingTrust,
        Self::PendingUser,
        Self::PendingCustomerInfoUpdate,
        Self::PendingTransactionInfoUpdate,
        Self::PendingSender,
        Self::PendingReceiver,
        Self::Completed,
        Self::Refunded,
        Self::Expired,
        Self::NoMarket,
        Self::TooSmall,
        Self::TooLarge,
        Self::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::PendingUserTransferStart => "pending_user_transfer_start",
            Self::PendingUserTransferComplete => "pending_user_transfer_complete",
            Self::PendingExternal => "pending_external",
            Self::PendingAnchor => "pending_anchor",
            Self::OnHold => "on_hold",
            Self::PendingStellar => "pending_stellar",
            Self::PendingTrust => "pending_trust",
            Self::PendingUser => "pending_user",
            Self::PendingCustomerInfoUpdate => "pending_customer_info_update",
            Self::PendingTransactionInfoUpdate => "pending_transaction_info_update",
            Self::PendingSender => "pending_sender",
            Self::PendingReceiver => "pending_receiver",
            Self::Completed => "completed",
            Self::Refunded => "refunded",
            Self::Expired => "expired",
            Self::NoMarket => "no_market",
            Self::TooSmall => "too_small",
            Self::TooLarge => "too_large",
            Self::Error => "error",
        }
    }

    /// The statuses that wait on the user (or, SEP-31, the sending anchor) and end after a
    /// configured time (`lifecycle::expiry`): the only ones in which a transaction shows the
    /// deadline, `user_action_required_by` (SEP-24: "omitted for all other" statuses).
    pub fn has_deadline(self) -> bool {
        matches!(
            self,
            Self::Incomplete
                | Self::PendingUserTransferStart
                | Self::PendingSender
                | Self::PendingTrust
        )
    }

    /// Final statuses: nothing moves a transaction out of them.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed
                | Self::Refunded
                | Self::Expired
                | Self::NoMarket
                | Self::TooSmall
                | Self::TooLarge
                | Self::Error
        )
    }
}

impl fmt::Display for TransactionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TransactionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "'{}' is not a transaction status",
                    s.chars().take(40).collect::<String>()
                )
            })
    }
}

/// The user a transaction or customer belongs to: a Stellar account plus, for shared accounts,
/// the memo (from `G:memo` or `M...`) that tells its users apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserKey {
    pub account: AccountId,
    pub memo: Option<u64>,
}

impl fmt::Display for UserKey {
    /// The storage key: `G...` or `G...:memo`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.memo {
            None => write!(f, "{}", self.account),
            Some(memo) => write!(f, "{}:{memo}", self.account),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeItem {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeDetails {
    pub total: Amount,
    /// SEP-38 asset id.
    pub asset: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakdown: Vec<FeeItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundPayment {
    pub id: String,
    /// `stellar` or `external`.
    pub id_type: String,
    pub amount: Amount,
    pub fee: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refunds {
    pub amount_refunded: Amount,
    pub amount_fee: Amount,
    pub payments: Vec<RefundPayment>,
}

impl Refunds {
    /// What went back to the sender so far, refund fees included: `None` on overflow.
    pub fn total(&self) -> Option<Amount> {
        self.amount_refunded.checked_add(self.amount_fee)
    }
}

/// Where a refund goes on the Stellar network: the sender's account and the memo to pay with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StellarRefund {
    /// `G...` or `M...`.
    pub destination: String,
    /// SEP form: `text`, `id`, `hash` (base64) or `none`.
    pub memo_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

/// A refund the anchor is making (`payments::refund`): set in the conditional write that
/// requests it, cleared in the one that ends it. While it is set, the submitter refunds the
/// transaction instead of paying it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRefund {
    /// What goes back to the sender (units of the transaction's Stellar asset).
    pub amount: Amount,
    /// On the Stellar network (withdrawals, SEP-31 payments), or `None`: off-chain through the
    /// deposit integration (deposits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stellar: Option<StellarRefund>,
    /// Whether it returns everything left (the transaction ends `refunded`); a partial refund
    /// returns the transaction to `from`.
    pub full: bool,
    /// The status the refund was requested in.
    pub from: TransactionStatus,
    /// [`SYSTEM_ACTOR`] or `operator:<name>`.
    pub requested_by: String,
    pub requested_at: Timestamp,
    pub reason: String,
    /// Off-chain: when the refund hook was claimed, written before it is called (at most one
    /// call per claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
}

/// One change in a transaction's life, kept with it for the operator (`mooring-admin show`):
/// what the status became, when, who changed it and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: Timestamp,
    /// The version this change wrote.
    pub version: u64,
    /// The status before the change.
    pub from: TransactionStatus,
    /// The status after it (the same as `from` for an action that kept the status).
    pub status: TransactionStatus,
    /// [`SYSTEM_ACTOR`] for the anchor's own code, `operator:<name>` for `mooring-admin`.
    pub by: String,
    /// What was done and why (the `status_message` of a worker's change, an operator's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Who changed a transaction when no person did: the API and the workers.
pub const SYSTEM_ACTOR: &str = "mooring";

/// A transaction keeps its latest this-many history entries (an item stays far below
/// DynamoDB's 400 KB, however long a transaction lives).
pub const MAX_HISTORY: usize = 100;

/// Where the Stellar side of a transaction stands; the submitter's bookkeeping, so that a
/// payment is never submitted twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionState {
    #[default]
    NotSubmitted,
    /// The signed envelope and its hash are stored; it may or may not have reached the network.
    Signed,
    Confirmed,
    Failed,
}

/// One anchor transaction: every field of the SEP-24/6/31 transaction objects, plus the internal
/// state the workers need. Absent optional fields are `None` (rendered `null` where a SEP wants
/// the key present).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub id: String,
    pub protocol: Protocol,
    pub kind: Kind,
    pub status: TransactionStatus,
    /// Bumped by every write; conditional writes expect the version read.
    pub version: u64,
    pub user: UserKey,
    /// Whether the user authenticated as an `M...` address (to render `from`/`to` that way).
    #[serde(default)]
    pub muxed: bool,
    pub asset: Asset,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_domain: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_eta: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kyc_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_in: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_in_asset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_out: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_out_asset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_details: Option<FeeDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_id: Option<String>,

    pub started_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    /// The deadline of a status that waits on the user ([`TransactionStatus::has_deadline`]):
    /// when the expiry sweeper ends the transaction. Set on entering such a status; cleared by
    /// the stores' write of a change to any other status ([`Transaction::note_write`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_action_required_by: Option<Timestamp>,
    /// When the SEP-38 quote the transaction is bound to expires: the user's funds must arrive
    /// before it. (Transactions stored before this field kept it in `user_action_required_by`.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_expires_at: Option<Timestamp>,

    /// Hash of the Stellar transaction that completed the deposit / paid the withdrawal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stellar_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunds: Option<Refunds>,

    /// Deposit: memo on the anchor's payment; `from` is off-chain, `to` the Stellar account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit_memo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit_memo_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Withdrawals: the whole off-chain account the money is paid out to, kept by the
    /// integration when `to` shows it masked (SEP-24 allows `****1234`), e.g. the IBAN the user
    /// typed in the reference rail's form. Private to the anchor: stored with the transaction,
    /// never rendered (the SEP-24 transaction object, the pages and wallet callbacks show `to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimable_balance_id: Option<String>,
    #[serde(default)]
    pub claimable_balance_supported: bool,

    /// Withdrawal / SEP-31: the anchor's account the user pays and the memo that identifies the
    /// payment (SEP-31 calls them `stellar_account_id` / `stellar_memo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_account: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_memo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_memo_type: Option<String>,
    /// Withdrawal: the memo a refund is paid with (SEP-24 `refund_memo`/`refund_memo_type`);
    /// `None` means the memo the user paid with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_memo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_memo_type: Option<String>,

    /// SEP-6: how the user moves the off-chain funds (`funding_method`, one of the asset's
    /// `funding_methods`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding_method: Option<String>,
    /// SEP-6/31 KYC and transaction-info loops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_info_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_info_updates: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_extra: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_extra_text: Option<String>,
    /// SEP-31 customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_id: Option<String>,
    /// Wallet callback URL (SEP-24 `on_change_callback`, SEP-31 `PUT /transactions/:id/callback`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// SEP-24: the interactive flow's `callback` URL, posted once when the user ends the flow
    /// (`status_callbacks::dispatch`). Private to the anchor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_callback_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,

    /// The submitter's state: the signed envelope and its hash are stored before submission.
    #[serde(default)]
    pub submission: SubmissionState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_xdr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_hash: Option<String>,

    /// Withdrawals: when the withdrawal processor claimed the off-chain payout, written
    /// (conditionally, status still `pending_anchor`) BEFORE it calls
    /// `WithdrawalIntegration::process_withdrawal`. A delivery that finds it set does not call
    /// the hook again: the payout may have happened, so a claim left unfinished goes to the
    /// operator (`pending_external` with a `status_message`). Cleared only when the hook
    /// answered `Unavailable` (nothing was paid; the message is retried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_started_at: Option<Timestamp>,

    /// The refund under way, if any (private to the anchor; the SEP `refunds` object records
    /// the refunds made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_refund: Option<PendingRefund>,

    /// Every status change and operator action, oldest first (at most [`MAX_HISTORY`]): the
    /// stores record a status change written without an entry of its own
    /// ([`Transaction::note_write`]). Private to the anchor: never rendered to wallets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
}

impl Transaction {
    /// A new transaction in `status`, version 0, with a fresh id.
    pub fn new(
        protocol: Protocol,
        kind: Kind,
        status: TransactionStatus,
        user: UserKey,
        asset: Asset,
        now: Timestamp,
    ) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            protocol,
            kind,
            status,
            version: 0,
            user,
            muxed: false,
            asset,
            client_domain: None,
            status_eta: None,
            status_message: None,
            kyc_verified: None,
            amount_in: None,
            amount_in_asset: None,
            amount_out: None,
            amount_out_asset: None,
            fee_details: None,
            quote_id: None,
            started_at: now,
            updated_at: now,
            completed_at: None,
            user_action_required_by: None,
            quote_expires_at: None,
            stellar_transaction_id: None,
            external_transaction_id: None,
            refunds: None,
            deposit_memo: None,
            deposit_memo_type: None,
            from: None,
            to: None,
            payout_account: None,
            claimable_balance_id: None,
            claimable_balance_supported: false,
            receiving_account: None,
            receiving_memo: None,
            receiving_memo_type: None,
            refund_memo: None,
            refund_memo_type: None,
            funding_method: None,
            required_info_message: None,
            required_info_updates: None,
            instructions: None,
            external_extra: None,
            external_extra_text: None,
            sender_id: None,
            receiver_id: None,
            callback_url: None,
            flow_callback_url: None,
            lang: None,
            submission: SubmissionState::NotSubmitted,
            envelope_xdr: None,
            envelope_hash: None,
            payout_started_at: None,
            pending_refund: None,
            history: Vec::new(),
        }
    }

    /// Records an action on the transaction as the next write's history entry: call it after
    /// changing the transaction and before the conditional write that stores the change.
    /// `from` is the status the write expects.
    pub fn record(&mut self, from: TransactionStatus, by: &str, note: Option<String>) {
        let version = self.version + 1;
        self.history.retain(|entry| entry.version != version);
        self.history.push(HistoryEntry {
            at: self.updated_at,
            version,
            from,
            status: self.status,
            by: by.to_owned(),
            note,
        });
        if self.history.len() > MAX_HISTORY {
            let excess = self.history.len() - MAX_HISTORY;
            self.history.drain(..excess);
        }
    }

    /// What a store does before it writes the transaction over the version read in status
    /// `expected`: a status change that no [`record`](Self::record) described yet gets an
    /// entry by [`SYSTEM_ACTOR`], noted with the `status_message`; a change to a status without
    /// a deadline drops `user_action_required_by`, whoever wrote it (a status with one gets
    /// its deadline from the code that moves the transaction there, which knows the time).
    pub fn note_write(&mut self, expected: TransactionStatus) {
        if self.status != expected && !self.status.has_deadline() {
            self.user_action_required_by = None;
        }
        let version = self.version + 1;
        let recorded = self.history.last().is_some_and(|e| e.version == version);
        if self.status != expected && !recorded {
            self.record(expected, SYSTEM_ACTOR, self.status_message.clone());
        }
    }

    /// When the quote the transaction is bound to expires, if it is bound to one.
    pub fn quote_deadline(&self) -> Option<Timestamp> {
        self.quote_id.as_ref()?;
        self.quote_expires_at.or(self.user_action_required_by)
    }

    /// The key under which incoming payments are matched: `account#memo_type#memo`.
    pub fn receiving_key(&self) -> Option<String> {
        Some(receiving_key(
            self.receiving_account.as_ref()?,
            self.receiving_memo_type.as_deref()?,
            self.receiving_memo.as_deref()?,
        ))
    }
}

/// The payment-matching key of an account and memo.
pub fn receiving_key(account: &AccountId, memo_type: &str, memo: &str) -> String {
    format!("{account}#{memo_type}#{memo}")
}

/// The withdrawal memo of a transaction: the 16 bytes of its UUID followed by 16 zero bytes,
/// as a base64 `hash` memo. Ids are unique, so memos are, with no coordination between
/// concurrent requests. (An id that is not a UUID uses its SHA-256.)
pub fn withdraw_memo(transaction_id: &str) -> String {
    let mut bytes = [0u8; 32];
    match uuid::Uuid::parse_str(transaction_id) {
        Ok(id) => bytes[..16].copy_from_slice(id.as_bytes()),
        Err(_) => {
            use sha2::{Digest, Sha256};
            bytes.copy_from_slice(&Sha256::digest(transaction_id.as_bytes()));
        }
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
