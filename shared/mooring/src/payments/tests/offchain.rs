//! Off-chain money that pays no deposit, through the deposit poller over the in-memory store and
//! the stub rail's feed: each is recorded once for the operator, what paid a deposit is not, and
//! a transfer that may still pay a waiting deposit waits until every waiting deposit was polled
//! after it arrived.

use std::sync::Arc;

use super::*;
use crate::integrations::TransferClaim;
use crate::model::{OffChainTransfer, PaymentOutcome};
use crate::payments::offchain::FEED_CURSOR;
use crate::payments::DepositPoller;

fn poller(
    scene: &Scene<InMemoryStore>,
    rail: &Arc<Rail>,
) -> DepositPoller<InMemoryStore, InMemoryQueue, Rail> {
    DepositPoller::new(
        scene.store.clone(),
        Arc::new(InMemoryQueue::default()),
        rail.clone(),
        scene.assets.clone(),
        scene.clock.clone(),
    )
}

/// A transfer of the feed: `id`, 25 USD with `reference`, received at `received` (seconds).
fn transfer(id: &str, reference: &str, received: u64, claim: TransferClaim) -> IncomingTransfer {
    IncomingTransfer {
        transfer: OffChainTransfer {
            id: id.into(),
            reference: Some(reference.into()),
            amount: amount("25"),
            currency: Some("USD".into()),
            sender: Some("DE89370400440532013000".into()),
        },
        cursor: format!("after-{id}"),
        received_at: Timestamp::from_secs(received),
        claim,
    }
}

/// Where the poller's reading of the rail's feed stands.
async fn feed_position(scene: &Scene<InMemoryStore>) -> String {
    let stored = scene.store.cursor(FEED_CURSOR).await.expect("cursor");
    stored.expect("saved").value
}

/// A SEP-24 deposit of the scene's user in `status`.
async fn deposit(scene: &Scene<InMemoryStore>, status: TransactionStatus) -> Transaction {
    let t = Transaction::new(
        Protocol::Sep24,
        Kind::Deposit,
        status,
        UserKey {
            account: scene.user.account_id(),
            memo: None,
        },
        scene.usdc.clone(),
        Timestamp::from_secs(NOW - 3_600),
    );
    scene.store.insert(&t).await.expect("insert");
    t
}

#[tokio::test]
async fn money_that_pays_no_deposit_is_recorded_once_for_the_operator() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    // Paid by transfer bank-1 long ago.
    let mut completed = deposit(&scene, TransactionStatus::Completed).await;
    completed.external_transaction_id = Some("bank-1".into());
    scene
        .store
        .update(&mut completed, TransactionStatus::Completed)
        .await
        .unwrap();
    // Waiting: its funds arrive as bank-4.
    let waiting = deposit(&scene, TransactionStatus::PendingUserTransferStart).await;
    *rail.arrived.lock().unwrap() = vec![ReceivedDeposit {
        transaction_id: waiting.id.clone(),
        amount_in: amount("25"),
        amount_fee: None,
        external_transaction_id: Some("bank-4".into()),
    }];
    *rail.feed.lock().unwrap() = vec![
        transfer(
            "bank-1",
            "MOOR-AAAA1111",
            NOW - 7_200,
            TransferClaim::MayPayDeposit,
        ),
        transfer(
            "bank-2",
            "MOOR-AAAA1111",
            NOW - 900,
            TransferClaim::Repeats {
                first: "bank-1".into(),
            },
        ),
        transfer(
            "bank-3",
            "rent for May",
            NOW - 800,
            TransferClaim::NamesNoDeposit,
        ),
        transfer(
            "bank-4",
            "MOOR-BBBB2222",
            NOW - 700,
            TransferClaim::MayPayDeposit,
        ),
        // A reference no deposit waiting has (a typo, or one that expired).
        transfer(
            "bank-5",
            "MOOR-CCCC3333",
            NOW - 600,
            TransferClaim::MayPayDeposit,
        ),
        // Arrived just now: a waiting deposit may still take it on the next poll.
        transfer("bank-6", "MOOR-DDDD4444", NOW, TransferClaim::MayPayDeposit),
    ];

    // Two pollers at once: each transfer is recorded once.
    let (p1, p2) = (poller(&scene, &rail), poller(&scene, &rail));
    let (r1, r2) = tokio::join!(p1.poll_deposits(), p2.poll_deposits());
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!(r1.queued + r2.queued, 1, "the waiting deposit took bank-4");
    assert_eq!(
        r1.unmatched_transfers + r2.unmatched_transfers,
        3,
        "{r1:?} {r2:?}"
    );
    let attention = scene.attention().await;
    let recorded: Vec<(&str, PaymentOutcome)> = attention
        .iter()
        .map(|p| (p.transaction_hash.as_str(), p.outcome))
        .collect();
    assert_eq!(
        recorded,
        [
            ("bank-2", PaymentOutcome::Duplicate),
            ("bank-3", PaymentOutcome::Unmatched),
            ("bank-5", PaymentOutcome::Unmatched),
        ]
    );
    let repeat = &attention[0];
    assert_eq!(repeat.id, "offchain:bank-2");
    assert_eq!(
        repeat.transaction_id.as_deref(),
        Some(completed.id.as_str())
    );
    assert!(repeat
        .note
        .as_deref()
        .unwrap()
        .contains("transfer bank-1 paid deposit"));
    let off_chain = repeat.off_chain.as_ref().unwrap();
    assert_eq!(off_chain.reference.as_deref(), Some("MOOR-AAAA1111"));
    assert_eq!(off_chain.amount, amount("25"));
    assert_eq!(repeat.memo.as_deref(), Some("MOOR-AAAA1111"));
    assert_eq!((repeat.account, &repeat.asset), (scene.dist(), &scene.usdc));
    assert_eq!(repeat.created_at, Timestamp::from_secs(NOW - 900));
    // The feed's position stays before the transfer not decided yet.
    assert_eq!(feed_position(&scene).await, "after-bank-5");

    // A minute later every waiting deposit was polled after bank-6 arrived, and none took it.
    scene.clock.set(NOW + 120);
    let report = poller(&scene, &rail).poll_deposits().await.unwrap();
    assert_eq!(
        (report.transfers, report.unmatched_transfers),
        (1, 1),
        "{report:?}"
    );
    let last = scene
        .store
        .get_payment("offchain:bank-6")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.outcome, PaymentOutcome::Unmatched);
    assert_eq!(feed_position(&scene).await, "after-bank-6");
    // Nothing new: nothing read, nothing recorded twice.
    let report = poller(&scene, &rail).poll_deposits().await.unwrap();
    assert_eq!((report.transfers, report.unmatched_transfers), (0, 0));
    assert_eq!(scene.attention().await.len(), 4);
    assert!(scene
        .store
        .get_payment("offchain:bank-1")
        .await
        .unwrap()
        .is_none());
    assert!(scene
        .store
        .get_payment("offchain:bank-4")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_rail_without_a_feed_reports_no_transfers() {
    let scene = Scene::<InMemoryStore>::new();
    let rail = Arc::new(Rail::default());
    let report = poller(&scene, &rail).poll_deposits().await.unwrap();
    assert_eq!((report.transfers, report.unmatched_transfers), (0, 0));
    assert!(scene.store.cursor(FEED_CURSOR).await.unwrap().is_none());
}
