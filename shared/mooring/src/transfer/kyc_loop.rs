//! The KYC loop of programmatic (SEP-6) transfers, below the SEP modules so that both the
//! SEP-6 API and SEP-12 drive it: what a [`ProgrammaticIntegration`] hook's answer does to a
//! transaction ([`apply_answer`]), and asking the hook again about a stored transaction that
//! waits in `pending_customer_info_update` ([`KycLoop::advance`]), which moves it on with a
//! conditional write once its customer is complete. SEP-6 reads it as the wallet polls the
//! transaction; SEP-12 as soon as the customer's information changes.

use std::collections::BTreeMap;

use crate::config::AssetConfig;
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::integrations::{
    KycReview, Operation, ProgrammaticIntegration, Sep6Answer, Sep6Ready, Sep6Request,
};
use crate::lifecycle::expiry::ExpiryConfig;
use crate::model::{Protocol, Transaction, TransactionStatus, UserKey};
use crate::payments::asset_config;
use crate::store::{StoreError, TransactionQuery, TransactionStore};
use crate::time::Timestamp;

use super::set_withdrawal_destination;

/// Why a request was answered with a 403 and nothing stored (the deprecated KYC style, or a
/// denied customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KycRefusal {
    InfoNeeded(Vec<String>),
    Status(KycReview, Option<u64>),
}

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
pub fn apply_answer(
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

/// The status message of a transaction whose customer the anchor refused.
const DENIED: &str = "The anchor cannot accept the customer's KYC information.";

/// Applies an answer about a stored transaction (the current KYC style): a refusal (a denied
/// customer) ends it in `error`.
pub fn apply_to_stored(
    transaction: &mut Transaction,
    answer: Sep6Answer,
    asset: &AssetConfig,
) -> Result<(), ApiError> {
    if let Applied::Refused(_) = apply_answer(transaction, answer, asset, KycStyle::Transaction)? {
        transaction.status = TransactionStatus::Error;
        transaction.status_message = Some(DENIED.into());
        transaction.required_info_message = None;
    }
    Ok(())
}

/// Asks the direction's hook about a stored transaction again (no request parameters).
pub async fn ask_again<I: ProgrammaticIntegration>(
    integration: &I,
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
            integration
                .process_sep6_deposit(request, transaction)
                .await?
        }
        Operation::Withdraw => {
            integration
                .process_sep6_withdrawal(request, transaction)
                .await?
        }
    })
}

/// What [`KycLoop::advance`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advanced {
    /// Stored as it moved on (tell the wallet).
    Moved(Transaction),
    /// As stored: not waiting, still waiting, or moved by someone else meanwhile (the stored
    /// one), or a failure (logged; the next read tries again).
    Unchanged(Transaction),
}

impl Advanced {
    pub fn into_transaction(self) -> Transaction {
        match self {
            Advanced::Moved(t) | Advanced::Unchanged(t) => t,
        }
    }
}

/// A user's SEP-6 transactions are looked at, newest first, up to this many per change of
/// their customer.
const MAX_WAITING_PER_USER: usize = 50;

/// The KYC loop over the anchor's integration and the transaction store.
pub struct KycLoop<'a, I, S: ?Sized> {
    pub integration: &'a I,
    pub store: &'a S,
    pub assets: &'a [AssetConfig],
    /// The deadline of the status a transaction moves to (`pending_user_transfer_start`).
    pub expiry: &'a ExpiryConfig,
    pub now: Timestamp,
}

impl<I: ProgrammaticIntegration, S: TransactionStore + ?Sized> KycLoop<'_, I, S> {
    /// Asks the hook again about a transaction in `pending_customer_info_update` and, when the
    /// answer moves it (ready, another need, or a denied customer: `error`), stores it with
    /// one conditional write on that status.
    pub async fn advance(&self, transaction: Transaction) -> Advanced {
        if transaction.protocol != Protocol::Sep6
            || transaction.status != TransactionStatus::PendingCustomerInfoUpdate
        {
            return Advanced::Unchanged(transaction);
        }
        let Some(asset) = asset_config(self.assets, &transaction.asset) else {
            return Advanced::Unchanged(transaction);
        };
        let mut moved = transaction.clone();
        let applied = match ask_again(self.integration, &mut moved, asset).await {
            Ok(answer) => apply_to_stored(&mut moved, answer, asset),
            Err(error) => Err(error),
        };
        if let Err(error) = applied {
            tracing::warn!(transaction_id = %transaction.id, %error, "KYC loop: asking the integration");
            return Advanced::Unchanged(transaction);
        }
        if moved == transaction {
            return Advanced::Unchanged(transaction);
        }
        moved.updated_at = self.now;
        self.expiry.stamp(
            &mut moved,
            Some(TransactionStatus::PendingCustomerInfoUpdate),
        );
        match self
            .store
            .update(&mut moved, TransactionStatus::PendingCustomerInfoUpdate)
            .await
        {
            Ok(()) => {
                tracing::info!(transaction_id = %moved.id, status = moved.status.as_str(), "KYC loop: moved on");
                Advanced::Moved(moved)
            }
            Err(StoreError::Conflict) => match self.store.get(&transaction.id).await {
                Ok(Some(current)) => Advanced::Unchanged(current),
                _ => Advanced::Unchanged(transaction),
            },
            Err(error) => {
                tracing::warn!(transaction_id = %transaction.id, %error, "KYC loop: storing");
                Advanced::Unchanged(transaction)
            }
        }
    }

    /// After the user's customer changed (SEP-12): every SEP-6 transaction of the user waiting
    /// for it is asked about again; returns those that moved on.
    pub async fn advance_user(&self, user: &UserKey) -> Vec<Transaction> {
        let query = TransactionQuery {
            user: *user,
            protocol: Some(Protocol::Sep6),
            asset_code: None,
            kinds: Vec::new(),
            no_older_than: None,
            limit: MAX_WAITING_PER_USER,
            cursor: None,
            before: None,
        };
        let listed = match self.store.list_for_user(&query).await {
            Ok(page) => page.items,
            Err(error) => {
                tracing::warn!(%error, "KYC loop: listing the user's transactions");
                return Vec::new();
            }
        };
        let mut moved = Vec::new();
        for transaction in listed {
            if transaction.status == TransactionStatus::PendingCustomerInfoUpdate {
                if let Advanced::Moved(t) = self.advance(transaction).await {
                    moved.push(t);
                }
            }
        }
        moved
    }
}
