//! What can be refunded, how much, where to: the rules of [`super`] on transactions as the
//! workers leave them.

use super::*;
use crate::model::{HistoryEntry, Protocol, UserKey};
use crate::stellar::{Asset, Keypair};

const NOW: i64 = 1_700_000_000_000;

fn amount(s: &str) -> Amount {
    s.parse().expect("amount")
}

fn payer() -> crate::stellar::AccountId {
    Keypair::from_seed_bytes([7; 32]).account_id()
}

fn order(amount: Option<Amount>) -> RefundOrder<'static> {
    RefundOrder {
        by: "operator:alice",
        reason: "rejected",
        amount,
    }
}

fn now() -> Timestamp {
    Timestamp::from_millis(NOW)
}

/// A transaction of `kind` in `status`, paid 10 (`amount_in`) by the payer with memo id 7.
fn paid(kind: Kind, status: TransactionStatus) -> Transaction {
    let mut t = Transaction::new(
        Protocol::Sep24,
        kind,
        status,
        UserKey {
            account: payer(),
            memo: None,
        },
        Asset::Native,
        now(),
    );
    t.amount_in = Some(amount("10"));
    if !kind.is_deposit() {
        t.stellar_transaction_id = Some("ab".repeat(32));
        t.from = Some(payer().to_string());
        t.receiving_memo_type = Some("id".into());
        t.receiving_memo = Some("7".into());
    }
    t
}

/// `t`, moved into `error` from `from` (as its history says).
fn errored_from(mut t: Transaction, from: TransactionStatus) -> Transaction {
    t.status = TransactionStatus::Error;
    t.history.push(HistoryEntry {
        at: now(),
        version: 1,
        from,
        status: TransactionStatus::Error,
        by: SYSTEM_ACTOR.into(),
        note: None,
    });
    t
}

fn why_not(t: &Transaction) -> String {
    match refundable(t) {
        Err(RefundError::NotRefundable { why, .. }) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn withdrawals_and_sep31_payments_that_arrived_can_be_refunded_from_the_operators_statuses() {
    use TransactionStatus as S;
    for (kind, status) in [
        (Kind::Withdrawal, S::OnHold),
        (Kind::Withdrawal, S::Error),
        (Kind::Withdrawal, S::PendingAnchor),
        (Kind::WithdrawalExchange, S::OnHold),
        (Kind::Receive, S::OnHold),
        (Kind::Receive, S::Error),
        (Kind::Receive, S::PendingReceiver),
        (Kind::Receive, S::PendingCustomerInfoUpdate),
        (Kind::Receive, S::PendingTransactionInfoUpdate),
    ] {
        assert_eq!(refundable(&paid(kind, status)), Ok(()), "{kind:?} {status}");
    }
    for (kind, status) in [
        (Kind::Withdrawal, S::Completed),
        (Kind::Withdrawal, S::PendingExternal),
        (Kind::Withdrawal, S::PendingStellar),
        (Kind::Withdrawal, S::Refunded),
        (Kind::Withdrawal, S::PendingReceiver),
        (Kind::Receive, S::PendingAnchor),
        (Kind::Receive, S::Expired),
    ] {
        why_not(&paid(kind, status));
    }
}

#[test]
fn a_payment_that_never_arrived_or_whose_payout_is_under_way_is_not_refunded() {
    let mut unpaid = paid(Kind::Withdrawal, TransactionStatus::Error);
    unpaid.stellar_transaction_id = None;
    assert!(why_not(&unpaid).contains("never arrived"));
    let mut claimed = paid(Kind::Withdrawal, TransactionStatus::PendingAnchor);
    claimed.payout_started_at = Some(now());
    assert!(why_not(&claimed).contains("payout is under way"));
    let mut under_way = paid(Kind::Withdrawal, TransactionStatus::Error);
    let plan = plan(&under_way, None, order(Some(amount("1"))), now()).expect("plan");
    mark(&mut under_way, plan, REFUNDING_MESSAGE.into(), now());
    assert!(matches!(
        refundable(&under_way),
        Err(RefundError::AlreadyRefunding { by, .. }) if by == "operator:alice"
    ));
}

#[test]
fn a_deposit_is_refunded_only_when_its_funds_arrived_and_nothing_went_out_on_stellar() {
    use TransactionStatus as S;
    for status in [S::OnHold, S::PendingTrust, S::PendingAnchor] {
        assert_eq!(refundable(&paid(Kind::Deposit, status)), Ok(()), "{status}");
    }
    // In error: only after its funds arrived, as the history tells.
    for from in [
        S::PendingUserTransferStart,
        S::PendingExternal,
        S::PendingStellar,
    ] {
        let t = errored_from(paid(Kind::Deposit, S::PendingAnchor), from);
        assert_eq!(refundable(&t), Ok(()), "error from {from}");
    }
    for from in [S::PendingCustomerInfoUpdate, S::Incomplete] {
        let t = errored_from(paid(Kind::DepositExchange, S::PendingAnchor), from);
        assert!(why_not(&t).contains("funds arrived"), "error from {from}");
    }
    assert!(why_not(&paid(Kind::Deposit, S::Error)).contains("funds arrived"));
    // Its Stellar payment may be on the network, or landed.
    let mut signed = paid(Kind::Deposit, S::PendingAnchor);
    signed.submission = SubmissionState::Signed;
    assert!(why_not(&signed).contains("Stellar payment was sent"));
    let mut completed = paid(Kind::Deposit, S::Error);
    completed.stellar_transaction_id = Some("cd".repeat(32));
    why_not(&completed);
    why_not(&paid(Kind::Deposit, S::PendingUserTransferStart));
}

#[test]
fn the_refund_goes_to_the_payer_with_the_refund_memo_else_the_memo_paid_with() {
    let t = paid(Kind::Withdrawal, TransactionStatus::Error);
    let planned = plan(&t, None, order(None), now()).expect("plan");
    let to = planned.refund.stellar.clone().expect("on Stellar");
    assert_eq!(to.destination, payer().to_string());
    assert_eq!(
        (to.memo_type.as_str(), to.memo.as_deref()),
        ("id", Some("7"))
    );
    assert_eq!(
        (planned.refund.amount, planned.refund.full),
        (amount("10"), true)
    );

    let mut with_memo = t.clone();
    with_memo.refund_memo_type = Some("text".into());
    with_memo.refund_memo = Some("refund 42".into());
    let to = plan(&with_memo, None, order(None), now())
        .expect("plan")
        .refund
        .stellar
        .expect("on Stellar");
    assert_eq!(
        (to.memo_type.as_str(), to.memo.as_deref()),
        ("text", Some("refund 42"))
    );

    let mut bad_memo = t.clone();
    bad_memo.refund_memo_type = Some("id".into());
    bad_memo.refund_memo = Some("not a number".into());
    assert!(matches!(
        plan(&bad_memo, None, order(None), now()),
        Err(RefundError::Unpayable(why)) if why.contains("refund memo")
    ));
    let mut nobody = t.clone();
    nobody.from = None;
    assert!(matches!(
        plan(&nobody, None, order(None), now()),
        Err(RefundError::Unpayable(_))
    ));

    // A deposit goes back off chain.
    let deposit = paid(Kind::Deposit, TransactionStatus::OnHold);
    let planned = plan(&deposit, None, order(None), now()).expect("plan");
    assert_eq!(planned.refund.stellar, None);
}

#[test]
fn the_recorded_payment_says_how_much_arrived_from_whom_with_which_memo() {
    let t = paid(Kind::Withdrawal, TransactionStatus::OnHold);
    assert!(
        matches!(
            plan(&t, None, order(None), now()),
            Err(RefundError::Unpayable(_))
        ),
        "held for its amount: the payment must be on record"
    );
    let other = Keypair::from_seed_bytes([8; 32]).account_id();
    let recorded = |outcome, hash: &str| IncomingPayment {
        id: format!("op-{hash}"),
        account: Keypair::from_seed_bytes([9; 32]).account_id(),
        transaction_hash: hash.to_owned(),
        from: Some(other),
        asset: Asset::Native,
        amount: amount("12.5"),
        off_chain: None,
        memo_type: "none".into(),
        memo: None,
        created_at: now(),
        outcome,
        transaction_id: Some(t.id.clone()),
        note: None,
        recorded_at: now(),
    };
    let payments = [
        recorded(PaymentOutcome::Duplicate, &"ab".repeat(32)),
        recorded(PaymentOutcome::WrongAmount, &"ab".repeat(32)),
        recorded(PaymentOutcome::WrongAmount, &"ef".repeat(32)),
    ];
    let payment = paying_payment(&t, &payments);
    assert_eq!(payment, Some(&payments[1]));
    let planned = plan(&t, payment, order(None), now()).expect("plan");
    assert_eq!(planned.received, amount("12.5"));
    assert_eq!(planned.refund.amount, amount("12.5"));
    let to = planned.refund.stellar.expect("on Stellar");
    assert_eq!(to.destination, other.to_string());
    assert_eq!((to.memo_type.as_str(), to.memo), ("none", None));
    assert_eq!(sep_memo("none", None), Ok(Memo::None));

    let mut marked = t.clone();
    let planned = plan(&t, payment, order(None), now()).expect("plan");
    mark(&mut marked, planned, REFUNDING_MESSAGE.into(), now());
    assert_eq!(
        marked.amount_in,
        Some(amount("12.5")),
        "amount_in is what arrived"
    );
    assert_eq!(marked.status, TransactionStatus::PendingStellar);
}

#[test]
fn amounts_are_checked_against_what_is_left() {
    let mut t = paid(Kind::Withdrawal, TransactionStatus::OnHold);
    t.status = TransactionStatus::Error;
    assert_eq!(
        plan(&t, None, order(Some(Amount::ZERO)), now()),
        Err(RefundError::NotPositive)
    );
    assert!(matches!(
        plan(&t, None, order(Some(amount("10.0000001"))), now()),
        Err(RefundError::TooMuch { .. })
    ));
    // Partly refunded already: the rest.
    let part = plan(&t, None, order(Some(amount("4"))), now()).expect("part");
    assert!(!part.refund.full);
    let mut refunding = t.clone();
    mark(&mut refunding, part, REFUNDING_MESSAGE.into(), now());
    let payment = RefundPayment {
        id: "h1".into(),
        id_type: "stellar".into(),
        amount: amount("4"),
        fee: Amount::ZERO,
    };
    settle(&mut refunding, payment, now());
    assert_eq!(
        refunding.status,
        TransactionStatus::Error,
        "back where it was"
    );
    assert_eq!(refunding.pending_refund, None);
    let rest = plan(&refunding, None, order(None), now()).expect("rest");
    assert_eq!((rest.refund.amount, rest.refund.full), (amount("6"), true));
    assert_eq!(
        plan(&refunding, None, order(Some(amount("6"))), now()).map(|p| p.refund.full),
        Ok(true),
        "the exact rest is full"
    );
    // Only the operator's statuses take a partial refund.
    let waiting = paid(Kind::Withdrawal, TransactionStatus::PendingAnchor);
    assert!(matches!(
        plan(&waiting, None, order(Some(amount("1"))), now()),
        Err(RefundError::NotRefundable { .. })
    ));

    let mut done = refunding.clone();
    let rest = plan(&done, None, order(None), now()).expect("rest");
    mark(&mut done, rest, REFUNDING_MESSAGE.into(), now());
    let payment = RefundPayment {
        id: "h2".into(),
        id_type: "stellar".into(),
        amount: amount("6"),
        fee: Amount::ZERO,
    };
    settle(&mut done, payment, now());
    assert_eq!(done.status, TransactionStatus::Refunded);
    assert_eq!(done.completed_at, Some(now()));
    let refunds = done.refunds.clone().expect("refunds");
    assert_eq!(
        (refunds.amount_refunded, refunds.payments.len()),
        (amount("10"), 2)
    );
    assert!(matches!(
        plan(&done, None, order(None), now()),
        Err(RefundError::NothingLeft { .. })
    ));
}

#[test]
fn a_refund_that_cannot_be_made_ends_in_error_and_says_why() {
    let mut t = paid(Kind::Withdrawal, TransactionStatus::OnHold);
    let planned = plan(&t, None, order(None), now());
    // Held for its amount without a recorded payment: refused before anything is written.
    assert!(planned.is_err());
    t.status = TransactionStatus::Error;
    let planned = plan(&t, None, order(None), now()).expect("plan");
    mark(&mut t, planned, REFUNDING_MESSAGE.into(), now());
    abandon(
        &mut t,
        "The refund could not be sent: no trustline".into(),
        now(),
    );
    assert_eq!(t.status, TransactionStatus::Error);
    assert_eq!(t.pending_refund, None);
    assert_eq!(refundable(&t), Ok(()), "it may be requested again");
    let last = t.history.last().expect("history");
    assert_eq!(last.by, SYSTEM_ACTOR);
    assert!(last
        .note
        .as_deref()
        .is_some_and(|n| n.contains("no trustline")));
}
