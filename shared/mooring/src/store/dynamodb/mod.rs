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
//! the sparse index `needing_attention`, read oldest first; and, when the payment names a
//! transaction, `transaction_id`, the key of the sparse index `by_transaction` (a refund finds
//! what the sender paid). `record` puts on `attribute_not_exists(id)`, so a
//! payment is recorded once and never overwritten.
//!
//! **Quotes** (`QuotesTable`, table key `id`; SEP-38 firm quotes): `doc`, and `expires` (N, epoch
//! seconds), the table's TTL attribute: the quote's `expires_at` plus 365 days, because a
//! transaction may reference its quote long after the quote expired. `insert_quote` puts on
//! `attribute_not_exists(id)`, so a quote is written once and never overwritten.
//!
//! These three tables are optional in [`TableNames`] (`WORKER_STATE_TABLE`, `PAYMENTS_TABLE`,
//! `QUOTES_TABLE`): only the payment workers use the first two, and only the code that makes or
//! uses SEP-38 quotes the third. A method of [`ChannelLeases`] / [`Cursors`] (worker state),
//! [`IncomingPayments`] (payments) or [`QuoteStore`] (quotes) on a store without its table is
//! [`StoreError::Unavailable`] naming the missing variable. Everything else works without them.
//!
//! # Consistency
//!
//! `get` and the `find_*` lookups read the table strongly consistently (a lookup finds the id
//! through its index, then re-reads the item), so the version they return is current. Listings
//! come from indexes, which may lag a write by a moment: an update made from a listed item that
//! lost that race is a [`StoreError::Conflict`], as any other lost race.
//!
//! # Calls
//!
//! The calls of almost every request (a Query of an index, a GetItem, a conditional PutItem:
//! listings, lookups, transaction writes, SEP-10's replay record) are described once
//! (`direct::Query`, `direct::Put`) and sent directly (`crate::aws::direct`: one signed POST, the
//! JSON written from and read into the items without the SDK's orchestrator, about a quarter of
//! a listing's instructions), or through the SDK client when the direct attempt gets no clear
//! answer (a transport error, a timeout, an error other than a write refused on its condition,
//! an attribute type it does not read): the SDK's retries and error classification then apply
//! as before. Everything else goes through the SDK client. [`DynamoStore::new`] makes every call
//! through the SDK; the functions' store ([`DynamoStore::from_env_with`]) makes both.
//!
//! # Cursors
//!
//! A cursor is the base64url JSON of the key of the last item a page covered (what DynamoDB calls
//! the LastEvaluatedKey). It is validated before use: it must name this listing's partition.

mod challenges;
mod codec;
mod customers;
mod direct;
pub mod files;
mod payments;
mod quotes;
mod transactions;
mod worker_state;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::Client;

use self::codec::{Item, ID};
use self::direct::Put;
use crate::aws::direct::DirectClient;
use crate::config::{ConfigError, Env, Source};
use crate::store::StoreError;

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
    /// SEP-38 firm quotes; only the functions that make or use quotes need it.
    pub quotes: Option<String>,
}

const WORKER_STATE_TABLE: &str = "WORKER_STATE_TABLE";
const PAYMENTS_TABLE: &str = "PAYMENTS_TABLE";
const QUOTES_TABLE: &str = "QUOTES_TABLE";

impl TableNames {
    /// From `TRANSACTIONS_TABLE`, `CUSTOMERS_TABLE` and `CHALLENGES_TABLE` (required), and
    /// `WORKER_STATE_TABLE`, `PAYMENTS_TABLE` and `QUOTES_TABLE` (optional: a store without them
    /// fails only the calls that need them).
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let required = |name: &'static str| src.get(name).ok_or(ConfigError::Missing(name));
        let optional = |name: &str| src.get(name).filter(|v| !v.trim().is_empty());
        Ok(Self {
            transactions: required("TRANSACTIONS_TABLE")?,
            customers: required("CUSTOMERS_TABLE")?,
            challenges: required("CHALLENGES_TABLE")?,
            worker_state: optional(WORKER_STATE_TABLE),
            payments: optional(PAYMENTS_TABLE),
            quotes: optional(QUOTES_TABLE),
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

/// Every storage port on DynamoDB. Cheap to clone (the clients are shared).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    /// The hot calls' direct path (`direct`), tried before `client`.
    direct: Option<DirectClient>,
    tables: TableNames,
}

impl DynamoStore {
    /// A store making every call through `client`.
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self {
            client,
            direct: None,
            tables,
        }
    }

    /// The store of a function: its client built on `sdk` (signing with the cached day key,
    /// sending the trace header), and the hot calls made directly to the endpoint `sdk` resolves
    /// to. Fails only on a bad `AWS_CA_BUNDLE`.
    pub fn with_config(
        sdk: &aws_config::SdkConfig,
        tables: TableNames,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            client: crate::aws::dynamodb_client(sdk),
            direct: direct::direct_client(sdk)?,
            tables,
        })
    }

    /// The store of a Lambda function: table names from the environment, the clients built once
    /// from the standard AWS settings (`AWS_ENDPOINT_URL` points them at an emulator).
    pub async fn from_env() -> Result<Self, ConfigError> {
        // The table names first: a misconfigured function fails before any AWS work.
        let tables = TableNames::from_source(&Env)?;
        Self::with_config(&config_loader()?.load().await, tables)
    }

    /// As [`from_env`](Self::from_env), on an SDK configuration loaded once and shared by every
    /// adapter of the function (credentials and region are resolved once per cold start).
    pub fn from_env_with(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        Self::with_config(sdk, TableNames::from_source(&Env)?)
    }

    /// The direct calls answered, and those left to the SDK (`None`: every call goes through
    /// the SDK).
    pub fn direct_calls(&self) -> Option<(u64, u64)> {
        self.direct.as_ref().map(DirectClient::calls)
    }

    /// Writes a new item: `Conflict` if one with its `id` exists (nothing is overwritten).
    async fn put_new(&self, table: &str, item: Item) -> Result<(), StoreError> {
        self.put(Put {
            table,
            item,
            condition: "attribute_not_exists(#id)",
            names: &[("#id", ID)],
            values: &[],
        })
        .await
    }
}

/// A call that failed: `Conflict` when `refused` recognises DynamoDB refusing the write on its
/// condition, `Unavailable` otherwise.
fn failure<E, R>(
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
fn transaction_failure<R>(err: SdkError<TransactWriteItemsError, R>) -> StoreError
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
fn unavailable<E, R>(operation: &str, err: SdkError<E, R>) -> StoreError
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
fn request_error(what: &str, err: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Unavailable(format!("DynamoDB {what} could not be built: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            (names.worker_state, names.payments, names.quotes),
            (None, None, None),
            "the payment workers' and the quotes' tables are optional"
        );
        let names = TableNames::from_source(&[
            ("TRANSACTIONS_TABLE", "t"),
            ("CUSTOMERS_TABLE", "c"),
            ("CHALLENGES_TABLE", "h"),
            ("WORKER_STATE_TABLE", "w"),
            ("PAYMENTS_TABLE", " "),
            ("QUOTES_TABLE", "q"),
        ])
        .expect("complete");
        assert_eq!(
            (
                names.worker_state.as_deref(),
                names.payments,
                names.quotes.as_deref()
            ),
            (Some("w"), None, Some("q")),
            "a blank name is no name"
        );
        let missing =
            TableNames::from_source(&[("TRANSACTIONS_TABLE", "t"), ("CHALLENGES_TABLE", "h")])
                .expect_err("incomplete");
        assert_eq!(missing.to_string(), "CUSTOMERS_TABLE must be set");
    }
}
