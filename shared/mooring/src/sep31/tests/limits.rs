//! The bounds of `crate::limits` on SEP-31: each refused with a 4xx `{"error"}`, nothing stored
//! or changed.

use super::*;
use crate::limits::{
    MAX_FORM_BYTES, MAX_PARAMS, MAX_PARAM_NAME_BYTES, MAX_TEXT_BYTES, MAX_URL_BYTES,
};

#[tokio::test]
async fn oversized_input_is_a_4xx_and_stores_nothing() {
    let anchor = anchor();
    let too_large = anchor
        .call(
            "POST",
            "/sep31/transactions",
            Some(&token(ALICE)),
            vec![b' '; MAX_FORM_BYTES + 1],
        )
        .await;
    assert_eq!(too_large.status, 413);
    assert_eq!(
        too_large.error(),
        format!("request body is larger than {MAX_FORM_BYTES} bytes")
    );

    let long = "x".repeat(MAX_TEXT_BYTES + 1);
    let long_name = "n".repeat(MAX_PARAM_NAME_BYTES + 1);
    let mut many = usdc_body();
    for i in 0..MAX_PARAMS {
        many[format!("extra_{i}")] = json!("1");
    }
    let cases: Vec<(Value, String)> = vec![
        (
            with(usdc_body(), json!({ "sender_id": long })),
            format!("'sender_id' is longer than {MAX_TEXT_BYTES} bytes"),
        ),
        (
            with(usdc_body(), json!({ long_name: "1" })),
            format!("a parameter name may be at most {MAX_PARAM_NAME_BYTES} bytes"),
        ),
        (
            many,
            format!("a request may have at most {MAX_PARAMS} parameters"),
        ),
    ];
    for (body, message) in cases {
        let answer = anchor.post(ALICE, &body).await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(answer.error(), message);
    }
    // Amount magnitude and precision.
    for amount in ["922337203685.4775808", "1.00000001", "1e400"] {
        let answer = anchor
            .post(ALICE, &with(usdc_body(), json!({ "amount": amount })))
            .await;
        assert_eq!(answer.status, 400, "{amount}: {}", answer.text);
        assert!(answer.error().starts_with("'amount'"), "{}", answer.text);
    }
    assert_eq!(anchor.count().await, 0, "nothing stored");

    // A callback URL past MAX_URL_BYTES.
    let id = anchor.open(ALICE).await;
    let url = format!("https://wallet.example/{}", "a".repeat(MAX_URL_BYTES));
    let answer = anchor
        .put_callback(&id, ALICE, &json!({ "url": url }))
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error(), "'url' must be an absolute http(s) URL");
    assert_eq!(anchor.stored(&id).await.callback_url, None);
}
