//! The SEP-6 transaction object (digest 6.7), as `GET /transaction(s)`, `PATCH` and wallet
//! callbacks show it: the fields SEP-24 shows too ([`common_fields`]) but `kyc_verified` and
//! `more_info_url`, four kinds, `fee_details.details` (SEP-24 says `breakdown`), and SEP-6's
//! own: `instructions` (from `pending_user_transfer_start` on), `required_info_*`,
//! `external_extra*`.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::model::{Transaction, TransactionStatus};
use crate::transfer::view::common_fields;
pub use crate::transfer::view::Envelope;

/// A transaction rendered as SEP-6's transaction object.
pub struct TransactionView<'a> {
    pub transaction: &'a Transaction,
}

impl<'a> TransactionView<'a> {
    pub fn new(transaction: &'a Transaction) -> Self {
        Self { transaction }
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
        map.serialize_entry("kind", t.kind.as_str())?;
        map.serialize_entry("status", t.status.as_str())?;
        if let Some(eta) = t.status_eta {
            map.serialize_entry("status_eta", &eta)?;
        }
        common_fields(&mut map, t, "details")?;
        if let Some(extra) = &t.external_extra {
            map.serialize_entry("external_extra", extra)?;
        }
        if let Some(extra) = &t.external_extra_text {
            map.serialize_entry("external_extra_text", extra)?;
        }
        if let Some(message) = &t.required_info_message {
            map.serialize_entry("required_info_message", message)?;
        }
        if t.status == TransactionStatus::PendingTransactionInfoUpdate {
            if let Some(updates) = &t.required_info_updates {
                map.serialize_entry("required_info_updates", updates)?;
            }
        }
        // Deposit instructions show from pending_user_transfer_start on.
        if t.kind.is_deposit() && t.status != TransactionStatus::PendingCustomerInfoUpdate {
            if let Some(instructions) = &t.instructions {
                map.serialize_entry("instructions", instructions)?;
            }
        }
        map.end()
    }
}
