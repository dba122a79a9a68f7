//! Tests of the SEP-6 API through its HTTP glue ([`routes::handle`]), with a scriptable
//! integration ([`Double`]), the in-memory store, a fixed clock and recorded wallet callbacks:
//! every endpoint's answer field by field (digest section 6), every refusal, and that a
//! refused request stores nothing.
//!
//! - [`info`]: `/info`, `/fee`, authentication, CORS, preflight and routing;
//! - [`deposit`], [`withdraw`]: the request endpoints when the hook is ready;
//! - [`kyc`]: both KYC styles and the KYC loop;
//! - [`patch`]: `pending_transaction_info_update` and `PATCH /transactions/:id`;
//! - [`exchange`]: `/deposit-exchange` and `/withdraw-exchange` at SEP-38 firm quotes;
//! - [`validation`]: bad input and other users;
//! - [`history`]: `/transaction(s)` and the transaction object.

mod deposit;
mod exchange;
mod history;
mod info;
mod kyc;
mod limits;
mod patch;
mod validation;
mod withdraw;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{HeaderMap, Request};
use serde_json::{json, Value};

use super::routes;
use super::service::{Transfer, TransferSettings};
use crate::auth::AuthConfig;
use crate::clock::FixedClock;
use crate::config::{AnchorConfig, Secret, Sep24Config};
use crate::i18n::Lang;
use crate::integrations::{
    standard_fee, CustomerInfo, CustomerIntegration, CustomerQuery, CustomerUpdate, Fee,
    FeeIntegration, FeeRequest, InfoField, Instruction, Instructions, IntegrationError, Operation,
    ProgrammaticIntegration, Sep6Answer, Sep6Ready, Sep6Request,
};
use crate::model::{CustomerStatus, FeeItem, Transaction, TransactionStatus, UserKey};
use crate::sep10::{Claims, JwtKeys};
use crate::status_callbacks::dispatch::{Bodies, Heard};
use crate::status_callbacks::DueCallback;
use crate::stellar::{AccountId, Amount, Asset, Keypair, MuxedAccount, Network};
use crate::store::{InMemoryStore, TransactionQuery, TransactionStore};

const NOW: u64 = 1_700_000_000;
const STARTED: &str = "2023-11-14T22:13:20.000Z";
const JWT_SECRET: &str = "a-jwt-secret-of-at-least-32-characters!!";
const PUBLIC_URL: &str = "https://anchor.example";
const ISSUER: &str = "https://anchor.example/auth";
/// The seed of `SIGNING_KEY` (`g(1)`), which signs callbacks.
const SIGNING_SEED: u8 = 1;

fn account(seed: u8) -> AccountId {
    Keypair::from_seed_bytes([seed; 32]).account_id()
}

fn g(seed: u8) -> String {
    account(seed).to_string()
}

fn m(seed: u8, id: u64) -> String {
    MuxedAccount::new(account(seed), Some(id)).to_string()
}

/// `G...:memo`, the subject of a shared-account user's token.
fn shared(seed: u8, memo: u64) -> String {
    format!("{}:{memo}", g(seed))
}

fn user(seed: u8, memo: Option<u64>) -> UserKey {
    UserKey {
        account: account(seed),
        memo,
    }
}

fn usdc() -> Asset {
    Asset::credit("USDC", account(100)).expect("asset")
}

/// USDC's distribution account, where withdrawals are paid.
fn distribution() -> String {
    g(102)
}

/// A hash memo value (base64 of 32 bytes).
fn hash_memo(byte: u8) -> String {
    STANDARD.encode([byte; 32])
}

/// USDC: SEP-6 and SEP-38, two deposit methods, one withdrawal method. EURC: SEP-6 only, one
/// deposit method, no withdrawals. SRT: SEP-24 only.
fn assets() -> String {
    json!([
        {"code": "USDC", "issuer": g(100), "distribution_account": distribution(),
         "seps": ["sep6", "sep38"], "significant_decimals": 2,
         "deposit": {"min_amount": 1, "max_amount": 1000, "fee_fixed": 1, "fee_percent": 0.5,
                     "funding_methods": ["SEPA", "SWIFT"]},
         "withdraw": {"min_amount": 5, "max_amount": 500, "fee_percent": 1, "fee_minimum": 2,
                      "funding_methods": ["bank_account"]}},
        {"code": "EURC", "issuer": g(100), "seps": ["sep6"],
         "deposit": {"funding_methods": ["SEPA"]}, "withdraw": {"enabled": false}},
        {"code": "SRT", "issuer": g(101), "seps": ["sep24"], "deposit": {"fee_fixed": 0.1}}
    ])
    .to_string()
}

/// The instructions the double's ready deposits carry.
fn bank_instructions() -> Instructions {
    let mut instructions = Instructions::new();
    for (name, value, description) in [
        (
            "organization.bank_number",
            "121122676",
            "US bank routing number",
        ),
        (
            "organization.bank_account_number",
            "13719713158835300",
            "US bank account number",
        ),
    ] {
        instructions.insert(
            name.to_owned(),
            Instruction {
                value: value.to_owned(),
                description: description.to_owned(),
            },
        );
    }
    instructions
}

fn bank_instructions_json() -> Value {
    serde_json::to_value(bank_instructions()).expect("json")
}

/// `how` as Mooring writes it from [`bank_instructions`] (in name order).
const BANK_HOW: &str =
    "US bank account number: 13719713158835300; US bank routing number: 121122676";

fn ready() -> Sep6Answer {
    Sep6Answer::Ready(Sep6Ready {
        instructions: bank_instructions(),
        ..Sep6Ready::default()
    })
}

/// The withdrawal's destination, asked through PATCH.
fn dest_needed() -> Sep6Answer {
    let mut fields = BTreeMap::new();
    fields.insert(
        "dest".to_owned(),
        InfoField::new("your bank account number"),
    );
    fields.insert(
        "dest_extra".to_owned(),
        InfoField {
            description: "your bank's routing number".into(),
            optional: true,
        },
    );
    Sep6Answer::TransactionInfoNeeded {
        message: "We need your bank account".into(),
        fields,
    }
}

/// A call of a request hook: the direction, the parameters, the transaction's id.
#[derive(Debug, Clone)]
struct HookCall {
    operation: Operation,
    params: BTreeMap<String, String>,
    transaction_id: String,
}

/// A scriptable integration: each request hook answers the next queued [`Sep6Answer`] (then
/// [`ready`] once the queue is empty) and records its call; `patch_transaction` puts `dest`
/// into `to` and `dest_extra` into `external_extra`; `more_info_url` is the user's status page.
/// With a `racer`, the next hook call first moves the stored transaction to `error` itself,
/// as a concurrent writer (the operator) would.
#[derive(Default)]
struct Double {
    answers: Mutex<VecDeque<Sep6Answer>>,
    calls: Mutex<Vec<HookCall>>,
    patches: Mutex<Vec<BTreeMap<String, String>>>,
    fee_types: Mutex<Vec<Option<String>>>,
    racer: Mutex<Option<Arc<InMemoryStore>>>,
}

impl Double {
    async fn answer(
        &self,
        operation: Operation,
        request: &Sep6Request<'_>,
        transaction: &Transaction,
    ) -> Sep6Answer {
        assert_eq!(request.operation, operation);
        self.calls.lock().expect("lock").push(HookCall {
            operation,
            params: request.params.clone(),
            transaction_id: transaction.id.clone(),
        });
        let racer = self.racer.lock().expect("lock").take();
        if let Some(store) = racer {
            let mut current = TransactionStore::get(&*store, &transaction.id)
                .await
                .expect("get")
                .expect("a stored transaction");
            let read = current.status;
            current.status = TransactionStatus::Error;
            store.update(&mut current, read).await.expect("update");
        }
        self.answers
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or_else(ready)
    }
}

impl ProgrammaticIntegration for Double {
    async fn process_sep6_deposit(
        &self,
        request: Sep6Request<'_>,
        transaction: &mut Transaction,
    ) -> Result<Sep6Answer, IntegrationError> {
        Ok(self.answer(Operation::Deposit, &request, transaction).await)
    }

    async fn process_sep6_withdrawal(
        &self,
        request: Sep6Request<'_>,
        transaction: &mut Transaction,
    ) -> Result<Sep6Answer, IntegrationError> {
        Ok(self
            .answer(Operation::Withdraw, &request, transaction)
            .await)
    }

    async fn patch_transaction(
        &self,
        transaction: &mut Transaction,
        fields: &BTreeMap<String, String>,
        _lang: Lang,
    ) -> Result<(), IntegrationError> {
        self.patches.lock().expect("lock").push(fields.clone());
        if let Some(dest) = fields.get("dest") {
            if dest == "not-an-account" {
                return Err(IntegrationError::invalid("'dest' is not a bank account"));
            }
            transaction.to = Some(dest.clone());
        }
        transaction.external_extra = fields.get("dest_extra").cloned();
        Ok(())
    }
}

/// The configured fee, recording the `type` it is told; itemized as one "Service fee" (described
/// by the `type`) for the transaction's `fee_details`.
impl FeeIntegration for Double {
    async fn fee(&self, request: &FeeRequest<'_>) -> Result<Amount, IntegrationError> {
        self.fee_types
            .lock()
            .expect("lock")
            .push(request.fee_type.map(str::to_owned));
        standard_fee(request)
    }

    async fn fee_details(&self, request: &FeeRequest<'_>) -> Result<Fee, IntegrationError> {
        let total = self.fee(request).await?;
        Ok(Fee {
            total,
            breakdown: vec![FeeItem {
                name: "Service fee".into(),
                description: request.fee_type.map(str::to_owned),
                amount: total,
            }],
        })
    }
}

/// Only `more_info_url` is used by SEP-6.
impl CustomerIntegration for Double {
    async fn get(&self, _query: &CustomerQuery) -> Result<CustomerInfo, IntegrationError> {
        Err(IntegrationError::Internal("not used by SEP-6".into()))
    }

    async fn put(&self, _update: &CustomerUpdate) -> Result<String, IntegrationError> {
        Err(IntegrationError::Internal("not used by SEP-6".into()))
    }

    async fn delete(&self, _user: &UserKey) -> Result<(), IntegrationError> {
        Err(IntegrationError::Internal("not used by SEP-6".into()))
    }

    async fn customer_status(
        &self,
        _id: &str,
        _kyc_type: &str,
        _transaction_id: Option<&str>,
    ) -> Result<CustomerStatus, IntegrationError> {
        Err(IntegrationError::Internal("not used by SEP-6".into()))
    }

    async fn more_info_url(&self, user: &UserKey) -> Result<Option<String>, IntegrationError> {
        Ok(Some(format!(
            "{PUBLIC_URL}/kyc/status?account={}",
            user.account
        )))
    }
}

struct Anchor {
    transfer: Transfer<Double, InMemoryStore>,
    store: Arc<InMemoryStore>,
    clock: Arc<FixedClock>,
    /// What the callback sender posts for the store's writes (the table's stream).
    heard: Heard,
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

    /// The id of a 200 answer.
    fn id(&self) -> String {
        assert_eq!(self.status, 200, "{}", self.body);
        self.body["id"].as_str().expect("id").to_owned()
    }

    /// The keys of the body, sorted.
    fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .body
            .as_object()
            .unwrap_or_else(|| panic!("an object: {}", self.body))
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }
}

fn anchor() -> Anchor {
    let src: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example"),
        ("PUBLIC_URL", PUBLIC_URL),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &g(SIGNING_SEED)),
        ("JWT_SECRET", JWT_SECRET),
        ("ASSETS", &assets()),
        ("SEP24_CLAIMABLE_BALANCES", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = AnchorConfig::from_source(&src).expect("anchor config");
    let settings = TransferSettings {
        deposits: Sep24Config::from_source(&src).expect("sep24 config"),
        auth: AuthConfig::from_source(&src, &config).expect("auth config"),
        anchor: config,
    };
    let store = Arc::new(InMemoryStore::with_stream());
    let clock = Arc::new(FixedClock::at(NOW));
    let bodies = Bodies {
        sep6: super::view::callback_body,
        sep24: super::view::callback_body,
        sep31: super::view::callback_body,
        public_url: PUBLIC_URL.into(),
    };
    Anchor {
        transfer: Transfer::new(settings, Double::default(), store.clone(), clock.clone()),
        heard: Heard::new(store.clone(), bodies),
        store,
        clock,
    }
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

/// A valid SEP-10 token for `sub` (`G...`, `G...:memo` or `M...`).
fn token(sub: &str) -> String {
    jwt(sub, NOW + 3600, JWT_SECRET)
}

impl Anchor {
    /// One request through `routes::handle`; every answer must carry CORS.
    async fn call(&self, method: &str, uri: &str, token: Option<&str>, body: Vec<u8>) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
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

    /// `GET /sep6<path_and_query>` with `token`.
    async fn get(&self, path_and_query: &str, token: &str) -> Answer {
        self.call(
            "GET",
            &format!("/sep6{path_and_query}"),
            Some(token),
            Vec::new(),
        )
        .await
    }

    /// `GET /sep6/<endpoint>?<pairs>` with `token`.
    async fn request(&self, endpoint: &str, token: &str, pairs: &[(&str, &str)]) -> Answer {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.get(&format!("/{endpoint}?{query}"), token).await
    }

    /// `PATCH /sep6/transactions/<id>` with `body`.
    async fn patch(&self, id: &str, token: &str, body: &[u8]) -> Answer {
        self.call(
            "PATCH",
            &format!("/sep6/transactions/{id}"),
            Some(token),
            body.to_vec(),
        )
        .await
    }

    /// `GET /sep6/transaction?id=<id>`.
    async fn transaction(&self, id: &str, token: &str) -> Answer {
        self.get(&format!("/transaction?id={id}"), token).await
    }

    /// Opens a deposit the double answers with `answer`; returns its id.
    async fn deposit_with(
        &self,
        token: &str,
        pairs: &[(&str, &str)],
        answer: Sep6Answer,
    ) -> String {
        self.script([answer]);
        self.request("deposit", token, pairs).await.id()
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

    /// Queues the double's next answers.
    fn script(&self, answers: impl IntoIterator<Item = Sep6Answer>) {
        self.transfer
            .integration
            .answers
            .lock()
            .expect("lock")
            .extend(answers);
    }

    fn calls(&self) -> Vec<HookCall> {
        self.transfer
            .integration
            .calls
            .lock()
            .expect("lock")
            .clone()
    }

    fn patches(&self) -> Vec<BTreeMap<String, String>> {
        self.transfer
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

    /// The status each callback so far shows, in order.
    fn heard_statuses(&self) -> Vec<String> {
        self.callbacks()
            .iter()
            .map(|c| {
                let body: Value = serde_json::from_str(&c.body).expect("json");
                body["transaction"]["status"]
                    .as_str()
                    .expect("status")
                    .to_owned()
            })
            .collect()
    }

    /// The next hook call races a concurrent writer (see [`Double`]) and loses.
    fn race_next_hook(&self) {
        *self.transfer.integration.racer.lock().expect("lock") = Some(self.store.clone());
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

/// A stored SEP-6 transaction of `owner` in `status`, for the view tests.
fn transaction(owner: UserKey, kind: crate::model::Kind, status: TransactionStatus) -> Transaction {
    Transaction::new(
        crate::model::Protocol::Sep6,
        kind,
        status,
        owner,
        usdc(),
        crate::time::Timestamp::from_secs(NOW),
    )
}
