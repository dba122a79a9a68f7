//! Incoming Stellar payments the payment watcher saw on the anchor's receiving accounts, kept
//! whatever became of them: matched to a withdrawal, left for the operator (unmatched,
//! duplicate, wrong asset, wrong amount), or kept as the account's history (paid before the
//! watcher first ran, matching no transaction). Nothing the anchor received is ever dropped.
//!
//! Money that arrived off chain and paid no deposit (a second bank transfer with the reference
//! of a deposit already paid, an unknown reference, a transfer for a deposit that expired) is
//! kept the same way by the deposit poller, for the operator: an [`IncomingPayment`] with
//! [`off_chain`](IncomingPayment::off_chain) set.

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
///
/// Money that arrived off chain is recorded once by the rail's transfer id, under the id
/// `offchain:<transfer id>` ([`OffChainTransfer::payment_id`]), with
/// [`off_chain`](Self::off_chain) holding the transfer; its Stellar fields then say what the
/// money was for: `account` and `asset` the distribution account and asset of the deposit it
/// names (or, naming none, of the anchor's first asset taking deposits), `transaction_hash`
/// the rail's transfer id, `memo_type` `text` with the transfer's reference as `memo`, `from`
/// none (the payer is the transfer's `sender`).
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
    /// Set for money that arrived off chain (a bank transfer), not on Stellar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_chain: Option<OffChainTransfer>,
}

/// A transfer that arrived on the anchor's off-chain rail (its bank), as the rail reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffChainTransfer {
    /// The rail's id of the transfer.
    pub id: String,
    /// The reference the payer wrote on it (the deposit's, when it names one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub amount: Amount,
    /// Its currency at the rail (e.g. `USD`), when the rail says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Who paid it (e.g. an IBAN), when the rail says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
}

impl OffChainTransfer {
    /// The id its [`IncomingPayment`] is recorded under: `offchain:<transfer id>` (never a
    /// Horizon operation id, which is a number).
    pub fn payment_id(transfer_id: &str) -> String {
        format!("offchain:{transfer_id}")
    }
}
