//! The direct calls against a fake DynamoDB: the same JSON the SDK sends, and the SDK taking
//! over whatever the direct attempt does not get a clear answer to. (The emulator tests run both
//! paths through the conformance suite.)

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::aws::direct::tests::{fake_service, sdk_config, Answering, Received};
use crate::model::UserKey;
use crate::stellar::Keypair;
use crate::store::dynamodb::{DynamoStore, TableNames};
use crate::store::{ChallengeStore, StoreError, TransactionQuery, TransactionStore};
use crate::time::Timestamp;

fn tables() -> TableNames {
    TableNames {
        transactions: "transactions".into(),
        customers: "customers".into(),
        challenges: "challenges".into(),
        worker_state: None,
        payments: None,
        quotes: None,
    }
}

/// A store on the fake service (direct calls on), and the SDK-only store of the same service.
async fn stores(answer: Arc<Answering>) -> (DynamoStore, DynamoStore, Arc<Mutex<Vec<Received>>>) {
    let (endpoint, received) = fake_service(answer).await;
    let sdk = sdk_config(&endpoint, None).await;
    let direct = DynamoStore::with_config(&sdk, tables()).expect("store");
    assert!(direct.direct.is_some(), "an emulator endpoint is plain");
    let sdk_only = DynamoStore::new(crate::aws::dynamodb_client(&sdk), tables());
    (direct, sdk_only, received)
}

fn taken(received: &Mutex<Vec<Received>>) -> Vec<Received> {
    std::mem::take(&mut *received.lock().expect("log"))
}

fn json(request: &Received) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

fn listing() -> TransactionQuery {
    TransactionQuery {
        user: UserKey {
            account: Keypair::from_seed_bytes([7; 32]).account_id(),
            memo: Some(42),
        },
        protocol: None,
        asset_code: None,
        kinds: Vec::new(),
        no_older_than: Some(Timestamp::from_millis(1_700_000_000_000)),
        limit: 3,
        cursor: None,
        before: None,
    }
}

#[tokio::test]
async fn direct_calls_send_what_the_sdk_sends() {
    let (direct, sdk_only, received) = stores(Arc::new(|request| {
        let target = request.header("x-amz-target").unwrap_or_default();
        let body = if target.ends_with(".Query") {
            r#"{"Items":[],"Count":0,"ScannedCount":0}"#
        } else {
            "{}"
        };
        (200, body.into())
    }))
    .await;

    for store in [&direct, &sdk_only] {
        let page = store.list_for_user(&listing()).await.expect("listing");
        assert!(page.items.is_empty() && page.next.is_none());
        assert_eq!(store.get("t-1").await.expect("get"), None);
        assert!(store
            .consume("challenge-hash", Timestamp::from_millis(1_700_000_000_500))
            .await
            .expect("consume"));
    }
    let requests = taken(&received);
    let (ours, sdks) = requests.split_at(3);
    assert!(ours.iter().all(|r| !r.sent_by_the_sdk()));
    assert!(sdks.iter().all(Received::sent_by_the_sdk));
    for (ours, sdk) in ours.iter().zip(sdks) {
        assert_eq!(ours.header("x-amz-target"), sdk.header("x-amz-target"));
        let (mut ours, mut sdk) = (json(ours), json(sdk));
        // The consume's clock reading, a second apart at most.
        for body in [&mut ours, &mut sdk] {
            if let Some(now) = body.pointer_mut("/ExpressionAttributeValues/:now/N") {
                assert!(now.as_str().and_then(|n| n.parse::<i64>().ok()).is_some());
                *now = Value::Null;
            }
        }
        assert_eq!(ours, sdk);
    }
    assert_eq!(direct.direct_calls(), Some((3, 0)));
}

#[tokio::test]
async fn what_a_direct_call_gets_no_clear_answer_to_goes_through_the_sdk() {
    let answers = Arc::new(Mutex::new(vec![
        // An item of an attribute type the direct path does not read.
        (200, r#"{"Item":{"id":{"SS":["a","b"]}}}"#),
        // A server error.
        (
            500,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError"}"#,
        ),
        // Not JSON.
        (200, "<html>"),
    ]));
    let (direct, _, received) = stores(Arc::new(move |request| {
        if request.sent_by_the_sdk() {
            return (200, "{}".into());
        }
        let (status, body) = answers.lock().expect("answers").remove(0);
        (status, body.into())
    }))
    .await;
    for _ in 0..3 {
        assert_eq!(direct.get("t-1").await.expect("the SDK's answer"), None);
        let requests = taken(&received);
        assert_eq!(requests.len(), 2, "the direct attempt, then the SDK's");
        assert!(!requests[0].sent_by_the_sdk() && requests[1].sent_by_the_sdk());
        assert_eq!(json(&requests[0]), json(&requests[1]));
    }
}

#[tokio::test]
async fn a_write_refused_on_its_condition_is_not_sent_again() {
    let (direct, _, received) = stores(Arc::new(|_| {
        (
            400,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#.into(),
        )
    }))
    .await;
    assert!(!direct
        .consume("challenge-hash", Timestamp::now())
        .await
        .expect("answered"));
    assert_eq!(taken(&received).len(), 1);

    // Refused for another reason: the SDK sends it again, and its error is the answer.
    let (direct, _, received) = stores(Arc::new(|_| {
        (
            400,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#.into(),
        )
    }))
    .await;
    match direct.consume("challenge-hash", Timestamp::now()).await {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("ResourceNotFoundException"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let requests = taken(&received);
    assert_eq!(requests.len(), 2);
    assert!(requests[1].sent_by_the_sdk());
}
