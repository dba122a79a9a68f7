//! SEP-6 programmatic deposits and withdrawals, the reference way: the KYC, bank and instructions
//! of the SEP-24 flow ([`rail`](super::rail)), asked of the wallet instead of typed into pages.
//!
//! - KYC first, through the anchor's own SEP-12 logic ([`kyc`](super::kyc), type `default`): a
//!   customer lacking fields gets `CustomerInfoNeeded` with their names (and
//!   `<field>_verification` for each verification code not sent back yet), one in review
//!   `CustomerInfoStatus` `pending` with the seconds left of the review delay, a rejected one
//!   `denied`.
//! - Deposit: then ready, with the rail's bank [`instructions`](DepositIntegration::instructions),
//!   whose reference ([`deposit_reference`](super::rail::deposit_reference)) the deposit poller
//!   matches when the money arrives at the bank.
//! - Withdrawal: the bank account to pay out to is the transaction's `payout_account` when set,
//!   else the request's [`DEST`] (SEP-6's deprecated destination parameter), else the
//!   customer's SEP-12 `bank_account_number`; without one the transaction asks the wallet for
//!   `dest`, which `PATCH /transactions/:id` gives ([`patch_transaction`]). A `dest` is checked,
//!   kept and saved with the customer as the SEP-24 bank-account step does (whole in
//!   `payout_account`, masked in `to`). The request's `dest` is taken before the KYC check, so
//!   the transaction keeps it through the KYC loop (whose later asks carry no parameters).
//!
//! [`patch_transaction`]: ProgrammaticIntegration::patch_transaction

use std::collections::BTreeMap;

use mooring::i18n::Lang;
use mooring::integrations::{
    CustomerIntegration, CustomerQuery, DepositIntegration, FieldStatus, FlowContext, InfoField,
    IntegrationError, KycReview, ProgrammaticIntegration, Sep6Answer, Sep6Ready, Sep6Request,
};
use mooring::model::{CustomerStatus, Transaction};
use mooring::store::CustomerStore;

use super::rail::{normalize_account, set_payout_account};
use super::Anchor;

/// The withdrawal's destination: SEP-6's request parameter and the transaction field the wallet
/// is asked to PATCH.
pub const DEST: &str = "dest";

/// The texts of the SEP-6 hooks, per language.
#[derive(Debug, Clone, Copy)]
enum Text {
    DestNeeded,
    DestDescription,
    UnknownField,
}

fn text(lang: Lang, key: Text) -> &'static str {
    match (lang, key) {
        (Lang::En, Text::DestNeeded) => {
            "Give the bank account to pay the withdrawal out to (dest)."
        }
        (Lang::Es, Text::DestNeeded) => {
            "Indique la cuenta bancaria a la que se paga la retirada (dest)."
        }
        (Lang::En, Text::DestDescription) => {
            "The bank account number (IBAN) to pay the withdrawal out to"
        }
        (Lang::Es, Text::DestDescription) => {
            "El número de cuenta bancaria (IBAN) al que se paga la retirada"
        }
        (Lang::En, Text::UnknownField) => "This transaction takes no field '{field}'.",
        (Lang::Es, Text::UnknownField) => "Esta transacción no admite el campo '{field}'.",
    }
}

impl<S: CustomerStore> Anchor<S> {
    /// What the transaction's user still owes SEP-12 (type `default`); `None` once accepted.
    async fn sep6_kyc(
        &self,
        transaction: &Transaction,
        lang: Lang,
    ) -> Result<Option<Sep6Answer>, IntegrationError> {
        let query = CustomerQuery {
            user: transaction.user,
            id: None,
            kyc_type: None,
            transaction_id: Some(transaction.id.clone()),
            lang: lang.code().to_owned(),
        };
        let info = CustomerIntegration::get(self, &query).await?;
        let answer = match info.status {
            CustomerStatus::Accepted => return Ok(None),
            CustomerStatus::NeedsInfo => {
                let missing = info
                    .fields
                    .iter()
                    .filter(|(_, spec)| !spec.optional)
                    .map(|(name, _)| name.clone());
                let unverified = info
                    .provided_fields
                    .iter()
                    .filter(|(_, spec)| spec.status == Some(FieldStatus::VerificationRequired))
                    .map(|(name, _)| format!("{name}_verification"));
                Sep6Answer::CustomerInfoNeeded {
                    fields: missing.chain(unverified).collect(),
                }
            }
            CustomerStatus::Processing => {
                let customer = self.customers.find_by_user(&transaction.user).await?;
                Sep6Answer::CustomerInfoStatus {
                    status: KycReview::Pending,
                    eta: customer.and_then(|customer| self.review_remaining(&customer)),
                }
            }
            CustomerStatus::Rejected => Sep6Answer::CustomerInfoStatus {
                status: KycReview::Denied,
                eta: None,
            },
        };
        Ok(Some(answer))
    }

    /// The customer's SEP-12 `bank_account_number`, when it is a usable account.
    async fn saved_bank_account(
        &self,
        transaction: &Transaction,
        lang: Lang,
    ) -> Result<Option<String>, IntegrationError> {
        let customer = self.customers.find_by_user(&transaction.user).await?;
        Ok(customer.and_then(|customer| {
            let number = customer.fields.get("bank_account_number")?;
            normalize_account(number, lang).ok()
        }))
    }
}

impl<S: CustomerStore> ProgrammaticIntegration for Anchor<S> {
    /// KYC, then ready with the bank instructions of the SEP-24 deposit.
    async fn process_sep6_deposit(
        &self,
        request: Sep6Request<'_>,
        transaction: &mut Transaction,
    ) -> Result<Sep6Answer, IntegrationError> {
        if let Some(answer) = self.sep6_kyc(transaction, request.lang).await? {
            return Ok(answer);
        }
        let context = FlowContext {
            transaction,
            asset: request.asset,
            lang: request.lang,
        };
        let instructions = DepositIntegration::instructions(self, context).await?;
        Ok(Sep6Answer::Ready(Sep6Ready {
            instructions,
            ..Sep6Ready::default()
        }))
    }

    /// The `dest` sent, KYC, then the account to pay out to (the customer's when none was
    /// sent); ready once it is known, Mooring giving the anchor's account and memo.
    async fn process_sep6_withdrawal(
        &self,
        request: Sep6Request<'_>,
        transaction: &mut Transaction,
    ) -> Result<Sep6Answer, IntegrationError> {
        let lang = request.lang;
        if transaction.payout_account.is_none() {
            if let Some(dest) = request.params.get(DEST) {
                self.take_payout_account(transaction, dest, lang).await?;
            }
        }
        if let Some(answer) = self.sep6_kyc(transaction, lang).await? {
            return Ok(answer);
        }
        if transaction.payout_account.is_none() {
            if let Some(number) = self.saved_bank_account(transaction, lang).await? {
                set_payout_account(transaction, number);
            }
        }
        if transaction.payout_account.is_some() {
            return Ok(Sep6Answer::Ready(Sep6Ready::default()));
        }
        Ok(Sep6Answer::TransactionInfoNeeded {
            message: text(lang, Text::DestNeeded).to_owned(),
            fields: BTreeMap::from([(
                DEST.to_owned(),
                InfoField::new(text(lang, Text::DestDescription)),
            )]),
        })
    }

    /// A withdrawal's `dest`, taken as the request parameter is; any other field is refused.
    async fn patch_transaction(
        &self,
        transaction: &mut Transaction,
        fields: &BTreeMap<String, String>,
        lang: Lang,
    ) -> Result<(), IntegrationError> {
        let accepted = |name: &str| name == DEST && !transaction.kind.is_deposit();
        if let Some(name) = fields.keys().find(|name| !accepted(name)) {
            let name: String = name.chars().take(40).collect();
            return Err(IntegrationError::invalid(
                text(lang, Text::UnknownField).replace("{field}", &name),
            ));
        }
        match fields.get(DEST) {
            Some(dest) => self.take_payout_account(transaction, dest, lang).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
