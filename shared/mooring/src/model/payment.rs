//! Incoming Stellar payments the payment watcher saw on the anchor's receiving accounts, kept
//! whatever became of them: matched to a withdrawal, left for the operator (unmatched,
//! duplicate, wrong asset, wrong amount), or kept as the account's history (paid before the
//! watcher first ran, matching no transaction). Nothing the anchor received is ever dropped.

use serde::{Deserialize, Serialize};

use crate::stellar::{AccountId, Amount, Asset};
use crate::time::Timestamp;

/// What the watcher made of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOutcome {
    /// It paid the withdrawal `transaction_id`, which moved to `pending_anchor`.
    Matched,
    /// No open transaction has this account and memo.
    Unmatched,
    /// Its transaction was already paid (a second payment with the same memo).
    Duplicate,
    /// The memo matched but the asset (code or issuer) is not the transaction's.
    WrongAsset,
    /// The memo matched but the amount is outside what the transaction accepts; the
    /// transaction went `on_hold`.
    WrongAmount,
    /// Paid before the watcher's first run on the account and matching no transaction: the
    /// account's history (e.g. its funding, or payments from before Mooring), recorded but not
    /// the operator's business. A payment of that time that matches a transaction is treated
    /// like any other.
    History,
}

impl PaymentOutcome {
    /// Whether the operator has something to look at (every outcome but `Matched` and
    /// `History`).
    pub fn needs_attention(self) -> bool {
        !matches!(self, PaymentOutcome::Matched | PaymentOutcome::History)
    }
}

/// One incoming payment operation, recorded once (by its Horizon operation id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingPayment {
    /// Horizon's operation id (unique on the network).
    pub id: String,
    /// The anchor's account that received it.
    pub account: AccountId,
    pub transaction_hash: String,
    /// The payer (`from`, or the source of a path payment).
    pub from: Option<AccountId>,
    pub asset: Asset,
    /// What the anchor received (a path payment's destination amount).
    pub amount: Amount,
    /// The memo of the Stellar transaction, SEP form (`text`, `id`, `hash` base64, `none`).
    pub memo_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    pub created_at: Timestamp,
    pub outcome: PaymentOutcome,
    /// The transaction it matched (or would have matched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Why it was not matched, for the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub recorded_at: Timestamp,
}
