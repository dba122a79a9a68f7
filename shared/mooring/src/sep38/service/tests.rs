//! Tests of the SEP-38 API through its HTTP glue ([`super::super::routes::handle`]), with a stub
//! integration, the in-memory store and a fixed clock: every endpoint's answer field by field
//! (digest section 8), every refusal, and that a refused request stores nothing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http::Request;
use serde_json::{json, Value};

use super::super::routes;
use super::*;
use crate::clock::FixedClock;
use crate::config::{AnchorConfig, Secret};
use crate::decimal::Rounding;
use crate::integrations::{FirmTerms, IndicativePrice};
use crate::pricing::FeeTerms;
use crate::sep10::{Claims, JwtKeys};
use crate::stellar::{Keypair, MuxedAccount};
use crate::store::InMemoryStore;

const NOW: u64 = 1_700_000_000;
const JWT_SECRET: &str = "a-jwt-secret-of-at-least-32-characters!!";
const ISSUER_URL: &str = "https://anchor.example/auth";

fn g(seed: u8) -> String {
    Keypair::from_seed_bytes([seed; 32])
        .account_id()
        .to_string()
}

fn usdc() -> String {
    format!("stellar:USDC:{}", g(100))
}

/// BRL per USDC: 5, with a fee of 1 BRL + 1 %; USDC per BRL: 0.2, with a fee of 0.5 BRL.
struct Stub {
    unavailable: AtomicBool,
}

impl Stub {
    fn terms(request: &PriceRequest<'_>) -> Result<Terms, IntegrationError> {
        let d = |text| Decimal::parse(text, 7).expect("decimal");
        match (request.sell_asset.id, request.buy_asset.id) {
            ("iso4217:BRL", buy) if buy == usdc() => Ok(Terms {
                price: d("5"),
                fee: FeeTerms {
                    asset: FeeAsset::Sell,
                    fixed: d("1"),
                    percent: d("1"),
                },
            }),
            (sell, "iso4217:BRL") if sell == usdc() => Ok(Terms {
                price: d("0.2"),
                fee: FeeTerms {
                    asset: FeeAsset::Buy,
                    fixed: d("0.5"),
                    percent: d("0"),
                },
            }),
            _ => Err(crate::integrations::not_quoted(request)),
        }
    }

    fn check(&self) -> Result<(), IntegrationError> {
        if self.unavailable.load(Ordering::Relaxed) {
            return Err(IntegrationError::Unavailable("the market is closed".into()));
        }
        Ok(())
    }
}

impl QuoteIntegration for Stub {
    async fn get_prices(
        &self,
        request: &PricesRequest<'_>,
    ) -> Result<Vec<IndicativePrice>, IntegrationError> {
        self.check()?;
        let price = if request.selling { "5" } else { "0.2" };
        Ok(request
            .counter_assets
            .iter()
            .filter(|counter| counter.id == "iso4217:BRL" || counter.id == usdc())
            .map(|counter| IndicativePrice {
                asset: counter.id.to_owned(),
                price: Decimal::parse(price, 7).expect("price"),
            })
            .collect())
    }

    async fn get_price(&self, request: &PriceRequest<'_>) -> Result<Terms, IntegrationError> {
        self.check()?;
        Self::terms(request)
    }

    async fn post_quote(
        &self,
        request: &PriceRequest<'_>,
        expire_after: Option<Timestamp>,
    ) -> Result<FirmTerms, IntegrationError> {
        self.check()?;
        let usual = Timestamp::from_secs(NOW + 600);
        let latest = Timestamp::from_secs(NOW + 3600);
        let expires_at = match expire_after {
            Some(wanted) if wanted > usual => wanted.min(latest),
            _ => usual,
        };
        Ok(FirmTerms {
            terms: Self::terms(request)?,
            expires_at,
        })
    }
}

struct Anchor {
    quotes: Quotes<Stub, InMemoryStore>,
    store: Arc<InMemoryStore>,
}

struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

fn anchor() -> Anchor {
    let offchain = json!([
        {"asset": "iso4217:BRL", "decimals": 2, "country_codes": ["BR"],
         "sell_delivery_methods": [{"name": "PIX", "description": "Pay with PIX"},
                                   {"name": "TED", "description": "Bank transfer"}],
         "buy_delivery_methods": [{"name": "PIX", "description": "Receive with PIX"}]},
        {"asset": "iso4217:EUR", "decimals": 2}
    ]);
    let assets = json!([
        {"code": "USDC", "issuer": g(100), "seps": ["sep24", "sep38"], "significant_decimals": 7},
        {"code": "EURC", "issuer": g(100), "seps": ["sep24"]}
    ]);
    let settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example".to_owned()),
        (
            "NETWORK_PASSPHRASE",
            "Test SDF Network ; September 2015".to_owned(),
        ),
        ("SIGNING_KEY", g(1)),
        ("JWT_SECRET", JWT_SECRET.to_owned()),
        ("ASSETS", assets.to_string()),
        ("OFFCHAIN_ASSETS", offchain.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let config = AnchorConfig::from_source(&settings).expect("anchor");
    let quote_settings = QuoteSettings {
        sep38: Sep38Config::from_source(&settings, &config).expect("sep38"),
        auth: AuthConfig::from_source(&settings, &config).expect("auth"),
    };
    let store = Arc::new(InMemoryStore::default());
    let stub = Stub {
        unavailable: AtomicBool::new(false),
    };
    let clock = Arc::new(FixedClock::at(NOW));
    Anchor {
        quotes: Quotes::new(quote_settings, stub, store.clone(), clock),
        store,
    }
}

/// A valid SEP-10 token for `sub`.
fn token(sub: &str) -> String {
    JwtKeys::new(&Secret::new(JWT_SECRET.into()), ISSUER_URL.into())
        .issue(&Claims {
            iss: ISSUER_URL.into(),
            sub: sub.into(),
            iat: NOW - 10,
            exp: NOW + 3600,
            jti: "00".into(),
            client_domain: None,
            home_domain: "anchor.example".into(),
        })
        .expect("token")
}

impl Anchor {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                body.to_string().into_bytes()
            }
            None => Vec::new(),
        };
        let response = routes::handle(&self.quotes, &request.body(body).expect("request")).await;
        let cors = response.headers().get("access-control-allow-origin");
        assert_eq!(
            cors.map(|v| v.as_bytes()),
            Some(&b"*"[..]),
            "CORS on {method} {uri}"
        );
        Answer {
            status: response.status().as_u16(),
            body: serde_json::from_str(response.body()).unwrap_or(Value::Null),
        }
    }

    async fn get(&self, path: &str, query: &[(&str, &str)], token: Option<&str>) -> Answer {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        self.call("GET", &format!("/sep38{path}?{query}"), token, None)
            .await
    }

    async fn post_quote(&self, token: &str, body: Value) -> Answer {
        self.call("POST", "/sep38/quote", Some(token), Some(body))
            .await
    }
}

fn number(value: &Value) -> Decimal {
    Decimal::parse_unbounded(value.as_str().expect("a string"), 24).expect("a decimal")
}

#[tokio::test]
async fn info_lists_every_quoted_asset_without_a_token() {
    let anchor = anchor();
    let info = anchor.get("/info", &[], None).await;
    assert_eq!(info.status, 200);
    assert_eq!(
        info.body,
        json!({"assets": [
            {"asset": usdc()},
            {"asset": "iso4217:BRL", "country_codes": ["BR"],
             "sell_delivery_methods": [{"name": "PIX", "description": "Pay with PIX"},
                                       {"name": "TED", "description": "Bank transfer"}],
             "buy_delivery_methods": [{"name": "PIX", "description": "Receive with PIX"}]},
            {"asset": "iso4217:EUR"}
        ]})
    );
}

#[tokio::test]
async fn prices_lists_the_counter_assets_of_the_given_side() {
    let anchor = anchor();
    let selling = anchor
        .get(
            "/prices",
            &[("sell_asset", "iso4217:BRL"), ("sell_amount", "100")],
            None,
        )
        .await;
    assert_eq!(selling.status, 200, "{}", selling.body);
    assert_eq!(
        selling.body,
        json!({"buy_assets": [{"asset": usdc(), "price": "5", "decimals": 7}]})
    );
    let buying = anchor
        .get(
            "/prices",
            &[("buy_asset", "iso4217:BRL"), ("buy_amount", "10")],
            Some(&token(&g(7))),
        )
        .await;
    assert_eq!(
        buying.body,
        json!({"sell_assets": [{"asset": usdc(), "price": "0.2", "decimals": 7}]})
    );
}

#[tokio::test]
async fn prices_refusals() {
    let anchor = anchor();
    let usdc = usdc();
    for (query, message) in [
        (vec![], "'sell_asset' or 'buy_asset' is required"),
        (
            vec![
                ("sell_asset", "iso4217:BRL"),
                ("buy_asset", usdc.as_str()),
                ("sell_amount", "1"),
            ],
            "give 'sell_asset' or 'buy_asset', not both",
        ),
        (
            vec![("sell_asset", "iso4217:BRL")],
            "'sell_amount' is required",
        ),
        (
            vec![("sell_asset", "iso4217:BRL"), ("buy_amount", "1")],
            "with 'sell_asset', give 'sell_amount'",
        ),
        (
            vec![("sell_asset", "iso4217:JPY"), ("sell_amount", "1")],
            "'sell_asset' is not an asset this anchor quotes: iso4217:JPY",
        ),
        (
            vec![
                ("sell_asset", "iso4217:BRL"),
                ("sell_amount", "1"),
                ("sell_delivery_method", "CASH"),
            ],
            "'sell_delivery_method' CASH is not a delivery method of the asset (see GET /info)",
        ),
        (
            vec![("sell_asset", "iso4217:BRL"), ("sell_amount", "1.001")],
            "'sell_amount' has more than 2 decimal places for iso4217:BRL",
        ),
    ] {
        let answer = anchor.get("/prices", &query, None).await;
        assert_eq!((answer.status, answer.error()), (400, message), "{query:?}");
    }
    let forged = anchor
        .get(
            "/prices",
            &[("sell_asset", "iso4217:BRL"), ("sell_amount", "1")],
            Some("forged"),
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(!forged.error().is_empty());
}

#[tokio::test]
async fn price_answers_the_seps_numbers_for_either_amount() {
    let anchor = anchor();
    let usdc = usdc();
    let answer = anchor
        .get(
            "/price",
            &[
                ("sell_asset", "iso4217:BRL"),
                ("buy_asset", &usdc),
                ("sell_amount", "100"),
                ("context", "sep31"),
            ],
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // 100 BRL less 2 BRL of fee, at 5 BRL per USDC.
    assert_eq!(
        answer.body,
        json!({"total_price": "5.10204081632653061224", "price": "5", "sell_amount": "100",
               "buy_amount": "19.6", "fee": {"total": "2", "asset": "iso4217:BRL"}})
    );
    let back = anchor
        .get(
            "/price",
            &[
                ("sell_asset", &usdc),
                ("buy_asset", "iso4217:BRL"),
                ("buy_amount", "99.5"),
                ("context", "sep6"),
            ],
            None,
        )
        .await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(back.body["sell_amount"], "20");
    assert_eq!(
        back.body["fee"],
        json!({"total": "0.5", "asset": "iso4217:BRL"})
    );
    // sell_amount = price × (buy_amount + fee) for a fee in the buy asset.
    let product = number(&back.body["price"])
        .mul(Decimal::parse("100", 2).expect("100"), 7, Rounding::HalfUp)
        .expect("product");
    assert_eq!(product, number(&back.body["sell_amount"]));
}

impl Anchor {
    /// `GET /price` of 10 BRL for USDC (context sep6), with `changes` (`None` drops a parameter).
    async fn price(&self, changes: &[(&str, Option<&str>)]) -> Answer {
        let usdc = usdc();
        let mut query: Vec<(&str, &str)> = vec![
            ("sell_asset", "iso4217:BRL"),
            ("buy_asset", &usdc),
            ("sell_amount", "10"),
            ("context", "sep6"),
        ];
        for (name, value) in changes {
            query.retain(|(present, _)| present != name);
            if let Some(value) = value {
                query.push((name, value));
            }
        }
        self.get("/price", &query, None).await
    }
}

#[tokio::test]
async fn price_refusals() {
    let anchor = anchor();
    let usdc = usdc();
    let unquoted = format!("the anchor does not quote {usdc} for iso4217:EUR");
    for (changes, message) in [
        (vec![("context", None)], "'context' is required"),
        (
            vec![("context", Some("sep12"))],
            "'context' must be sep6, sep24 or sep31, not sep12",
        ),
        (
            vec![("sell_amount", None)],
            "'sell_amount' or 'buy_amount' is required",
        ),
        (
            vec![("buy_amount", Some("1"))],
            "give 'sell_amount' or 'buy_amount', not both",
        ),
        (
            vec![("sell_amount", Some("abc"))],
            "'sell_amount' is not a positive decimal number",
        ),
        (
            vec![("sell_amount", Some("-5"))],
            "'sell_amount' is not a positive decimal number",
        ),
        (
            vec![("sell_amount", Some("0"))],
            "'sell_amount' must be positive",
        ),
        (
            vec![("sell_amount", Some("1e3"))],
            "'sell_amount' is not a positive decimal number",
        ),
        (
            vec![("sell_amount", Some("99999999999999999999"))],
            "'sell_amount' is too large",
        ),
        (
            vec![("sell_amount", Some("10.123"))],
            "'sell_amount' has more than 2 decimal places for iso4217:BRL",
        ),
        (
            vec![("sell_amount", Some("1"))],
            "the amount is too small to cover the fee",
        ),
        (
            vec![("buy_asset", Some("iso4217:BRL"))],
            "'sell_asset' and 'buy_asset' must differ",
        ),
        (vec![("sell_asset", Some("iso4217:EUR"))], unquoted.as_str()),
        (
            vec![("country_code", Some("US"))],
            "'country_code' must be one of BR for iso4217:BRL",
        ),
    ] {
        let answer = anchor.price(&changes).await;
        assert_eq!(
            (answer.status, answer.error()),
            (400, message),
            "{changes:?}"
        );
    }
    anchor
        .quotes
        .integration
        .unavailable
        .store(true, Ordering::Relaxed);
    let closed = anchor.price(&[]).await;
    assert_eq!(
        (closed.status, closed.error()),
        (503, "no price is available now; try again later")
    );
}

fn quote_request(extra: Value) -> Value {
    let mut body = json!({"sell_asset": "iso4217:BRL", "buy_asset": usdc(), "sell_amount": "100",
                          "sell_delivery_method": "PIX", "context": "sep24"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            if value.is_null() {
                body.remove(key);
            } else {
                body.insert(key.clone(), value.clone());
            }
        }
    }
    body
}

#[tokio::test]
async fn a_firm_quote_is_kept_for_its_owner_only() {
    let anchor = anchor();
    let owner = token(&g(7));
    let created = anchor.post_quote(&owner, quote_request(json!({}))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        created.body,
        json!({"id": id, "expires_at": "2023-11-14T22:23:20.000Z",
               "total_price": "5.10204081632653061224", "price": "5",
               "sell_asset": "iso4217:BRL", "sell_amount": "100", "sell_delivery_method": "PIX",
               "buy_asset": usdc(), "buy_amount": "19.6",
               "fee": {"total": "2", "asset": "iso4217:BRL"}})
    );
    let stored = anchor
        .store
        .get_quote(&id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.user.to_string(), g(7));
    assert_eq!(stored.context, QuoteContext::Sep24);

    let read = anchor.get(&format!("/quote/{id}"), &[], Some(&owner)).await;
    assert_eq!((read.status, &read.body), (200, &created.body));
    // Another user, the same account under another memo, and a muxed address of it: 404.
    let muxed = MuxedAccount::new(Keypair::from_seed_bytes([7; 32]).account_id(), Some(5));
    for stranger in [g(8), format!("{}:5", g(7)), muxed.to_string()] {
        let answer = anchor
            .get(&format!("/quote/{id}"), &[], Some(&token(&stranger)))
            .await;
        assert_eq!(
            (answer.status, answer.error()),
            (404, "quote not found"),
            "{stranger}"
        );
    }
    for missing in ["0b7c6a8e-9d0f-4c3a-8b1e-2f4d6a8c0e12", "not-a-uuid"] {
        let answer = anchor
            .get(&format!("/quote/{missing}"), &[], Some(&owner))
            .await;
        assert_eq!((answer.status, answer.error()), (404, "quote not found"));
    }
    let anonymous = anchor.get(&format!("/quote/{id}"), &[], None).await;
    assert_eq!(anonymous.status, 403);
    assert!(!anonymous.error().is_empty());
}

#[tokio::test]
async fn expire_after_is_honoured_or_refused() {
    let anchor = anchor();
    let owner = token(&g(7));
    let later = anchor
        .post_quote(
            &owner,
            quote_request(json!({"expire_after": "2023-11-14T22:43:20Z"})),
        )
        .await;
    assert_eq!(later.status, 201, "{}", later.body);
    assert_eq!(later.body["expires_at"], "2023-11-14T22:43:20.000Z");
    let too_late = anchor
        .post_quote(
            &owner,
            quote_request(json!({"expire_after": "2023-11-15T22:13:20Z"})),
        )
        .await;
    assert_eq!(too_late.status, 400);
    assert!(
        too_late
            .error()
            .starts_with("the anchor cannot hold a quote until"),
        "{}",
        too_late.error()
    );
    let bad = anchor
        .post_quote(&owner, quote_request(json!({"expire_after": "tomorrow"})))
        .await;
    assert_eq!(
        (bad.status, bad.error()),
        (400, "'expire_after' is not an ISO 8601 UTC date and time")
    );
}

#[tokio::test]
async fn quote_refusals_store_nothing() {
    let anchor = anchor();
    let owner = token(&g(7));
    for (change, status, message) in [
        (
            json!({"sell_delivery_method": null}),
            400,
            "'sell_delivery_method' is required: the asset has several (see GET /info)",
        ),
        (
            json!({"sell_delivery_method": "CASH"}),
            400,
            "'sell_delivery_method' CASH is not a delivery method of the asset (see GET /info)",
        ),
        (
            json!({"buy_amount": "5"}),
            400,
            "give 'sell_amount' or 'buy_amount', not both",
        ),
        (json!({"context": null}), 400, "'context' is required"),
        (
            json!({"sell_amount": "-100"}),
            400,
            "'sell_amount' is not a positive decimal number",
        ),
        (
            json!({"sell_amount": ["100"]}),
            400,
            "'sell_amount' must be a string",
        ),
        (
            json!({"buy_asset": "stellar:USDC:GA"}),
            400,
            "'buy_asset' is not an asset this anchor quotes: stellar:USDC:GA",
        ),
    ] {
        let answer = anchor
            .post_quote(&owner, quote_request(change.clone()))
            .await;
        assert_eq!(
            (answer.status, answer.error()),
            (status, message),
            "{change}"
        );
    }
    let not_json = anchor
        .call("POST", "/sep38/quote", Some(&owner), Some(json!("text")))
        .await;
    assert_eq!(not_json.status, 400);
    let anonymous = anchor
        .call("POST", "/sep38/quote", None, Some(quote_request(json!({}))))
        .await;
    assert_eq!(anonymous.status, 403);
    assert_eq!(anchor.store.quote_count(), 0);
}

#[tokio::test]
async fn methods_paths_and_preflight() {
    let anchor = anchor();
    assert_eq!(
        anchor
            .call("OPTIONS", "/sep38/quote", None, None)
            .await
            .status,
        204
    );
    assert_eq!(
        anchor.call("POST", "/sep38/info", None, None).await.status,
        405
    );
    assert_eq!(
        anchor.call("GET", "/sep38/quote", None, None).await.status,
        405
    );
    assert_eq!(
        anchor.call("GET", "/sep38/quotes", None, None).await.status,
        404
    );
}

#[tokio::test]
async fn prices_for_a_stellar_asset_take_the_country_of_a_counter_asset() {
    let anchor = anchor();
    let usdc = usdc();
    let query = |country| {
        vec![
            ("sell_asset", usdc.clone()),
            ("sell_amount", "10".to_owned()),
            ("country_code", country),
        ]
    };
    for (country, status) in [("BR", 200), ("US", 400)] {
        let query = query(country.to_owned());
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = anchor.get("/prices", &query, None).await;
        assert_eq!(answer.status, status, "{country}: {}", answer.body);
    }
}

/// The bounds of `crate::limits` on SEP-38: each refused with a 4xx `{"error"}`, no quote kept.
#[tokio::test]
async fn oversized_input_is_a_4xx_and_stores_nothing() {
    use crate::limits::{MAX_FORM_BYTES, MAX_PARAM_BYTES};
    let anchor = anchor();
    let owner = token(&g(7));
    let request = Request::builder()
        .method("POST")
        .uri("/sep38/quote")
        .header("authorization", format!("Bearer {owner}"))
        .header("content-type", "application/json");
    let response = routes::handle(
        &anchor.quotes,
        &request
            .body(vec![b' '; MAX_FORM_BYTES + 1])
            .expect("request"),
    )
    .await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.body(),
        &format!(r#"{{"error":"request body is larger than {MAX_FORM_BYTES} bytes"}}"#)
    );

    let huge = "9".repeat(MAX_PARAM_BYTES + 1);
    let answer = anchor
        .post_quote(&owner, quote_request(json!({ "sell_amount": huge })))
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.error(),
        format!("'sell_amount' is longer than {MAX_PARAM_BYTES} bytes")
    );
    // Magnitude past Stellar's largest amount, and more decimals than any asset has.
    for amount in ["922337203685.4775808", "1.0000000000000000000000001"] {
        let answer = anchor
            .post_quote(&owner, quote_request(json!({ "sell_amount": amount })))
            .await;
        assert_eq!(answer.status, 400, "{amount}: {}", answer.body);
        assert!(
            answer.error().starts_with("'sell_amount'"),
            "{}",
            answer.body
        );
        let price = anchor
            .get(
                "/price",
                &[
                    ("sell_asset", "iso4217:BRL"),
                    ("buy_asset", &usdc()),
                    ("sell_amount", amount),
                    ("sell_delivery_method", "PIX"),
                    ("context", "sep24"),
                ],
                Some(&owner),
            )
            .await;
        assert_eq!(price.status, 400, "{amount}: {}", price.body);
    }
    // A quote id that cannot be one is not looked up.
    let long_id = "q".repeat(MAX_PARAM_BYTES + 1);
    let answer = anchor
        .call(
            "GET",
            &format!("/sep38/quote/{long_id}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(answer.status, 404);
    assert_eq!(anchor.store.quote_count(), 0);
}
