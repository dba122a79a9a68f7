//! The SEP-31 Lambda handler behind its API Gateway route (`ANY /sep31/{proxy+}`, HTTP API
//! payload 2.0), over the in-memory store and queue and the reference integration: `/info` without a token, partners only (403 for no token and for any other
//! account), a payment request whose sender and receiver the partner registered through SEP-12
//! answered with where to pay and nothing else (and `customer_info_needed` without them),
//! another partner's transaction hidden, a bad body refused with nothing stored, the callback
//! URL, CORS on every answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use anchor_integrations::register_integrations;
use lambda_http::request::from_str;
use lambda_http::Body;
use mooring::clock::{Clock, FixedClock};
use mooring::config::{AnchorConfig, Secret};
use mooring::integrations::{CustomerIntegration, CustomerUpdate, RECEIVER_TYPE, SENDER_TYPE};
use mooring::model::{Kind, TransactionStatus, UserKey};
use mooring::queue::InMemoryQueue;
use mooring::sep10::{Claims, JwtKeys};
use mooring::stellar::{Keypair, Network};
use mooring::store::{InMemoryStore, TransactionStore};
use serde_json::{json, Value};

const NOW: u64 = 1_700_000_000;
const SECRET: &str = "sep31-handler-test-secret-of-32-chars+";
const EVENT: &str = include_str!("events/sep31_request.json");
/// The two partners (sending anchors) and an account that is none.
const PARTNER: u8 = 7;
const OTHER_PARTNER: u8 = 8;
const STRANGER: u8 = 9;

fn key(seed: u8) -> Keypair {
    Keypair::from_seed_bytes([seed; 32])
}

fn g(seed: u8) -> String {
    key(seed).account_id().to_string()
}

/// Where sending anchors pay USDC.
fn distribution() -> String {
    g(102)
}

/// USDC offered through SEP-31, paid out by SEPA or SWIFT; the partners [`PARTNER`] and
/// [`OTHER_PARTNER`]; KYC without verification codes (a customer is accepted in one PUT).
fn settings() -> BTreeMap<String, String> {
    let assets = json!([{
        "code": "USDC", "issuer": g(100), "distribution_account": distribution(),
        "seps": ["sep31"], "significant_decimals": 2,
        "receive": {"min_amount": 1, "max_amount": 1000, "fee_fixed": 1,
                    "funding_methods": ["SEPA", "SWIFT"]}
    }]);
    let signing = key(1);
    BTreeMap::from([
        ("HOME_DOMAIN".into(), "anchor.example.com".into()),
        (
            "NETWORK_PASSPHRASE".into(),
            Network::TESTNET_PASSPHRASE.into(),
        ),
        ("SIGNING_KEY".into(), signing.account_id().to_string()),
        ("JWT_SECRET".into(), SECRET.into()),
        ("ASSETS".into(), assets.to_string()),
        (
            "SEP31_SENDING_ANCHORS".into(),
            format!("{},{}", g(PARTNER), g(OTHER_PARTNER)),
        ),
        ("KYC_VERIFIED_FIELDS".into(), "none".into()),
    ])
}

struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    /// The keys of the body, sorted.
    fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .body
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }
}

struct Harness {
    service: sep31_receive::Service<InMemoryStore, InMemoryQueue>,
    store: Arc<InMemoryStore>,
    outgoing: Arc<InMemoryQueue>,
    clock: Arc<dyn Clock>,
}

fn harness() -> Harness {
    let settings = settings();
    let store = Arc::new(InMemoryStore::default());
    let outgoing = Arc::new(InMemoryQueue::default());
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(NOW));
    let anchor = AnchorConfig::from_source(&settings).expect("anchor settings");
    let ports = sep31_receive::Ports {
        store: store.clone(),
        outgoing: outgoing.clone(),
        clock: clock.clone(),
    };
    let service = sep31_receive::service(&settings, &anchor, ports).expect("service");
    Harness {
        service,
        store,
        outgoing,
        clock,
    }
}

/// A SEP-10 token of the account of `seed`.
fn bearer(seed: u8) -> String {
    let issuer = "https://anchor.example.com/auth".to_owned();
    let claims = Claims {
        iss: issuer.clone(),
        sub: g(seed),
        iat: NOW - 5,
        exp: NOW + 600,
        jti: "sep31".into(),
        client_domain: None,
        home_domain: "anchor.example.com".into(),
    };
    let token = JwtKeys::new(&Secret::new(SECRET.into()), issuer)
        .issue(&claims)
        .expect("token");
    format!("Bearer {token}")
}

/// The sender and receiver of a payment, as SEP-12 customer ids.
struct Parties {
    sender: String,
    receiver: String,
}

/// A request USDC accepts: 100 USDC paid out by SEPA.
fn payment(parties: &Parties) -> String {
    json!({
        "amount": "100",
        "asset_code": "USDC",
        "funding_method": "SEPA",
        "sender_id": parties.sender,
        "receiver_id": parties.receiver,
    })
    .to_string()
}

impl Harness {
    /// Sends `method path` through lambda_http as API Gateway delivers it.
    async fn call(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: Option<String>,
    ) -> Reply {
        let mut event: Value = serde_json::from_str(EVENT).expect("event template");
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["method"] = json!(method);
        event["requestContext"]["http"]["path"] = json!(path);
        event["pathParameters"]["proxy"] = json!(path.trim_start_matches("/sep31/"));
        let headers = &mut event["headers"];
        if let Some(value) = authorization {
            headers["authorization"] = json!(value);
        }
        if let Some(body) = body {
            headers["content-type"] = json!("application/json");
            event["body"] = json!(body);
        }
        let request = from_str(&event.to_string()).expect("an API Gateway v2 event");
        let response = sep31_receive::handle(&self.service, request)
            .await
            .expect("infallible");
        let status = response.status().as_u16();
        assert_eq!(
            response
                .headers()
                .get("access-control-allow-origin")
                .map(|v| v.as_bytes()),
            Some(&b"*"[..]),
            "CORS on {status} of {method} {path}"
        );
        let body = match response.body() {
            Body::Empty => Value::Null,
            bytes => serde_json::from_slice(bytes.as_ref()).unwrap_or(Value::Null),
        };
        Reply { status, body }
    }

    /// The sending anchor of `seed` registers a sender and a receiver through SEP-12 (as
    /// `PUT /kyc/customer` does), each under a memo of its account.
    async fn register(&self, seed: u8) -> Parties {
        let kyc = register_integrations(
            &settings(),
            anchor_integrations::Ports::new(&self.store, &self.clock),
        )
        .expect("integration");
        let person = [
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email_address", "ada@example.com"),
        ];
        let bank = [
            ("bank_account_number", "DE89370400440532013000"),
            ("bank_number", "37040044"),
        ];
        let mut ids = Vec::new();
        for (memo, kyc_type, extra) in [(1, SENDER_TYPE, &[][..]), (2, RECEIVER_TYPE, &bank[..])] {
            let update = CustomerUpdate {
                user: UserKey {
                    account: key(seed).account_id(),
                    memo: Some(memo),
                },
                id: None,
                kyc_type: Some(kyc_type.to_owned()),
                transaction_id: None,
                fields: person
                    .iter()
                    .chain(extra)
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                verifications: BTreeMap::new(),
            };
            ids.push(
                CustomerIntegration::put(&kyc, &update)
                    .await
                    .expect("customer saved"),
            );
        }
        let receiver = ids.pop().expect("receiver");
        let sender = ids.pop().expect("sender");
        Parties { sender, receiver }
    }

    /// A partner's payment request (its sender and receiver registered first), answered 201;
    /// its id.
    async fn create(&self, seed: u8) -> String {
        let parties = self.register(seed).await;
        let created = self
            .call(
                "POST",
                "/sep31/transactions",
                Some(&bearer(seed)),
                Some(payment(&parties)),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        created.body["id"].as_str().expect("id").to_owned()
    }

    /// Every SEP-31 transaction stored, of any status a new one can have.
    async fn stored(&self) -> usize {
        let mut count = 0;
        for status in [
            TransactionStatus::PendingSender,
            TransactionStatus::PendingReceiver,
        ] {
            let page = self
                .store
                .list_by_status(Kind::Receive, status, 100, None)
                .await
                .expect("listing");
            count += page.items.len();
        }
        count
    }
}

#[tokio::test]
async fn info_needs_no_token() {
    let anchor = harness();
    let info = anchor.call("GET", "/sep31/info", None, None).await;
    assert_eq!(info.status, 200, "{}", info.body);
    let usdc = &info.body["receive"]["USDC"];
    assert_eq!(usdc["funding_methods"], json!(["SEPA", "SWIFT"]));
    assert_eq!(usdc["min_amount"], 1);
    assert_eq!(usdc["max_amount"], 1000);
    assert_eq!(usdc["fee_fixed"], 1);
    assert_eq!(usdc["quotes_required"], false);
    assert!(usdc["sep12"]["sender"]["types"].is_object(), "{usdc}");
    assert!(usdc["sep12"]["receiver"]["types"].is_object(), "{usdc}");
}

#[tokio::test]
async fn only_partners_get_past_info() {
    let anchor = harness();
    let parties = anchor.register(STRANGER).await;
    for authorization in [None, Some("Bearer not-a-jwt".to_owned())] {
        let refused = anchor
            .call(
                "POST",
                "/sep31/transactions",
                authorization.as_deref(),
                Some(payment(&parties)),
            )
            .await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.body["error"].is_string(), "{}", refused.body);
    }
    // A valid SEP-10 token of an account SEP31_SENDING_ANCHORS does not list.
    let stranger = anchor
        .call(
            "POST",
            "/sep31/transactions",
            Some(&bearer(STRANGER)),
            Some(payment(&parties)),
        )
        .await;
    assert_eq!(stranger.status, 403, "{}", stranger.body);
    assert!(stranger.body["error"].is_string(), "{}", stranger.body);
    assert_eq!(anchor.stored().await, 0);
    // Routing errors carry CORS too (checked by `call`).
    let unknown = anchor.call("GET", "/sep31/nothing-here", None, None).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn a_partner_is_told_where_to_pay_and_nothing_else() {
    let anchor = harness();
    let parties = anchor.register(PARTNER).await;
    let created = anchor
        .call(
            "POST",
            "/sep31/transactions",
            Some(&bearer(PARTNER)),
            Some(payment(&parties)),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.keys(),
        [
            "id",
            "stellar_account_id",
            "stellar_memo",
            "stellar_memo_type"
        ],
        "the validator allows no other keys"
    );
    assert_eq!(created.body["stellar_account_id"], distribution());
    let id = created.body["id"].as_str().expect("id");
    let stored = anchor.store.get(id).await.expect("read").expect("stored");
    assert_eq!(stored.status, TransactionStatus::PendingSender);
    assert_eq!(
        stored.receiving_memo.as_deref(),
        created.body["stellar_memo"].as_str()
    );
    // Nothing to pay out before the sending anchor's payment arrives.
    assert!(anchor.outgoing.messages().is_empty());

    let read = anchor
        .call(
            "GET",
            &format!("/sep31/transactions/{id}"),
            Some(&bearer(PARTNER)),
            None,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.keys(), ["transaction"]);
    assert_eq!(read.body["transaction"]["status"], "pending_sender");
}

#[tokio::test]
async fn parties_not_registered_by_the_partner_are_customer_info_needed() {
    let anchor = harness();
    // Unknown ids, then another partner's customers: the sender comes first.
    let others = anchor.register(OTHER_PARTNER).await;
    let unknown = Parties {
        sender: "no-such-customer".into(),
        receiver: "no-such-customer".into(),
    };
    for parties in [&unknown, &others] {
        let refused = anchor
            .call(
                "POST",
                "/sep31/transactions",
                Some(&bearer(PARTNER)),
                Some(payment(parties)),
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(
            refused.body,
            json!({"error": "customer_info_needed", "type": SENDER_TYPE})
        );
    }
    // The sender is the partner's own, the receiver is not.
    let mine = anchor.register(PARTNER).await;
    let mixed = Parties {
        sender: mine.sender,
        receiver: others.receiver,
    };
    let refused = anchor
        .call(
            "POST",
            "/sep31/transactions",
            Some(&bearer(PARTNER)),
            Some(payment(&mixed)),
        )
        .await;
    assert_eq!(
        refused.body,
        json!({"error": "customer_info_needed", "type": RECEIVER_TYPE})
    );
    assert_eq!(anchor.stored().await, 0);
}

#[tokio::test]
async fn another_partners_transaction_is_not_found() {
    let anchor = harness();
    let id = anchor.create(PARTNER).await;
    let other = anchor
        .call(
            "GET",
            &format!("/sep31/transactions/{id}"),
            Some(&bearer(OTHER_PARTNER)),
            None,
        )
        .await;
    assert_eq!(other.status, 404, "{}", other.body);
    assert!(other.body["error"].is_string(), "{}", other.body);
    let callback = anchor
        .call(
            "PUT",
            &format!("/sep31/transactions/{id}/callback"),
            Some(&bearer(OTHER_PARTNER)),
            Some(json!({"url": "https://other.example/callback"}).to_string()),
        )
        .await;
    assert_eq!(callback.status, 404, "{}", callback.body);
}

#[tokio::test]
async fn a_bad_body_is_400_and_nothing_is_stored() {
    let anchor = harness();
    for body in [
        "{not json".to_owned(),
        "[]".to_owned(),
        json!({"asset_code": "USDC", "funding_method": "SEPA"}).to_string(),
        json!({"amount": "100", "asset_code": "USDC", "funding_method": "ACH"}).to_string(),
    ] {
        let refused = anchor
            .call(
                "POST",
                "/sep31/transactions",
                Some(&bearer(PARTNER)),
                Some(body.clone()),
            )
            .await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
        assert!(
            refused.body["error"].is_string(),
            "{body}: {}",
            refused.body
        );
    }
    assert_eq!(anchor.stored().await, 0);
}

#[tokio::test]
async fn the_callback_url_is_set_with_204() {
    let anchor = harness();
    let id = anchor.create(PARTNER).await;
    let set = anchor
        .call(
            "PUT",
            &format!("/sep31/transactions/{id}/callback"),
            Some(&bearer(PARTNER)),
            Some(json!({"url": "https://sender.example/sep31-callback"}).to_string()),
        )
        .await;
    assert_eq!(set.status, 204, "{}", set.body);
    let stored = anchor.store.get(&id).await.expect("read").expect("stored");
    assert_eq!(
        stored.callback_url.as_deref(),
        Some("https://sender.example/sep31-callback")
    );
}
