//! The SEP-6 Lambda handler behind its API Gateway route (`ANY /sep6/{proxy+}`, HTTP API payload
//! 2.0), over the in-memory store, the reference integration and a callback recorder: `/info`,
//! the two KYC styles of a deposit, a withdrawal whose `dest` comes by `PATCH`, tokens, CORS on
//! every answer and the preflight.

use std::collections::BTreeMap;
use std::sync::Arc;

use anchor_integrations::register_integrations;
use lambda_http::http::HeaderMap;
use lambda_http::request::from_str;
use lambda_http::Body;
use mooring::clock::{Clock, FixedClock};
use mooring::config::{AnchorConfig, Secret};
use mooring::integrations::{CustomerIntegration, CustomerUpdate};
use mooring::model::UserKey;
use mooring::sep10::{Claims, JwtKeys};
use mooring::status_callbacks::dispatch::{Bodies, Heard};
use mooring::stellar::{Keypair, Network};
use mooring::store::InMemoryStore;
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;
const SECRET: &str = "sep6-handler-test-secret-of-32-chars+";
const IBAN: &str = "DE89370400440532013000";
const EVENT: &str = include_str!("events/sep6_request.json");

fn anchor_keys() -> Keypair {
    Keypair::from_seed_bytes([1; 32])
}

fn user(seed: u8) -> UserKey {
    UserKey {
        account: Keypair::from_seed_bytes([seed; 32]).account_id(),
        memo: None,
    }
}

/// One SEP-6 asset, also quoted through SEP-38 (so `/info` has the exchange directions), and
/// KYC without verification codes (a customer completes in one PUT).
fn settings() -> BTreeMap<String, String> {
    let issuer = Keypair::from_seed_bytes([100; 32]).account_id().to_string();
    let methods = json!(["bank_transfer"]);
    let assets = json!([{
        "code": "USDC", "issuer": issuer, "seps": ["sep6", "sep38"], "significant_decimals": 2,
        "deposit": {"min_amount": 1, "max_amount": 1000, "fee_fixed": 1, "funding_methods": methods},
        "withdraw": {"fee_fixed": 2, "funding_methods": methods}
    }]);
    let signing = anchor_keys();
    BTreeMap::from([
        ("HOME_DOMAIN".into(), "anchor.example.com".into()),
        (
            "NETWORK_PASSPHRASE".into(),
            Network::TESTNET_PASSPHRASE.into(),
        ),
        ("SIGNING_KEY".into(), signing.account_id().to_string()),
        ("JWT_SECRET".into(), SECRET.into()),
        ("ASSETS".into(), assets.to_string()),
        ("KYC_VERIFIED_FIELDS".into(), "none".into()),
    ])
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

struct Harness {
    service: sep6_transfer::Service<InMemoryStore>,
    store: Arc<InMemoryStore>,
    clock: Arc<dyn Clock>,
    /// The callbacks the store's writes call for (the callback sender posts them).
    heard: Heard,
}

fn harness() -> Harness {
    let store = Arc::new(InMemoryStore::with_stream());
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(NOW));
    let anchor = AnchorConfig::from_source(&settings()).expect("anchor settings");
    let view = mooring::sep6::view::callback_body;
    let heard = Heard::new(
        store.clone(),
        Bodies {
            sep6: view,
            sep24: view,
            sep31: view,
            public_url: anchor.public_url.clone(),
        },
    );
    let ports = sep6_transfer::Ports {
        store: store.clone(),
        clock: clock.clone(),
    };
    let service = sep6_transfer::service(&settings(), &anchor, ports).expect("service");
    Harness {
        service,
        store,
        clock,
        heard,
    }
}

/// A SEP-10 token of `user`'s account.
fn bearer(user: &UserKey) -> String {
    let issuer = "https://anchor.example.com/auth".to_owned();
    let claims = Claims {
        iss: issuer.clone(),
        sub: user.account.to_string(),
        iat: NOW - 5,
        exp: NOW + 600,
        jti: "sep6".into(),
        client_domain: None,
        home_domain: "anchor.example.com".into(),
    };
    let token = JwtKeys::new(&Secret::new(SECRET.into()), issuer)
        .issue(&claims)
        .expect("token");
    format!("Bearer {token}")
}

impl Harness {
    /// Sends `method target` (path and query) through lambda_http as API Gateway delivers it.
    async fn call(
        &self,
        method: &str,
        target: &str,
        authorization: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut event: Value = serde_json::from_str(EVENT).expect("event template");
        event["rawPath"] = json!(path);
        event["rawQueryString"] = json!(query);
        event["requestContext"]["http"]["method"] = json!(method);
        event["requestContext"]["http"]["path"] = json!(path);
        event["pathParameters"]["proxy"] = json!(path.trim_start_matches("/sep6/"));
        let headers = &mut event["headers"];
        if let Some(value) = authorization {
            headers["authorization"] = json!(value);
        }
        if method == "OPTIONS" {
            headers["access-control-request-method"] = json!("GET");
            headers["access-control-request-headers"] = json!("authorization");
        }
        if let Some(body) = body {
            headers["content-type"] = json!("application/json");
            event["body"] = json!(body.to_string());
        }
        let request = from_str(&event.to_string()).expect("an API Gateway v2 event");
        let response = sep6_transfer::handle(&self.service, request)
            .await
            .expect("infallible");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        assert_eq!(
            headers
                .get("access-control-allow-origin")
                .map(|v| v.as_bytes()),
            Some(&b"*"[..]),
            "CORS on {status} of {method} {target}"
        );
        let body = match response.body() {
            Body::Empty => Value::Null,
            bytes => serde_json::from_slice(bytes.as_ref()).unwrap_or(Value::Null),
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The wallet reads one of its transactions.
    async fn read(&self, who: &UserKey, id: &str) -> Value {
        let reply = self
            .call(
                "GET",
                &format!("/sep6/transaction?id={id}"),
                Some(&bearer(who)),
                None,
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["transaction"].clone()
    }

    /// The user completes SEP-12 (type `default`), as `PUT /kyc/customer` does.
    async fn complete_kyc(&self, who: &UserKey) {
        let kyc = register_integrations(
            &settings(),
            anchor_integrations::Ports::new(&self.store, &self.clock),
        )
        .expect("integration");
        let fields = [
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email_address", "ada@example.com"),
        ];
        let update = CustomerUpdate {
            user: *who,
            id: None,
            kyc_type: None,
            transaction_id: None,
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            verifications: BTreeMap::new(),
        };
        CustomerIntegration::put(&kyc, &update)
            .await
            .expect("customer saved");
    }
}

#[tokio::test]
async fn info_lists_every_section_without_a_token() {
    let anchor = harness();
    let info = anchor.call("GET", "/sep6/info", None, None).await;
    assert_eq!(info.status, 200);
    assert_eq!(info.headers["content-type"], "application/json");
    let sections: Vec<&str> = info
        .body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    for section in [
        "deposit",
        "deposit-exchange",
        "withdraw",
        "withdraw-exchange",
        "fee",
        "transaction",
        "transactions",
        "features",
    ] {
        assert!(sections.contains(&section), "{section} in {sections:?}");
    }
    assert_eq!(
        info.body["deposit"]["USDC"],
        json!({"enabled": true, "authentication_required": true,
               "funding_methods": ["bank_transfer"], "min_amount": 1, "max_amount": 1000,
               "fee_fixed": 1})
    );
    assert_eq!(
        info.body["withdraw-exchange"]["USDC"],
        json!({"enabled": true, "authentication_required": true,
               "funding_methods": ["bank_transfer"]})
    );
    let authenticated = json!({"enabled": true, "authentication_required": true});
    assert_eq!(info.body["transaction"], authenticated);
    assert_eq!(info.body["transactions"], authenticated);
    assert_eq!(
        info.body["features"],
        json!({"account_creation": true, "claimable_balances": false})
    );
}

#[tokio::test]
async fn every_other_endpoint_is_403_authentication_required_without_a_valid_token() {
    let anchor = harness();
    let endpoints = [
        (
            "GET",
            "/sep6/deposit?asset_code=USDC&funding_method=bank_transfer",
        ),
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
    for (method, target) in endpoints {
        for authorization in [None, Some("Bearer not-a-jwt")] {
            let reply = anchor.call(method, target, authorization, None).await;
            assert_eq!(reply.status, 403, "{method} {target}");
            assert_eq!(reply.body, json!({"type": "authentication_required"}));
        }
    }
    // Errors of the routing carry CORS too (checked by `call`).
    let unknown = anchor.call("GET", "/sep6/nothing-here", None, None).await;
    assert_eq!(unknown.status, 404);
    let wrong_method = anchor.call("POST", "/sep6/info", None, None).await;
    assert_eq!(wrong_method.status, 405);
}

#[tokio::test]
async fn the_preflight_needs_no_token() {
    let anchor = harness();
    let preflight = anchor.call("OPTIONS", "/sep6/deposit", None, None).await;
    assert_eq!(preflight.status, 204);
    let allowed = preflight.headers["access-control-allow-headers"]
        .to_str()
        .expect("ascii");
    assert!(allowed.contains("Authorization"), "{allowed}");
}

#[tokio::test]
async fn a_deposit_with_funding_method_waits_for_kyc_in_the_transaction() {
    let anchor = harness();
    let ada = user(7);
    let opened = anchor
        .call(
            "GET",
            "/sep6/deposit?asset_code=USDC&funding_method=bank_transfer&amount=100",
            Some(&bearer(&ada)),
            None,
        )
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let id = opened.body["id"].as_str().expect("id").to_owned();
    let waiting = anchor.read(&ada, &id).await;
    assert_eq!(waiting["status"], "pending_customer_info_update");
    assert_eq!(waiting["kind"], "deposit");
    assert_eq!(waiting["amount_in"], "100");

    // SEP-12 complete: the next read moves the transaction on by itself.
    anchor.complete_kyc(&ada).await;
    let listed = anchor
        .call(
            "GET",
            "/sep6/transactions?asset_code=USDC",
            Some(&bearer(&ada)),
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(
        listed.body["transactions"][0]["status"],
        "pending_user_transfer_start"
    );
}

#[tokio::test]
async fn a_deposit_without_funding_method_is_the_deprecated_403() {
    let anchor = harness();
    let bob = user(8);
    let refused = anchor
        .call(
            "GET",
            "/sep6/deposit?asset_code=USDC",
            Some(&bearer(&bob)),
            None,
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["type"], "non_interactive_customer_info_needed");
    let fields = refused.body["fields"].as_array().expect("fields");
    assert!(fields.contains(&json!("first_name")), "{fields:?}");
    // Nothing was stored.
    let listed = anchor
        .call(
            "GET",
            "/sep6/transactions?asset_code=USDC",
            Some(&bearer(&bob)),
            None,
        )
        .await;
    assert_eq!(listed.body, json!({"transactions": []}));
}

#[tokio::test]
async fn a_withdrawal_gets_its_dest_by_patch_and_the_wallet_hears_of_it() {
    let anchor = harness();
    let cleo = user(9);
    anchor.complete_kyc(&cleo).await;
    let token = bearer(&cleo);
    let opened = anchor
        .call(
            "GET",
            "/sep6/withdraw?asset_code=USDC&funding_method=bank_transfer&amount=50\
             &on_change_callback=https%3A%2F%2Fwallet.example%2Fsep6-callback",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let id = opened.body["id"].as_str().expect("id").to_owned();
    let asked = anchor.read(&cleo, &id).await;
    assert_eq!(asked["status"], "pending_transaction_info_update");
    assert!(
        asked["required_info_updates"].get("dest").is_some(),
        "{asked}"
    );

    let patched = anchor
        .call(
            "PATCH",
            &format!("/sep6/transactions/{id}"),
            Some(&token),
            Some(json!({"transaction": {"dest": IBAN}})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let transaction = &patched.body["transaction"];
    assert_eq!(transaction["status"], "pending_user_transfer_start");
    assert_eq!(transaction["to"], "****3000");

    // The wallet hears of the new transaction, then of the PATCH's change.
    let sent = anchor.heard.callbacks();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1].url, "https://wallet.example/sep6-callback");
    let posted: Value = serde_json::from_str(&sent[1].body).expect("json");
    assert_eq!(posted["transaction"]["id"], id.as_str());
    assert_eq!(
        posted["transaction"]["status"],
        "pending_user_transfer_start"
    );

    // Nothing more to give: a second PATCH is refused.
    let again = anchor
        .call(
            "PATCH",
            &format!("/sep6/transactions/{id}"),
            Some(&token),
            Some(json!({"transaction": {"dest": IBAN}})),
        )
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
}
