//! The KYC loop as the wallet reads its transactions (digest 6.8; the loop itself is
//! [`crate::transfer::kyc_loop`]) and `PATCH /transactions/:id` (6.9). Every move of a stored
//! transaction is a conditional write on the status read.

use std::collections::BTreeMap;

use super::service::Transfer;
use crate::error::ApiError;
use crate::http::body::MAX_TEXT_BYTES;
use crate::i18n::Lang;
use crate::integrations::{CustomerIntegration, FeeIntegration, ProgrammaticIntegration};
use crate::model::{Protocol, Transaction};
use crate::payments::asset_config;
use crate::store::{QuoteStore, TransactionStore};
use crate::transfer::info_update::{check_update, store_update};
use crate::transfer::kyc_loop::{apply_to_stored, ask_again, Advanced, KycLoop};
use crate::transfer::{store_error, truncate, Caller};

impl<I, S> Transfer<I, S>
where
    I: ProgrammaticIntegration + FeeIntegration + CustomerIntegration,
    S: TransactionStore + QuoteStore,
{
    /// The KYC loop ([`KycLoop::advance`]) on a transaction read by the wallet (the wallet's
    /// `on_change_callback` hears of a change from the table's stream).
    pub(super) async fn advance(&self, transaction: Transaction) -> Transaction {
        let kyc_loop = KycLoop {
            integration: &self.integration,
            store: &*self.store,
            assets: &self.anchor.assets,
            expiry: &self.anchor.expiry,
            now: self.now(),
        };
        match kyc_loop.advance(transaction).await {
            Advanced::Moved(moved) | Advanced::Unchanged(moved) => moved,
        }
    }

    /// `PATCH /transactions/:id` with `{"transaction": {<field>: <value>, ...}}`: only while the
    /// caller's transaction is `pending_transaction_info_update`, only the fields it asked for
    /// (`required_info_updates`; every required one). The integration applies them, the hook
    /// is asked again, and the transaction is stored with a conditional write.
    pub async fn patch(
        &self,
        caller: &Caller,
        id: &str,
        body: &[u8],
    ) -> Result<Transaction, ApiError> {
        let fields = patch_fields(body)?;
        let not_found = || ApiError::NotFound("transaction not found".into());
        if id.len() > 256 {
            return Err(not_found());
        }
        let stored = self
            .store
            .get(id)
            .await
            .map_err(store_error)?
            .filter(|t| t.protocol == Protocol::Sep6 && t.user == caller.key())
            .ok_or_else(not_found)?;
        check_update(&stored, &fields)?;
        let asset = asset_config(&self.anchor.assets, &stored.asset).ok_or_else(|| {
            ApiError::Internal(format!("asset {} is not configured", stored.asset))
        })?;
        let lang = Lang::from_tag(stored.lang.as_deref());
        let mut updated = stored.clone();
        self.integration
            .patch_transaction(&mut updated, &fields, lang)
            .await?;
        let answer = ask_again(&self.integration, &mut updated, asset).await?;
        apply_to_stored(&mut updated, answer, asset)?;
        updated.updated_at = self.now();
        self.anchor.expiry.stamp(&mut updated, Some(stored.status));
        store_update(&*self.store, &mut updated).await?;
        crate::telemetry::record_transaction_id(&updated.id);
        tracing::info!(transaction_id = %updated.id, status = updated.status.as_str(), "SEP-6 transaction updated");
        Ok(updated)
    }
}

/// The fields of a PATCH body: `{"transaction": {...}}` of strings, numbers or booleans.
fn patch_fields(body: &[u8]) -> Result<BTreeMap<String, String>, ApiError> {
    let malformed =
        || ApiError::bad_request("the body must be {\"transaction\": {<field>: <value>, ...}}");
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| malformed())?;
    let object = value
        .get("transaction")
        .and_then(serde_json::Value::as_object)
        .ok_or_else(malformed)?;
    if object.is_empty() {
        return Err(malformed());
    }
    let mut fields = BTreeMap::new();
    for (name, value) in object {
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "'{}' must be a string",
                    truncate(name)
                )))
            }
        };
        if value.len() > MAX_TEXT_BYTES {
            return Err(ApiError::bad_request(format!(
                "'{}' is longer than {MAX_TEXT_BYTES} bytes",
                truncate(name)
            )));
        }
        fields.insert(name.clone(), value);
    }
    Ok(fields)
}
