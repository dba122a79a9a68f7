//! `pending_transaction_info_update` and `PATCH /transactions/:id` (digest 6.7, 6.9).

use super::*;
use crate::model::withdraw_memo;

/// Jane's USDC withdrawal waiting for its destination (`dest` required, `dest_extra` optional),
/// with a callback URL. Returns its id.
async fn waiting_withdrawal(anchor: &Anchor, jane: &str) -> String {
    anchor.script([dest_needed()]);
    anchor
        .request(
            "withdraw",
            jane,
            &[
                ("asset_code", "USDC"),
                ("funding_method", "bank_account"),
                ("on_change_callback", "https://wallet.example/cb"),
            ],
        )
        .await
        .id()
}

fn dest_updates() -> Value {
    json!({
        "dest": {"description": "your bank account number"},
        "dest_extra": {"description": "your bank's routing number", "optional": true}
    })
}

#[tokio::test]
async fn transaction_info_needed_waits_in_pending_transaction_info_update_with_its_fields() {
    let anchor = anchor();
    let jane = token(&g(7));
    anchor.script([dest_needed()]);
    let answer = anchor
        .request(
            "withdraw",
            &jane,
            &[("asset_code", "USDC"), ("funding_method", "bank_account")],
        )
        .await;
    let id = answer.id();
    assert_eq!(
        answer.body,
        json!({"id": id, "min_amount": 5, "max_amount": 500, "fee_percent": 1,
               "extra_info": {"message": "We need your bank account"}}),
        "no account_id or memo before the destination is known"
    );
    let stored = anchor.stored(&id).await;
    assert_eq!(
        stored.status,
        TransactionStatus::PendingTransactionInfoUpdate
    );
    assert_eq!(
        stored.required_info_message.as_deref(),
        Some("We need your bank account")
    );
    assert_eq!(stored.required_info_updates, Some(dest_updates()));

    let read = anchor.transaction(&id, &jane).await;
    let tx = &read.body["transaction"];
    assert_eq!(tx["status"], "pending_transaction_info_update");
    assert_eq!(tx["required_info_message"], "We need your bank account");
    assert_eq!(tx["required_info_updates"], dest_updates());
    assert_eq!(
        anchor.calls().len(),
        1,
        "a read does not ask the hook again"
    );

    // A deposit may wait for transaction info too; its `how` says so.
    anchor.script([dest_needed()]);
    let answer = anchor
        .request("deposit", &jane, &[("asset_code", "EURC")])
        .await;
    let id = answer.id();
    assert_eq!(
        answer.body["how"],
        format!(
            "Update the transaction (PATCH /transactions/{id}) with the fields it lists; the \
             instructions follow on GET /transaction."
        )
    );
    assert!(answer.body.get("instructions").is_none());
}

#[tokio::test]
async fn patch_applies_the_requested_fields_and_moves_the_transaction_on() {
    let anchor = anchor();
    let jane = token(&g(7));
    let id = waiting_withdrawal(&anchor, &jane).await;
    let answer = anchor
        .patch(
            &id,
            &jane,
            br#"{"transaction": {"dest": "DE89370400440532013000", "dest_extra": 37040044}}"#,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let tx = &answer.body["transaction"];
    assert_eq!(tx["id"], id.as_str());
    assert_eq!(tx["status"], "pending_user_transfer_start");
    assert_eq!(tx["to"], "DE89370400440532013000");
    assert_eq!(tx["external_extra"], "37040044");
    assert_eq!(tx["withdraw_anchor_account"], distribution());
    assert_eq!(tx["withdraw_memo"], withdraw_memo(&id).as_str());
    assert!(tx.get("required_info_updates").is_none());
    assert!(tx.get("required_info_message").is_none());

    // The integration was given the fields (numbers as text), the hook asked again.
    let mut fields = BTreeMap::new();
    fields.insert("dest".to_owned(), "DE89370400440532013000".to_owned());
    fields.insert("dest_extra".to_owned(), "37040044".to_owned());
    assert_eq!(anchor.patches(), [fields]);
    let calls = anchor.calls();
    assert_eq!(calls.len(), 2);
    assert!(calls[1].params.is_empty());

    let stored = anchor.stored(&id).await;
    assert_eq!(stored.status, TransactionStatus::PendingUserTransferStart);
    assert_eq!(stored.version, 1);
    assert_eq!(anchor.transaction(&id, &jane).await.body, answer.body);
    let sent = anchor.callbacks();
    assert_eq!(
        anchor.heard_statuses(),
        [
            "pending_transaction_info_update",
            "pending_user_transfer_start"
        ]
    );
    assert_eq!(
        serde_json::from_str::<Value>(&sent[1].body).expect("json"),
        answer.body
    );

    // Done: a second PATCH is refused.
    let again = anchor
        .patch(&id, &jane, br#"{"transaction": {"dest": "x"}}"#)
        .await;
    assert_eq!(
        (again.status, again.error()),
        (
            400,
            "no update is pending: the transaction is pending_user_transfer_start"
        )
    );
}

/// PATCHes `body` and expects `status` with `{"error": message}`, the transaction unchanged
/// and the integration not called.
async fn refused(anchor: &Anchor, id: &str, jane: &str, body: &[u8], status: u16, message: &str) {
    let before = anchor.stored(id).await;
    let patches = anchor.patches().len();
    let heard = anchor.callbacks().len();
    let answer = anchor.patch(id, jane, body).await;
    let shown = String::from_utf8_lossy(body);
    assert_eq!(answer.status, status, "{shown}: {}", answer.body);
    assert_eq!(answer.body, json!({ "error": message }), "{shown}");
    assert_eq!(anchor.stored(id).await, before, "{shown}: nothing changed");
    assert_eq!(anchor.patches().len(), patches, "{shown}");
    assert_eq!(anchor.callbacks().len(), heard, "{shown}: nothing heard");
}

#[tokio::test]
async fn patch_with_a_field_not_requested_or_without_a_required_one_is_400() {
    let anchor = anchor();
    let jane = token(&g(7));
    let id = waiting_withdrawal(&anchor, &jane).await;
    refused(
        &anchor,
        &id,
        &jane,
        br#"{"transaction": {"dest": "1", "account_type": "checking"}}"#,
        400,
        "'account_type' was not requested (required_info_updates)",
    )
    .await;
    refused(
        &anchor,
        &id,
        &jane,
        br#"{"transaction": {"dest_extra": "1"}}"#,
        400,
        "'dest' is required",
    )
    .await;
}

#[tokio::test]
async fn patch_with_a_malformed_body_is_400() {
    let anchor = anchor();
    let jane = token(&g(7));
    let id = waiting_withdrawal(&anchor, &jane).await;
    let malformed = r#"the body must be {"transaction": {<field>: <value>, ...}}"#;
    for body in [
        &b"dest=1"[..],
        b"",
        b"{}",
        b"[]",
        br#"{"transaction": "dest"}"#,
        br#"{"transaction": {}}"#,
        br#"{"dest": "1"}"#,
    ] {
        refused(&anchor, &id, &jane, body, 400, malformed).await;
    }
    refused(
        &anchor,
        &id,
        &jane,
        br#"{"transaction": {"dest": {"iban": "1"}}}"#,
        400,
        "'dest' must be a string",
    )
    .await;
}

#[tokio::test]
async fn patch_refused_by_the_integration_is_400_and_changes_nothing() {
    let anchor = anchor();
    let jane = token(&g(7));
    let id = waiting_withdrawal(&anchor, &jane).await;
    let before = anchor.stored(&id).await;
    let answer = anchor
        .patch(
            &id,
            &jane,
            br#"{"transaction": {"dest": "not-an-account"}}"#,
        )
        .await;
    assert_eq!(
        (answer.status, answer.error()),
        (400, "'dest' is not a bank account")
    );
    assert_eq!(anchor.stored(&id).await, before);
    assert_eq!(anchor.calls().len(), 1, "the hook was not asked again");
}

#[tokio::test]
async fn a_patch_that_loses_a_race_is_400_and_its_update_does_not_land() {
    let anchor = anchor();
    let jane = token(&g(7));
    let id = waiting_withdrawal(&anchor, &jane).await;
    anchor.race_next_hook();
    let answer = anchor
        .patch(
            &id,
            &jane,
            br#"{"transaction": {"dest": "DE89370400440532013000"}}"#,
        )
        .await;
    assert_eq!(
        answer.body,
        json!({"error": "the transaction changed meanwhile: read it again"})
    );
    assert_eq!(answer.status, 400);
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.status, TransactionStatus::Error);
    assert_eq!(stored.to, None, "the PATCH did not land");
    assert_eq!(stored.version, 1);
    assert_eq!(
        anchor.heard_statuses(),
        ["pending_transaction_info_update", "error"],
        "the winner's change is heard, the lost PATCH's never was"
    );
}

#[tokio::test]
async fn patch_of_a_transaction_not_waiting_for_an_update_is_400() {
    let anchor = anchor();
    let jane = token(&g(7));
    let id = anchor
        .deposit_with(&jane, &[("asset_code", "EURC")], ready())
        .await;
    refused(
        &anchor,
        &id,
        &jane,
        br#"{"transaction": {"dest": "1"}}"#,
        400,
        "no update is pending: the transaction is pending_user_transfer_start",
    )
    .await;
}

#[tokio::test]
async fn patch_of_another_users_or_an_unknown_transaction_is_404() {
    let anchor = anchor();
    let jane = token(&g(7));
    let id = waiting_withdrawal(&anchor, &jane).await;
    let body = br#"{"transaction": {"dest": "1"}}"#;
    for other in [token(&g(8)), token(&shared(7, 9)), token(&m(7, 9))] {
        refused(&anchor, &id, &other, body, 404, "transaction not found").await;
    }
    for unknown in ["1b4e28ba-2fa1-11d2-883f-0016d3cca427", "nope"] {
        let answer = anchor.patch(unknown, &jane, body).await;
        assert_eq!(answer.status, 404, "{unknown}");
        assert_eq!(answer.body, json!({"error": "transaction not found"}));
    }
    assert_eq!(anchor.count().await, 1);
}
