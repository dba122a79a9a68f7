//! SEP-31 `POST /transactions` (digest 7.2): check the request (asset, amount, funding
//! method, firm SEP-38 quote), build the transaction, ask the anchor's
//! [`ReceiveIntegration::process_post_request`], then store it in `pending_sender` with the
//! account and memo the sending anchor pays to. Every refusal is a 400 that stores nothing.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::info::receive_limits;
use super::service::Receive;
use crate::config::{Sep, TransferLimits};
use crate::error::ApiError;
use crate::http::body::MAX_TEXT_BYTES;
use crate::i18n::Lang;
use crate::integrations::{InfoField, Operation, PostAnswer, ReceiveIntegration, ReceiveRequest};
use crate::model::{Kind, Protocol, QuoteContext, Transaction, TransactionStatus};
use crate::queue::Queue;
use crate::stellar::Amount;
use crate::store::{QuoteStore, TransactionStore};
use crate::transfer::quote::{bind_quote, quote_for, use_quote, QuoteRequest};
use crate::transfer::{
    find_asset, param, parse_amount, refund_memo, set_amounts, set_withdrawal_destination,
    store_error, truncate, Caller,
};

/// What `POST /transactions` answers.
#[derive(Debug, Clone, PartialEq)]
pub enum PostResponse {
    /// 201: the transaction is stored.
    Created(Created),
    /// 400 `{"error": "customer_info_needed", "type": ...}`: nothing stored.
    CustomerInfoNeeded { kyc_type: String },
    /// 400 `{"error": "transaction_info_needed", "fields": {"transaction": ...}}`: nothing
    /// stored.
    TransactionInfoNeeded { fields: BTreeMap<String, InfoField> },
}

/// The 201 body: the id and where to pay (the validator allows no other keys; the payment
/// fields are always there for a `pending_sender` transaction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Created {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stellar_account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stellar_memo_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stellar_memo: Option<String>,
}

/// A JSON body that must be an object.
pub(super) fn json_object(body: &[u8], shape: &str) -> Result<Map<String, Value>, ApiError> {
    serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request(format!("the body must be a JSON object: {shape}")))
}

/// The text of an object's members as strings (numbers and booleans as written; `null` and
/// `""` are absent), each at most [`MAX_TEXT_BYTES`]; members named in `nested` are skipped,
/// any other object or array is refused.
pub(super) fn text_fields(
    object: &Map<String, Value>,
    nested: &[&str],
) -> Result<BTreeMap<String, String>, ApiError> {
    crate::limits::check_param_count(object.len())?;
    let mut fields = BTreeMap::new();
    for (name, value) in object {
        crate::limits::check_param(name, "")?;
        let text = match value {
            _ if nested.contains(&name.as_str()) => continue,
            Value::Null => continue,
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Array(_) | Value::Object(_) => {
                return Err(ApiError::bad_request(format!(
                    "'{}' must be a string",
                    truncate(name)
                )))
            }
        };
        if text.len() > MAX_TEXT_BYTES {
            return Err(ApiError::bad_request(format!(
                "'{}' is longer than {MAX_TEXT_BYTES} bytes",
                truncate(name)
            )));
        }
        if !text.is_empty() {
            fields.insert(name.clone(), text);
        }
    }
    Ok(fields)
}

/// The funding method a request names: one of the asset's receive `funding_methods`;
/// optional when it has a single one.
fn funding_method<'a>(limits: &'a TransferLimits, sent: Option<&str>) -> Result<&'a str, ApiError> {
    let methods = &limits.funding_methods;
    match (sent, methods.as_slice()) {
        (Some(sent), _) => methods
            .iter()
            .find(|method| *method == sent)
            .map(String::as_str)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "'funding_method' must be one of {}",
                    methods.join(", ")
                ))
            }),
        (None, [only]) => Ok(only),
        (None, _) => Err(ApiError::bad_request(format!(
            "'funding_method' is required: one of {}",
            methods.join(", ")
        ))),
    }
}

/// The configured receive fee of `amount`: `fee_fixed + amount × fee_percent / 100` (percent
/// rounded half up to the stroop), at least `fee_minimum`.
fn receive_fee(limits: &TransferLimits, amount: Amount) -> Result<Amount, ApiError> {
    let too_large = || ApiError::bad_request("the amount is too large");
    let percent = match limits.fee_percent {
        Some(percent) => amount.percent(percent).ok_or_else(too_large)?,
        None => Amount::ZERO,
    };
    let fee = percent
        .checked_add(limits.fee_fixed.unwrap_or_default())
        .ok_or_else(too_large)?;
    Ok(fee.max(limits.fee_minimum.unwrap_or_default()))
}

impl<I, S, Q> Receive<I, S, Q>
where
    I: ReceiveIntegration,
    S: TransactionStore + QuoteStore,
    Q: Queue,
{
    /// `POST /transactions` with a JSON body: `amount` (the Stellar amount, within the asset's
    /// receive limits and decimals), `asset_code` (and `asset_issuer`), `funding_method`
    /// (optional when the asset has one), `destination_asset` and `quote_id` (a firm SEP-38
    /// quote of the caller's, context `sep31`, selling `amount` of the asset, buying
    /// `destination_asset` if sent), `sender_id`, `receiver_id`, `lang`,
    /// `refund_memo`/`refund_memo_type` (both or neither) and the deprecated `fields`.
    pub async fn create(&self, caller: &Caller, body: &[u8]) -> Result<PostResponse, ApiError> {
        let body = json_object(body, "{\"amount\": ..., \"asset_code\": ..., ...}")?;
        if body
            .get("fields")
            .is_some_and(|fields| !fields.is_object() && !fields.is_null())
        {
            return Err(ApiError::bad_request(
                "'fields' must be an object: {\"transaction\": {...}}",
            ));
        }
        let params = text_fields(&body, &["fields"])?;
        let asset = find_asset(
            &self.anchor.assets,
            Sep::Sep31,
            param(&params, "asset_code"),
            param(&params, "asset_issuer"),
        )?;
        let limits = receive_limits(asset).ok_or_else(|| {
            ApiError::bad_request(format!(
                "{} is not received through SEP-31",
                asset.asset.code()
            ))
        })?;
        let amount = param(&params, "amount")
            .ok_or_else(|| ApiError::bad_request("'amount' is required"))?;
        let amount = parse_amount(amount, asset, limits)?;
        let method = funding_method(limits, param(&params, "funding_method"))?;
        let lang = Lang::from_tag(param(&params, "lang"));
        let refund = refund_memo(&params)?;
        let user = caller.key();

        let mut transaction = Transaction::new(
            Protocol::Sep31,
            Kind::Receive,
            TransactionStatus::PendingSender,
            user,
            asset.asset.0.clone(),
            self.now(),
        );
        transaction.muxed = caller.user.muxed;
        transaction.client_domain = caller.client_domain.clone();
        transaction.lang = Some(lang.code().to_owned());
        transaction.funding_method = Some(method.to_owned());
        transaction.sender_id = param(&params, "sender_id").map(str::to_owned);
        transaction.receiver_id = param(&params, "receiver_id").map(str::to_owned);
        if let Some(memo) = refund {
            transaction.refund_memo = memo.value();
            transaction.refund_memo_type = Some(memo.type_name().to_owned());
        }
        // The sending anchor pays the asset's distribution account with a memo unique to the
        // transaction: SEP-31's stellar_account_id and stellar_memo.
        set_withdrawal_destination(&mut transaction, asset).map_err(ApiError::Internal)?;

        let quote = match param(&params, "quote_id") {
            Some(id) => {
                // The sending anchor sells the Stellar asset for the off-chain one, as a
                // withdrawal does.
                let request = QuoteRequest {
                    context: QuoteContext::Sep31,
                    operation: Operation::Withdraw,
                    asset,
                    limits,
                    params: &params,
                };
                let quote = quote_for(&*self.store, &user, id, self.now(), request).await?;
                if quote
                    .buy_delivery_method
                    .as_deref()
                    .is_some_and(|quoted| quoted != method)
                {
                    return Err(ApiError::bad_request(
                        "'quote_id': the quote's delivery method is not the 'funding_method'",
                    ));
                }
                bind_quote(&mut transaction, &quote)?;
                Some(quote)
            }
            None => {
                let own = asset.asset.sep38_id();
                if let Some(other) = param(&params, "destination_asset").filter(|sent| *sent != own)
                {
                    return Err(ApiError::bad_request(format!(
                        "'destination_asset' {} needs a 'quote_id': this anchor converts at \
                         firm SEP-38 quotes only (POST /sep38/quote with context sep31)",
                        truncate(other)
                    )));
                }
                set_amounts(
                    &mut transaction,
                    asset,
                    amount,
                    receive_fee(limits, amount)?,
                )?;
                None
            }
        };

        let request = ReceiveRequest {
            asset,
            lang,
            body: &body,
            sending_anchor: &caller.user.account,
        };
        match self
            .integration
            .process_post_request(request, &mut transaction)
            .await?
        {
            PostAnswer::Accepted => {}
            PostAnswer::CustomerInfoNeeded { kyc_type } => {
                return Ok(PostResponse::CustomerInfoNeeded { kyc_type })
            }
            PostAnswer::TransactionInfoNeeded { fields } => {
                return Ok(PostResponse::TransactionInfoNeeded { fields })
            }
        }

        // The sending anchor's payment is due by the deadline (the quote's expiry at the latest).
        self.anchor.expiry.stamp(&mut transaction, None);
        if let Some(quote) = &quote {
            use_quote(&*self.store, quote, &transaction.id).await?;
        }
        self.store.insert(&transaction).await.map_err(store_error)?;
        crate::telemetry::record_transaction_id(&transaction.id);
        tracing::info!(
            transaction_id = %transaction.id,
            status = transaction.status.as_str(),
            asset = %transaction.asset,
            sending_anchor = %transaction.user,
            "SEP-31 transaction opened"
        );
        Ok(PostResponse::Created(Created {
            id: transaction.id,
            stellar_account_id: transaction.receiving_account.map(|a| a.to_string()),
            stellar_memo_type: transaction.receiving_memo_type,
            stellar_memo: transaction.receiving_memo,
        }))
    }
}
