//! The Lambda handler driven by real API Gateway (HTTP API, payload 2.0) events.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use lambda_http::request::from_str;
use mooring::config::AnchorConfig;
use mooring::startup::StartupError;
use mooring::stellar::xdr::{self, Limits, ReadXdr, WriteXdr};
use mooring::stellar::{sign_hash, transaction_hash, Keypair, Network};
use mooring::store::InMemoryStore;

fn settings() -> BTreeMap<String, String> {
    let server = Keypair::from_seed_bytes([1; 32]);
    [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_SEED", server.secret_seed().as_str()),
        ("JWT_SECRET", "a-jwt-secret-of-at-least-32-chars!!"),
        // Nothing listens here: the account lookup fails fast, as when Horizon is down.
        ("HORIZON_URL", "http://127.0.0.1:9"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// As the function's `main`: the anchor's configuration parsed once, then the service.
fn start(
    settings: &BTreeMap<String, String>,
) -> Result<sep10_auth::Service<InMemoryStore>, StartupError> {
    let anchor = AnchorConfig::from_source(settings)?;
    sep10_auth::service(settings, &anchor, InMemoryStore::default())
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap()
}

#[tokio::test]
async fn get_auth_event_returns_a_challenge_with_the_memo() {
    let service = start(&settings()).unwrap();
    let request = from_str(include_str!("events/get_auth.json")).unwrap();
    let response = sep10_auth::handle(&service, request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let body = json(response.body());
    assert_eq!(body["network_passphrase"], Network::TESTNET_PASSPHRASE);
    let envelope = xdr::TransactionEnvelope::from_xdr_base64(
        body["transaction"].as_str().unwrap(),
        Limits::none(),
    )
    .unwrap();
    let xdr::TransactionEnvelope::Tx(envelope) = envelope else {
        panic!("not v1")
    };
    assert_eq!(envelope.tx.memo, xdr::Memo::Id(42));
}

#[tokio::test]
async fn post_auth_event_with_base64_form_body_reaches_horizon() {
    let service = start(&settings()).unwrap();
    let challenge = sep10_auth::handle(
        &service,
        from_str(include_str!("events/get_auth.json")).unwrap(),
    )
    .await
    .unwrap();
    let challenge = json(challenge.body())["transaction"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut envelope =
        match xdr::TransactionEnvelope::from_xdr_base64(&challenge, Limits::none()).unwrap() {
            xdr::TransactionEnvelope::Tx(e) => e,
            _ => unreachable!(),
        };
    let client = Keypair::from_seed_bytes(sha2_seed());
    let hash = transaction_hash(&envelope.tx, &Network::testnet()).unwrap();
    let mut signatures = envelope.signatures.to_vec();
    signatures.push(sign_hash(&client, &hash));
    envelope.signatures = signatures.try_into().unwrap();
    let signed = xdr::TransactionEnvelope::Tx(envelope)
        .to_xdr_base64(Limits::none())
        .unwrap();
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("transaction", &signed)
        .finish();
    let event =
        include_str!("events/post_auth_base64_form.json").replace("__BODY__", &BASE64.encode(form));
    let response = sep10_auth::handle(&service, from_str(&event).unwrap())
        .await
        .unwrap();
    // Every check before the account lookup passed; Horizon is unreachable, so 503, not 400.
    assert_eq!(
        response.status(),
        503,
        "{:?}",
        std::str::from_utf8(response.body())
    );
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let error = json(response.body())["error"].as_str().unwrap().to_owned();
    assert!(error.contains("Horizon"), "{error}");
    assert!(
        !error.contains("127.0.0.1"),
        "internal detail leaked: {error}"
    );
}

/// The digest's client key: seed = SHA-256("sep-digest client").
fn sha2_seed() -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(b"sep-digest client").into()
}

#[test]
fn refuses_to_start_without_a_jwt_secret() {
    let mut bad = settings();
    bad.remove("JWT_SECRET");
    assert_eq!(
        start(&bad).err().unwrap().to_string(),
        "JWT_SECRET must be set"
    );
}
