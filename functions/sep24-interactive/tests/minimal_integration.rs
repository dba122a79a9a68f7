//! The seam between Mooring and the anchor's business logic: with the cargo feature
//! `example-minimal`, `shared/integrations` registers its minimal example instead of the
//! reference anchor (`anchor_integrations::register_integrations`, nothing else changes), and a
//! SEP-24 deposit runs through the real functions (sep24-transfer opens it, sep24-interactive
//! serves its pages) with the minimal anchor's behaviour: only the amount is asked, then fixed
//! instructions. Run with
//! `cargo test -p sep24-interactive --features example-minimal --test minimal_integration`.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use lambda_http::request::from_str;
use lambda_http::{Body, Request, Response};
use mooring::clock::{Clock, FixedClock, SystemClock};
use mooring::config::{AnchorConfig, Secret};
use mooring::model::TransactionStatus;
use mooring::sep10::{Claims, JwtKeys};
use mooring::stellar::{Keypair, Network};
use mooring::store::{InMemoryStore, TransactionStore};
use serde_json::{json, Value};

const JWT_SECRET: &str = "a-jwt-secret-of-at-least-32-chars!!";

fn settings() -> BTreeMap<String, String> {
    let issuer = Keypair::from_seed_bytes([2; 32]).account_id();
    let assets = json!([{"code": "USDC", "issuer": issuer.to_string(), "seps": ["sep24"],
        "significant_decimals": 2,
        "deposit": {"min_amount": 1, "max_amount": 1000, "fee_fixed": 1, "fee_percent": 0.5}}])
    .to_string();
    let seed = Keypair::from_seed_bytes([1; 32]).secret_seed().to_string();
    [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_SEED", seed.as_str()),
        ("JWT_SECRET", JWT_SECRET),
        ("ASSETS", assets.as_str()),
        // The reference anchor would ask for these after the amount; the minimal one never does.
        (
            "KYC_REQUIRED_FIELDS",
            r#"{"default": ["first_name", "last_name"]}"#,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

struct Anchor {
    transfer: sep24_transfer::Service<InMemoryStore>,
    pages: sep24_interactive::Service<InMemoryStore>,
    store: Arc<InMemoryStore>,
    now: u64,
}

fn anchor() -> Anchor {
    let settings = settings();
    let config = AnchorConfig::from_source(&settings).expect("anchor config");
    let now = SystemClock.now();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(now));
    let store = Arc::new(InMemoryStore::default());
    let transfer = sep24_transfer::service(
        &settings,
        &config,
        sep24_transfer::Ports {
            store: store.clone(),
            clock: clock.clone(),
        },
    )
    .expect("sep24-transfer");
    let interactive = sep24_interactive::config(&settings, &config).expect("interactive config");
    let pages = sep24_interactive::service(
        &settings,
        interactive,
        sep24_interactive::Ports {
            store: store.clone(),
            clock,
        },
    )
    .expect("sep24-interactive");
    Anchor {
        transfer,
        pages,
        store,
        now,
    }
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

fn answer(response: Response<Body>) -> Answer {
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: String::from_utf8(response.body().to_vec()).expect("utf-8"),
    }
}

fn event(fixture: &str, replace: &[(&str, &str)]) -> Request {
    let mut event = fixture.to_owned();
    for (from, to) in replace {
        event = event.replace(from, to);
    }
    from_str(&event).expect("an API Gateway v2 event")
}

impl Anchor {
    async fn api(&self, request: Request) -> Answer {
        answer(
            sep24_transfer::handle(&self.transfer, request)
                .await
                .expect("infallible"),
        )
    }

    async fn page(&self, fixture: &str, replace: &[(&str, &str)]) -> Answer {
        answer(
            sep24_interactive::handle(&self.pages, event(fixture, replace))
                .await
                .expect("infallible"),
        )
    }

    fn wallet_token(&self) -> String {
        let issuer = "https://anchor.example.com/auth";
        JwtKeys::new(&Secret::new(JWT_SECRET.into()), issuer.into())
            .issue(&Claims {
                iss: issuer.into(),
                sub: Keypair::from_seed_bytes([7; 32]).account_id().to_string(),
                iat: self.now - 10,
                exp: self.now + 3600,
                jti: "00".into(),
                client_domain: None,
                home_domain: "anchor.example.com".into(),
            })
            .expect("token")
    }
}

#[tokio::test]
async fn a_sep24_deposit_runs_on_the_minimal_integration() {
    let anchor = anchor();

    // The wallet opens a deposit without an amount (sep24-transfer).
    let mut open: Value = serde_json::from_str(include_str!(
        "../../sep24-transfer/tests/events/post_deposit_json.json"
    ))
    .expect("fixture");
    open["body"] = json!(r#"{"asset_code": "USDC", "lang": "en"}"#);
    let opened = anchor
        .api(event(
            &open.to_string(),
            &[("__TOKEN__", &anchor.wallet_token())],
        ))
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let opened: Value = serde_json::from_str(&opened.body).expect("JSON");
    let id = opened["id"].as_str().expect("id").to_owned();
    let url = opened["url"].as_str().expect("url");
    let link_token = url
        .split("&token=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("a link token");

    // The user follows the link (sep24-interactive).
    let link = anchor
        .page(
            include_str!("events/open_link.json"),
            &[("__ID__", &id), ("__TOKEN__", link_token)],
        )
        .await;
    assert_eq!(link.status, 303, "{}", link.body);
    let cookie = link
        .header("set-cookie")
        .split(';')
        .next()
        .and_then(|pair| pair.strip_prefix("sep24_session="))
        .expect("a session cookie")
        .to_owned();

    // The minimal anchor's one form: the amount, with its own label.
    let form = anchor
        .page(
            include_str!("events/get_form.json"),
            &[("__ID__", &id), ("__COOKIE__", &cookie)],
        )
        .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("name=\"amount\""), "{}", form.body);
    assert!(form.body.contains("How much?"), "{}", form.body);
    assert_eq!(
        form.hidden("step"),
        anchor_integrations::minimal::STEP_AMOUNT
    );

    let mut body = form_urlencoded::Serializer::new(String::new());
    body.append_pair("csrf_token", &form.hidden("csrf_token"));
    body.append_pair("step", &form.hidden("step"));
    body.append_pair("amount", "100");
    let body = BASE64.encode(body.finish());
    let posted = anchor
        .page(
            include_str!("events/post_form_base64.json"),
            &[
                ("__ID__", &id),
                ("__COOKIE__", &cookie),
                ("__BODY__", &body),
            ],
        )
        .await;
    // No KYC form follows (the reference anchor would ask first and last name): done.
    assert_eq!(posted.status, 303, "{}", posted.body);
    assert_eq!(posted.header("location"), format!("../more-info?id={id}"));

    // The deposit waits for the user's transfer, with the minimal anchor's fixed instructions.
    let stored = anchor.store.get(&id).await.expect("get").expect("stored");
    assert_eq!(stored.status, TransactionStatus::PendingUserTransferStart);
    assert_eq!(
        stored.amount_out.map(|a| a.to_string()).as_deref(),
        Some("98.5")
    );
    let instructions = stored.instructions.expect("instructions");
    assert_eq!(
        instructions["organization.bank_number"]["value"],
        anchor_integrations::minimal::ACCOUNT
    );
    assert_eq!(instructions["organization.reference"]["value"], id.as_str());
    let info = anchor
        .page(include_str!("events/more_info.json"), &[("__ID__", &id)])
        .await;
    assert_eq!(info.status, 200);
    assert!(info.body.contains(anchor_integrations::minimal::ACCOUNT));
}
