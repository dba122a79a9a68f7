//! `GET /info`, `GET /fee`, authentication, CORS, preflight and routing.

use super::*;

#[tokio::test]
async fn info_shows_each_sep6_asset_with_its_exchange_directions_without_a_token() {
    let anchor = anchor();
    let answer = anchor.call("GET", "/sep6/info", None, Vec::new()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(
        answer.body,
        json!({
            "deposit": {
                "USDC": {"enabled": true, "authentication_required": true,
                         "funding_methods": ["SEPA", "SWIFT"],
                         "min_amount": 1, "max_amount": 1000, "fee_fixed": 1, "fee_percent": 0.5},
                "EURC": {"enabled": true, "authentication_required": true,
                         "funding_methods": ["SEPA"]}
            },
            "deposit-exchange": {
                "USDC": {"enabled": true, "authentication_required": true,
                         "funding_methods": ["SEPA", "SWIFT"]}
            },
            "withdraw": {
                "USDC": {"enabled": true, "authentication_required": true,
                         "funding_methods": ["bank_account"],
                         "min_amount": 5, "max_amount": 500, "fee_percent": 1, "fee_minimum": 2},
                "EURC": {"enabled": false}
            },
            "withdraw-exchange": {
                "USDC": {"enabled": true, "authentication_required": true,
                         "funding_methods": ["bank_account"]}
            },
            "fee": {
                "enabled": true,
                "authentication_required": true,
                "description": "fee_fixed plus fee_percent of the amount, at least fee_minimum, \
                                as /info lists them per asset; quoted exchanges carry the \
                                quote's fee"
            },
            "transactions": {"enabled": true, "authentication_required": true},
            "transaction": {"enabled": true, "authentication_required": true},
            "features": {"account_creation": true, "claimable_balances": true}
        })
    );
    // Limits and fees are JSON numbers, not strings.
    let usdc = &answer.body["deposit"]["USDC"];
    assert!(usdc["min_amount"].is_u64());
    assert!(usdc["fee_percent"].is_f64());
    // SRT is offered through SEP-24 only: absent everywhere.
    for section in [
        "deposit",
        "deposit-exchange",
        "withdraw",
        "withdraw-exchange",
    ] {
        assert!(answer.body[section].get("SRT").is_none(), "{section}");
    }
    // A token is not needed, and a bad one does not matter.
    let with_garbage = anchor
        .call("GET", "/sep6/info", Some("not.a.jwt"), Vec::new())
        .await;
    assert_eq!(with_garbage.status, 200);
    assert_eq!(with_garbage.body, answer.body);
    let unprefixed = anchor.call("GET", "/info?lang=es", None, Vec::new()).await;
    assert_eq!(unprefixed.body, answer.body);
}

#[tokio::test]
async fn every_endpoint_but_info_answers_403_authentication_required_without_a_valid_token() {
    let anchor = anchor();
    let expired = jwt(&g(7), NOW, JWT_SECRET);
    let foreign = jwt(
        &g(7),
        NOW + 3600,
        "another-secret-of-at-least-32-characters",
    );
    let endpoints = [
        ("GET", "/sep6/deposit?asset_code=EURC"),
        ("GET", "/sep6/withdraw?asset_code=USDC"),
        ("GET", "/sep6/deposit-exchange?destination_asset=USDC"),
        ("GET", "/sep6/withdraw-exchange?source_asset=USDC"),
        (
            "GET",
            "/sep6/fee?operation=deposit&asset_code=USDC&amount=10",
        ),
        ("GET", "/sep6/transaction?id=x"),
        ("GET", "/sep6/transactions?asset_code=USDC"),
        ("PATCH", "/sep6/transactions/x"),
    ];
    for (method, uri) in endpoints {
        for (what, header) in [
            ("missing", None),
            ("expired", Some(format!("Bearer {expired}"))),
            ("garbage", Some("Bearer not.a.jwt".to_owned())),
            ("another key", Some(format!("Bearer {foreign}"))),
            ("no scheme", Some(token(&g(7)))),
        ] {
            let mut request = Request::builder().method(method).uri(uri);
            if let Some(header) = header {
                request = request.header("authorization", header);
            }
            let body = br#"{"transaction": {"dest": "1"}}"#.to_vec();
            let response =
                routes::handle(&anchor.transfer, &request.body(body).expect("request")).await;
            assert_eq!(response.status(), 403, "{what}: {method} {uri}");
            assert_eq!(
                response.body(),
                r#"{"type":"authentication_required"}"#,
                "{what}: {method} {uri}"
            );
            assert_eq!(response.headers()["access-control-allow-origin"], "*");
        }
    }
    assert_eq!(anchor.count().await, 0, "nothing was stored");
    assert!(anchor.calls().is_empty(), "no hook was asked");
}

#[tokio::test]
async fn preflight_is_204_a_wrong_method_405_and_an_unknown_path_404() {
    let anchor = anchor();
    for path in [
        "/sep6/info",
        "/sep6/deposit",
        "/sep6/withdraw",
        "/sep6/deposit-exchange",
        "/sep6/withdraw-exchange",
        "/sep6/fee",
        "/sep6/transaction",
        "/sep6/transactions",
        "/sep6/transactions/some-id",
    ] {
        let answer = anchor.call("OPTIONS", path, None, Vec::new()).await;
        assert_eq!(answer.status, 204, "{path}");
        let methods = answer.headers["access-control-allow-methods"]
            .to_str()
            .expect("ascii");
        assert!(
            methods.contains("GET") && methods.contains("PATCH"),
            "{path}"
        );
        let headers = answer.headers["access-control-allow-headers"]
            .to_str()
            .expect("ascii");
        assert!(headers.contains("Authorization"), "{path}");
    }
    let jane = token(&g(7));
    for (method, path) in [
        ("POST", "/sep6/info"),
        ("POST", "/sep6/deposit"),
        ("PUT", "/sep6/withdraw"),
        ("DELETE", "/sep6/transaction"),
        ("PATCH", "/sep6/transactions"),
        ("GET", "/sep6/transactions/some-id"),
    ] {
        let answer = anchor.call(method, path, Some(&jane), Vec::new()).await;
        assert_eq!(answer.status, 405, "{method} {path}");
        assert_eq!(answer.body, json!({"error": "method not allowed"}));
    }
    for path in [
        "/sep6/nothing",
        "/sep6/deposit/interactive",
        "/sep6/transactions/a/b",
    ] {
        let answer = anchor.call("GET", path, Some(&jane), Vec::new()).await;
        assert_eq!(answer.status, 404, "{path}");
        assert!(!answer.error().is_empty(), "{path}");
    }
    assert_eq!(anchor.count().await, 0);
}

#[tokio::test]
async fn fee_is_the_fee_integrations_fee_as_a_number() {
    let anchor = anchor();
    let jane = token(&g(7));
    for (query, fee) in [
        // 1 + 0.5 % of 100.
        ("operation=deposit&asset_code=USDC&amount=100", json!(1.5)),
        // 1 % of 100 is below the 2 minimum.
        (
            "operation=withdraw&asset_code=USDC&amount=100&type=bank_account",
            json!(2),
        ),
        ("operation=withdraw&asset_code=USDC&amount=500", json!(5)),
        ("operation=deposit&asset_code=EURC&amount=3", json!(0)),
    ] {
        let answer = anchor.get(&format!("/fee?{query}"), &jane).await;
        assert_eq!(answer.status, 200, "{query}: {}", answer.body);
        assert_eq!(answer.body, json!({ "fee": fee }), "{query}");
    }
    assert!(anchor
        .get("/fee?operation=deposit&asset_code=USDC&amount=100", &jane)
        .await
        .body["fee"]
        .is_f64());
    // `type` is passed on to the fee integration.
    assert_eq!(
        anchor.transfer.integration.fee_types.lock().expect("lock")[1],
        Some("bank_account".to_owned())
    );

    for (query, message) in [
        ("asset_code=USDC&amount=100", "'operation' is required"),
        (
            "operation=swap&asset_code=USDC&amount=100",
            "'operation' must be deposit or withdraw",
        ),
        ("operation=deposit&amount=100", "'asset_code' is required"),
        (
            "operation=deposit&asset_code=SRT&amount=100",
            "This anchor doesn't support the given currency code: SRT",
        ),
        (
            "operation=withdraw&asset_code=EURC&amount=100",
            "withdraw is not enabled for EURC",
        ),
        ("operation=deposit&asset_code=USDC", "'amount' is required"),
        (
            "operation=deposit&asset_code=USDC&amount=2000",
            "the amount is above the maximum of 1000 USDC",
        ),
    ] {
        let answer = anchor.get(&format!("/fee?{query}"), &jane).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
        assert_eq!(answer.body, json!({ "error": message }), "{query}");
    }
}
