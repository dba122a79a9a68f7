//! The submitter's Lambda handler over in-memory adapters: an SQS batch (fixture
//! `events/sqs_batch.json`) with the same deposit delivered twice and a malformed message.

use std::collections::BTreeMap;
use std::sync::Arc;

use mooring::clock::FixedClock;
use mooring::config::AnchorConfig;
use mooring::horizon::{Horizon, InMemoryHorizon, Submission};
use mooring::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::payments::{channel_accounts, channel_keypair};
use mooring::stellar::{
    build_signed, Amount, Asset, Keypair, Memo, Network, Outgoing, PaymentSpec,
};
use mooring::store::{InMemoryStore, TransactionStore};
use mooring::time::Timestamp;
use stellar_submitter::{SqsBatchResponse, SqsEvent};

const NOW: u64 = 1_700_000_000;

fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

struct Fixture {
    service: stellar_submitter::Service<InMemoryStore, InMemoryHorizon>,
    store: Arc<InMemoryStore>,
    ledger: Arc<InMemoryHorizon>,
    usdc: Asset,
}

async fn fixture() -> Fixture {
    let (issuer, distribution, channel_seed) = (key(30), key(20), key(10));
    let usdc = Asset::credit("USDC", issuer.account_id()).unwrap();
    let ledger = Arc::new(InMemoryHorizon::new(Network::testnet()));
    ledger.set_now(NOW);
    for account in [issuer.account_id(), distribution.account_id()]
        .into_iter()
        .chain(channel_accounts(&channel_seed, 2))
    {
        ledger.fund(account, amount("100"));
    }
    ledger.add_trustline(&distribution.account_id(), &usdc, amount("1000000"), true);
    let issue = PaymentSpec {
        source: issuer.account_id(),
        sequence: (1i64 << 32) + 1,
        fee_per_op: 100,
        time_bounds: (0, 0),
        memo: Memo::None,
        operation_source: issuer.account_id(),
        operations: vec![Outgoing::Payment {
            destination: distribution.account_id().into(),
            asset: usdc.clone(),
            amount: amount("10000"),
        }],
    };
    let signed = build_signed(&issue, ledger.network(), &[&issuer]).unwrap();
    assert!(matches!(
        ledger.submit(&signed.envelope_xdr).await,
        Ok(Submission::Applied { .. })
    ));
    let assets = format!(
        r#"[{{"code":"USDC","issuer":"{}","distribution_account":"{}","seps":["sep24"],
             "deposit":{{"fee_fixed":1}},"withdraw":{{}}}}]"#,
        issuer.account_id(),
        distribution.account_id()
    );
    let settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &key(1).account_id().to_string()),
        ("ASSETS", &assets),
        ("DISTRIBUTION_SEED", &distribution.secret_seed()),
        ("CHANNEL_SEED", &channel_seed.secret_seed()),
        ("CHANNEL_COUNT", "2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect();
    let store = Arc::new(InMemoryStore::default());
    let service = stellar_submitter::service(
        &settings,
        &AnchorConfig::from_source(&settings).unwrap(),
        stellar_submitter::Ports {
            store: store.clone(),
            horizon: ledger.clone(),
            clock: Arc::new(FixedClock::at(NOW)),
        },
    )
    .unwrap();
    Fixture {
        service,
        store,
        ledger,
        usdc,
    }
}

fn event(deposit_id: &str) -> SqsEvent {
    let json = include_str!("events/sqs_batch.json").replace("__DEPOSIT__", deposit_id);
    serde_json::from_str(&json).unwrap()
}

#[tokio::test]
async fn a_batch_pays_the_deposit_once_and_reports_only_the_malformed_message() {
    let f = fixture().await;
    let user = key(40).account_id();
    f.ledger.fund(user, amount("10"));
    f.ledger
        .add_trustline(&user, &f.usdc, amount("1000000"), true);
    let mut deposit = Transaction::new(
        Protocol::Sep24,
        Kind::Deposit,
        TransactionStatus::PendingAnchor,
        UserKey {
            account: user,
            memo: None,
        },
        f.usdc.clone(),
        Timestamp::from_secs(NOW - 10),
    );
    deposit.to = Some(user.to_string());
    deposit.amount_in = Some(amount("100"));
    deposit.amount_out = Some(amount("99"));
    f.store.insert(&deposit).await.unwrap();

    let response = stellar_submitter::handle(&f.service, event(&deposit.id)).await;
    assert_eq!(
        response.failed_ids(),
        ["a1b2c3d4-0000-4000-8000-00000000beef"]
    );
    let stored = f.store.get(&deposit.id).await.unwrap().unwrap();
    assert_eq!(stored.status, TransactionStatus::Completed);
    assert!(stored.stellar_transaction_id.is_some());
    assert_eq!(f.ledger.balance(&user, &f.usdc), Some(amount("99")));

    // Delivered again: nothing more is paid.
    let again = stellar_submitter::handle(&f.service, event(&deposit.id)).await;
    assert_eq!(again.failed_ids().len(), 1);
    assert_eq!(f.ledger.balance(&user, &f.usdc), Some(amount("99")));
}

#[test]
fn the_response_is_the_partial_batch_response_lambda_reads() {
    let response = SqsBatchResponse::failed(["m-1".to_owned()]);
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]})
    );
    assert_eq!(
        serde_json::to_value(SqsBatchResponse::default()).unwrap(),
        serde_json::json!({"batchItemFailures": []})
    );
}

/// The derivation the local stack reimplements in Python (infra/local_stack/channels.py,
/// tests/e2e/test_channels.py checks the same vector).
#[test]
fn channel_accounts_match_the_python_derivation() {
    let seed = Keypair::from_seed_bytes([1; 32]);
    assert_eq!(
        seed.secret_seed().as_str(),
        "SAAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQC5MY"
    );
    let expected = [
        (
            0,
            "GDT22VM2HOH7GQGFOLUGAA4PZZGXOSFM2MTOXEQHOMUUJETDO7TAMR6P",
        ),
        (
            1,
            "GADCC36E5MX4FKV3SOJ4PU4G7WCLJEARRFIUESQKDSNIZVPPMEYM4IXI",
        ),
        (
            7,
            "GD7ZZB7C7LVX6YTFJD3LTYN2YKEX5HWF5FQA4YD2Q43JUEDTF6LBM2BF",
        ),
    ];
    for (index, account) in expected {
        assert_eq!(
            channel_keypair(&seed, index).account_id().to_string(),
            account
        );
    }
}

#[tokio::test]
async fn a_batch_refunds_a_withdrawal_once() {
    use mooring::model::{PendingRefund, StellarRefund};
    let f = fixture().await;
    let user = key(41).account_id();
    f.ledger.fund(user, amount("10"));
    f.ledger
        .add_trustline(&user, &f.usdc, amount("1000000"), true);
    // A withdrawal paid with 15 USDC and held, its refund requested (as `request_refund`
    // leaves it).
    let mut withdrawal = Transaction::new(
        Protocol::Sep24,
        Kind::Withdrawal,
        TransactionStatus::PendingStellar,
        UserKey {
            account: user,
            memo: None,
        },
        f.usdc.clone(),
        Timestamp::from_secs(NOW - 10),
    );
    withdrawal.amount_in = Some(amount("15"));
    withdrawal.stellar_transaction_id = Some("ab".repeat(32));
    withdrawal.pending_refund = Some(PendingRefund {
        amount: amount("15"),
        stellar: Some(StellarRefund {
            destination: user.to_string(),
            memo_type: "id".into(),
            memo: Some("9".into()),
        }),
        full: true,
        from: TransactionStatus::OnHold,
        requested_by: "operator:alice".into(),
        requested_at: Timestamp::from_secs(NOW - 5),
        reason: "wrong amount".into(),
        started_at: None,
    });
    f.store.insert(&withdrawal).await.unwrap();

    let json = include_str!("events/sqs_batch.json")
        .replace("__DEPOSIT__", &withdrawal.id)
        .replace(r#"\"kind\":\"deposit\""#, r#"\"kind\":\"withdrawal\""#);
    let event: SqsEvent = serde_json::from_str(&json).unwrap();
    let response = stellar_submitter::handle(&f.service, event).await;
    assert_eq!(
        response.failed_ids(),
        ["a1b2c3d4-0000-4000-8000-00000000beef"]
    );
    let stored = f.store.get(&withdrawal.id).await.unwrap().unwrap();
    assert_eq!(stored.status, TransactionStatus::Refunded);
    assert_eq!(stored.pending_refund, None);
    let refunds = stored.refunds.expect("refunds");
    assert_eq!(refunds.amount_refunded, amount("15"));
    assert_eq!(refunds.payments.len(), 1, "refunded once");
    assert_eq!(f.ledger.balance(&user, &f.usdc), Some(amount("15")));
}
