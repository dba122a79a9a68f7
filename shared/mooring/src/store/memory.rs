//! The in-memory adapter of every storage port, for unit tests. It keeps the same guarantees as
//! the DynamoDB adapter: conditional writes, cursors, orderings.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::{
    ChallengeStore, ChannelLease, ChannelLeases, Cursors, CustomerStore, IncomingPayments, Page,
    QuoteStore, StoreError, StoredCursor, TransactionQuery, TransactionStore,
    MAX_PAYMENTS_PER_TRANSACTION,
};
use crate::model::{
    Customer, IncomingPayment, Kind, Quote, Transaction, TransactionStatus, UserKey,
};
use crate::stellar::AccountId;
use crate::time::Timestamp;

#[derive(Debug, Default)]
pub struct InMemoryStore {
    transactions: Mutex<HashMap<String, Transaction>>,
    customers: Mutex<HashMap<String, Customer>>,
    challenges: Mutex<HashMap<String, Timestamp>>,
    /// Channel index -> its current (possibly expired) lease; released leases are removed.
    leases: Mutex<HashMap<u32, ChannelLease>>,
    cursors: Mutex<HashMap<String, StoredCursor>>,
    payments: Mutex<HashMap<String, IncomingPayment>>,
    quotes: Mutex<HashMap<String, Quote>>,
    /// Every write of a transaction as `(before, after)`, kept only when asked for
    /// ([`InMemoryStore::with_stream`]): what DynamoDB Streams gives the callback dispatcher.
    stream: Option<Mutex<Vec<TransactionChange>>>,
    /// A concurrent writer's change, applied just before the next conditional update
    /// ([`InMemoryStore::race_next_update`]).
    #[cfg(any(test, feature = "testing"))]
    race: Mutex<Option<Transaction>>,
}

/// One write of a transaction: the stored one before it (`None` for an insertion), and after.
pub type TransactionChange = (Option<Transaction>, Transaction);

impl InMemoryStore {
    /// A store that keeps its transactions' change stream ([`take_stream`](Self::take_stream)).
    pub fn with_stream() -> Self {
        Self {
            stream: Some(Mutex::default()),
            ..Self::default()
        }
    }

    /// Removes and returns the transaction writes since the last call, in order (empty
    /// without [`with_stream`](Self::with_stream)).
    pub fn take_stream(&self) -> Vec<TransactionChange> {
        self.stream
            .as_ref()
            .map(|stream| std::mem::take(&mut *lock(stream)))
            .unwrap_or_default()
    }

    /// Another writer wins the next race (tests): just before the next conditional update, of
    /// any transaction, `theirs` is written over the stored transaction of its id (its version
    /// moved on), so a read made before that update is stale.
    #[cfg(any(test, feature = "testing"))]
    pub fn race_next_update(&self, theirs: Transaction) {
        *lock(&self.race) = Some(theirs);
    }

    fn streamed(&self, before: Option<Transaction>, after: &Transaction) {
        if let Some(stream) = &self.stream {
            lock(stream).push((before, after.clone()));
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Cursors are the position after the last item returned, opaque to callers.
fn page<T: Clone>(
    sorted: Vec<T>,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<T>, StoreError> {
    let start = match cursor {
        None => 0,
        Some(c) => c.parse::<usize>().map_err(|_| StoreError::InvalidCursor)?,
    };
    if start > sorted.len() {
        return Err(StoreError::InvalidCursor);
    }
    let limit = limit.max(1);
    let items: Vec<T> = sorted.iter().skip(start).take(limit).cloned().collect();
    let end = start + items.len();
    let next = (end < sorted.len()).then(|| end.to_string());
    Ok(Page { items, next })
}

impl InMemoryStore {
    /// A page of the listing of a kind in a status, ordered by (`started_at`, id). As in
    /// DynamoDB, a cursor is the position of the last item returned (`<kind#status>|<millis>|<id>`),
    /// valid however the listing changes, and bound to its listing.
    fn status_page(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
        newest_first: bool,
    ) -> Result<Page<Transaction>, StoreError> {
        let listing = format!("{}#{}", kind.as_str(), status.as_str());
        let after = cursor
            .map(|cursor| {
                let mut parts = cursor.splitn(3, '|');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(name), Some(millis), Some(id)) if name == listing => millis
                        .parse::<i64>()
                        .map(|millis| (Timestamp::from_millis(millis), id.to_owned()))
                        .map_err(|_| StoreError::InvalidCursor),
                    _ => Err(StoreError::InvalidCursor),
                }
            })
            .transpose()?;
        let all = lock(&self.transactions);
        let mut found: Vec<&Transaction> = all
            .values()
            .filter(|t| t.kind == kind && t.status == status)
            .filter(|t| {
                after.as_ref().is_none_or(|(at, id)| {
                    let key = (t.started_at, t.id.as_str());
                    if newest_first {
                        key < (*at, id.as_str())
                    } else {
                        key > (*at, id.as_str())
                    }
                })
            })
            .collect();
        found.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        if newest_first {
            found.reverse();
        }
        let limit = limit.max(1);
        let more = found.len() > limit;
        let found: Vec<Transaction> = found.into_iter().take(limit).cloned().collect();
        let next = match found.last() {
            Some(last) if more => Some(format!(
                "{listing}|{}|{}",
                last.started_at.millis(),
                last.id
            )),
            _ => None,
        };
        Ok(Page { items: found, next })
    }
}

impl TransactionStore for InMemoryStore {
    async fn insert(&self, transaction: &Transaction) -> Result<(), StoreError> {
        let mut all = lock(&self.transactions);
        if all.contains_key(&transaction.id) {
            return Err(StoreError::Conflict);
        }
        all.insert(transaction.id.clone(), transaction.clone());
        self.streamed(None, transaction);
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Transaction>, StoreError> {
        Ok(lock(&self.transactions).get(id).cloned())
    }

    async fn update(
        &self,
        transaction: &mut Transaction,
        expected: TransactionStatus,
    ) -> Result<(), StoreError> {
        let mut all = lock(&self.transactions);
        #[cfg(any(test, feature = "testing"))]
        if let Some(mut theirs) = lock(&self.race).take() {
            if let Some(stored) = all.get_mut(&theirs.id) {
                theirs.version = stored.version + 1;
                let before = std::mem::replace(stored, theirs.clone());
                self.streamed(Some(before), &theirs);
            }
        }
        let stored = all.get_mut(&transaction.id).ok_or(StoreError::Conflict)?;
        if stored.version != transaction.version || stored.status != expected {
            return Err(StoreError::Conflict);
        }
        transaction.note_write(expected);
        transaction.version += 1;
        let before = std::mem::replace(stored, transaction.clone());
        self.streamed(Some(before), transaction);
        Ok(())
    }

    async fn list_for_user(
        &self,
        query: &TransactionQuery,
    ) -> Result<Page<Transaction>, StoreError> {
        let mut found: Vec<Transaction> = lock(&self.transactions)
            .values()
            .filter(|t| t.user == query.user && query.keeps(t))
            .filter(|t| query.no_older_than.is_none_or(|n| t.started_at >= n))
            .cloned()
            .collect();
        found.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
        page(found, query.limit, query.cursor.as_deref())
    }

    async fn list_by_status(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Transaction>, StoreError> {
        self.status_page(kind, status, limit, cursor, false)
    }

    async fn list_by_status_newest_first(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Transaction>, StoreError> {
        self.status_page(kind, status, limit, cursor, true)
    }

    async fn find_by_receiving_memo(
        &self,
        account: &AccountId,
        memo_type: &str,
        memo: &str,
    ) -> Result<Option<Transaction>, StoreError> {
        let key = crate::model::transaction_receiving_key(account, memo_type, memo);
        Ok(lock(&self.transactions)
            .values()
            .find(|t| t.receiving_key().as_deref() == Some(key.as_str()))
            .cloned())
    }

    async fn find_by_stellar_transaction_id(
        &self,
        hash: &str,
    ) -> Result<Option<Transaction>, StoreError> {
        Ok(lock(&self.transactions)
            .values()
            .find(|t| t.stellar_transaction_id.as_deref() == Some(hash))
            .cloned())
    }

    async fn find_by_external_id(&self, id: &str) -> Result<Option<Transaction>, StoreError> {
        Ok(lock(&self.transactions)
            .values()
            .find(|t| t.external_transaction_id.as_deref() == Some(id))
            .cloned())
    }
}

impl CustomerStore for InMemoryStore {
    async fn insert(&self, customer: &Customer) -> Result<(), StoreError> {
        let mut all = lock(&self.customers);
        if all.contains_key(&customer.id) || all.values().any(|c| c.user == customer.user) {
            return Err(StoreError::Conflict);
        }
        all.insert(customer.id.clone(), customer.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        Ok(lock(&self.customers).get(id).cloned())
    }

    async fn find_by_user(&self, user: &UserKey) -> Result<Option<Customer>, StoreError> {
        Ok(lock(&self.customers)
            .values()
            .find(|c| c.user == *user)
            .cloned())
    }

    async fn update(&self, customer: &mut Customer) -> Result<(), StoreError> {
        let mut all = lock(&self.customers);
        let stored = all.get_mut(&customer.id).ok_or(StoreError::Conflict)?;
        if stored.version != customer.version || stored.user != customer.user {
            return Err(StoreError::Conflict);
        }
        customer.version += 1;
        *stored = customer.clone();
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.customers).remove(id).is_some())
    }
}

impl QuoteStore for InMemoryStore {
    async fn insert_quote(&self, quote: &Quote) -> Result<(), StoreError> {
        let mut all = lock(&self.quotes);
        if all.contains_key(&quote.id) {
            return Err(StoreError::Conflict);
        }
        all.insert(quote.id.clone(), quote.clone());
        Ok(())
    }

    async fn get_quote(&self, id: &str) -> Result<Option<Quote>, StoreError> {
        Ok(lock(&self.quotes).get(id).cloned())
    }

    async fn use_quote(&self, id: &str, transaction_id: &str) -> Result<(), StoreError> {
        match lock(&self.quotes).get_mut(id) {
            Some(quote) if quote.transaction_id.is_none() => {
                quote.transaction_id = Some(transaction_id.to_owned());
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        }
    }
}

#[cfg(any(test, feature = "testing"))]
impl InMemoryStore {
    /// How many quotes are stored (tests: a refused request stores nothing).
    pub fn quote_count(&self) -> usize {
        lock(&self.quotes).len()
    }
}

impl ChallengeStore for InMemoryStore {
    async fn consume(&self, hash: &str, expires_at: Timestamp) -> Result<bool, StoreError> {
        let mut all = lock(&self.challenges);
        let now = Timestamp::now();
        // Expired entries go, as DynamoDB's TTL removes them.
        all.retain(|_, expiry| *expiry > now);
        if all.contains_key(hash) {
            return Ok(false);
        }
        all.insert(hash.to_owned(), expires_at);
        Ok(true)
    }
}

impl ChannelLeases for InMemoryStore {
    async fn lease(
        &self,
        count: u32,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<ChannelLease>, StoreError> {
        let mut leases = lock(&self.leases);
        // A lease lasts until `until`, exclusive: at `until` it is free (as in DynamoDB).
        let Some(index) = (0..count).find(|i| leases.get(i).is_none_or(|l| l.until <= now)) else {
            return Ok(None);
        };
        let lease = ChannelLease {
            index,
            holder: holder.to_owned(),
            until,
        };
        leases.insert(index, lease.clone());
        Ok(Some(lease))
    }

    async fn release(&self, lease: &ChannelLease) -> Result<(), StoreError> {
        let mut leases = lock(&self.leases);
        if leases.get(&lease.index) == Some(lease) {
            leases.remove(&lease.index);
        }
        Ok(())
    }
}

impl Cursors for InMemoryStore {
    async fn cursor(&self, name: &str) -> Result<Option<StoredCursor>, StoreError> {
        Ok(lock(&self.cursors).get(name).cloned())
    }

    async fn save_cursor(
        &self,
        name: &str,
        value: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let mut cursors = lock(&self.cursors);
        let stored = cursors.get(name).map(|c| c.version);
        if stored != expected {
            return Err(StoreError::Conflict);
        }
        // The first save is version 1, as in DynamoDB.
        let version = expected.map_or(1, |v| v + 1);
        cursors.insert(
            name.to_owned(),
            StoredCursor {
                value: value.to_owned(),
                version,
            },
        );
        Ok(version)
    }
}

impl IncomingPayments for InMemoryStore {
    async fn record(&self, payment: &IncomingPayment) -> Result<bool, StoreError> {
        let mut all = lock(&self.payments);
        if all.contains_key(&payment.id) {
            return Ok(false);
        }
        all.insert(payment.id.clone(), payment.clone());
        Ok(true)
    }

    async fn get_payment(&self, id: &str) -> Result<Option<IncomingPayment>, StoreError> {
        Ok(lock(&self.payments).get(id).cloned())
    }

    async fn payments_for_transaction(
        &self,
        transaction_id: &str,
    ) -> Result<Vec<IncomingPayment>, StoreError> {
        let mut found: Vec<IncomingPayment> = lock(&self.payments)
            .values()
            .filter(|p| p.transaction_id.as_deref() == Some(transaction_id))
            .cloned()
            .collect();
        found.sort_by(|a, b| (a.recorded_at, &a.id).cmp(&(b.recorded_at, &b.id)));
        found.truncate(MAX_PAYMENTS_PER_TRANSACTION);
        Ok(found)
    }

    async fn list_needing_attention(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<IncomingPayment>, StoreError> {
        let mut found: Vec<IncomingPayment> = lock(&self.payments)
            .values()
            .filter(|p| p.outcome.needs_attention())
            .cloned()
            .collect();
        found.sort_by(|a, b| (a.recorded_at, &a.id).cmp(&(b.recorded_at, &b.id)));
        page(found, limit, cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_conformance_suite() {
        super::super::conformance::run_all(&InMemoryStore::default()).await;
    }
}
