//! The SEP-31 side of money movement over the in-memory adapters: the payment watcher matching a
//! sending anchor's payment by memo (and the expiry sweeper ending the unpaid once the watcher
//! read past their deadline), the outgoing-payments worker
//! paying the receiver once through the scripted rail, and the payout poller completing what
//! the rail confirms. The [`Scene`] is the withdrawals' one (same account and asset).

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::AssetConfig;
use crate::horizon::{InMemoryHorizon, PaymentKind};
use crate::integrations::{InfoField, IntegrationError, OutgoingOutcome};
use crate::lifecycle::expiry::{
    ExpiryConfig, ExpirySweeper, PAYMENT_MESSAGE, PAYMENT_QUOTE_MESSAGE, STELLAR_GRACE,
};
use crate::model::{
    withdraw_memo, FeeDetails, Kind, PaymentOutcome, Protocol, Transaction, TransactionStatus,
    UserKey,
};
use crate::payments::outgoing::{OutgoingProcessed, OutgoingProcessor};
use crate::payments::watcher::{caught_up_at, cursor_name, PaymentWatcher, START_CURSOR};
use crate::payments::withdrawals::{
    RecoveryReport, DEFAULT_STALE_CLAIM_SECS, PAYOUT_FAILED_MESSAGE,
};
use crate::payments::WorkerError;
use crate::queue::{InMemoryQueue, QueueMessage};
use crate::status_callbacks::dispatch::heard_statuses;
use crate::stellar::{Asset, Keypair, Memo};
use crate::store::{Cursors, InMemoryStore, IncomingPayments, TransactionStore};
use crate::time::Timestamp;

type Watcher<S> = PaymentWatcher<S, InMemoryHorizon, InMemoryQueue, ConfiguredFees, InMemoryQueue>;

/// A watcher over the scene with its two queues: (watcher, withdrawals, outgoing).
fn watcher<S>(scene: &Scene<S>) -> (Watcher<S>, Arc<InMemoryQueue>, Arc<InMemoryQueue>)
where
    S: TransactionStore + Cursors + IncomingPayments + Default,
{
    let withdrawals = Arc::new(InMemoryQueue::default());
    let outgoing = Arc::new(InMemoryQueue::default());
    (
        scene.watcher_with(withdrawals.clone(), outgoing.clone()),
        withdrawals,
        outgoing,
    )
}

fn outgoing_worker<S>(scene: &Scene<S>, rail: Arc<Rail>) -> OutgoingProcessor<S, Rail>
where
    S: TransactionStore + Cursors + IncomingPayments + Default,
{
    OutgoingProcessor::new(scene.store.clone(), rail, scene.clock.clone())
}

/// A SEP-31 transaction created at `started` waiting for the sending anchor's `amount_in` USDC
/// (1 USDC fee), with its unique hash memo on the distribution account.
async fn receive_at<S>(scene: &Scene<S>, amount_in: &str, started: u64) -> Transaction
where
    S: TransactionStore + Cursors + IncomingPayments + Default,
{
    let mut tx = Transaction::new(
        Protocol::Sep31,
        Kind::Receive,
        TransactionStatus::PendingSender,
        UserKey {
            account: scene.user.account_id(),
            memo: None,
        },
        scene.usdc.clone(),
        Timestamp::from_secs(started),
    );
    let asset_id = scene.usdc.sep38_id();
    tx.amount_in = Some(amount(amount_in));
    tx.amount_in_asset = Some(asset_id.clone());
    tx.amount_out = amount(amount_in).checked_sub(amount("1"));
    tx.amount_out_asset = Some(asset_id.clone());
    tx.fee_details = Some(FeeDetails {
        total: amount("1"),
        asset: asset_id,
        breakdown: Vec::new(),
    });
    tx.sender_id = Some("sender-1".into());
    tx.receiver_id = Some("receiver-1".into());
    tx.receiving_account = Some(scene.dist());
    tx.receiving_memo_type = Some("hash".into());
    tx.receiving_memo = Some(withdraw_memo(&tx.id));
    scene.store.insert(&tx).await.expect("insert");
    tx
}

async fn receive<S>(scene: &Scene<S>, amount_in: &str) -> Transaction
where
    S: TransactionStore + Cursors + IncomingPayments + Default,
{
    receive_at(scene, amount_in, NOW).await
}

/// A SEP-31 transaction bound to a firm quote of `amount_in` USDC for 49.75 USD, expiring at
/// `deadline`.
async fn quoted<S>(scene: &Scene<S>, amount_in: &str, deadline: u64) -> Transaction
where
    S: TransactionStore + Cursors + IncomingPayments + Default,
{
    let mut tx = receive(scene, amount_in).await;
    tx.quote_id = Some(format!("quote-{}", tx.id));
    tx.amount_out = Some(amount("49.75"));
    tx.amount_out_asset = Some("iso4217:USD".into());
    tx.user_action_required_by = Some(Timestamp::from_secs(deadline));
    scene
        .store
        .update(&mut tx, TransactionStatus::PendingSender)
        .await
        .expect("bind the quote");
    tx
}

/// A SEP-31 transaction already paid on Stellar, waiting for its payout.
async fn paid_receive<S>(scene: &Scene<S>) -> Transaction
where
    S: TransactionStore + Cursors + IncomingPayments + Default,
{
    let tx = receive(scene, "100").await;
    scene.paid(tx, TransactionStatus::PendingReceiver).await
}

// ------------------------------------------------------------------------------------------
// Payment watcher
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_sep31_payment_matches_by_memo_and_goes_to_the_outgoing_queue_once() {
    let scene = Scene::<InMemoryStore>::new();
    let (watcher, withdrawals, outgoing) = watcher(&scene);
    watcher.watch_payments().await.expect("start");

    let tx = receive(&scene, "100").await;
    let withdrawal = scene.withdrawal("20").await;
    let paid = scene.pay(&tx, "100");
    scene.pay(&withdrawal, "20");
    let report = watcher.watch_payments().await.expect("run");
    assert_eq!((report.matched, report.needing_attention), (2, 0));
    assert!(report.caught_up());

    let got = scene.get(&tx.id).await;
    assert_eq!(got.status, TransactionStatus::PendingReceiver);
    assert_eq!(
        got.stellar_transaction_id.as_deref(),
        Some(paid.transaction_hash.as_str())
    );
    assert_eq!(got.from, Some(scene.user.account_id().to_string()));
    // Paid exactly what was announced: the amounts agreed at POST /transactions stand.
    assert_eq!(
        (got.amount_in, got.amount_out, got.fee_details.clone()),
        (tx.amount_in, tx.amount_out, tx.fee_details.clone())
    );
    assert_eq!(outgoing.messages(), [message(&tx)]);
    assert_eq!(
        withdrawals.messages(),
        [QueueMessage::new(withdrawal.id.clone(), Kind::Withdrawal)],
        "each kind on its own queue"
    );
    assert_eq!(
        scene
            .store
            .get_payment(&paid.id)
            .await
            .unwrap()
            .map(|p| (p.outcome, p.transaction_id)),
        Some((PaymentOutcome::Matched, Some(tx.id.clone())))
    );

    // Nothing new: nothing again.
    let again = watcher.watch_payments().await.expect("run");
    assert_eq!(again.records, 0);
    assert_eq!(outgoing.messages().len(), 1);

    // Seen twice (a crash before the cursor was saved): written once, paid out once.
    let name = cursor_name(&scene.dist());
    let cursor = scene.store.cursor(&name).await.unwrap().expect("cursor");
    scene
        .store
        .save_cursor(&name, START_CURSOR, Some(cursor.version))
        .await
        .unwrap();
    let replay = watcher.watch_payments().await.expect("replay");
    assert_eq!(replay.matched, 2);
    assert_eq!(scene.get(&tx.id).await.version, got.version, "written once");
    let rail = Arc::new(Rail::default());
    let worker = outgoing_worker(&scene, rail.clone());
    for delivery in outgoing.messages() {
        assert_eq!(delivery, message(&tx));
        worker.process_outgoing(&delivery).await.expect("process");
    }
    assert_eq!(rail.outgoing_calls(&tx.id), 1);
    assert_eq!(scene.get(&tx.id).await.status, TransactionStatus::Completed);
    assert!(scene.attention().await.is_empty());
}

#[tokio::test]
async fn a_wrong_asset_or_an_unknown_memo_is_not_matched() {
    let scene = Scene::<InMemoryStore>::new();
    let (watcher, _, outgoing) = watcher(&scene);
    watcher.watch_payments().await.expect("start");

    let tx = receive(&scene, "100").await;
    let fake = Asset::credit("USDC", Keypair::random().account_id()).unwrap();
    let wrong_asset = scene.record(PaymentKind::Payment, &fake, "100", memo_of(&tx));
    let unknown = scene.record(
        PaymentKind::Payment,
        &scene.usdc,
        "100",
        Memo::Hash(rand_bytes()),
    );
    let report = watcher.watch_payments().await.expect("run");
    assert_eq!((report.matched, report.needing_attention), (0, 2));
    assert_eq!(
        scene.get(&tx.id).await.status,
        TransactionStatus::PendingSender
    );
    assert!(outgoing.messages().is_empty());
    for (payment, outcome) in [
        (&wrong_asset, PaymentOutcome::WrongAsset),
        (&unknown, PaymentOutcome::Unmatched),
    ] {
        let recorded = scene.store.get_payment(&payment.id).await.unwrap();
        assert_eq!(recorded.map(|p| p.outcome), Some(outcome));
    }
    assert_eq!(scene.attention().await.len(), 2);

    // The sending anchor may still pay the right asset.
    scene.pay(&tx, "100");
    watcher.watch_payments().await.expect("run");
    assert_eq!(
        scene.get(&tx.id).await.status,
        TransactionStatus::PendingReceiver
    );
    assert_eq!(outgoing.messages(), [message(&tx)]);
}

#[tokio::test]
async fn an_unquoted_sep31_payment_follows_the_withdrawal_tolerance() {
    let scene = Scene::<InMemoryStore>::new();
    let (watcher, _, outgoing) = watcher(&scene);
    watcher.watch_payments().await.expect("start");

    let close = receive(&scene, "100").await;
    let far = receive(&scene, "100").await;
    scene.pay(&close, "95");
    scene.pay(&far, "89.9999999");
    let report = watcher.watch_payments().await.expect("run");
    assert_eq!((report.matched, report.needing_attention), (1, 1));

    // Within 10 %: matched, the fee (the asset's receive settings) and amount_out recomputed.
    let close = scene.get(&close.id).await;
    assert_eq!(close.status, TransactionStatus::PendingReceiver);
    assert_eq!(close.amount_in, Some(amount("95")));
    assert_eq!(
        close.fee_details.as_ref().map(|f| f.total),
        Some(amount("1"))
    );
    assert_eq!(close.amount_out, Some(amount("94")));
    // Further off: held for the anchor.
    let far = scene.get(&far.id).await;
    assert_eq!(far.status, TransactionStatus::OnHold);
    let held = far.status_message.unwrap_or_default();
    assert!(held.contains("expected 100"), "{held}");
    assert_eq!(ids(&outgoing.messages()), vec![close.id.clone()]);
}

#[tokio::test]
async fn a_quoted_sep31_payment_must_be_exact_and_made_before_the_quote_expires() {
    let scene = Scene::<InMemoryStore>::new();
    let (watcher, _, outgoing) = watcher(&scene);
    watcher.watch_payments().await.expect("start");

    let exact = quoted(&scene, "50", NOW + 600).await;
    let wrong = quoted(&scene, "50", NOW + 600).await;
    let late = quoted(&scene, "50", NOW - 1).await;
    let seen_late = quoted(&scene, "50", NOW - 1).await;
    scene.pay(&exact, "50");
    scene.pay(&wrong, "51");
    scene.pay(&late, "50");
    // Paid on the ledger before the quote expired, seen by the watcher after: in time.
    scene.record_with(
        PaymentKind::Payment,
        &scene.usdc,
        "50",
        memo_of(&seen_late),
        |r| r.created_at = Timestamp::from_secs(NOW - 10),
    );
    let report = watcher.watch_payments().await.expect("run");
    assert_eq!((report.matched, report.needing_attention), (2, 2));

    for tx in [&exact, &seen_late] {
        let paid = scene.get(&tx.id).await;
        assert_eq!(paid.status, TransactionStatus::PendingReceiver);
        assert_eq!(
            (
                paid.amount_in,
                paid.amount_out,
                paid.amount_out_asset.as_deref()
            ),
            (
                Some(amount("50")),
                Some(amount("49.75")),
                Some("iso4217:USD")
            ),
            "the quote's amounts"
        );
    }
    for (tx, why) in [
        (&wrong, "the quote is for 50"),
        (&late, "after the quote expired"),
    ] {
        let held = scene.get(&tx.id).await;
        assert_eq!(held.status, TransactionStatus::OnHold);
        let message = held.status_message.unwrap_or_default();
        assert!(message.contains(why), "{message}");
    }
    assert_eq!(ids(&outgoing.messages()), {
        let mut v = vec![exact.id.clone(), seen_late.id.clone()];
        v.sort();
        v
    });
}

#[tokio::test]
async fn an_asset_received_through_sep31_only_is_watched() {
    let scene = Scene::<InMemoryStore>::new();
    let other = Keypair::random().account_id();
    let mut assets = scene.assets.clone();
    assets.push(
        serde_json::from_value::<AssetConfig>(serde_json::json!({
            "code": "EURC",
            "issuer": scene.issuer.account_id().to_string(),
            "distribution_account": other.to_string(),
            "seps": ["sep31"],
            "receive": {}
        }))
        .unwrap(),
    );
    let watcher = PaymentWatcher::new(
        scene.store.clone(),
        scene.horizon.clone(),
        Arc::new(InMemoryQueue::default()),
        Arc::new(InMemoryQueue::default()),
        Arc::new(ConfiguredFees),
        assets,
        scene.clock.clone(),
    );
    assert_eq!(watcher.receiving_accounts(), [scene.dist(), other]);
}

// ------------------------------------------------------------------------------------------
// Expiry
// ------------------------------------------------------------------------------------------

/// The expiry sweeper over the scene's store, SEP-31 transactions waiting `pending_sender`.
fn sweeper<S>(scene: &Scene<S>, pending_sender: Duration) -> ExpirySweeper<S, InMemoryQueue>
where
    S: TransactionStore + Cursors + IncomingPayments + Default,
{
    let config = ExpiryConfig {
        pending_sender,
        ..ExpiryConfig::default()
    };
    let submissions = Arc::new(InMemoryQueue::default());
    ExpirySweeper::new(
        scene.store.clone(),
        submissions,
        config,
        scene.clock.clone(),
    )
}

#[tokio::test]
async fn unpaid_sep31_transactions_expire_with_their_quote_or_after_the_sender_wait_once_the_watcher_read_past_it(
) {
    let scene = Scene::<InMemoryStore>::new();
    let (watcher, _, outgoing) = watcher(&scene);
    let sweeper = sweeper(&scene, Duration::from_secs(3600));
    let grace = STELLAR_GRACE.as_secs();

    let quote_gone = quoted(&scene, "50", NOW - grace - 1).await;
    let quote_alive = quoted(&scene, "50", NOW + 600).await;
    let too_old = receive_at(&scene, "10", NOW - 3600).await;
    let fresh = receive_at(&scene, "10", NOW - 3599).await;
    let mut paid_old = receive_at(&scene, "10", NOW - 7200).await;
    paid_old.status = TransactionStatus::PendingReceiver;
    scene
        .store
        .update(&mut paid_old, TransactionStatus::PendingSender)
        .await
        .unwrap();

    // The watcher never ran: a payment on the ledger may pay any of them.
    let report = sweeper.sweep().await.expect("sweep");
    assert_eq!(
        (report.expired, report.awaiting_watcher),
        (0, 2),
        "{report:?}"
    );
    assert!(watcher.watch_payments().await.expect("run").caught_up());
    assert_eq!(
        caught_up_at(&*scene.store).await.unwrap(),
        Some(Timestamp::from_secs(NOW))
    );
    // Read up to now: past the quote's expiry and its grace, not past the sender wait's end.
    let report = sweeper.sweep().await.expect("sweep");
    assert_eq!(
        (report.expired, report.awaiting_watcher),
        (1, 1),
        "{report:?}"
    );
    scene.clock.set(NOW + grace);
    watcher.watch_payments().await.expect("run");
    let report = sweeper.sweep().await.expect("sweep");
    assert_eq!(
        (report.expired, report.awaiting_watcher),
        (1, 1),
        "{report:?}"
    );
    for (tx, why) in [
        (&quote_gone, PAYMENT_QUOTE_MESSAGE),
        (&too_old, PAYMENT_MESSAGE),
    ] {
        let gone = scene.get(&tx.id).await;
        assert_eq!(gone.status, TransactionStatus::Expired);
        assert_eq!(gone.status_message.as_deref(), Some(why));
        assert_eq!(gone.user_action_required_by, None);
    }
    for tx in [&quote_alive, &fresh] {
        assert_eq!(
            scene.get(&tx.id).await.status,
            TransactionStatus::PendingSender,
            "{}",
            tx.id
        );
    }
    assert_eq!(
        scene.get(&paid_old.id).await.status,
        TransactionStatus::PendingReceiver
    );

    // A payment arriving after its transaction expired is the operator's (a refund).
    let late = scene.pay(&too_old, "10");
    let run = watcher.watch_payments().await.expect("run");
    assert_eq!((run.matched, run.needing_attention), (0, 1));
    assert_eq!(
        scene
            .store
            .get_payment(&late.id)
            .await
            .unwrap()
            .map(|p| p.outcome),
        Some(PaymentOutcome::Duplicate)
    );
    assert!(outgoing.messages().is_empty());
}

#[tokio::test]
async fn an_unpaid_sep31_transaction_waits_a_day_by_default() {
    let scene = Scene::<InMemoryStore>::new();
    let (watcher, _, _) = watcher(&scene);
    let sweeper = ExpirySweeper::new(
        scene.store.clone(),
        Arc::new(InMemoryQueue::default()),
        ExpiryConfig::default(),
        scene.clock.clone(),
    );
    let tx = receive(&scene, "10").await;
    scene.clock.set(NOW + 86_399 + STELLAR_GRACE.as_secs());
    watcher.watch_payments().await.unwrap();
    assert_eq!(sweeper.sweep().await.unwrap().expired, 0);
    scene.clock.set(NOW + 86_400 + STELLAR_GRACE.as_secs());
    watcher.watch_payments().await.unwrap();
    assert_eq!(sweeper.sweep().await.unwrap().expired, 1);
    assert_eq!(scene.get(&tx.id).await.status, TransactionStatus::Expired);
}

/// A payment already on the ledger pays its transaction before the sweeper may expire it: a
/// watcher run that did not read every payment is not noted as caught up.
#[tokio::test]
async fn a_run_that_did_not_read_every_payment_is_not_caught_up() {
    let scene = Scene::<InMemoryStore>::new();
    let (watcher, _, outgoing) = watcher(&scene);
    let watcher = watcher.with_page_limit(1).with_max_pages(1);
    let sweeper = sweeper(&scene, Duration::from_secs(3600));
    // Due an hour ago.
    let tx = receive_at(&scene, "10", NOW - 7200).await;
    scene.record(
        PaymentKind::Payment,
        &scene.usdc,
        "1",
        Memo::Text("first".into()),
    );
    scene.pay(&tx, "10");
    let first = watcher.watch_payments().await.expect("run");
    assert_eq!((first.records, first.behind), (1, 1));
    assert!(!first.caught_up(), "expiring now could miss the payment");
    assert_eq!(caught_up_at(&*scene.store).await.unwrap(), None);
    assert_eq!(sweeper.sweep().await.expect("sweep").awaiting_watcher, 1);
    let second = watcher.watch_payments().await.expect("run");
    assert_eq!(second.matched, 1);
    assert_eq!(
        scene.get(&tx.id).await.status,
        TransactionStatus::PendingReceiver
    );
    assert_eq!(outgoing.messages().len(), 1);
    let last = watcher.watch_payments().await.expect("run");
    assert!(last.caught_up(), "{last:?}");
}

// ------------------------------------------------------------------------------------------
// Outgoing-payments worker
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_outcome_of_the_hook_is_written_and_a_redelivery_calls_nothing() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    let worker = outgoing_worker(&scene, rail.clone());

    let completed = paid_receive(&scene).await;
    assert_eq!(
        worker.process_outgoing(&message(&completed)).await.unwrap(),
        OutgoingProcessed::Completed
    );
    let done = scene.get(&completed.id).await;
    assert_eq!(done.status, TransactionStatus::Completed);
    assert_eq!(done.completed_at, Some(Timestamp::from_secs(NOW)));
    assert_eq!(
        done.external_transaction_id,
        Some(format!("SWIFT-{}", &completed.id[..8]))
    );

    rail.answer_outgoing(Ok(OutgoingOutcome::PendingExternal {
        external_transaction_id: Some("WIRE-7".into()),
    }));
    let external = paid_receive(&scene).await;
    assert_eq!(
        worker.process_outgoing(&message(&external)).await.unwrap(),
        OutgoingProcessed::PendingExternal
    );
    let sent = scene.get(&external.id).await;
    assert_eq!(sent.status, TransactionStatus::PendingExternal);
    assert_eq!(sent.external_transaction_id.as_deref(), Some("WIRE-7"));
    assert_eq!(sent.completed_at, None);

    rail.answer_outgoing(Ok(OutgoingOutcome::CustomerInfoNeeded {
        message: "The receiver's bank account number is invalid.".into(),
    }));
    let customer = paid_receive(&scene).await;
    assert_eq!(
        worker.process_outgoing(&message(&customer)).await.unwrap(),
        OutgoingProcessed::CustomerInfoNeeded
    );
    let waiting = scene.get(&customer.id).await;
    assert_eq!(waiting.status, TransactionStatus::PendingCustomerInfoUpdate);
    assert_eq!(
        waiting.required_info_message.as_deref(),
        Some("The receiver's bank account number is invalid.")
    );
    assert_eq!(waiting.payout_started_at, None, "the claim is cleared");

    rail.answer_outgoing(Ok(OutgoingOutcome::TransactionInfoNeeded {
        message: "The purpose of the payment is missing.".into(),
        fields: [(
            "purpose".to_owned(),
            InfoField::new("why the payment is made"),
        )]
        .into(),
    }));
    let fields = paid_receive(&scene).await;
    assert_eq!(
        worker.process_outgoing(&message(&fields)).await.unwrap(),
        OutgoingProcessed::TransactionInfoNeeded
    );
    let patching = scene.get(&fields.id).await;
    assert_eq!(
        patching.status,
        TransactionStatus::PendingTransactionInfoUpdate
    );
    assert_eq!(
        patching.required_info_message.as_deref(),
        Some("The purpose of the payment is missing.")
    );
    assert_eq!(
        patching.required_info_updates,
        Some(serde_json::json!({
            "transaction": {"purpose": {"description": "why the payment is made"}}
        }))
    );
    assert_eq!(patching.payout_started_at, None);

    // Redeliveries change nothing and call nothing.
    for tx in [&completed, &external, &customer, &fields] {
        let before = scene.get(&tx.id).await;
        assert_eq!(
            worker.process_outgoing(&message(tx)).await.unwrap(),
            OutgoingProcessed::NothingToDo {
                status: Some(before.status)
            }
        );
        assert_eq!(scene.get(&tx.id).await.version, before.version);
        assert_eq!(rail.outgoing_calls(&tx.id), 1);
    }

    // Once SEP-12 has the receiver fixed (back to pending_receiver, queued again), the payout
    // is made afresh: the claim was cleared.
    let mut fixed = scene.get(&customer.id).await;
    fixed.status = TransactionStatus::PendingReceiver;
    fixed.required_info_message = None;
    scene
        .store
        .update(&mut fixed, TransactionStatus::PendingCustomerInfoUpdate)
        .await
        .unwrap();
    assert_eq!(
        worker.process_outgoing(&message(&customer)).await.unwrap(),
        OutgoingProcessed::Completed
    );
    assert_eq!(rail.outgoing_calls(&customer.id), 2);

    // Messages for what is not a paid SEP-31 transaction are acknowledged.
    let unpaid = receive(&scene, "5").await;
    assert_eq!(
        worker.process_outgoing(&message(&unpaid)).await.unwrap(),
        OutgoingProcessed::NothingToDo {
            status: Some(TransactionStatus::PendingSender)
        }
    );
    let mut withdrawal = scene.withdrawal("5").await;
    withdrawal.status = TransactionStatus::PendingAnchor;
    scene
        .store
        .update(&mut withdrawal, TransactionStatus::PendingUserTransferStart)
        .await
        .unwrap();
    assert_eq!(
        worker
            .process_outgoing(&QueueMessage::new(withdrawal.id.clone(), Kind::Withdrawal))
            .await
            .unwrap(),
        OutgoingProcessed::NothingToDo {
            status: Some(TransactionStatus::PendingAnchor)
        }
    );
    assert_eq!(
        worker
            .process_outgoing(&QueueMessage::new("nope", Kind::Receive))
            .await
            .unwrap(),
        OutgoingProcessed::NothingToDo { status: None }
    );
    assert_eq!(rail.total_outgoing_calls(), 5);
    assert_eq!(rail.total_calls(), 0, "process_withdrawal never called");
}

#[tokio::test]
async fn concurrent_deliveries_pay_the_receiver_once() {
    let scene = Scene::<YieldingStore>::new();
    let rail = Arc::new(Rail::default());
    let worker = outgoing_worker(&scene, rail.clone());
    let tx = paid_receive(&scene).await;
    let delivery = message(&tx);
    let (a, b) = tokio::join!(
        worker.process_outgoing(&delivery),
        worker.process_outgoing(&delivery)
    );
    let outcomes = [a, b];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Ok(OutgoingProcessed::Completed)))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes.iter().all(|o| matches!(
        o,
        Ok(OutgoingProcessed::Completed)
            | Ok(OutgoingProcessed::NothingToDo { .. })
            | Err(WorkerError::Pending(_))
    )));
    assert!(matches!(
        worker.process_outgoing(&delivery).await,
        Ok(OutgoingProcessed::NothingToDo { .. })
    ));
    assert_eq!(rail.outgoing_calls(&tx.id), 1);
    assert_eq!(scene.get(&tx.id).await.status, TransactionStatus::Completed);
}

#[tokio::test]
async fn a_claim_without_an_outcome_is_never_paid_again_but_handed_to_the_operator() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    let worker = outgoing_worker(&scene, rail.clone());
    // A delivery claimed the payout and died before (or while) calling the hook.
    let tx = scene.claimed(paid_receive(&scene).await).await;
    // Redelivered soon: maybe still running; retried later, hook not called.
    scene.clock.set(NOW + 30);
    assert!(matches!(
        worker.process_outgoing(&message(&tx)).await,
        Err(WorkerError::Pending(_))
    ));
    // Later: the outcome is unknown; the operator takes over.
    scene.clock.set(NOW + DEFAULT_STALE_CLAIM_SECS + 1);
    assert_eq!(
        worker.process_outgoing(&message(&tx)).await.unwrap(),
        OutgoingProcessed::HandedToOperator
    );
    let held = scene.get(&tx.id).await;
    assert_eq!(held.status, TransactionStatus::PendingExternal);
    assert!(held.status_message.is_some());
    assert!(matches!(
        worker.process_outgoing(&message(&tx)).await,
        Ok(OutgoingProcessed::NothingToDo { .. })
    ));
    assert_eq!(rail.total_outgoing_calls(), 0);
    // The payout poller can still confirm it through the rail.
    *rail.settled.lock().unwrap() = vec![tx.id.clone()];
    scene
        .processor(rail.clone())
        .complete_external_withdrawals()
        .await
        .unwrap();
    assert_eq!(scene.get(&tx.id).await.status, TransactionStatus::Completed);
    assert_eq!(rail.total_outgoing_calls(), 0);
}

#[tokio::test]
async fn an_unavailable_rail_releases_the_claim_and_other_errors_end_in_error() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    let worker = outgoing_worker(&scene, rail.clone());

    // Unavailable: nothing was paid; the claim is released and the message retried.
    rail.answer_outgoing(Err(IntegrationError::Unavailable("bank down".into())));
    let later = paid_receive(&scene).await;
    assert!(matches!(
        worker.process_outgoing(&message(&later)).await,
        Err(WorkerError::Integration(IntegrationError::Unavailable(_)))
    ));
    let waiting = scene.get(&later.id).await;
    assert_eq!(waiting.status, TransactionStatus::PendingReceiver);
    assert_eq!(waiting.payout_started_at, None);
    assert_eq!(
        worker.process_outgoing(&message(&later)).await.unwrap(),
        OutgoingProcessed::Completed
    );
    assert_eq!(rail.outgoing_calls(&later.id), 2);

    rail.answer_outgoing(Err(IntegrationError::invalid(
        "the receiver's account is closed",
    )));
    let refused = paid_receive(&scene).await;
    assert_eq!(
        worker.process_outgoing(&message(&refused)).await.unwrap(),
        OutgoingProcessed::Failed
    );
    let refused_now = scene.get(&refused.id).await;
    assert_eq!(refused_now.status, TransactionStatus::Error);
    assert_eq!(
        refused_now.status_message.as_deref(),
        Some("the receiver's account is closed")
    );

    rail.answer_outgoing(Err(IntegrationError::Internal(
        "db password=hunter2".into(),
    )));
    let broken = paid_receive(&scene).await;
    assert_eq!(
        worker.process_outgoing(&message(&broken)).await.unwrap(),
        OutgoingProcessed::Failed
    );
    let broken_now = scene.get(&broken.id).await;
    assert_eq!(broken_now.status, TransactionStatus::Error);
    assert_eq!(
        broken_now.status_message.as_deref(),
        Some(PAYOUT_FAILED_MESSAGE)
    );

    // A redelivery after an error calls nothing.
    worker.process_outgoing(&message(&refused)).await.unwrap();
    assert_eq!(rail.outgoing_calls(&refused.id), 1);
}

#[tokio::test]
async fn stalled_outgoing_payments_are_recovered_on_schedule() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    let worker = outgoing_worker(&scene, rail.clone());
    let queue = InMemoryQueue::default();
    let lost = paid_receive(&scene).await;
    let claimed = scene.claimed(paid_receive(&scene).await).await;
    // Too recent: nothing.
    let report = worker.recover_stalled_outgoing(&queue).await.unwrap();
    assert_eq!(report, RecoveryReport::default());
    scene.clock.set(NOW + DEFAULT_STALE_CLAIM_SECS);
    let report = worker.recover_stalled_outgoing(&queue).await.unwrap();
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
    worker.process_outgoing(&message(&lost)).await.unwrap();
    assert_eq!(
        scene.get(&lost.id).await.status,
        TransactionStatus::Completed
    );
    assert_eq!(rail.outgoing_calls(&claimed.id), 0);
}

// ------------------------------------------------------------------------------------------
// Payout poller
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_payout_poller_completes_sep31_payouts_the_rail_confirms() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    let worker = outgoing_worker(&scene, rail.clone());
    let mut sent = Vec::new();
    for _ in 0..2 {
        rail.answer_outgoing(Ok(OutgoingOutcome::PendingExternal {
            external_transaction_id: Some("WIRE-1".into()),
        }));
        let tx = paid_receive(&scene).await;
        worker.process_outgoing(&message(&tx)).await.unwrap();
        sent.push(tx);
    }
    let poller = scene.processor(rail.clone());
    let report = poller.complete_external_withdrawals().await.unwrap();
    assert_eq!((report.checked, report.completed), (2, 0));
    *rail.settled.lock().unwrap() = vec![sent[0].id.clone()];
    let report = poller.complete_external_withdrawals().await.unwrap();
    assert_eq!((report.checked, report.completed), (2, 1));
    let done = scene.get(&sent[0].id).await;
    assert_eq!(done.status, TransactionStatus::Completed);
    assert_eq!(done.external_transaction_id.as_deref(), Some("SETTLED"));
    assert!(done.completed_at.is_some());
    assert_eq!(
        scene.get(&sent[1].id).await.status,
        TransactionStatus::PendingExternal
    );
    assert_eq!(rail.total_outgoing_calls(), 2);
    assert_eq!(rail.total_calls(), 0);
}

// ------------------------------------------------------------------------------------------
// What the sending anchor hears (the callbacks the table's stream carries)
// ------------------------------------------------------------------------------------------

/// A scene whose store keeps its change stream (what the callback dispatcher reads).
fn streaming_scene() -> Scene<InMemoryStore> {
    Scene {
        store: Arc::new(InMemoryStore::with_stream()),
        ..Scene::new()
    }
}

/// The sending anchor gives its callback URL (`PUT /transactions/:id/callback`).
async fn give_callback_url(scene: &Scene<InMemoryStore>, tx: &Transaction) {
    let mut with_url = scene.get(&tx.id).await;
    with_url.callback_url = Some("https://sender.example/cb".into());
    let status = with_url.status;
    scene.store.update(&mut with_url, status).await.unwrap();
}

/// The statuses the sending anchor hears of for transaction `id` since the last call (the
/// callbacks the store's writes call for).
fn heard(scene: &Scene<InMemoryStore>, id: &str) -> Vec<String> {
    heard_statuses(scene.store.take_stream())
        .into_iter()
        .filter(|(tx, _)| tx == id)
        .map(|(_, status)| status)
        .collect()
}

#[tokio::test]
async fn every_status_change_after_pending_sender_is_heard_once() {
    let scene = streaming_scene();
    let (watcher, _, outgoing) = watcher(&scene);
    watcher.watch_payments().await.expect("start");
    let tx = receive(&scene, "100").await;
    give_callback_url(&scene, &tx).await;
    assert!(
        heard(&scene, &tx.id).is_empty(),
        "not the URL, not pending_sender"
    );
    scene.pay(&tx, "100");
    watcher.watch_payments().await.expect("run");
    assert_eq!(heard(&scene, &tx.id), ["pending_receiver"]);

    // The rail asks for the receiver's data, then (fixed, queued again) starts the payout,
    // which the payout poller then sees done.
    let rail = Arc::new(Rail::default());
    let worker = outgoing_worker(&scene, rail.clone());
    rail.answer_outgoing(Ok(OutgoingOutcome::CustomerInfoNeeded {
        message: "the receiver's bank account was refused".into(),
    }));
    worker.process_outgoing(&message(&tx)).await.expect("first");
    let mut fixed = scene.get(&tx.id).await;
    fixed.status = TransactionStatus::PendingReceiver;
    scene
        .store
        .update(&mut fixed, TransactionStatus::PendingCustomerInfoUpdate)
        .await
        .unwrap();
    rail.answer_outgoing(Ok(OutgoingOutcome::PendingExternal {
        external_transaction_id: Some("WIRE-9".into()),
    }));
    worker.process_outgoing(&message(&tx)).await.expect("again");
    // A redelivery changes nothing and posts nothing.
    worker
        .process_outgoing(&message(&tx))
        .await
        .expect("redelivery");
    *rail.settled.lock().unwrap() = vec![tx.id.clone()];
    let poller = scene.processor(rail.clone());
    poller.complete_external_withdrawals().await.unwrap();
    poller.complete_external_withdrawals().await.unwrap();
    assert_eq!(
        heard(&scene, &tx.id),
        [
            "pending_customer_info_update",
            "pending_receiver",
            "pending_external",
            "completed"
        ]
    );
    assert_eq!(outgoing.messages().len(), 1);
}

#[tokio::test]
async fn an_expired_transaction_is_heard_once() {
    let scene = streaming_scene();
    let (watcher, _, _) = watcher(&scene);
    let sweeper = sweeper(&scene, Duration::from_secs(86_400));
    let tx = receive(&scene, "10").await;
    give_callback_url(&scene, &tx).await;
    scene.clock.set(NOW + 86_400 + STELLAR_GRACE.as_secs());
    watcher.watch_payments().await.unwrap();
    sweeper.sweep().await.unwrap();
    sweeper.sweep().await.unwrap();
    assert_eq!(heard(&scene, &tx.id), ["expired"]);
}
