//! `pending_transaction_info_update` (SEP-6 `PATCH /transactions/:id`, SEP-31's deprecated
//! PATCH): which fields a transaction asked for, checking a wallet's answer against them, and
//! storing the updated transaction with one conditional write.

use std::collections::BTreeMap;

use super::request::{store_error, truncate};
use crate::error::ApiError;
use crate::integrations::InfoField;
use crate::model::{Transaction, TransactionStatus};
use crate::store::{StoreError, TransactionStore};

/// The fields a transaction waits for (`required_info_updates`), stored flat
/// (`{<field>: {...}}`, as SEP-6's) or wrapped in SEP-31's `{"transaction": {...}}`.
pub fn requested_fields(transaction: &Transaction) -> BTreeMap<String, InfoField> {
    let Some(updates) = &transaction.required_info_updates else {
        return BTreeMap::new();
    };
    let flat = match updates.get("transaction") {
        Some(inner) if updates.as_object().is_some_and(|o| o.len() == 1) => inner,
        _ => updates,
    };
    serde_json::from_value(flat.clone()).unwrap_or_default()
}

/// 400 unless the transaction waits in `pending_transaction_info_update` and `fields` are
/// only fields it asked for, every required one included.
pub fn check_update(
    stored: &Transaction,
    fields: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    if stored.status != TransactionStatus::PendingTransactionInfoUpdate {
        return Err(ApiError::bad_request(format!(
            "no update is pending: the transaction is {}",
            stored.status
        )));
    }
    let requested = requested_fields(stored);
    if let Some(name) = fields.keys().find(|name| !requested.contains_key(*name)) {
        return Err(ApiError::bad_request(format!(
            "'{}' was not requested (required_info_updates)",
            truncate(name)
        )));
    }
    if let Some((name, _)) = requested
        .iter()
        .find(|(name, field)| !field.optional && !fields.contains_key(*name))
    {
        return Err(ApiError::bad_request(format!("'{name}' is required")));
    }
    Ok(())
}

/// Stores the updated transaction if it is still the one read in
/// `pending_transaction_info_update`; a lost race is 400 (the wallet reads it again).
pub async fn store_update<S: TransactionStore + ?Sized>(
    store: &S,
    updated: &mut Transaction,
) -> Result<(), ApiError> {
    match store
        .update(updated, TransactionStatus::PendingTransactionInfoUpdate)
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict) => Err(ApiError::bad_request(
            "the transaction changed meanwhile: read it again",
        )),
        Err(error) => Err(store_error(error)),
    }
}
