//! A minimal anchor, to show the seam: swapped in for the [`reference`](crate::reference) one
//! by the cargo feature `example-minimal`, which changes only [`Integration`](crate::Integration)
//! and [`register_integrations`](crate::register_integrations) (as an operator would, by editing
//! `lib.rs`). No function changes.
//!
//! - The interactive flow asks only the amount (deposits and withdrawals), then is done.
//! - Deposits get fixed instructions: one account and the transaction id as the reference.
//!   Nothing reports deposits arrived (Mooring's default `poll_pending_deposits`).
//! - Withdrawals are paid out by the operator (`pending_external`, Mooring's default).
//! - SEP-6: Mooring's defaults (ready at once, no KYC, no `PATCH`).
//! - Fees and stellar.toml: Mooring's defaults.
//! - No KYC: SEP-12 requests are refused.

use std::marker::PhantomData;
use std::sync::Arc;

use mooring::config::Source;
use mooring::i18n::Lang;
use mooring::integrations::{
    CustomerInfo, CustomerIntegration, CustomerQuery, CustomerUpdate, DepositIntegration,
    FeeIntegration, FieldKind, FlowContext, Form, FormField, FormValues, Instruction, Instructions,
    IntegrationError, InteractiveFlow, ProgrammaticIntegration, QuoteIntegration,
    ReceiveIntegration, SetupError, TomlIntegration, WithdrawalIntegration,
};
use mooring::model::{CustomerStatus, Transaction, UserKey};

/// The account deposits are paid into.
pub const ACCOUNT: &str = "MINIMAL-ANCHOR-0001";
/// The only step of the flow.
pub const STEP_AMOUNT: &str = "minimal-amount";

const NO_KYC: &str = "this anchor collects no KYC information";

/// The minimal anchor. `S` (the store) is unused: it keeps nothing of its own.
pub struct Minimal<S> {
    store: PhantomData<fn() -> S>,
}

impl<S> Minimal<S> {
    /// Reads no settings of its own.
    pub fn from_settings(settings: &impl Source, store: Arc<S>) -> Result<Self, SetupError> {
        let _ = (settings, store);
        Ok(Self { store: PhantomData })
    }
}

impl<S> TomlIntegration for Minimal<S> {}

impl<S> FeeIntegration for Minimal<S> {}

// No SEP-38 assets: the defaults quote nothing.
impl<S> QuoteIntegration for Minimal<S> {}

impl<S> InteractiveFlow for Minimal<S> {
    async fn form_for_transaction(
        &self,
        context: FlowContext<'_>,
    ) -> Result<Option<Form>, IntegrationError> {
        if context.transaction.amount_out.is_some() {
            return Ok(None);
        }
        Ok(Some(Form {
            step: STEP_AMOUNT.into(),
            fields: vec![FormField::new("amount", "How much?", FieldKind::Amount)],
        }))
    }

    async fn after_form_validation(
        &self,
        transaction: &mut Transaction,
        form: &Form,
        values: &FormValues,
        lang: Lang,
    ) -> Result<(), IntegrationError> {
        let _ = (transaction, values, lang);
        if form.step == STEP_AMOUNT {
            Ok(())
        } else {
            Err(IntegrationError::invalid("this form is out of date"))
        }
    }
}

impl<S> DepositIntegration for Minimal<S> {
    async fn instructions(
        &self,
        context: FlowContext<'_>,
    ) -> Result<Instructions, IntegrationError> {
        Ok(Instructions::from([
            (
                "organization.bank_number".to_owned(),
                Instruction {
                    value: ACCOUNT.to_owned(),
                    description: "Pay into".to_owned(),
                },
            ),
            (
                "organization.reference".to_owned(),
                Instruction {
                    value: context.transaction.id.clone(),
                    description: "Reference".to_owned(),
                },
            ),
        ]))
    }
}

impl<S> WithdrawalIntegration for Minimal<S> {}

// SEP-6 with the defaults: deposits ready with no instructions, withdrawals with the anchor's
// account and memo, no PATCH.
impl<S> ProgrammaticIntegration for Minimal<S> {}

// SEP-31: Mooring's defaults (payouts left to the operator).
impl<S> ReceiveIntegration for Minimal<S> {}

impl<S> CustomerIntegration for Minimal<S> {
    async fn get(&self, query: &CustomerQuery) -> Result<CustomerInfo, IntegrationError> {
        let _ = query;
        Err(IntegrationError::invalid(NO_KYC))
    }

    async fn put(&self, update: &CustomerUpdate) -> Result<String, IntegrationError> {
        let _ = update;
        Err(IntegrationError::invalid(NO_KYC))
    }

    async fn delete(&self, user: &UserKey) -> Result<(), IntegrationError> {
        let _ = user;
        Err(IntegrationError::NotFound)
    }

    async fn customer_status(
        &self,
        id: &str,
        kyc_type: &str,
        transaction_id: Option<&str>,
    ) -> Result<CustomerStatus, IntegrationError> {
        let _ = (id, kyc_type, transaction_id);
        Err(IntegrationError::NotFound)
    }
}
