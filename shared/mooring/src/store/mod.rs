//! Storage ports: what the SEP code and the workers need from a database, one small trait per
//! record type, each with an in-memory adapter ([`memory`]) and a DynamoDB one. One conformance
//! suite (`conformance`, test support: `cfg(test)` or the `testing` feature) runs against every
//! adapter.
//!
//! Every write of an existing record is conditional on the version (and, for transactions, the
//! status) that was read: a lost race is [`StoreError::Conflict`], never a silent overwrite.

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
pub mod files;
pub mod memory;
pub mod scan;

use std::future::Future;

use crate::model::{Customer, Kind, Quote, Transaction, TransactionStatus, UserKey};
use crate::stellar::AccountId;
use crate::time::Timestamp;

pub use memory::InMemoryStore;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The record changed (or exists, or was deleted) since it was read: the write did not happen.
    #[error("the record was changed concurrently")]
    Conflict,
    #[error("the cursor is not valid")]
    InvalidCursor,
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    #[error("a stored record could not be read: {0}")]
    Corrupt(String),
}

/// One page of a listing; `next` is an opaque cursor for the following page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// A user's transactions, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionQuery {
    pub user: UserKey,
    pub protocol: Option<crate::model::Protocol>,
    pub asset_code: Option<String>,
    /// Only these kinds (SEP-6 `kind` is a list); empty: every kind.
    pub kinds: Vec<Kind>,
    /// Only transactions started at or after this time.
    pub no_older_than: Option<Timestamp>,
    pub limit: usize,
    pub cursor: Option<String>,
    /// Only transactions after this one in the listing's order, i.e. older (SEP-6/24
    /// `paging_id`, exclusive). The caller resolves the id to its position.
    pub before: Option<Position>,
}

/// Where a transaction sits in a user's listing: newest first by `started_at`, ties broken by
/// id (descending), the order of both adapters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub started_at: Timestamp,
    pub id: String,
}

impl Position {
    pub fn of(transaction: &Transaction) -> Self {
        Self {
            started_at: transaction.started_at,
            id: transaction.id.clone(),
        }
    }

    /// Whether `transaction` is listed after this position (strictly older).
    pub fn precedes(&self, transaction: &Transaction) -> bool {
        (transaction.started_at, transaction.id.as_str()) < (self.started_at, self.id.as_str())
    }
}

impl TransactionQuery {
    /// Whether the query narrows the user's transactions beyond time (protocol, asset, kind,
    /// `before`).
    pub fn has_filters(&self) -> bool {
        self.protocol.is_some()
            || self.asset_code.is_some()
            || !self.kinds.is_empty()
            || self.before.is_some()
    }

    /// Whether a transaction of the user passes the protocol, asset, kind and `before` filters
    /// (the user and `no_older_than` are the adapters' key conditions; an adapter may also
    /// narrow its reads to `before`, but this check is what excludes the position itself).
    pub fn keeps(&self, t: &Transaction) -> bool {
        self.before.as_ref().is_none_or(|p| p.precedes(t))
            && self.protocol.is_none_or(|p| t.protocol == p)
            && self
                .asset_code
                .as_deref()
                .is_none_or(|code| t.asset.code() == code)
            && (self.kinds.is_empty() || self.kinds.contains(&t.kind))
    }
}

/// SEP-38 firm quotes. A quote is written once and then only marked used; it stays readable
/// well after it expires (a transaction may reference it).
pub trait QuoteStore: Send + Sync {
    /// Stores a new quote; `Conflict` if its id exists.
    fn insert_quote(&self, quote: &Quote) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The quote with this id, whoever owns it (the caller checks the owner).
    fn get_quote(&self, id: &str)
        -> impl Future<Output = Result<Option<Quote>, StoreError>> + Send;

    /// Records that the quote backs `transaction_id`; `Conflict` if it backs one already (or
    /// does not exist), so that one quote is never used twice.
    fn use_quote(
        &self,
        id: &str,
        transaction_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// `user`'s quote `id`: `None` for a missing quote and for another user's alike (never tell
/// them apart). Quote ids are UUIDs: anything else cannot exist and costs no read.
pub async fn users_quote<S: QuoteStore + ?Sized>(
    store: &S,
    user: &UserKey,
    id: &str,
) -> Result<Option<Quote>, StoreError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Ok(None);
    }
    Ok(store
        .get_quote(id)
        .await?
        .filter(|quote| quote.user == *user))
}

pub trait TransactionStore: Send + Sync {
    /// Stores a new transaction; `Conflict` if its id exists.
    fn insert(
        &self,
        transaction: &Transaction,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get(&self, id: &str)
        -> impl Future<Output = Result<Option<Transaction>, StoreError>> + Send;

    /// Writes `transaction` if the stored one is still at `transaction.version` with status
    /// `expected`; on success `transaction.version` is the new version.
    fn update(
        &self,
        transaction: &mut Transaction,
        expected: TransactionStatus,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn list_for_user(
        &self,
        query: &TransactionQuery,
    ) -> impl Future<Output = Result<Page<Transaction>, StoreError>> + Send;

    /// Transactions of a kind in a status, oldest first (for the pollers). A cursor is a
    /// position in the listing (after the last item returned), so it stays valid while
    /// transactions join and leave the status.
    fn list_by_status(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<Transaction>, StoreError>> + Send;

    /// The same listing, newest first: where the scheduled scans look first, so that a backlog
    /// of old transactions never hides a new one ([`scan`]).
    fn list_by_status_newest_first(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<Transaction>, StoreError>> + Send;

    /// The transaction expecting a payment to `account` with this memo.
    fn find_by_receiving_memo(
        &self,
        account: &AccountId,
        memo_type: &str,
        memo: &str,
    ) -> impl Future<Output = Result<Option<Transaction>, StoreError>> + Send;

    fn find_by_stellar_transaction_id(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<Transaction>, StoreError>> + Send;

    fn find_by_external_id(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Transaction>, StoreError>> + Send;
}

pub trait CustomerStore: Send + Sync {
    /// Stores a new customer; `Conflict` if the id exists or the user already has a customer.
    fn insert(&self, customer: &Customer) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get(&self, id: &str) -> impl Future<Output = Result<Option<Customer>, StoreError>> + Send;

    fn find_by_user(
        &self,
        user: &UserKey,
    ) -> impl Future<Output = Result<Option<Customer>, StoreError>> + Send;

    /// Writes `customer` if the stored one is still at `customer.version`; bumps the version.
    fn update(
        &self,
        customer: &mut Customer,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Erases the customer; false when there was none.
    fn delete(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// SEP-10 replay protection: each challenge is exchanged for a JWT at most once.
pub trait ChallengeStore: Send + Sync {
    /// Records a challenge's hash until `expires_at`; false if it was already used.
    fn consume(
        &self,
        hash: &str,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

// Shared handles (one store behind several services) are stores too.
impl<T: ChallengeStore + ?Sized> ChallengeStore for std::sync::Arc<T> {
    fn consume(
        &self,
        hash: &str,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        T::consume(self, hash, expires_at)
    }
}

// ---------------------------------------------------------------------------------------------
// The payment workers' state (issue 6): channel-account leases, watcher cursors, incoming
// payments. DynamoDB keeps the first two in one small table (`WorkerStateTable`) and incoming
// payments in `PaymentsTable`.
// ---------------------------------------------------------------------------------------------

/// A lease on one channel account: while it is held, only its holder builds transactions with
/// that account as source, so concurrent submitters never collide on a sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLease {
    /// The channel's index in `0..count`.
    pub index: u32,
    /// Who holds it (e.g. the SQS message id plus a random nonce); needed to release it.
    pub holder: String,
    pub until: Timestamp,
}

pub trait ChannelLeases: Send + Sync {
    /// Leases a channel in `0..count` that is free or whose lease expired before `now`, until
    /// `until` (a conditional write per channel); `None` when every channel is leased.
    fn lease(
        &self,
        count: u32,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<Option<ChannelLease>, StoreError>> + Send;

    /// Ends the lease if `lease.holder` still holds it (a lease that expired and was taken over
    /// is left alone).
    fn release(&self, lease: &ChannelLease) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A stored position in a stream (the payment watcher's Horizon cursor per account, and where
/// the account's history ended on its first run), with its version for the conditional write
/// of the next position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCursor {
    pub value: String,
    pub version: u64,
}

pub trait Cursors: Send + Sync {
    fn cursor(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<StoredCursor>, StoreError>> + Send;

    /// Stores `value` if the cursor is still at `expected` (`None`: not stored yet); `Conflict`
    /// otherwise (another watcher moved it). Returns the new version.
    fn save_cursor(
        &self,
        name: &str,
        value: &str,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The most payments [`IncomingPayments::payments_for_transaction`] answers.
pub const MAX_PAYMENTS_PER_TRANSACTION: usize = 100;

pub trait IncomingPayments: Send + Sync {
    /// Records a payment once, by its operation id; false when it was already recorded (the
    /// stored record is left as it is).
    fn record(
        &self,
        payment: &crate::model::IncomingPayment,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn get_payment(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<crate::model::IncomingPayment>, StoreError>> + Send;

    /// The payments recorded for `transaction_id` (matched to it, or left for the operator
    /// with its id: a duplicate, a wrong asset or amount), oldest first, at most
    /// [`MAX_PAYMENTS_PER_TRANSACTION`].
    fn payments_for_transaction(
        &self,
        transaction_id: &str,
    ) -> impl Future<Output = Result<Vec<crate::model::IncomingPayment>, StoreError>> + Send;

    /// Payments that need the operator (every outcome but `Matched` and `History`), oldest first.
    fn list_needing_attention(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<crate::model::IncomingPayment>, StoreError>> + Send;
}
