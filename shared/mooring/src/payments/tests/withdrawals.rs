//! The withdrawal side of money movement over the in-memory adapters: the payment watcher on the
//! in-memory ledger, and the withdrawal processor.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::*;
use crate::config::AssetConfig;
use crate::horizon::{Horizon, PaymentKind, PaymentRecord};
use crate::integrations::{IntegrationError, WithdrawalOutcome};
use crate::model::{Kind, PaymentOutcome, Transaction, TransactionStatus};
use crate::payments::watcher::{cursor_name, history_name, PaymentWatcher, START_CURSOR};
use crate::payments::withdrawals::*;
use crate::payments::WorkerError;
use crate::queue::{InMemoryQueue, QueueMessage};
use crate::stellar::{build_signed, Asset, Keypair, Memo, Outgoing, PaymentSpec};
use crate::store::{Cursors, InMemoryStore, IncomingPayments, TransactionStore};
use crate::time::Timestamp;

// ------------------------------------------------------------------------------------------
// Payment watcher
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_real_payment_matches_its_withdrawal_and_is_queued_once() {
    let scene = Scene::<InMemoryStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    let watcher = scene.watcher(queue.clone());
    // The first run reads the account's payments from the oldest: an old payment that matches
    // nothing is the account's history, recorded but not for the operator.
    let old = scene.record(
        PaymentKind::Payment,
        &scene.usdc,
        "5",
        Memo::Text("old".into()),
    );
    let first = watcher.watch_payments().await.expect("first run");
    assert_eq!(
        (first.records, first.history, first.needing_attention),
        (1, 1, 0)
    );
    assert_eq!(
        scene
            .store
            .get_payment(&old.id)
            .await
            .unwrap()
            .map(|p| p.outcome),
        Some(PaymentOutcome::History)
    );
    assert!(scene.attention().await.is_empty());
    let cursor = scene
        .store
        .cursor(&cursor_name(&scene.dist()))
        .await
        .expect("cursor")
        .expect("saved");
    assert_eq!(cursor.value, old.paging_token);

    // The issuer funds the user, the user pays the anchor 99 USDC for a 100 USDC withdrawal.
    let tx = scene.withdrawal("100").await;
    let issue = PaymentSpec {
        source: scene.issuer.account_id(),
        sequence: scene
            .horizon
            .account(&scene.issuer.account_id())
            .await
            .unwrap()
            .unwrap()
            .sequence
            + 1,
        fee_per_op: 100,
        time_bounds: (0, 0),
        memo: Memo::None,
        operation_source: scene.issuer.account_id(),
        operations: vec![Outgoing::Payment {
            destination: scene.user.account_id().into(),
            asset: scene.usdc.clone(),
            amount: amount("500"),
        }],
    };
    let signed = build_signed(&issue, scene.horizon.network(), &[&scene.issuer]).unwrap();
    assert!(matches!(
        scene.horizon.submit(&signed.envelope_xdr).await.unwrap(),
        crate::horizon::Submission::Applied { .. }
    ));
    let payment = PaymentSpec {
        source: scene.user.account_id(),
        sequence: scene
            .horizon
            .account(&scene.user.account_id())
            .await
            .unwrap()
            .unwrap()
            .sequence
            + 1,
        fee_per_op: 100,
        time_bounds: (0, 0),
        memo: memo_of(&tx),
        operation_source: scene.user.account_id(),
        operations: vec![Outgoing::Payment {
            destination: scene.dist().into(),
            asset: scene.usdc.clone(),
            amount: amount("99"),
        }],
    };
    let paid = build_signed(&payment, scene.horizon.network(), &[&scene.user]).unwrap();
    assert!(matches!(
        scene.horizon.submit(&paid.envelope_xdr).await.unwrap(),
        crate::horizon::Submission::Applied { .. }
    ));

    let report = watcher.watch_payments().await.expect("run");
    assert_eq!((report.matched, report.needing_attention), (1, 0));
    let tx = scene.get(&tx.id).await;
    assert_eq!(tx.status, TransactionStatus::PendingAnchor);
    assert_eq!(tx.amount_in, Some(amount("99")));
    assert_eq!(tx.fee_details.as_ref().map(|f| f.total), Some(amount("1")));
    assert_eq!(tx.amount_out, Some(amount("98")));
    assert_eq!(
        tx.stellar_transaction_id.as_deref(),
        Some(paid.hash_hex.as_str())
    );
    assert_eq!(tx.from, Some(scene.user.account_id().to_string()));
    assert_eq!(
        queue.messages(),
        [QueueMessage::new(tx.id.clone(), Kind::Withdrawal)]
    );
    assert!(
        scene.attention().await.is_empty(),
        "a matched payment needs no operator"
    );

    // Nothing new: nothing happens again.
    let again = watcher.watch_payments().await.expect("run");
    assert_eq!(again.records, 0);
    assert_eq!(queue.messages().len(), 1);
}

#[tokio::test]
async fn a_withdrawal_paid_before_the_watchers_first_run_is_matched_and_queued_once() {
    let scene = Scene::<InMemoryStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    // A fresh deployment: the user paid before the watcher ever ran, amid the account's past.
    let before = scene.record(
        PaymentKind::Payment,
        &scene.usdc,
        "500",
        Memo::Text("treasury".into()),
    );
    let tx = scene.withdrawal("40").await;
    let paid = scene.pay(&tx, "40");
    let no_memo = scene.record(PaymentKind::Payment, &scene.usdc, "2", Memo::None);
    // Paid twice before the first run: the second is a duplicate for the operator, as ever.
    let twice = scene.withdrawal("10").await;
    scene.pay(&twice, "10");
    let again = scene.pay(&twice, "10");

    let watcher = scene.watcher(queue.clone()).with_page_limit(2);
    let report = watcher.watch_payments().await.expect("first run");
    assert_eq!(
        (
            report.records,
            report.matched,
            report.history,
            report.needing_attention
        ),
        (5, 2, 2, 1),
        "{report:?}"
    );
    let tx = scene.get(&tx.id).await;
    assert_eq!(tx.status, TransactionStatus::PendingAnchor);
    assert_eq!(tx.amount_in, Some(amount("40")));
    assert_eq!(tx.amount_out, Some(amount("39")));
    assert_eq!(
        tx.stellar_transaction_id.as_deref(),
        Some(paid.transaction_hash.as_str())
    );
    assert_eq!(ids(&queue.messages()), {
        let mut v = vec![tx.id.clone(), twice.id.clone()];
        v.sort();
        v
    });
    for (payment, outcome) in [
        (&paid, PaymentOutcome::Matched),
        (&before, PaymentOutcome::History),
        (&no_memo, PaymentOutcome::History),
        (&again, PaymentOutcome::Duplicate),
    ] {
        let recorded = scene.store.get_payment(&payment.id).await.unwrap();
        assert_eq!(recorded.map(|p| p.outcome), Some(outcome), "{}", payment.id);
    }
    let attention = scene.attention().await;
    assert_eq!(
        attention.iter().map(|p| &p.id).collect::<Vec<_>>(),
        [&again.id],
        "only the duplicate needs the operator"
    );

    // Later runs find nothing new: the withdrawal is queued once, written once.
    let later = watcher.watch_payments().await.expect("run");
    assert_eq!(later.records, 0);
    assert_eq!(queue.messages().len(), 2);
    assert_eq!(scene.get(&tx.id).await.version, tx.version);
    // And the processor pays it out.
    let rail = Arc::new(Rail::default());
    scene
        .processor(rail.clone())
        .process_withdrawal(&message(&tx))
        .await
        .expect("process");
    assert_eq!(rail.calls(&tx.id), 1);
    assert_eq!(scene.get(&tx.id).await.status, TransactionStatus::Completed);
}

#[tokio::test]
async fn a_long_history_is_read_over_several_runs_and_later_unmatched_payments_need_attention() {
    let scene = Scene::<InMemoryStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    let history: Vec<PaymentRecord> = (0..5)
        .map(|i| {
            scene.record(
                PaymentKind::Payment,
                &scene.usdc,
                "1",
                Memo::Text(format!("past {i}")),
            )
        })
        .collect();
    let watcher = scene
        .watcher(queue.clone())
        .with_page_limit(2)
        .with_max_pages(1);
    let first = watcher.watch_payments().await.expect("first run");
    assert_eq!((first.records, first.history), (2, 2));
    let end = scene
        .store
        .cursor(&history_name(&scene.dist()))
        .await
        .unwrap()
        .expect("the end of the history is stored");
    assert_eq!(
        end.value, history[4].paging_token,
        "the newest payment then"
    );

    // Arriving after the first run: new, even while the history is still being read.
    let late = scene.record(
        PaymentKind::Payment,
        &scene.usdc,
        "3",
        Memo::Text("who?".into()),
    );
    let tx = scene.withdrawal("20").await;
    scene.pay(&tx, "20");
    let mut total = first;
    for _ in 0..5 {
        let run = watcher.watch_payments().await.expect("run");
        total.records += run.records;
        total.history += run.history;
        total.matched += run.matched;
        total.needing_attention += run.needing_attention;
    }
    assert_eq!(
        (
            total.records,
            total.history,
            total.matched,
            total.needing_attention
        ),
        (7, 5, 1, 1)
    );
    for past in &history {
        let recorded = scene.store.get_payment(&past.id).await.unwrap();
        assert_eq!(recorded.map(|p| p.outcome), Some(PaymentOutcome::History));
    }
    let attention = scene.attention().await;
    assert_eq!(attention.len(), 1, "{attention:#?}");
    assert_eq!(attention[0].id, late.id);
    assert_eq!(attention[0].outcome, PaymentOutcome::Unmatched);
    assert_eq!(
        scene.get(&tx.id).await.status,
        TransactionStatus::PendingAnchor
    );
    assert_eq!(ids(&queue.messages()), vec![tx.id.clone()]);
    // The end of the history was stored once and never moved.
    let still = scene
        .store
        .cursor(&history_name(&scene.dist()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still, end);
}

#[tokio::test]
async fn a_first_run_that_stopped_before_its_cursor_keeps_the_history_end_it_stored() {
    let scene = Scene::<InMemoryStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    let past = scene.record(
        PaymentKind::Payment,
        &scene.usdc,
        "1",
        Memo::Text("past".into()),
    );
    // A first run stored the end of the history, then stopped before saving its cursor; a
    // payment arrived in between.
    scene
        .store
        .save_cursor(&history_name(&scene.dist()), &past.paging_token, None)
        .await
        .unwrap();
    let between = scene.record(
        PaymentKind::Payment,
        &scene.usdc,
        "1",
        Memo::Text("between".into()),
    );
    let report = scene
        .watcher(queue)
        .watch_payments()
        .await
        .expect("first run");
    assert_eq!(
        (report.records, report.history, report.needing_attention),
        (2, 1, 1)
    );
    let attention = scene.attention().await;
    assert_eq!(attention.len(), 1);
    assert_eq!(attention[0].id, between.id, "after the stored end: new");
}

#[tokio::test]
async fn an_account_without_payments_has_no_history_and_two_first_runs_at_once_start_once() {
    let scene = Scene::<YieldingStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    let one = scene.watcher(queue.clone());
    let two = scene.watcher(queue.clone());
    let (r1, r2) = tokio::join!(one.watch_payments(), two.watch_payments());
    let (r1, r2) = (r1.expect("one"), r2.expect("two"));
    assert_eq!(r1.conflicts + r2.conflicts, 1, "{r1:?} {r2:?}");
    let end = scene
        .store
        .cursor(&history_name(&scene.dist()))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!((end.value.as_str(), end.version), (START_CURSOR, 1));
    // Every payment from now on is new.
    let first = scene.record(
        PaymentKind::Payment,
        &scene.usdc,
        "1",
        Memo::Text("first".into()),
    );
    let report = one.watch_payments().await.expect("run");
    assert_eq!((report.history, report.needing_attention), (0, 1));
    assert_eq!(scene.attention().await[0].id, first.id);
}

#[tokio::test]
async fn path_payments_match_with_the_amount_delivered() {
    let scene = Scene::<InMemoryStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    let watcher = scene.watcher(queue.clone());
    watcher.watch_payments().await.expect("start");
    let by_send = scene.withdrawal("10").await;
    let by_receive = scene.withdrawal("30").await;
    scene.record(
        PaymentKind::PathPaymentStrictSend,
        &scene.usdc,
        "10.5",
        memo_of(&by_send),
    );
    scene.record(
        PaymentKind::PathPaymentStrictReceive,
        &scene.usdc,
        "30",
        memo_of(&by_receive),
    );

    let report = watcher.watch_payments().await.expect("run");
    assert_eq!((report.matched, report.needing_attention), (2, 0));
    let by_send = scene.get(&by_send.id).await;
    assert_eq!(by_send.status, TransactionStatus::PendingAnchor);
    assert_eq!(by_send.amount_in, Some(amount("10.5")));
    assert_eq!(by_send.amount_out, Some(amount("9.5")));
    assert_eq!(
        scene.get(&by_receive.id).await.status,
        TransactionStatus::PendingAnchor
    );
    assert_eq!(ids(&queue.messages()), {
        let mut v = vec![by_send.id.clone(), by_receive.id.clone()];
        v.sort();
        v
    });
}

#[tokio::test]
async fn fee_bumped_records_are_matched_by_their_inner_memo() {
    let scene = Scene::<InMemoryStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    let watcher = scene.watcher(queue.clone());
    watcher.watch_payments().await.expect("start");
    let tx = scene.withdrawal("50").await;
    let record = scene.record_with(PaymentKind::Payment, &scene.usdc, "50", memo_of(&tx), |r| {
        r.fee_bump = true;
    });
    let hash = record.transaction_hash;
    let report = watcher.watch_payments().await.expect("run");
    assert_eq!(report.matched, 1);
    let tx = scene.get(&tx.id).await;
    assert_eq!(tx.status, TransactionStatus::PendingAnchor);
    assert_eq!(tx.stellar_transaction_id, Some(hash));
}

#[tokio::test]
async fn payments_that_do_not_fit_are_kept_for_the_operator() {
    let scene = Scene::<InMemoryStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    let watcher = scene.watcher(queue.clone());
    watcher.watch_payments().await.expect("start");

    let wrong_issuer = scene.withdrawal("100").await;
    let wrong_amount = scene.withdrawal("100").await;
    let paid_twice = scene.withdrawal("100").await;
    let fake = Asset::credit("USDC", Keypair::random().account_id()).unwrap();
    scene.record(PaymentKind::Payment, &fake, "100", memo_of(&wrong_issuer));
    scene.pay(&wrong_amount, "89.9999999");
    scene.record(
        PaymentKind::Payment,
        &scene.usdc,
        "100",
        Memo::Hash(rand_bytes()),
    );
    scene.record(PaymentKind::Payment, &scene.usdc, "7", Memo::None);
    let first = scene.pay(&paid_twice, "110");
    let second = scene.pay(&paid_twice, "100");
    // Not incoming payments: skipped, and the cursor moves past them.
    let memo = memo_of(&wrong_amount);
    scene.record_with(PaymentKind::Payment, &scene.usdc, "1", memo.clone(), |r| {
        r.from = Some(scene.dist());
        r.to = Some(scene.user.account_id());
    });
    scene.record_with(
        PaymentKind::Payment,
        &scene.usdc,
        "100",
        memo.clone(),
        |r| {
            r.successful = false;
        },
    );
    scene.record(
        PaymentKind::CreateAccount,
        &Asset::Native,
        "2",
        memo.clone(),
    );
    scene.record(PaymentKind::AccountMerge, &Asset::Native, "2", memo);

    let report = watcher.watch_payments().await.expect("run");
    assert_eq!(
        (
            report.records,
            report.skipped,
            report.matched,
            report.needing_attention
        ),
        (10, 4, 1, 5)
    );

    let held = scene.get(&wrong_amount.id).await;
    assert_eq!(held.status, TransactionStatus::OnHold);
    assert!(held
        .status_message
        .as_deref()
        .unwrap_or_default()
        .contains("89.9999999"));
    assert_eq!(
        held.amount_in,
        Some(amount("100")),
        "what was expected stays"
    );
    assert_eq!(
        scene.get(&wrong_issuer.id).await.status,
        TransactionStatus::PendingUserTransferStart
    );
    let paid = scene.get(&paid_twice.id).await;
    assert_eq!(paid.status, TransactionStatus::PendingAnchor);
    assert_eq!(paid.amount_in, Some(amount("110")), "+10 % is accepted");
    assert_eq!(
        paid.stellar_transaction_id,
        Some(first.transaction_hash.clone())
    );
    assert_eq!(ids(&queue.messages()), vec![paid_twice.id.clone()]);

    let attention = scene.attention().await;
    let outcome_of = |tx: Option<&Transaction>, outcome: PaymentOutcome| {
        attention
            .iter()
            .filter(|p| p.outcome == outcome && p.transaction_id == tx.map(|t| t.id.clone()))
            .count()
    };
    assert_eq!(
        outcome_of(Some(&wrong_issuer), PaymentOutcome::WrongAsset),
        1
    );
    assert_eq!(
        outcome_of(Some(&wrong_amount), PaymentOutcome::WrongAmount),
        1
    );
    assert_eq!(outcome_of(None, PaymentOutcome::Unmatched), 2);
    assert_eq!(outcome_of(Some(&paid_twice), PaymentOutcome::Duplicate), 1);
    assert_eq!(attention.len(), 5, "{attention:#?}");
    let duplicate = scene.store.get_payment(&second.id).await.unwrap().unwrap();
    assert_eq!(duplicate.outcome, PaymentOutcome::Duplicate);
    assert_eq!(duplicate.amount, amount("100"));
    assert_eq!(duplicate.memo_type, "hash");
    let matched = scene.store.get_payment(&first.id).await.unwrap().unwrap();
    assert_eq!(matched.outcome, PaymentOutcome::Matched);

    // A watcher that runs again over the same records (cursor lost) changes nothing.
    let stored = scene
        .store
        .cursor(&cursor_name(&scene.dist()))
        .await
        .unwrap()
        .unwrap();
    scene
        .store
        .save_cursor(&cursor_name(&scene.dist()), "0", Some(stored.version))
        .await
        .unwrap();
    watcher.watch_payments().await.expect("again");
    assert_eq!(scene.attention().await.len(), 5);
    assert_eq!(scene.get(&wrong_amount.id).await.version, held.version);
    assert_eq!(scene.get(&paid_twice.id).await.version, paid.version);
}

#[tokio::test]
async fn a_second_operation_of_the_same_transaction_is_a_duplicate() {
    let scene = Scene::<InMemoryStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    let watcher = scene.watcher(queue.clone());
    watcher.watch_payments().await.expect("start");
    let tx = scene.withdrawal("100").await;
    let first = scene.pay(&tx, "50");
    scene.record_with(PaymentKind::Payment, &scene.usdc, "50", memo_of(&tx), |r| {
        r.transaction_hash = first.transaction_hash.clone();
    });
    let report = watcher.watch_payments().await.expect("run");
    // 50 is outside ±10 % of 100: held, and the second 50 is kept for the operator too.
    assert_eq!(report.needing_attention, 2);
    assert_eq!(scene.get(&tx.id).await.status, TransactionStatus::OnHold);

    let tx = scene.withdrawal("50").await;
    let first = scene.pay(&tx, "50");
    let second_op = scene.record_with(PaymentKind::Payment, &scene.usdc, "50", memo_of(&tx), |r| {
        r.transaction_hash = first.transaction_hash.clone();
    });
    let report = watcher.watch_payments().await.expect("run");
    assert_eq!((report.matched, report.needing_attention), (1, 1));
    let paid = scene.get(&tx.id).await;
    assert_eq!(
        (paid.status, paid.amount_in),
        (TransactionStatus::PendingAnchor, Some(amount("50")))
    );
    let extra = scene
        .store
        .get_payment(&second_op.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(extra.outcome, PaymentOutcome::Duplicate);
    assert_eq!(ids(&queue.messages()), vec![tx.id.clone()]);

    // Seen again (cursor lost): the same outcomes, nothing written twice.
    let name = cursor_name(&scene.dist());
    let stored = scene.store.cursor(&name).await.unwrap().unwrap();
    scene
        .store
        .save_cursor(&name, "0", Some(stored.version))
        .await
        .unwrap();
    watcher.watch_payments().await.expect("again");
    assert_eq!(scene.get(&tx.id).await.version, paid.version);
    assert_eq!(scene.attention().await.len(), 3);
}

#[tokio::test]
async fn a_watcher_restarted_mid_page_skips_nothing_and_doubles_nothing() {
    let scene = Scene::<InMemoryStore>::new();
    let queue = Arc::new(FlakyQueue::default());
    let watcher = scene.watcher(queue.clone()).with_page_limit(4);
    watcher.watch_payments().await.expect("start");
    let mut txs = Vec::new();
    for i in 0..7 {
        let tx = scene.withdrawal(&format!("{}", 10 + i)).await;
        scene.pay(&tx, &format!("{}", 10 + i));
        txs.push(tx);
    }
    // The third send fails: the run stops in the middle of the first page.
    queue.fail_at.store(3, Ordering::SeqCst);
    let crashed = watcher.watch_payments().await;
    assert!(matches!(crashed, Err(WorkerError::Queue(_))), "{crashed:?}");
    let cursor = scene
        .store
        .cursor(&cursor_name(&scene.dist()))
        .await
        .unwrap();
    // Saved up to the last record fully processed (the second), not past the third.
    assert_eq!(
        cursor.map(|c| c.value),
        Some(
            scene
                .horizon
                .payments(&scene.dist(), None, 200)
                .await
                .unwrap()[1]
                .paging_token
                .clone()
        )
    );
    assert_eq!(queue.inner.messages().len(), 2);

    let report = watcher.watch_payments().await.expect("restart");
    assert_eq!(report.matched, 5);
    // Every withdrawal queued exactly once, every payment recorded once, all pending_anchor.
    assert_eq!(ids(&queue.inner.messages()), {
        let mut v: Vec<String> = txs.iter().map(|t| t.id.clone()).collect();
        v.sort();
        v
    });
    for tx in &txs {
        let tx = scene.get(&tx.id).await;
        assert_eq!(tx.status, TransactionStatus::PendingAnchor);
        assert_eq!(tx.version, 1, "written once");
    }

    // And the processor pays each once, even with every message delivered twice.
    let rail = Arc::new(Rail::default());
    let processor = scene.processor(rail.clone());
    for message in queue
        .inner
        .messages()
        .iter()
        .chain(queue.inner.messages().iter())
    {
        processor
            .process_withdrawal(message)
            .await
            .expect("process");
    }
    for tx in &txs {
        assert_eq!(rail.calls(&tx.id), 1);
        assert_eq!(scene.get(&tx.id).await.status, TransactionStatus::Completed);
    }
}

#[tokio::test]
async fn a_crash_before_the_cursor_is_saved_reprocesses_harmlessly() {
    let scene = Scene::<InMemoryStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    let watcher = scene.watcher(queue.clone());
    watcher.watch_payments().await.expect("start");
    let a = scene.withdrawal("10").await;
    let b = scene.withdrawal("10").await;
    scene.pay(&a, "10");
    scene.pay(&b, "50");
    watcher.watch_payments().await.expect("run");
    // The cursor save "never happened": rewind it and run again.
    let name = cursor_name(&scene.dist());
    let stored = scene.store.cursor(&name).await.unwrap().unwrap();
    scene
        .store
        .save_cursor(&name, "0", Some(stored.version))
        .await
        .unwrap();
    watcher.watch_payments().await.expect("again");
    let a_now = scene.get(&a.id).await;
    assert_eq!(
        (a_now.status, a_now.version),
        (TransactionStatus::PendingAnchor, 1)
    );
    let b_now = scene.get(&b.id).await;
    assert_eq!(
        (b_now.status, b_now.version),
        (TransactionStatus::OnHold, 1)
    );
    // The message of the matched withdrawal is sent again (it may have been lost); the
    // processor is idempotent.
    assert_eq!(ids(&queue.messages()), [a.id.clone(), a.id.clone()]);
    assert_eq!(scene.attention().await.len(), 1);
}

#[tokio::test]
async fn two_watchers_at_once_handle_each_payment_once() {
    let scene = Scene::<YieldingStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    let one = scene.watcher(queue.clone()).with_page_limit(3);
    let two = scene.watcher(queue.clone()).with_page_limit(3);
    one.watch_payments().await.expect("start");
    let mut txs = Vec::new();
    for _ in 0..8 {
        let tx = scene.withdrawal("10").await;
        scene.pay(&tx, "10");
        txs.push(tx);
    }
    let extra = scene.record(
        PaymentKind::Payment,
        &scene.usdc,
        "3",
        Memo::Text("who?".into()),
    );
    let (r1, r2) = tokio::join!(one.watch_payments(), two.watch_payments());
    let (r1, r2) = (r1.expect("one"), r2.expect("two"));
    assert!(r1.conflicts + r2.conflicts >= 1, "{r1:?} {r2:?}");
    // Whatever the interleaving, a later run finishes what a stopped watcher left.
    one.watch_payments().await.expect("finish");
    for tx in &txs {
        let tx = scene.get(&tx.id).await;
        assert_eq!(
            (tx.status, tx.version),
            (TransactionStatus::PendingAnchor, 1)
        );
    }
    let attention = scene.attention().await;
    assert_eq!(attention.len(), 1);
    assert_eq!(attention[0].id, extra.id);
    // Messages may repeat (both saw a payment); each withdrawal is paid out once.
    let rail = Arc::new(Rail::default());
    let processor = scene.processor(rail.clone());
    for message in queue.messages() {
        processor
            .process_withdrawal(&message)
            .await
            .expect("process");
    }
    assert_eq!(rail.total_calls(), txs.len());
    for tx in &txs {
        assert_eq!(scene.get(&tx.id).await.status, TransactionStatus::Completed);
    }
}

#[tokio::test]
async fn each_receiving_account_is_watched_once() {
    let scene = Scene::<InMemoryStore>::new();
    let mut assets = scene.assets.clone();
    let mut eurc: AssetConfig = serde_json::from_value(serde_json::json!({
        "code": "EURC",
        "issuer": scene.issuer.account_id().to_string(),
        "distribution_account": scene.dist().to_string(),
        "withdraw": {"enabled": false}
    }))
    .unwrap();
    assets.push(eurc.clone());
    eurc.asset.0 = Asset::credit("DEPO", scene.issuer.account_id()).unwrap();
    eurc.withdraw = None;
    eurc.distribution_account = Some(scene.user.account_id());
    assets.push(eurc);
    let watcher = PaymentWatcher::new(
        scene.store.clone(),
        scene.horizon.clone(),
        Arc::new(InMemoryQueue::default()),
        Arc::new(InMemoryQueue::default()),
        Arc::new(ConfiguredFees),
        assets,
        scene.clock.clone(),
    );
    assert_eq!(watcher.receiving_accounts(), [scene.dist()]);
}

#[tokio::test]
async fn a_memo_is_compared_in_its_canonical_form() {
    let scene = Scene::<InMemoryStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    let watcher = scene.watcher(queue.clone());
    watcher.watch_payments().await.expect("start");
    let mut by_id = scene.withdrawal("10").await;
    by_id.receiving_memo_type = Some("id".into());
    by_id.receiving_memo = Some("18446744073709551615".into());
    TransactionStore::update(
        &*scene.store,
        &mut by_id,
        TransactionStatus::PendingUserTransferStart,
    )
    .await
    .unwrap();
    let by_hash = scene.withdrawal("10").await;
    let bytes: [u8; 32] = BASE64
        .decode(by_hash.receiving_memo.as_deref().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    scene.record(PaymentKind::Payment, &scene.usdc, "10", Memo::Id(u64::MAX));
    scene.record(PaymentKind::Payment, &scene.usdc, "10", Memo::Hash(bytes));
    // A return memo with the same bytes never matches a hash memo.
    scene.record_with(PaymentKind::Payment, &scene.usdc, "10", Memo::None, |r| {
        r.return_memo = Some(bytes);
    });
    let report = watcher.watch_payments().await.expect("run");
    assert_eq!(report.matched, 2);
    let attention = scene.attention().await;
    assert_eq!(attention.len(), 1, "{attention:#?}");
    assert!(
        attention
            .iter()
            .any(|p| p.memo_type == "return"
                && p.memo.as_deref() == by_hash.receiving_memo.as_deref())
    );
}

// ------------------------------------------------------------------------------------------
// Withdrawal processor
// ------------------------------------------------------------------------------------------

/// A withdrawal already paid on Stellar, waiting for its payout.
async fn paid_withdrawal<S>(scene: &Scene<S>) -> Transaction
where
    S: TransactionStore + Cursors + IncomingPayments + Default,
{
    let tx = scene.withdrawal("100").await;
    scene.paid(tx, TransactionStatus::PendingAnchor).await
}

#[tokio::test]
async fn a_message_delivered_twice_pays_once() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    let processor = scene.processor(rail.clone());
    let tx = paid_withdrawal(&scene).await;
    assert_eq!(
        processor.process_withdrawal(&message(&tx)).await.unwrap(),
        WithdrawalProcessed::Completed
    );
    assert_eq!(
        processor.process_withdrawal(&message(&tx)).await.unwrap(),
        WithdrawalProcessed::NothingToDo {
            status: Some(TransactionStatus::Completed)
        }
    );
    assert_eq!(rail.calls(&tx.id), 1);
    let done = scene.get(&tx.id).await;
    assert_eq!(done.status, TransactionStatus::Completed);
    assert_eq!(done.completed_at, Some(Timestamp::from_secs(NOW)));
    assert_eq!(
        done.external_transaction_id,
        Some(format!("BANK-{}", &tx.id[..8]))
    );

    // Messages for what is not a paid withdrawal are acknowledged and change nothing.
    let waiting = scene.withdrawal("5").await;
    assert_eq!(
        processor
            .process_withdrawal(&message(&waiting))
            .await
            .unwrap(),
        WithdrawalProcessed::NothingToDo {
            status: Some(TransactionStatus::PendingUserTransferStart)
        }
    );
    assert_eq!(
        processor
            .process_withdrawal(&QueueMessage::new("nope", Kind::Withdrawal))
            .await
            .unwrap(),
        WithdrawalProcessed::NothingToDo { status: None }
    );
    assert_eq!(rail.total_calls(), 1);
}

#[tokio::test]
async fn concurrent_deliveries_pay_once() {
    let scene = Scene::<YieldingStore>::new();
    let rail = Arc::new(Rail::default());
    let processor = scene.processor(rail.clone());
    let tx = paid_withdrawal(&scene).await;
    let delivery = message(&tx);
    let (a, b) = tokio::join!(
        processor.process_withdrawal(&delivery),
        processor.process_withdrawal(&delivery)
    );
    let outcomes = [a, b];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Ok(WithdrawalProcessed::Completed)))
            .count(),
        1,
        "{outcomes:?}"
    );
    // The other one either saw the claim in progress (retried later) or found it done.
    assert!(outcomes.iter().all(|o| matches!(
        o,
        Ok(WithdrawalProcessed::Completed)
            | Ok(WithdrawalProcessed::NothingToDo { .. })
            | Err(WorkerError::Pending(_))
    )));
    // Its retry finds it done.
    assert!(matches!(
        processor.process_withdrawal(&message(&tx)).await,
        Ok(WithdrawalProcessed::NothingToDo { .. })
    ));
    assert_eq!(rail.calls(&tx.id), 1);
    assert_eq!(scene.get(&tx.id).await.status, TransactionStatus::Completed);
}

#[tokio::test]
async fn pending_external_payouts_complete_when_the_rail_confirms_them() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    let processor = scene.processor(rail.clone()).with_batch(2);
    let mut txs = Vec::new();
    for _ in 0..5 {
        rail.answer(Ok(WithdrawalOutcome::PendingExternal {
            external_transaction_id: Some("WIRE-1".into()),
        }));
        let tx = paid_withdrawal(&scene).await;
        assert_eq!(
            processor.process_withdrawal(&message(&tx)).await.unwrap(),
            WithdrawalProcessed::PendingExternal
        );
        let now = scene.get(&tx.id).await;
        assert_eq!(now.status, TransactionStatus::PendingExternal);
        assert_eq!(now.external_transaction_id.as_deref(), Some("WIRE-1"));
        txs.push(tx);
    }
    // Nothing settled yet.
    let report = processor.complete_external_withdrawals().await.unwrap();
    assert_eq!((report.checked, report.completed), (5, 0));
    // Four settle: all four complete, across batches, within a lap of the rotation (a run
    // reads the newest batch and two more of the rotation).
    *rail.settled.lock().unwrap() = txs[..4].iter().map(|t| t.id.clone()).collect();
    let mut completed = 0;
    for _ in 0..2 {
        let report = processor.complete_external_withdrawals().await.unwrap();
        assert!(report.checked <= 6, "bounded: {report:?}");
        completed += report.completed;
    }
    assert_eq!(completed, 4, "within two runs");
    for tx in &txs[..4] {
        let done = scene.get(&tx.id).await;
        assert_eq!(done.status, TransactionStatus::Completed);
        assert_eq!(done.external_transaction_id.as_deref(), Some("SETTLED"));
        assert!(done.completed_at.is_some());
    }
    assert_eq!(
        scene.get(&txs[4].id).await.status,
        TransactionStatus::PendingExternal
    );
    let report = processor.complete_external_withdrawals().await.unwrap();
    assert_eq!((report.checked, report.completed), (1, 0));
    // A redelivered message for any of them calls nothing.
    for tx in &txs {
        processor.process_withdrawal(&message(tx)).await.unwrap();
        assert_eq!(rail.calls(&tx.id), 1);
    }
}

#[tokio::test]
async fn an_integration_error_ends_in_error_with_a_status_message() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    let processor = scene.processor(rail.clone());

    rail.answer(Err(IntegrationError::invalid("the IBAN is closed")));
    let refused = paid_withdrawal(&scene).await;
    assert_eq!(
        processor
            .process_withdrawal(&message(&refused))
            .await
            .unwrap(),
        WithdrawalProcessed::Failed
    );
    let refused = scene.get(&refused.id).await;
    assert_eq!(refused.status, TransactionStatus::Error);
    assert_eq!(
        refused.status_message.as_deref(),
        Some("the IBAN is closed")
    );

    rail.answer(Err(IntegrationError::Internal(
        "db password=hunter2".into(),
    )));
    let broken = paid_withdrawal(&scene).await;
    processor
        .process_withdrawal(&message(&broken))
        .await
        .unwrap();
    let broken = scene.get(&broken.id).await;
    assert_eq!(broken.status, TransactionStatus::Error);
    assert_eq!(
        broken.status_message.as_deref(),
        Some(PAYOUT_FAILED_MESSAGE)
    );

    // Unavailable: nothing was paid; the claim is released and the message retried.
    rail.answer(Err(IntegrationError::Unavailable("bank down".into())));
    let later = paid_withdrawal(&scene).await;
    let retry = processor.process_withdrawal(&message(&later)).await;
    assert!(matches!(
        retry,
        Err(WorkerError::Integration(IntegrationError::Unavailable(_)))
    ));
    let waiting = scene.get(&later.id).await;
    assert_eq!(waiting.status, TransactionStatus::PendingAnchor);
    assert_eq!(waiting.payout_started_at, None);
    assert_eq!(
        processor
            .process_withdrawal(&message(&later))
            .await
            .unwrap(),
        WithdrawalProcessed::Completed
    );
    assert_eq!(rail.calls(&later.id), 2);
    // A redelivery after an error calls nothing.
    processor
        .process_withdrawal(&message(&refused))
        .await
        .unwrap();
    assert_eq!(rail.calls(&refused.id), 1);
}

#[tokio::test]
async fn an_unfinished_claim_is_never_paid_again_but_handed_to_the_operator() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    let processor = scene.processor(rail.clone());
    // A delivery claimed the payout and died before writing its outcome.
    let tx = scene.claimed(paid_withdrawal(&scene).await).await;
    // Redelivered soon: maybe still running; retried later, hook not called.
    scene.clock.set(NOW + 30);
    assert!(matches!(
        processor.process_withdrawal(&message(&tx)).await,
        Err(WorkerError::Pending(_))
    ));
    // Later: the outcome is unknown; the operator takes over.
    scene.clock.set(NOW + DEFAULT_STALE_CLAIM_SECS + 1);
    assert_eq!(
        processor.process_withdrawal(&message(&tx)).await.unwrap(),
        WithdrawalProcessed::HandedToOperator
    );
    let held = scene.get(&tx.id).await;
    assert_eq!(held.status, TransactionStatus::PendingExternal);
    assert!(held.status_message.is_some());
    assert_eq!(rail.total_calls(), 0);
    // poll_outgoing_transactions can still confirm it.
    *rail.settled.lock().unwrap() = vec![tx.id.clone()];
    processor.complete_external_withdrawals().await.unwrap();
    assert_eq!(scene.get(&tx.id).await.status, TransactionStatus::Completed);
    assert_eq!(rail.total_calls(), 0);
}

#[tokio::test]
async fn stalled_withdrawals_are_recovered_on_schedule() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    let processor = scene.processor(rail.clone());
    let queue = InMemoryQueue::default();
    let lost = paid_withdrawal(&scene).await;
    let claimed = scene.claimed(paid_withdrawal(&scene).await).await;
    // Too recent: nothing.
    let report = processor.recover_stalled_withdrawals(&queue).await.unwrap();
    assert_eq!(report, RecoveryReport::default());
    scene.clock.set(NOW + DEFAULT_STALE_CLAIM_SECS);
    let report = processor.recover_stalled_withdrawals(&queue).await.unwrap();
    assert_eq!(
        report,
        RecoveryReport {
            handed_to_operator: 1,
            requeued: 1
        }
    );
    assert_eq!(queue.messages(), [message(&lost)]);
    assert_eq!(
        scene.get(&claimed.id).await.status,
        TransactionStatus::PendingExternal
    );
    processor.process_withdrawal(&message(&lost)).await.unwrap();
    assert_eq!(
        scene.get(&lost.id).await.status,
        TransactionStatus::Completed
    );
    assert_eq!(rail.calls(&claimed.id), 0);
}

#[tokio::test]
async fn a_slow_payout_handed_to_the_operator_still_records_its_outcome() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    let processor = scene.processor(rail.clone());
    let queue = InMemoryQueue::default();
    let tx = paid_withdrawal(&scene).await;
    let delivery = message(&tx);
    // While the hook runs, the schedule finds the claim stale and hands it to the operator.
    let (processed, recovered) = tokio::join!(processor.process_withdrawal(&delivery), async {
        scene.clock.set(NOW + DEFAULT_STALE_CLAIM_SECS + 1);
        processor.recover_stalled_withdrawals(&queue).await
    });
    assert_eq!(recovered.unwrap().handed_to_operator, 1);
    assert_eq!(processed.unwrap(), WithdrawalProcessed::Completed);
    let done = scene.get(&tx.id).await;
    assert_eq!(done.status, TransactionStatus::Completed);
    assert_eq!(done.status_message, None);
    assert_eq!(rail.calls(&tx.id), 1);
}

#[tokio::test]
async fn a_withdrawal_bound_to_a_quote_pays_out_the_quote_or_is_held() {
    let scene = Scene::<InMemoryStore>::new();
    let queue = Arc::new(InMemoryQueue::default());
    let watcher = scene.watcher(queue.clone());
    watcher.watch_payments().await.expect("start");

    let pending = TransactionStatus::PendingUserTransferStart;
    let mut quoted = Vec::new();
    for deadline in [NOW + 600, NOW + 600, NOW - 1] {
        let mut tx = scene.withdrawal("50").await;
        tx.quote_id = Some(format!("quote-{}", tx.id));
        tx.amount_out = Some(amount("49.75"));
        tx.amount_out_asset = Some("iso4217:USD".into());
        tx.user_action_required_by = Some(Timestamp::from_secs(deadline));
        scene.store.update(&mut tx, pending).await.expect("bind");
        quoted.push(tx);
    }
    scene.pay(&quoted[0], "50");
    scene.pay(&quoted[1], "51");
    scene.pay(&quoted[2], "50");
    watcher.watch_payments().await.expect("watch");

    let paid = scene
        .store
        .get(&quoted[0].id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(paid.status, TransactionStatus::PendingAnchor);
    assert_eq!(
        (paid.amount_out, paid.amount_out_asset.as_deref()),
        (Some(amount("49.75")), Some("iso4217:USD")),
        "the quote's payout, not the SEP-24 fee's"
    );
    for (tx, why) in [
        (&quoted[1], "the quote is for 50"),
        (&quoted[2], "after the quote expired"),
    ] {
        let held = scene.store.get(&tx.id).await.expect("get").expect("stored");
        assert_eq!(held.status, TransactionStatus::OnHold);
        let message = held.status_message.unwrap_or_default();
        assert!(message.contains(why), "{message}");
    }
    assert_eq!(ids(&queue.messages()), vec![quoted[0].id.clone()]);
}
