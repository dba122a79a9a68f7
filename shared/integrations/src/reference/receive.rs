//! SEP-31 receiving, the reference way: the sender and receiver are the sending anchor's SEP-12
//! customers ([`kyc`](super::kyc)), and the receiver is paid at the demo bank
//! ([`bank`](super::bank)).
//!
//! - `POST /transactions` ([`process_post_request`](ReceiveIntegration::process_post_request)):
//!   `sender_id` and then `receiver_id` must each name a customer registered by the sending
//!   anchor's SEP-10 account (with any memo: the anchor registers each person under its own memo)
//!   that is `ACCEPTED` for its type ([`SENDER_TYPE`], [`RECEIVER_TYPE`]: the fields
//!   [`KycSettings::required`](super::KycSettings::required) lists for them, verified). A missing,
//!   unknown or foreign id, or a customer not accepted, answers `customer_info_needed` with that
//!   type; the sending anchor completes the customer through SEP-12 and posts again.
//! - The payout ([`execute_outgoing_transaction`](ReceiveIntegration::execute_outgoing_transaction)):
//!   `amount_out` to the receiver's SEP-12 [`PAYOUT_FIELD`] (normalised as the SEP-24 form does),
//!   at the demo bank, with the transaction id as the reference: the bank pays a reference once,
//!   so a redelivered message gets the payout already made. Done at once: `completed` with the
//!   payout id. Without `DEMO_BANK_URL` the payout is the operator's (`pending_external`; pay it
//!   with the transaction id as the reference and the payout poller completes it).
//! - A receiver whose account is missing, malformed or refused by the bank (a closed account):
//!   the rejection is recorded with the customer ([`Anchor::reject_field`]) and the transaction
//!   waits in `pending_customer_info_update`. SEP-12 then shows the receiver `NEEDS_INFO` with the
//!   field in `fields` and `REJECTED` (with the bank's reason) in `provided_fields`; a `PUT` of
//!   another account clears the rejection, and Mooring queues the payout again, to the new
//!   account. The bank recorded nothing for the refused payout, so the same reference pays.

use mooring::i18n::Lang;
use mooring::integrations::{
    IntegrationError, OutgoingOutcome, PostAnswer, ReceiveIntegration, ReceiveRequest,
    RECEIVER_TYPE, SENDER_TYPE,
};
use mooring::model::{Customer, CustomerStatus, Transaction};
use mooring::stellar::{AccountId, Amount};
use mooring::store::CustomerStore;

use super::bank::PayoutError;
use super::kyc::Rejected;
use super::rail::normalize_account;
use super::Anchor;

/// The receiver's SEP-9 field the payout goes to.
pub const PAYOUT_FIELD: &str = "bank_account_number";

/// Longest customer id looked up (ids are UUIDs; a longer one is unknown, never a store error).
const MAX_ID_LEN: usize = 128;

/// What the sending anchor is told when the receiver's account must change.
fn account_needed(reason: &str) -> OutgoingOutcome {
    OutgoingOutcome::CustomerInfoNeeded {
        message: format!(
            "The receiver's {PAYOUT_FIELD} was rejected: {reason}. Update the receiver through \
             SEP-12 (PUT /customer with type {RECEIVER_TYPE} and a new {PAYOUT_FIELD})."
        ),
    }
}

impl<S: CustomerStore> Anchor<S> {
    /// Whether `id` names a customer of `sending_anchor` (any memo) `ACCEPTED` for `kyc_type`.
    async fn party_accepted(
        &self,
        id: Option<&str>,
        kyc_type: &str,
        sending_anchor: &AccountId,
        transaction_id: &str,
    ) -> Result<bool, IntegrationError> {
        let Some(id) = id.filter(|id| id.len() <= MAX_ID_LEN) else {
            return Ok(false);
        };
        let type_key = self.type_key(Some(kyc_type))?;
        let customer = self.customers.get(id).await?;
        Ok(customer
            .filter(|customer| customer.user.account == *sending_anchor)
            .is_some_and(|customer| {
                self.info(Some(&customer), type_key, Some(transaction_id))
                    .status
                    == CustomerStatus::Accepted
            }))
    }

    /// The receiver's account to pay, normalised; `Err` with the outcome when it is missing,
    /// malformed or rejected already (the rejection recorded for the first two).
    async fn payout_account(
        &self,
        receiver: &Customer,
        transaction: &Transaction,
    ) -> Result<Result<String, OutgoingOutcome>, IntegrationError> {
        if let Some(rejection) = receiver.rejected_fields.get(PAYOUT_FIELD) {
            return Ok(Err(account_needed(&rejection.reason)));
        }
        let lang = Lang::from_tag(transaction.lang.as_deref());
        let stored = receiver.fields.get(PAYOUT_FIELD);
        let reason = match stored.map(|number| normalize_account(number, lang)) {
            Some(Ok(account)) => return Ok(Ok(account)),
            Some(Err(invalid)) => invalid.to_string(),
            None => format!("the receiver has no {PAYOUT_FIELD}, which the payout needs"),
        };
        let still_refused = |value: Option<&str>| value == stored.map(String::as_str);
        match self
            .reject_field(
                &receiver.id,
                PAYOUT_FIELD,
                still_refused,
                &reason,
                Some(&transaction.id),
            )
            .await?
        {
            Rejected::Recorded => Ok(Err(account_needed(&reason))),
            Rejected::ValueChanged => Err(IntegrationError::Unavailable(format!(
                "the receiver's {PAYOUT_FIELD} changed during the payout; retried"
            ))),
        }
    }
}

impl<S: CustomerStore> ReceiveIntegration for Anchor<S> {
    /// The sender, then the receiver: each a customer of the sending anchor's account, accepted
    /// for its type (see the module documentation).
    async fn process_post_request(
        &self,
        request: ReceiveRequest<'_>,
        transaction: &mut Transaction,
    ) -> Result<PostAnswer, IntegrationError> {
        for (id, kyc_type) in [
            (transaction.sender_id.as_deref(), SENDER_TYPE),
            (transaction.receiver_id.as_deref(), RECEIVER_TYPE),
        ] {
            if !self
                .party_accepted(id, kyc_type, request.sending_anchor, &transaction.id)
                .await?
            {
                return Ok(PostAnswer::CustomerInfoNeeded {
                    kyc_type: kyc_type.to_owned(),
                });
            }
        }
        Ok(PostAnswer::Accepted)
    }

    /// Pays `amount_out` to the receiver's account at the demo bank, once per transaction id
    /// (see the module documentation).
    async fn execute_outgoing_transaction(
        &self,
        transaction: &Transaction,
    ) -> Result<OutgoingOutcome, IntegrationError> {
        let receiver_id = transaction
            .receiver_id
            .as_deref()
            .ok_or_else(|| IntegrationError::invalid("the transaction names no receiver"))?;
        let receiver = self.customers.get(receiver_id).await?.ok_or_else(|| {
            IntegrationError::invalid("the receiver's SEP-12 customer no longer exists")
        })?;
        let account = match self.payout_account(&receiver, transaction).await? {
            Ok(account) => account,
            Err(outcome) => return Ok(outcome),
        };
        let amount = transaction
            .amount_out
            .filter(|amount| *amount > Amount::ZERO)
            .ok_or_else(|| {
                IntegrationError::Internal("the transaction has no amount_out".into())
            })?;
        let Some(bank) = self.bank() else {
            tracing::info!(
                transaction_id = %transaction.id,
                "SEP-31 payout left to the operator (no demo bank): pay it with the transaction \
                 id as the reference; the payout poller then completes it"
            );
            return Ok(OutgoingOutcome::PendingExternal {
                external_transaction_id: None,
            });
        };
        match bank.pay_out(&transaction.id, amount, &account).await {
            Ok(payout) => {
                tracing::info!(
                    transaction_id = %transaction.id,
                    payout = %payout.id,
                    amount = %amount,
                    "SEP-31: receiver paid out at the demo bank"
                );
                Ok(OutgoingOutcome::Completed {
                    external_transaction_id: Some(payout.id),
                })
            }
            Err(PayoutError::AccountRejected(reason)) => {
                let lang = Lang::from_tag(transaction.lang.as_deref());
                let still_refused = |value: Option<&str>| {
                    value.and_then(|value| normalize_account(value, lang).ok())
                        == Some(account.clone())
                };
                match self
                    .reject_field(
                        receiver_id,
                        PAYOUT_FIELD,
                        still_refused,
                        &reason,
                        Some(&transaction.id),
                    )
                    .await?
                {
                    Rejected::Recorded => Ok(account_needed(&reason)),
                    // Nothing was paid and the receiver has another account now: try it.
                    Rejected::ValueChanged => Err(IntegrationError::Unavailable(format!(
                        "the receiver's {PAYOUT_FIELD} changed during the payout; retried"
                    ))),
                }
            }
            Err(PayoutError::Failed(error)) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests;
