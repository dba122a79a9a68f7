//! The DynamoDB adapter of every storage port: [`DynamoStore`] (feature `dynamodb`).
//!
//! # Item design
//!
//! Each record is stored whole as its serde JSON in one string attribute, `doc`, which is all a
//! read decodes. Beside it sit only the attributes DynamoDB itself has to see: the key, `version`
//! (N) and `status` for the conditional writes, and the index keys. An index key is written only
//! when it has a value, so the secondary indexes are sparse, and adding a field to a model needs
//! no migration.
//!
//! **Transactions** (table key `id`):
//!
//! | attribute | value | index (projection ALL) |
//! |---|---|---|
//! | `version` (N), `status` | the record's | conditions of `update` |
//! | `user` | [`UserKey`]'s display: `G...` or `G...:memo` | `by_user` partition key |
//! | `kind_status` | `deposit#pending_anchor` | `by_kind_status` partition key |
//! | `started` | `started_at` millis zero-padded to 15 digits, `#`, id | sort key of both |
//! | `receiving_key` | [`Transaction::receiving_key`], `account#memo_type#memo` | `by_receiving` |
//! | `stellar_transaction_id` | the hash | `by_stellar_tx` |
//! | `external_transaction_id` | the off-chain reference | `by_external_id` |
//!
//! Zero-padding makes string order time order, and the id in `started` breaks ties, so listings
//! have the total order of the in-memory adapter: `by_user` is read newest first, and
//! `by_kind_status` (the pollers' queue) oldest first.
//!
//! **Customers** (table key `id`): the customer (`id`, `version`, `doc`, and `user`, key of the
//! `by_user` index for operators' queries), and per user a guard item `id = "user#<UserKey>"` holding `customer_id`. Both are
//! written in one TransactWriteItems, each on `attribute_not_exists`, so a user has at most one
//! customer; `delete` removes both the same way. `find_by_user` reads the guard and then the
//! customer, both strongly consistent, so a customer is found right after it is written and with
//! its current version (an index read may lag, and an update from a stale version is a conflict).
//!
//! **Challenges** (table key `hash`): `expires_at` (N), epoch seconds rounded up, is the table's
//! TTL attribute. TTL deletion is lazy (up to days late), so an item past its expiry counts as
//! absent: `consume` puts on `attribute_not_exists(hash) OR expires_at <= now`.
//!
//! **Worker state** (`WorkerStateTable`, table key `key`; the payment workers, issue 6):
//!
//! | item `key` | attributes | written |
//! |---|---|---|
//! | `channel#<index>` | `holder`, `until` (N, epoch millis) | `lease`: put on `attribute_not_exists(key) OR until <= now`; `release`: delete on `holder` and `until` being the lease's |
//! | `cursor#<name>` | `value`, `version` (N, 1 at the first save) | put on `attribute_not_exists(key)` (first save) or `version = expected` |
//!
//! `lease` tries the channels one conditional put each, from a random one onward, so that
//! concurrent submitters spread over the pool instead of all racing for channel 0.
//!
//! **Incoming payments** (`PaymentsTable`, table key `id`, Horizon's operation id): `doc`, and
//! only when the outcome needs the operator (every outcome but `matched` and `history`)
//! `attention = "open"` and `recorded` (`recorded_at` millis zero-padded, `#`, id): the keys of
//! the sparse index `needing_attention`, read oldest first. `record` puts on `attribute_not_exists(id)`, so a
//! payment is recorded once and never overwritten.
//!
//! The two tables are optional in [`TableNames`] (`WORKER_STATE_TABLE`, `PAYMENTS_TABLE`): only
//! the payment workers use them, and a method of [`ChannelLeases`] / [`Cursors`] (worker state)
//! or [`IncomingPayments`] (payments) on a store without its table is
//! [`StoreError::Unavailable`] naming the missing variable. Everything else works without them.
//!
//! # Consistency
//!
//! `get` and the `find_*` lookups read the table strongly consistently (a lookup finds the id
//! through its index, then re-reads the item), so the version they return is current. Listings
//! come from indexes, which may lag a write by a moment: an update made from a listed item that
//! lost that race is a [`StoreError::Conflict`], as any other lost race.
//!
//! # Cursors
//!
//! A cursor is the base64url JSON of the key of the last item a page covered (what DynamoDB calls
//! the LastEvaluatedKey). It is validated before use: it must name this listing's partition.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;

use super::{
    ChallengeStore, ChannelLease, ChannelLeases, Cursors, CustomerStore, IncomingPayments, Page,
    StoreError, StoredCursor, TransactionQuery, TransactionStore,
};
use crate::config::{ConfigError, Env, Source};
use crate::model::{Customer, IncomingPayment, Kind, Transaction, TransactionStatus, UserKey};
use crate::stellar::AccountId;
use crate::time::Timestamp;

type Item = HashMap<String, AttributeValue>;

// Attribute names.
const ID: &str = "id";
const VERSION: &str = "version";
const STATUS: &str = "status";
const DOC: &str = "doc";
const USER: &str = "user";
const KIND_STATUS: &str = "kind_status";
const STARTED: &str = "started";
const RECEIVING_KEY: &str = "receiving_key";
const STELLAR_TRANSACTION_ID: &str = "stellar_transaction_id";
const EXTERNAL_TRANSACTION_ID: &str = "external_transaction_id";
const CUSTOMER_ID: &str = "customer_id";
const HASH: &str = "hash";
const EXPIRES_AT: &str = "expires_at";
const KEY: &str = "key";
const HOLDER: &str = "holder";
const UNTIL: &str = "until";
const VALUE: &str = "value";
const ATTENTION: &str = "attention";
const RECORDED: &str = "recorded";

/// The `attention` value of every payment needing the operator (one partition of the index).
const OPEN: &str = "open";

// Index names (template.yaml declares them).
const BY_USER: &str = "by_user";
const BY_KIND_STATUS: &str = "by_kind_status";
const BY_RECEIVING: &str = "by_receiving";
const BY_STELLAR_TX: &str = "by_stellar_tx";
const BY_EXTERNAL_ID: &str = "by_external_id";
const NEEDING_ATTENTION: &str = "needing_attention";

/// Customer ids are UUIDs, so this prefix cannot clash with one.
const GUARD_PREFIX: &str = "user#";

/// Items read per query when a listing filters on the client: large enough that a few
/// non-matching items do not cost a round trip each, small enough to stay far below the 1 MB a
/// query returns at most.
const FILTERED_BATCH: usize = 100;

/// A lookup key (memo, hash, external id) belongs to one transaction; a few candidates cover an
/// index that has not yet caught up with a key moving to another transaction.
const LOOKUP_CANDIDATES: i32 = 10;

/// Attempts of `delete` against concurrent updates of the same customer.
const DELETE_ATTEMPTS: usize = 5;

/// No real cursor comes near this; longer input is refused before it is decoded.
const MAX_CURSOR_LEN: usize = 8192;

/// Names of the tables (CloudFormation generates them; the functions get them from the
/// environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub transactions: String,
    pub customers: String,
    pub challenges: String,
    /// Channel leases and cursors of the payment workers; only they need it (see the module
    /// documentation).
    pub worker_state: Option<String>,
    /// Incoming payments; only the payment watcher needs it.
    pub payments: Option<String>,
}

const WORKER_STATE_TABLE: &str = "WORKER_STATE_TABLE";
const PAYMENTS_TABLE: &str = "PAYMENTS_TABLE";

impl TableNames {
    /// From `TRANSACTIONS_TABLE`, `CUSTOMERS_TABLE` and `CHALLENGES_TABLE` (required), and
    /// `WORKER_STATE_TABLE` and `PAYMENTS_TABLE` (optional: a store without them fails only the
    /// calls that need them).
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let required = |name: &'static str| src.get(name).ok_or(ConfigError::Missing(name));
        let optional = |name: &str| src.get(name).filter(|v| !v.trim().is_empty());
        Ok(Self {
            transactions: required("TRANSACTIONS_TABLE")?,
            customers: required("CUSTOMERS_TABLE")?,
            challenges: required("CHALLENGES_TABLE")?,
            worker_state: optional(WORKER_STATE_TABLE),
            payments: optional(PAYMENTS_TABLE),
        })
    }
}

/// A table this store was given no name for: the calls that need it fail, naming the variable.
fn configured<'a>(table: &'a Option<String>, variable: &str) -> Result<&'a str, StoreError> {
    table
        .as_deref()
        .ok_or_else(|| StoreError::Unavailable(format!("{variable} is not set")))
}

pub use crate::aws::config_loader;

/// Every storage port on DynamoDB. Cheap to clone (the client is shared).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
}

impl DynamoStore {
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self { client, tables }
    }

    /// The store of a Lambda function: table names from the environment, the client built once
    /// from the standard AWS settings (`AWS_ENDPOINT_URL` points it at an emulator).
    pub async fn from_env() -> Result<Self, ConfigError> {
        // The table names first: a misconfigured function fails before any AWS work.
        let tables = TableNames::from_source(&Env)?;
        Ok(Self::new(
            Client::new(&config_loader().load().await),
            tables,
        ))
    }

    /// As [`from_env`](Self::from_env), on an SDK configuration loaded once and shared by every
    /// adapter of the function (credentials and region are resolved once per cold start).
    pub fn from_env_with(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        Ok(Self::new(Client::new(sdk), TableNames::from_source(&Env)?))
    }

    /// The item `key = value` of `table`, read strongly consistently.
    async fn get_item(
        &self,
        table: &str,
        key: &str,
        value: &str,
    ) -> Result<Option<Item>, StoreError> {
        // DynamoDB rejects an empty key value; no record has one.
        if value.is_empty() {
            return Ok(None);
        }
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key(key, s(value))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(out.item)
    }

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
            let mut request = self
                .client
                .query()
                .table_name(&self.tables.transactions)
                .index_name(listing.index)
                .expression_attribute_names("#pk", listing.partition_attribute)
                .expression_attribute_values(":pk", s(&listing.partition))
                .scan_index_forward(!listing.newest_first)
                .limit(i32::try_from(batch).unwrap_or(i32::MAX))
                .set_exclusive_start_key(resume.clone());
            request = match (&listing.started_from, &listing.started_to) {
                (None, None) => request.key_condition_expression("#pk = :pk"),
                (Some(from), None) => request
                    .key_condition_expression("#pk = :pk AND #started >= :from")
                    .expression_attribute_names("#started", STARTED)
                    .expression_attribute_values(":from", s(from)),
                (None, Some(to)) => request
                    .key_condition_expression("#pk = :pk AND #started <= :to")
                    .expression_attribute_names("#started", STARTED)
                    .expression_attribute_values(":to", s(to)),
                (Some(from), Some(to)) => request
                    .key_condition_expression("#pk = :pk AND #started BETWEEN :from AND :to")
                    .expression_attribute_names("#started", STARTED)
                    .expression_attribute_values(":from", s(from))
                    .expression_attribute_values(":to", s(to)),
            };
            let out = request.send().await.map_err(|e| unavailable("Query", e))?;
            for row in out.items() {
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
            .client
            .query()
            .table_name(&self.tables.transactions)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", attribute)
            .expression_attribute_values(":v", s(value))
            .projection_expression("#id")
            .expression_attribute_names("#id", ID)
            .limit(LOOKUP_CANDIDATES)
            .send()
            .await
            .map_err(|e| unavailable("Query", e))?;
        for row in out.items() {
            let id = string_attribute(row, ID)?;
            if let Some(transaction) = self.get_transaction(id).await? {
                if matches(&transaction) {
                    return Ok(Some(transaction));
                }
            }
        }
        Ok(None)
    }

    async fn get_customer(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        // Guard items share the table; they are not customers.
        if id.starts_with(GUARD_PREFIX) {
            return Ok(None);
        }
        self.get_item(&self.tables.customers, ID, id)
            .await?
            .map(|item| decode_doc(&item, "customer"))
            .transpose()
    }

    /// Deletes the customer as read; `Conflict` if it changed meanwhile.
    async fn delete_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let record = Delete::builder()
            .table_name(&self.tables.customers)
            .key(ID, s(&customer.id))
            .condition_expression("#version = :read")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":read", n(customer.version))
            .build()
            .map_err(|e| request_error("Delete", e))?;
        // Never another customer's guard; a missing one (which no write leaves) does not keep
        // the customer from being erased.
        let guard = Delete::builder()
            .table_name(&self.tables.customers)
            .key(ID, s(guard_id(&customer.user)))
            .condition_expression("attribute_not_exists(#id) OR #customer = :id")
            .expression_attribute_names("#id", ID)
            .expression_attribute_names("#customer", CUSTOMER_ID)
            .expression_attribute_values(":id", s(&customer.id))
            .build()
            .map_err(|e| request_error("Delete", e))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(record).build())
            .transact_items(TransactWriteItem::builder().delete(guard).build())
            .send()
            .await
            .map_err(transaction_failure)?;
        Ok(())
    }
}

impl DynamoStore {
    fn worker_state_table(&self) -> Result<&str, StoreError> {
        configured(&self.tables.worker_state, WORKER_STATE_TABLE)
    }

    fn payments_table(&self) -> Result<&str, StoreError> {
        configured(&self.tables.payments, PAYMENTS_TABLE)
    }

    /// Leases channel `index` if it is free at `now`; `Conflict` if it is held.
    async fn lease_channel(
        &self,
        table: &str,
        index: u32,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(table)
            .item(KEY, s(channel_key(index)))
            .item(HOLDER, s(holder))
            .item(UNTIL, millis(until))
            // A lease lasts until `until`, exclusive: at `until` the channel is free.
            .condition_expression("attribute_not_exists(#key) OR #until <= :now")
            .expression_attribute_names("#key", KEY)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_values(":now", millis(now))
            .send()
            .await
            .map_err(|e| {
                failure("PutItem", e, |e| {
                    e.is_conditional_check_failed_exception()
                        || e.is_transaction_conflict_exception()
                })
            })?;
        Ok(())
    }
}

impl ChannelLeases for DynamoStore {
    async fn lease(
        &self,
        count: u32,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<ChannelLease>, StoreError> {
        if count == 0 {
            return Ok(None);
        }
        let table = self.worker_state_table()?;
        let first = random_u32() % count;
        for offset in 0..count {
            let index = (first + offset) % count;
            match self.lease_channel(table, index, holder, now, until).await {
                Ok(()) => {
                    return Ok(Some(ChannelLease {
                        index,
                        holder: holder.to_owned(),
                        until,
                    }))
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    async fn release(&self, lease: &ChannelLease) -> Result<(), StoreError> {
        let table = self.worker_state_table()?;
        let result = self
            .client
            .delete_item()
            .table_name(table)
            .key(KEY, s(channel_key(lease.index)))
            .condition_expression("#holder = :holder AND #until = :until")
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_values(":holder", s(&lease.holder))
            .expression_attribute_values(":until", millis(lease.until))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match failure("DeleteItem", e, |e| {
                e.is_conditional_check_failed_exception() || e.is_transaction_conflict_exception()
            }) {
                // Released already, or taken over after it expired: not this holder's any more.
                StoreError::Conflict => Ok(()),
                other => Err(other),
            },
        }
    }
}

impl Cursors for DynamoStore {
    async fn cursor(&self, name: &str) -> Result<Option<StoredCursor>, StoreError> {
        let table = self.worker_state_table()?;
        let Some(item) = self.get_item(table, KEY, &cursor_key(name)).await? else {
            return Ok(None);
        };
        Ok(Some(StoredCursor {
            value: string_attribute(&item, VALUE)?.to_owned(),
            version: number_attribute(&item, VERSION)?,
        }))
    }

    async fn save_cursor(
        &self,
        name: &str,
        value: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let table = self.worker_state_table()?;
        let version = match expected {
            None => 1,
            Some(v) => v.checked_add(1).ok_or(StoreError::Conflict)?,
        };
        let request = self
            .client
            .put_item()
            .table_name(table)
            .item(KEY, s(cursor_key(name)))
            .item(VALUE, s(value))
            .item(VERSION, n(version))
            .expression_attribute_names("#key", KEY);
        let request = match expected {
            None => request.condition_expression("attribute_not_exists(#key)"),
            // A comparison with a missing attribute is false, so this never creates an item.
            Some(read) => request
                .condition_expression("attribute_exists(#key) AND #version = :read")
                .expression_attribute_names("#version", VERSION)
                .expression_attribute_values(":read", n(read)),
        };
        request.send().await.map_err(|e| {
            failure("PutItem", e, |e| {
                e.is_conditional_check_failed_exception() || e.is_transaction_conflict_exception()
            })
        })?;
        Ok(version)
    }
}

impl IncomingPayments for DynamoStore {
    async fn record(&self, payment: &IncomingPayment) -> Result<bool, StoreError> {
        let table = self.payments_table()?;
        let result = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(payment_item(payment)?))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", ID)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match failure("PutItem", e, |e| {
                e.is_conditional_check_failed_exception() || e.is_transaction_conflict_exception()
            }) {
                StoreError::Conflict => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn get_payment(&self, id: &str) -> Result<Option<IncomingPayment>, StoreError> {
        let table = self.payments_table()?;
        self.get_item(table, ID, id)
            .await?
            .map(|item| decode_doc(&item, "incoming payment"))
            .transpose()
    }

    async fn list_needing_attention(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<IncomingPayment>, StoreError> {
        let table = self.payments_table()?;
        let limit = limit.max(1);
        let mut start = cursor.map(decode_attention_cursor).transpose()?;
        let mut items = Vec::new();
        // The index key of the last payment taken: where the next page starts.
        let mut last: Option<Item> = None;
        loop {
            // One more than the page needs tells whether a next page exists.
            let wanted = limit - items.len() + 1;
            let out = self
                .client
                .query()
                .table_name(table)
                .index_name(NEEDING_ATTENTION)
                .key_condition_expression("#attention = :open")
                .expression_attribute_names("#attention", ATTENTION)
                .expression_attribute_values(":open", s(OPEN))
                .scan_index_forward(true)
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            for row in out.items() {
                if items.len() == limit {
                    return Ok(Page {
                        items,
                        next: last.as_ref().map(cursor_from_key).transpose()?,
                    });
                }
                items.push(decode_doc(row, "incoming payment")?);
                last = Some(attention_key_of(row)?);
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(Page { items, next: None }),
            }
        }
    }
}

impl TransactionStore for DynamoStore {
    async fn insert(&self, transaction: &Transaction) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.transactions)
            .set_item(Some(transaction_item(transaction)?))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", ID)
            .send()
            .await
            .map_err(|e| {
                failure("PutItem", e, |e| {
                    e.is_conditional_check_failed_exception()
                        || e.is_transaction_conflict_exception()
                })
            })?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Transaction>, StoreError> {
        self.get_transaction(id).await
    }

    async fn update(
        &self,
        transaction: &mut Transaction,
        expected: TransactionStatus,
    ) -> Result<(), StoreError> {
        let mut written = transaction.clone();
        written.version += 1;
        // A comparison with a missing attribute is false, so this never creates an item.
        self.client
            .put_item()
            .table_name(&self.tables.transactions)
            .set_item(Some(transaction_item(&written)?))
            .condition_expression("#version = :read AND #status = :expected")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_values(":read", n(transaction.version))
            .expression_attribute_values(":expected", s(expected.as_str()))
            .send()
            .await
            .map_err(|e| {
                failure("PutItem", e, |e| {
                    e.is_conditional_check_failed_exception()
                        || e.is_transaction_conflict_exception()
                })
            })?;
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
        let listing = Listing {
            index: BY_KIND_STATUS,
            partition_attribute: KIND_STATUS,
            partition: kind_status(kind, status),
            started_from: None,
            started_to: None,
            newest_first: false,
        };
        self.list(&listing, limit, cursor, None).await
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

impl CustomerStore for DynamoStore {
    async fn insert(&self, customer: &Customer) -> Result<(), StoreError> {
        let record = Put::builder()
            .table_name(&self.tables.customers)
            .set_item(Some(customer_item(customer)?))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", ID)
            .build()
            .map_err(|e| request_error("Put", e))?;
        let guard = Put::builder()
            .table_name(&self.tables.customers)
            .item(ID, s(guard_id(&customer.user)))
            .item(CUSTOMER_ID, s(&customer.id))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", ID)
            .build()
            .map_err(|e| request_error("Put", e))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(record).build())
            .transact_items(TransactWriteItem::builder().put(guard).build())
            .send()
            .await
            .map_err(transaction_failure)?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        self.get_customer(id).await
    }

    async fn find_by_user(&self, user: &UserKey) -> Result<Option<Customer>, StoreError> {
        let Some(guard) = self
            .get_item(&self.tables.customers, ID, &guard_id(user))
            .await?
        else {
            return Ok(None);
        };
        let id = string_attribute(&guard, CUSTOMER_ID)?;
        // Guard and customer are written and deleted together, so a guard without its customer
        // is only a delete between the two reads: no customer.
        let customer = self.get_customer(id).await?;
        if customer.as_ref().is_some_and(|c| c.user != *user) {
            return Err(StoreError::Corrupt(format!(
                "the guard of {user} names customer {id}, which belongs to another user"
            )));
        }
        Ok(customer)
    }

    async fn update(&self, customer: &mut Customer) -> Result<(), StoreError> {
        let mut written = customer.clone();
        written.version += 1;
        // The user is part of the condition: the guard item is keyed by it, so a customer
        // cannot move to another user (the in-memory adapter refuses that too).
        self.client
            .put_item()
            .table_name(&self.tables.customers)
            .set_item(Some(customer_item(&written)?))
            .condition_expression("#version = :read AND #user = :user")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_names("#user", USER)
            .expression_attribute_values(":read", n(customer.version))
            .expression_attribute_values(":user", s(customer.user.to_string()))
            .send()
            .await
            .map_err(|e| {
                failure("PutItem", e, |e| {
                    e.is_conditional_check_failed_exception()
                        || e.is_transaction_conflict_exception()
                })
            })?;
        customer.version = written.version;
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        // The guard's key is the customer's user, so the customer is read first; a concurrent
        // update between that read and the delete makes the delete re-read.
        for _ in 0..DELETE_ATTEMPTS {
            let Some(customer) = self.get_customer(id).await? else {
                return Ok(false);
            };
            match self.delete_customer(&customer).await {
                Ok(()) => return Ok(true),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }
}

impl ChallengeStore for DynamoStore {
    async fn consume(&self, hash: &str, expires_at: Timestamp) -> Result<bool, StoreError> {
        // Rounded up, so that the challenge never counts as expired before `expires_at`; `now`
        // rounded down for the same reason.
        let expires_secs = (expires_at.millis() + 999).div_euclid(1000);
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.challenges)
            .item(HASH, s(hash))
            .item(EXPIRES_AT, AttributeValue::N(expires_secs.to_string()))
            .condition_expression("attribute_not_exists(#hash) OR #expires <= :now")
            .expression_attribute_names("#hash", HASH)
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(
                ":now",
                AttributeValue::N(Timestamp::now().secs().to_string()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match failure("PutItem", e, |e| e.is_conditional_check_failed_exception()) {
                StoreError::Conflict => Ok(false),
                other => Err(other),
            },
        }
    }
}

/// An index listing: which index, which partition, which way.
struct Listing {
    index: &'static str,
    partition_attribute: &'static str,
    partition: String,
    /// Lowest `started` key read (inclusive).
    started_from: Option<String>,
    /// Highest `started` key read (inclusive).
    started_to: Option<String>,
    newest_first: bool,
}

impl Listing {
    /// The full index key of a listed item (table key, index partition and sort key), from which
    /// a query resumes.
    fn key_of(&self, row: &Item) -> Result<Item, StoreError> {
        [ID, self.partition_attribute, STARTED]
            .into_iter()
            .map(|name| Ok((name.to_owned(), s(string_attribute(row, name)?))))
            .collect()
    }

    /// The start key a cursor encodes, if it is one of this listing's.
    fn decode_cursor(&self, cursor: &str) -> Result<Item, StoreError> {
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(StoreError::InvalidCursor);
        }
        let json = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| StoreError::InvalidCursor)?;
        let key: BTreeMap<String, String> =
            serde_json::from_slice(&json).map_err(|_| StoreError::InvalidCursor)?;
        let (Some(id), Some(partition), Some(started)) = (
            key.get(ID),
            key.get(self.partition_attribute),
            key.get(STARTED),
        ) else {
            return Err(StoreError::InvalidCursor);
        };
        // DynamoDB refuses a start key outside the query's key range with an error; a cursor
        // from another listing (another user, status or time bound) is the caller's mistake.
        let valid = key.len() == 3
            && !id.is_empty()
            && *partition == self.partition
            && started
                .strip_suffix(id.as_str())
                .is_some_and(|s| s.ends_with('#'))
            && self
                .started_from
                .as_ref()
                .is_none_or(|from| started >= from)
            && self.started_to.as_ref().is_none_or(|to| started <= to);
        if !valid {
            return Err(StoreError::InvalidCursor);
        }
        Ok(key
            .into_iter()
            .map(|(name, value)| (name, s(value)))
            .collect())
    }
}

fn encode_cursor<K: serde::Serialize>(key: &K) -> Result<String, StoreError> {
    let json = serde_json::to_vec(key)
        .map_err(|e| StoreError::Corrupt(format!("a listing key cannot be encoded: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// The cursor of a LastEvaluatedKey, whose attributes (index and table keys) are all strings.
fn cursor_from_key(key: &Item) -> Result<String, StoreError> {
    let plain = key
        .keys()
        .map(|name| Ok((name.as_str(), string_attribute(key, name)?)))
        .collect::<Result<BTreeMap<_, _>, StoreError>>()?;
    encode_cursor(&plain)
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The `started` sort key: zero-padded millis (so string order is time order), then the id (so
/// that equal times have an order too). Nothing starts before 1970; were it to, it would sort
/// as 1970.
pub(super) fn started_key(started_at: Timestamp, id: &str) -> String {
    format!("{}#{id}", started_bound(started_at))
}

/// The lowest `started` key of anything started at or after `from`.
fn started_bound(from: Timestamp) -> String {
    format!("{:015}", from.millis().max(0))
}

fn millis(at: Timestamp) -> AttributeValue {
    AttributeValue::N(at.millis().to_string())
}

fn channel_key(index: u32) -> String {
    format!("channel#{index}")
}

fn cursor_key(name: &str) -> String {
    format!("cursor#{name}")
}

fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    // Only spreads the load: without randomness every lease starts at channel 0.
    getrandom::getrandom(&mut bytes).map_or(0, |()| u32::from_le_bytes(bytes))
}

fn payment_item(p: &IncomingPayment) -> Result<Item, StoreError> {
    let mut item = Item::from([
        (ID.to_owned(), s(&p.id)),
        (DOC.to_owned(), s(encode_doc(p, "incoming payment", &p.id)?)),
    ]);
    // The sparse index: only what needs the operator is in it.
    if p.outcome.needs_attention() {
        item.insert(ATTENTION.to_owned(), s(OPEN));
        item.insert(RECORDED.to_owned(), s(started_key(p.recorded_at, &p.id)));
    }
    Ok(item)
}

/// The `needing_attention` index key of a listed payment.
fn attention_key_of(row: &Item) -> Result<Item, StoreError> {
    [ID, ATTENTION, RECORDED]
        .into_iter()
        .map(|name| Ok((name.to_owned(), s(string_attribute(row, name)?))))
        .collect()
}

/// The start key a cursor of `list_needing_attention` encodes, if it is one.
fn decode_attention_cursor(cursor: &str) -> Result<Item, StoreError> {
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(StoreError::InvalidCursor);
    }
    let json = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let key: BTreeMap<String, String> =
        serde_json::from_slice(&json).map_err(|_| StoreError::InvalidCursor)?;
    let valid = key.len() == 3
        && key.get(ATTENTION).is_some_and(|a| a == OPEN)
        && match (key.get(ID), key.get(RECORDED)) {
            (Some(id), Some(recorded)) => {
                !id.is_empty()
                    && recorded
                        .strip_suffix(id.as_str())
                        .is_some_and(|r| r.ends_with('#'))
            }
            _ => false,
        };
    if !valid {
        return Err(StoreError::InvalidCursor);
    }
    Ok(key
        .into_iter()
        .map(|(name, value)| (name, s(value)))
        .collect())
}

fn number_attribute(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| {
            StoreError::Corrupt(format!("attribute {name} is not a version: {value}"))
        }),
        _ => Err(StoreError::Corrupt(format!(
            "an item has no number attribute {name}"
        ))),
    }
}

fn kind_status(kind: Kind, status: TransactionStatus) -> String {
    format!("{}#{}", kind.as_str(), status.as_str())
}

fn guard_id(user: &UserKey) -> String {
    format!("{GUARD_PREFIX}{user}")
}

fn encode_doc<T: serde::Serialize>(record: &T, what: &str, id: &str) -> Result<String, StoreError> {
    serde_json::to_string(record)
        .map_err(|e| StoreError::Corrupt(format!("{what} {id} cannot be encoded: {e}")))
}

fn transaction_item(t: &Transaction) -> Result<Item, StoreError> {
    let mut item = Item::from([
        (ID.to_owned(), s(&t.id)),
        (VERSION.to_owned(), n(t.version)),
        (STATUS.to_owned(), s(t.status.as_str())),
        (USER.to_owned(), s(t.user.to_string())),
        (KIND_STATUS.to_owned(), s(kind_status(t.kind, t.status))),
        (STARTED.to_owned(), s(started_key(t.started_at, &t.id))),
        (DOC.to_owned(), s(encode_doc(t, "transaction", &t.id)?)),
    ]);
    let lookups = [
        (RECEIVING_KEY, t.receiving_key()),
        (STELLAR_TRANSACTION_ID, t.stellar_transaction_id.clone()),
        (EXTERNAL_TRANSACTION_ID, t.external_transaction_id.clone()),
    ];
    for (name, value) in lookups {
        // Sparse indexes: no attribute, no index entry. DynamoDB also refuses an empty string
        // as an index key.
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            item.insert(name.to_owned(), s(value));
        }
    }
    Ok(item)
}

fn customer_item(c: &Customer) -> Result<Item, StoreError> {
    Ok(Item::from([
        (ID.to_owned(), s(&c.id)),
        (VERSION.to_owned(), n(c.version)),
        (USER.to_owned(), s(c.user.to_string())),
        (DOC.to_owned(), s(encode_doc(c, "customer", &c.id)?)),
    ]))
}

fn string_attribute<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(StoreError::Corrupt(format!(
            "an item of id {:?} has no string attribute {name}",
            item.get(ID).and_then(|id| id.as_s().ok())
        ))),
    }
}

fn decode_doc<T: DeserializeOwned>(item: &Item, what: &str) -> Result<T, StoreError> {
    let doc = string_attribute(item, DOC)?;
    serde_json::from_str(doc).map_err(|e| {
        let id = item.get(ID).and_then(|id| id.as_s().ok());
        StoreError::Corrupt(format!("{what} {id:?} cannot be decoded: {e}"))
    })
}

/// A call that failed: `Conflict` when `refused` recognises DynamoDB refusing the write on its
/// condition, `Unavailable` otherwise.
pub(super) fn failure<E, R>(
    operation: &str,
    err: SdkError<E, R>,
    refused: impl FnOnce(&E) -> bool,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err.as_service_error() {
        Some(service) if refused(service) => StoreError::Conflict,
        _ => unavailable(operation, err),
    }
}

/// A cancelled transaction whose reasons are all conditions or concurrent transactions (the
/// rest are `None`) is a lost race; anything else is an outage.
pub(super) fn transaction_failure<R>(err: SdkError<TransactWriteItemsError, R>) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    failure("TransactWriteItems", err, |e| match e {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => {
            let reasons = cancelled.cancellation_reasons();
            let lost_race = |code: Option<&str>| {
                matches!(code, Some("ConditionalCheckFailed" | "TransactionConflict"))
            };
            reasons.iter().any(|r| lost_race(r.code()))
                && reasons
                    .iter()
                    .all(|r| lost_race(r.code()) || matches!(r.code(), None | Some("None")))
        }
        _ => false,
    })
}

/// `Unavailable` with a short message; the whole error chain goes to the log.
pub(super) fn unavailable<E, R>(operation: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    tracing::warn!(error = %DisplayErrorContext(&err), "DynamoDB {operation} failed");
    let what = match &err {
        SdkError::ServiceError(service) => {
            service.err().code().unwrap_or("service error").to_owned()
        }
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::DispatchFailure(_) => "DynamoDB cannot be reached".to_owned(),
        SdkError::ResponseError(_) => "unreadable response".to_owned(),
        SdkError::ConstructionFailure(_) => "the request could not be built".to_owned(),
        _ => "failed".to_owned(),
    };
    StoreError::Unavailable(format!("DynamoDB {operation}: {what}"))
}

/// A request builder missing a required field: a bug here, reported rather than panicked on.
pub(super) fn request_error(what: &str, err: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Unavailable(format!("DynamoDB {what} could not be built: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(from: Option<Timestamp>) -> Listing {
        Listing {
            index: BY_USER,
            partition_attribute: USER,
            partition: "GABC:1".into(),
            started_from: from.map(started_bound),
            started_to: None,
            newest_first: true,
        }
    }

    fn cursor_of(pairs: &[(&str, &str)]) -> String {
        let key: BTreeMap<&str, &str> = pairs.iter().copied().collect();
        encode_cursor(&key).expect("encodes")
    }

    #[test]
    fn started_keys_sort_as_times_then_ids() {
        let keys = [
            started_key(Timestamp::from_millis(999), "b"),
            started_key(Timestamp::from_millis(1000), "a"),
            started_key(Timestamp::from_millis(1000), "b"),
            started_key(Timestamp::from_millis(1_700_000_000_000), "a"),
        ];
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        assert!(
            started_key(Timestamp::from_millis(1000), "a")
                >= started_bound(Timestamp::from_millis(1000))
        );
        assert!(
            started_key(Timestamp::from_millis(999), "z")
                < started_bound(Timestamp::from_millis(1000))
        );
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let l = listing(None);
        let started = started_key(Timestamp::from_millis(5), "tx-1");
        let good = cursor_of(&[(ID, "tx-1"), (USER, "GABC:1"), (STARTED, &started)]);
        let key = l.decode_cursor(&good).expect("valid");
        assert_eq!(key.get(ID), Some(&s("tx-1")));
        assert_eq!(key.get(STARTED), Some(&s(started.clone())));

        let also_good = cursor_from_key(&key).expect("encodes");
        assert_eq!(
            also_good, good,
            "a LastEvaluatedKey encodes like a listed item's key"
        );

        let bad = [
            "not a cursor".to_owned(),
            URL_SAFE_NO_PAD.encode("not json"),
            URL_SAFE_NO_PAD.encode("[1,2]"),
            cursor_of(&[(ID, "tx-1"), (USER, "GABC:1")]),
            cursor_of(&[(ID, "tx-1"), (USER, "GOTHER"), (STARTED, &started)]),
            cursor_of(&[(ID, "tx-2"), (USER, "GABC:1"), (STARTED, &started)]),
            cursor_of(&[(ID, "tx-1"), (KIND_STATUS, "GABC:1"), (STARTED, &started)]),
            cursor_of(&[
                (ID, "tx-1"),
                (USER, "GABC:1"),
                (STARTED, &started),
                ("x", "y"),
            ]),
            "A".repeat(MAX_CURSOR_LEN + 1),
        ];
        for cursor in bad {
            assert_eq!(
                l.decode_cursor(&cursor),
                Err(StoreError::InvalidCursor),
                "{cursor}"
            );
        }
        assert_eq!(
            listing(Some(Timestamp::from_millis(6))).decode_cursor(&good),
            Err(StoreError::InvalidCursor),
            "a cursor before the listing's time bound"
        );
    }

    #[test]
    fn table_names_come_from_the_environment_and_name_what_is_missing() {
        let names = TableNames::from_source(&[
            ("TRANSACTIONS_TABLE", "t"),
            ("CUSTOMERS_TABLE", "c"),
            ("CHALLENGES_TABLE", "h"),
        ])
        .expect("complete");
        assert_eq!(names.challenges, "h");
        assert_eq!(
            (names.worker_state, names.payments),
            (None, None),
            "the payment workers' tables are optional"
        );
        let names = TableNames::from_source(&[
            ("TRANSACTIONS_TABLE", "t"),
            ("CUSTOMERS_TABLE", "c"),
            ("CHALLENGES_TABLE", "h"),
            ("WORKER_STATE_TABLE", "w"),
            ("PAYMENTS_TABLE", " "),
        ])
        .expect("complete");
        assert_eq!(
            (names.worker_state.as_deref(), names.payments),
            (Some("w"), None),
            "a blank name is no name"
        );
        let missing =
            TableNames::from_source(&[("TRANSACTIONS_TABLE", "t"), ("CHALLENGES_TABLE", "h")])
                .expect_err("incomplete");
        assert_eq!(missing.to_string(), "CUSTOMERS_TABLE must be set");
    }

    #[test]
    fn attention_cursors_round_trip_and_others_are_refused() {
        let recorded = started_key(Timestamp::from_millis(5), "123");
        let good = cursor_of(&[(ID, "123"), (ATTENTION, OPEN), (RECORDED, &recorded)]);
        let key = decode_attention_cursor(&good).expect("valid");
        assert_eq!(key.get(RECORDED), Some(&s(recorded.clone())));
        assert_eq!(cursor_from_key(&key).expect("encodes"), good);
        let bad = [
            "not a cursor".to_owned(),
            URL_SAFE_NO_PAD.encode("{}"),
            cursor_of(&[(ID, "123"), (ATTENTION, "closed"), (RECORDED, &recorded)]),
            cursor_of(&[(ID, "124"), (ATTENTION, OPEN), (RECORDED, &recorded)]),
            cursor_of(&[(ID, ""), (ATTENTION, OPEN), (RECORDED, "000#")]),
            cursor_of(&[(ID, "123"), (ATTENTION, OPEN)]),
            cursor_of(&[
                (ID, "123"),
                (ATTENTION, OPEN),
                (RECORDED, &recorded),
                ("x", "y"),
            ]),
            cursor_of(&[(ID, "123"), (USER, "GABC"), (STARTED, &recorded)]),
            "A".repeat(MAX_CURSOR_LEN + 1),
        ];
        for cursor in bad {
            assert_eq!(
                decode_attention_cursor(&cursor),
                Err(StoreError::InvalidCursor),
                "{cursor}"
            );
        }
    }

    #[test]
    fn only_payments_needing_attention_are_indexed() {
        let payment = |outcome| IncomingPayment {
            id: "42".into(),
            account: crate::stellar::Keypair::random().account_id(),
            transaction_hash: "ab".repeat(32),
            from: None,
            asset: crate::stellar::Asset::Native,
            amount: "1".parse().expect("amount"),
            memo_type: "none".into(),
            memo: None,
            created_at: Timestamp::from_millis(1),
            outcome,
            transaction_id: None,
            note: None,
            recorded_at: Timestamp::from_millis(2),
        };
        for quiet in [
            crate::model::PaymentOutcome::Matched,
            crate::model::PaymentOutcome::History,
        ] {
            let item = payment_item(&payment(quiet)).expect("item");
            assert!(
                !item.contains_key(ATTENTION) && !item.contains_key(RECORDED),
                "{quiet:?}"
            );
        }
        let p = payment(crate::model::PaymentOutcome::Duplicate);
        let item = payment_item(&p).expect("item");
        assert_eq!(item.get(ATTENTION), Some(&s(OPEN)));
        assert_eq!(item.get(RECORDED), Some(&s("000000000000002#42")));
        assert_eq!(
            attention_key_of(&item).expect("key").len(),
            3,
            "id and the index keys"
        );
        let back: IncomingPayment = decode_doc(&item, "incoming payment").expect("decodes");
        assert_eq!(back, p);
    }

    #[test]
    fn lookup_keys_are_only_written_when_present() {
        let user = UserKey {
            account: crate::stellar::Keypair::random().account_id(),
            memo: Some(3),
        };
        let mut t = Transaction::new(
            crate::model::Protocol::Sep24,
            Kind::Deposit,
            TransactionStatus::Incomplete,
            user,
            crate::stellar::Asset::Native,
            Timestamp::from_millis(1),
        );
        t.external_transaction_id = Some(String::new());
        let item = transaction_item(&t).expect("encodes");
        for absent in [
            RECEIVING_KEY,
            STELLAR_TRANSACTION_ID,
            EXTERNAL_TRANSACTION_ID,
        ] {
            assert!(!item.contains_key(absent), "{absent}");
        }
        assert_eq!(item.get(USER), Some(&s(format!("{}:3", user.account))));
        assert_eq!(item.get(KIND_STATUS), Some(&s("deposit#incomplete")));
        let back: Transaction = decode_doc(&item, "transaction").expect("decodes");
        assert_eq!(back, t);

        let mut broken = item;
        broken.insert(DOC.into(), s("{"));
        assert!(matches!(
            decode_doc::<Transaction>(&broken, "transaction"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
