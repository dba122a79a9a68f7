//! `GET /info` (digest 7.1), who may call the other endpoints (7: partners only, 403
//! `{"error"}`), CORS, preflight and routing.

use super::*;

fn sep12_types(receiver: &str) -> Value {
    json!({
        "sender": {"types": {"sep31-sender": {"description": "the person sending the payment"}}},
        "receiver": {"types": {"sep31-receiver": {"description": receiver}}},
    })
}

#[tokio::test]
async fn info_lists_each_sep31_asset_without_a_token() {
    let anchor = anchor();
    let answer = anchor.call("GET", "/sep31/info", None, Vec::new()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.headers["content-type"], "application/json",
        "JSON answer"
    );
    assert_eq!(
        answer.body,
        json!({"receive": {
            "USDC": {
                "funding_methods": ["SEPA", "SWIFT"],
                "min_amount": 1, "max_amount": 1000, "fee_fixed": 1, "fee_percent": 0.5,
                "quotes_supported": true, "quotes_required": false,
                "sep12": sep12_types("the person receiving the payment"),
            },
            "EURC": {
                "funding_methods": ["SEPA"],
                "quotes_supported": false, "quotes_required": false,
                "sep12": sep12_types("the person receiving the payment"),
            },
        }})
    );
    // The JSON numbers of the limits are numbers, not strings.
    assert!(answer.body["receive"]["USDC"]["fee_percent"].is_f64());
    // A token is not needed, nor looked at: a stranger's works as well as none.
    let stranger = anchor
        .call("GET", "/info", Some(&token(STRANGER)), Vec::new())
        .await;
    assert_eq!(stranger.body, answer.body);
    assert!(anchor
        .receive
        .integration
        .checked
        .lock()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn info_asks_the_integration_in_the_requested_language() {
    let anchor = anchor();
    let answer = anchor
        .call("GET", "/sep31/info?lang=es-AR", None, Vec::new())
        .await;
    assert_eq!(
        answer.body["receive"]["EURC"]["sep12"],
        sep12_types("quien recibe el pago")
    );
    let unknown = anchor
        .call("GET", "/sep31/info?lang=xx", None, Vec::new())
        .await;
    assert_eq!(
        unknown.body["receive"]["EURC"]["sep12"],
        sep12_types("the person receiving the payment")
    );
}

/// Every authenticated endpoint, each with a body it would accept.
fn endpoints() -> Vec<(&'static str, String, Value)> {
    let id = "5f0e2bd2-3c8b-4a0e-9d1f-2a8f0c7e1b11";
    vec![
        ("POST", "/sep31/transactions".to_owned(), usdc_body()),
        ("GET", format!("/sep31/transactions/{id}"), Value::Null),
        (
            "PATCH",
            format!("/sep31/transactions/{id}"),
            json!({"fields": {"transaction": {"receiver_account": "1"}}}),
        ),
        (
            "PUT",
            format!("/sep31/transactions/{id}/callback"),
            json!({"url": "https://sender.example/cb"}),
        ),
    ]
}

/// Expects SEP-31's 403: `{"error": ...}` only (not SEP-6/24's `type`), nothing stored.
async fn assert_forbidden(anchor: &Anchor, token: Option<&str>, message: &str) {
    for (method, uri, body) in endpoints() {
        let answer = anchor
            .call(method, &uri, token, body.to_string().into_bytes())
            .await;
        assert_eq!(answer.status, 403, "{method} {uri}: {}", answer.body);
        assert_eq!(Answer::keys(&answer.body), ["error"], "{method} {uri}");
        assert!(
            answer.error().starts_with(message),
            "{method} {uri}: {}",
            answer.error()
        );
    }
    assert_eq!(anchor.count().await, 0);
}

#[tokio::test]
async fn every_other_endpoint_needs_a_valid_token() {
    let anchor = anchor();
    assert_forbidden(&anchor, None, "authentication required").await;
    let expired = jwt(&g(ALICE), NOW - 1, JWT_SECRET);
    assert_forbidden(&anchor, Some(&expired), "the SEP-10 token has expired").await;
    let forged = jwt(
        &g(ALICE),
        NOW + 3600,
        "another-secret-of-at-least-32-characters",
    );
    assert_forbidden(&anchor, Some(&forged), "the SEP-10 token is invalid").await;
}

#[tokio::test]
async fn only_configured_partners_the_integration_accepts_may_call() {
    let anchor = anchor();
    let message = "this account is not a sending anchor of this anchor";
    assert_forbidden(&anchor, Some(&token(STRANGER)), message).await;
    // A stranger is refused before the integration is asked.
    assert!(anchor
        .receive
        .integration
        .checked
        .lock()
        .unwrap()
        .is_empty());

    anchor
        .receive
        .integration
        .refused
        .lock()
        .unwrap()
        .push(account(ALICE));
    assert_forbidden(&anchor, Some(&token(ALICE)), message).await;
    assert!(anchor
        .receive
        .integration
        .checked
        .lock()
        .unwrap()
        .iter()
        .all(|checked| *checked == account(ALICE)));
    // The other partner is not affected.
    assert_eq!(anchor.post(BOB, &usdc_body()).await.status, 201);
}

#[tokio::test]
async fn a_star_admits_any_account_and_no_list_admits_nobody() {
    let anyone = anchor_with("*");
    let answer = anyone.post(STRANGER, &usdc_body()).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(anyone.stored(&answer.id()).await.user, user(STRANGER));

    let nobody = anchor_with("");
    assert_forbidden(
        &nobody,
        Some(&token(ALICE)),
        "this account is not a sending anchor",
    )
    .await;
    // /info is still served.
    let info = nobody.call("GET", "/sep31/info", None, Vec::new()).await;
    assert_eq!(info.status, 200);
}

#[tokio::test]
async fn preflight_routing_and_methods() {
    let anchor = anchor();
    for uri in [
        "/sep31/info",
        "/sep31/transactions",
        "/sep31/transactions/abc",
        "/sep31/transactions/abc/callback",
    ] {
        let answer = anchor.call("OPTIONS", uri, None, Vec::new()).await;
        assert_eq!(answer.status, 204, "{uri}");
        assert!(answer.headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("PATCH"));
        assert!(answer.headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("Authorization"));
    }
    let unknown = anchor
        .call("GET", "/sep31/transaction", Some(&token(ALICE)), Vec::new())
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error(), "no such SEP-31 endpoint");
    for (method, uri) in [
        ("GET", "/sep31/transactions"),
        ("POST", "/sep31/info"),
        ("DELETE", "/sep31/transactions/abc"),
        ("GET", "/sep31/transactions/abc/callback"),
    ] {
        let answer = anchor
            .call(method, uri, Some(&token(ALICE)), Vec::new())
            .await;
        assert_eq!(answer.status, 405, "{method} {uri}");
        assert_eq!(answer.error(), "method not allowed");
    }
    // Without the /sep31 prefix (cargo lambda watch strips the function name).
    let bare = anchor.post(ALICE, &usdc_body()).await.id();
    let answer = anchor
        .call(
            "GET",
            &format!("/transactions/{bare}"),
            Some(&token(ALICE)),
            Vec::new(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}
