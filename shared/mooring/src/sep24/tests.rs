//! Tests of the SEP-24 transfer API through its HTTP glue ([`routes::handle`]), with a stub
//! integration, the in-memory store and a fixed clock: every endpoint's answer field by field
//! (digest section 5), every refusal, and that a refused request stores nothing. The Lambda
//! handler over API Gateway events is tested in `functions/sep24-transfer/tests`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http::{HeaderMap, Request};
use serde_json::{json, Value};

use super::routes;
use super::service::{Transfer, TransferSettings};
use super::token::InteractiveKeys;
use crate::auth::AuthConfig;
use crate::clock::FixedClock;
use crate::config::{AnchorConfig, Secret, Sep24Config};
use crate::i18n::Lang;
use crate::integrations::{
    DepositIntegration, FeeIntegration, FlowContext, Form, FormValues, IntegrationError,
    InteractiveFlow, Operation, WithdrawalIntegration,
};
use crate::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey};
use crate::sep10::{Claims, JwtKeys};
use crate::stellar::{AccountId, Asset, Keypair, MuxedAccount, Network};
use crate::store::{InMemoryStore, TransactionQuery, TransactionStore};
use crate::time::Timestamp;

const NOW: u64 = 1_700_000_000;
const STARTED: &str = "2023-11-14T22:13:20.000Z";
const JWT_SECRET: &str = "a-jwt-secret-of-at-least-32-characters!!";
const PUBLIC_URL: &str = "https://anchor.example";
const ISSUER: &str = "https://anchor.example/auth";

fn account(seed: u8) -> AccountId {
    Keypair::from_seed_bytes([seed; 32]).account_id()
}

fn g(seed: u8) -> String {
    account(seed).to_string()
}

fn m(seed: u8, id: u64) -> String {
    MuxedAccount::new(account(seed), Some(id)).to_string()
}

/// The anchor's issuers.
fn issuer() -> String {
    g(100)
}

fn other_issuer() -> String {
    g(101)
}

fn usdc() -> Asset {
    Asset::credit("USDC", account(100)).expect("asset")
}

fn assets() -> String {
    json!([
        {"code": "USDC", "issuer": issuer(), "seps": ["sep24"], "significant_decimals": 2,
         "deposit": {"min_amount": 1, "max_amount": 1000, "fee_fixed": 1, "fee_percent": 0.5},
         "withdraw": {"min_amount": 5, "max_amount": 500, "fee_percent": 1, "fee_minimum": 2}},
        {"code": "EURC", "issuer": issuer(), "seps": ["sep24"],
         "deposit": {}, "withdraw": {"enabled": false}},
        {"code": "SRT", "issuer": other_issuer(), "seps": ["sep24"], "deposit": {"fee_fixed": 0.1}},
        {"code": "native", "seps": ["sep24"], "withdraw": {"max_amount": 10000}},
        // Configured (in stellar.toml) but not offered through SEP-24.
        {"code": "SEPSIX", "issuer": issuer(), "seps": [],
         "deposit": {}, "withdraw": {}}
    ])
    .to_string()
}

/// A `save_sep9_fields` call: direction, user, fields, language.
type Saved = (&'static str, UserKey, BTreeMap<String, String>, Lang);

/// Records the SEP-9 fields it is given; refuses them when told to.
#[derive(Default)]
struct Stub {
    saved: Mutex<Vec<Saved>>,
    refuse: AtomicBool,
}

impl Stub {
    fn save(
        &self,
        direction: &'static str,
        user: &UserKey,
        fields: &BTreeMap<String, String>,
        lang: Lang,
    ) -> Result<(), IntegrationError> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(IntegrationError::invalid("first_name is not acceptable"));
        }
        self.saved
            .lock()
            .expect("lock")
            .push((direction, *user, fields.clone(), lang));
        Ok(())
    }
}

impl InteractiveFlow for Stub {
    async fn form_for_transaction(
        &self,
        _context: FlowContext<'_>,
    ) -> Result<Option<Form>, IntegrationError> {
        Ok(None)
    }

    async fn after_form_validation(
        &self,
        _transaction: &mut Transaction,
        _form: &Form,
        _values: &FormValues,
        _lang: Lang,
    ) -> Result<(), IntegrationError> {
        Ok(())
    }

    async fn save_sep9_fields(
        &self,
        operation: Operation,
        user: &UserKey,
        fields: &BTreeMap<String, String>,
        lang: Lang,
    ) -> Result<(), IntegrationError> {
        self.save(operation.as_str(), user, fields, lang)
    }
}

impl DepositIntegration for Stub {}

impl WithdrawalIntegration for Stub {}

/// The default fee (`standard_fee`).
impl FeeIntegration for Stub {}

struct Anchor {
    transfer: Transfer<Stub, InMemoryStore>,
    store: Arc<InMemoryStore>,
    clock: Arc<FixedClock>,
}

struct Answer {
    status: u16,
    body: Value,
    headers: HeaderMap,
}

impl Answer {
    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

fn settings(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example"),
        ("PUBLIC_URL", PUBLIC_URL),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &g(1)),
        ("JWT_SECRET", JWT_SECRET),
        ("ASSETS", &assets()),
        ("SEP24_CLAIMABLE_BALANCES", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        settings.insert((*k).to_owned(), (*v).to_owned());
    }
    settings
}

fn anchor_with(extra: &[(&str, &str)]) -> Anchor {
    let src = settings(extra);
    let config = AnchorConfig::from_source(&src).expect("anchor config");
    let settings = TransferSettings {
        sep24: Sep24Config::from_source(&src).expect("sep24 config"),
        auth: AuthConfig::from_source(&src, &config).expect("auth config"),
        anchor: config,
    };
    let store = Arc::new(InMemoryStore::default());
    let clock = Arc::new(FixedClock::at(NOW));
    Anchor {
        transfer: Transfer::new(settings, Stub::default(), store.clone(), clock.clone()),
        store,
        clock,
    }
}

fn anchor() -> Anchor {
    anchor_with(&[])
}

fn jwt(sub: &str, exp: u64, client_domain: Option<&str>, secret: &str) -> String {
    JwtKeys::new(&Secret::new(secret.into()), ISSUER.into())
        .issue(&Claims {
            iss: ISSUER.into(),
            sub: sub.into(),
            iat: NOW - 10,
            exp,
            jti: "00".into(),
            client_domain: client_domain.map(str::to_owned),
            home_domain: "anchor.example".into(),
        })
        .expect("token")
}

/// A valid SEP-10 token for `sub` (`G...`, `G...:memo` or `M...`).
fn token(sub: &str) -> String {
    jwt(sub, NOW + 3600, None, JWT_SECRET)
}

fn user(seed: u8, memo: Option<u64>) -> UserKey {
    UserKey {
        account: account(seed),
        memo,
    }
}

impl Anchor {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = routes::handle(&self.transfer, &request.body(body).expect("request")).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        assert_eq!(
            headers
                .get("access-control-allow-origin")
                .map(|v| v.as_bytes()),
            Some(&b"*"[..]),
            "CORS on {method} {uri} ({status})"
        );
        let body = serde_json::from_str(response.body()).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            headers,
        }
    }

    async fn get(&self, path_and_query: &str, token: &str) -> Answer {
        self.call(
            "GET",
            &format!("/sep24{path_and_query}"),
            Some(token),
            None,
            Vec::new(),
        )
        .await
    }

    /// A POST with a JSON body, as the validator sends them.
    async fn post(&self, direction: &str, token: &str, body: Value) -> Answer {
        self.call(
            "POST",
            &format!("/sep24/transactions/{direction}/interactive"),
            Some(token),
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
    }

    async fn post_form(&self, direction: &str, token: &str, pairs: &[(&str, &str)]) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.call(
            "POST",
            &format!("/sep24/transactions/{direction}/interactive"),
            Some(token),
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
        .await
    }

    async fn stored(&self, id: &str) -> Transaction {
        TransactionStore::get(&*self.store, id)
            .await
            .expect("get")
            .expect("stored")
    }

    /// Every transaction in the store.
    async fn count(&self) -> usize {
        let mut n = 0;
        for seed in 0..=255u8 {
            for memo in [None, Some(7), Some(8), Some(9)] {
                let query = TransactionQuery {
                    user: user(seed, memo),
                    protocol: None,
                    asset_code: None,
                    kinds: Vec::new(),
                    no_older_than: None,
                    limit: 1000,
                    cursor: None,
                    before: None,
                };
                n += self
                    .store
                    .list_for_user(&query)
                    .await
                    .expect("list")
                    .items
                    .len();
            }
        }
        n
    }

    fn saved(&self) -> Vec<Saved> {
        self.transfer
            .integration
            .saved
            .lock()
            .expect("lock")
            .clone()
    }

    /// Opens a deposit and returns its id.
    async fn deposit(&self, token: &str, body: Value) -> String {
        let answer = self.post("deposit", token, body).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["id"].as_str().expect("id").to_owned()
    }

    async fn withdrawal(&self, token: &str, body: Value) -> String {
        let answer = self.post("withdraw", token, body).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["id"].as_str().expect("id").to_owned()
    }
}

fn ids(answer: &Answer) -> Vec<String> {
    answer.body["transactions"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", answer.body))
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// GET /info

#[tokio::test]
async fn info_lists_every_sep24_asset_with_limits_and_fees_as_numbers() {
    let anchor = anchor();
    let answer = anchor
        .call("GET", "/sep24/info?lang=es", None, None, Vec::new())
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(
        answer.body,
        json!({
            "deposit": {
                "USDC": {"enabled": true, "min_amount": 1, "max_amount": 1000,
                         "fee_fixed": 1, "fee_percent": 0.5},
                "EURC": {"enabled": true},
                "SRT": {"enabled": true, "fee_fixed": 0.1},
                "native": {"enabled": false}
            },
            "withdraw": {
                "USDC": {"enabled": true, "min_amount": 5, "max_amount": 500,
                         "fee_percent": 1, "fee_minimum": 2},
                "EURC": {"enabled": false},
                "SRT": {"enabled": false},
                "native": {"enabled": true, "max_amount": 10000}
            },
            "fee": {"enabled": true, "authentication_required": true},
            "features": {"account_creation": true, "claimable_balances": true}
        })
    );
    // Numbers, not strings (0.5 and 0.1 print as themselves).
    assert!(answer.body["deposit"]["USDC"]["fee_percent"].is_f64());
    assert!(answer.body["deposit"]["USDC"]["min_amount"].is_u64());
    let raw = serde_json::to_string(&answer.body).expect("json");
    assert!(raw.contains(r#""fee_fixed":0.1"#), "{raw}");

    let other = anchor_with(&[
        ("SEP24_ACCOUNT_CREATION", "false"),
        ("SEP24_CLAIMABLE_BALANCES", "false"),
    ]);
    let answer = other
        .call("GET", "/sep24/info", None, None, Vec::new())
        .await;
    assert_eq!(
        answer.body["features"],
        json!({"account_creation": false, "claimable_balances": false})
    );
}

#[tokio::test]
async fn preflight_unknown_paths_and_wrong_methods_have_cors_too() {
    let anchor = anchor();
    for path in [
        "/sep24/info",
        "/sep24/fee",
        "/sep24/transactions/deposit/interactive",
        "/sep24/transactions/withdraw/interactive",
        "/sep24/transaction",
        "/sep24/transactions",
    ] {
        let answer = anchor.call("OPTIONS", path, None, None, Vec::new()).await;
        assert_eq!(answer.status, 204, "{path}");
        let methods = answer.headers["access-control-allow-methods"]
            .to_str()
            .expect("ascii");
        assert!(
            methods.contains("GET") && methods.contains("POST"),
            "{path}"
        );
        let headers = answer.headers["access-control-allow-headers"]
            .to_str()
            .expect("ascii");
        assert!(headers.contains("Authorization"), "{path}");
    }
    let unknown = anchor
        .call("GET", "/sep24/nothing", None, None, Vec::new())
        .await;
    assert_eq!(unknown.status, 404);
    assert!(!unknown.error().is_empty());
    let jane = token(&g(7));
    for (method, path) in [
        ("POST", "/sep24/info"),
        ("GET", "/sep24/transactions/deposit/interactive"),
        ("DELETE", "/sep24/transaction"),
        ("POST", "/sep24/transactions"),
    ] {
        let answer = anchor
            .call(method, path, Some(&jane), None, Vec::new())
            .await;
        assert_eq!(answer.status, 405, "{method} {path}");
        assert_eq!(answer.error(), "method not allowed");
    }
}

// ---------------------------------------------------------------------------------------------
// Authentication

#[tokio::test]
async fn every_endpoint_but_info_answers_403_authentication_required_without_a_valid_token() {
    let anchor = anchor();
    let expired = jwt(&g(7), NOW, None, JWT_SECRET);
    let foreign = jwt(
        &g(7),
        NOW + 3600,
        None,
        "another-secret-of-at-least-32-characters",
    );
    let body = json!({"asset_code": "USDC"}).to_string().into_bytes();
    let endpoints: [(&str, &str); 5] = [
        (
            "GET",
            "/sep24/fee?operation=deposit&asset_code=USDC&amount=10",
        ),
        ("POST", "/sep24/transactions/deposit/interactive"),
        ("POST", "/sep24/transactions/withdraw/interactive"),
        ("GET", "/sep24/transaction?id=x"),
        ("GET", "/sep24/transactions?asset_code=USDC"),
    ];
    for (method, uri) in endpoints {
        for (what, header) in [
            ("missing", None),
            ("expired", Some(format!("Bearer {expired}"))),
            ("garbage", Some("Bearer not.a.jwt".to_owned())),
            ("another key", Some(format!("Bearer {foreign}"))),
            ("no scheme", Some(token(&g(7)))),
            ("basic", Some("Basic dXNlcjpwYXNz".to_owned())),
        ] {
            let mut request = Request::builder()
                .method(method)
                .uri(uri)
                .header("content-type", "application/json");
            if let Some(header) = header {
                request = request.header("authorization", header);
            }
            let response = routes::handle(
                &anchor.transfer,
                &request.body(body.clone()).expect("request"),
            )
            .await;
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
}

// ---------------------------------------------------------------------------------------------
// GET /fee

#[tokio::test]
async fn fee_is_the_configured_fee_as_a_number() {
    let anchor = anchor();
    let jane = token(&g(7));
    let fee = |query: &str| {
        let anchor = &anchor;
        let jane = &jane;
        let uri = format!("/fee?{query}");
        async move { anchor.get(&uri, jane).await }
    };
    let answer = fee("operation=deposit&asset_code=USDC&amount=100").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, json!({"fee": 1.5}));
    // 1 % of 100 is below the 2 minimum; `type` is passed on and does not matter here.
    let answer = fee("operation=withdraw&type=bank_account&asset_code=USDC&amount=100").await;
    assert_eq!(answer.body, json!({"fee": 2}));
    let answer = fee("operation=withdraw&asset_code=USDC&amount=500").await;
    assert_eq!(answer.body, json!({"fee": 5}));
    let answer = fee("operation=deposit&asset_code=EURC&amount=3").await;
    assert_eq!(answer.body, json!({"fee": 0}));
    let answer = fee(&format!(
        "operation=deposit&asset_code=SRT&asset_issuer={}&amount=3",
        other_issuer()
    ))
    .await;
    assert_eq!(answer.body, json!({"fee": 0.1}));

    for (query, message) in [
        ("asset_code=USDC&amount=100", "'operation' is required"),
        (
            "operation=exchange&asset_code=USDC&amount=100",
            "'operation' must be deposit or withdraw",
        ),
        ("operation=deposit&amount=100", "'asset_code' is required"),
        (
            "operation=deposit&asset_code=BTC&amount=100",
            "This anchor doesn't support the given currency code: BTC",
        ),
        (
            "operation=deposit&asset_code=SEPSIX&amount=100",
            "This anchor doesn't support the given currency code: SEPSIX",
        ),
        (
            "operation=withdraw&asset_code=EURC&amount=100",
            "withdraw is not enabled for EURC",
        ),
        (
            "operation=deposit&asset_code=native&amount=100",
            "deposit is not enabled for native",
        ),
        ("operation=deposit&asset_code=USDC", "'amount' is required"),
        (
            "operation=deposit&asset_code=USDC&amount=ten",
            "'amount': 'ten' is not a decimal amount with at most 7 decimal places",
        ),
        (
            "operation=deposit&asset_code=USDC&amount=-5",
            "'amount': amount must not be negative",
        ),
        (
            "operation=deposit&asset_code=USDC&amount=0",
            "'amount' must be positive",
        ),
        (
            "operation=deposit&asset_code=USDC&amount=10.001",
            "USDC amounts have at most 2 decimal places",
        ),
        (
            "operation=deposit&asset_code=USDC&amount=0.5",
            "the amount is below the minimum of 1 USDC",
        ),
        (
            "operation=deposit&asset_code=USDC&amount=1000.01",
            "the amount is above the maximum of 1000 USDC",
        ),
        (
            "operation=deposit&asset_code=USDC&amount=100&amount=200",
            "parameter 'amount' was given more than once",
        ),
    ] {
        let answer = anchor.get(&format!("/fee?{query}"), &jane).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
        assert_eq!(answer.body, json!({"error": message}), "{query}");
    }
}

// ---------------------------------------------------------------------------------------------
// POST /transactions/deposit/interactive

#[tokio::test]
async fn deposit_opens_an_incomplete_transaction_and_answers_its_interactive_url() {
    let anchor = anchor();
    let jane = jwt(&g(7), NOW + 3600, Some("wallet.example"), JWT_SECRET);
    let answer = anchor
        .post(
            "deposit",
            &jane,
            json!({"asset_code": "USDC", "amount": 100, "memo": "42", "lang": "es-AR",
                   "claimable_balance_supported": "true", "wallet_name": "W",
                   "wallet_url": "https://wallet.example", "customer_id": "c-1",
                   "unknown_param": "ignored"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/json");
    let body = answer.body.as_object().expect("object");
    assert_eq!(
        body.keys().collect::<Vec<_>>(),
        ["id", "type", "url"],
        "exactly these three keys"
    );
    assert_eq!(body["type"], "interactive_customer_info_needed");
    let id = body["id"].as_str().expect("id");
    let url = url::Url::parse(body["url"].as_str().expect("url")).expect("a valid URL");
    assert_eq!(
        url.as_str().split('?').next(),
        Some("https://anchor.example/sep24/interactive")
    );
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(
        query.keys().collect::<Vec<_>>(),
        ["lang", "token", "transaction_id"]
    );
    assert_eq!(query["transaction_id"], id);
    assert_eq!(query["lang"], "es");
    // The token is bound to this transaction and lives INTERACTIVE_TOKEN_SECONDS (300).
    let keys = InteractiveKeys::new(&Secret::new(JWT_SECRET.into()));
    assert_eq!(
        keys.verify_link_token(id, &query["token"], NOW),
        Ok(NOW + 300)
    );
    assert!(keys
        .verify_link_token("another-transaction", &query["token"], NOW)
        .is_err());
    assert!(keys
        .verify_link_token(id, &query["token"], NOW + 300)
        .is_err());

    let stored = anchor.stored(id).await;
    assert_eq!(stored.protocol, Protocol::Sep24);
    assert_eq!(stored.kind, Kind::Deposit);
    assert_eq!(stored.status, TransactionStatus::Incomplete);
    assert_eq!(stored.user, user(7, None));
    assert!(!stored.muxed);
    assert_eq!(stored.asset, usdc());
    assert_eq!(stored.client_domain.as_deref(), Some("wallet.example"));
    assert_eq!(stored.lang.as_deref(), Some("es"));
    assert!(stored.claimable_balance_supported);
    assert_eq!(stored.to, Some(g(7)));
    assert_eq!(stored.from, None);
    assert_eq!(
        (
            stored.deposit_memo.as_deref(),
            stored.deposit_memo_type.as_deref()
        ),
        (Some("42"), Some("id"))
    );
    assert_eq!(stored.started_at, Timestamp::from_secs(NOW));

    // Queryable right away, rendered field by field as digest 5.9 wants it.
    let asset_id = usdc().sep38_id();
    let answer = anchor.get(&format!("/transaction?id={id}"), &jane).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({"transaction": {
            "id": id,
            "kind": "deposit",
            "status": "incomplete",
            "more_info_url": format!("https://anchor.example/sep24/more-info?id={id}"),
            "amount_in": "100",
            "amount_in_asset": asset_id,
            "amount_out": "98.5",
            "amount_out_asset": asset_id,
            "amount_fee": "1.5",
            "amount_fee_asset": asset_id,
            "fee_details": {"total": "1.5", "asset": asset_id},
            "started_at": STARTED,
            "updated_at": STARTED,
            // The interactive flow must be finished within the hour (EXPIRE_INCOMPLETE_AFTER).
            "user_action_required_by": "2023-11-14T23:13:20.000Z",
            "stellar_transaction_id": null,
            "from": null,
            "to": g(7),
            "deposit_memo": "42",
            "deposit_memo_type": "id",
        }})
    );
    let list = anchor.get("/transactions?asset_code=USDC", &jane).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["transactions"][0], answer.body["transaction"]);
}

#[tokio::test]
async fn a_deposit_without_amount_leaves_the_amounts_to_the_interactive_flow() {
    let anchor = anchor();
    let jane = token(&g(7));
    let id = anchor.deposit(&jane, json!({"asset_code": "EURC"})).await;
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.asset.code(), "EURC");
    assert_eq!(
        (stored.amount_in, stored.amount_out, &stored.fee_details),
        (None, None, &None)
    );
    assert!(!stored.claimable_balance_supported);
    assert_eq!(stored.client_domain, None);
    assert_eq!(stored.lang.as_deref(), Some("en"));
    let answer = anchor.get(&format!("/transaction?id={id}"), &jane).await;
    let tx = &answer.body["transaction"];
    for key in ["amount_in", "amount_out", "amount_fee", "fee_details"] {
        assert_eq!(tx[key], Value::Null, "{key} is present and null");
        assert!(tx.as_object().expect("object").contains_key(key), "{key}");
    }
    assert!(tx.get("deposit_memo").is_none());
    assert!(tx.get("amount_in_asset").is_none());
}

#[tokio::test]
async fn deposit_destination_and_memo_default_to_the_authenticated_user() {
    let anchor = anchor();
    // A plain account: paid as itself, no memo.
    let id = anchor
        .deposit(&token(&g(7)), json!({"asset_code": "USDC"}))
        .await;
    let t = anchor.stored(&id).await;
    assert_eq!((t.to, t.deposit_memo), (Some(g(7)), None));

    // A shared-account user (G:memo) is paid with its memo.
    let id = anchor
        .deposit(
            &token(&format!("{}:9", g(7))),
            json!({"asset_code": "USDC"}),
        )
        .await;
    let t = anchor.stored(&id).await;
    assert_eq!(t.user, user(7, Some(9)));
    assert_eq!(
        (
            t.to.as_deref(),
            t.deposit_memo.as_deref(),
            t.deposit_memo_type.as_deref()
        ),
        (Some(g(7).as_str()), Some("9"), Some("id"))
    );
    // ... unless the wallet names another memo.
    let id = anchor
        .deposit(
            &token(&format!("{}:9", g(7))),
            json!({"asset_code": "USDC", "memo": "hello", "memo_type": "text"}),
        )
        .await;
    let t = anchor.stored(&id).await;
    assert_eq!(
        (t.deposit_memo.as_deref(), t.deposit_memo_type.as_deref()),
        (Some("hello"), Some("text"))
    );

    // A muxed user is paid at its M address.
    let id = anchor
        .deposit(&token(&m(7, 8)), json!({"asset_code": "USDC"}))
        .await;
    let t = anchor.stored(&id).await;
    assert_eq!(t.user, user(7, Some(8)));
    assert!(t.muxed);
    assert_eq!((t.to, t.deposit_memo), (Some(m(7, 8)), None));

    // Another destination, G or M, with a hash memo.
    let hash = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
    let id = anchor
        .deposit(
            &token(&format!("{}:9", g(7))),
            json!({"asset_code": "SRT", "account": g(8), "memo": hash, "memo_type": "hash"}),
        )
        .await;
    let t = anchor.stored(&id).await;
    assert_eq!(t.to, Some(g(8)));
    assert_eq!(t.asset, Asset::credit("SRT", account(101)).expect("asset"));
    assert_eq!(
        (t.deposit_memo.as_deref(), t.deposit_memo_type.as_deref()),
        (Some(hash.as_str()), Some("hash"))
    );
    let id = anchor
        .deposit(
            &token(&g(7)),
            json!({"asset_code": "USDC", "account": m(9, 1)}),
        )
        .await;
    assert_eq!(anchor.stored(&id).await.to, Some(m(9, 1)));
}

const BOUNDARY: &str = "----wallet0123";

/// A multipart part: `(name, Some((filename, content type)) for files, content)`.
type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

/// A multipart body.
fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file, content) in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match file {
            Some((filename, content_type)) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

#[tokio::test]
async fn posts_take_form_multipart_and_query_parameters() {
    let anchor = anchor();
    let jane = token(&g(7));
    let form = anchor
        .post_form(
            "deposit",
            &jane,
            &[("asset_code", "USDC"), ("amount", "10.5"), ("memo", "")],
        )
        .await;
    assert_eq!(form.status, 200, "{}", form.body);
    let t = anchor.stored(form.body["id"].as_str().expect("id")).await;
    assert_eq!(t.amount_in, Some("10.5".parse().expect("amount")));
    assert_eq!(t.deposit_memo, None, "an empty memo is no memo");

    let body = multipart(&[
        ("asset_code", None, b"USDC"),
        ("amount", None, b"50"),
        ("first_name", None, b"Jane"),
        (
            "photo_id_front",
            Some(("id.png", "image/png")),
            &[0, 159, 146, 150],
        ),
    ]);
    let answer = anchor
        .call(
            "POST",
            "/sep24/transactions/withdraw/interactive?lang=es",
            Some(&jane),
            Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
            body,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let t = anchor.stored(answer.body["id"].as_str().expect("id")).await;
    assert_eq!(t.kind, Kind::Withdrawal);
    assert_eq!(t.amount_in, Some("50".parse().expect("amount")));
    assert_eq!(t.lang.as_deref(), Some("es"), "query parameters count");
    // The text field reached the integration; the binary part was dropped.
    let saved = anchor.saved();
    assert_eq!(saved.len(), 1);
    assert_eq!(
        saved[0].2,
        BTreeMap::from([("first_name".to_owned(), "Jane".to_owned())])
    );

    let before = anchor.count().await;
    let twice = anchor
        .call(
            "POST",
            "/sep24/transactions/deposit/interactive?asset_code=USDC",
            Some(&jane),
            Some("application/json"),
            json!({"asset_code": "USDC"}).to_string().into_bytes(),
        )
        .await;
    assert_eq!(twice.status, 400);
    assert_eq!(
        twice.error(),
        "parameter 'asset_code' was given more than once"
    );
    let query_only = anchor
        .call(
            "POST",
            "/sep24/transactions/deposit/interactive?asset_code=USDC",
            Some(&jane),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(query_only.status, 200, "{}", query_only.body);
    assert_eq!(anchor.count().await, before + 1);
}

#[tokio::test]
async fn malformed_bodies_are_refused_without_storing_anything() {
    let anchor = anchor();
    let jane = token(&g(7));
    for (content_type, body, status) in [
        (Some("application/json"), b"{".to_vec(), 400),
        (Some("application/json"), b"[1, 2]".to_vec(), 400),
        (
            Some("application/json"),
            br#"{"asset_code": {"a": 1}}"#.to_vec(),
            400,
        ),
        (Some("application/json"), vec![0xff, 0xfe, 0x00], 400),
        (Some("image/png"), b"x".to_vec(), 415),
        (Some("multipart/form-data"), b"x".to_vec(), 400),
        (
            Some("multipart/form-data; boundary=XyZ"),
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc".to_vec(),
            400,
        ),
        (
            Some("application/x-www-form-urlencoded"),
            vec![b'a'; 300 * 1024],
            413,
        ),
    ] {
        let answer = anchor
            .call(
                "POST",
                "/sep24/transactions/deposit/interactive",
                Some(&jane),
                content_type,
                body,
            )
            .await;
        assert_eq!(answer.status, status, "{content_type:?}: {}", answer.body);
        assert!(!answer.error().is_empty(), "{content_type:?}");
    }
    assert_eq!(anchor.count().await, 0);
}

#[tokio::test]
async fn every_invalid_deposit_parameter_is_a_400_and_stores_nothing() {
    let anchor = anchor();
    let jane = token(&g(7));
    let contract = "CA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQGAXE";
    for (body, message) in [
        (json!({}), "'asset_code' is required".to_owned()),
        (
            json!({"asset_code": "BTC"}),
            "This anchor doesn't support the given currency code: BTC".to_owned(),
        ),
        (
            json!({"asset_code": "SEPSIX"}),
            "This anchor doesn't support the given currency code: SEPSIX".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "asset_issuer": other_issuer()}),
            format!(
                "This anchor doesn't support USDC issued by {}",
                other_issuer()
            ),
        ),
        (
            json!({"asset_code": "USDC", "asset_issuer": "GNOTANACCOUNT"}),
            "'asset_issuer' is not a valid Stellar account".to_owned(),
        ),
        (
            json!({"asset_code": "native", "asset_issuer": issuer()}),
            "native XLM has no issuer: do not send 'asset_issuer' with 'native'".to_owned(),
        ),
        (
            json!({"asset_code": "native"}),
            "deposit is not enabled for native".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "account": "GABC"}),
            "'account' is not a valid Stellar account".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "account": contract}),
            "contract (C...) accounts are not supported: send a G... or M... account".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "memo": "-1"}),
            "memo: an id memo must be a decimal unsigned 64-bit integer".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "memo": "x".repeat(29), "memo_type": "text"}),
            "memo: a text memo must be at most 28 bytes".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "memo": "AAAA", "memo_type": "hash"}),
            "memo: a hash memo must be the base64 encoding of 32 bytes".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "memo": "1", "memo_type": "return"}),
            "memo: memo_type must be one of text, id or hash".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "memo_type": "id"}),
            "memo: memo_type was given without a memo".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "amount": "0.99"}),
            "the amount is below the minimum of 1 USDC".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "amount": 1000.5}),
            "the amount is above the maximum of 1000 USDC".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "amount": "1.234"}),
            "USDC amounts have at most 2 decimal places".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "amount": "1e3"}),
            "'amount': '1e3' is not a decimal amount with at most 7 decimal places".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "amount": 0}),
            "'amount' must be positive".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "quote_id": "q-1"}),
            "'quote_id': no such quote".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "claimable_balance_supported": "yes"}),
            "'claimable_balance_supported' must be true or false".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "email_address": "not an email"}),
            "email_address is not valid: expected an email address".to_owned(),
        ),
        (
            json!({"asset_code": "USDC", "first_name": "x".repeat(1025)}),
            "first_name is longer than 1024 bytes".to_owned(),
        ),
    ] {
        let answer = anchor.post("deposit", &jane, body.clone()).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        assert_eq!(answer.body, json!({"error": message}), "{body}");
    }
    // A fee larger than the amount (fee_fixed 0.1 on 0.05).
    let answer = anchor
        .post(
            "deposit",
            &jane,
            json!({"asset_code": "SRT", "amount": "0.05"}),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.error(),
        "the amount does not cover the fee of 0.1 SRT"
    );
    assert_eq!(anchor.count().await, 0, "nothing was stored");
    assert!(anchor.saved().is_empty(), "nor handed to the integration");
}

#[tokio::test]
async fn assets_are_identified_by_code_and_issuer() {
    let two_usdc = json!([
        {"code": "USDC", "issuer": issuer(), "seps": ["sep24"], "deposit": {}, "withdraw": {}},
        {"code": "USDC", "issuer": other_issuer(), "seps": ["sep24"], "deposit": {}}
    ])
    .to_string();
    let anchor = anchor_with(&[("ASSETS", &two_usdc)]);
    let jane = token(&g(7));
    let answer = anchor
        .post("deposit", &jane, json!({"asset_code": "USDC"}))
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.error(),
        "several assets have the code USDC: send 'asset_issuer'"
    );
    let id = anchor
        .deposit(
            &jane,
            json!({"asset_code": "USDC", "asset_issuer": other_issuer()}),
        )
        .await;
    assert_eq!(
        anchor.stored(&id).await.asset,
        Asset::credit("USDC", account(101)).expect("asset")
    );
    // Only the first issuer's USDC can be withdrawn.
    let answer = anchor
        .post(
            "withdraw",
            &jane,
            json!({"asset_code": "USDC", "asset_issuer": other_issuer()}),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error(), "withdraw is not enabled for USDC");
    let id = anchor
        .withdrawal(
            &jane,
            json!({"asset_code": "USDC", "asset_issuer": issuer()}),
        )
        .await;
    assert_eq!(anchor.stored(&id).await.asset, usdc());
}

// ---------------------------------------------------------------------------------------------
// POST /transactions/withdraw/interactive

#[tokio::test]
async fn withdraw_opens_an_incomplete_withdrawal_from_the_users_account() {
    let anchor = anchor();
    let jane = token(&m(7, 8));
    let answer = anchor
        .post(
            "withdraw",
            &jane,
            json!({"asset_code": "USDC", "amount": "100", "refund_memo": "5",
                   "refund_memo_type": "id", "memo": "ignored", "lang": "xx"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["type"], "interactive_customer_info_needed");
    let id = answer.body["id"].as_str().expect("id").to_owned();
    let url = answer.body["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!(
            "https://anchor.example/sep24/interactive?transaction_id={id}&token="
        )),
        "{url}"
    );
    assert!(
        url.ends_with("&lang=en"),
        "unknown languages fall back to English: {url}"
    );

    let t = anchor.stored(&id).await;
    assert_eq!(
        (t.protocol, t.kind, t.status),
        (
            Protocol::Sep24,
            Kind::Withdrawal,
            TransactionStatus::Incomplete
        )
    );
    assert_eq!(t.user, user(7, Some(8)));
    assert!(t.muxed);
    assert_eq!(
        t.from,
        Some(m(7, 8)),
        "from: the M address it authenticated as"
    );
    assert_eq!(t.to, None);
    assert_eq!(
        (t.refund_memo.as_deref(), t.refund_memo_type.as_deref()),
        (Some("5"), Some("id"))
    );
    assert!(!t.claimable_balance_supported);

    let asset_id = usdc().sep38_id();
    let answer = anchor.get(&format!("/transaction?id={id}"), &jane).await;
    assert_eq!(
        answer.body,
        json!({"transaction": {
            "id": id,
            "kind": "withdrawal",
            "status": "incomplete",
            "more_info_url": format!("https://anchor.example/sep24/more-info?id={id}"),
            "amount_in": "100",
            "amount_in_asset": asset_id,
            "amount_out": "98",
            "amount_out_asset": asset_id,
            "amount_fee": "2",
            "amount_fee_asset": asset_id,
            "fee_details": {"total": "2", "asset": asset_id},
            "started_at": STARTED,
            "updated_at": STARTED,
            "user_action_required_by": "2023-11-14T23:13:20.000Z",
            "stellar_transaction_id": null,
            "from": m(7, 8),
            "to": null,
            "withdraw_anchor_account": null,
            "withdraw_memo": null,
            "withdraw_memo_type": null,
        }})
    );

    // Another source account, and native XLM (withdraw-only here).
    let id = anchor
        .withdrawal(
            &token(&g(7)),
            json!({"asset_code": "native", "account": g(9)}),
        )
        .await;
    let t = anchor.stored(&id).await;
    assert_eq!((t.from, t.asset), (Some(g(9)), Asset::Native));
}

#[tokio::test]
async fn every_invalid_withdraw_parameter_is_a_400_and_stores_nothing() {
    let anchor = anchor();
    let jane = token(&g(7));
    for (body, message) in [
        (json!({"amount": "10"}), "'asset_code' is required"),
        (
            json!({"asset_code": "EURC"}),
            "withdraw is not enabled for EURC",
        ),
        (
            json!({"asset_code": "SRT"}),
            "withdraw is not enabled for SRT",
        ),
        (
            json!({"asset_code": "XLM"}),
            "This anchor doesn't support the given currency code: XLM",
        ),
        (
            json!({"asset_code": "USDC", "amount": "4.99"}),
            "the amount is below the minimum of 5 USDC",
        ),
        (
            json!({"asset_code": "USDC", "amount": "500.01"}),
            "the amount is above the maximum of 500 USDC",
        ),
        (
            json!({"asset_code": "USDC", "account": "MABC"}),
            "'account' is not a valid Stellar account",
        ),
        (
            json!({"asset_code": "USDC", "refund_memo": "5"}),
            "'refund_memo' and 'refund_memo_type' go together: send both or neither",
        ),
        (
            json!({"asset_code": "USDC", "refund_memo_type": "id"}),
            "'refund_memo' and 'refund_memo_type' go together: send both or neither",
        ),
        (
            json!({"asset_code": "USDC", "refund_memo": "x", "refund_memo_type": "id"}),
            "refund memo: an id memo must be a decimal unsigned 64-bit integer",
        ),
        (
            json!({"asset_code": "USDC", "quote_id": "q"}),
            "'quote_id': no such quote",
        ),
        (
            json!({"asset_code": "USDC", "mobile_number": "12345"}),
            "mobile_number is not valid: expected an E.164 phone number such as +14155550123",
        ),
    ] {
        let answer = anchor.post("withdraw", &jane, body.clone()).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        assert_eq!(answer.body, json!({"error": message}), "{body}");
    }
    assert_eq!(anchor.count().await, 0);
}

// ---------------------------------------------------------------------------------------------
// SEP-9 fields

#[tokio::test]
async fn sep9_fields_reach_the_integration_before_anything_is_stored() {
    let anchor = anchor();
    let jane = token(&format!("{}:9", g(7)));
    let id = anchor
        .deposit(
            &jane,
            json!({"asset_code": "USDC", "first_name": "Jane", "email_address": "jane@example.com",
                   "bank_account_number": "123", "memo": "5", "lang": "es",
                   "not_a_sep9_field": "x"}),
        )
        .await;
    anchor
        .withdrawal(&jane, json!({"asset_code": "USDC", "last_name": "Doe"}))
        .await;
    anchor.deposit(&jane, json!({"asset_code": "USDC"})).await;
    let saved = anchor.saved();
    assert_eq!(
        saved.len(),
        2,
        "only requests with SEP-9 fields call the integration"
    );
    let expected: BTreeMap<String, String> = [
        ("bank_account_number", "123"),
        ("email_address", "jane@example.com"),
        ("first_name", "Jane"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(saved[0], ("deposit", user(7, Some(9)), expected, Lang::Es));
    assert_eq!(
        saved[1],
        (
            "withdraw",
            user(7, Some(9)),
            BTreeMap::from([("last_name".to_owned(), "Doe".to_owned())]),
            Lang::En
        )
    );
    assert_eq!(anchor.stored(&id).await.deposit_memo.as_deref(), Some("5"));

    // The integration refuses: 400 with its message, and no transaction.
    let before = anchor.count().await;
    anchor
        .transfer
        .integration
        .refuse
        .store(true, Ordering::SeqCst);
    for direction in ["deposit", "withdraw"] {
        let answer = anchor
            .post(
                direction,
                &jane,
                json!({"asset_code": "USDC", "first_name": "J"}),
            )
            .await;
        assert_eq!(answer.status, 400);
        assert_eq!(
            answer.body,
            json!({"error": "first_name is not acceptable"})
        );
    }
    assert_eq!(anchor.count().await, before, "nothing stored");
    // Without SEP-9 fields the integration is not asked.
    anchor.deposit(&jane, json!({"asset_code": "USDC"})).await;
}

// ---------------------------------------------------------------------------------------------
// GET /transaction

#[tokio::test]
async fn a_transaction_is_found_by_each_identifier_only_by_its_owner() {
    let anchor = anchor();
    let jane = token(&g(7));
    let id = anchor.deposit(&jane, json!({"asset_code": "USDC"})).await;
    let mut t = anchor.stored(&id).await;
    t.stellar_transaction_id = Some("ab".repeat(32));
    t.external_transaction_id = Some("bank-ref-1".into());
    t.status = TransactionStatus::PendingUserTransferStart;
    anchor
        .store
        .update(&mut t, TransactionStatus::Incomplete)
        .await
        .expect("update");
    let hash = "ab".repeat(32);
    for query in [
        format!("id={id}"),
        format!("stellar_transaction_id={hash}"),
        "external_transaction_id=bank-ref-1".to_owned(),
        format!("id={id}&external_transaction_id=bank-ref-1&lang=es"),
    ] {
        let answer = anchor.get(&format!("/transaction?{query}"), &jane).await;
        assert_eq!(answer.status, 200, "{query}: {}", answer.body);
        let tx = &answer.body["transaction"];
        assert_eq!(tx["id"], id.as_str());
        assert_eq!(tx["status"], "pending_user_transfer_start");
        assert_eq!(tx["stellar_transaction_id"], hash.as_str());
        assert_eq!(tx["external_transaction_id"], "bank-ref-1");
    }

    let none = anchor.get("/transaction", &jane).await;
    assert_eq!(none.status, 400);
    assert_eq!(
        none.error(),
        "one of 'id', 'stellar_transaction_id' or 'external_transaction_id' is required"
    );
    let empty = anchor.get("/transaction?id=", &jane).await;
    assert_eq!(empty.status, 400);

    let not_found = json!({"error": "transaction not found"});
    for query in [
        "id=00000000-0000-4000-8000-000000000000".to_owned(),
        format!("stellar_transaction_id={}", "cd".repeat(32)),
        "external_transaction_id=bank-ref-2".to_owned(),
        format!("id={id}&external_transaction_id=bank-ref-2"),
        format!("id={}", "x".repeat(300)),
    ] {
        let answer = anchor.get(&format!("/transaction?{query}"), &jane).await;
        assert_eq!(answer.status, 404, "{query}");
        assert_eq!(answer.body, not_found, "{query}");
    }

    // Anyone else: another account, the same account with a memo, or muxed.
    for stranger in [g(8), format!("{}:1", g(7)), m(7, 1)] {
        let theirs = token(&stranger);
        for query in [
            format!("id={id}"),
            format!("stellar_transaction_id={hash}"),
            "external_transaction_id=bank-ref-1".to_owned(),
        ] {
            let answer = anchor.get(&format!("/transaction?{query}"), &theirs).await;
            assert_eq!(answer.status, 404, "{stranger}: {query}");
            assert_eq!(answer.body, not_found);
        }
    }
}

#[tokio::test]
async fn memo_and_muxed_users_of_one_account_are_different_users() {
    let anchor = anchor();
    let shared_1 = token(&format!("{}:1", g(7)));
    let shared_2 = token(&format!("{}:2", g(7)));
    let muxed_1 = token(&m(7, 1));
    let plain = token(&g(7));
    let id = anchor
        .deposit(&shared_1, json!({"asset_code": "USDC"}))
        .await;
    let by = |t: &String| {
        let anchor = &anchor;
        let id = id.clone();
        let t = t.clone();
        async move {
            anchor
                .get(&format!("/transaction?id={id}"), &t)
                .await
                .status
        }
    };
    assert_eq!(by(&shared_1).await, 200);
    // G:1 and M(1) name the same user (the muxed id is the memo).
    assert_eq!(by(&muxed_1).await, 200);
    assert_eq!(by(&shared_2).await, 404);
    assert_eq!(by(&plain).await, 404);

    let id = anchor.deposit(&plain, json!({"asset_code": "USDC"})).await;
    let status = anchor
        .get(&format!("/transaction?id={id}"), &muxed_1)
        .await
        .status;
    assert_eq!(status, 404, "a muxed user does not see the account owner's");
    assert_eq!(
        ids(&anchor.get("/transactions?asset_code=USDC", &plain).await),
        [id]
    );
    assert_eq!(
        ids(&anchor.get("/transactions?asset_code=USDC", &shared_2).await),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn transactions_of_other_seps_are_not_sep24s() {
    let anchor = anchor();
    let jane = token(&g(7));
    let mut sep6 = Transaction::new(
        Protocol::Sep6,
        Kind::Deposit,
        TransactionStatus::Incomplete,
        user(7, None),
        usdc(),
        Timestamp::from_secs(NOW),
    );
    sep6.external_transaction_id = Some("sep6-ref".into());
    anchor.store.insert(&sep6).await.expect("insert");
    for query in [
        format!("id={}", sep6.id),
        "external_transaction_id=sep6-ref".into(),
    ] {
        let answer = anchor.get(&format!("/transaction?{query}"), &jane).await;
        assert_eq!(answer.status, 404, "{query}");
    }
    let list = anchor.get("/transactions?asset_code=USDC", &jane).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body, json!({"transactions": []}));
    let paging = anchor
        .get(
            &format!("/transactions?asset_code=USDC&paging_id={}", sep6.id),
            &jane,
        )
        .await;
    assert_eq!(paging.status, 400);
}

// ---------------------------------------------------------------------------------------------
// GET /transactions

/// Jane's transactions, one per second: USDC deposits and withdrawals, an EURC deposit, and
/// two in the same second. Returns their ids oldest first.
async fn history(anchor: &Anchor, jane: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..6u64 {
        anchor.clock.set(NOW + i * 60);
        let id = if i % 2 == 0 {
            anchor.deposit(jane, json!({"asset_code": "USDC"})).await
        } else {
            anchor.withdrawal(jane, json!({"asset_code": "USDC"})).await
        };
        ids.push(id);
    }
    anchor.clock.set(NOW + 30);
    anchor.deposit(jane, json!({"asset_code": "EURC"})).await;
    ids
}

#[tokio::test]
async fn transactions_are_the_users_own_newest_first() {
    let anchor = anchor();
    let jane = token(&g(7));
    let mine = history(&anchor, &jane).await;
    // Someone else's, and the same account's memo user.
    anchor
        .deposit(&token(&g(8)), json!({"asset_code": "USDC"}))
        .await;
    anchor
        .deposit(
            &token(&format!("{}:1", g(7))),
            json!({"asset_code": "USDC"}),
        )
        .await;

    let answer = anchor.get("/transactions?asset_code=USDC", &jane).await;
    assert_eq!(answer.status, 200);
    let newest_first: Vec<String> = mine.iter().rev().cloned().collect();
    assert_eq!(ids(&answer), newest_first);
    let started: Vec<&str> = answer.body["transactions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|t| t["started_at"].as_str().expect("started_at"))
        .collect();
    let mut sorted = started.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(started, sorted, "sorted by start time, newest first");
    // Each item is the full transaction object.
    let first = &answer.body["transactions"][0];
    assert_eq!(first["kind"], "withdrawal");
    assert_eq!(first["withdraw_anchor_account"], Value::Null);
    assert_eq!(first["from"], g(7));

    let eurc = anchor.get("/transactions?asset_code=EURC", &jane).await;
    assert_eq!(ids(&eurc).len(), 1);
    let none = anchor.get("/transactions?asset_code=native", &jane).await;
    assert_eq!(none.body, json!({"transactions": []}));
}

#[tokio::test]
async fn transactions_filter_by_kind_time_and_limit_and_page_with_paging_id() {
    let anchor = anchor();
    let jane = token(&g(7));
    let mine = history(&anchor, &jane).await;
    let newest_first: Vec<String> = mine.iter().rev().cloned().collect();
    let list = |query: String| {
        let anchor = &anchor;
        let jane = jane.clone();
        async move { anchor.get(&format!("/transactions?{query}"), &jane).await }
    };

    let deposits = list("asset_code=USDC&kind=deposit".into()).await;
    assert_eq!(
        ids(&deposits),
        [mine[4].clone(), mine[2].clone(), mine[0].clone()]
    );
    let withdrawals = list("asset_code=USDC&kind=withdrawal".into()).await;
    assert_eq!(
        ids(&withdrawals),
        [mine[5].clone(), mine[3].clone(), mine[1].clone()]
    );

    // no_older_than is inclusive: started at or after.
    let since = Timestamp::from_secs(NOW + 120).to_string();
    let recent = list(format!("asset_code=USDC&no_older_than={since}")).await;
    assert_eq!(ids(&recent), &newest_first[..4]);
    let recent = list("asset_code=USDC&no_older_than=2023-11-14T22:15:20Z".into()).await;
    assert_eq!(ids(&recent), &newest_first[..4], "without fractions too");
    let recent = list("asset_code=USDC&no_older_than=2023-11-14T23:15:20%2B01:00".into()).await;
    assert_eq!(ids(&recent), &newest_first[..4], "with an offset");

    let limited = list("asset_code=USDC&limit=2".into()).await;
    assert_eq!(ids(&limited), &newest_first[..2]);
    let order = list("asset_code=USDC&limit=2&order=desc".into()).await;
    assert_eq!(ids(&order), &newest_first[..2]);

    // paging_id: strictly older than that transaction; pages chain without gaps or repeats.
    let mut seen = Vec::new();
    let mut paging: Option<String> = None;
    loop {
        let query = match &paging {
            None => "asset_code=USDC&limit=2".to_owned(),
            Some(id) => format!("asset_code=USDC&limit=2&paging_id={id}"),
        };
        let page = ids(&list(query).await);
        if page.is_empty() {
            break;
        }
        paging = page.last().cloned();
        seen.extend(page);
    }
    assert_eq!(seen, newest_first);
    let after = list(format!("asset_code=USDC&paging_id={}", mine[3])).await;
    assert_eq!(
        ids(&after),
        [mine[2].clone(), mine[1].clone(), mine[0].clone()]
    );
    let combined = list(format!(
        "asset_code=USDC&paging_id={}&kind=deposit&no_older_than={}",
        mine[4],
        Timestamp::from_secs(NOW + 60)
    ))
    .await;
    assert_eq!(ids(&combined), [mine[2].clone()]);
    let oldest = list(format!("asset_code=USDC&paging_id={}", mine[0])).await;
    assert_eq!(oldest.body, json!({"transactions": []}));
}

#[tokio::test]
async fn transactions_within_one_second_keep_a_stable_order_across_pages() {
    let anchor = anchor();
    let jane = token(&g(7));
    let mut mine = Vec::new();
    for _ in 0..5 {
        mine.push(anchor.deposit(&jane, json!({"asset_code": "USDC"})).await);
    }
    let all = ids(&anchor.get("/transactions?asset_code=USDC", &jane).await);
    let mut sorted = mine.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(all, sorted, "equal start times: ordered by id");
    let after = anchor
        .get(
            &format!("/transactions?asset_code=USDC&paging_id={}", all[1]),
            &jane,
        )
        .await;
    assert_eq!(ids(&after), &all[2..]);
}

#[tokio::test]
async fn limit_is_capped_at_200() {
    let anchor = anchor();
    let jane = token(&g(7));
    for i in 0..205 {
        let t = Transaction::new(
            Protocol::Sep24,
            Kind::Deposit,
            TransactionStatus::Incomplete,
            user(7, None),
            usdc(),
            Timestamp::from_secs(NOW + i),
        );
        anchor.store.insert(&t).await.expect("insert");
    }
    for query in ["asset_code=USDC", "asset_code=USDC&limit=1000"] {
        let answer = anchor.get(&format!("/transactions?{query}"), &jane).await;
        assert_eq!(ids(&answer).len(), 200, "{query}");
    }
    let answer = anchor
        .get("/transactions?asset_code=USDC&limit=200", &jane)
        .await;
    assert_eq!(ids(&answer).len(), 200);
}

#[tokio::test]
async fn invalid_transactions_parameters_are_400s() {
    let anchor = anchor();
    let jane = token(&g(7));
    let theirs = anchor
        .deposit(&token(&g(8)), json!({"asset_code": "USDC"}))
        .await;
    let memo_user = anchor
        .deposit(
            &token(&format!("{}:1", g(7))),
            json!({"asset_code": "USDC"}),
        )
        .await;
    for (query, message) in [
        ("".to_owned(), "'asset_code' is required"),
        ("kind=deposit".to_owned(), "'asset_code' is required"),
        (
            "asset_code=BTC".to_owned(),
            "This anchor doesn't support the given currency code: BTC",
        ),
        (
            "asset_code=SEPSIX".to_owned(),
            "This anchor doesn't support the given currency code: SEPSIX",
        ),
        (
            "asset_code=USDC&kind=deposit-exchange".to_owned(),
            "'kind' must be deposit or withdrawal",
        ),
        (
            "asset_code=USDC&no_older_than=yesterday".to_owned(),
            "'no_older_than' must be an RFC 3339 time, e.g. 2024-01-31T12:00:00Z",
        ),
        (
            "asset_code=USDC&no_older_than=2023-13-01T00:00:00Z".to_owned(),
            "'no_older_than' must be an RFC 3339 time, e.g. 2024-01-31T12:00:00Z",
        ),
        (
            "asset_code=USDC&limit=0".to_owned(),
            "'limit' must be a positive integer",
        ),
        (
            "asset_code=USDC&limit=-1".to_owned(),
            "'limit' must be a positive integer",
        ),
        (
            "asset_code=USDC&limit=ten".to_owned(),
            "'limit' must be a positive integer",
        ),
        (
            "asset_code=USDC&limit=1.5".to_owned(),
            "'limit' must be a positive integer",
        ),
        (
            "asset_code=USDC&order=asc".to_owned(),
            "transactions are listed newest first: 'order' can only be desc",
        ),
        (
            "asset_code=USDC&paging_id=nope".to_owned(),
            "'paging_id' is not one of your transactions",
        ),
        (
            format!("asset_code=USDC&paging_id={theirs}"),
            "'paging_id' is not one of your transactions",
        ),
        (
            format!("asset_code=USDC&paging_id={memo_user}"),
            "'paging_id' is not one of your transactions",
        ),
        (
            "asset_code=USDC&asset_code=EURC".to_owned(),
            "parameter 'asset_code' was given more than once",
        ),
    ] {
        let answer = anchor.get(&format!("/transactions?{query}"), &jane).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
        assert_eq!(answer.body, json!({"error": message}), "{query}");
    }
}

/// A firm SEP-38 quote of `user`: 100.50 `iso4217:USD` for 99.00 USDC (fee 1.50 USD), made for
/// `context`, expiring `expires_in` seconds from now (negative: already expired).
async fn stored_quote(
    anchor: &Anchor,
    owner: UserKey,
    context: crate::model::QuoteContext,
    deposit: bool,
    expires_in: i64,
) -> String {
    quote_of(anchor, owner, context, deposit, expires_in, "99").await
}

/// [`stored_quote`] buying (deposit) or selling (withdrawal) `usdc_amount` USDC.
async fn quote_of(
    anchor: &Anchor,
    owner: UserKey,
    context: crate::model::QuoteContext,
    deposit: bool,
    expires_in: i64,
    usdc_amount: &str,
) -> String {
    use crate::decimal::Decimal;
    use crate::model::{Quote, QuoteFee};
    use crate::store::QuoteStore;
    let d = |text| Decimal::parse(text, 24).expect("decimal");
    let (sell, buy, sell_amount, buy_amount) = if deposit {
        (
            "iso4217:USD".to_owned(),
            usdc().sep38_id(),
            "100.5",
            usdc_amount,
        )
    } else {
        (
            usdc().sep38_id(),
            "iso4217:USD".to_owned(),
            usdc_amount,
            "99",
        )
    };
    let quote = Quote {
        id: uuid::Uuid::new_v4().to_string(),
        user: owner,
        context,
        sell_asset: sell.clone(),
        sell_amount: d(sell_amount),
        sell_delivery_method: None,
        buy_asset: buy,
        buy_amount: d(buy_amount),
        buy_delivery_method: None,
        country_code: None,
        price: d("1"),
        total_price: d("1.01515151515151515152"),
        fee: QuoteFee {
            total: d("1.5"),
            asset: sell,
            details: Vec::new(),
        },
        expires_at: Timestamp::from_millis((NOW as i64 + expires_in) * 1000),
        created_at: Timestamp::from_secs(NOW),
        transaction_id: None,
    };
    anchor.store.insert_quote(&quote).await.expect("quote");
    quote.id
}

#[tokio::test]
async fn a_deposit_bound_to_a_quote_shows_the_quoted_amounts() {
    use crate::model::QuoteContext;
    let anchor = anchor();
    let jane = token(&g(7));
    let quote_id = stored_quote(&anchor, user(7, None), QuoteContext::Sep24, true, 600).await;
    let id = anchor
        .deposit(
            &jane,
            json!({"asset_code": "USDC", "quote_id": quote_id, "amount": "100.50",
                   "source_asset": "iso4217:USD"}),
        )
        .await;
    let answer = anchor.get(&format!("/transaction?id={id}"), &jane).await;
    let tx = &answer.body["transaction"];
    assert_eq!(tx["quote_id"], quote_id.as_str());
    assert_eq!(
        (&tx["amount_in"], &tx["amount_in_asset"]),
        (&json!("100.5"), &json!("iso4217:USD"))
    );
    assert_eq!(
        (&tx["amount_out"], &tx["amount_out_asset"]),
        (&json!("99"), &json!(usdc().sep38_id()))
    );
    assert_eq!(
        tx["fee_details"],
        json!({"total": "1.5", "asset": "iso4217:USD"})
    );
    // One quote, one transaction.
    let again = anchor
        .post(
            "deposit",
            &jane,
            json!({"asset_code": "USDC", "quote_id": quote_id}),
        )
        .await;
    assert_eq!(
        (again.status, again.error()),
        (400, "'quote_id': the quote was used already")
    );

    // A withdrawal sells the Stellar asset.
    let quote_id = stored_quote(&anchor, user(7, None), QuoteContext::Sep24, false, 600).await;
    let id = anchor
        .withdrawal(&jane, json!({"asset_code": "USDC", "quote_id": quote_id}))
        .await;
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.quote_id.as_deref(), Some(quote_id.as_str()));
    assert_eq!(stored.amount_out_asset.as_deref(), Some("iso4217:USD"));
}

#[tokio::test]
async fn a_quote_that_does_not_fit_the_request_is_a_400_and_stores_nothing() {
    use crate::model::QuoteContext;
    let anchor = anchor();
    let jane = token(&g(7));
    let live = stored_quote(&anchor, user(7, None), QuoteContext::Sep24, true, 600).await;
    let expired = stored_quote(&anchor, user(7, None), QuoteContext::Sep24, true, -1).await;
    let foreign = stored_quote(&anchor, user(8, None), QuoteContext::Sep24, true, 600).await;
    let memo_user = stored_quote(&anchor, user(7, Some(9)), QuoteContext::Sep24, true, 600).await;
    let sep6 = stored_quote(&anchor, user(7, None), QuoteContext::Sep6, true, 600).await;
    let withdrawal = stored_quote(&anchor, user(7, None), QuoteContext::Sep24, false, 600).await;
    let too_much = quote_of(
        &anchor,
        user(7, None),
        QuoteContext::Sep24,
        true,
        600,
        "5000",
    )
    .await;
    for (body, message) in [
        (
            json!({"quote_id": expired}),
            "'quote_id': the quote has expired",
        ),
        (json!({"quote_id": foreign}), "'quote_id': no such quote"),
        (json!({"quote_id": memo_user}), "'quote_id': no such quote"),
        (
            json!({"quote_id": sep6}),
            "'quote_id': the quote was not made for this SEP (context sep24)",
        ),
        (
            json!({"quote_id": withdrawal}),
            "'quote_id': the quote is not for a deposit of stellar:USDC:",
        ),
        (
            json!({"quote_id": too_much}),
            "'quote_id': the quoted amount of stellar:USDC:",
        ),
        (
            json!({"quote_id": live, "amount": "100"}),
            "'quote_id': 'amount' differs from the quote's sell_amount",
        ),
        (
            json!({"quote_id": live, "source_asset": "iso4217:EUR"}),
            "'quote_id': 'source_asset' differs from the quote's",
        ),
    ] {
        let mut body = body;
        body["asset_code"] = json!("USDC");
        let answer = anchor.post("deposit", &jane, body.clone()).await;
        assert_eq!(answer.status, 400, "{body}");
        assert!(
            answer.error().starts_with(message),
            "{body}: {}",
            answer.error()
        );
    }
    assert_eq!(anchor.count().await, 0);
}

/// The bounds of `crate::limits` on the SEP-24 API: each a 4xx `{"error"}`, nothing stored.
#[tokio::test]
async fn oversized_input_is_a_4xx_and_stores_nothing() {
    use crate::limits::{
        MAX_FORM_BYTES, MAX_MULTIPART_PARTS, MAX_PARAM_BYTES, MAX_PARAM_NAME_BYTES, MAX_TEXT_BYTES,
    };
    let anchor = anchor();
    let jane = token(&g(7));
    let too_large = anchor
        .call(
            "POST",
            "/sep24/transactions/deposit/interactive",
            Some(&jane),
            Some("application/json"),
            vec![b' '; MAX_FORM_BYTES + 1],
        )
        .await;
    assert_eq!(too_large.status, 413);
    assert_eq!(
        too_large.error(),
        format!("request body is larger than {MAX_FORM_BYTES} bytes")
    );

    let long_name = "x".repeat(MAX_TEXT_BYTES + 1);
    let huge = "9".repeat(MAX_PARAM_BYTES + 1);
    let long_key = "k".repeat(MAX_PARAM_NAME_BYTES + 1);
    let cases = [
        (
            json!({"asset_code": "USDC", "first_name": long_name}),
            format!("first_name is longer than {MAX_TEXT_BYTES} bytes"),
        ),
        (
            json!({"asset_code": "USDC", "amount": huge}),
            format!("'amount' is longer than {MAX_PARAM_BYTES} bytes"),
        ),
        (
            json!({"asset_code": "USDC", long_key: "1"}),
            format!("a parameter name may be at most {MAX_PARAM_NAME_BYTES} bytes"),
        ),
    ];
    for (body, message) in cases {
        let answer = anchor.post("deposit", &jane, body).await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert_eq!(answer.error(), message);
    }
    for amount in ["922337203685.4775808", "1.00000001"] {
        let answer = anchor
            .post(
                "withdraw",
                &jane,
                json!({"asset_code": "USDC", "amount": amount}),
            )
            .await;
        assert_eq!(answer.status, 400, "{amount}: {}", answer.body);
        assert!(answer.error().contains(amount), "{}", answer.body);
    }

    // A multipart body: at most MAX_MULTIPART_PARTS parts, a text part bounded like a field.
    let names: Vec<String> = (0..=MAX_MULTIPART_PARTS).map(|i| format!("p{i}")).collect();
    let parts: Vec<Part> = names
        .iter()
        .map(|n| (n.as_str(), None, &b"1"[..]))
        .collect();
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let answer = anchor
        .call(
            "POST",
            "/sep24/transactions/deposit/interactive",
            Some(&jane),
            Some(&content_type),
            multipart(&parts),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.error(),
        format!("a multipart body may have at most {MAX_MULTIPART_PARTS} parts")
    );
    let answer = anchor
        .call(
            "POST",
            "/sep24/transactions/deposit/interactive",
            Some(&jane),
            Some(&content_type),
            multipart(&[
                ("asset_code", None, b"USDC"),
                ("amount", None, huge.as_bytes()),
            ]),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.error(),
        format!("'amount' is longer than {MAX_PARAM_BYTES} bytes")
    );

    for limit in ["0", "-5", "lots"] {
        let answer = anchor
            .get(
                &format!("/transactions?asset_code=USDC&limit={limit}"),
                &jane,
            )
            .await;
        assert_eq!(answer.status, 400, "{limit}");
        assert_eq!(answer.error(), "'limit' must be a positive integer");
    }
    assert_eq!(anchor.count().await, 0, "nothing stored");
}
