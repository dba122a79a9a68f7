//! The interactive flow end to end over the HTTP glue, with in-memory adapters, a fixed clock, a
//! test integration (a deposit of one step, a withdrawal of two) and the callbacks the store's
//! writes call for (the stream path's).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{HeaderMap, Request};

use super::*;
use crate::clock::{FixedClock, SystemClock};
use crate::config::{AnchorConfig, Secret};
use crate::integrations::{
    FieldKind, FormField, FormValues, Instruction, Instructions, InteractiveFlow,
};
use crate::model::{withdraw_memo, Kind, TransactionStatus, UserKey};
use crate::sep24::token::SESSION_COOKIE;
use crate::status_callbacks::dispatch::{Bodies, Heard};
use crate::stellar::{AccountId, Keypair, Network};
use crate::store::InMemoryStore;

const JWT_SECRET: &str = "a-jwt-secret-of-at-least-32-characters!!";
const PUBLIC_URL: &str = "https://anchor.example.com";

fn signer() -> Keypair {
    Keypair::from_seed_bytes([9; 32])
}

fn issuer() -> AccountId {
    Keypair::from_seed_bytes([2; 32]).account_id()
}

fn distribution() -> AccountId {
    Keypair::from_seed_bytes([4; 32]).account_id()
}

fn user() -> UserKey {
    UserKey {
        account: Keypair::from_seed_bytes([5; 32]).account_id(),
        memo: None,
    }
}

fn settings(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let assets = format!(
        r#"[{{"code":"USDC","issuer":"{}","distribution_account":"{}","seps":["sep24"],
            "significant_decimals":2,
            "deposit":{{"min_amount":1,"max_amount":1000,"fee_fixed":1,"fee_percent":0.5}},
            "withdraw":{{"min_amount":5,"max_amount":500,"fee_fixed":2}}}}]"#,
        issuer(),
        distribution()
    );
    let seed = signer().secret_seed().to_string();
    let mut settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("PUBLIC_URL", PUBLIC_URL),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_SEED", seed.as_str()),
        ("JWT_SECRET", JWT_SECRET),
        ("ASSETS", assets.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        settings.insert((*k).to_owned(), (*v).to_owned());
    }
    settings
}

/// A bank with an amount form, and for withdrawals a bank-account form; or, as configured, no
/// forms at all or an external flow first.
#[derive(Default)]
struct TestBank {
    no_forms: bool,
    external: bool,
    /// Yield inside `after_form_validation`, so concurrent submissions interleave.
    slow: bool,
    /// Send every amount to a manual review (`pending_anchor`).
    review: bool,
    validations: AtomicUsize,
}

impl TestBank {
    fn form(&self, t: &Transaction) -> Option<Form> {
        if self.no_forms {
            return None;
        }
        if t.amount_in.is_none() {
            return Some(Form {
                step: "amount".into(),
                fields: vec![FormField::new("amount", "Amount", FieldKind::Amount)],
            });
        }
        if !t.kind.is_deposit() && t.to.is_none() {
            return Some(Form {
                step: "bank".into(),
                fields: vec![
                    FormField::new(
                        "bank_account_number",
                        "Bank account <number>",
                        FieldKind::Text { max_len: 34 },
                    ),
                    FormField::new("email_address", "Email", FieldKind::Email).optional(),
                ],
            });
        }
        None
    }

    async fn validated(
        &self,
        t: &mut Transaction,
        values: &FormValues,
    ) -> Result<(), IntegrationError> {
        self.validations.fetch_add(1, Ordering::SeqCst);
        if self.slow {
            tokio::task::yield_now().await;
        }
        if self.review && values.contains_key("amount") {
            t.status = TransactionStatus::PendingAnchor;
            t.status_message = Some("Under review".into());
        }
        if let Some(number) = values.get("bank_account_number") {
            if number == "0000" {
                return Err(IntegrationError::invalid(
                    "This account cannot receive payments.",
                ));
            }
            let last: String = number
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            t.to = Some(format!("*{last}"));
        }
        Ok(())
    }

    fn external_url(&self, t: &Transaction) -> Option<String> {
        (self.external && t.external_extra_text.as_deref() != Some("kyc-done"))
            .then(|| format!("https://kyc.example/start?tx={}", t.id))
    }
}

impl InteractiveFlow for TestBank {
    async fn form_for_transaction(
        &self,
        context: FlowContext<'_>,
    ) -> Result<Option<Form>, IntegrationError> {
        Ok(self.form(context.transaction))
    }

    async fn after_form_validation(
        &self,
        transaction: &mut Transaction,
        _form: &Form,
        values: &FormValues,
        _lang: Lang,
    ) -> Result<(), IntegrationError> {
        self.validated(transaction, values).await
    }

    /// Deposits only: withdrawals keep Mooring's forms.
    fn interactive_url(&self, context: FlowContext<'_>) -> Option<String> {
        if context.transaction.kind.is_deposit() {
            self.external_url(context.transaction)
        } else {
            None
        }
    }

    async fn after_interactive_flow(
        &self,
        transaction: &mut Transaction,
        params: &BTreeMap<String, String>,
    ) -> Result<(), IntegrationError> {
        if transaction.kind.is_deposit() && params.get("result").map(String::as_str) == Some("ok") {
            transaction.external_extra_text = Some("kyc-done".into());
        }
        Ok(())
    }
}

impl DepositIntegration for TestBank {
    async fn instructions(
        &self,
        context: FlowContext<'_>,
    ) -> Result<Instructions, IntegrationError> {
        Ok(Instructions::from([
            (
                "organization.bank_number".to_owned(),
                Instruction {
                    value: "121122676".into(),
                    description: "Routing number".into(),
                },
            ),
            (
                "organization.reference".to_owned(),
                Instruction {
                    value: format!("REF-{}", &context.transaction.id[..8]),
                    description: "Reference".into(),
                },
            ),
        ]))
    }
}

impl WithdrawalIntegration for TestBank {}

impl FeeIntegration for TestBank {}

type Service = Interactive<TestBank, InMemoryStore>;

struct Harness {
    service: Service,
    store: Arc<InMemoryStore>,
    /// What the callback sender posts for the store's writes (the table's stream).
    heard: Heard,
    clock: Arc<FixedClock>,
    keys: InteractiveKeys,
    now: u64,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn cookie(&self) -> String {
        let set = self.headers["set-cookie"].to_str().expect("cookie");
        let (pair, _) = set.split_once(';').expect("attributes");
        pair.strip_prefix(&format!("{SESSION_COOKIE}="))
            .expect("the session cookie")
            .to_owned()
    }

    /// The value of a hidden input.
    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).expect(name) + marker.len();
        let end = self.body[start..].find('"').expect("quote");
        self.body[start..start + end].to_owned()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("json")
    }

    fn has_field_error(&self, field: &str) -> bool {
        self.body
            .contains(&format!("<p class=\"field-error\" data-for=\"{field}\">"))
    }
}

fn harness_with(bank: TestBank, extra: &[(&str, &str)]) -> Harness {
    let now = SystemClock.now();
    let clock = Arc::new(FixedClock::at(now));
    let store = Arc::new(InMemoryStore::with_stream());
    let settings = settings(extra);
    let anchor = AnchorConfig::from_source(&settings).expect("anchor config");
    let config = InteractiveConfig::from_source(&settings, anchor).expect("config");
    let bodies = Bodies {
        sep6: crate::sep24::view::callback_body,
        sep24: crate::sep24::view::callback_body,
        sep31: crate::sep24::view::callback_body,
        public_url: PUBLIC_URL.into(),
    };
    Harness {
        service: Interactive::new(bank, store.clone(), config, clock.clone()),
        heard: Heard::new(store.clone(), bodies),
        store,
        clock,
        keys: InteractiveKeys::new(&Secret::new(JWT_SECRET.into())),
        now,
    }
}

fn harness() -> Harness {
    harness_with(TestBank::default(), &[])
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Harness {
    async fn transaction(&self, kind: Kind) -> Transaction {
        let mut t = Transaction::new(
            Protocol::Sep24,
            kind,
            TransactionStatus::Incomplete,
            user(),
            crate::stellar::Asset::credit("USDC", issuer()).expect("asset"),
            Timestamp::from_secs(self.now),
        );
        if kind.is_deposit() {
            t.to = Some(user().account.to_string());
        } else {
            t.from = Some(user().account.to_string());
        }
        self.store.insert(&t).await.expect("insert");
        t
    }

    async fn stored(&self, id: &str) -> Transaction {
        self.store.get(id).await.expect("get").expect("stored")
    }

    fn link(&self, id: &str) -> String {
        self.keys.issue_link_token(id, self.now + 300)
    }

    async fn send(&self, method: &str, uri: &str, cookie: Option<&str>, body: &str) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(cookie) = cookie {
            request = request.header("cookie", format!("theme=dark; {SESSION_COOKIE}={cookie}"));
        }
        if method == "POST" {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        let request = request.body(body.as_bytes().to_vec()).expect("request");
        let response = routes::handle(&self.service, &request).await;
        let answer = Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.body().clone(),
        };
        assert_eq!(answer.headers["cache-control"], "no-store", "{uri}");
        assert_eq!(answer.headers["referrer-policy"], "no-referrer", "{uri}");
        answer
    }

    async fn get(&self, uri: &str, cookie: Option<&str>) -> Answer {
        self.send("GET", uri, cookie, "").await
    }

    /// Opens the link of a transaction (with extra query) and returns the session cookie.
    async fn open(&self, id: &str, extra: &str) -> String {
        let token = self.link(id);
        let answer = self
            .get(
                &format!(
                    "/sep24/interactive?transaction_id={id}&token={}{extra}",
                    encode(&token)
                ),
                None,
            )
            .await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        answer.cookie()
    }

    async fn exchange(&self, id: String, token: String) -> Answer {
        self.get(
            &format!(
                "/sep24/interactive?transaction_id={id}&token={}",
                encode(&token)
            ),
            None,
        )
        .await
    }

    async fn form(&self, id: &str, cookie: &str) -> Answer {
        self.get(
            &format!("/sep24/interactive/form?transaction_id={id}"),
            Some(cookie),
        )
        .await
    }

    /// Submits the current form with `fields` (CSRF token and step read from the page).
    async fn submit(&self, id: &str, cookie: &str, fields: &[(&str, &str)]) -> Answer {
        let page = self.form(id, cookie).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("csrf_token", &page.hidden("csrf_token"));
        body.append_pair("step", &page.hidden("step"));
        for (name, value) in fields {
            body.append_pair(name, value);
        }
        self.post_form(id, cookie, &body.finish()).await
    }

    async fn post_form(&self, id: &str, cookie: &str, body: &str) -> Answer {
        self.send(
            "POST",
            &format!("/sep24/interactive/form?transaction_id={id}"),
            Some(cookie),
            body,
        )
        .await
    }
}

fn uuid_memo(id: &str) -> String {
    let mut bytes = uuid::Uuid::parse_str(id).expect("uuid").as_bytes().to_vec();
    bytes.extend([0u8; 16]);
    STANDARD.encode(bytes)
}

#[tokio::test]
async fn the_link_is_exchanged_for_a_secure_session_cookie() {
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let token = h.link(&t.id);
    let answer = h
        .get(
            &format!(
                "/sep24/interactive?transaction_id={}&token={}&lang=es-AR&callback=postMessage&on_change_callback={}",
                t.id,
                encode(&token),
                encode("https://wallet.example/changes")
            ),
            None,
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.location(),
        format!(
            "interactive/form?transaction_id={}&callback=postMessage",
            t.id
        )
    );
    let set = answer.headers["set-cookie"].to_str().unwrap();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/sep24",
        "Max-Age=1800",
    ] {
        assert!(set.contains(attribute), "{set}");
    }
    let stored = h.stored(&t.id).await;
    assert_eq!(stored.lang.as_deref(), Some("es"));
    assert_eq!(
        stored.callback_url.as_deref(),
        Some("https://wallet.example/changes")
    );
    assert_eq!(stored.status, TransactionStatus::Incomplete);
    // The cookie opens the form.
    let form = h.form(&t.id, &answer.cookie()).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("<html lang=\"es\">"));
}

#[tokio::test]
async fn over_plain_http_the_session_cookie_is_not_secure() {
    // PUBLIC_URL http: a client other than a browser would not send a Secure cookie back.
    let h = harness_with(
        TestBank::default(),
        &[("PUBLIC_URL", "http://localhost:8000")],
    );
    let t = h.transaction(Kind::Deposit).await;
    let answer = h.exchange(t.id.clone(), h.link(&t.id)).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let set = answer.headers["set-cookie"].to_str().unwrap();
    assert!(!set.contains("Secure"), "{set}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/sep24", "Max-Age=1800"] {
        assert!(set.contains(attribute), "{set}");
    }
    let form = h.form(&t.id, &answer.cookie()).await;
    assert_eq!(form.status, 200, "{}", form.body);
}

#[tokio::test]
async fn a_link_works_once() {
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let uri = format!(
        "/sep24/interactive?transaction_id={}&token={}",
        t.id,
        encode(&h.link(&t.id))
    );
    assert_eq!(h.get(&uri, None).await.status, 303);
    let again = h.get(&uri, None).await;
    assert_eq!(again.status, 403);
    assert!(again.body.contains("<main class=\"error-page\">"));
    assert!(again.body.contains("already used"), "{}", again.body);
    assert!(again.headers.get("set-cookie").is_none());
    assert_eq!(again.headers["content-type"], "text/html; charset=utf-8");
}

#[tokio::test]
async fn expired_foreign_and_malformed_links_are_refused() {
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let other = h.transaction(Kind::Deposit).await;
    let expired = h.keys.issue_link_token(&t.id, h.now);
    let answer = h.exchange(t.id.clone(), expired).await;
    assert_eq!(answer.status, 403);
    assert!(answer.body.contains("expired"));
    // A token of another transaction.
    let answer = h.exchange(t.id.clone(), h.link(&other.id)).await;
    assert_eq!(answer.status, 403);
    assert!(answer.body.contains("not valid"));
    // Signed by another secret.
    let foreign = InteractiveKeys::new(&Secret::new(
        "another-secret-of-at-least-32-characters".into(),
    ))
    .issue_link_token(&t.id, h.now + 300);
    assert_eq!(h.exchange(t.id.clone(), foreign).await.status, 403);
    assert_eq!(h.exchange(t.id.clone(), "garbage".into()).await.status, 403);
    assert_eq!(
        h.get(&format!("/sep24/interactive?transaction_id={}", t.id), None)
            .await
            .status,
        403
    );
    // A valid token for an id that is not a SEP-24 transaction.
    let ghost = uuid::Uuid::new_v4().to_string();
    assert_eq!(h.exchange(ghost.clone(), h.link(&ghost)).await.status, 403);
    // A bad callback is refused before the token is used up.
    let token = h.link(&t.id);
    let bad = h
        .get(
            &format!(
                "/sep24/interactive?transaction_id={}&token={}&callback=javascript:alert(1)",
                t.id,
                encode(&token)
            ),
            None,
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(h.exchange(t.id.clone(), token).await.status, 303);
    assert_eq!(h.stored(&t.id).await, t);
}

#[tokio::test]
async fn the_form_needs_the_session_of_its_transaction() {
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let other = h.transaction(Kind::Deposit).await;
    let other_cookie = h.open(&other.id, "").await;
    let uri = format!("/sep24/interactive/form?transaction_id={}", t.id);
    for cookie in [
        None,
        Some(other_cookie.as_str()),
        Some("forged.1.2.3"),
        Some(""),
    ] {
        let answer = h.get(&uri, cookie).await;
        assert_eq!(answer.status, 403, "{cookie:?}");
        assert!(answer.body.contains("<main class=\"error-page\">"));
        let post = h
            .send("POST", &uri, cookie, "csrf_token=x&step=amount&amount=10")
            .await;
        assert_eq!(post.status, 403);
    }
    // An expired session.
    let cookie = h.open(&t.id, "").await;
    h.clock.set(h.now + 1800);
    assert_eq!(h.get(&uri, Some(&cookie)).await.status, 403);
    assert_eq!(h.stored(&t.id).await.amount_in, None);
}

#[tokio::test]
async fn a_submission_without_the_sessions_csrf_token_changes_nothing() {
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let cookie = h.open(&t.id, "").await;
    let before = h.stored(&t.id).await;
    let other_cookie = h.open(&t.id, "").await;
    let other_csrf = h.form(&t.id, &other_cookie).await.hidden("csrf_token");
    for body in [
        "step=amount&amount=100".to_owned(),
        "csrf_token=&step=amount&amount=100".to_owned(),
        "csrf_token=forged&step=amount&amount=100".to_owned(),
        format!("csrf_token={other_csrf}&step=amount&amount=100"),
    ] {
        let answer = h.post_form(&t.id, &cookie, &body).await;
        assert_eq!(answer.status, 403, "{body}");
        assert!(answer.body.contains("could not be verified"));
    }
    assert_eq!(h.stored(&t.id).await, before);
}

#[tokio::test]
async fn bad_amounts_come_back_with_a_message_and_change_nothing() {
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let cookie = h.open(&t.id, "").await;
    let before = h.stored(&t.id).await;
    for (amount, message) in [
        ("1000.01", "at most 1000"),
        ("0.5", "at least 1"),
        ("10.123", "at most 2 decimal places"),
        ("ten", "such as 100"),
        ("-3", "more than 0"),
        ("", "required"),
    ] {
        let answer = h.submit(&t.id, &cookie, &[("amount", amount)]).await;
        assert_eq!(answer.status, 400, "{amount}");
        assert!(
            answer.has_field_error("amount"),
            "{amount}: {}",
            answer.body
        );
        assert!(answer.body.contains(message), "{amount}: {}", answer.body);
        // The submitted value is shown again, escaped.
        assert!(answer.body.contains(&format!("value=\"{amount}\"")));
        assert_eq!(h.stored(&t.id).await, before, "{amount}");
    }
    let answer = h.submit(&t.id, &cookie, &[("amount", "<b>9</b>")]).await;
    assert!(
        answer.body.contains("value=\"&#60;b&#62;9&#60;/b&#62;\""),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_deposit_finishes_with_its_amounts_and_instructions() {
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let cookie = h.open(&t.id, "").await;
    let page = h.form(&t.id, &cookie).await;
    assert!(page
        .body
        .contains("<form method=\"post\" id=\"transaction-form\""));
    assert!(page.body.contains("<output id=\"fee\""));
    assert!(page.body.contains("<output id=\"amount-out\""));
    assert!(page.body.contains("Between 1 and 1000 USDC."));
    assert_eq!(page.body.matches("<button type=\"submit\">").count(), 1);
    // The page's inline script and style carry the nonce of its policy.
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap();
    assert!(page.body.contains(&format!("<script nonce=\"{nonce}\">")));
    assert!(page.body.contains(&format!("<style nonce=\"{nonce}\">")));
    assert!(!policy.contains("unsafe-inline"));

    h.clock.set(h.now + 60);
    let answer = h.submit(&t.id, &cookie, &[("amount", "100")]).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location(), format!("../more-info?id={}", t.id));
    let done = h.stored(&t.id).await;
    assert_eq!(done.status, TransactionStatus::PendingUserTransferStart);
    // A new wait, a new deadline: a day from the end of the form (the hour of `incomplete` is
    // gone).
    assert_eq!(
        done.user_action_required_by,
        Some(Timestamp::from_secs(h.now + 60 + 86_400))
    );
    assert_eq!(done.amount_in.unwrap().to_string(), "100");
    let fee = done.fee_details.as_ref().unwrap();
    assert_eq!(fee.total.to_string(), "1.5");
    assert_eq!(fee.asset, t.asset.sep38_id());
    assert_eq!(done.amount_out.unwrap().to_string(), "98.5");
    assert_eq!(
        done.amount_in_asset.as_deref(),
        Some(t.asset.sep38_id().as_str())
    );
    assert_eq!(
        done.amount_out_asset.as_deref(),
        Some(t.asset.sep38_id().as_str())
    );
    assert_eq!(done.updated_at, Timestamp::from_secs(h.now + 60));
    assert_eq!(
        done.instructions.as_ref().unwrap()["organization.bank_number"],
        serde_json::json!({"value": "121122676", "description": "Routing number"})
    );
    assert_eq!(done.version, t.version + 1, "one write");

    // The page of a finished flow sends the user to more-info, and more-info shows it all.
    let again = h.form(&t.id, &cookie).await;
    assert_eq!(again.status, 303);
    let info = h.get(&format!("/sep24/more-info?id={}", t.id), None).await;
    assert_eq!(info.status, 200);
    assert_eq!(info.headers["content-type"], "text/html; charset=utf-8");
    for (field, value) in [
        ("status", "pending_user_transfer_start"),
        ("kind", "Deposit"),
        ("amount_in", "100"),
        ("amount_fee", "1.5"),
        ("amount_out", "98.5"),
        ("id", t.id.as_str()),
    ] {
        assert!(
            info.body
                .contains(&format!("<dd data-field=\"{field}\">{value}</dd>")),
            "{field}: {}",
            info.body
        );
    }
    assert!(info.body.contains("<section id=\"instructions\">"));
    assert!(info
        .body
        .contains("<dd data-instruction=\"organization.bank_number\">121122676</dd>"));
    assert!(info.body.contains(&format!(
        "<dd data-instruction=\"organization.reference\">REF-{}</dd>",
        &t.id[..8]
    )));
    assert!(info.body.contains("Waiting for you to send the funds."));
    assert!(!info.body.contains("data-field=\"withdraw_memo\""));
}

#[tokio::test]
async fn a_withdrawal_finishes_with_the_anchors_account_and_a_memo_of_its_id() {
    let h = harness();
    let t = h.transaction(Kind::Withdrawal).await;
    let cookie = h.open(&t.id, "").await;
    let first = h.submit(&t.id, &cookie, &[("amount", "50")]).await;
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(first.location(), format!("form?transaction_id={}", t.id));
    let middle = h.stored(&t.id).await;
    assert_eq!(middle.status, TransactionStatus::Incomplete);
    assert_eq!(middle.amount_in.unwrap().to_string(), "50");
    assert_eq!(middle.amount_out.unwrap().to_string(), "48");
    // The integration's form-level refusal: shown, nothing stored.
    let refused = h
        .submit(&t.id, &cookie, &[("bank_account_number", "0000")])
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains(
        "<p class=\"form-error\" role=\"alert\">This account cannot receive payments.</p>"
    ));
    assert_eq!(h.stored(&t.id).await, middle);
    // An invalid optional email is refused too.
    let email = h
        .submit(
            &t.id,
            &cookie,
            &[
                ("bank_account_number", "12345678"),
                ("email_address", "nope"),
            ],
        )
        .await;
    assert_eq!(email.status, 400);
    assert!(email.has_field_error("email_address"));

    let done = h
        .submit(
            &t.id,
            &cookie,
            &[("bank_account_number", "DE89370400440532013000")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let stored = h.stored(&t.id).await;
    assert_eq!(stored.status, TransactionStatus::PendingUserTransferStart);
    assert_eq!(stored.to.as_deref(), Some("*3000"));
    assert_eq!(stored.receiving_account, Some(distribution()));
    assert_eq!(stored.receiving_memo_type.as_deref(), Some("hash"));
    assert_eq!(
        stored.receiving_memo.as_deref(),
        Some(uuid_memo(&t.id).as_str())
    );
    assert_eq!(
        STANDARD
            .decode(stored.receiving_memo.as_deref().unwrap())
            .unwrap()
            .len(),
        32
    );
    let found = h
        .store
        .find_by_receiving_memo(&distribution(), "hash", &uuid_memo(&t.id))
        .await
        .unwrap();
    assert_eq!(found.map(|f| f.id), Some(t.id.clone()));

    let info = h.get(&format!("/sep24/more-info?id={}", t.id), None).await;
    for (field, value) in [
        ("withdraw_anchor_account", distribution().to_string()),
        ("withdraw_memo", uuid_memo(&t.id)),
        ("withdraw_memo_type", "hash".to_owned()),
        ("amount_fee", "2".to_owned()),
        ("kind", "Withdrawal".to_owned()),
        ("to", "*3000".to_owned()),
    ] {
        assert!(
            info.body
                .contains(&format!("<dd data-field=\"{field}\">{value}</dd>")),
            "{field}"
        );
    }
}

#[tokio::test]
async fn concurrent_withdrawals_get_distinct_memos() {
    let h = harness();
    let mut flows = Vec::new();
    for _ in 0..25 {
        let t = h.transaction(Kind::Withdrawal).await;
        let cookie = h.open(&t.id, "").await;
        assert_eq!(
            h.submit(&t.id, &cookie, &[("amount", "20")]).await.status,
            303
        );
        let page = h.form(&t.id, &cookie).await;
        let body = format!(
            "csrf_token={}&step=bank&bank_account_number=12345678",
            page.hidden("csrf_token")
        );
        flows.push((t.id, cookie, body));
    }
    let answers = futures_util::future::join_all(
        flows
            .iter()
            .map(|(id, cookie, body)| h.post_form(id, cookie, body)),
    )
    .await;
    let mut memos = std::collections::HashSet::new();
    for ((id, _, _), answer) in flows.iter().zip(answers) {
        assert_eq!(answer.status, 303);
        let stored = h.stored(id).await;
        assert_eq!(stored.status, TransactionStatus::PendingUserTransferStart);
        let memo = stored.receiving_memo.unwrap();
        let found = h
            .store
            .find_by_receiving_memo(&distribution(), "hash", &memo)
            .await
            .unwrap();
        assert_eq!(found.map(|f| f.id).as_deref(), Some(id.as_str()));
        assert!(memos.insert(memo));
    }
    assert_eq!(memos.len(), 25);
}

#[tokio::test]
async fn a_stale_step_or_a_concurrent_submission_applies_once() {
    let h = harness_with(
        TestBank {
            slow: true,
            ..TestBank::default()
        },
        &[],
    );
    let t = h.transaction(Kind::Withdrawal).await;
    let cookie = h
        .open(
            &t.id,
            &format!("&callback={}", encode("https://wallet.example/done")),
        )
        .await;
    let amount_page = h.form(&t.id, &cookie).await;
    let csrf = amount_page.hidden("csrf_token");
    assert_eq!(
        h.post_form(
            &t.id,
            &cookie,
            &format!("csrf_token={csrf}&step=amount&amount=20")
        )
        .await
        .status,
        303
    );
    let after_amount = h.stored(&t.id).await;
    // The amount page again (another tab, the back button): not applied.
    let stale = h
        .post_form(
            &t.id,
            &cookie,
            &format!("csrf_token={csrf}&step=amount&amount=30"),
        )
        .await;
    assert_eq!(stale.status, 409);
    assert!(stale.body.contains("out of date"));
    assert!(stale.body.contains("name=\"bank_account_number\""));
    assert_eq!(h.stored(&t.id).await, after_amount);

    // Two submissions of the last step at once: one wins, the other shows the result.
    let uri = format!(
        "/sep24/interactive/form?transaction_id={}&callback={}",
        t.id,
        encode("https://wallet.example/done")
    );
    let a = format!("csrf_token={csrf}&step=bank&bank_account_number=11111111");
    let b = format!("csrf_token={csrf}&step=bank&bank_account_number=22222222");
    let (first, second) = tokio::join!(
        h.send("POST", &uri, Some(&cookie), &a),
        h.send("POST", &uri, Some(&cookie), &b)
    );
    assert_eq!(
        h.service.integration().validations.load(Ordering::SeqCst),
        3
    );
    let stored = h.stored(&t.id).await;
    assert_eq!(stored.status, TransactionStatus::PendingUserTransferStart);
    assert_eq!(stored.version, after_amount.version + 1, "one write");
    // Both read `incomplete` and ran the integration; only one write landed.
    assert!(
        matches!(stored.to.as_deref(), Some("*1111" | "*2222")),
        "{:?}",
        stored.to
    );
    let more_info = format!(
        "../more-info?id={}&callback={}",
        t.id,
        encode("https://wallet.example/done")
    );
    assert_eq!((first.status, first.location()), (303, more_info.as_str()));
    assert_eq!(
        (second.status, second.location()),
        (303, more_info.as_str())
    );
    assert_eq!(h.heard.callbacks().len(), 1, "the wallet hears once");
}

#[tokio::test]
async fn the_live_fee_is_json_behind_the_session() {
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let cookie = h.open(&t.id, "").await;
    let fee = |amount: &str| {
        format!(
            "/sep24/interactive/fee?transaction_id={}&amount={}",
            t.id,
            encode(amount)
        )
    };
    let ok = h.get(&fee("100"), Some(&cookie)).await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.json(),
        serde_json::json!({"fee": "1.5", "amount_out": "98.5"})
    );
    assert_eq!(ok.headers["content-type"], "application/json");
    let exact = h.get(&fee("33.33"), Some(&cookie)).await.json();
    assert_eq!(
        exact,
        serde_json::json!({"fee": "1.16665", "amount_out": "32.16335"})
    );
    for bad in ["abc", "0", "5000", "1.234", ""] {
        let answer = h.get(&fee(bad), Some(&cookie)).await;
        assert_eq!(answer.status, 400, "{bad}");
        assert!(answer.json()["error"].is_string());
    }
    let anonymous = h.get(&fee("100"), None).await;
    assert_eq!(anonymous.status, 403);
    assert!(anonymous.json()["error"].is_string());
    assert_eq!(h.stored(&t.id).await, t);
}

#[tokio::test]
async fn more_info_shows_the_status_and_posts_to_the_wallet_only_when_asked() {
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let plain = h.get(&format!("/sep24/more-info?id={}", t.id), None).await;
    assert_eq!(plain.status, 200);
    assert!(plain.body.contains("<dl id=\"transaction\">"));
    assert!(plain
        .body
        .contains("<dd data-field=\"status\">incomplete</dd>"));
    assert!(plain.body.contains("Waiting for you to complete the form."));
    assert!(!plain.body.contains("postMessage"));
    assert!(!plain.body.contains("id=\"instructions\""));

    let posting = h
        .get(
            &format!("/sep24/more-info?id={}&callback=postMessage", t.id),
            None,
        )
        .await;
    assert!(posting.body.contains("target.postMessage(message, \"*\")"));
    assert!(posting.body.contains("window.opener || window.parent"));
    let start = posting.body.find("var message = ").unwrap() + "var message = ".len();
    let end = start + posting.body[start..].find(";\n").unwrap();
    let message: serde_json::Value = serde_json::from_str(&posting.body[start..end]).unwrap();
    assert_eq!(message["transaction"]["id"], t.id.as_str());
    assert_eq!(message["transaction"]["status"], "incomplete");
    assert_eq!(
        message["transaction"]["more_info_url"],
        format!("{PUBLIC_URL}/sep24/more-info?id={}", t.id)
    );
    // A URL callback is never called from this public page.
    let url = h
        .get(
            &format!(
                "/sep24/more-info?id={}&callback={}",
                t.id,
                encode("https://wallet.example/cb")
            ),
            None,
        )
        .await;
    assert!(!url.body.contains("postMessage"));
    assert!(h.heard.callbacks().is_empty());

    for missing in [
        format!("/sep24/more-info?id={}", uuid::Uuid::new_v4()),
        "/sep24/more-info".to_owned(),
        format!("/sep24/more-info?id={}", "x".repeat(500)),
    ] {
        let answer = h.get(&missing, None).await;
        assert_eq!(answer.status, 404);
        assert!(answer.body.contains("<main class=\"error-page\">"));
    }
}

#[test]
fn json_in_a_script_cannot_close_it() {
    let value = serde_json::json!({"message": "</script><script>alert(1)</script>&\u{2028}"});
    let safe = pages::script_json(&value);
    assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
        value
    );
}

/// The flow's `callback` URL is stored with the write that ends the flow, and the callback
/// sender posts it once, beside the `on_change_callback` post of the same change.
#[tokio::test]
async fn the_end_of_the_flow_is_heard_once_at_each_url() {
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let cookie = h
        .open(
            &t.id,
            &format!(
                "&callback={}&on_change_callback={}",
                encode("https://wallet.example/done?user=1"),
                encode("https://hooks.wallet.example/changes")
            ),
        )
        .await;
    let uri = format!(
        "/sep24/interactive/form?transaction_id={}&callback={}",
        t.id,
        encode("https://wallet.example/done?user=1")
    );
    let page = h.get(&uri, Some(&cookie)).await;
    assert!(h.heard.callbacks().is_empty(), "nothing before the end");
    let body = format!(
        "csrf_token={}&step=amount&amount=10",
        page.hidden("csrf_token")
    );
    let answer = h.send("POST", &uri, Some(&cookie), &body).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let stored = h.stored(&t.id).await;
    assert_eq!(
        stored.flow_callback_url.as_deref(),
        Some("https://wallet.example/done?user=1")
    );
    let heard = h.heard.callbacks();
    assert_eq!(
        heard.iter().map(|c| c.url.as_str()).collect::<Vec<_>>(),
        [
            "https://hooks.wallet.example/changes",
            "https://wallet.example/done?user=1"
        ]
    );
    for callback in &heard {
        assert_eq!(callback.version, stored.version, "as of the write");
        let body: serde_json::Value = serde_json::from_str(&callback.body).unwrap();
        assert_eq!(body["transaction"]["status"], "pending_user_transfer_start");
        assert_eq!(body["transaction"]["amount_in"], "10");
    }
}

#[tokio::test]
async fn one_url_given_as_callback_and_on_change_callback_hears_the_end_once() {
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let url = encode("https://wallet.example/c");
    let cookie = h
        .open(&t.id, &format!("&callback={url}&on_change_callback={url}"))
        .await;
    let uri = format!(
        "/sep24/interactive/form?transaction_id={}&callback={url}",
        t.id
    );
    let page = h.get(&uri, Some(&cookie)).await;
    let body = format!(
        "csrf_token={}&step=amount&amount=10",
        page.hidden("csrf_token")
    );
    assert_eq!(h.send("POST", &uri, Some(&cookie), &body).await.status, 303);
    let heard = h.heard.callbacks();
    assert_eq!(
        heard.iter().map(|c| c.url.as_str()).collect::<Vec<_>>(),
        ["https://wallet.example/c"]
    );
}

#[tokio::test]
async fn pages_speak_the_wallets_language() {
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let cookie = h.open(&t.id, "&lang=es").await;
    let form = h.form(&t.id, &cookie).await;
    assert!(form.body.contains("<html lang=\"es\">"));
    assert!(form.body.contains("<h1>Depositar USDC</h1>"));
    assert!(form
        .body
        .contains("<button type=\"submit\">Continuar</button>"));
    assert!(form.body.contains("Comisión"));
    let bad = h.submit(&t.id, &cookie, &[("amount", "5000")]).await;
    assert!(
        bad.body.contains("El importe debe ser como máximo 1000."),
        "{}",
        bad.body
    );
    let info = h.get(&format!("/sep24/more-info?id={}", t.id), None).await;
    assert!(info.body.contains("<html lang=\"es\">"));
    assert!(info.body.contains("Detalles de la transacción"));
    assert!(info
        .body
        .contains("Esperando a que completes el formulario."));
    // A page in the language asked for, and English for anything else.
    let en = h
        .get(&format!("/sep24/more-info?id={}&lang=en-GB", t.id), None)
        .await;
    assert!(en.body.contains("<html lang=\"en\">"));
    let fr = h
        .get(&format!("/sep24/more-info?id={}&lang=fr", t.id), None)
        .await;
    assert!(fr.body.contains("<html lang=\"en\">"));
    let refused = h
        .get("/sep24/interactive?transaction_id=x&token=y&lang=es", None)
        .await;
    assert!(refused.body.contains("<html lang=\"es\">"));
    assert!(refused.body.contains("Este enlace no es válido."));
}

#[tokio::test]
async fn labels_from_the_integration_are_escaped() {
    let h = harness();
    let t = h.transaction(Kind::Withdrawal).await;
    let cookie = h.open(&t.id, "").await;
    h.submit(&t.id, &cookie, &[("amount", "20")]).await;
    let page = h.form(&t.id, &cookie).await;
    assert!(
        page.body.contains("Bank account &#60;number&#62;"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("<span class=\"optional\">(optional)</span>"));
}

#[tokio::test]
async fn a_flow_with_nothing_to_ask_is_confirmed_by_a_post() {
    let h = harness_with(
        TestBank {
            no_forms: true,
            ..TestBank::default()
        },
        &[],
    );
    let t = h.transaction(Kind::Withdrawal).await;
    let cookie = h.open(&t.id, "").await;
    let page = h.form(&t.id, &cookie).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.hidden("step"), CONFIRM_STEP);
    assert!(page
        .body
        .contains("<button type=\"submit\">Confirm</button>"));
    assert_eq!(h.stored(&t.id).await, t, "a GET changes nothing");
    let answer = h.submit(&t.id, &cookie, &[]).await;
    assert_eq!(answer.status, 303);
    let stored = h.stored(&t.id).await;
    assert_eq!(stored.status, TransactionStatus::PendingUserTransferStart);
    assert_eq!(
        stored.receiving_memo.as_deref(),
        Some(uuid_memo(&t.id).as_str())
    );
    assert_eq!(
        h.service.integration().validations.load(Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn an_external_flow_returns_to_the_forms() {
    let h = harness_with(
        TestBank {
            external: true,
            ..TestBank::default()
        },
        &[],
    );
    let t = h.transaction(Kind::Deposit).await;
    let cookie = h.open(&t.id, "").await;
    let page = h.form(&t.id, &cookie).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location(),
        format!("https://kyc.example/start?tx={}", t.id)
    );
    let back = h
        .get(
            &format!(
                "/sep24/interactive/return?transaction_id={}&result=ok",
                t.id
            ),
            Some(&cookie),
        )
        .await;
    assert_eq!(back.status, 303);
    assert_eq!(back.location(), format!("form?transaction_id={}", t.id));
    assert_eq!(
        h.stored(&t.id).await.external_extra_text.as_deref(),
        Some("kyc-done")
    );
    assert_eq!(h.form(&t.id, &cookie).await.status, 200);
    let anonymous = h
        .get(
            &format!(
                "/sep24/interactive/return?transaction_id={}&result=ok",
                t.id
            ),
            None,
        )
        .await;
    assert_eq!(anonymous.status, 403);
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let h = harness();
    assert_eq!(h.get("/sep24/interactive/nope", None).await.status, 404);
    let put = h
        .send("PUT", "/sep24/interactive/form?transaction_id=x", None, "")
        .await;
    assert_eq!(put.status, 405);
    assert_eq!(put.headers["allow"], "GET, POST");
    let post = h.send("POST", "/sep24/more-info?id=x", None, "").await;
    assert_eq!(post.status, 405);
    assert_eq!(post.headers["allow"], "GET");
    // Without the /sep24 prefix (a local runner may strip it).
    assert_eq!(h.get("/more-info?id=x", None).await.status, 404);
    assert_eq!(h.get("/sep24/more-info?id=a&id=b", None).await.status, 400);
}

#[test]
fn the_withdraw_memo_is_the_id_then_zeros() {
    let id = "0b0c3f4e-6f1e-4c52-9d1a-6a1f8b1f2c3d";
    let memo = STANDARD.decode(withdraw_memo(id)).unwrap();
    assert_eq!(hex::encode(&memo[..16]), "0b0c3f4e6f1e4c529d1a6a1f8b1f2c3d");
    assert_eq!(&memo[16..], &[0u8; 16]);
    assert_ne!(withdraw_memo("not-a-uuid"), withdraw_memo("not-a-uuid-2"));
}

#[tokio::test]
async fn a_status_set_by_the_integration_is_stored_stamped_and_announced() {
    let h = harness_with(
        TestBank {
            review: true,
            ..TestBank::default()
        },
        &[],
    );
    let t = h.transaction(Kind::Deposit).await;
    let cookie = h
        .open(
            &t.id,
            &format!("&on_change_callback={}", encode("https://wallet.example/c")),
        )
        .await;
    h.clock.set(h.now + 5);
    let answer = h.submit(&t.id, &cookie, &[("amount", "10")]).await;
    assert_eq!(answer.status, 303);
    assert_eq!(answer.location(), format!("../more-info?id={}", t.id));
    let stored = h.stored(&t.id).await;
    assert_eq!(stored.status, TransactionStatus::PendingAnchor);
    assert_eq!(stored.updated_at, Timestamp::from_secs(h.now + 5));
    assert_eq!(stored.instructions, None, "not finalized");
    assert_eq!(h.heard.callbacks().len(), 1);
    let info = h.get(&format!("/sep24/more-info?id={}", t.id), None).await;
    assert!(info
        .body
        .contains("<dd data-field=\"message\">Under review</dd>"));
}

#[tokio::test]
async fn a_transaction_bound_to_a_quote_never_shows_an_amount_field() {
    let h = harness();
    let plain = h.transaction(Kind::Withdrawal).await;
    let cookie = h.open(&plain.id, "").await;
    let page = h.form(&plain.id, &cookie).await;
    assert!(page.body.contains("name=\"amount\""), "{}", page.body);

    let mut quoted = h.transaction(Kind::Withdrawal).await;
    quoted.quote_id = Some("0b7c6a8e-9d0f-4c3a-8b1e-2f4d6a8c0e12".into());
    h.store
        .update(&mut quoted, TransactionStatus::Incomplete)
        .await
        .expect("update");
    let cookie = h.open(&quoted.id, "").await;
    let page = h.form(&quoted.id, &cookie).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("name=\"amount\""), "{}", page.body);
}

/// The bounds of `crate::limits` on the interactive pages: a query value, a form post, a field
/// and a callback URL past their bounds are a 4xx (a page; the fee endpoint's `{"error"}`),
/// and the transaction is unchanged.
#[tokio::test]
async fn oversized_input_is_a_4xx_and_changes_nothing() {
    use crate::limits::{
        MAX_PAGE_FORM_BYTES, MAX_PAGE_VALUE_CHARS, MAX_PARAM_BYTES, MAX_URL_BYTES,
    };
    let h = harness();
    let t = h.transaction(Kind::Deposit).await;
    let before = h.stored(&t.id).await;
    let huge = "a".repeat(MAX_PARAM_BYTES + 1);

    // The link: a query value past the backstop, a callback URL past MAX_URL_BYTES.
    let token = encode(&h.link(&t.id));
    let long_query = h
        .get(
            &format!(
                "/sep24/interactive?transaction_id={}&token={token}&x={huge}",
                t.id
            ),
            None,
        )
        .await;
    assert_eq!(long_query.status, 400);
    let long_callback = format!("https://wallet.example/{}", "c".repeat(MAX_URL_BYTES));
    let answer = h
        .get(
            &format!(
                "/sep24/interactive?transaction_id={}&token={token}&on_change_callback={}",
                t.id,
                encode(&long_callback)
            ),
            None,
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(h.stored(&t.id).await, before);

    let cookie = h.open(&t.id, "").await;
    // The fee endpoint answers JSON.
    let fee = h
        .get(
            &format!(
                "/sep24/interactive/fee?transaction_id={}&amount={huge}",
                t.id
            ),
            Some(&cookie),
        )
        .await;
    assert_eq!(fee.status, 400);
    assert!(fee.json()["error"].is_string(), "{}", fee.body);

    // A form post past MAX_PAGE_FORM_BYTES, then one field past MAX_PAGE_VALUE_CHARS.
    let body = format!("amount={}", "1".repeat(MAX_PAGE_FORM_BYTES));
    let answer = h.post_form(&t.id, &cookie, &body).await;
    assert_eq!(answer.status, 400);
    let long_amount = "1".repeat(MAX_PAGE_VALUE_CHARS + 1);
    let answer = h.submit(&t.id, &cookie, &[("amount", &long_amount)]).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.has_field_error("amount"), "{}", answer.body);
    assert_eq!(h.stored(&t.id).await, before);
}
