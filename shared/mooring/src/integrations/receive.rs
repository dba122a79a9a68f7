//! SEP-31 cross-border payments, receiving side: the hooks Mooring calls when a sending anchor
//! sends a payment through this anchor (Polaris's `SEP31ReceiverIntegration` and the rails'
//! `execute_outgoing_transaction`).
//!
//! How Mooring uses them:
//! - the `sep31-receive` function admits only the SEP-10 accounts of configured partners
//!   (`SEP31_SENDING_ANCHORS`), then asks [`valid_sending_anchor`](ReceiveIntegration::valid_sending_anchor);
//!   `GET /info` shows [`info`](ReceiveIntegration::info) per asset; `POST /transactions` checks
//!   the asset, amount, funding method and quote, then asks
//!   [`process_post_request`](ReceiveIntegration::process_post_request) (which checks the sender
//!   and receiver through SEP-12) and stores the transaction in `pending_sender` with the anchor's
//!   account and a unique memo; `PATCH` calls
//!   [`process_patch_request`](ReceiveIntegration::process_patch_request);
//! - the payment watcher matches the sending anchor's payment by memo and moves the transaction to
//!   `pending_receiver`, queued on the outgoing-payments queue;
//! - the outgoing-payments worker claims it (a conditional write) and calls
//!   [`execute_outgoing_transaction`](ReceiveIntegration::execute_outgoing_transaction) once per
//!   claim; `pending_external` payouts are completed by the payout poller through
//!   `WithdrawalIntegration::poll_outgoing_transactions`, the rail's one hook for every outgoing
//!   payment (withdrawals and SEP-31 payouts alike).

use std::collections::BTreeMap;
use std::future::Future;

use super::{InfoField, IntegrationError};
use crate::config::AssetConfig;
use crate::i18n::Lang;
use crate::model::Transaction;
use crate::stellar::AccountId;

/// The SEP-12 types a sender and a receiver are registered with, by default.
pub const SENDER_TYPE: &str = "sep31-sender";
pub const RECEIVER_TYPE: &str = "sep31-receiver";

/// What `/info` shows of an asset beyond its configured limits, fees and funding methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveInfo {
    /// SEP-12 `type` values a sender may be registered with, with a description.
    pub sender_types: BTreeMap<String, String>,
    /// SEP-12 `type` values a receiver may be registered with, with a description.
    pub receiver_types: BTreeMap<String, String>,
}

impl Default for ReceiveInfo {
    fn default() -> Self {
        Self {
            sender_types: BTreeMap::from([(
                SENDER_TYPE.to_owned(),
                "the person sending the payment".to_owned(),
            )]),
            receiver_types: BTreeMap::from([(
                RECEIVER_TYPE.to_owned(),
                "the person receiving the payment".to_owned(),
            )]),
        }
    }
}

/// What a `POST /transactions` hook is told.
#[derive(Debug, Clone, Copy)]
pub struct ReceiveRequest<'a> {
    /// The transaction's Stellar asset as configured.
    pub asset: &'a AssetConfig,
    pub lang: Lang,
    /// The request's JSON body (its `fields` included).
    pub body: &'a serde_json::Map<String, serde_json::Value>,
    /// The sending anchor's SEP-10 account.
    pub sending_anchor: &'a AccountId,
}

/// The answer of [`ReceiveIntegration::process_post_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostAnswer {
    /// The transaction is accepted: Mooring stores it in `pending_sender`.
    Accepted,
    /// 400 `{"error": "customer_info_needed", "type": <kyc_type>}`: the sender or receiver must be
    /// registered (or completed) through SEP-12 with this type first. Nothing is stored.
    CustomerInfoNeeded { kyc_type: String },
    /// 400 `{"error": "transaction_info_needed", "fields": {"transaction": ...}}` (deprecated
    /// `fields`). Nothing is stored.
    TransactionInfoNeeded { fields: BTreeMap<String, InfoField> },
}

/// What became of an outgoing payment (answer of
/// [`ReceiveIntegration::execute_outgoing_transaction`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutgoingOutcome {
    /// The receiver was paid: `completed`.
    Completed {
        external_transaction_id: Option<String>,
    },
    /// The payout is on its way: `pending_external` until `poll_outgoing_transactions` reports
    /// it done.
    PendingExternal {
        external_transaction_id: Option<String>,
    },
    /// The rail refused the receiver's data (e.g. the account number): the sending anchor must
    /// fix the receiver through SEP-12 (`pending_customer_info_update`; the transaction is
    /// queued again once the customer changes). The integration records which fields, so
    /// that SEP-12 `GET /customer?transaction_id=` shows them `NEEDS_INFO`.
    CustomerInfoNeeded { message: String },
    /// Deprecated: fields of the transaction to send with `PATCH`
    /// (`pending_transaction_info_update`).
    TransactionInfoNeeded {
        message: String,
        fields: BTreeMap<String, InfoField>,
    },
}

/// SEP-31 receiving. Every method has a default: an anchor that only needs Mooring's checks
/// (partners, asset, amount, quote) and pays out through its operator implements nothing.
pub trait ReceiveIntegration: Send + Sync {
    /// `GET /info` extras of an asset (the SEP-12 types of senders and receivers).
    fn info(&self, asset: &AssetConfig, lang: Lang) -> ReceiveInfo {
        let _ = (asset, lang);
        ReceiveInfo::default()
    }

    /// Whether a SEP-10 account Mooring admitted (a configured partner, or any account when
    /// the partner list is `*`) may send payments; `false` is 403.
    fn valid_sending_anchor(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<bool, IntegrationError>> + Send {
        let _ = account;
        async { Ok(true) }
    }

    /// `POST /transactions` after Mooring's checks: validate the sender and receiver
    /// (`transaction.sender_id` / `receiver_id`, SEP-12 ids) and anything else; may set fields on
    /// the transaction. `Invalid(msg)` is 400 `{"error": msg}`; nothing is stored unless the
    /// answer is [`PostAnswer::Accepted`].
    fn process_post_request(
        &self,
        request: ReceiveRequest<'_>,
        transaction: &mut Transaction,
    ) -> impl Future<Output = Result<PostAnswer, IntegrationError>> + Send {
        let _ = (request, transaction);
        async { Ok(PostAnswer::Accepted) }
    }

    /// Deprecated `PATCH /transactions/:id` while `pending_transaction_info_update`: the
    /// `fields.transaction` values (only those asked for). Mooring then moves the transaction to
    /// `pending_receiver` and queues it again.
    fn process_patch_request(
        &self,
        transaction: &mut Transaction,
        fields: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), IntegrationError>> + Send {
        let _ = (transaction, fields);
        async {
            Err(IntegrationError::invalid(
                "this anchor does not take transaction updates",
            ))
        }
    }

    /// Pays the receiver off-chain (the transaction is `pending_receiver`, claimed by the
    /// outgoing-payments worker, `amount_in` received and `amount_out` to pay). Called once per
    /// claim. `Unavailable` must mean nothing was paid (the claim is released and the payout
    /// retried); `Invalid` that the payout was refused for good and nothing was paid: the
    /// payment is refunded to the sending anchor on Stellar; any other error moves the
    /// transaction to `error` for the operator. Make the payout idempotent by the transaction
    /// id all the same. The default leaves the payout to the operator (`pending_external`).
    fn execute_outgoing_transaction(
        &self,
        transaction: &Transaction,
    ) -> impl Future<Output = Result<OutgoingOutcome, IntegrationError>> + Send {
        let _ = transaction;
        async {
            Ok(OutgoingOutcome::PendingExternal {
                external_transaction_id: None,
            })
        }
    }
}
