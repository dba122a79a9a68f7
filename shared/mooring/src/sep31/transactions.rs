//! SEP-31 `GET /transactions/:id` (digest 7.3), the deprecated `PATCH /transactions/:id`
//! (7.4) and `PUT /transactions/:id/callback` (7.5). A sending anchor sees only its own
//! transactions (404 otherwise); every write of a stored transaction is conditional on the
//! status read.

use crate::transfer::info_update::{check_update, store_update};
use std::collections::BTreeMap;

use super::request::{json_object, text_fields};
use super::service::Receive;
use crate::error::ApiError;
use crate::integrations::ReceiveIntegration;
use crate::model::{Transaction, TransactionStatus};
use crate::queue::{Queue, QueueMessage};
use crate::store::{QuoteStore, StoreError, TransactionStore};
use crate::transfer::callback::parse_callback_url;
use crate::transfer::{store_error, Caller};

/// How often `PUT .../callback` reads again after losing a race with another writer.
const CALLBACK_ATTEMPTS: usize = 3;

/// The fields of a PATCH body: `{"fields": {"transaction": {<field>: <value>, ...}}}`.
fn patch_fields(body: &[u8]) -> Result<BTreeMap<String, String>, ApiError> {
    const SHAPE: &str = "{\"fields\": {\"transaction\": {<field>: <value>, ...}}}";
    let body = json_object(body, SHAPE)?;
    let fields = body
        .get("fields")
        .and_then(|fields| fields.get("transaction"))
        .and_then(serde_json::Value::as_object)
        .ok_or_else(|| ApiError::bad_request(format!("the body must be {SHAPE}")))?;
    let fields = text_fields(fields, &[])?;
    if fields.is_empty() {
        return Err(ApiError::bad_request("'fields.transaction' names no field"));
    }
    Ok(fields)
}

impl<I, S, Q> Receive<I, S, Q>
where
    I: ReceiveIntegration,
    S: TransactionStore + QuoteStore,
    Q: Queue,
{
    /// `GET /transactions/:id`.
    pub async fn transaction(&self, caller: &Caller, id: &str) -> Result<Transaction, ApiError> {
        self.own(caller, id).await
    }

    /// `PATCH /transactions/:id`: only while the caller's transaction is
    /// `pending_transaction_info_update`, only the fields it asked for
    /// (`required_info_updates`; every required one). The integration applies them
    /// ([`ReceiveIntegration::process_patch_request`]); the transaction then moves to
    /// `pending_receiver` (a conditional write), goes to the outgoing-payments queue, and its
    /// callback URL is told.
    pub async fn patch(
        &self,
        caller: &Caller,
        id: &str,
        body: &[u8],
    ) -> Result<Transaction, ApiError> {
        let fields = patch_fields(body)?;
        let stored = self.own(caller, id).await?;
        check_update(&stored, &fields)?;
        let mut updated = stored.clone();
        self.integration
            .process_patch_request(&mut updated, &fields)
            .await?;
        updated.status = TransactionStatus::PendingReceiver;
        updated.status_message = None;
        updated.required_info_message = None;
        updated.required_info_updates = None;
        updated.updated_at = self.now();
        store_update(&*self.store, &mut updated).await?;
        crate::telemetry::record_transaction_id(&updated.id);
        tracing::info!(transaction_id = %updated.id, "SEP-31 transaction updated: pending_receiver");
        // The outgoing-payments queue: the worker pays the receiver out again. Should the
        // message be lost, its sweep of pending_receiver picks the transaction up.
        let message = QueueMessage::new(updated.id.clone(), updated.kind);
        if let Err(error) = self.outgoing.send(&message).await {
            tracing::error!(%error, transaction_id = %updated.id, "queueing the outgoing payment");
        }
        // The sending anchor hears of the change from the table's stream (status_callbacks).
        Ok(updated)
    }

    /// `PUT /transactions/:id/callback` with `{"url": "https://..."}`: replaces the callback
    /// URL of the caller's transaction (a conditional write, read again if another writer won
    /// meanwhile).
    pub async fn set_callback(
        &self,
        caller: &Caller,
        id: &str,
        body: &[u8],
    ) -> Result<(), ApiError> {
        let body = json_object(body, "{\"url\": \"https://...\"}")?;
        let url = body
            .get("url")
            .and_then(serde_json::Value::as_str)
            .and_then(parse_callback_url)
            .ok_or_else(|| ApiError::bad_request("'url' must be an absolute http(s) URL"))?;
        for _ in 0..CALLBACK_ATTEMPTS {
            let mut transaction = self.own(caller, id).await?;
            transaction.callback_url = Some(url.to_string());
            let status = transaction.status;
            match self.store.update(&mut transaction, status).await {
                Ok(()) => {
                    tracing::info!(transaction_id = %transaction.id, host = url.host_str().unwrap_or_default(), "SEP-31 callback URL set");
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(error) => return Err(store_error(error)),
            }
        }
        Err(ApiError::Unavailable {
            public: "the transaction is changing; try again".into(),
            cause: format!("callback URL of {id}: {CALLBACK_ATTEMPTS} conflicting writes"),
        })
    }
}
