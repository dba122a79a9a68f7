//! What the SEP-6 and SEP-24 transaction objects show alike (digest 5.9, 6.7): amounts and
//! fee, times, the Stellar and external ids, the message and refunds, the accounts and memos.
//! Each SEP's view adds its own fields around [`common_fields`]. Fields a SEP lists without
//! "optional" but that are only known later are `null` until known.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::model::{FeeDetails, Transaction};

/// `fee_details` with its breakdown array under the SEP's name (SEP-24 `breakdown`, SEP-6
/// `details`); the array is left out when empty.
pub struct FeeView<'a> {
    pub fee: &'a FeeDetails,
    pub breakdown_key: &'static str,
}

impl Serialize for FeeView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("total", &self.fee.total)?;
        map.serialize_entry("asset", &self.fee.asset)?;
        if !self.fee.breakdown.is_empty() {
            map.serialize_entry(self.breakdown_key, &self.fee.breakdown)?;
        }
        map.end()
    }
}

/// Writes the fields both objects share, after `id`, `kind`, `status` and the SEP's own.
pub fn common_fields<M: SerializeMap>(
    map: &mut M,
    t: &Transaction,
    breakdown_key: &'static str,
) -> Result<(), M::Error> {
    map.serialize_entry("amount_in", &t.amount_in)?;
    if let Some(asset) = &t.amount_in_asset {
        map.serialize_entry("amount_in_asset", asset)?;
    }
    map.serialize_entry("amount_out", &t.amount_out)?;
    if let Some(asset) = &t.amount_out_asset {
        map.serialize_entry("amount_out_asset", asset)?;
    }
    // Deprecated in favour of fee_details, still read by many wallets.
    map.serialize_entry("amount_fee", &t.fee_details.as_ref().map(|f| f.total))?;
    if let Some(fee) = &t.fee_details {
        map.serialize_entry("amount_fee_asset", &fee.asset)?;
    }
    let fee = t
        .fee_details
        .as_ref()
        .map(|fee| FeeView { fee, breakdown_key });
    map.serialize_entry("fee_details", &fee)?;
    if let Some(quote) = &t.quote_id {
        map.serialize_entry("quote_id", quote)?;
    }
    map.serialize_entry("started_at", &t.started_at)?;
    map.serialize_entry("updated_at", &t.updated_at)?;
    if let Some(completed) = &t.completed_at {
        map.serialize_entry("completed_at", completed)?;
    }
    if let Some(deadline) = deadline(t) {
        map.serialize_entry("user_action_required_by", &deadline)?;
    }
    map.serialize_entry("stellar_transaction_id", &t.stellar_transaction_id)?;
    if let Some(external) = &t.external_transaction_id {
        map.serialize_entry("external_transaction_id", external)?;
    }
    if let Some(message) = &t.status_message {
        map.serialize_entry("message", message)?;
    }
    if let Some(refunds) = &t.refunds {
        map.serialize_entry("refunds", refunds)?;
    }
    map.serialize_entry("from", &t.from)?;
    map.serialize_entry("to", &t.to)?;
    if t.kind.is_deposit() {
        if let Some(memo) = &t.deposit_memo {
            map.serialize_entry("deposit_memo", memo)?;
        }
        if let Some(memo_type) = &t.deposit_memo_type {
            map.serialize_entry("deposit_memo_type", memo_type)?;
        }
        if let Some(balance) = &t.claimable_balance_id {
            map.serialize_entry("claimable_balance_id", balance)?;
        }
    } else {
        map.serialize_entry("withdraw_anchor_account", &t.receiving_account)?;
        map.serialize_entry("withdraw_memo", &t.receiving_memo)?;
        map.serialize_entry("withdraw_memo_type", &t.receiving_memo_type)?;
    }
    Ok(())
}

/// `user_action_required_by`: when the transaction ends unless its user acts, shown only in
/// the statuses that wait on the user (SEP-24: "omitted for all other" statuses; a transaction
/// stored before the stores dropped it on leaving such a status may still hold one).
pub fn deadline(t: &Transaction) -> Option<crate::time::Timestamp> {
    t.user_action_required_by
        .filter(|_| t.status.has_deadline())
}

/// `{"transaction": {...}}` of a SEP's view: the body of `GET /transaction` and of callbacks.
pub struct Envelope<V>(pub V);

impl<V: Serialize> Serialize for Envelope<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("transaction", &self.0)?;
        map.end()
    }
}
