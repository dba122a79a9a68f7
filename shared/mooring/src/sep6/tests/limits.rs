//! The bounds of `crate::limits` on SEP-6: each refused with a 4xx `{"error"}`, nothing stored.

use super::*;
use crate::limits::{MAX_FORM_BYTES, MAX_PARAMS, MAX_PARAM_BYTES};

#[tokio::test]
async fn oversized_input_is_a_4xx_and_stores_nothing() {
    let anchor = anchor();
    let jane = token(&g(7));
    let huge = "9".repeat(MAX_PARAM_BYTES + 1);
    let cases: Vec<(Vec<(&str, &str)>, String)> = vec![
        // Any one value: the backstop, before the parameter's own parser.
        (
            vec![("asset_code", "USDC"), ("amount", &huge)],
            format!("'amount' is longer than {MAX_PARAM_BYTES} bytes"),
        ),
        // Amount magnitude: past Stellar's largest amount, then past the asset's maximum.
        (
            vec![("asset_code", "USDC"), ("amount", "922337203685.4775808")],
            "'amount': amount '922337203685.4775808' is too large".to_owned(),
        ),
        // Precision past 7 places.
        (
            vec![("asset_code", "USDC"), ("amount", "1.00000001")],
            "'amount': '1.00000001' is not a decimal amount with at most 7 decimal places"
                .to_owned(),
        ),
    ];
    for (pairs, message) in &cases {
        let mut pairs = pairs.clone();
        pairs.push(("funding_method", "SEPA"));
        let answer = anchor.request("deposit", &jane, &pairs).await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert_eq!(answer.body, json!({ "error": message }));
    }

    // Too many parameters.
    let many: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=1")).collect();
    let answer = anchor
        .get(
            &format!("/deposit?asset_code=USDC&{}", many.join("&")),
            &jane,
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body,
        json!({ "error": format!("a request may have at most {MAX_PARAMS} parameters") })
    );

    // `kind` may repeat, but the values joined are bounded too.
    let kinds = vec!["kind=deposit"; MAX_PARAM_BYTES / 8 + 1].join("&");
    let answer = anchor
        .get(&format!("/transactions?asset_code=USDC&{kinds}"), &jane)
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({ "error": format!("'kind' is longer than {MAX_PARAM_BYTES} bytes") })
    );

    // `limit`: not a positive integer is a 400; a larger one is served as the maximum.
    for limit in ["0", "-1", "99999999999999999999999", "ten"] {
        let answer = anchor
            .get(
                &format!("/transactions?asset_code=USDC&limit={limit}"),
                &jane,
            )
            .await;
        assert_eq!(answer.status, 400, "{limit}");
        assert_eq!(
            answer.body,
            json!({ "error": "'limit' must be a positive integer" })
        );
    }
    let answer = anchor
        .get("/transactions?asset_code=USDC&limit=100000", &jane)
        .await;
    assert_eq!(answer.status, 200);

    // A PATCH body past the form limit: 413 before it is parsed.
    let answer = anchor
        .patch("some-id", &jane, &vec![b' '; MAX_FORM_BYTES + 1])
        .await;
    assert_eq!(answer.status, 413);
    assert!(answer.body["error"].is_string(), "{}", answer.body);

    assert_eq!(anchor.count().await, 0, "nothing stored");
    assert!(anchor.calls().is_empty(), "the hook was never asked");
}
