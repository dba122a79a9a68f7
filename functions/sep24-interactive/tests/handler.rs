//! The Lambda handler driven by real API Gateway (HTTP API, payload 2.0) events, over in-memory
//! adapters and the anchor's integration (the reference one, `anchor_integrations::reference`).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use lambda_http::request::from_str;
use lambda_http::{Body, Response};
use mooring::clock::{Clock, FixedClock, SystemClock};
use mooring::config::{AnchorConfig, Secret};
use mooring::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::sep24::token::InteractiveKeys;
use mooring::startup::StartupError;
use mooring::stellar::{Asset, Keypair, Network};
use mooring::store::{InMemoryStore, TransactionStore};
use mooring::time::Timestamp;

const JWT_SECRET: &str = "a-jwt-secret-of-at-least-32-chars!!";

fn settings(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let assets = format!(
        r#"[{{"code":"USDC","issuer":"{}","seps":["sep24"],"significant_decimals":2,
            "deposit":{{"min_amount":1,"max_amount":1000,"fee_fixed":1,"fee_percent":0.5}},
            "withdraw":{{"min_amount":1,"max_amount":1000,"fee_fixed":2}}}}]"#,
        issuer()
    );
    let seed = Keypair::from_seed_bytes([1; 32]).secret_seed().to_string();
    let mut settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_SEED", seed.as_str()),
        ("JWT_SECRET", JWT_SECRET),
        ("ASSETS", assets.as_str()),
        (
            "KYC_REQUIRED_FIELDS",
            r#"{"default": ["first_name", "last_name"]}"#,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        settings.insert((*k).to_owned(), (*v).to_owned());
    }
    settings
}

/// As the function's `main`: the anchor's configuration parsed once, then the service.
fn start(
    settings: &BTreeMap<String, String>,
    ports: sep24_interactive::Ports<InMemoryStore>,
) -> Result<sep24_interactive::Service<InMemoryStore>, StartupError> {
    let anchor = AnchorConfig::from_source(settings)?;
    let config = sep24_interactive::config(settings, &anchor)?;
    sep24_interactive::service(settings, config, ports)
}

fn issuer() -> mooring::stellar::AccountId {
    Keypair::from_seed_bytes([2; 32]).account_id()
}

struct Pages {
    service: sep24_interactive::Service<InMemoryStore>,
    store: Arc<InMemoryStore>,
    now: u64,
}

struct Answer {
    status: u16,
    headers: lambda_http::http::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).expect(name) + marker.len();
        let end = self.body[start..].find('"').expect("quote");
        self.body[start..start + end].to_owned()
    }
}

fn pages() -> Pages {
    pages_with(&[])
}

fn pages_with(extra: &[(&str, &str)]) -> Pages {
    let now = SystemClock.now();
    let store = Arc::new(InMemoryStore::default());
    let ports = sep24_interactive::Ports {
        store: store.clone(),
        clock: Arc::new(FixedClock::at(now)),
    };
    Pages {
        service: start(&settings(extra), ports).unwrap(),
        store,
        now,
    }
}

impl Pages {
    async fn transaction(&self, kind: Kind) -> Transaction {
        let account = Keypair::from_seed_bytes([7; 32]).account_id();
        let mut t = Transaction::new(
            Protocol::Sep24,
            kind,
            TransactionStatus::Incomplete,
            UserKey {
                account,
                memo: None,
            },
            Asset::credit("USDC", issuer()).unwrap(),
            Timestamp::from_secs(self.now),
        );
        t.to = Some(account.to_string());
        self.store.insert(&t).await.unwrap();
        t
    }

    async fn send(&self, fixture: &str, replace: &[(&str, &str)]) -> Answer {
        let mut event = fixture.to_owned();
        for (from, to) in replace {
            event = event.replace(from, to);
        }
        let request = from_str(&event).unwrap();
        let response: Response<Body> = sep24_interactive::handle(&self.service, request)
            .await
            .unwrap();
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: String::from_utf8(response.body().to_vec()).unwrap(),
        }
    }
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn a_deposit_from_link_to_instructions_in_events() {
    let pages = pages();
    let t = pages.transaction(Kind::Deposit).await;
    let token = InteractiveKeys::new(&Secret::new(JWT_SECRET.into()))
        .issue_link_token(&t.id, pages.now + 300);
    let open = include_str!("events/open_link.json");
    let link = pages
        .send(open, &[("__ID__", &t.id), ("__TOKEN__", &encode(&token))])
        .await;
    assert_eq!(link.status, 303, "{}", link.body);
    assert_eq!(
        link.header("location"),
        format!("interactive/form?transaction_id={}", t.id)
    );
    let set_cookie = link.header("set-cookie");
    // PUBLIC_URL defaults to https://<home domain>: the cookie is Secure.
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.strip_prefix("sep24_session="))
        .unwrap()
        .to_owned();
    // The same link again: refused.
    let replay = pages
        .send(open, &[("__ID__", &t.id), ("__TOKEN__", &encode(&token))])
        .await;
    assert_eq!(replay.status, 403);
    assert!(replay.body.contains("<main class=\"error-page\">"));

    // The amount page, in the language of the link, from a cookie of the `cookies` array.
    let form = pages
        .send(
            include_str!("events/get_form.json"),
            &[("__ID__", &t.id), ("__COOKIE__", &cookie)],
        )
        .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_eq!(form.header("content-type"), "text/html; charset=utf-8");
    assert!(form.header("content-security-policy").contains("'nonce-"));
    assert_eq!(form.header("cache-control"), "no-store");
    assert!(form.body.contains("<html lang=\"es\">"));
    assert!(form.body.contains("name=\"amount\""));

    let fee = pages
        .send(
            include_str!("events/get_fee.json"),
            &[("__ID__", &t.id), ("__COOKIE__", &cookie)],
        )
        .await;
    assert_eq!(fee.status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&fee.body).unwrap(),
        serde_json::json!({"fee": "1.5", "amount_out": "98.5"})
    );

    // Browsers post forms; API Gateway hands the body over base64-encoded.
    let post = |fields: Vec<(&str, String)>| {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (name, value) in fields {
            body.append_pair(name, &value);
        }
        BASE64.encode(body.finish())
    };
    let over = post(vec![
        ("csrf_token", form.hidden("csrf_token")),
        ("step", form.hidden("step")),
        ("amount", "5000".into()),
    ]);
    let refused = pages
        .send(
            include_str!("events/post_form_base64.json"),
            &[
                ("__ID__", &t.id),
                ("__COOKIE__", &cookie),
                ("__BODY__", &over),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused
        .body
        .contains("<p class=\"field-error\" data-for=\"amount\">"));

    let amount = post(vec![
        ("csrf_token", form.hidden("csrf_token")),
        ("step", form.hidden("step")),
        ("amount", "100".into()),
    ]);
    let next = pages
        .send(
            include_str!("events/post_form_base64.json"),
            &[
                ("__ID__", &t.id),
                ("__COOKIE__", &cookie),
                ("__BODY__", &amount),
            ],
        )
        .await;
    assert_eq!(next.status, 303, "{}", next.body);
    assert_eq!(
        next.header("location"),
        format!("form?transaction_id={}", t.id)
    );

    // The KYC fields the customer lacks.
    let kyc = pages
        .send(
            include_str!("events/get_form.json"),
            &[("__ID__", &t.id), ("__COOKIE__", &cookie)],
        )
        .await;
    assert!(kyc.body.contains("name=\"first_name\""), "{}", kyc.body);
    let names = post(vec![
        ("csrf_token", kyc.hidden("csrf_token")),
        ("step", kyc.hidden("step")),
        ("first_name", "Jane".into()),
        ("last_name", "Doe".into()),
    ]);
    let done = pages
        .send(
            include_str!("events/post_form_base64.json"),
            &[
                ("__ID__", &t.id),
                ("__COOKIE__", &cookie),
                ("__BODY__", &names),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.header("location"), format!("../more-info?id={}", t.id));
    let stored = pages.store.get(&t.id).await.unwrap().unwrap();
    assert_eq!(stored.status, TransactionStatus::PendingUserTransferStart);
    assert_eq!(
        (
            stored.amount_in.unwrap().to_string(),
            stored.fee_details.as_ref().unwrap().total.to_string(),
            stored.amount_out.unwrap().to_string()
        ),
        ("100".into(), "1.5".into(), "98.5".into())
    );

    let info = pages
        .send(include_str!("events/more_info.json"), &[("__ID__", &t.id)])
        .await;
    assert_eq!(info.status, 200);
    assert_eq!(info.header("content-type"), "text/html; charset=utf-8");
    assert!(info
        .body
        .contains("<dd data-field=\"status\">pending_user_transfer_start</dd>"));
    assert!(info.body.contains("<section id=\"instructions\">"));
    assert!(info
        .body
        .contains("data-instruction=\"organization.reference\""));
    assert!(info.body.contains("postMessage"));
}

#[tokio::test]
async fn unknown_transactions_are_404_pages() {
    let pages = pages();
    let info = pages
        .send(
            include_str!("events/more_info.json"),
            &[("__ID__", "00000000-0000-4000-8000-000000000000")],
        )
        .await;
    assert_eq!(info.status, 404);
    assert!(info.body.contains("<main class=\"error-page\">"));
    assert!(!info.body.contains("postMessage"));
}

#[test]
fn refuses_to_start_with_bad_settings() {
    let ports = || sep24_interactive::Ports {
        store: Arc::new(InMemoryStore::default()),
        clock: Arc::new(SystemClock) as Arc<dyn Clock>,
    };
    let mut no_secret = settings(&[]);
    no_secret.remove("JWT_SECRET");
    assert_eq!(
        start(&no_secret, ports()).err().unwrap().to_string(),
        "JWT_SECRET must be set"
    );
    let wrong_seed = Keypair::from_seed_bytes([3; 32]).secret_seed().to_string();
    let other_key = Keypair::from_seed_bytes([1; 32]).account_id().to_string();
    let mismatch = settings(&[("SIGNING_KEY", &other_key), ("SIGNING_SEED", &wrong_seed)]);
    assert!(start(&mismatch, ports())
        .err()
        .unwrap()
        .to_string()
        .contains("SIGNING"));
    // The pages sign nothing: they need no SIGNING_SEED (the callback sender posts the
    // wallet's callbacks) and do not read the callback settings.
    let mut no_seed = settings(&[("SEP24_CALLBACK_TIMEOUT_MS", "soon")]);
    no_seed.remove("SIGNING_SEED");
    no_seed.insert("SIGNING_KEY".into(), other_key);
    assert!(start(&no_seed, ports()).is_ok());
}

#[tokio::test]
async fn a_stack_served_over_http_sets_a_cookie_without_secure() {
    let pages = pages_with(&[("PUBLIC_URL", "http://localhost:3000")]);
    let t = pages.transaction(Kind::Deposit).await;
    let token = InteractiveKeys::new(&Secret::new(JWT_SECRET.into()))
        .issue_link_token(&t.id, pages.now + 300);
    let link = pages
        .send(
            include_str!("events/open_link.json"),
            &[("__ID__", &t.id), ("__TOKEN__", &encode(&token))],
        )
        .await;
    assert_eq!(link.status, 303, "{}", link.body);
    let set_cookie = link.header("set-cookie");
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/sep24"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
}
