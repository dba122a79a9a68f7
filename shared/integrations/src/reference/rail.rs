//! The reference rail: SEP-24 deposits and withdrawals through the demo bank
//! (`infra/demo_bank` locally; `DEMO_BANK_URL`).
//!
//! Deposit, in the interactive pages:
//! 1. `amount`: how much ([`FieldKind::Amount`]; Mooring checks the asset's limits and decimals
//!    and sets `amount_in`, the fee and `amount_out`), unless the wallet sent the amount with the
//!    POST (Mooring priced it then);
//! 2. `kyc`: only when the user's SEP-12 customer lacks some of the fields its KYC type requires
//!    ([`KycSettings::required`], type `default`): exactly those fields, saved through the same
//!    code as `PUT /kyc/customer` (SEP-9 checks, verification codes);
//! 3. then no more forms: the transaction waits in `pending_user_transfer_start` with the
//!    [`instructions`](DepositIntegration::instructions) for the bank transfer, whose reference
//!    ([`deposit_reference`]) identifies it when the money arrives at the bank.
//!
//! Withdrawal: `amount`, then `bank_account` (the SEP-9 `bank_account_number` to pay out to),
//! then the KYC fields lacking. The account typed is kept whole with the transaction, in
//! [`payout_account`](Transaction::payout_account), which nothing shows to the user or the
//! wallet: they see it masked in `to` (`****3000`). It is also saved with the customer (as SEP-12
//! would), but the payout goes to the transaction's own copy: a later withdrawal to another
//! account, or a change to the customer, never redirects a withdrawal already under way.
//!
//! Fees are Mooring's default: the asset's `fee_fixed + amount × fee_percent / 100`.
//!
//! Money movement, through the demo bank's API ([`crate::reference::bank`], `DEMO_BANK_URL`):
//! `poll_pending_deposits` asks the bank for transfers carrying each waiting deposit's reference
//! and reports those received with the amount that arrived and the bank's transfer id;
//! `after_deposit` logs the completed deposit; `process_withdrawal` pays `amount_out` out to the
//! account the user typed (`payout_account`) with the transaction id as the payout's reference,
//! which the bank pays once, and completes with the payout id; `poll_outgoing_transactions`
//! completes pending payouts the bank shows as made. Without `DEMO_BANK_URL` no deposit arrives
//! and withdrawals wait in `pending_external` for the operator (logged once).
//!
//! Binary SEP-9 fields (documents) cannot be typed into a form: a KYC type requiring them is
//! completed through SEP-12 (`PUT /kyc/customer`), and the flow does not ask for them.

use std::collections::BTreeMap;

use mooring::i18n::Lang;
use mooring::integrations::{
    CompletedPayout, CustomerIntegration, CustomerUpdate, DepositIntegration, FeeIntegration,
    FieldKind, FlowContext, Form, FormField, FormValues, IncomingTransfer, Instruction,
    Instructions, IntegrationError, InteractiveFlow, Operation, Page, PageContent, ReceivedDeposit,
    WithdrawalIntegration, WithdrawalOutcome,
};
use mooring::model::{Transaction, UserKey};
use mooring::sep9::{self, FieldType};
use mooring::stellar::Amount;
use mooring::store::CustomerStore;

use super::kyc::DEFAULT_TYPE;
use super::Anchor;

/// The demo bank's name, shown in the deposit instructions.
pub const BANK_NAME: &str = "Mooring Demo Bank";
/// The account deposits are paid into (a demo IBAN: valid in form, nobody's account).
pub const BANK_IBAN: &str = "DE89370400440532013000";

/// The steps of the flows (`Form::step`).
pub const STEP_AMOUNT: &str = "amount";
pub const STEP_BANK_ACCOUNT: &str = "bank_account";
pub const STEP_KYC: &str = "kyc";

/// The reference a depositor writes on the bank transfer: `MOOR-` and the first 8 hex digits of
/// the transaction id, upper case (`MOOR-1A2B3C4D`). Stored with the instructions
/// (`organization.reference`), where the deposit poller matches incoming transfers.
pub fn deposit_reference(transaction_id: &str) -> String {
    let hex: String = transaction_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(8)
        .collect();
    format!("MOOR-{}", hex.to_ascii_uppercase())
}

/// Whether a bank transfer's reference has the form of [`deposit_reference`] (`MOOR-` and 8
/// upper-case hex digits): only such a reference can name a deposit.
pub fn is_deposit_reference(reference: &str) -> bool {
    reference.strip_prefix("MOOR-").is_some_and(|hex| {
        hex.len() == 8
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    })
}

/// A bank account number as shown back to its owner: `****` and its last 4 characters.
pub fn mask_account(number: &str) -> String {
    let chars: Vec<char> = number.chars().filter(|c| !c.is_whitespace()).collect();
    let tail: String = if chars.len() > 4 {
        chars[chars.len() - 4..].iter().collect()
    } else {
        String::new()
    };
    format!("****{tail}")
}

/// An IBAN or account number: 4 to 34 letters and digits once spaces are removed.
pub(super) fn normalize_account(number: &str, lang: Lang) -> Result<String, IntegrationError> {
    let compact: String = number
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if (4..=34).contains(&compact.len()) && compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(compact)
    } else {
        Err(IntegrationError::invalid(text(lang, Text::BadAccount)))
    }
}

/// Keeps a checked bank account number as the withdrawal's payout account: whole in
/// [`payout_account`](Transaction::payout_account), masked in `to`.
pub(super) fn set_payout_account(transaction: &mut Transaction, number: String) {
    transaction.to = Some(mask_account(&number));
    transaction.payout_account = Some(number);
}

/// The texts of the reference rail, per language.
#[derive(Debug, Clone, Copy)]
enum Text {
    Amount,
    AmountHelp,
    BankAccount,
    BankAccountHelp,
    KycGuidance,
    BankGuidance,
    BadAccount,
    UnknownStep,
    BankNameDescription,
    BankNumberDescription,
    ReferenceDescription,
}

fn text(lang: Lang, key: Text) -> &'static str {
    match (lang, key) {
        (Lang::En, Text::Amount) => "Amount",
        (Lang::Es, Text::Amount) => "Importe",
        (Lang::En, Text::AmountHelp) => "Between {min} and {max} {asset}.",
        (Lang::Es, Text::AmountHelp) => "Entre {min} y {max} {asset}.",
        (Lang::En, Text::BankAccount) => "Bank account number (IBAN)",
        (Lang::Es, Text::BankAccount) => "Número de cuenta bancaria (IBAN)",
        (Lang::En, Text::BankAccountHelp) => "The account the money is paid out to.",
        (Lang::Es, Text::BankAccountHelp) => "La cuenta a la que se envía el dinero.",
        (Lang::En, Text::KycGuidance) => {
            "Before your first transfer we need a few details about you."
        }
        (Lang::Es, Text::KycGuidance) => {
            "Antes de su primera transferencia necesitamos algunos datos suyos."
        }
        (Lang::En, Text::BankGuidance) => "Where should we send the money?",
        (Lang::Es, Text::BankGuidance) => "¿A qué cuenta enviamos el dinero?",
        (Lang::En, Text::BadAccount) => {
            "Enter an IBAN or account number: 4 to 34 letters and digits."
        }
        (Lang::Es, Text::BadAccount) => {
            "Introduzca un IBAN o número de cuenta: de 4 a 34 letras y dígitos."
        }
        (Lang::En, Text::UnknownStep) => "This form is out of date; reload the page.",
        (Lang::Es, Text::UnknownStep) => "Este formulario está desactualizado; recargue la página.",
        (Lang::En, Text::BankNameDescription) => "Bank",
        (Lang::Es, Text::BankNameDescription) => "Banco",
        (Lang::En, Text::BankNumberDescription) => "Account to pay into (IBAN)",
        (Lang::Es, Text::BankNumberDescription) => "Cuenta de destino (IBAN)",
        (Lang::En, Text::ReferenceDescription) => {
            "Reference: write it on your transfer, exactly as shown"
        }
        (Lang::Es, Text::ReferenceDescription) => {
            "Referencia: escríbala en su transferencia tal como aparece"
        }
    }
}

/// The label of a SEP-9 field in a form.
fn field_label(name: &str, lang: Lang) -> String {
    let known = match (lang, name) {
        (Lang::En, "first_name") => "First name",
        (Lang::Es, "first_name") => "Nombre",
        (Lang::En, "last_name") => "Last name",
        (Lang::Es, "last_name") => "Apellidos",
        (Lang::En, "email_address") => "Email address",
        (Lang::Es, "email_address") => "Correo electrónico",
        (Lang::En, "mobile_number") => "Mobile number",
        (Lang::Es, "mobile_number") => "Teléfono móvil",
        (Lang::En, "birth_date") => "Date of birth",
        (Lang::Es, "birth_date") => "Fecha de nacimiento",
        (Lang::En, "address") => "Address",
        (Lang::Es, "address") => "Dirección",
        (Lang::En, "city") => "City",
        (Lang::Es, "city") => "Ciudad",
        (Lang::En, "postal_code") => "Postal code",
        (Lang::Es, "postal_code") => "Código postal",
        (Lang::En, "bank_account_number") => text(Lang::En, Text::BankAccount),
        (Lang::Es, "bank_account_number") => text(Lang::Es, Text::BankAccount),
        (Lang::En, "bank_number") => "Bank routing number",
        (Lang::Es, "bank_number") => "Código del banco",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    sep9::lookup(name)
        .map(|field| field.description.to_owned())
        .unwrap_or_else(|| name.to_owned())
}

/// The form field for a SEP-9 field: its kind from SEP-9's type and the fields whose format
/// SEP-9 fixes; choices when SEP-9 lists them.
fn sep9_field(name: &str, lang: Lang) -> FormField {
    let kind = match sep9::lookup(name) {
        Some(field) if !field.choices.is_empty() => FieldKind::Choice(
            field
                .choices
                .iter()
                .map(|choice| mooring::integrations::Choice {
                    value: (*choice).to_owned(),
                    label: (*choice).to_owned(),
                })
                .collect(),
        ),
        Some(field) if field.field_type == FieldType::Date => FieldKind::Date,
        _ if name == "email_address" => FieldKind::Email,
        _ if name == "mobile_number" => FieldKind::Phone,
        _ => FieldKind::Text { max_len: 200 },
    };
    FormField::new(name, field_label(name, lang), kind)
}

impl<S: CustomerStore> Anchor<S> {
    /// The fields of the default KYC type that the user's customer lacks (not the binary
    /// ones, which only SEP-12 uploads provide).
    async fn missing_kyc_fields(&self, user: &UserKey) -> Result<Vec<String>, IntegrationError> {
        let required = self
            .kyc
            .required
            .get(DEFAULT_TYPE)
            .cloned()
            .unwrap_or_default();
        let customer = self.customers.find_by_user(user).await?;
        Ok(required
            .into_iter()
            .filter(|name| !sep9::is_binary(name))
            .filter(|name| {
                customer
                    .as_ref()
                    .is_none_or(|customer| !customer.fields.contains_key(name))
            })
            .collect())
    }

    /// Saves SEP-9 fields for the user exactly as `PUT /kyc/customer` would.
    async fn save_customer_fields(
        &self,
        user: &UserKey,
        fields: BTreeMap<String, String>,
        transaction_id: Option<&str>,
    ) -> Result<(), IntegrationError> {
        if fields.is_empty() {
            return Ok(());
        }
        let update = CustomerUpdate {
            user: *user,
            id: None,
            kyc_type: None,
            transaction_id: transaction_id.map(str::to_owned),
            fields,
            verifications: BTreeMap::new(),
        };
        CustomerIntegration::put(self, &update).await.map(|_| ())
    }

    /// Takes the bank account a user gave for a withdrawal (the SEP-24 bank-account step, SEP-6's
    /// `dest`): checked and normalised ([`normalize_account`]), saved with the customer as
    /// `bank_account_number` (as SEP-12 would), then kept with the transaction
    /// ([`set_payout_account`]). Refused or failed: the transaction is unchanged.
    pub(super) async fn take_payout_account(
        &self,
        transaction: &mut Transaction,
        number: &str,
        lang: Lang,
    ) -> Result<(), IntegrationError> {
        let number = normalize_account(number, lang)?;
        let fields = BTreeMap::from([("bank_account_number".to_owned(), number.clone())]);
        self.save_customer_fields(&transaction.user, fields, Some(&transaction.id))
            .await?;
        set_payout_account(transaction, number);
        Ok(())
    }

    fn amount_form(context: FlowContext<'_>) -> Form {
        let mut field = FormField::new(
            "amount",
            text(context.lang, Text::Amount),
            FieldKind::Amount,
        );
        let operation = if context.transaction.kind.is_deposit() {
            Operation::Deposit
        } else {
            Operation::Withdraw
        };
        if let Some(limits) = operation.limits(context.asset) {
            if let (Some(min), Some(max)) = (limits.min_amount, limits.max_amount) {
                field = field.with_help(
                    text(context.lang, Text::AmountHelp)
                        .replace("{min}", &min.to_string())
                        .replace("{max}", &max.to_string())
                        .replace("{asset}", context.asset.asset.code()),
                );
            }
        }
        if let Some(amount) = context.transaction.amount_in {
            field = field.with_value(amount.to_string());
        }
        Form {
            step: STEP_AMOUNT.into(),
            fields: vec![field],
        }
    }

    async fn kyc_form(&self, context: FlowContext<'_>) -> Result<Option<Form>, IntegrationError> {
        let missing = self.missing_kyc_fields(&context.transaction.user).await?;
        if missing.is_empty() {
            return Ok(None);
        }
        Ok(Some(Form {
            step: STEP_KYC.into(),
            fields: missing
                .iter()
                .map(|name| sep9_field(name, context.lang))
                .collect(),
        }))
    }

    /// The values of the form's own fields (nothing else a page may have posted).
    fn own_values(form: &Form, values: &FormValues) -> BTreeMap<String, String> {
        form.fields
            .iter()
            .filter_map(|field| {
                let value = values.get(&field.name)?.trim();
                (!value.is_empty()).then(|| (field.name.clone(), value.to_owned()))
            })
            .collect()
    }

    async fn after_kyc_form(
        &self,
        transaction: &Transaction,
        form: &Form,
        values: &FormValues,
    ) -> Result<(), IntegrationError> {
        let fields = Self::own_values(form, values);
        self.save_customer_fields(&transaction.user, fields, Some(&transaction.id))
            .await
    }

    fn content(page: Page, form: Option<&Form>, lang: Lang) -> PageContent {
        let guidance = match (page, form.map(|form| form.step.as_str())) {
            (Page::Form, Some(STEP_KYC)) => Some(text(lang, Text::KycGuidance)),
            (Page::Form, Some(STEP_BANK_ACCOUNT)) => Some(text(lang, Text::BankGuidance)),
            _ => None,
        };
        PageContent {
            title: None,
            guidance: guidance.map(str::to_owned),
        }
    }
}

/// The amount step is done once Mooring has priced an amount: the one the user entered, or the
/// one the wallet sent with the POST (SEP-24: the flow collects the amount when none was given).
/// An unpriced `amount_in` only pre-fills the form.
fn amount_done(transaction: &Transaction) -> bool {
    transaction.amount_in.is_some() && transaction.amount_out.is_some()
}

/// The interactive flow of both directions: the amount, then (withdrawals) the bank account to
/// pay out to, then the KYC fields lacking.
impl<S: CustomerStore> InteractiveFlow for Anchor<S> {
    async fn form_for_transaction(
        &self,
        context: FlowContext<'_>,
    ) -> Result<Option<Form>, IntegrationError> {
        if !amount_done(context.transaction) {
            return Ok(Some(Self::amount_form(context)));
        }
        if !context.transaction.kind.is_deposit() && context.transaction.to.is_none() {
            let field = FormField::new(
                "bank_account_number",
                text(context.lang, Text::BankAccount),
                FieldKind::Text { max_len: 42 },
            )
            .with_help(text(context.lang, Text::BankAccountHelp));
            return Ok(Some(Form {
                step: STEP_BANK_ACCOUNT.into(),
                fields: vec![field],
            }));
        }
        self.kyc_form(context).await
    }

    fn content_for_template(
        &self,
        page: Page,
        form: Option<&Form>,
        context: FlowContext<'_>,
    ) -> PageContent {
        Self::content(page, form, context.lang)
    }

    async fn after_form_validation(
        &self,
        transaction: &mut Transaction,
        form: &Form,
        values: &FormValues,
        lang: Lang,
    ) -> Result<(), IntegrationError> {
        match form.step.as_str() {
            STEP_AMOUNT => Ok(()),
            STEP_BANK_ACCOUNT if !transaction.kind.is_deposit() => {
                let number = values
                    .get("bank_account_number")
                    .ok_or_else(|| IntegrationError::invalid(text(lang, Text::BadAccount)))?;
                self.take_payout_account(transaction, number, lang).await
            }
            STEP_KYC => self.after_kyc_form(transaction, form, values).await,
            _ => Err(IntegrationError::invalid(text(lang, Text::UnknownStep))),
        }
    }

    async fn save_sep9_fields(
        &self,
        _operation: Operation,
        user: &UserKey,
        fields: &BTreeMap<String, String>,
        _lang: Lang,
    ) -> Result<(), IntegrationError> {
        self.save_customer_fields(user, fields.clone(), None).await
    }
}

impl<S: CustomerStore> DepositIntegration for Anchor<S> {
    async fn instructions(
        &self,
        context: FlowContext<'_>,
    ) -> Result<Instructions, IntegrationError> {
        let lang = context.lang;
        let entry = |value: String, description: Text| Instruction {
            value,
            description: text(lang, description).to_owned(),
        };
        Ok(Instructions::from([
            (
                "organization.bank_name".to_owned(),
                entry(BANK_NAME.to_owned(), Text::BankNameDescription),
            ),
            (
                "organization.bank_number".to_owned(),
                entry(BANK_IBAN.to_owned(), Text::BankNumberDescription),
            ),
            (
                "organization.reference".to_owned(),
                entry(
                    deposit_reference(&context.transaction.id),
                    Text::ReferenceDescription,
                ),
            ),
        ]))
    }

    /// Asks the demo bank, per deposit, for transfers with the deposit's reference; a deposit
    /// whose transfer arrived is returned with the amount the bank received and the bank's
    /// transfer id.
    async fn poll_pending_deposits(
        &self,
        pending: &[Transaction],
    ) -> Result<Vec<ReceivedDeposit>, IntegrationError> {
        self.received_deposits(pending).await
    }

    /// The demo bank's feed of incoming transfers ([`crate::reference::bank::feed`]): a
    /// reference not of the deposits' form names no deposit; a transfer after the first with
    /// its reference repeats it (the first pays the deposit, as `poll_pending_deposits`
    /// counts); the first may pay the deposit.
    async fn incoming_transfers(
        &self,
        after: Option<&str>,
    ) -> Result<Vec<IncomingTransfer>, IntegrationError> {
        self.transfer_feed(after).await
    }

    async fn after_deposit(&self, transaction: &Transaction) -> Result<(), IntegrationError> {
        tracing::info!(
            transaction_id = %transaction.id,
            amount_out = %transaction.amount_out.map(|a| a.to_string()).unwrap_or_default(),
            stellar_transaction_id = %transaction.stellar_transaction_id.as_deref().unwrap_or(""),
            "after_deposit: deposit completed"
        );
        Ok(())
    }

    /// Pays `amount` back at the demo bank to the account the deposit's transfer came from
    /// (the transfer's `sender`), with the reference `refund-<transaction id>`: the bank pays a
    /// reference once, so a repeated call returns the same payout. A transfer without a sender,
    /// or a sender account the bank refuses, is `Invalid` (the operator refunds by hand).
    async fn refund_deposit(
        &self,
        transaction: &Transaction,
        amount: Amount,
    ) -> Result<Option<String>, IntegrationError> {
        self.refund_transfer(transaction, amount).await
    }
}

impl<S: CustomerStore> WithdrawalIntegration for Anchor<S> {
    /// Pays `amount_out` out at the demo bank to the account the user gave (`payout_account`;
    /// masked in `to`), with the transaction id as the reference: the bank pays a reference once,
    /// so a repeated call returns the same payout. Done at once: `completed` with the payout id.
    /// A withdrawal without a `payout_account` (its form was filled before the account was kept
    /// whole) waits in `pending_external` for the operator. An account the bank refuses (e.g.
    /// closed: nothing is paid) is `Invalid` with the bank's reason, the account masked: the
    /// user's payment is refunded to them on Stellar.
    async fn process_withdrawal(
        &self,
        transaction: &Transaction,
    ) -> Result<WithdrawalOutcome, IntegrationError> {
        self.pay_out(transaction).await
    }

    /// The pending payouts the bank has made (a payout of the demo bank is done at once, so
    /// only a withdrawal left for the operator can be here).
    async fn poll_outgoing_transactions(
        &self,
        pending: &[Transaction],
    ) -> Result<Vec<CompletedPayout>, IntegrationError> {
        self.completed_payouts(pending).await
    }
}

/// Fees: Mooring's default (`fee_fixed + amount × fee_percent / 100` of the asset's direction,
/// at least `fee_minimum`). Override `fee` here for tiered or per-user fees.
impl<S: Send + Sync> FeeIntegration for Anchor<S> {}

#[cfg(test)]
mod tests;
