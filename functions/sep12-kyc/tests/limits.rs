//! The bounds of `mooring::limits` on SEP-12, through the handler: each refused with a 4xx
//! `{"error"}` and nothing stored.

mod common;

use common::*;
use mooring::limits::{
    MAX_FILE_BYTES, MAX_FORM_BYTES, MAX_MULTIPART_PARTS, MAX_PARAM_BYTES, MAX_TEXT_BYTES,
    MAX_URL_BYTES,
};
use serde_json::json;

#[tokio::test]
async fn oversized_input_is_a_4xx_and_stores_nothing() {
    let kyc = kyc(&[]);
    let jane = token(&account(7));

    let body = kyc
        .call(
            "PUT",
            "/kyc/customer",
            Some(&jane),
            Some("application/json"),
            vec![b' '; MAX_FORM_BYTES + 1],
        )
        .await;
    assert_eq!(body.status, 413);
    assert_eq!(
        body.error(),
        format!("request body is larger than {MAX_FORM_BYTES} bytes")
    );

    // A SEP-9 value, any other value, a memo.
    let long = "x".repeat(MAX_TEXT_BYTES + 1);
    let huge = "1".repeat(MAX_PARAM_BYTES + 1);
    for (body, message) in [
        (
            json!({"first_name": long}),
            format!("first_name is longer than {MAX_TEXT_BYTES} bytes"),
        ),
        (
            json!({"first_name": "Jane", "memo": huge}),
            format!("'memo' is longer than {MAX_PARAM_BYTES} bytes"),
        ),
    ] {
        let answer = kyc.put_json(&jane, body).await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert_eq!(answer.error(), message);
    }

    // Files: each at most MAX_FILE_BYTES, at most MAX_MULTIPART_PARTS parts.
    let photo = vec![0u8; MAX_FILE_BYTES + 1];
    let answer = kyc
        .call(
            "PUT",
            "/kyc/customer",
            Some(&jane),
            Some(&multipart_type()),
            multipart(&[("photo_id_front", Some(("id.png", "image/png")), &photo)]),
        )
        .await;
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert!(!answer.error().is_empty());
    let names: Vec<String> = (0..=MAX_MULTIPART_PARTS).map(|i| format!("p{i}")).collect();
    let parts: Vec<Part> = names
        .iter()
        .map(|n| (n.as_str(), None, &b"1"[..]))
        .collect();
    let answer = kyc
        .call(
            "PUT",
            "/kyc/customer",
            Some(&jane),
            Some(&multipart_type()),
            multipart(&parts),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.error(),
        format!("a multipart body may have at most {MAX_MULTIPART_PARTS} parts")
    );

    // A callback URL past MAX_URL_BYTES.
    let url = format!("https://wallet.example/{}", "a".repeat(MAX_URL_BYTES));
    let answer = kyc
        .json("PUT", "/kyc/customer/callback", &jane, json!({"url": url}))
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error(), "'url' must be an absolute http(s) URL");

    let stored = kyc.get(&jane, "").await;
    assert_eq!(stored.status, 200);
    assert_eq!(
        stored.body["status"], "NEEDS_INFO",
        "nothing stored: {}",
        stored.body
    );
}
