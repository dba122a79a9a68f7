//! What the hooks' answers do to a SEP-6 transaction ([`apply_answer`]), the KYC loop (a
//! transaction waiting in `pending_customer_info_update` moves on by itself once the hook
//! says it is ready: [`Transfer::advance`]) and `PATCH /transactions/:id` (digest 6.8, 6.9).
//! Every move of a stored transaction is a conditional write on the status read.

use std::collections::BTreeMap;

use super::request::KycRefusal;
use super::service::Transfer;
use crate::config::AssetConfig;
use crate::error::ApiError;
use crate::http::body::MAX_TEXT_BYTES;
use crate::i18n::Lang;
use crate::integrations::{
    CustomerIntegration, FeeIntegration, InfoField, KycReview, Operation, ProgrammaticIntegration,
    Sep6Answer, Sep6Ready, Sep6Request,
};
use crate::model::{Protocol, Transaction, TransactionStatus};
use crate::payments::asset_config;
use crate::store::{QuoteStore, StoreError, TransactionStore};
use crate::transfer::callback::CallbackSender;
use crate::transfer::{set_withdrawal_destination, store_error, truncate, Caller};

/// How a request that needs KYC is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KycStyle {
    /// SEP-6 v4: 200, the transaction in `pending_customer_info_update`.
    Transaction,
    /// Deprecated, still expected by older wallets and the validator: 403
    /// `non_interactive_customer_info_needed` / `customer_info_status`, nothing stored.
    Deprecated,
}

/// The outcome of a hook's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The transaction is to be stored as changed; `Some` when it is ready.
    Stored(Option<Sep6Ready>),
    /// Nothing is to be stored: the request is answered with a 403.
    Refused(KycRefusal),
}

/// Applies a hook's answer to the transaction: ready -> `pending_user_transfer_start` (a
/// deposit with its instructions, a withdrawal with the anchor's account and memo); KYC
/// needed or under review -> `pending_customer_info_update` or a refusal, by `style`; a
/// denied customer -> a refusal; transaction info needed -> `pending_transaction_info_update`.
pub(super) fn apply_answer(
    transaction: &mut Transaction,
    answer: Sep6Answer,
    asset: &AssetConfig,
    style: KycStyle,
) -> Result<Applied, ApiError> {
    match answer {
        Sep6Answer::Ready(ready) => {
            if transaction.kind.is_deposit() {
                if !ready.instructions.is_empty() {
                    transaction.instructions = Some(
                        serde_json::to_value(&ready.instructions)
                            .map_err(|e| ApiError::Internal(format!("instructions: {e}")))?,
                    );
                }
            } else {
                set_withdrawal_destination(transaction, asset).map_err(ApiError::Internal)?;
            }
            transaction.status = TransactionStatus::PendingUserTransferStart;
            transaction.status_eta = ready.eta;
            transaction.required_info_message = None;
            transaction.required_info_updates = None;
            Ok(Applied::Stored(Some(ready)))
        }
        Sep6Answer::CustomerInfoNeeded { fields } => match style {
            KycStyle::Deprecated => Ok(Applied::Refused(KycRefusal::InfoNeeded(fields))),
            KycStyle::Transaction => {
                transaction.status = TransactionStatus::PendingCustomerInfoUpdate;
                transaction.required_info_message = Some(format!(
                    "Send your KYC information through SEP-12 (PUT /customer with this \
                     transaction_id): {}",
                    fields.join(", ")
                ));
                transaction.required_info_updates = None;
                Ok(Applied::Stored(None))
            }
        },
        Sep6Answer::CustomerInfoStatus {
            status: KycReview::Pending,
            eta,
        } if style == KycStyle::Transaction => {
            transaction.status = TransactionStatus::PendingCustomerInfoUpdate;
            transaction.status_eta = eta;
            transaction.required_info_message =
                Some("Your KYC information is being reviewed.".into());
            transaction.required_info_updates = None;
            Ok(Applied::Stored(None))
        }
        Sep6Answer::CustomerInfoStatus { status, eta } => {
            Ok(Applied::Refused(KycRefusal::Status(status, eta)))
        }
        Sep6Answer::TransactionInfoNeeded { message, fields } => {
            transaction.status = TransactionStatus::PendingTransactionInfoUpdate;
            transaction.required_info_message = Some(message);
            transaction.required_info_updates = Some(
                serde_json::to_value(&fields)
                    .map_err(|e| ApiError::Internal(format!("required_info_updates: {e}")))?,
            );
            Ok(Applied::Stored(None))
        }
    }
}

impl<I, S, C> Transfer<I, S, C>
where
    I: ProgrammaticIntegration + FeeIntegration + CustomerIntegration,
    S: TransactionStore + QuoteStore,
    C: CallbackSender,
{
    /// Asks the direction's hook about a stored transaction again (no request parameters).
    async fn ask_again(
        &self,
        transaction: &mut Transaction,
        asset: &AssetConfig,
    ) -> Result<Sep6Answer, ApiError> {
        let empty = BTreeMap::new();
        let lang = Lang::from_tag(transaction.lang.as_deref());
        let operation = if transaction.kind.is_deposit() {
            Operation::Deposit
        } else {
            Operation::Withdraw
        };
        let request = Sep6Request {
            operation,
            asset,
            lang,
            params: &empty,
        };
        Ok(match operation {
            Operation::Deposit => {
                self.integration
                    .process_sep6_deposit(request, transaction)
                    .await?
            }
            Operation::Withdraw => {
                self.integration
                    .process_sep6_withdrawal(request, transaction)
                    .await?
            }
        })
    }

    /// The KYC loop: a transaction in `pending_customer_info_update` is asked about again and,
    /// when its customer is complete, moves on (ready, or on to the next need; a denied
    /// customer ends it in `error`) with one conditional write, then the wallet's
    /// `on_change_callback` is told. Anything else, a failure or a lost race is returned as
    /// stored (failures are logged: the next read tries again).
    pub(super) async fn advance(&self, transaction: Transaction) -> Transaction {
        if transaction.status != TransactionStatus::PendingCustomerInfoUpdate {
            return transaction;
        }
        let Some(asset) = asset_config(&self.anchor.assets, &transaction.asset) else {
            return transaction;
        };
        let mut moved = transaction.clone();
        let answer = match self.ask_again(&mut moved, asset).await {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(transaction_id = %transaction.id, %error, "KYC loop: asking the integration");
                return transaction;
            }
        };
        match apply_answer(&mut moved, answer, asset, KycStyle::Transaction) {
            Ok(Applied::Stored(_)) => {}
            Ok(Applied::Refused(_)) => {
                moved.status = TransactionStatus::Error;
                moved.status_message =
                    Some("The anchor cannot accept the customer's KYC information.".into());
                moved.required_info_message = None;
            }
            Err(error) => {
                tracing::error!(transaction_id = %transaction.id, %error, "KYC loop");
                return transaction;
            }
        }
        if moved == transaction {
            return transaction;
        }
        moved.updated_at = self.now();
        match self
            .store
            .update(&mut moved, TransactionStatus::PendingCustomerInfoUpdate)
            .await
        {
            Ok(()) => {
                tracing::info!(transaction_id = %moved.id, status = moved.status.as_str(), "KYC loop: moved on");
                self.notify(&moved).await;
                moved
            }
            Err(StoreError::Conflict) => match self.store.get(&transaction.id).await {
                Ok(Some(current)) => current,
                _ => transaction,
            },
            Err(error) => {
                tracing::warn!(transaction_id = %transaction.id, %error, "KYC loop: storing");
                transaction
            }
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
        if stored.status != TransactionStatus::PendingTransactionInfoUpdate {
            return Err(ApiError::bad_request(format!(
                "no update is pending: the transaction is {}",
                stored.status
            )));
        }
        let requested: BTreeMap<String, InfoField> = stored
            .required_info_updates
            .clone()
            .and_then(|value| serde_json::from_value(value).ok())
            .unwrap_or_default();
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
        let asset = asset_config(&self.anchor.assets, &stored.asset).ok_or_else(|| {
            ApiError::Internal(format!("asset {} is not configured", stored.asset))
        })?;
        let lang = Lang::from_tag(stored.lang.as_deref());
        let mut updated = stored.clone();
        self.integration
            .patch_transaction(&mut updated, &fields, lang)
            .await?;
        let answer = self.ask_again(&mut updated, asset).await?;
        if let Applied::Refused(_) =
            apply_answer(&mut updated, answer, asset, KycStyle::Transaction)?
        {
            updated.status = TransactionStatus::Error;
            updated.status_message =
                Some("The anchor cannot accept the customer's KYC information.".into());
        }
        updated.updated_at = self.now();
        match self
            .store
            .update(
                &mut updated,
                TransactionStatus::PendingTransactionInfoUpdate,
            )
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(ApiError::bad_request(
                    "the transaction changed meanwhile: read it again",
                ))
            }
            Err(error) => return Err(store_error(error)),
        }
        crate::telemetry::record_transaction_id(&updated.id);
        tracing::info!(transaction_id = %updated.id, status = updated.status.as_str(), "SEP-6 transaction updated");
        self.notify(&updated).await;
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
