//! The payment watcher's Lambda handler over in-memory adapters: a schedule event fixture, and
//! an operator's invocation with smaller pages.

use std::collections::BTreeMap;
use std::sync::Arc;

use mooring::clock::FixedClock;
use mooring::config::AnchorConfig;
use mooring::horizon::InMemoryHorizon;
use mooring::queue::InMemoryQueue;
use mooring::stellar::{Keypair, Network};
use mooring::store::InMemoryStore;

const NOW: u64 = 1_700_000_000;

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

#[tokio::test]
async fn a_run_watches_each_receiving_account() {
    let distribution = key(20).account_id();
    let ledger = Arc::new(InMemoryHorizon::new(Network::testnet()));
    ledger.fund(distribution, "100".parse().unwrap());
    let assets = format!(
        r#"[{{"code":"USDC","issuer":"{}","distribution_account":"{distribution}","seps":["sep24"],
             "withdraw":{{"fee_fixed":0.5}}}}]"#,
        key(30).account_id()
    );
    let settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &key(1).account_id().to_string()),
        ("ASSETS", &assets),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect();
    let service = payment_watcher::service(
        &settings,
        &AnchorConfig::from_source(&settings).unwrap(),
        payment_watcher::Ports {
            store: Arc::new(InMemoryStore::default()),
            horizon: ledger,
            withdrawals: Arc::new(InMemoryQueue::default()),
            outgoing: Arc::new(InMemoryQueue::default()),
            clock: Arc::new(FixedClock::at(NOW)),
        },
    )
    .unwrap();
    assert_eq!(service.watcher().receiving_accounts(), [distribution]);
    let event: serde_json::Value =
        serde_json::from_str(include_str!("events/schedule.json")).unwrap();
    let report = payment_watcher::handle(&service, event).await.unwrap();
    assert_eq!(report["accounts"], 1);
    assert_eq!(report["records"], 0);
    let knobs = serde_json::json!({"page_limit": 2, "max_pages": 1});
    let report = payment_watcher::handle(&service, knobs).await.unwrap();
    assert_eq!(report["accounts"], 1);
}

/// A run that read every account to its end is noted for the expiry sweeper, which ends the
/// withdrawals and SEP-31 transactions never paid only once the watcher read past their deadline.
#[tokio::test]
async fn a_run_that_caught_up_is_noted_for_the_expiry_sweeper() {
    use mooring::horizon::{PaymentKind, PaymentRecord};
    use mooring::payments::watcher::caught_up_at;
    use mooring::stellar::{Asset, Memo};
    use mooring::time::Timestamp;

    let distribution = key(20).account_id();
    let issuer = key(30).account_id();
    let ledger = Arc::new(InMemoryHorizon::new(Network::testnet()));
    ledger.fund(distribution, "100".parse().unwrap());
    let assets = format!(
        r#"[{{"code":"USDC","issuer":"{issuer}","distribution_account":"{distribution}","seps":["sep24"],
             "withdraw":{{"fee_fixed":0.5}}}}]"#
    );
    let settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &key(1).account_id().to_string()),
        ("ASSETS", &assets),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect();
    let store = Arc::new(InMemoryStore::default());
    let clock = Arc::new(FixedClock::at(NOW));
    let service = payment_watcher::service(
        &settings,
        &AnchorConfig::from_source(&settings).unwrap(),
        payment_watcher::Ports {
            store: store.clone(),
            horizon: ledger.clone(),
            withdrawals: Arc::new(InMemoryQueue::default()),
            outgoing: Arc::new(InMemoryQueue::default()),
            clock: clock.clone(),
        },
    )
    .unwrap();
    let event: serde_json::Value =
        serde_json::from_str(include_str!("events/schedule.json")).unwrap();
    let report = payment_watcher::handle(&service, event.clone())
        .await
        .unwrap();
    assert_eq!(report["caught_up"], true, "{report}");
    assert_eq!(
        caught_up_at(&*store).await.unwrap(),
        Some(Timestamp::from_secs(NOW))
    );

    // Two payments, a run reading one: behind, so nothing new is noted.
    let usdc = Asset::credit("USDC", issuer).unwrap();
    for (n, memo) in [(1u8, "a"), (2, "b")] {
        ledger.record_payment(PaymentRecord {
            id: String::new(),
            paging_token: String::new(),
            kind: PaymentKind::Payment,
            successful: true,
            transaction_hash: hex_of(n),
            from: Some(key(40).account_id()),
            to: Some(distribution),
            to_muxed_id: None,
            asset: Some(usdc.clone()),
            amount: Some("1".parse().unwrap()),
            memo: Memo::Text(memo.into()),
            return_memo: None,
            fee_bump: false,
            created_at: Timestamp::from_secs(NOW),
        });
    }
    clock.set(NOW + 60);
    let knobs = serde_json::json!({"page_limit": 1, "max_pages": 1});
    let report = payment_watcher::handle(&service, knobs).await.unwrap();
    assert_eq!(report["caught_up"], false, "{report}");
    assert_eq!(
        caught_up_at(&*store).await.unwrap(),
        Some(Timestamp::from_secs(NOW))
    );
    let report = payment_watcher::handle(&service, event).await.unwrap();
    assert_eq!(report["caught_up"], true, "{report}");
    assert_eq!(
        caught_up_at(&*store).await.unwrap(),
        Some(Timestamp::from_secs(NOW + 60))
    );
}

/// A 64-hex-digit Stellar transaction hash made of byte `n`.
fn hex_of(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}
