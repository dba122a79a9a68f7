//! Refunds (issue 16): money that reached the anchor for a transaction that will not go on goes
//! back to the sender, exactly once.
//!
//! - **Withdrawals and SEP-31 payments** are refunded on the Stellar network by the
//!   [`Submitter`](super::Submitter): the same machinery as a deposit's payment (a leased
//!   channel account, the signed envelope stored before it is submitted, Horizon asked what
//!   became of a stored envelope before anything is built again), to the account that paid
//!   (the recorded incoming payment's `from`, else the transaction's `from`), with the
//!   transaction's `refund_memo`/`refund_memo_type`, else the memo the sender paid with. The
//!   transaction is `pending_stellar` from the request until the refund lands.
//! - **Deposits** are refunded off chain through
//!   [`DepositIntegration::refund_deposit`](crate::integrations::DepositIntegration::refund_deposit),
//!   called once per claim (the claim, `pending_refund.started_at`, is written before the call,
//!   like a withdrawal's payout claim). The deposit is `pending_anchor` (its refund under way)
//!   until the hook answers.
//!
//! A refund is requested with one conditional write ([`mark`]) that sets
//! [`Transaction::pending_refund`] and moves the status; of two requests (two operators, or an
//! operator and a worker) one wins and the other finds a refund under way
//! ([`RefundError::AlreadyRefunding`]). The write that ends it ([`settle`]) adds the payment to
//! the SEP `refunds` object and clears `pending_refund`, so a redelivered message finds nothing
//! left to do. A full refund ends `refunded` (with `completed_at`); a partial one returns the
//! transaction to the status it was refunded from (the rest is the operator's to resolve). A
//! refund that cannot be made ([`abandon`]) ends in `error` with a `status_message`, from where
//! it may be requested again.
//!
//! What can be refunded, by an operator ([`refundable`]):
//!
//! | kind | statuses | provided |
//! |---|---|---|
//! | withdrawal, SEP-31 | `on_hold`, `error` | its Stellar payment arrived (`stellar_transaction_id`) |
//! | withdrawal | `pending_anchor` | and no payout is under way (no claim) |
//! | SEP-31 | `pending_receiver` | and no payout is under way (no claim) |
//! | SEP-31 | `pending_customer_info_update`, `pending_transaction_info_update` | its payment arrived |
//! | deposit | `on_hold`, `pending_trust`, `pending_anchor` (nothing signed yet) | nothing paid on Stellar |
//! | deposit | `error` | nothing paid on Stellar, and its history shows the funds arrived |
//!
//! Never: a transaction with a refund under way, `completed`, `refunded`, `expired`, or a payout
//! that may be on its way (`pending_external`, a claimed payout, a signed deposit envelope).
//! The withdrawal processor and the outgoing-payments worker refund on their own a payout the
//! rail refused for good (`IntegrationError::Invalid`: nothing was paid).
//!
//! Amounts: what the sender paid (the recorded incoming payment's amount for a withdrawal or
//! SEP-31 payment, which also becomes `amount_in` when it differs, e.g. a payment held for a
//! wrong amount; `amount_in` otherwise), less what was refunded already. No refund fee is
//! charged (`amount_fee` 0). A refund is full when it returns everything left.

use crate::model::{
    IncomingPayment, Kind, PaymentOutcome, PendingRefund, RefundPayment, Refunds, StellarRefund,
    SubmissionState, Transaction, TransactionStatus, SYSTEM_ACTOR,
};
use crate::stellar::{Amount, Memo, MemoError, MuxedAccount};
use crate::store::StoreError;
use crate::time::Timestamp;

/// After this long a claimed deposit refund without an outcome is handed to the operator.
pub const STALE_REFUND_CLAIM_SECS: u64 = 300;

/// `status_message` of a transaction whose refund is under way.
pub const REFUNDING_MESSAGE: &str = "The payment is being refunded.";

/// Why a refund cannot be requested (or was not).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("there is no transaction {0}")]
    NotFound(String),
    #[error("a {kind} in {status} cannot be refunded: {why}")]
    NotRefundable {
        kind: &'static str,
        status: TransactionStatus,
        why: String,
    },
    #[error("a refund is already under way (requested by {by} at {at})")]
    AlreadyRefunding { by: String, at: Timestamp },
    #[error("nothing is left to refund ({refunded} refunded already)")]
    NothingLeft { refunded: Amount },
    #[error("the amount to refund must be positive")]
    NotPositive,
    #[error("a reason for the refund is required")]
    NoReason,
    #[error("{requested} is more than the {left} left to refund")]
    TooMuch { requested: Amount, left: Amount },
    #[error("the refund cannot be sent: {0}")]
    Unpayable(String),
    #[error("the transaction kept changing; try again")]
    Conflict,
    #[error("storage: {0}")]
    Store(StoreError),
}

impl From<StoreError> for RefundError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => RefundError::Conflict,
            other => RefundError::Store(other),
        }
    }
}

/// Whether an operator may refund `t` as it stands (see the module's table).
pub fn refundable(t: &Transaction) -> Result<(), RefundError> {
    if let Some(under_way) = &t.pending_refund {
        return Err(RefundError::AlreadyRefunding {
            by: under_way.requested_by.clone(),
            at: under_way.requested_at,
        });
    }
    let no = |why: &str| {
        Err(RefundError::NotRefundable {
            kind: t.kind.as_str(),
            status: t.status,
            why: why.to_owned(),
        })
    };
    use TransactionStatus as S;
    if t.kind.is_deposit() {
        if t.submission == SubmissionState::Signed
            || t.submission == SubmissionState::Confirmed
            || t.stellar_transaction_id.is_some()
        {
            return no("its Stellar payment was sent");
        }
        return match t.status {
            S::OnHold | S::PendingTrust | S::PendingAnchor => Ok(()),
            S::Error if funds_arrived(t) => Ok(()),
            S::Error => no("nothing shows that its funds arrived"),
            _ => no("only a deposit whose funds arrived and that is on hold, in error, waiting for a trustline or not yet sent can be"),
        };
    }
    let receive = t.kind == Kind::Receive;
    let working = if receive {
        S::PendingReceiver
    } else {
        S::PendingAnchor
    };
    let waiting_for_info = receive
        && matches!(
            t.status,
            S::PendingCustomerInfoUpdate | S::PendingTransactionInfoUpdate
        );
    if !(matches!(t.status, S::OnHold | S::Error) || t.status == working || waiting_for_info) {
        return no(
            "only a payment that arrived and is on hold, in error or not yet paid out can be",
        );
    }
    if t.stellar_transaction_id.is_none() {
        return no("its Stellar payment never arrived");
    }
    if t.status == working && t.payout_started_at.is_some() {
        return no("its payout is under way");
    }
    Ok(())
}

/// Whether a deposit in `error` got there after its funds arrived: the write that moved it to
/// `error` came from a status the funds had reached (the deposit poller's refusal of what it
/// received, a failed submission), not from the KYC loop or the interactive flow.
fn funds_arrived(t: &Transaction) -> bool {
    use TransactionStatus as S;
    t.history
        .iter()
        .rev()
        .find(|e| e.status == S::Error && e.from != S::Error)
        .is_some_and(|e| {
            matches!(
                e.from,
                S::PendingUserTransferStart
                    | S::PendingExternal
                    | S::PendingAnchor
                    | S::PendingStellar
                    | S::PendingTrust
                    | S::OnHold
            )
        })
}

/// The incoming payment that paid `t` among `payments` (its recorded payments): the one of its
/// Stellar transaction that it took (matched, or held for a wrong amount).
pub fn paying_payment<'a>(
    t: &Transaction,
    payments: &'a [IncomingPayment],
) -> Option<&'a IncomingPayment> {
    let hash = t.stellar_transaction_id.as_deref()?;
    payments.iter().find(|p| {
        p.transaction_hash == hash
            && p.transaction_id.as_deref() == Some(t.id.as_str())
            && matches!(
                p.outcome,
                PaymentOutcome::Matched | PaymentOutcome::WrongAmount
            )
    })
}

/// A refund ready to be requested with [`mark`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RefundPlan {
    #[serde(flatten)]
    pub refund: PendingRefund,
    /// What the sender paid (becomes `amount_in` when it differs).
    pub received: Amount,
}

/// Who asks for a refund and why, and how much (`None`: everything left).
#[derive(Debug, Clone, Copy)]
pub struct RefundOrder<'a> {
    /// [`SYSTEM_ACTOR`] or `operator:<name>`.
    pub by: &'a str,
    pub reason: &'a str,
    pub amount: Option<Amount>,
}

/// The refund of `t` as ordered: what it paid (`payment`: its recorded incoming payment, if
/// found), where it goes back, how much. Does not check the status ([`refundable`] does).
pub fn plan(
    t: &Transaction,
    payment: Option<&IncomingPayment>,
    order: RefundOrder<'_>,
    now: Timestamp,
) -> Result<RefundPlan, RefundError> {
    let unpayable = |why: String| RefundError::Unpayable(why);
    let received = match payment {
        Some(payment) => payment.amount,
        // A withdrawal or SEP-31 payment held for its amount took another amount than
        // `amount_in`: only its recorded payment says how much.
        None if !t.kind.is_deposit() && t.status == TransactionStatus::OnHold => {
            return Err(unpayable(
                "the payment it received is not on record; refund it by hand".into(),
            ))
        }
        None => t
            .amount_in
            .filter(|a| *a > Amount::ZERO)
            .ok_or_else(|| unpayable("it has no amount_in".into()))?,
    };
    let refunded = t
        .refunds
        .as_ref()
        .map_or(Some(Amount::ZERO), Refunds::total)
        .ok_or_else(|| unpayable("its refunds do not add up".into()))?;
    let left = received
        .checked_sub(refunded)
        .filter(|left| *left > Amount::ZERO)
        .ok_or(RefundError::NothingLeft { refunded })?;
    let amount = match order.amount {
        None => left,
        // The rest of a partial refund is the operator's to resolve: only from their statuses.
        Some(amount)
            if amount != left
                && !matches!(
                    t.status,
                    TransactionStatus::OnHold | TransactionStatus::Error
                ) =>
        {
            return Err(RefundError::NotRefundable {
                kind: t.kind.as_str(),
                status: t.status,
                why: "only a transaction on hold or in error can be refunded in part".into(),
            })
        }
        Some(amount) if amount <= Amount::ZERO => return Err(RefundError::NotPositive),
        Some(amount) if amount > left => {
            return Err(RefundError::TooMuch {
                requested: amount,
                left,
            })
        }
        Some(amount) => amount,
    };
    let stellar = if t.kind.is_deposit() {
        None
    } else {
        Some(stellar_refund(t, payment).map_err(unpayable)?)
    };
    Ok(RefundPlan {
        refund: PendingRefund {
            amount,
            stellar,
            full: amount == left,
            from: t.status,
            requested_by: order.by.to_owned(),
            requested_at: now,
            reason: order.reason.to_owned(),
            started_at: None,
        },
        received,
    })
}

/// Where a Stellar refund goes and with which memo.
fn stellar_refund(
    t: &Transaction,
    payment: Option<&IncomingPayment>,
) -> Result<StellarRefund, String> {
    let sender = match payment.and_then(|p| p.from) {
        Some(from) => from.to_string(),
        None => t.from.clone().ok_or("the account that paid is not known")?,
    };
    sender
        .parse::<MuxedAccount>()
        .map_err(|_| format!("the account that paid ({sender}) is not a Stellar account"))?;
    let memo = match (&t.refund_memo_type, &t.refund_memo) {
        (Some(_), _) | (_, Some(_)) => {
            Memo::from_sep(t.refund_memo_type.as_deref(), t.refund_memo.as_deref())
                .map_err(|e| format!("its refund memo is not valid: {e}"))?
        }
        _ => match payment {
            Some(p) => sep_memo(&p.memo_type, p.memo.as_deref())
                .map_err(|e| format!("the memo it was paid with is not valid: {e}"))?,
            None => Memo::from_sep(
                t.receiving_memo_type.as_deref(),
                t.receiving_memo.as_deref(),
            )
            .map_err(|e| format!("its memo is not valid: {e}"))?,
        },
    };
    Ok(StellarRefund {
        destination: sender,
        memo_type: memo.type_name().to_owned(),
        memo: memo.value(),
    })
}

/// A memo in SEP form, `none` included.
pub fn sep_memo(memo_type: &str, memo: Option<&str>) -> Result<Memo, MemoError> {
    match (memo_type, memo) {
        ("none", None) => Ok(Memo::None),
        _ => Memo::from_sep(Some(memo_type), memo),
    }
}

/// Requests the refund on `t` (before the conditional write over its status, `plan.refund.from`):
/// `pending_refund` set, the status moved (`pending_stellar` for a Stellar refund,
/// `pending_anchor` for a deposit's), the request recorded in the history as `by`'s, with
/// `reason`.
pub fn mark(t: &mut Transaction, plan: RefundPlan, status_message: String, now: Timestamp) {
    let RefundPlan { refund, received } = plan;
    let from = t.status;
    if t.amount_in != Some(received) {
        t.amount_in = Some(received);
    }
    if refund.stellar.is_some() {
        t.status = TransactionStatus::PendingStellar;
        // A fresh envelope for the refund (a withdrawal's own payment came in; an earlier
        // refund's envelope is done with).
        t.submission = SubmissionState::NotSubmitted;
        t.envelope_xdr = None;
        t.envelope_hash = None;
    } else {
        t.status = TransactionStatus::PendingAnchor;
    }
    t.status_message = Some(status_message);
    t.updated_at = now;
    let note = format!(
        "refund of {} requested: {}",
        refund.amount,
        refund.reason.trim()
    );
    let by = refund.requested_by.clone();
    t.pending_refund = Some(refund);
    t.record(from, &by, Some(note));
}

/// The refund `payment` was made: added to `refunds`, `pending_refund` cleared, the status
/// `refunded` (full) or back to where it was refunded from (partial). To be written over the
/// status read.
pub fn settle(t: &mut Transaction, payment: RefundPayment, now: Timestamp) {
    let expected = t.status;
    let refund = t.pending_refund.take();
    let mut refunds = t.refunds.take().unwrap_or(Refunds {
        amount_refunded: Amount::ZERO,
        amount_fee: Amount::ZERO,
        payments: Vec::new(),
    });
    refunds.amount_refunded = refunds
        .amount_refunded
        .checked_add(payment.amount)
        .unwrap_or(refunds.amount_refunded);
    refunds.amount_fee = refunds
        .amount_fee
        .checked_add(payment.fee)
        .unwrap_or(refunds.amount_fee);
    let note = format!(
        "refunded {} ({} {})",
        payment.amount, payment.id_type, payment.id
    );
    refunds.payments.push(payment);
    t.refunds = Some(refunds);
    match refund {
        Some(refund) if !refund.full => t.status = refund.from,
        _ => {
            t.status = TransactionStatus::Refunded;
            t.completed_at = Some(now);
        }
    }
    t.status_message = None;
    t.updated_at = now;
    t.record(expected, SYSTEM_ACTOR, Some(note));
}

/// The refund could not be made: `error` with `message`, `pending_refund` cleared (the
/// operator may request it again). To be written over the status read.
pub fn abandon(t: &mut Transaction, message: String, now: Timestamp) {
    let expected = t.status;
    t.pending_refund = None;
    t.status = TransactionStatus::Error;
    t.status_message = Some(message.clone());
    t.updated_at = now;
    t.record(expected, SYSTEM_ACTOR, Some(message));
}

#[cfg(test)]
mod tests;
