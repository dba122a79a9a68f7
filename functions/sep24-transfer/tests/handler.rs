//! The Lambda handler driven by API Gateway (HTTP API, payload 2.0) events, over in-memory
//! adapters and the anchor's integration (the reference one, `anchor_integrations::reference`):
//! a wallet opens a deposit and a withdrawal, reads them back, and its SEP-9 fields land on its
//! customer.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use lambda_http::request::from_str;
use lambda_http::Body;
use mooring::clock::FixedClock;
use mooring::config::{AnchorConfig, Secret};
use mooring::model::UserKey;
use mooring::sep10::{Claims, JwtKeys};
use mooring::sep24::token::InteractiveKeys;
use mooring::stellar::{Keypair, Network};
use mooring::store::{CustomerStore, InMemoryStore, TransactionStore};
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;
const JWT_SECRET: &str = "a-jwt-secret-of-at-least-32-chars!!";
const ISSUER: &str = "https://anchor.example.com/auth";

fn issuer() -> String {
    Keypair::from_seed_bytes([100; 32]).account_id().to_string()
}

fn settings() -> BTreeMap<String, String> {
    let assets = json!([
        {"code": "USDC", "issuer": issuer(), "seps": ["sep24"], "significant_decimals": 2,
         "deposit": {"min_amount": 1, "max_amount": 1000, "fee_fixed": 1, "fee_percent": 0.5},
         "withdraw": {"fee_fixed": 2}}
    ])
    .to_string();
    [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        (
            "SIGNING_KEY",
            &Keypair::from_seed_bytes([1; 32]).account_id().to_string(),
        ),
        ("JWT_SECRET", JWT_SECRET),
        ("ASSETS", &assets),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

struct Function {
    service: sep24_transfer::Service<InMemoryStore>,
    store: Arc<InMemoryStore>,
}

fn function() -> Function {
    let store = Arc::new(InMemoryStore::default());
    let ports = sep24_transfer::Ports {
        store: store.clone(),
        clock: Arc::new(FixedClock::at(NOW)),
    };
    Function {
        service: sep24_transfer::service(
            &settings(),
            &AnchorConfig::from_source(&settings()).expect("anchor config"),
            ports,
        )
        .expect("service"),
        store,
    }
}

fn wallet() -> String {
    Keypair::from_seed_bytes([7; 32]).account_id().to_string()
}

fn token(sub: &str) -> String {
    JwtKeys::new(&Secret::new(JWT_SECRET.into()), ISSUER.into())
        .issue(&Claims {
            iss: ISSUER.into(),
            sub: sub.into(),
            iat: NOW - 10,
            exp: NOW + 3600,
            jti: "00".into(),
            client_domain: Some("wallet.example".into()),
            home_domain: "anchor.example.com".into(),
        })
        .expect("token")
}

struct Answer {
    status: u16,
    body: Value,
    headers: lambda_http::http::HeaderMap,
}

impl Function {
    async fn send(&self, fixture: &str, replacements: &[(&str, &str)]) -> Answer {
        let mut event = fixture.to_owned();
        for (from, to) in replacements {
            event = event.replace(from, to);
        }
        let request = from_str(&event).expect("an API Gateway v2 event");
        let response = sep24_transfer::handle(&self.service, request)
            .await
            .expect("infallible");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        assert_eq!(
            headers["access-control-allow-origin"], "*",
            "CORS on {status}"
        );
        let body = match response.body() {
            Body::Empty => Value::Null,
            body => serde_json::from_slice(body.as_ref()).unwrap_or(Value::Null),
        };
        Answer {
            status,
            body,
            headers,
        }
    }
}

#[tokio::test]
async fn info_and_preflight_need_no_token() {
    let function = function();
    let info = function
        .send(include_str!("events/get_info.json"), &[])
        .await;
    assert_eq!(info.status, 200);
    assert_eq!(info.headers["content-type"], "application/json");
    assert_eq!(
        info.body,
        json!({
            "deposit": {"USDC": {"enabled": true, "min_amount": 1, "max_amount": 1000,
                                 "fee_fixed": 1, "fee_percent": 0.5}},
            "withdraw": {"USDC": {"enabled": true, "fee_fixed": 2}},
            "fee": {"enabled": true, "authentication_required": true},
            "features": {"account_creation": true, "claimable_balances": false}
        })
    );
    let preflight = function
        .send(include_str!("events/options_deposit.json"), &[])
        .await;
    assert_eq!(preflight.status, 204);
    assert!(preflight.headers["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .contains("Authorization"));
}

#[tokio::test]
async fn a_wallet_opens_a_deposit_and_reads_it_back() {
    let function = function();
    let jane = token(&wallet());
    let opened = function
        .send(
            include_str!("events/post_deposit_json.json"),
            &[("__TOKEN__", &jane)],
        )
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.body["type"], "interactive_customer_info_needed");
    let id = opened.body["id"].as_str().expect("id").to_owned();
    let url = opened.body["url"].as_str().expect("url");
    let prefix = format!("https://anchor.example.com/sep24/interactive?transaction_id={id}&token=");
    let link_token = url
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix("&lang=en"))
        .unwrap_or_else(|| panic!("{url}"));
    let keys = InteractiveKeys::new(&Secret::new(JWT_SECRET.into()));
    assert_eq!(keys.verify_link_token(&id, link_token, NOW), Ok(NOW + 300));

    let stored = TransactionStore::get(&*function.store, &id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.client_domain.as_deref(), Some("wallet.example"));
    // The reference integration kept the SEP-9 field on the user's customer.
    let user = UserKey {
        account: wallet().parse().expect("account"),
        memo: None,
    };
    let customer = function
        .store
        .find_by_user(&user)
        .await
        .expect("find")
        .expect("a customer");
    assert_eq!(customer.fields["first_name"], "Jane");

    let read = function
        .send(
            include_str!("events/get_transaction.json"),
            &[("__TOKEN__", &jane), ("__ID__", &id)],
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    let tx = &read.body["transaction"];
    assert_eq!(tx["id"], id.as_str());
    assert_eq!(tx["kind"], "deposit");
    assert_eq!(tx["status"], "incomplete");
    assert_eq!(tx["amount_in"], "100");
    assert_eq!(tx["amount_fee"], "1.5");
    assert_eq!(tx["amount_out"], "98.5");
    assert_eq!(tx["to"], wallet());
    assert_eq!(
        tx["more_info_url"],
        format!("https://anchor.example.com/sep24/more-info?id={id}")
    );

    let fee = function
        .send(include_str!("events/get_fee.json"), &[("__TOKEN__", &jane)])
        .await;
    assert_eq!(fee.body, json!({"fee": 1.5}));

    // Another wallet neither sees it nor gets a listing of it.
    let other = token(&Keypair::from_seed_bytes([8; 32]).account_id().to_string());
    let hidden = function
        .send(
            include_str!("events/get_transaction.json"),
            &[("__TOKEN__", &other), ("__ID__", &id)],
        )
        .await;
    assert_eq!(hidden.status, 404);
    let list = function
        .send(
            include_str!("events/get_transactions.json"),
            &[("__TOKEN__", &other)],
        )
        .await;
    assert_eq!(list.body, json!({"transactions": []}));
}

#[tokio::test]
async fn a_base64_form_encoded_withdrawal_event_is_listed() {
    let function = function();
    let jane = token(&wallet());
    let body = BASE64.encode(format!(
        "asset_code=USDC&asset_issuer={}&amount=50&refund_memo=12&refund_memo_type=id",
        issuer()
    ));
    let opened = function
        .send(
            include_str!("events/post_withdraw_form_base64.json"),
            &[("__TOKEN__", &jane), ("__BODY__", &body)],
        )
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let id = opened.body["id"].as_str().expect("id");
    let list = function
        .send(
            include_str!("events/get_transactions.json"),
            &[("__TOKEN__", &jane)],
        )
        .await;
    assert_eq!(list.status, 200);
    let transactions = list.body["transactions"].as_array().expect("list");
    assert_eq!(transactions.len(), 1);
    let tx = &transactions[0];
    assert_eq!(tx["id"], id);
    assert_eq!(tx["kind"], "withdrawal");
    assert_eq!(tx["from"], wallet());
    assert_eq!(tx["amount_in"], "50");
    assert_eq!(tx["amount_out"], "48");
    assert_eq!(tx["withdraw_anchor_account"], Value::Null);
}

#[tokio::test]
async fn events_without_a_valid_token_are_403_authentication_required() {
    let function = function();
    for fixture in [
        include_str!("events/post_deposit_json.json"),
        include_str!("events/post_withdraw_form_base64.json"),
        include_str!("events/get_transaction.json"),
        include_str!("events/get_transactions.json"),
        include_str!("events/get_fee.json"),
    ] {
        let answer = function
            .send(
                fixture,
                &[("__TOKEN__", "garbage"), ("__ID__", "x"), ("__BODY__", "")],
            )
            .await;
        assert_eq!(answer.status, 403);
        assert_eq!(answer.body, json!({"type": "authentication_required"}));
    }
}
