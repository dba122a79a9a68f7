//! A user's own deposits and withdrawals (SEP-6 6.6, SEP-24 5.7/5.8): one transaction by id,
//! and the newest-first listing. A user is an account AND its memo (`G...:memo` or `M...`): a
//! transaction of another user, or of another SEP, is never shown (`/transaction` answers 404
//! as for an unknown id).

use std::collections::BTreeMap;

use super::request::{param, store_error, truncate};
use super::Caller;
use crate::config::{AssetConfig, Sep};
use crate::error::ApiError;
use crate::model::{Kind, Protocol, Transaction};
use crate::store::{Position, TransactionQuery, TransactionStore};
use crate::time::Timestamp;

/// A listing returns at most this many transactions (also without `limit`).
pub const MAX_LIMIT: usize = crate::limits::MAX_LIST_LIMIT;

/// No identifier of ours is this long (ids are UUIDs, hashes 64 hex digits); longer values
/// cannot name a transaction and are not sent to storage.
const MAX_ID_LEN: usize = crate::limits::MAX_ID_BYTES;

/// Whose transactions, of which SEP.
#[derive(Debug, Clone, Copy)]
pub struct History<'a, S: ?Sized> {
    pub store: &'a S,
    pub protocol: Protocol,
    /// The SEP's assets (`asset_code` of a listing must name one).
    pub sep: Sep,
    pub assets: &'a [AssetConfig],
}

impl<S: TransactionStore + ?Sized> History<'_, S> {
    /// `GET /transaction`: by `id`, `stellar_transaction_id` or `external_transaction_id` (at
    /// least one; every one given must match). 404 unless it is the caller's transaction of
    /// this SEP.
    pub async fn transaction(
        &self,
        caller: &Caller,
        params: &BTreeMap<String, String>,
    ) -> Result<Transaction, ApiError> {
        let id = param(params, "id");
        let stellar = param(params, "stellar_transaction_id");
        let external = param(params, "external_transaction_id");
        let not_found = || ApiError::NotFound("transaction not found".into());
        if [id, stellar, external]
            .into_iter()
            .flatten()
            .any(|value| value.len() > MAX_ID_LEN)
        {
            return Err(not_found());
        }
        let found = match (id, stellar, external) {
            (Some(id), _, _) => self.store.get(id).await,
            (None, Some(hash), _) => self.store.find_by_stellar_transaction_id(hash).await,
            (None, None, Some(external)) => self.store.find_by_external_id(external).await,
            (None, None, None) => return Err(ApiError::bad_request(
                "one of 'id', 'stellar_transaction_id' or 'external_transaction_id' is required",
            )),
        }
        .map_err(store_error)?;
        found
            .filter(|t| {
                id.is_none_or(|id| t.id == id)
                    && stellar.is_none_or(|h| t.stellar_transaction_id.as_deref() == Some(h))
                    && external.is_none_or(|e| t.external_transaction_id.as_deref() == Some(e))
            })
            .filter(|t| self.belongs_to(t, caller))
            .inspect(|t| crate::telemetry::record_transaction_id(&t.id))
            .ok_or_else(not_found)
    }

    /// `GET /transactions`: the caller's transactions of `asset_code` (required), newest first
    /// by `started_at`, narrowed by `kinds` (the caller parsed `kind`), `no_older_than` (RFC
    /// 3339, inclusive), `paging_id` (only transactions older than that one, which must be one
    /// of the caller's, else 400) and `limit` (a positive integer, at most [`MAX_LIMIT`]).
    /// Neither SEP defines an order parameter: the list is always newest first, so `order` may
    /// only be `desc`.
    pub async fn transactions(
        &self,
        caller: &Caller,
        params: &BTreeMap<String, String>,
        kinds: Vec<Kind>,
    ) -> Result<Vec<Transaction>, ApiError> {
        let code = param(params, "asset_code")
            .ok_or_else(|| ApiError::bad_request("'asset_code' is required"))?;
        if !self
            .assets
            .iter()
            .any(|a| a.offers(self.sep) && a.asset.code() == code)
        {
            return Err(ApiError::bad_request(format!(
                "This anchor doesn't support the given currency code: {}",
                truncate(code)
            )));
        }
        let no_older_than = param(params, "no_older_than")
            .map(|value| {
                Timestamp::parse_rfc3339(value).ok_or_else(|| {
                    ApiError::bad_request(
                        "'no_older_than' must be an RFC 3339 time, e.g. 2024-01-31T12:00:00Z",
                    )
                })
            })
            .transpose()?;
        let limit = match param(params, "limit") {
            None => MAX_LIMIT,
            Some(value) => value
                .parse::<usize>()
                .ok()
                .filter(|limit| *limit > 0)
                .ok_or_else(|| ApiError::bad_request("'limit' must be a positive integer"))?
                .min(MAX_LIMIT),
        };
        match param(params, "order") {
            None | Some("desc") => {}
            Some(_) => {
                return Err(ApiError::bad_request(
                    "transactions are listed newest first: 'order' can only be desc",
                ))
            }
        }
        let before = match param(params, "paging_id") {
            None => None,
            Some(id) => {
                let refused =
                    || ApiError::bad_request("'paging_id' is not one of your transactions");
                if id.len() > MAX_ID_LEN {
                    return Err(refused());
                }
                let paging = self.store.get(id).await.map_err(store_error)?;
                let paging = paging
                    .filter(|t| self.belongs_to(t, caller))
                    .ok_or_else(refused)?;
                Some(Position::of(&paging))
            }
        };
        let query = TransactionQuery {
            user: caller.key(),
            protocol: Some(self.protocol),
            asset_code: Some(code.to_owned()),
            kinds,
            no_older_than,
            limit,
            cursor: None,
            before,
        };
        let page = self
            .store
            .list_for_user(&query)
            .await
            .map_err(store_error)?;
        Ok(page.items)
    }

    /// Whether a transaction is the caller's (account and memo) and of this SEP.
    fn belongs_to(&self, transaction: &Transaction, caller: &Caller) -> bool {
        transaction.protocol == self.protocol && transaction.user == caller.key()
    }
}
