//! [`TransactionStore`] on the transactions table and its indexes.

use super::codec::{
    cursor_from_key, decode_doc, kind_status, n, s, started_bound, started_key, string_attribute,
    transaction_item, Listing, BY_EXTERNAL_ID, BY_KIND_STATUS, BY_RECEIVING, BY_STELLAR_TX,
    BY_USER, DOC, EXTERNAL_TRANSACTION_ID, ID, KIND_STATUS, RECEIVING_KEY, STARTED, STATUS,
    STELLAR_TRANSACTION_ID, USER, VERSION,
};
use super::direct::{Put, Query};
use super::DynamoStore;
use crate::model::{Kind, Transaction, TransactionStatus};
use crate::stellar::AccountId;
use crate::store::{Page, StoreError, TransactionQuery, TransactionStore};

/// Items read per query when a listing filters on the client: large enough that a few
/// non-matching items do not cost a round trip each, small enough to stay far below the 1 MB a
/// query returns at most.
const FILTERED_BATCH: usize = 100;

/// A lookup key (memo, hash, external id) belongs to one transaction; a few candidates cover an
/// index that has not yet caught up with a key moving to another transaction.
const LOOKUP_CANDIDATES: i32 = 10;

impl DynamoStore {
    async fn get_transaction(&self, id: &str) -> Result<Option<Transaction>, StoreError> {
        self.get_item(&self.tables.transactions, ID, id)
            .await?
            .map(|item| decode_doc(&item, "transaction"))
            .transpose()
    }

    /// One page of an index listing of transactions. Filtering happens here, on the decoded
    /// records, and reading goes on until `limit` records pass `filter` or the index ends, so a
    /// filter never shortens a page.
    async fn list(
        &self,
        listing: &Listing,
        limit: usize,
        cursor: Option<&str>,
        filter: Option<&(dyn Fn(&Transaction) -> bool + Sync)>,
    ) -> Result<Page<Transaction>, StoreError> {
        let limit = limit.max(1);
        // The key of the last item read: where the next query, or the next page, starts.
        let mut resume = cursor.map(|c| listing.decode_cursor(c)).transpose()?;
        let mut items = Vec::new();
        let mut looked_ahead = false;
        loop {
            // One more item than the page needs tells whether a next page exists; with a filter,
            // larger batches save round trips through items that do not pass it.
            let wanted = (limit - items.len()).saturating_add(1);
            let batch = match filter {
                None => wanted,
                Some(_) => wanted.max(FILTERED_BATCH),
            };
            let mut values = vec![(":pk", s(&listing.partition))];
            let key_condition = match (&listing.started_from, &listing.started_to) {
                (None, None) => "#pk = :pk",
                (Some(from), None) => {
                    values.push((":from", s(from)));
                    "#pk = :pk AND #started >= :from"
                }
                (None, Some(to)) => {
                    values.push((":to", s(to)));
                    "#pk = :pk AND #started <= :to"
                }
                (Some(from), Some(to)) => {
                    values.push((":from", s(from)));
                    values.push((":to", s(to)));
                    "#pk = :pk AND #started BETWEEN :from AND :to"
                }
            };
            let out = self
                .query(&Query {
                    table: &self.tables.transactions,
                    index: listing.index,
                    key_condition,
                    // Only what a row is decoded from and resumed at: decoding each returned
                    // attribute is a good part of a listing's CPU.
                    projection: "#id, #pk, #started, #doc",
                    names: &[
                        ("#pk", listing.partition_attribute),
                        ("#id", ID),
                        ("#started", STARTED),
                        ("#doc", DOC),
                    ],
                    values: &values,
                    forward: !listing.newest_first,
                    limit: i32::try_from(batch).unwrap_or(i32::MAX),
                    start: resume.as_ref(),
                })
                .await?;
            for row in &out.items {
                let transaction: Transaction = decode_doc(row, "transaction")?;
                if filter.is_none_or(|keep| keep(&transaction)) {
                    if items.len() == limit {
                        // Another item follows the full page: the next page starts with it.
                        return Ok(Page {
                            items,
                            next: resume.as_ref().map(cursor_from_key).transpose()?,
                        });
                    }
                    items.push(transaction);
                }
                resume = Some(listing.key_of(row)?);
            }
            let Some(last) = out.last_evaluated_key else {
                return Ok(Page { items, next: None });
            };
            // The query stopped at its item limit or at 1 MB. Short of a full page, read on; a
            // full page looks one query further for a next item (so that its cursor does not
            // lead to an empty page) and then stops, its cursor skipping everything read.
            resume = Some(last);
            if items.len() == limit {
                if looked_ahead {
                    return Ok(Page {
                        items,
                        next: resume.as_ref().map(cursor_from_key).transpose()?,
                    });
                }
                looked_ahead = true;
            }
        }
    }

    /// The transaction whose `attribute` (an index key) is `value`, re-read from the table so
    /// that it is current, and still matching `matches` after that re-read.
    async fn find_transaction(
        &self,
        index: &'static str,
        attribute: &'static str,
        value: String,
        matches: impl Fn(&Transaction) -> bool,
    ) -> Result<Option<Transaction>, StoreError> {
        if value.is_empty() {
            return Ok(None);
        }
        let out = self
            .query(&Query {
                table: &self.tables.transactions,
                index,
                key_condition: "#k = :v",
                projection: "#id",
                names: &[("#k", attribute), ("#id", ID)],
                values: &[(":v", s(value))],
                forward: true,
                limit: LOOKUP_CANDIDATES,
                start: None,
            })
            .await?;
        for row in &out.items {
            let id = string_attribute(row, ID)?;
            if let Some(transaction) = self.get_transaction(id).await? {
                if matches(&transaction) {
                    return Ok(Some(transaction));
                }
            }
        }
        Ok(None)
    }
}

/// The pollers' listing of a kind in a status (`by_kind_status`), in either order.
fn status_listing(kind: Kind, status: TransactionStatus, newest_first: bool) -> Listing {
    Listing {
        index: BY_KIND_STATUS,
        partition_attribute: KIND_STATUS,
        partition: kind_status(kind, status),
        started_from: None,
        started_to: None,
        newest_first,
    }
}

impl TransactionStore for DynamoStore {
    async fn insert(&self, transaction: &Transaction) -> Result<(), StoreError> {
        self.put_new(&self.tables.transactions, transaction_item(transaction)?)
            .await
    }

    async fn get(&self, id: &str) -> Result<Option<Transaction>, StoreError> {
        self.get_transaction(id).await
    }

    async fn update(
        &self,
        transaction: &mut Transaction,
        expected: TransactionStatus,
    ) -> Result<(), StoreError> {
        transaction.note_write(expected);
        let mut written = transaction.clone();
        written.version += 1;
        // A comparison with a missing attribute is false, so this never creates an item.
        self.put(Put {
            table: &self.tables.transactions,
            item: transaction_item(&written)?,
            condition: "#version = :read AND #status = :expected",
            names: &[("#version", VERSION), ("#status", STATUS)],
            values: &[
                (":read", n(transaction.version)),
                (":expected", s(expected.as_str())),
            ],
        })
        .await?;
        transaction.version = written.version;
        Ok(())
    }

    async fn list_for_user(
        &self,
        query: &TransactionQuery,
    ) -> Result<Page<Transaction>, StoreError> {
        let listing = Listing {
            index: BY_USER,
            partition_attribute: USER,
            partition: query.user.to_string(),
            // A sort key condition rather than a filter: older items are never read.
            started_from: query.no_older_than.map(started_bound),
            // Newer items than `before` are never read either; the position itself is within
            // the (inclusive) bound and dropped by the query's filter.
            started_to: query
                .before
                .as_ref()
                .map(|p| started_key(p.started_at, &p.id)),
            newest_first: true,
        };
        if let (Some(from), Some(to)) = (&listing.started_from, &listing.started_to) {
            if to < from {
                // Everything before the position is older than `no_older_than` (and DynamoDB
                // refuses a BETWEEN whose bounds are reversed).
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
        }
        let keep = |t: &Transaction| query.keeps(t);
        let filter: Option<&(dyn Fn(&Transaction) -> bool + Sync)> = if query.has_filters() {
            Some(&keep)
        } else {
            None
        };
        self.list(&listing, query.limit, query.cursor.as_deref(), filter)
            .await
    }

    async fn list_by_status(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Transaction>, StoreError> {
        self.list(&status_listing(kind, status, false), limit, cursor, None)
            .await
    }

    async fn list_by_status_newest_first(
        &self,
        kind: Kind,
        status: TransactionStatus,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Transaction>, StoreError> {
        self.list(&status_listing(kind, status, true), limit, cursor, None)
            .await
    }

    async fn find_by_receiving_memo(
        &self,
        account: &AccountId,
        memo_type: &str,
        memo: &str,
    ) -> Result<Option<Transaction>, StoreError> {
        let key = crate::model::transaction_receiving_key(account, memo_type, memo);
        self.find_transaction(BY_RECEIVING, RECEIVING_KEY, key.clone(), |t| {
            t.receiving_key().as_deref() == Some(key.as_str())
        })
        .await
    }

    async fn find_by_stellar_transaction_id(
        &self,
        hash: &str,
    ) -> Result<Option<Transaction>, StoreError> {
        self.find_transaction(BY_STELLAR_TX, STELLAR_TRANSACTION_ID, hash.into(), |t| {
            t.stellar_transaction_id.as_deref() == Some(hash)
        })
        .await
    }

    async fn find_by_external_id(&self, id: &str) -> Result<Option<Transaction>, StoreError> {
        self.find_transaction(BY_EXTERNAL_ID, EXTERNAL_TRANSACTION_ID, id.into(), |t| {
            t.external_transaction_id.as_deref() == Some(id)
        })
        .await
    }
}
