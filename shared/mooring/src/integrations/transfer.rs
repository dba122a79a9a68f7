//! SEP-24 deposits and withdrawals: the interactive flow's forms, the instructions a depositor
//! follows, and fees (Polaris's `DepositIntegration`, `WithdrawalIntegration` and fee hook).
//!
//! How Mooring drives the flow (the `sep24-interactive` function): while a transaction is
//! `incomplete`, it asks [`form_for_transaction`](InteractiveFlow::form_for_transaction) for
//! the next form and renders it. On submit it checks every value (required, type, and for a
//! [`FieldKind::Amount`] the asset's limits and decimals; it then sets `amount_in`, the fee from
//! [`FeeIntegration`] and `amount_out`), calls
//! [`after_form_validation`](InteractiveFlow::after_form_validation), and stores the
//! transaction with a conditional write. When no form is left, the transaction moves to
//! `pending_user_transfer_start`: a deposit with the integration's
//! [`instructions`](DepositIntegration::instructions), a withdrawal with the anchor's account
//! and a unique memo.
//!
//! The hooks of the interactive flow are the same for both directions: they are declared once,
//! in [`InteractiveFlow`], which [`DepositIntegration`] and [`WithdrawalIntegration`] extend with
//! each direction's own hooks (instructions and the deposit poller's; the payout).

use std::collections::BTreeMap;
use std::future::Future;

use serde::Serialize;

use super::IntegrationError;
use crate::config::{AssetConfig, TransferLimits};
use crate::i18n::Lang;
use crate::model::{FeeDetails, FeeItem, OffChainTransfer, Transaction, UserKey};
use crate::stellar::Amount;
use crate::time::Timestamp;

/// One page of the interactive flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// Names the step; a submitted form must name the step the transaction is at, so a stale
    /// page (another tab, the back button) cannot submit the wrong form.
    pub step: String,
    pub fields: Vec<FormField>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    /// The input's name: a SEP-9 name for KYC fields, `amount` for the amount.
    pub name: String,
    /// Shown to the user, already in the request's language.
    pub label: String,
    pub kind: FieldKind,
    pub required: bool,
    /// Pre-filled value.
    pub value: Option<String>,
    /// A hint under the input.
    pub help: Option<String>,
}

impl FormField {
    pub fn new(name: impl Into<String>, label: impl Into<String>, kind: FieldKind) -> Self {
        Self {
            name: name.into(),
            label: label.into(),
            kind,
            required: true,
            value: None,
            help: None,
        }
    }

    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// What a field holds; Mooring validates each kind before the integration sees the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    /// An amount of the transaction's asset, checked against the asset's limits for the
    /// direction and its `significant_decimals`; sets `amount_in`, the fee and `amount_out`, and
    /// the page shows the fee live as it is typed. At most one per form.
    Amount,
    /// Free text of at most `max_len` characters.
    Text {
        max_len: usize,
    },
    Email,
    /// E.164 phone number (`+` and digits).
    Phone,
    /// `YYYY-MM-DD`.
    Date,
    /// One of the choices' values.
    Choice(Vec<Choice>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// A form's values after Mooring's checks, by field name (optional fields left empty are
/// absent; an amount is in its canonical form, e.g. `100.5`).
pub type FormValues = BTreeMap<String, String>;

/// The pages whose texts an integration may set through `content_for_template`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// A form of the flow (the form is passed too).
    Form,
    /// The more-info page of a transaction.
    MoreInfo,
}

/// Texts of a page; `None` keeps Mooring's default (from its message catalogue).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageContent {
    pub title: Option<String>,
    /// A paragraph above the form / details.
    pub guidance: Option<String>,
}

/// One instruction for the off-chain transfer (SEP-6 `instructions`: `{value, description}`),
/// keyed by a SEP-9 style name such as `organization.bank_number`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Instruction {
    pub value: String,
    pub description: String,
}

pub type Instructions = BTreeMap<String, Instruction>;

/// What the hooks of the interactive flow are told.
#[derive(Debug, Clone, Copy)]
pub struct FlowContext<'a> {
    pub transaction: &'a Transaction,
    /// The transaction's asset as configured.
    pub asset: &'a AssetConfig,
    pub lang: Lang,
}

/// The interactive flow of SEP-24 deposits and withdrawals: the hooks both directions share,
/// declared once. Each hook is told the transaction (whose `kind` says the direction), so one
/// implementation serves both; [`DepositIntegration`] and [`WithdrawalIntegration`] add each
/// direction's own hooks.
pub trait InteractiveFlow: Send + Sync {
    /// The form the user fills next, or `None` when the flow is complete.
    fn form_for_transaction(
        &self,
        context: FlowContext<'_>,
    ) -> impl Future<Output = Result<Option<Form>, IntegrationError>> + Send;

    /// Title and guidance of a page.
    fn content_for_template(
        &self,
        page: Page,
        form: Option<&Form>,
        context: FlowContext<'_>,
    ) -> PageContent {
        let _ = (page, form, context);
        PageContent::default()
    }

    /// Called with the values of a form that passed Mooring's checks; may change the
    /// transaction (Mooring stores it conditionally afterwards), e.g. a withdrawal records where
    /// the money goes (`to`, masked). `Invalid` re-renders the form with the message and changes
    /// nothing.
    fn after_form_validation(
        &self,
        transaction: &mut Transaction,
        form: &Form,
        values: &FormValues,
        lang: Lang,
    ) -> impl Future<Output = Result<(), IntegrationError>> + Send;

    /// An external page to send the user to instead of Mooring's forms (e.g. a KYC provider's
    /// flow), which returns the user to `/sep24/interactive/return?transaction_id=<id>`.
    fn interactive_url(&self, context: FlowContext<'_>) -> Option<String> {
        let _ = context;
        None
    }

    /// Called when the user returns from [`interactive_url`](Self::interactive_url), with the
    /// query parameters of the return URL.
    fn after_interactive_flow(
        &self,
        transaction: &mut Transaction,
        params: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), IntegrationError>> + Send {
        let _ = (transaction, params);
        async { Ok(()) }
    }

    /// SEP-9 fields a wallet sent with `POST /transactions/{deposit,withdraw}/interactive`
    /// (e.g. to pre-fill KYC), before the transaction exists. Invalid values are `Invalid` (400).
    fn save_sep9_fields(
        &self,
        operation: Operation,
        user: &UserKey,
        fields: &BTreeMap<String, String>,
        lang: Lang,
    ) -> impl Future<Output = Result<(), IntegrationError>> + Send {
        let _ = (operation, user, fields, lang);
        async { Ok(()) }
    }
}

/// SEP-24 deposits: the interactive flow ([`InteractiveFlow`]), the instructions for the
/// off-chain transfer, and the deposit poller's hooks.
pub trait DepositIntegration: InteractiveFlow {
    /// How the user sends the off-chain funds, shown on the more-info page and stored on the
    /// transaction when it reaches `pending_user_transfer_start`.
    fn instructions(
        &self,
        context: FlowContext<'_>,
    ) -> impl Future<Output = Result<Instructions, IntegrationError>> + Send {
        let _ = context;
        async { Ok(Instructions::new()) }
    }

    /// Called by the deposit poller with a page of deposits waiting for their off-chain funds
    /// (`pending_user_transfer_start` or `pending_external`): returns those whose funds arrived,
    /// with the amount actually received. Mooring then computes the fee (when the integration
    /// gives none), moves each to `pending_anchor` with a conditional write and queues its Stellar
    /// payment, so returning a deposit twice (two overlapping polls) pays it once.
    fn poll_pending_deposits(
        &self,
        pending: &[Transaction],
    ) -> impl Future<Output = Result<Vec<ReceivedDeposit>, IntegrationError>> + Send {
        let _ = pending;
        async { Ok(Vec::new()) }
    }

    /// The rail's feed of incoming money, for the money no deposit takes: the transfers that
    /// arrived after `after` (a [`IncomingTransfer::cursor`] this hook answered before; `None`:
    /// from the first), oldest first, a page at a time (empty: nothing new). For each, the
    /// integration says whether it may pay a deposit ([`TransferClaim`]). The deposit poller
    /// records those that pay none for the operator (`IncomingPayments`, once per transfer id):
    /// a transfer whose reference names no deposit at once, a repeat of a reference already
    /// paid at once, and a transfer that may pay a deposit once every waiting deposit was shown
    /// to [`poll_pending_deposits`](Self::poll_pending_deposits) after it arrived and none took
    /// it (no deposit's `external_transaction_id` is its id). The default reports none.
    fn incoming_transfers(
        &self,
        after: Option<&str>,
    ) -> impl Future<Output = Result<Vec<IncomingTransfer>, IntegrationError>> + Send {
        let _ = after;
        async { Ok(Vec::new()) }
    }

    /// Called once after a deposit's Stellar payment succeeded (status `completed`), e.g. to
    /// notify the user. An error is logged; the deposit stays completed.
    fn after_deposit(
        &self,
        transaction: &Transaction,
    ) -> impl Future<Output = Result<(), IntegrationError>> + Send {
        let _ = transaction;
        async { Ok(()) }
    }

    /// Returns `amount` of a deposit's off-chain funds to whoever sent them (the deposit is
    /// refunded: `transaction.pending_refund` says who asked and why). Called by the Stellar
    /// submitter at most once per claim, the claim written first; make the refund idempotent by
    /// the transaction id all the same (a claim whose call never reported back goes to the
    /// operator, not to a second call).
    ///
    /// `Ok(reference)`: the money is on its way back, for good; `reference` (the rail's id of
    /// the refund, if any) goes into the SEP `refunds` object. `Unavailable`: nothing was done,
    /// the refund is retried later. Any other error: the refund failed, the deposit goes to
    /// `error` (with the message of `Invalid`) for the operator. The default refunds nothing
    /// (`Invalid`): such an anchor refunds deposits by hand.
    fn refund_deposit(
        &self,
        transaction: &Transaction,
        amount: Amount,
    ) -> impl Future<Output = Result<Option<String>, IntegrationError>> + Send {
        let _ = (transaction, amount);
        async {
            Err(IntegrationError::invalid(
                "this anchor does not refund deposits automatically; the operator refunds it by hand",
            ))
        }
    }
}

/// A deposit whose off-chain funds arrived (answer of `poll_pending_deposits`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedDeposit {
    pub transaction_id: String,
    /// What the anchor received, before fees.
    pub amount_in: Amount,
    /// The fee, when the integration decides it; `None` = Mooring's `FeeIntegration`.
    pub amount_fee: Option<Amount>,
    /// The bank's reference of the incoming transfer.
    pub external_transaction_id: Option<String>,
}

/// Money that arrived on the anchor's off-chain rail (answer of `incoming_transfers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingTransfer {
    /// The transfer: the rail's id (the `external_transaction_id` that
    /// `poll_pending_deposits` reports when it pays a deposit), reference, amount, payer.
    pub transfer: OffChainTransfer,
    /// Where the feed resumes after this transfer (the next call's `after`).
    pub cursor: String,
    /// When the rail received it (by the rail's clock).
    pub received_at: Timestamp,
    pub claim: TransferClaim,
}

/// Whether an incoming transfer may pay a deposit, as the integration can tell from the
/// transfer alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferClaim {
    /// It pays the deposit its reference names if that deposit waits for it (then
    /// `poll_pending_deposits` reports the deposit with this transfer's id).
    MayPayDeposit,
    /// Its reference cannot name a deposit (none, or not in the rail's form).
    NamesNoDeposit,
    /// An earlier transfer with the same reference (`first`, its id) is the one that pays the
    /// deposit: this one pays nothing.
    Repeats { first: String },
}

/// What became of a withdrawal's off-chain payout (answer of `process_withdrawal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WithdrawalOutcome {
    /// The money reached the user: the transaction is `completed`.
    Completed {
        external_transaction_id: Option<String>,
    },
    /// The payout is on its way through the rail: `pending_external` until
    /// `poll_outgoing_transactions` reports it done.
    PendingExternal {
        external_transaction_id: Option<String>,
    },
}

/// A payout the rail confirmed (answer of `poll_outgoing_transactions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPayout {
    pub transaction_id: String,
    pub external_transaction_id: Option<String>,
}

/// SEP-24 withdrawals: the interactive flow ([`InteractiveFlow`]: where the user wants the
/// money off-chain) and the off-chain payout.
pub trait WithdrawalIntegration: InteractiveFlow {
    /// Pays the user off-chain once their Stellar payment arrived (the transaction is
    /// `pending_anchor`, claimed by the withdrawal processor, with `amount_in` as received and
    /// `amount_out` to pay). Called once per claim of the transaction. Errors:
    /// `IntegrationError::Unavailable` must mean nothing was paid: the claim is released and the
    /// payout retried later; `Invalid` must mean the payout was refused for good and nothing was
    /// paid (e.g. the bank refused the account): the user's payment is refunded to them on
    /// Stellar; any other error moves the transaction to `error` (Polaris semantics) for the
    /// operator. Make the payout itself idempotent by the transaction id all the same. The
    /// default leaves the payout to the operator (`pending_external`).
    fn process_withdrawal(
        &self,
        transaction: &Transaction,
    ) -> impl Future<Output = Result<WithdrawalOutcome, IntegrationError>> + Send {
        let _ = transaction;
        async {
            Ok(WithdrawalOutcome::PendingExternal {
                external_transaction_id: None,
            })
        }
    }

    /// Called on a schedule with a page of withdrawals in `pending_external`: returns those the
    /// rail has completed (each then moves to `completed`).
    fn poll_outgoing_transactions(
        &self,
        pending: &[Transaction],
    ) -> impl Future<Output = Result<Vec<CompletedPayout>, IntegrationError>> + Send {
        let _ = pending;
        async { Ok(Vec::new()) }
    }
}

/// Deposit or withdrawal, as SEP-24's `GET /fee` names them (`operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Deposit,
    Withdraw,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Deposit => "deposit",
            Operation::Withdraw => "withdraw",
        }
    }

    /// The asset's limits and fees for this direction (`None` when it is not offered).
    pub fn limits(self, asset: &AssetConfig) -> Option<&TransferLimits> {
        match self {
            Operation::Deposit => asset.deposit.as_ref(),
            Operation::Withdraw => asset.withdraw.as_ref(),
        }
    }
}

/// What a fee is asked for.
#[derive(Debug, Clone, Copy)]
pub struct FeeRequest<'a> {
    pub operation: Operation,
    /// SEP-24 `type` (`SEPA`, `bank_account`, ...), when the client gave one.
    pub fee_type: Option<&'a str>,
    pub asset: &'a AssetConfig,
    pub amount: Amount,
    /// The user, when known (authenticated requests).
    pub user: Option<&'a UserKey>,
}

/// The fee of a deposit or withdrawal, in units of the asset. The default is the asset's
/// configured `fee_fixed + amount × fee_percent / 100`, at least `fee_minimum`, exact to the stroop.
pub trait FeeIntegration: Send + Sync {
    fn fee(
        &self,
        request: &FeeRequest<'_>,
    ) -> impl Future<Output = Result<Amount, IntegrationError>> + Send {
        let fee = standard_fee(request);
        async move { fee }
    }

    /// The fee with how it is made up (e.g. a service fee and a bank fee), for the
    /// transaction's `fee_details.breakdown` (SEP-6 `details`). The default is [`Self::fee`]
    /// without a breakdown. An integration overriding it keeps `fee` answering the same total
    /// (`GET /fee` and the interactive pages show `fee`); a breakdown that does not add up to
    /// the total is left out.
    fn fee_details(
        &self,
        request: &FeeRequest<'_>,
    ) -> impl Future<Output = Result<Fee, IntegrationError>> + Send {
        async move { self.fee(request).await.map(Fee::from) }
    }
}

/// A fee and its breakdown (answer of [`FeeIntegration::fee_details`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fee {
    pub total: Amount,
    /// Empty: none given.
    pub breakdown: Vec<FeeItem>,
}

impl From<Amount> for Fee {
    fn from(total: Amount) -> Self {
        Fee {
            total,
            breakdown: Vec::new(),
        }
    }
}

impl Fee {
    /// The SEP `fee_details` of this fee in `asset` (a SEP-38 id). The SEPs want the breakdown
    /// to add up to the total: one that does not is left out (and logged).
    pub fn details(self, asset: String) -> FeeDetails {
        let sum = self
            .breakdown
            .iter()
            .try_fold(Amount::ZERO, |sum, item| sum.checked_add(item.amount));
        let breakdown = if self.breakdown.is_empty() || sum == Some(self.total) {
            self.breakdown
        } else {
            tracing::warn!(total = %self.total, ?sum,
                "the fee's breakdown does not add up to its total; left out");
            Vec::new()
        };
        FeeDetails {
            total: self.total,
            asset,
            breakdown,
        }
    }
}

/// The configured fee of [`FeeIntegration`]'s default: `fee_fixed + amount × fee_percent / 100`
/// (percent rounded half up to the stroop), raised to `fee_minimum`; zero when nothing is set.
pub fn standard_fee(request: &FeeRequest<'_>) -> Result<Amount, IntegrationError> {
    let Some(limits) = request.operation.limits(request.asset) else {
        return Ok(Amount::ZERO);
    };
    let too_large = || IntegrationError::invalid("the amount is too large");
    let percent = match limits.fee_percent {
        Some(percent) => request.amount.percent(percent).ok_or_else(too_large)?,
        None => Amount::ZERO,
    };
    let fee = percent
        .checked_add(limits.fee_fixed.unwrap_or(Amount::ZERO))
        .ok_or_else(too_large)?;
    Ok(fee.max(limits.fee_minimum.unwrap_or(Amount::ZERO)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(limits: &str) -> AssetConfig {
        let json = format!(
            r#"{{"code":"USDC","issuer":"GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ","deposit":{limits}}}"#
        );
        serde_json::from_str(&json).expect("asset config")
    }

    fn fee(asset: &AssetConfig, amount: &str) -> Result<Amount, IntegrationError> {
        standard_fee(&FeeRequest {
            operation: Operation::Deposit,
            fee_type: None,
            asset,
            amount: amount.parse().expect("amount"),
            user: None,
        })
    }

    #[test]
    fn fixed_plus_percent_is_exact_to_the_stroop() {
        let usdc = asset(r#"{"fee_fixed": 1, "fee_percent": 0.5}"#);
        assert_eq!(fee(&usdc, "100").unwrap().to_string(), "1.5");
        // 0.5 % of one stroop is half a nano-stroop: rounds to nothing.
        assert_eq!(fee(&usdc, "0.0000001").unwrap().to_string(), "1");
        assert_eq!(fee(&usdc, "33.3333333").unwrap().to_string(), "1.1666667");
    }

    #[test]
    fn minimum_raises_a_small_fee_and_nothing_configured_is_free() {
        let usdc = asset(r#"{"fee_percent": 1, "fee_minimum": 0.25}"#);
        assert_eq!(fee(&usdc, "10").unwrap().to_string(), "0.25");
        assert_eq!(fee(&usdc, "100").unwrap().to_string(), "1");
        assert_eq!(fee(&asset("{}"), "100").unwrap(), Amount::ZERO);
    }

    #[test]
    fn withdrawals_use_the_withdraw_limits() {
        let usdc = asset(r#"{"fee_fixed": 1}"#);
        let request = FeeRequest {
            operation: Operation::Withdraw,
            fee_type: None,
            asset: &usdc,
            amount: "100".parse().expect("amount"),
            user: None,
        };
        assert_eq!(standard_fee(&request).unwrap(), Amount::ZERO);
    }
}
