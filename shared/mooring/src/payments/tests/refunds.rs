//! Refunds over the in-memory adapters: the operator's request (`lifecycle::refund`), the
//! payout workers' automatic refund of a payout refused for good, and the Stellar submitter
//! making each refund once (on the in-memory ledger for withdrawals and SEP-31 payments,
//! through the rail's `refund_deposit` for deposits).

use std::sync::Arc;

use super::deposits::{message, Anchor};
use super::*;
use crate::horizon::{PaymentRecord, SubmitFault};
use crate::lifecycle::refund::{
    commit_refund, prepare_refund, request_refund, RefundError, RefundOrder,
};
use crate::model::{PaymentOutcome, RefundPayment, Refunds, SubmissionState, SYSTEM_ACTOR};
use crate::payments::outgoing::{OutgoingProcessed, OutgoingProcessor};
use crate::payments::withdrawals::{WithdrawalProcessed, WithdrawalProcessor};
use crate::payments::{SubmitOutcome, WorkerError};
use crate::stellar::MuxedAccount;

const ALICE: &str = "operator:alice";

/// The deposits' anchor (channels, the distribution account holding USDC, the rail), with USDC
/// also withdrawable and receivable (SEP-31), and a user (40) holding 100 USDC who pays it.
struct Bench {
    anchor: Anchor,
    payer: Keypair,
}

impl Bench {
    async fn new() -> Self {
        let mut anchor = Anchor::new(2).await;
        let issuer = key(30);
        anchor.assets = serde_json::from_value(serde_json::json!([{
            "code": "USDC",
            "issuer": issuer.account_id().to_string(),
            "distribution_account": anchor.distribution.account_id().to_string(),
            "seps": ["sep24", "sep31"],
            "deposit": {"fee_fixed": 1},
            "withdraw": {"fee_fixed": 1},
            "receive": {"fee_fixed": 1}
        }]))
        .expect("assets");
        let payer = key(40);
        anchor.user(40, true);
        let bench = Bench { anchor, payer };
        let to = bench.payer.account_id().into();
        bench
            .transfer(&issuer, to, "100", Memo::None)
            .await
            .expect("issue");
        bench
    }

    /// A payment of `value` USDC from `from` on the ledger; its hash.
    async fn transfer(
        &self,
        from: &Keypair,
        to: MuxedAccount,
        value: &str,
        memo: Memo,
    ) -> Result<String, String> {
        let ledger = &self.anchor.ledger.inner;
        let signed = payment_from(ledger, from, to, &self.anchor.usdc, value, memo).await;
        match ledger.submit(&signed.envelope_xdr).await {
            Ok(Submission::Applied { .. }) => Ok(signed.hash_hex),
            other => Err(format!("{other:?}")),
        }
    }

    /// A withdrawal (or SEP-31 payment) of `amount_in` USDC waiting for its Stellar payment.
    async fn waiting(&self, kind: Kind, amount_in: &str) -> Transaction {
        let (protocol, status) = match kind {
            Kind::Receive => (Protocol::Sep31, TransactionStatus::PendingSender),
            _ => (Protocol::Sep24, TransactionStatus::PendingUserTransferStart),
        };
        let mut tx = Transaction::new(
            protocol,
            kind,
            status,
            UserKey {
                account: self.payer.account_id(),
                memo: None,
            },
            self.anchor.usdc.clone(),
            Timestamp::from_secs(NOW),
        );
        tx.amount_in = Some(amount(amount_in));
        tx.amount_out = amount(amount_in).checked_sub(amount("1"));
        tx.receiving_account = Some(self.anchor.distribution.account_id());
        tx.receiving_memo_type = Some("hash".into());
        tx.receiving_memo = Some(withdraw_memo(&tx.id));
        self.anchor.store.insert(&tx).await.expect("insert");
        tx
    }

    /// The payer pays `value` USDC for `tx` with its memo, and the watcher sees it.
    async fn pay(&self, tx: &Transaction, value: &str) -> Transaction {
        let to = self.anchor.distribution.account_id().into();
        self.transfer(&self.payer, to, value, memo_of(tx))
            .await
            .expect("paid");
        let watcher = PaymentWatcher::new(
            self.anchor.store.clone(),
            self.anchor.ledger.clone(),
            Arc::new(InMemoryQueue::default()),
            Arc::new(InMemoryQueue::default()),
            Arc::new(ConfiguredFees),
            self.anchor.assets.clone(),
            self.anchor.clock.clone(),
        );
        watcher.watch_payments().await.expect("watch");
        self.anchor.stored(&tx.id).await
    }

    /// A withdrawal of 10 USDC paid with 15: held for its amount.
    async fn held(&self) -> Transaction {
        let tx = self.waiting(Kind::Withdrawal, "10").await;
        let held = self.pay(&tx, "15").await;
        assert_eq!(held.status, TransactionStatus::OnHold);
        held
    }

    async fn refund(
        &self,
        id: &str,
        by: &str,
        amount: Option<Amount>,
    ) -> Result<Transaction, RefundError> {
        let order = RefundOrder {
            by,
            reason: "rejected by compliance",
            amount,
        };
        let requested = request_refund(
            &*self.anchor.store,
            &*self.anchor.queue,
            &*self.anchor.clock,
            id,
            order,
        )
        .await?;
        assert_eq!(requested.queued, Ok(()));
        Ok(requested.transaction)
    }

    /// Delivers every queued message once (as the submissions queue would).
    async fn deliver_queued(&self) -> Vec<Result<SubmitOutcome, WorkerError>> {
        let mut outcomes = Vec::new();
        for m in self.anchor.queue.drain() {
            outcomes.push(self.anchor.submitter().submit(&m).await);
        }
        outcomes
    }

    fn payer_usdc(&self) -> Option<Amount> {
        self.anchor.usdc_of(&self.payer.account_id())
    }

    /// The USDC payments the distribution account made to the payer: the refunds.
    async fn refunds_paid(&self) -> Vec<PaymentRecord> {
        let dist = self.anchor.distribution.account_id();
        self.anchor
            .usdc_payments_to(&self.payer.account_id())
            .await
            .into_iter()
            .filter(|p| p.from == Some(dist))
            .collect()
    }
}

fn refunded(outcome: &Result<SubmitOutcome, WorkerError>) -> String {
    match outcome {
        Ok(SubmitOutcome::Refunded { payment_id }) => payment_id.clone(),
        other => panic!("expected a refund, got {other:?}"),
    }
}

#[tokio::test]
async fn an_on_hold_withdrawal_is_refunded_to_its_payer_with_its_memo_exactly_once() {
    let bench = Bench::new().await;
    let held = bench.held().await;
    assert_eq!(bench.payer_usdc(), Some(amount("85")));

    let requested = bench.refund(&held.id, ALICE, None).await.expect("refund");
    assert_eq!(requested.status, TransactionStatus::PendingStellar);
    let refund = requested.pending_refund.clone().expect("under way");
    assert_eq!(refund.amount, amount("15"), "what arrived, not amount_in");
    assert!(refund.full);
    assert_eq!(requested.amount_in, Some(amount("15")));
    let last = requested.history.last().expect("history");
    assert_eq!(
        (last.by.as_str(), last.from),
        (ALICE, TransactionStatus::OnHold)
    );
    assert!(last
        .note
        .as_deref()
        .is_some_and(|n| n.contains("rejected by compliance")));
    assert_eq!(bench.anchor.queue.messages(), [message_of(&held)]);
    // A second operator finds it under way.
    let second = bench.refund(&held.id, "operator:bob", None).await;
    assert!(
        matches!(&second, Err(RefundError::AlreadyRefunding { by, .. }) if by == ALICE),
        "{second:?}"
    );

    // Delivered twice (a redelivery), then twice at once on two submitters.
    let m = message_of(&held);
    let first = bench.anchor.submitter().submit(&m).await;
    let hash = refunded(&first);
    let again = bench.anchor.submitter().submit(&m).await;
    assert!(
        matches!(again, Ok(SubmitOutcome::Ignored { .. })),
        "{again:?}"
    );
    let (s1, s2) = (bench.anchor.submitter(), bench.anchor.submitter());
    let (a, b) = tokio::join!(s1.submit(&m), s2.submit(&m));
    assert!(matches!(a, Ok(SubmitOutcome::Ignored { .. })), "{a:?}");
    assert!(matches!(b, Ok(SubmitOutcome::Ignored { .. })), "{b:?}");

    let paid = bench.refunds_paid().await;
    assert_eq!(paid.len(), 1, "one refund on the ledger");
    assert_eq!(paid[0].amount, Some(amount("15")));
    assert_eq!(paid[0].transaction_hash, hash);
    assert_eq!(paid[0].memo, memo_of(&held), "the memo the user paid with");
    assert_eq!(bench.payer_usdc(), Some(amount("100")));

    let t = bench.anchor.stored(&held.id).await;
    assert_eq!(t.status, TransactionStatus::Refunded);
    assert_eq!(t.completed_at, Some(Timestamp::from_secs(NOW)));
    assert_eq!(t.pending_refund, None);
    assert_eq!(t.status_message, None);
    assert_eq!(
        t.refunds,
        Some(Refunds {
            amount_refunded: amount("15"),
            amount_fee: Amount::ZERO,
            payments: vec![RefundPayment {
                id: hash,
                id_type: "stellar".into(),
                amount: amount("15"),
                fee: Amount::ZERO,
            }],
        })
    );
    assert_eq!(
        t.stellar_transaction_id, held.stellar_transaction_id,
        "still the payment that came in"
    );
    let after = bench.refund(&held.id, ALICE, None).await;
    assert!(
        matches!(after, Err(RefundError::NotRefundable { .. })),
        "{after:?}"
    );
    bench.anchor.assert_channels_released().await;
}

fn message_of(tx: &Transaction) -> QueueMessage {
    QueueMessage::new(tx.id.clone(), tx.kind)
}

#[tokio::test]
async fn a_refund_whose_answer_was_lost_is_looked_up_and_sent_once() {
    let bench = Bench::new().await;
    let held = bench.held().await;
    bench.refund(&held.id, ALICE, None).await.expect("refund");
    let m = message_of(&held);
    bench
        .anchor
        .ledger
        .inner
        .push_submit_fault(SubmitFault::TimeoutWithoutApplying);
    let lost = bench.anchor.submitter().submit(&m).await;
    assert!(matches!(lost, Err(WorkerError::Pending(_))), "{lost:?}");
    let signed = bench.anchor.stored(&held.id).await;
    assert_eq!(signed.status, TransactionStatus::PendingStellar);
    assert_eq!(signed.submission, SubmissionState::Signed);
    assert!(signed.status_message.is_some());

    // Redelivered to two submitters at once: the stored envelope, sent once.
    let (s1, s2) = (bench.anchor.submitter(), bench.anchor.submitter());
    let (a, b) = tokio::join!(s1.submit(&m), s2.submit(&m));
    let hashes: Vec<String> = [a, b]
        .iter()
        .filter(|o| matches!(o, Ok(SubmitOutcome::Refunded { .. })))
        .map(refunded)
        .collect();
    assert_eq!(hashes.len(), 1, "one delivery settles it");
    assert_eq!(Some(&hashes[0]), signed.envelope_hash.as_ref());
    assert_eq!(bench.refunds_paid().await.len(), 1);
    let t = bench.anchor.stored(&held.id).await;
    assert_eq!(t.status, TransactionStatus::Refunded);
    assert_eq!(t.status_message, None);
}

#[tokio::test]
async fn two_operators_refunding_at_once_request_one_refund() {
    let store = Arc::new(YieldingStore::default());
    let queue = InMemoryQueue::default();
    let clock = FixedClock::at(NOW);
    let payer = key(41).account_id();
    let mut tx = Transaction::new(
        Protocol::Sep24,
        Kind::Withdrawal,
        TransactionStatus::OnHold,
        UserKey {
            account: payer,
            memo: None,
        },
        Asset::Native,
        Timestamp::from_secs(NOW),
    );
    tx.amount_in = Some(amount("10"));
    tx.from = Some(payer.to_string());
    tx.stellar_transaction_id = Some("ab".repeat(32));
    tx.receiving_memo_type = Some("id".into());
    tx.receiving_memo = Some("7".into());
    store.insert(&tx).await.expect("insert");
    store
        .record(&IncomingPayment {
            id: "op-1".into(),
            account: key(20).account_id(),
            transaction_hash: "ab".repeat(32),
            from: Some(payer),
            asset: Asset::Native,
            amount: amount("12"),
            off_chain: None,
            memo_type: "id".into(),
            memo: Some("7".into()),
            created_at: Timestamp::from_secs(NOW),
            outcome: PaymentOutcome::WrongAmount,
            transaction_id: Some(tx.id.clone()),
            note: None,
            recorded_at: Timestamp::from_secs(NOW),
        })
        .await
        .expect("record");
    let order = |by| RefundOrder {
        by,
        reason: "wrong amount",
        amount: None,
    };
    let (a, b) = tokio::join!(
        request_refund(&*store, &queue, &clock, &tx.id, order(ALICE)),
        request_refund(&*store, &queue, &clock, &tx.id, order("operator:bob")),
    );
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        other => panic!("one request must win: {other:?}"),
    };
    assert_eq!(won.queued, Ok(()));
    let winner = won
        .transaction
        .pending_refund
        .expect("under way")
        .requested_by;
    assert!(
        matches!(&lost, RefundError::AlreadyRefunding { by, .. } if *by == winner),
        "{lost:?}"
    );
    assert_eq!(queue.messages().len(), 1, "queued once");
    let stored = TransactionStore::get(&*store, &tx.id)
        .await
        .unwrap()
        .unwrap();
    let refund = stored.pending_refund.expect("stored");
    assert_eq!(refund.amount, amount("12"));
    let to = refund.stellar.expect("on Stellar");
    assert_eq!(to.destination, payer.to_string());
    assert_eq!(
        (to.memo_type.as_str(), to.memo.as_deref()),
        ("id", Some("7"))
    );
    assert_eq!(
        stored
            .history
            .iter()
            .filter(|e| e.by.starts_with("operator:"))
            .count(),
        1,
        "one request recorded"
    );
}

#[tokio::test]
async fn the_refund_memo_the_wallet_gave_is_used() {
    let bench = Bench::new().await;
    let mut tx = bench.waiting(Kind::Withdrawal, "10").await;
    tx.refund_memo = Some("424242".into());
    tx.refund_memo_type = Some("id".into());
    let status = tx.status;
    bench
        .anchor
        .store
        .update(&mut tx, status)
        .await
        .expect("memo");
    let held = bench.pay(&tx, "15").await;
    bench.refund(&held.id, ALICE, None).await.expect("refund");
    refunded(&bench.deliver_queued().await[0]);
    let paid = bench.refunds_paid().await;
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].memo, Memo::Id(424_242));
}

#[tokio::test]
async fn a_partial_refund_keeps_the_payment_on_hold_and_the_rest_ends_it_refunded() {
    let bench = Bench::new().await;
    let held = bench.held().await;
    let too_much = bench.refund(&held.id, ALICE, Some(amount("20"))).await;
    assert!(
        matches!(too_much, Err(RefundError::TooMuch { .. })),
        "{too_much:?}"
    );
    let part = bench
        .refund(&held.id, ALICE, Some(amount("5")))
        .await
        .expect("part");
    assert!(!part.pending_refund.as_ref().expect("under way").full);
    let first = refunded(&bench.deliver_queued().await[0]);
    let t = bench.anchor.stored(&held.id).await;
    assert_eq!(t.status, TransactionStatus::OnHold, "back where it was");
    assert_eq!(
        t.refunds.as_ref().map(|r| r.amount_refunded),
        Some(amount("5"))
    );

    let rest = bench.refund(&held.id, ALICE, None).await.expect("rest");
    assert_eq!(
        rest.pending_refund.as_ref().map(|r| r.amount),
        Some(amount("10"))
    );
    let second = refunded(&bench.deliver_queued().await[0]);
    let t = bench.anchor.stored(&held.id).await;
    assert_eq!(t.status, TransactionStatus::Refunded);
    let refunds = t.refunds.expect("refunds");
    assert_eq!(refunds.amount_refunded, amount("15"));
    let ids: Vec<&str> = refunds.payments.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    assert_eq!(bench.payer_usdc(), Some(amount("100")));
    let nothing = bench.refund(&held.id, ALICE, None).await;
    assert!(
        matches!(nothing, Err(RefundError::NotRefundable { .. })),
        "{nothing:?}"
    );
}

#[tokio::test]
async fn a_refund_that_fails_on_the_ledger_ends_in_error_and_can_be_requested_again() {
    let bench = Bench::new().await;
    let held = bench.held().await;
    bench.refund(&held.id, ALICE, None).await.expect("refund");
    bench
        .anchor
        .ledger
        .inner
        .reject_next_submission("tx_failed", &["op_no_trust"]);
    let outcomes = bench.deliver_queued().await;
    assert!(
        matches!(outcomes[0], Ok(SubmitOutcome::Failed { .. })),
        "{outcomes:?}"
    );
    let t = bench.anchor.stored(&held.id).await;
    assert_eq!(t.status, TransactionStatus::Error);
    assert_eq!(t.pending_refund, None);
    let message = t.status_message.clone().unwrap_or_default();
    assert!(
        message.contains("refund could not be sent") && message.contains("op_no_trust"),
        "{message}"
    );

    bench.refund(&held.id, ALICE, None).await.expect("again");
    refunded(&bench.deliver_queued().await[0]);
    assert_eq!(
        bench.anchor.stored(&held.id).await.status,
        TransactionStatus::Refunded
    );
    assert_eq!(bench.refunds_paid().await.len(), 1);
}

#[tokio::test]
async fn a_payout_the_rail_refuses_for_good_is_refunded_to_the_user() {
    let bench = Bench::new().await;
    let tx = bench.waiting(Kind::Withdrawal, "10").await;
    let paid = bench.pay(&tx, "10").await;
    assert_eq!(paid.status, TransactionStatus::PendingAnchor);
    bench.anchor.rail.answer(Err(IntegrationError::invalid(
        "the bank refused the payout account ****0000: account closed",
    )));
    let processor = WithdrawalProcessor::new(
        bench.anchor.store.clone(),
        bench.anchor.rail.clone(),
        bench.anchor.clock.clone(),
    )
    .with_refunds(bench.anchor.queue.clone());
    let outcome = processor.process_withdrawal(&message_of(&tx)).await;
    assert!(
        matches!(outcome, Ok(WithdrawalProcessed::Refunding)),
        "{outcome:?}"
    );
    assert_eq!(bench.anchor.rail.calls(&tx.id), 1);
    let refunding = bench.anchor.stored(&tx.id).await;
    assert_eq!(refunding.status, TransactionStatus::PendingStellar);
    assert!(refunding
        .status_message
        .as_deref()
        .is_some_and(|m| m.contains("account closed") && m.contains("being refunded")));
    let refund = refunding.pending_refund.clone().expect("under way");
    assert_eq!(
        (refund.amount, refund.requested_by.as_str()),
        (amount("10"), SYSTEM_ACTOR)
    );
    assert_eq!(bench.anchor.queue.messages(), [message_of(&tx)]);

    refunded(&bench.deliver_queued().await[0]);
    assert_eq!(
        bench.anchor.stored(&tx.id).await.status,
        TransactionStatus::Refunded
    );
    assert_eq!(bench.payer_usdc(), Some(amount("100")));
    // The withdrawals message again: nothing to pay, nothing to refund.
    let again = processor.process_withdrawal(&message_of(&tx)).await;
    assert!(
        matches!(again, Ok(WithdrawalProcessed::NothingToDo { .. })),
        "{again:?}"
    );
    assert_eq!(bench.anchor.rail.calls(&tx.id), 1);
    assert_eq!(bench.refunds_paid().await.len(), 1);
}

#[tokio::test]
async fn a_sep31_payout_refused_for_good_is_refunded_to_the_sending_anchor() {
    let bench = Bench::new().await;
    let tx = bench.waiting(Kind::Receive, "20").await;
    let paid = bench.pay(&tx, "20").await;
    assert_eq!(paid.status, TransactionStatus::PendingReceiver);
    bench
        .anchor
        .rail
        .answer_outgoing(Err(IntegrationError::invalid(
            "the receiver's bank is closed",
        )));
    let processor = OutgoingProcessor::new(
        bench.anchor.store.clone(),
        bench.anchor.rail.clone(),
        bench.anchor.clock.clone(),
    )
    .with_refunds(bench.anchor.queue.clone());
    let outcome = processor.process_outgoing(&message_of(&tx)).await;
    assert!(
        matches!(outcome, Ok(OutgoingProcessed::Refunding)),
        "{outcome:?}"
    );
    refunded(&bench.deliver_queued().await[0]);
    let t = bench.anchor.stored(&tx.id).await;
    assert_eq!(t.status, TransactionStatus::Refunded);
    assert_eq!(
        t.refunds.as_ref().map(|r| r.amount_refunded),
        Some(amount("20"))
    );
    let paid = bench.refunds_paid().await;
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].memo, memo_of(&tx));
}

#[tokio::test]
async fn the_deposit_poller_sends_a_refund_whose_message_was_lost() {
    let bench = Bench::new().await;
    let held = bench.held().await;
    let flaky = FlakyQueue::default();
    flaky.fail_at.store(1, std::sync::atomic::Ordering::SeqCst);
    let order = RefundOrder {
        by: ALICE,
        reason: "wrong amount",
        amount: None,
    };
    let anchor = &bench.anchor;
    let requested = request_refund(&*anchor.store, &flaky, &*anchor.clock, &held.id, order)
        .await
        .expect("requested all the same");
    assert!(requested.queued.is_err());
    assert_eq!(
        requested.transaction.status,
        TransactionStatus::PendingStellar
    );
    assert!(flaky.inner.messages().is_empty(), "lost");

    let report = anchor.poller().poll_deposits().await.expect("poll");
    assert_eq!(report.requeued, 0, "recent");
    anchor.clock.set(NOW + 301);
    let report = anchor.poller().poll_deposits().await.expect("poll");
    assert_eq!(report.requeued, 1);
    refunded(&bench.deliver_queued().await[0]);
    assert_eq!(
        anchor.stored(&held.id).await.status,
        TransactionStatus::Refunded
    );
}

// ------------------------------------------------------------------------------------------
// Deposits: off chain, through the rail's `refund_deposit`
// ------------------------------------------------------------------------------------------

/// A deposit whose funds (1 USDC) arrived but do not cover its 1 USDC fee: `error`.
async fn refused_deposit(anchor: &Anchor) -> Transaction {
    let (id, _) = anchor.underpaid_deposit(41).await;
    let t = anchor.stored(&id).await;
    assert_eq!(t.status, TransactionStatus::Error);
    t
}

#[tokio::test]
async fn a_deposit_in_error_after_its_funds_arrived_is_refunded_off_chain_once() {
    let bench = Bench::new().await;
    let anchor = &bench.anchor;
    let deposit = refused_deposit(anchor).await;
    anchor.queue.drain();
    let sent = anchor.submitted().len();
    let requested = bench
        .refund(&deposit.id, ALICE, None)
        .await
        .expect("refund");
    assert_eq!(requested.status, TransactionStatus::PendingAnchor);
    let refund = requested.pending_refund.clone().expect("under way");
    assert_eq!(
        (refund.amount, refund.stellar.is_none()),
        (amount("1"), true)
    );
    let m = message(&deposit.id);
    assert_eq!(anchor.queue.drain(), std::slice::from_ref(&m));

    // Two deliveries at once: one claims and calls the rail, the other waits or finds it done.
    let (s1, s2) = (anchor.submitter(), anchor.submitter());
    let (a, b) = tokio::join!(s1.submit(&m), s2.submit(&m));
    let made: Vec<String> = [&a, &b]
        .into_iter()
        .filter(|o| matches!(o, Ok(SubmitOutcome::Refunded { .. })))
        .map(refunded)
        .collect();
    assert_eq!(made.len(), 1, "{a:?} {b:?}");
    assert_eq!(anchor.rail.refund_calls(&deposit.id), 1);
    let again = anchor.submitter().submit(&m).await;
    assert!(
        matches!(again, Ok(SubmitOutcome::Ignored { .. })),
        "{again:?}"
    );
    assert_eq!(
        anchor.rail.refund_calls(&deposit.id),
        1,
        "the hook is called once"
    );

    let t = anchor.stored(&deposit.id).await;
    assert_eq!(t.status, TransactionStatus::Refunded);
    let payment = &t.refunds.as_ref().expect("refunds").payments[0];
    assert_eq!(
        (
            payment.id.as_str(),
            payment.id_type.as_str(),
            payment.amount
        ),
        (made[0].as_str(), "external", amount("1"))
    );
    assert_eq!(anchor.submitted().len(), sent, "nothing sent on Stellar");
}

#[tokio::test]
async fn a_deposit_refund_the_rail_cannot_make_now_is_retried_and_one_it_refuses_is_an_error() {
    let bench = Bench::new().await;
    let anchor = &bench.anchor;
    let deposit = refused_deposit(anchor).await;
    bench
        .refund(&deposit.id, ALICE, None)
        .await
        .expect("refund");
    let m = message(&deposit.id);
    anchor
        .rail
        .answer_refund(Err(IntegrationError::Unavailable("bank down".into())));
    let down = anchor.submitter().submit(&m).await;
    assert!(matches!(down, Err(WorkerError::Integration(_))), "{down:?}");
    let t = anchor.stored(&deposit.id).await;
    assert_eq!(t.status, TransactionStatus::PendingAnchor);
    assert_eq!(
        t.pending_refund.and_then(|r| r.started_at),
        None,
        "claim released"
    );
    anchor.rail.answer_refund(Err(IntegrationError::invalid(
        "the sender's account is closed",
    )));
    let refused = anchor.submitter().submit(&m).await;
    assert!(
        matches!(refused, Ok(SubmitOutcome::Failed { .. })),
        "{refused:?}"
    );
    assert_eq!(anchor.rail.refund_calls(&deposit.id), 2);
    let t = anchor.stored(&deposit.id).await;
    assert_eq!(t.status, TransactionStatus::Error);
    assert_eq!(t.pending_refund, None);
    assert!(t
        .status_message
        .as_deref()
        .is_some_and(|m| m.contains("account is closed")));
    // The operator may try again.
    bench.refund(&deposit.id, ALICE, None).await.expect("again");
}

#[tokio::test]
async fn a_claimed_deposit_refund_that_never_reported_back_goes_to_the_operator() {
    let bench = Bench::new().await;
    let anchor = &bench.anchor;
    let deposit = refused_deposit(anchor).await;
    let mut claimed = bench
        .refund(&deposit.id, ALICE, None)
        .await
        .expect("refund");
    if let Some(refund) = claimed.pending_refund.as_mut() {
        refund.started_at = Some(Timestamp::from_secs(NOW));
    }
    let status = claimed.status;
    anchor
        .store
        .update(&mut claimed, status)
        .await
        .expect("claim");
    let m = message(&deposit.id);
    anchor.clock.set(NOW + 10);
    let busy = anchor.submitter().submit(&m).await;
    assert!(matches!(busy, Err(WorkerError::Pending(_))), "{busy:?}");
    anchor.clock.set(NOW + 301);
    let handed = anchor.submitter().submit(&m).await;
    assert!(
        matches!(handed, Ok(SubmitOutcome::Failed { .. })),
        "{handed:?}"
    );
    assert_eq!(
        anchor.rail.refund_calls(&deposit.id),
        0,
        "never called again"
    );
    let t = anchor.stored(&deposit.id).await;
    assert_eq!(t.status, TransactionStatus::Error);
    assert!(t
        .status_message
        .as_deref()
        .is_some_and(|m| m.contains("no recorded outcome")));
}

#[tokio::test]
async fn a_console_prepares_a_refund_shows_it_and_commits_it_unless_the_transaction_changed() {
    let bench = Bench::new().await;
    let held = bench.held().await;
    let anchor = &bench.anchor;
    let order = RefundOrder {
        by: ALICE,
        reason: "rejected",
        amount: None,
    };
    let blank = RefundOrder {
        reason: " ",
        ..order
    };
    let no_reason = prepare_refund(&*anchor.store, &*anchor.clock, &held, blank).await;
    assert!(
        matches!(no_reason, Err(RefundError::NoReason)),
        "{no_reason:?}"
    );
    let plan = prepare_refund(&*anchor.store, &*anchor.clock, &held, order)
        .await
        .expect("plan");
    // What the console shows before it asks: how much, to whom, with which memo.
    assert_eq!(
        (plan.refund.amount, plan.received),
        (amount("15"), amount("15"))
    );
    let to = plan.refund.stellar.clone().expect("on Stellar");
    assert_eq!(to.destination, bench.payer.account_id().to_string());
    assert_eq!(anchor.stored(&held.id).await, held, "nothing written yet");

    // Someone else changed it meanwhile: the stale plan is not written.
    let mut changed = held.clone();
    changed.status_message = Some("looked at".into());
    anchor
        .store
        .update(&mut changed, TransactionStatus::OnHold)
        .await
        .expect("change");
    let stale = commit_refund(
        &*anchor.store,
        &*anchor.queue,
        &*anchor.clock,
        &held,
        plan.clone(),
    )
    .await;
    assert!(matches!(stale, Err(RefundError::Conflict)), "{stale:?}");
    assert!(anchor.queue.messages().is_empty());

    let done = commit_refund(
        &*anchor.store,
        &*anchor.queue,
        &*anchor.clock,
        &changed,
        plan,
    )
    .await
    .expect("commit");
    assert_eq!(done.queued, Ok(()));
    assert_eq!(done.transaction.status, TransactionStatus::PendingStellar);
    assert_eq!(anchor.queue.messages(), [message_of(&held)]);
    let missing = request_refund(
        &*anchor.store,
        &*anchor.queue,
        &*anchor.clock,
        "no-such-id",
        order,
    )
    .await;
    assert!(
        matches!(missing, Err(RefundError::NotFound(_))),
        "{missing:?}"
    );
}
