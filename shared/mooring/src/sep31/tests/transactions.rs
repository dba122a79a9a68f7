//! `GET /transactions/:id` (digest 7.3) in SEP-31's transaction object, the deprecated
//! `PATCH /transactions/:id` (7.4), `PUT /transactions/:id/callback` (7.5) and the signed
//! callback of a status change.

use super::*;
use crate::model::{withdraw_memo, FeeItem, Protocol, RefundPayment, Refunds};
use crate::time::Timestamp;

const CALLBACK: &str = "https://sender.example/cb";

fn patch_body(fields: Value) -> Value {
    json!({"fields": {"transaction": fields}})
}

#[tokio::test]
async fn a_sending_anchor_reads_its_transaction_in_sep31_shape() {
    let anchor = anchor();
    let id = anchor.open(ALICE).await;
    let answer = anchor.get(&id, ALICE).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(Answer::keys(&answer.body), ["transaction"]);
    assert_eq!(
        answer.body["transaction"],
        json!({
            "id": id,
            "status": "pending_sender",
            "status_message": "waiting for the sending anchor's payment",
            "amount_in": "100",
            "amount_in_asset": usdc_id(),
            "amount_out": "98.5",
            "amount_out_asset": usdc_id(),
            "amount_fee": "1.5",
            "amount_fee_asset": usdc_id(),
            "fee_details": {"total": "1.5", "asset": usdc_id()},
            "stellar_account_id": distribution(),
            "stellar_memo_type": "hash",
            "stellar_memo": withdraw_memo(&id),
            "started_at": STARTED,
            "updated_at": STARTED,
            // The sending anchor's payment is due within a day (EXPIRE_PENDING_SENDER_AFTER).
            "user_action_required_by": "2023-11-15T22:13:20.000Z",
            "stellar_transaction_id": null,
            "external_transaction_id": null,
        })
    );
}

#[tokio::test]
async fn another_partners_unknown_and_other_seps_transactions_are_not_found() {
    let anchor = anchor();
    let id = anchor.open(ALICE).await;
    let mut sep6 = Transaction::new(
        Protocol::Sep6,
        Kind::Withdrawal,
        TransactionStatus::PendingUserTransferStart,
        user(ALICE),
        usdc(),
        Timestamp::from_secs(NOW),
    );
    sep6.receiving_account = Some(account(102));
    anchor.store.insert(&sep6).await.expect("insert");
    let long = "x".repeat(300);
    for (id, seed) in [
        (id.as_str(), BOB),
        ("5f0e2bd2-3c8b-4a0e-9d1f-2a8f0c7e1b11", ALICE),
        (sep6.id.as_str(), ALICE),
        (long.as_str(), ALICE),
    ] {
        let answer = anchor.get(id, seed).await;
        assert_eq!(answer.status, 404, "{id}");
        assert_eq!(answer.body, json!({"error": "transaction not found"}));
    }
}

#[tokio::test]
async fn the_object_shows_later_states_and_hides_what_sep31_does_not_name() {
    let anchor = anchor();
    let id = anchor.open(ALICE).await;
    let mut t = anchor.stored(&id).await;
    let read = t.status;
    t.status = TransactionStatus::Refunded;
    t.status_eta = Some(3600);
    t.status_message = None;
    t.stellar_transaction_id = Some("ab".repeat(32));
    t.external_transaction_id = Some("payout-1".into());
    t.completed_at = Some(Timestamp::from_secs(NOW + 60));
    t.updated_at = Timestamp::from_secs(NOW + 60);
    t.fee_details.as_mut().unwrap().breakdown = vec![FeeItem {
        name: "service".into(),
        description: Some("the anchor's fee".into()),
        amount: "1.5".parse().unwrap(),
    }];
    t.refunds = Some(Refunds {
        amount_refunded: "100".parse().unwrap(),
        amount_fee: "0".parse().unwrap(),
        payments: vec![RefundPayment {
            id: "cd".repeat(32),
            id_type: "stellar".into(),
            amount: "100".parse().unwrap(),
            fee: "0".parse().unwrap(),
        }],
    });
    // Kept for the worker, not part of SEP-31's object.
    t.payout_account = Some("DE89370400440532013000".into());
    t.callback_url = Some(CALLBACK.into());
    t.required_info_updates = Some(json!({"receiver_account": {"description": "x"}}));
    anchor.store.update(&mut t, read).await.expect("update");

    let shown = &anchor.get(&id, ALICE).await.body["transaction"];
    assert_eq!(
        Answer::keys(shown),
        [
            "amount_fee",
            "amount_fee_asset",
            "amount_in",
            "amount_in_asset",
            "amount_out",
            "amount_out_asset",
            "completed_at",
            "external_transaction_id",
            "fee_details",
            "id",
            "refunds",
            "started_at",
            "status",
            "status_eta",
            "stellar_account_id",
            "stellar_memo",
            "stellar_memo_type",
            "stellar_transaction_id",
            "updated_at",
        ]
    );
    assert_eq!(shown["status"], "refunded");
    assert_eq!(shown["status_eta"], 3600);
    assert_eq!(shown["completed_at"], "2023-11-14T22:14:20.000Z");
    assert_eq!(shown["stellar_transaction_id"], "ab".repeat(32));
    assert_eq!(shown["external_transaction_id"], "payout-1");
    assert_eq!(
        shown["fee_details"],
        json!({"total": "1.5", "asset": usdc_id(), "details": [
            {"name": "service", "description": "the anchor's fee", "amount": "1.5"}]})
    );
    assert_eq!(
        shown["refunds"],
        json!({"amount_refunded": "100", "amount_fee": "0",
               "payments": [{"id": "cd".repeat(32), "amount": "100", "fee": "0"}]})
    );
}

#[tokio::test]
async fn patch_supplies_the_requested_fields_and_moves_on_to_pending_receiver() {
    let anchor = anchor();
    let id = anchor.open(ALICE).await;
    let put = anchor
        .put_callback(&id, ALICE, &json!({ "url": CALLBACK }))
        .await;
    assert_eq!(put.status, 204, "{}", put.text);
    anchor.ask_for_info(&id).await;

    let waiting = anchor.get(&id, ALICE).await.body["transaction"].clone();
    assert_eq!(waiting["status"], "pending_transaction_info_update");
    assert_eq!(
        waiting["required_info_message"],
        "The bank refused the account number"
    );
    assert_eq!(
        waiting["required_info_updates"],
        json!({"transaction": {
            "receiver_account": {"description": "the receiver's bank account number"},
            "receiver_routing": {"description": "the receiver's routing number", "optional": true},
        }})
    );

    let answer = anchor
        .patch(
            &id,
            ALICE,
            &patch_body(json!({"receiver_account": "DE89370400440532013000"})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let shown = &answer.body["transaction"];
    assert_eq!(shown["status"], "pending_receiver");
    for gone in [
        "required_info_message",
        "required_info_updates",
        "status_message",
    ] {
        assert!(shown.get(gone).is_none(), "{gone}: {shown}");
    }
    // The answer is the GET body.
    assert_eq!(answer.body, anchor.get(&id, ALICE).await.body);
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.status, TransactionStatus::PendingReceiver);
    assert_eq!(
        stored.payout_account.as_deref(),
        Some("DE89370400440532013000")
    );
    assert_eq!(stored.required_info_updates, None);
    assert_eq!(
        anchor.patches(),
        [BTreeMap::from([(
            "receiver_account".to_owned(),
            "DE89370400440532013000".to_owned()
        )])]
    );
    // Queued once for the outgoing payment.
    assert_eq!(
        anchor.queued(),
        [QueueMessage::new(id.clone(), Kind::Receive)]
    );
    // The sending anchor hears of each status change once: the wait, then the PATCH's.
    let callbacks = anchor.callbacks();
    assert_eq!(callbacks.len(), 2);
    assert_eq!(callbacks[1].url, CALLBACK);
    assert_eq!(callbacks[1].body, answer.text);

    // Nothing is pending any more.
    let again = anchor
        .patch(&id, ALICE, &patch_body(json!({"receiver_account": "1"})))
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(
        again.error(),
        "no update is pending: the transaction is pending_receiver"
    );
    assert_eq!(anchor.queued().len(), 1);
    assert_eq!(anchor.callbacks().len(), 2);
}

#[tokio::test]
async fn patch_takes_the_optional_field_and_posts_no_callback_without_a_url() {
    let anchor = anchor();
    let id = anchor.open(ALICE).await;
    anchor.ask_for_info(&id).await;
    let answer = anchor
        .patch(
            &id,
            ALICE,
            &patch_body(json!({"receiver_account": 12345, "receiver_routing": "021000021"})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(anchor.patches()[0]["receiver_account"], "12345");
    assert_eq!(anchor.patches()[0]["receiver_routing"], "021000021");
    assert!(anchor.callbacks().is_empty());
    assert_eq!(anchor.queued().len(), 1);
}

#[tokio::test]
async fn every_bad_patch_is_refused_and_changes_nothing() {
    let anchor = anchor();
    let id = anchor.open(ALICE).await;
    let not_pending = anchor
        .patch(&id, ALICE, &patch_body(json!({"receiver_account": "1"})))
        .await;
    assert_eq!(not_pending.status, 400);
    assert_eq!(
        not_pending.error(),
        "no update is pending: the transaction is pending_sender"
    );
    anchor.ask_for_info(&id).await;
    let before = anchor.stored(&id).await;
    let shape = "the body must be {\"fields\": {\"transaction\": {<field>: <value>, ...}}}";
    let cases: Vec<(Value, &str)> = vec![
        (
            patch_body(json!({"iban": "DE89"})),
            "'iban' was not requested (required_info_updates)",
        ),
        (
            patch_body(json!({"receiver_routing": "021000021"})),
            "'receiver_account' is required",
        ),
        (
            patch_body(json!({"receiver_account": {"n": 1}})),
            "'receiver_account' must be a string",
        ),
        (patch_body(json!({})), "'fields.transaction' names no field"),
        (
            patch_body(json!({"receiver_account": null})),
            "'fields.transaction' names no field",
        ),
        // SEP-6's shape is not SEP-31's.
        (json!({"transaction": {"receiver_account": "1"}}), shape),
        (json!({"fields": {"receiver_account": "1"}}), shape),
        (
            json!([1]),
            "the body must be a JSON object: {\"fields\": {\"transaction\": {<field>: <value>, ...}}}",
        ),
        (
            patch_body(json!({"receiver_account": "bad"})),
            "'receiver_account' is not a bank account",
        ),
    ];
    for (body, message) in cases {
        let answer = anchor.patch(&id, ALICE, &body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        assert_eq!(answer.error(), message, "{body}");
    }
    for (id, seed) in [
        (id.as_str(), BOB),
        ("5f0e2bd2-3c8b-4a0e-9d1f-2a8f0c7e1b11", ALICE),
    ] {
        let answer = anchor
            .patch(id, seed, &patch_body(json!({"receiver_account": "1"})))
            .await;
        assert_eq!(answer.status, 404, "{id}");
        assert_eq!(answer.error(), "transaction not found");
    }
    assert_eq!(anchor.stored(&id).await, before);
    assert!(anchor.queued().is_empty());
    assert!(anchor.callbacks().is_empty());
}

#[tokio::test]
async fn put_callback_stores_the_latest_url() {
    let anchor = anchor();
    let id = anchor.open(ALICE).await;
    let before = anchor.stored(&id).await;
    let answer = anchor
        .put_callback(&id, ALICE, &json!({ "url": CALLBACK }))
        .await;
    assert_eq!(answer.status, 204);
    assert_eq!(answer.text, "", "no content");
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.callback_url.as_deref(), Some(CALLBACK));
    assert_eq!(stored.status, before.status);
    assert_eq!(stored.updated_at, before.updated_at, "not a status change");

    let replaced = anchor
        .put_callback(
            &id,
            ALICE,
            &json!({"url": "https://sender.example:8443/v2/cb?x=1"}),
        )
        .await;
    assert_eq!(replaced.status, 204);
    assert_eq!(
        anchor.stored(&id).await.callback_url.as_deref(),
        Some("https://sender.example:8443/v2/cb?x=1")
    );
    // Setting the URL is not a status change: nothing is posted.
    assert!(anchor.callbacks().is_empty());
    // The URL is not part of the transaction object.
    assert!(anchor.get(&id, ALICE).await.body["transaction"]
        .get("callback_url")
        .is_none());
}

#[tokio::test]
async fn put_callback_refuses_bad_urls_and_other_partners() {
    let anchor = anchor();
    let id = anchor.open(ALICE).await;
    for body in [
        json!({"url": "ftp://sender.example/cb"}),
        json!({"url": "https://user:pw@sender.example/cb"}),
        json!({"url": "/cb"}),
        json!({"url": 5}),
        json!({"callback": CALLBACK}),
    ] {
        let answer = anchor.put_callback(&id, ALICE, &body).await;
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.error(), "'url' must be an absolute http(s) URL");
    }
    let not_json = anchor
        .call(
            "PUT",
            &format!("/sep31/transactions/{id}/callback"),
            Some(&token(ALICE)),
            b"url=https://sender.example/cb".to_vec(),
        )
        .await;
    assert_eq!(not_json.status, 400);
    assert!(not_json
        .error()
        .starts_with("the body must be a JSON object"));
    for (id, seed) in [
        (id.as_str(), BOB),
        ("5f0e2bd2-3c8b-4a0e-9d1f-2a8f0c7e1b11", ALICE),
    ] {
        let answer = anchor
            .put_callback(id, seed, &json!({ "url": CALLBACK }))
            .await;
        assert_eq!(answer.status, 404, "{id}");
    }
    assert_eq!(anchor.stored(&id).await.callback_url, None);
}
