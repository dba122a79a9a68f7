//! Tests of the SEP-31 receiving API through its HTTP glue ([`routes::handle`]), with a
//! scriptable integration ([`Double`]), the in-memory store and queue, a fixed clock and
//! recorded callbacks: every answer field by field (digest section 7), every refusal, and that
//! a refused request stores nothing.
//!
//! - [`info`]: `/info`, authentication and partners, CORS, preflight and routing;
//! - [`post`]: `POST /transactions` without a quote, its refusals and the hook's answers;
//! - [`quotes`]: `POST /transactions` at SEP-38 firm quotes;
//! - [`transactions`]: `GET`, `PATCH` and `PUT .../callback` of a transaction, callbacks.

mod info;
mod limits;
mod post;
mod quotes;
mod transactions;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use http::{HeaderMap, Request};
use serde_json::{json, Value};

use super::config::{Sep31Config, SENDING_ANCHORS};
use super::routes;
use super::service::{Receive, ReceiveSettings};
use crate::auth::AuthConfig;
use crate::clock::FixedClock;
use crate::config::{AnchorConfig, AssetConfig, Secret};
use crate::i18n::Lang;
use crate::integrations::{
    InfoField, IntegrationError, PostAnswer, ReceiveInfo, ReceiveIntegration, ReceiveRequest,
};
use crate::model::{Kind, Transaction, TransactionStatus, UserKey};
use crate::queue::{InMemoryQueue, QueueMessage};
use crate::sep10::{Claims, JwtKeys};
use crate::status_callbacks::dispatch::{Bodies, Heard};
use crate::status_callbacks::DueCallback;
use crate::stellar::{AccountId, Asset, Keypair, Network};
use crate::store::{InMemoryStore, TransactionStore};

const NOW: u64 = 1_700_000_000;
const STARTED: &str = "2023-11-14T22:13:20.000Z";
const JWT_SECRET: &str = "a-jwt-secret-of-at-least-32-characters!!";
const PUBLIC_URL: &str = "https://anchor.example";
const ISSUER: &str = "https://anchor.example/auth";
/// The seed of `SIGNING_KEY` (`g(1)`), which signs callbacks.
const SIGNING_SEED: u8 = 1;
/// The two configured partners (sending anchors) and an account that is none.
const ALICE: u8 = 7;
const BOB: u8 = 8;
const STRANGER: u8 = 9;

fn account(seed: u8) -> AccountId {
    Keypair::from_seed_bytes([seed; 32]).account_id()
}

fn g(seed: u8) -> String {
    account(seed).to_string()
}

fn user(seed: u8) -> UserKey {
    UserKey {
        account: account(seed),
        memo: None,
    }
}

fn usdc() -> Asset {
    Asset::credit("USDC", account(100)).expect("asset")
}

/// USDC's SEP-38 id.
fn usdc_id() -> String {
    usdc().sep38_id()
}

/// USDC's distribution account, where sending anchors pay.
fn distribution() -> String {
    g(102)
}

/// USDC: SEP-31 and SEP-38, 2 decimals, limits 1..1000, fee 1 + 0.5 %, two funding methods.
/// EURC: SEP-31 only, one funding method, no limits or fees, paid to its issuer. SRT: SEP-6
/// only.
fn assets() -> Vec<AssetConfig> {
    serde_json::from_value(json!([
        {"code": "USDC", "issuer": g(100), "distribution_account": distribution(),
         "seps": ["sep31", "sep38"], "significant_decimals": 2,
         "receive": {"min_amount": 1, "max_amount": 1000, "fee_fixed": 1, "fee_percent": 0.5,
                     "funding_methods": ["SEPA", "SWIFT"]}},
        {"code": "EURC", "issuer": g(100), "seps": ["sep31"],
         "receive": {"funding_methods": ["SEPA"]}},
        {"code": "SRT", "issuer": g(101), "seps": ["sep6"],
         "deposit": {"funding_methods": ["SEPA"]}}
    ]))
    .expect("assets")
}

/// A call of `process_post_request`: the body, the sending anchor, the transaction as Mooring
/// built it.
#[derive(Debug, Clone)]
struct PostCall {
    body: serde_json::Map<String, Value>,
    sending_anchor: AccountId,
    lang: Lang,
    transaction: Transaction,
}

/// A scriptable integration: `process_post_request` answers the next queued [`PostAnswer`]
/// (then `Accepted`), records its call and sets `status_message`; `valid_sending_anchor`
/// refuses the accounts in `refused`; `process_patch_request` keeps `receiver_account` as the
/// payout account (`"bad"` is refused); `info` names a Spanish receiver type for `es`.
#[derive(Default)]
struct Double {
    answers: Mutex<VecDeque<Result<PostAnswer, IntegrationError>>>,
    posts: Mutex<Vec<PostCall>>,
    patches: Mutex<Vec<BTreeMap<String, String>>>,
    refused: Mutex<Vec<AccountId>>,
    checked: Mutex<Vec<AccountId>>,
}

impl ReceiveIntegration for Double {
    fn info(&self, _asset: &AssetConfig, lang: Lang) -> ReceiveInfo {
        let mut info = ReceiveInfo::default();
        if lang == Lang::Es {
            info.receiver_types = BTreeMap::from([(
                "sep31-receiver".to_owned(),
                "quien recibe el pago".to_owned(),
            )]);
        }
        info
    }

    async fn valid_sending_anchor(&self, account: &AccountId) -> Result<bool, IntegrationError> {
        self.checked.lock().expect("lock").push(*account);
        Ok(!self.refused.lock().expect("lock").contains(account))
    }

    async fn process_post_request(
        &self,
        request: ReceiveRequest<'_>,
        transaction: &mut Transaction,
    ) -> Result<PostAnswer, IntegrationError> {
        self.posts.lock().expect("lock").push(PostCall {
            body: request.body.clone(),
            sending_anchor: *request.sending_anchor,
            lang: request.lang,
            transaction: transaction.clone(),
        });
        transaction.status_message = Some("waiting for the sending anchor's payment".into());
        self.answers
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or(Ok(PostAnswer::Accepted))
    }

    async fn process_patch_request(
        &self,
        transaction: &mut Transaction,
        fields: &BTreeMap<String, String>,
    ) -> Result<(), IntegrationError> {
        self.patches.lock().expect("lock").push(fields.clone());
        if fields.get("receiver_account").map(String::as_str) == Some("bad") {
            return Err(IntegrationError::invalid(
                "'receiver_account' is not a bank account",
            ));
        }
        transaction.payout_account = fields.get("receiver_account").cloned();
        Ok(())
    }
}

type Service = Receive<Double, InMemoryStore, InMemoryQueue>;

struct Anchor {
    receive: Service,
    store: Arc<InMemoryStore>,
    queue: Arc<InMemoryQueue>,
    /// What the callback sender posts for the store's writes (the table's stream).
    heard: Heard,
}

struct Answer {
    status: u16,
    body: Value,
    text: String,
    headers: HeaderMap,
}

impl Answer {
    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    /// The id of a 201 answer.
    fn id(&self) -> String {
        assert_eq!(self.status, 201, "{}", self.body);
        self.body["id"].as_str().expect("id").to_owned()
    }

    /// The keys of an object, sorted.
    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap_or_else(|| panic!("an object: {value}"))
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }
}

/// The anchor with `SEP31_SENDING_ANCHORS` set to `partners`.
fn anchor_with(partners: &str) -> Anchor {
    let src: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example"),
        ("PUBLIC_URL", PUBLIC_URL),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &g(SIGNING_SEED)),
        ("JWT_SECRET", JWT_SECRET),
        (SENDING_ANCHORS, partners),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut config = AnchorConfig::from_source(&src).expect("anchor config");
    // The test assets, built in code rather than parsed from ASSETS.
    config.assets = assets();
    let settings = ReceiveSettings {
        auth: AuthConfig::from_source(&src, &config).expect("auth config"),
        anchor: config,
        sep31: Sep31Config::from_source(&src).expect("sep31 config"),
    };
    let store = Arc::new(InMemoryStore::with_stream());
    let queue = Arc::new(InMemoryQueue::default());
    let bodies = Bodies {
        sep6: super::view::callback_body,
        sep24: super::view::callback_body,
        sep31: super::view::callback_body,
        public_url: PUBLIC_URL.into(),
    };
    Anchor {
        receive: Receive::new(
            settings,
            Double::default(),
            store.clone(),
            queue.clone(),
            Arc::new(FixedClock::at(NOW)),
        ),
        heard: Heard::new(store.clone(), bodies),
        store,
        queue,
    }
}

/// The anchor whose partners are [`ALICE`] and [`BOB`].
fn anchor() -> Anchor {
    anchor_with(&format!("{},{}", g(ALICE), g(BOB)))
}

fn jwt(sub: &str, exp: u64, secret: &str) -> String {
    JwtKeys::new(&Secret::new(secret.into()), ISSUER.into())
        .issue(&Claims {
            iss: ISSUER.into(),
            sub: sub.into(),
            iat: NOW - 10,
            exp,
            jti: "00".into(),
            client_domain: None,
            home_domain: "anchor.example".into(),
        })
        .expect("token")
}

/// A valid SEP-10 token of the account of `seed`.
fn token(seed: u8) -> String {
    jwt(&g(seed), NOW + 3600, JWT_SECRET)
}

/// A request body that USDC accepts: 100 USDC paid out by SEPA.
fn usdc_body() -> Value {
    json!({
        "amount": "100",
        "asset_code": "USDC",
        "funding_method": "SEPA",
        "sender_id": "sender-1",
        "receiver_id": "receiver-1",
    })
}

/// `body` with `changes` applied (a `null` removes the member).
fn with(mut body: Value, changes: Value) -> Value {
    let object = body.as_object_mut().expect("an object");
    for (name, value) in changes.as_object().expect("an object") {
        if value.is_null() {
            object.remove(name);
        } else {
            object.insert(name.clone(), value.clone());
        }
    }
    body
}

impl Anchor {
    /// One request through `routes::handle`; every answer must carry CORS.
    async fn call(&self, method: &str, uri: &str, token: Option<&str>, body: Vec<u8>) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = routes::handle(&self.receive, &request.body(body).expect("request")).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        assert_eq!(
            headers
                .get("access-control-allow-origin")
                .map(|v| v.as_bytes()),
            Some(&b"*"[..]),
            "CORS on {method} {uri} ({status})"
        );
        let text = response.body().clone();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            text,
            headers,
        }
    }

    /// `POST /sep31/transactions` with a JSON body, as `seed`.
    async fn post(&self, seed: u8, body: &Value) -> Answer {
        self.call(
            "POST",
            "/sep31/transactions",
            Some(&token(seed)),
            body.to_string().into_bytes(),
        )
        .await
    }

    /// Opens [`usdc_body`] as `seed`; returns the id.
    async fn open(&self, seed: u8) -> String {
        self.post(seed, &usdc_body()).await.id()
    }

    /// `GET /sep31/transactions/<id>` as `seed`.
    async fn get(&self, id: &str, seed: u8) -> Answer {
        self.call(
            "GET",
            &format!("/sep31/transactions/{id}"),
            Some(&token(seed)),
            Vec::new(),
        )
        .await
    }

    /// `PATCH /sep31/transactions/<id>` as `seed`.
    async fn patch(&self, id: &str, seed: u8, body: &Value) -> Answer {
        self.call(
            "PATCH",
            &format!("/sep31/transactions/{id}"),
            Some(&token(seed)),
            body.to_string().into_bytes(),
        )
        .await
    }

    /// `PUT /sep31/transactions/<id>/callback` as `seed`.
    async fn put_callback(&self, id: &str, seed: u8, body: &Value) -> Answer {
        self.call(
            "PUT",
            &format!("/sep31/transactions/{id}/callback"),
            Some(&token(seed)),
            body.to_string().into_bytes(),
        )
        .await
    }

    async fn stored(&self, id: &str) -> Transaction {
        TransactionStore::get(&*self.store, id)
            .await
            .expect("get")
            .expect("stored")
    }

    /// Every SEP-31 transaction in the store.
    async fn count(&self) -> usize {
        let mut n = 0;
        for status in TransactionStatus::ALL {
            n += self
                .store
                .list_by_status(Kind::Receive, status, 1000, None)
                .await
                .expect("list")
                .items
                .len();
        }
        n
    }

    /// Queues the double's next answers of `process_post_request`.
    fn script(&self, answers: impl IntoIterator<Item = Result<PostAnswer, IntegrationError>>) {
        self.receive
            .integration
            .answers
            .lock()
            .expect("lock")
            .extend(answers);
    }

    fn posts(&self) -> Vec<PostCall> {
        self.receive.integration.posts.lock().expect("lock").clone()
    }

    fn patches(&self) -> Vec<BTreeMap<String, String>> {
        self.receive
            .integration
            .patches
            .lock()
            .expect("lock")
            .clone()
    }

    /// The callbacks the store's writes call for so far (the stream path's).
    fn callbacks(&self) -> Vec<DueCallback> {
        self.heard.callbacks()
    }

    fn queued(&self) -> Vec<QueueMessage> {
        self.queue.messages()
    }

    /// Moves a stored transaction to `pending_transaction_info_update`, asking for
    /// `receiver_account` (required) and `receiver_routing` (optional), as the outgoing worker
    /// would after the rail refused the receiver's data.
    async fn ask_for_info(&self, id: &str) {
        let mut transaction = self.stored(id).await;
        let read = transaction.status;
        let mut fields = BTreeMap::new();
        fields.insert(
            "receiver_account".to_owned(),
            InfoField::new("the receiver's bank account number"),
        );
        fields.insert(
            "receiver_routing".to_owned(),
            InfoField {
                description: "the receiver's routing number".into(),
                optional: true,
            },
        );
        transaction.status = TransactionStatus::PendingTransactionInfoUpdate;
        transaction.required_info_message = Some("The bank refused the account number".into());
        transaction.required_info_updates = Some(serde_json::to_value(fields).expect("json"));
        self.store
            .update(&mut transaction, read)
            .await
            .expect("update");
    }
}
