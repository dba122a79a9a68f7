//! `POST /transactions` (digest 7.2) without a quote: the 201 answer and the stored
//! transaction, every refusal (400 `{"error"}`, nothing stored), and the hook's answers.

use super::*;
use crate::model::{withdraw_memo, FeeDetails, Protocol};
use crate::stellar::Amount;
use crate::time::Timestamp;

fn amount(text: &str) -> Amount {
    text.parse().expect("amount")
}

#[tokio::test]
async fn a_payment_is_stored_in_pending_sender_with_where_to_pay() {
    let anchor = anchor();
    let body = with(
        usdc_body(),
        json!({
            "lang": "es",
            "refund_memo": "refund-1",
            "refund_memo_type": "text",
            "fields": {"transaction": {"receiver_routing_number": "121122676"}},
        }),
    );
    let answer = anchor.post(ALICE, &body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(
        Answer::keys(&answer.body),
        [
            "id",
            "stellar_account_id",
            "stellar_memo",
            "stellar_memo_type"
        ],
        "the validator allows no other keys"
    );
    let id = answer.id();
    assert_eq!(answer.body["stellar_account_id"], distribution());
    assert_eq!(answer.body["stellar_memo_type"], "hash");
    assert_eq!(answer.body["stellar_memo"], withdraw_memo(&id));

    let stored = anchor.stored(&id).await;
    assert_eq!(stored.protocol, Protocol::Sep31);
    assert_eq!(stored.kind, Kind::Receive);
    assert_eq!(stored.status, TransactionStatus::PendingSender);
    assert_eq!(stored.user, user(ALICE));
    assert_eq!(stored.asset, usdc());
    // 100 USDC less 1 + 0.5 % of it.
    assert_eq!(stored.amount_in, Some(amount("100")));
    assert_eq!(stored.amount_out, Some(amount("98.5")));
    assert_eq!(stored.amount_in_asset.as_deref(), Some(usdc_id().as_str()));
    assert_eq!(stored.amount_out_asset.as_deref(), Some(usdc_id().as_str()));
    assert_eq!(
        stored.fee_details,
        Some(FeeDetails {
            total: amount("1.5"),
            asset: usdc_id(),
            breakdown: Vec::new(),
        })
    );
    assert_eq!(stored.funding_method.as_deref(), Some("SEPA"));
    assert_eq!(stored.sender_id.as_deref(), Some("sender-1"));
    assert_eq!(stored.receiver_id.as_deref(), Some("receiver-1"));
    assert_eq!(stored.refund_memo.as_deref(), Some("refund-1"));
    assert_eq!(stored.refund_memo_type.as_deref(), Some("text"));
    assert_eq!(stored.lang.as_deref(), Some("es"));
    assert_eq!(stored.receiving_account, Some(account(102)));
    assert_eq!(stored.receiving_memo, Some(withdraw_memo(&id)));
    assert_eq!(stored.receiving_memo_type.as_deref(), Some("hash"));
    assert_eq!(stored.started_at, Timestamp::from_secs(NOW));
    assert_eq!(stored.updated_at, Timestamp::from_secs(NOW));
    assert_eq!(stored.quote_id, None);
    assert_eq!(stored.callback_url, None);
    // What the hook set is stored.
    assert_eq!(
        stored.status_message.as_deref(),
        Some("waiting for the sending anchor's payment")
    );

    // The hook saw the whole body, the sending anchor, the language, and the transaction as
    // Mooring built it (the payment fields set).
    let posts = anchor.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(Value::Object(posts[0].body.clone()), body);
    assert_eq!(posts[0].sending_anchor, account(ALICE));
    assert_eq!(posts[0].lang, Lang::Es);
    assert_eq!(posts[0].transaction.id, id);
    assert_eq!(
        posts[0].transaction.receiving_memo,
        Some(withdraw_memo(&id))
    );
    assert_eq!(posts[0].transaction.status_message, None);

    // Nothing is queued or posted on creation (no callback for the initial pending_sender).
    assert!(anchor.queued().is_empty());
    assert!(anchor.callbacks().is_empty());
    assert_eq!(anchor.count().await, 1);
}

#[tokio::test]
async fn a_single_funding_method_is_the_default_and_numbers_are_amounts() {
    let anchor = anchor();
    let answer = anchor
        .post(ALICE, &json!({"amount": 250.75, "asset_code": "EURC"}))
        .await;
    let id = answer.id();
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.funding_method.as_deref(), Some("SEPA"));
    // EURC has no fees and no distribution account: its issuer receives.
    assert_eq!(stored.amount_in, Some(amount("250.75")));
    assert_eq!(stored.amount_out, Some(amount("250.75")));
    assert_eq!(
        stored.fee_details.as_ref().map(|f| f.total),
        Some(Amount::ZERO)
    );
    assert_eq!(answer.body["stellar_account_id"], g(100));
    assert_eq!(stored.sender_id, None);
    assert_eq!(stored.lang.as_deref(), Some("en"));

    // With the issuer named, and the asset's own id as destination_asset.
    let answer = anchor
        .post(
            BOB,
            &with(
                usdc_body(),
                json!({"asset_issuer": g(100), "destination_asset": usdc_id(),
                       "funding_method": "SWIFT", "amount": "1000"}),
            ),
        )
        .await;
    let stored = anchor.stored(&answer.id()).await;
    assert_eq!(stored.funding_method.as_deref(), Some("SWIFT"));
    assert_eq!(stored.amount_out, Some(amount("994")));
    assert_eq!(stored.user, user(BOB));
}

#[tokio::test]
async fn every_invalid_request_is_refused_and_stores_nothing() {
    let anchor = anchor();
    let long = "x".repeat(1025);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"amount": null}), "'amount' is required"),
        (json!({"amount": ""}), "'amount' is required"),
        (json!({"asset_code": null}), "'asset_code' is required"),
        (
            json!({"asset_code": "XYZ"}),
            "This anchor doesn't support the given currency code: XYZ",
        ),
        (
            json!({"asset_code": "SRT"}),
            "This anchor doesn't support the given currency code: SRT",
        ),
        (
            json!({"asset_issuer": g(101)}),
            "This anchor doesn't support USDC issued by",
        ),
        (
            json!({"asset_issuer": "GNOPE"}),
            "'asset_issuer' is not a valid Stellar account",
        ),
        (json!({"amount": "abc"}), "'amount': "),
        (json!({"amount": "-5"}), "'amount': "),
        (json!({"amount": 0}), "'amount' must be positive"),
        (
            json!({"amount": "0.5"}),
            "the amount is below the minimum of 1 USDC",
        ),
        (
            json!({"amount": "1000.01"}),
            "the amount is above the maximum of 1000 USDC",
        ),
        (
            json!({"amount": "10.001"}),
            "USDC amounts have at most 2 decimal places",
        ),
        (
            json!({"funding_method": "ACH"}),
            "'funding_method' must be one of SEPA, SWIFT",
        ),
        (
            json!({"funding_method": null}),
            "'funding_method' is required: one of SEPA, SWIFT",
        ),
        (
            json!({"refund_memo": "r"}),
            "'refund_memo' and 'refund_memo_type' go together",
        ),
        (
            json!({"refund_memo_type": "id"}),
            "'refund_memo' and 'refund_memo_type' go together",
        ),
        (
            json!({"refund_memo": "abc", "refund_memo_type": "id"}),
            "refund memo: ",
        ),
        (
            json!({"destination_asset": "iso4217:EUR"}),
            "'destination_asset' iso4217:EUR needs a 'quote_id'",
        ),
        (
            json!({"sender_id": {"id": 1}}),
            "'sender_id' must be a string",
        ),
        (json!({"fields": "x"}), "'fields' must be an object"),
        (
            json!({"receiver_id": long}),
            "'receiver_id' is longer than 1024 bytes",
        ),
    ];
    for (changes, message) in cases {
        let answer = anchor
            .post(ALICE, &with(usdc_body(), changes.clone()))
            .await;
        assert_eq!(answer.status, 400, "{changes}: {}", answer.body);
        assert_eq!(Answer::keys(&answer.body), ["error"], "{changes}");
        assert!(
            answer.error().starts_with(message),
            "{changes}: {} (expected {message})",
            answer.error()
        );
    }
    for body in [&b"amount=100&asset_code=USDC"[..], b"[1]", b""] {
        let answer = anchor
            .call(
                "POST",
                "/sep31/transactions",
                Some(&token(ALICE)),
                body.to_vec(),
            )
            .await;
        assert_eq!(answer.status, 400);
        assert!(answer.error().starts_with("the body must be a JSON object"));
    }
    // Oversized: refused before it is read as JSON, in SEP-31's error shape.
    let padding = "x".repeat(crate::http::body::MAX_FORM_BYTES);
    let huge = with(usdc_body(), json!({ "padding": padding }));
    let answer = anchor.post(ALICE, &huge).await;
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert_eq!(Answer::keys(&answer.body), ["error"]);
    assert_eq!(anchor.count().await, 0);
    assert!(anchor.posts().is_empty(), "the hook is asked last");
}

#[tokio::test]
async fn customer_info_needed_names_the_sep12_type_and_stores_nothing() {
    let anchor = anchor();
    anchor.script([Ok(PostAnswer::CustomerInfoNeeded {
        kyc_type: "sep31-receiver".into(),
    })]);
    let answer = anchor.post(ALICE, &usdc_body()).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body,
        json!({"error": "customer_info_needed", "type": "sep31-receiver"})
    );
    assert_eq!(anchor.count().await, 0);
    // Once the customer is registered, the same request goes through.
    assert_eq!(anchor.post(ALICE, &usdc_body()).await.status, 201);
    assert_eq!(anchor.posts().len(), 2);
}

#[tokio::test]
async fn transaction_info_needed_lists_the_fields_and_stores_nothing() {
    let anchor = anchor();
    let mut fields = BTreeMap::new();
    fields.insert(
        "receiver_routing_number".to_owned(),
        InfoField::new("routing number of the destination bank account"),
    );
    fields.insert(
        "type".to_owned(),
        InfoField {
            description: "the type of payment".into(),
            optional: true,
        },
    );
    anchor.script([Ok(PostAnswer::TransactionInfoNeeded { fields })]);
    let answer = anchor.post(ALICE, &usdc_body()).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body,
        json!({"error": "transaction_info_needed", "fields": {"transaction": {
            "receiver_routing_number": {
                "description": "routing number of the destination bank account"},
            "type": {"description": "the type of payment", "optional": true},
        }}})
    );
    assert_eq!(anchor.count().await, 0);
}

#[tokio::test]
async fn the_hooks_refusals_and_failures_store_nothing() {
    let anchor = anchor();
    anchor.script([
        Err(IntegrationError::invalid(
            "the sender is not allowed to send",
        )),
        Err(IntegrationError::Unavailable("KYC provider down".into())),
        Err(IntegrationError::Internal("a bug".into())),
    ]);
    let invalid = anchor.post(ALICE, &usdc_body()).await;
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.body,
        json!({"error": "the sender is not allowed to send"})
    );
    let unavailable = anchor.post(ALICE, &usdc_body()).await;
    assert_eq!(unavailable.status, 503);
    assert!(!unavailable.text.contains("KYC provider down"));
    let internal = anchor.post(ALICE, &usdc_body()).await;
    assert_eq!(internal.status, 500);
    assert!(!internal.text.contains("a bug"));
    assert_eq!(anchor.count().await, 0);
}

#[tokio::test]
async fn each_payment_gets_its_own_id_and_memo() {
    let anchor = anchor();
    let first = anchor.post(ALICE, &usdc_body()).await;
    let second = anchor.post(ALICE, &usdc_body()).await;
    assert_ne!(first.id(), second.id());
    assert_ne!(first.body["stellar_memo"], second.body["stellar_memo"]);
    assert_eq!(anchor.count().await, 2);
}
