//! The SEP-31 transaction object (digest 7.3), as `GET /transactions/:id`, `PATCH` and
//! callbacks show it. Values known only later (`amount_out` of a conversion, the Stellar and
//! external ids) are `null` until known; `required_info_updates` shows only while
//! `pending_transaction_info_update`, in SEP-31's `{"transaction": {...}}` shape.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::model::{Refunds, Transaction, TransactionStatus};
pub use crate::transfer::view::Envelope;
use crate::transfer::view::{deadline, FeeView};

/// A transaction rendered as SEP-31's transaction object.
pub struct TransactionView<'a> {
    pub transaction: &'a Transaction,
}

impl<'a> TransactionView<'a> {
    pub fn new(transaction: &'a Transaction) -> Self {
        Self { transaction }
    }
}

pub use crate::transfer::info_update::requested_fields;

/// SEP-31's `refunds`: `{amount_refunded, amount_fee, payments: [{id, amount, fee}]}` (no
/// `id_type`: every SEP-31 refund is a Stellar payment).
struct RefundsView<'a>(&'a Refunds);

impl Serialize for RefundsView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Payment<'a> {
            id: &'a str,
            amount: crate::stellar::Amount,
            fee: crate::stellar::Amount,
        }
        let payments: Vec<Payment<'_>> = self
            .0
            .payments
            .iter()
            .map(|p| Payment {
                id: &p.id,
                amount: p.amount,
                fee: p.fee,
            })
            .collect();
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("amount_refunded", &self.0.amount_refunded)?;
        map.serialize_entry("amount_fee", &self.0.amount_fee)?;
        map.serialize_entry("payments", &payments)?;
        map.end()
    }
}

/// The body of a status callback: the `GET` body of the transaction, `{"transaction": ...}`
/// (`status_callbacks::Bodies`; `public_url` is the anchor's, for links).
pub fn callback_body(
    transaction: &Transaction,
    _public_url: &str,
) -> Result<String, serde_json::Error> {
    serde_json::to_string(&Envelope(TransactionView::new(transaction)))
}

impl Serialize for TransactionView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let t = self.transaction;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &t.id)?;
        // SEP-31 has no `on_hold`: a payment held for the operator (a wrong amount, a late
        // payment of a quote) shows as `error`, its `status_message` saying why; the operator
        // may still move it on.
        let status = match t.status {
            TransactionStatus::OnHold => TransactionStatus::Error,
            other => other,
        };
        map.serialize_entry("status", status.as_str())?;
        if let Some(eta) = t.status_eta {
            map.serialize_entry("status_eta", &eta)?;
        }
        if let Some(message) = &t.status_message {
            map.serialize_entry("status_message", message)?;
        }
        for (key, amount, asset) in [
            ("amount_in", t.amount_in, &t.amount_in_asset),
            ("amount_out", t.amount_out, &t.amount_out_asset),
        ] {
            map.serialize_entry(key, &amount)?;
            if let Some(asset) = asset {
                map.serialize_entry(&format!("{key}_asset"), asset)?;
            }
        }
        // Deprecated in favour of fee_details.
        let fee = t.fee_details.as_ref();
        map.serialize_entry("amount_fee", &fee.map(|f| f.total))?;
        if let Some(fee) = fee {
            map.serialize_entry("amount_fee_asset", &fee.asset)?;
        }
        let fee = fee.map(|fee| FeeView {
            fee,
            breakdown_key: "details",
        });
        map.serialize_entry("fee_details", &fee)?;
        if let Some(quote) = &t.quote_id {
            map.serialize_entry("quote_id", quote)?;
        }
        map.serialize_entry("stellar_account_id", &t.receiving_account)?;
        map.serialize_entry("stellar_memo_type", &t.receiving_memo_type)?;
        map.serialize_entry("stellar_memo", &t.receiving_memo)?;
        map.serialize_entry("started_at", &t.started_at)?;
        map.serialize_entry("updated_at", &t.updated_at)?;
        if let Some(completed) = &t.completed_at {
            map.serialize_entry("completed_at", completed)?;
        }
        // Not in SEP-31's table (SEP-24's field): when a `pending_sender` transaction expires
        // unless the sending anchor pays, its quote's expiry at the latest.
        if let Some(deadline) = deadline(t) {
            map.serialize_entry("user_action_required_by", &deadline)?;
        }
        map.serialize_entry("stellar_transaction_id", &t.stellar_transaction_id)?;
        map.serialize_entry("external_transaction_id", &t.external_transaction_id)?;
        if let Some(refunds) = &t.refunds {
            map.serialize_entry("refunds", &RefundsView(refunds))?;
        }
        if let Some(message) = &t.required_info_message {
            map.serialize_entry("required_info_message", message)?;
        }
        if t.status == TransactionStatus::PendingTransactionInfoUpdate {
            let fields = requested_fields(t);
            if !fields.is_empty() {
                map.serialize_entry(
                    "required_info_updates",
                    &serde_json::json!({ "transaction": fields }),
                )?;
            }
        }
        map.end()
    }
}
