//! The Lambda handler driven by API Gateway (HTTP API, payload 2.0) events, over in-memory
//! adapters and the anchor's integration (the reference one: rates from `QUOTE_RATES`): a wallet
//! reads the quoted assets and a price, takes a firm quote and reads it back.

use std::collections::BTreeMap;
use std::sync::Arc;

use lambda_http::request::from_str;
use lambda_http::Body;
use mooring::clock::FixedClock;
use mooring::config::{AnchorConfig, Secret};
use mooring::sep10::{Claims, JwtKeys};
use mooring::stellar::{Keypair, Network};
use mooring::store::InMemoryStore;
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;
const JWT_SECRET: &str = "a-jwt-secret-of-at-least-32-chars!!";
const ISSUER: &str = "https://anchor.example.com/auth";

fn usdc() -> String {
    let issuer = Keypair::from_seed_bytes([100; 32]).account_id();
    format!("stellar:USDC:{issuer}")
}

fn settings() -> BTreeMap<String, String> {
    let issuer = Keypair::from_seed_bytes([100; 32]).account_id().to_string();
    let assets = json!([{"code": "USDC", "issuer": issuer, "seps": ["sep24", "sep38"]}]);
    let offchain = json!([{"asset": "iso4217:USD", "decimals": 2, "country_codes": ["US"]}]);
    let rates = json!([
        {"sell_asset": "iso4217:USD", "buy_asset": usdc(), "rate": "1", "spread_percent": "1",
         "fee_fixed": "1"},
        {"sell_asset": usdc(), "buy_asset": "iso4217:USD", "rate": "1", "fee_percent": "0.5"}
    ]);
    [
        ("HOME_DOMAIN", "anchor.example.com".to_owned()),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE.to_owned()),
        (
            "SIGNING_KEY",
            Keypair::from_seed_bytes([1; 32]).account_id().to_string(),
        ),
        ("JWT_SECRET", JWT_SECRET.to_owned()),
        ("ASSETS", assets.to_string()),
        ("OFFCHAIN_ASSETS", offchain.to_string()),
        ("QUOTE_RATES", rates.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn service() -> sep38_quotes::Service<InMemoryStore> {
    let ports = sep38_quotes::Ports {
        store: Arc::new(InMemoryStore::default()),
        clock: Arc::new(FixedClock::at(NOW)),
    };
    let anchor = AnchorConfig::from_source(&settings()).expect("anchor config");
    sep38_quotes::service(&settings(), &anchor, ports).expect("service")
}

fn token() -> String {
    let wallet = Keypair::from_seed_bytes([7; 32]).account_id().to_string();
    JwtKeys::new(&Secret::new(JWT_SECRET.into()), ISSUER.into())
        .issue(&Claims {
            iss: ISSUER.into(),
            sub: wallet,
            iat: NOW - 10,
            exp: NOW + 3600,
            jti: "00".into(),
            client_domain: None,
            home_domain: "anchor.example.com".into(),
        })
        .expect("token")
}

/// An API Gateway HTTP API event for a request.
fn event(method: &str, path: &str, query: &str, body: Option<Value>) -> String {
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "host": "anchor.example.com",
            "authorization": format!("Bearer {}", token()),
            "content-type": "application/json"
        },
        "requestContext": {
            "accountId": "123456789012", "apiId": "api1234567",
            "domainName": "anchor.example.com", "domainPrefix": "anchor",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "wallet/1.0"},
            "requestId": "JKJaXmPLvHcESHB=", "routeKey": format!("{method} {path}"),
            "stage": "$default", "time": "14/Nov/2023:22:13:20 +0000", "timeEpoch": 1700000000000_u64
        },
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false
    })
    .to_string()
}

async fn send(service: &sep38_quotes::Service<InMemoryStore>, event: String) -> (u16, Value) {
    let request = from_str(&event).expect("an API Gateway v2 event");
    let response = sep38_quotes::handle(service, request)
        .await
        .expect("infallible");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let body = match response.body() {
        Body::Empty => Value::Null,
        body => serde_json::from_slice(body.as_ref()).unwrap_or(Value::Null),
    };
    (response.status().as_u16(), body)
}

#[tokio::test]
async fn a_wallet_reads_prices_and_takes_a_quote() {
    let service = service();
    let (status, info) = send(&service, event("GET", "/sep38/info", "", None)).await;
    assert_eq!(status, 200);
    assert_eq!(
        info,
        json!({"assets": [{"asset": usdc()}, {"asset": "iso4217:USD", "country_codes": ["US"]}]})
    );

    let query = format!(
        "sell_asset=iso4217:USD&buy_asset={}&sell_amount=102&context=sep24",
        usdc()
    );
    let (status, price) = send(&service, event("GET", "/sep38/price", &query, None)).await;
    assert_eq!(status, 200, "{price}");
    // 102 USD less a 1 USD fee at 1.01 USD per USDC: 100 USDC.
    assert_eq!(
        price,
        json!({"total_price": "1.02", "price": "1.01", "sell_amount": "102",
               "buy_amount": "100", "fee": {"total": "1", "asset": "iso4217:USD"}})
    );

    let request = json!({"sell_asset": usdc(), "buy_asset": "iso4217:USD", "sell_amount": "100",
                         "context": "sep24"});
    let (status, quote) = send(&service, event("POST", "/sep38/quote", "", Some(request))).await;
    assert_eq!(status, 201, "{quote}");
    assert_eq!(quote["buy_amount"], "99.5");
    assert_eq!(quote["fee"], json!({"total": "0.5", "asset": usdc()}));
    assert_eq!(quote["expires_at"], "2023-11-14T22:23:20.000Z");
    let id = quote["id"].as_str().expect("id");
    let (status, read) = send(
        &service,
        event("GET", &format!("/sep38/quote/{id}"), "", None),
    )
    .await;
    assert_eq!((status, &read), (200, &quote));
}
