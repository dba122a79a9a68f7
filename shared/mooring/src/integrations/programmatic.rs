//! SEP-6 programmatic deposits and withdrawals: the hooks Mooring calls when a wallet asks for
//! a transfer without the interactive pages (Polaris's `process_sep6_request` of each
//! direction, and `patch_transaction`).
//!
//! How Mooring uses them (the `sep6-transfer` function): `GET /deposit(-exchange)` and
//! `GET /withdraw(-exchange)` check the request (asset, amount within limits, funding method,
//! account, memo, quote), build the transaction and ask the direction's hook what it needs.
//! The [`Sep6Answer`] decides what happens:
//!
//! - [`Ready`](Sep6Answer::Ready): the transaction waits for the user's transfer
//!   (`pending_user_transfer_start`): a deposit with the hook's instructions, a withdrawal with
//!   the anchor's account and a unique memo;
//! - [`CustomerInfoNeeded`](Sep6Answer::CustomerInfoNeeded) and
//!   [`CustomerInfoStatus`](Sep6Answer::CustomerInfoStatus) `Pending`: the KYC loop. A current
//!   wallet (one that sends `funding_method`) gets 200 and the transaction in
//!   `pending_customer_info_update`; it completes SEP-12 and Mooring asks the hook again
//!   (with the stored transaction, no request parameters) until it answers `Ready`. An older
//!   wallet gets SEP-6's deprecated 403 answers and nothing is stored;
//! - `CustomerInfoStatus` `Denied`: 403 `customer_info_status` `denied`, nothing stored;
//! - [`TransactionInfoNeeded`](Sep6Answer::TransactionInfoNeeded): the transaction waits in
//!   `pending_transaction_info_update` for the wallet's `PATCH /transactions/:id`, which
//!   [`patch_transaction`](ProgrammaticIntegration::patch_transaction) applies; Mooring then
//!   asks the hook again.
//!
//! The money path after that is SEP-24's: the deposit poller, the Stellar submitter, the
//! payment watcher and the withdrawal processor call the same [`DepositIntegration`] and
//! [`WithdrawalIntegration`](super::WithdrawalIntegration) hooks for both SEPs.
//!
//! [`DepositIntegration`]: super::DepositIntegration

use std::collections::BTreeMap;
use std::future::Future;

use serde::Serialize;

use super::{Instructions, IntegrationError, Operation};
use crate::config::AssetConfig;
use crate::i18n::Lang;
use crate::model::Transaction;

/// What a SEP-6 hook is told.
#[derive(Debug, Clone, Copy)]
pub struct Sep6Request<'a> {
    pub operation: Operation,
    /// The transaction's asset as configured.
    pub asset: &'a AssetConfig,
    pub lang: Lang,
    /// The wallet's request parameters (SEP-9 fields are not among them: SEP-6 sends KYC
    /// through SEP-12). Empty when Mooring asks again after the KYC loop or a PATCH.
    pub params: &'a BTreeMap<String, String>,
}

/// The answer of a SEP-6 request hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sep6Answer {
    /// The anchor can proceed.
    Ready(Sep6Ready),
    /// The customer must send these SEP-9 fields through SEP-12 first.
    CustomerInfoNeeded { fields: Vec<String> },
    /// The customer's information is being reviewed, or was refused.
    CustomerInfoStatus {
        status: KycReview,
        /// Seconds until the review is expected to end.
        eta: Option<u64>,
    },
    /// The transaction needs these fields from the wallet (`PATCH /transactions/:id`), e.g. a
    /// withdrawal's destination account.
    TransactionInfoNeeded {
        /// Why (`required_info_message`).
        message: String,
        /// Field name -> what it is (`required_info_updates`).
        fields: BTreeMap<String, InfoField>,
    },
}

/// What a ready transfer tells the wallet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sep6Ready {
    /// Deposits: how to send the off-chain funds (SEP-6 `instructions`, stored on the
    /// transaction). Ignored for withdrawals.
    pub instructions: Instructions,
    /// A short text for the deprecated `how` (a deposit answer always has one: Mooring writes
    /// it from the instructions when this is `None`).
    pub how: Option<String>,
    /// `extra_info.message`.
    pub message: Option<String>,
    /// Seconds until the transfer is credited (`eta`).
    pub eta: Option<u64>,
}

/// A KYC review that is not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KycReview {
    Pending,
    Denied,
}

impl KycReview {
    pub fn as_str(self) -> &'static str {
        match self {
            KycReview::Pending => "pending",
            KycReview::Denied => "denied",
        }
    }
}

/// A field of `required_info_updates` (the shape of SEP-6 `/info`'s `fields`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct InfoField {
    pub description: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

impl InfoField {
    pub fn new(description: impl Into<String>) -> Self {
        Self {
            description: description.into(),
            optional: false,
        }
    }
}

/// SEP-6 deposits and withdrawals. Every method has a default, so an anchor that serves SEP-6
/// without KYC needs no code here: deposits are ready with no instructions (the integration's
/// deposit poller must then recognise them by id), withdrawals with the anchor's account and
/// memo, and PATCH is refused.
pub trait ProgrammaticIntegration: Send + Sync {
    /// `GET /deposit` and `GET /deposit-exchange`. `transaction` is the deposit Mooring is
    /// about to store (or, on a repeat, the stored one): the hook may set fields on it (e.g.
    /// `external_extra`, `status_message`). Mooring stores it after the answer, so an `Err`
    /// (400 for `Invalid`) stores nothing.
    fn process_sep6_deposit(
        &self,
        request: Sep6Request<'_>,
        transaction: &mut Transaction,
    ) -> impl Future<Output = Result<Sep6Answer, IntegrationError>> + Send {
        let _ = (request, transaction);
        async { Ok(Sep6Answer::Ready(Sep6Ready::default())) }
    }

    /// `GET /withdraw` and `GET /withdraw-exchange`, as [`process_sep6_deposit`]. A ready
    /// withdrawal should know where the money goes off-chain (`to`, `payout_account`).
    ///
    /// [`process_sep6_deposit`]: Self::process_sep6_deposit
    fn process_sep6_withdrawal(
        &self,
        request: Sep6Request<'_>,
        transaction: &mut Transaction,
    ) -> impl Future<Output = Result<Sep6Answer, IntegrationError>> + Send {
        let _ = (request, transaction);
        async { Ok(Sep6Answer::Ready(Sep6Ready::default())) }
    }

    /// `PATCH /transactions/:id`: the wallet's values for the fields the transaction asked for
    /// (`required_info_updates`; Mooring has checked that only those were sent and every
    /// required one is there). Apply them to `transaction`; `Invalid` is 400 and changes
    /// nothing. Mooring then asks the direction's hook again.
    fn patch_transaction(
        &self,
        transaction: &mut Transaction,
        fields: &BTreeMap<String, String>,
        lang: Lang,
    ) -> impl Future<Output = Result<(), IntegrationError>> + Send {
        let _ = (transaction, fields, lang);
        async {
            Err(IntegrationError::invalid(
                "this anchor does not take transaction updates",
            ))
        }
    }
}
