//! The interactive flow of SEP-24 (the `sep24-interactive` function): the pages a user fills in
//! after the wallet opened the transaction's URL, and the public more-info page.
//!
//! - `GET /sep24/interactive?transaction_id&token[&lang][&callback][&on_change_callback]`: the
//!   link. Its token (bound to the transaction, short-lived) is exchanged, once, for a session
//!   cookie bound to the same transaction; `303` to the form.
//! - `GET|POST /sep24/interactive/form?transaction_id[&callback]`: the integration's current form,
//!   rendered server-side; a submission is checked (CSRF, step, every field), handed to the
//!   integration and stored with a conditional write; when no form is left the transaction
//!   moves `incomplete` → `pending_user_transfer_start` (a deposit with its instructions, a
//!   withdrawal with the anchor's account and a memo derived from its id), the wallet's URL
//!   callback is posted, and the user lands on more-info.
//! - `GET /sep24/interactive/fee?transaction_id&amount`: the live fee (JSON).
//! - `GET /sep24/interactive/return?transaction_id`: back from an integration's external flow.
//! - `GET /sep24/more-info?id[&lang][&callback]`: status and details; `callback=postMessage`
//!   posts the transaction to the wallet's window.
//!
//! [`Interactive`] is the service, [`routes`] its HTTP glue, [`pages`] the templates,
//! [`messages`] the one catalogue of texts, [`validate`] the field checks and [`callback`] the
//! signed URL callbacks.

pub mod callback;
pub mod messages;
pub mod pages;
pub mod routes;
pub mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::StatusCode;

pub use callback::{
    CallbackError, CallbackSender, HttpCallbackSender, RecordingCallbacks, SignedCallback,
};
pub use pages::Reply;

use self::callback::{parse_callback_url, sign_callback};
use self::messages::{fill, messages, Messages};
use self::validate::{parse_amount, validate_form, FieldErrors};
use super::token::{link_token_hash, session_set_cookie, InteractiveKeys, Session, TokenError};
use super::view::{TransactionEnvelope, TransactionView};
use crate::auth::AuthConfig;
use crate::clock::Clock;
use crate::config::{AnchorConfig, AssetConfig, ConfigError, Secret, Sep24Config, Source};
use crate::http::Params;
use crate::i18n::Lang;
use crate::integrations::{
    DepositIntegration, FeeIntegration, FeeRequest, FieldKind, FlowContext, Form, IntegrationError,
    Operation, Page, PageContent, WithdrawalIntegration,
};
use crate::model::{FeeDetails, Protocol, Transaction, TransactionStatus};
use crate::stellar::{Amount, Keypair};
use crate::store::{ChallengeStore, StoreError, TransactionStore};
use crate::time::Timestamp;

/// The step name of the confirmation page Mooring shows when the integration has no form left
/// but the transaction is still `incomplete` (nothing changes on a `GET`).
pub const CONFIRM_STEP: &str = "mooring-confirm";

/// How many times the link exchange retries saving the wallet's preferences after a lost race.
const PREFERENCE_ATTEMPTS: usize = 3;

/// Transaction ids longer than this are not looked up.
const MAX_ID_LEN: usize = 128;

/// Settings of the interactive flow, read once per cold start.
#[derive(Debug, Clone)]
pub struct InteractiveConfig {
    pub anchor: AnchorConfig,
    /// `JWT_SECRET`: the link, session and CSRF keys derive from it.
    pub jwt_secret: Secret,
    /// `INTERACTIVE_TOKEN_SECONDS`, `INTERACTIVE_SESSION_SECONDS`.
    pub sep24: Sep24Config,
    /// `SIGNING_SEED`, which signs URL callbacks; without it they are not sent.
    pub signing_key: Option<Keypair>,
    /// `SEP24_CALLBACK_TIMEOUT_MS` (default 3000).
    pub callback_timeout: Duration,
    /// `SEP24_CALLBACK_ALLOW_INSECURE` (default false; development only): callbacks may go to
    /// plain http and to private or loopback addresses.
    pub callback_allow_insecure: bool,
    /// Whether the session cookie is `Secure`: `PUBLIC_URL` is https.
    pub secure_cookie: bool,
}

impl InteractiveConfig {
    /// Reads the interactive flow's settings; the anchor's are parsed once per cold start, by
    /// the caller.
    pub fn from_source(src: &impl Source, anchor: AnchorConfig) -> Result<Self, ConfigError> {
        let auth = AuthConfig::from_source(src, &anchor)?;
        let sep24 = Sep24Config::from_source(src)?;
        let signing_key = match src.get("SIGNING_SEED") {
            None => None,
            Some(seed) => {
                let pair = Keypair::from_secret_seed(&seed).map_err(|e| ConfigError::Invalid {
                    name: "SIGNING_SEED",
                    reason: e.to_string(),
                })?;
                if pair.account_id() != anchor.signing_account {
                    return Err(ConfigError::Invalid {
                        name: "SIGNING_SEED",
                        reason: "does not match SIGNING_KEY".into(),
                    });
                }
                Some(pair)
            }
        };
        let timeout_ms: u64 = match src.get("SEP24_CALLBACK_TIMEOUT_MS") {
            None => 3_000,
            Some(v) => v
                .trim()
                .parse()
                .ok()
                .filter(|ms| *ms > 0)
                .ok_or(ConfigError::Invalid {
                    name: "SEP24_CALLBACK_TIMEOUT_MS",
                    reason: "must be a positive number of milliseconds".into(),
                })?,
        };
        let callback_allow_insecure = match src.get("SEP24_CALLBACK_ALLOW_INSECURE") {
            None => false,
            Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "SEP24_CALLBACK_ALLOW_INSECURE",
                reason: "must be true or false".into(),
            })?,
        };
        Ok(Self {
            secure_cookie: anchor.serves_https(),
            anchor,
            jwt_secret: auth.jwt_secret,
            sep24,
            signing_key,
            callback_timeout: Duration::from_millis(timeout_ms),
            callback_allow_insecure,
        })
    }
}

/// Why a request of the flow is refused or failed; each becomes a page (or, for the fee, JSON)
/// in [`FlowError::reply`], the one place that decides status and text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error("the link is not valid")]
    LinkInvalid,
    #[error("the link has expired")]
    LinkExpired,
    #[error("the link was already used")]
    LinkUsed,
    #[error("the callback is not postMessage or an http(s) URL")]
    BadCallback,
    #[error("no valid session for the transaction")]
    Session,
    #[error("missing or wrong CSRF token")]
    Csrf,
    #[error("no such transaction")]
    NotFound,
    /// Bad input; the message is shown.
    #[error("{0}")]
    BadRequest(String),
    /// A request that is not even well-formed (duplicate parameters, a body too large).
    #[error("malformed request")]
    Malformed,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A dependency failed; the cause is logged.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or misconfiguration; the cause is logged.
    #[error("internal: {0}")]
    Internal(String),
}

impl FlowError {
    pub fn status(&self) -> StatusCode {
        match self {
            FlowError::LinkInvalid
            | FlowError::LinkExpired
            | FlowError::LinkUsed
            | FlowError::Session
            | FlowError::Csrf => StatusCode::FORBIDDEN,
            FlowError::BadCallback | FlowError::BadRequest(_) | FlowError::Malformed => {
                StatusCode::BAD_REQUEST
            }
            FlowError::NotFound => StatusCode::NOT_FOUND,
            FlowError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            FlowError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            FlowError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The text shown to the user.
    pub fn message(&self, m: &Messages) -> String {
        match self {
            FlowError::LinkInvalid => m.link_invalid,
            FlowError::LinkExpired => m.link_expired,
            FlowError::LinkUsed => m.link_used,
            FlowError::BadCallback => m.bad_callback,
            FlowError::Session => m.session_required,
            FlowError::Csrf => m.csrf_invalid,
            FlowError::NotFound => m.not_found,
            FlowError::BadRequest(message) => return message.clone(),
            FlowError::Malformed => m.bad_request,
            FlowError::MethodNotAllowed => m.method_not_allowed,
            FlowError::Unavailable(_) => m.unavailable,
            FlowError::Internal(_) => m.internal,
        }
        .to_owned()
    }

    fn log(&self) {
        match self {
            FlowError::Internal(cause) => tracing::error!(%cause, "internal error"),
            FlowError::Unavailable(cause) => tracing::warn!(%cause, "dependency unavailable"),
            other => tracing::info!(status = other.status().as_u16(), reason = %other, "refused"),
        }
    }

    /// The error page (`<main class="error-page">`).
    pub fn page(&self, lang: Lang) -> Reply {
        self.log();
        pages::error(lang, self.status(), &self.message(messages(lang)))
    }

    /// `{"error": "..."}` (the fee endpoint).
    pub fn json(&self, lang: Lang) -> Reply {
        self.log();
        Reply::Json {
            status: self.status(),
            body: serde_json::json!({"error": self.message(messages(lang))}),
        }
    }
}

impl From<StoreError> for FlowError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => FlowError::Unavailable(cause),
            other => FlowError::Internal(other.to_string()),
        }
    }
}

impl From<IntegrationError> for FlowError {
    fn from(error: IntegrationError) -> Self {
        match error {
            IntegrationError::Invalid(message) => FlowError::BadRequest(message),
            IntegrationError::NotFound => FlowError::NotFound,
            IntegrationError::Unavailable(cause) => FlowError::Unavailable(cause),
            IntegrationError::Internal(cause) => FlowError::Internal(cause),
        }
    }
}

impl From<TokenError> for FlowError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Invalid => FlowError::LinkInvalid,
            TokenError::Expired => FlowError::LinkExpired,
        }
    }
}

/// Where the wallet wants to hear about the transaction (`callback`, `on_change_callback`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackTarget {
    PostMessage,
    Url(url::Url),
}

impl CallbackTarget {
    pub fn parse(value: &str) -> Result<Self, FlowError> {
        if value.eq_ignore_ascii_case("postMessage") {
            return Ok(CallbackTarget::PostMessage);
        }
        parse_callback_url(value)
            .map(CallbackTarget::Url)
            .ok_or(FlowError::BadCallback)
    }
}

/// The `callback` of a flow request, kept in the query from page to page.
struct FlowCallback {
    raw: Option<String>,
    target: Option<CallbackTarget>,
}

impl FlowCallback {
    fn of(params: &Params) -> Result<Self, FlowError> {
        match params.get("callback") {
            None => Ok(Self {
                raw: None,
                target: None,
            }),
            Some(raw) => Ok(Self {
                target: Some(CallbackTarget::parse(raw)?),
                raw: Some(raw.to_owned()),
            }),
        }
    }
}

/// The query of a flow page: `transaction_id=..[&callback=..]`.
fn flow_query(id: &str, callback: &FlowCallback) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("transaction_id", id);
    if let Some(raw) = &callback.raw {
        query.append_pair("callback", raw);
    }
    query.finish()
}

/// The more-info page, relative to `/sep24/interactive/<page>`.
fn more_info_location(id: &str, callback: &FlowCallback) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("id", id);
    if let Some(raw) = &callback.raw {
        query.append_pair("callback", raw);
    }
    format!("../more-info?{}", query.finish())
}

/// The withdrawal memo of a transaction: the 16 bytes of its UUID followed by 16 zero bytes,
/// as a base64 `hash` memo. Ids are unique, so memos are, with no coordination between
/// concurrent requests. (An id that is not a UUID uses its SHA-256.)
pub fn withdraw_memo(transaction_id: &str) -> String {
    let mut bytes = [0u8; 32];
    match uuid::Uuid::parse_str(transaction_id) {
        Ok(id) => bytes[..16].copy_from_slice(id.as_bytes()),
        Err(_) => {
            use sha2::{Digest, Sha256};
            bytes.copy_from_slice(&Sha256::digest(transaction_id.as_bytes()));
        }
    }
    STANDARD.encode(bytes)
}

fn lang_of(transaction: &Transaction) -> Lang {
    Lang::from_tag(transaction.lang.as_deref())
}

fn operation_of(transaction: &Transaction) -> Operation {
    if transaction.kind.is_deposit() {
        Operation::Deposit
    } else {
        Operation::Withdraw
    }
}

/// An amount that does not pay its fee, or a fee the integration refused.
enum AmountRefusal {
    /// Shown under the amount field.
    Field(String),
    Flow(FlowError),
}

/// The interactive flow over the anchor's integration `I`, a store `S` of transactions and used
/// links, and a sender `C` of wallet callbacks. Built once per cold start.
pub struct Interactive<I, S, C> {
    integration: I,
    store: Arc<S>,
    callbacks: C,
    config: InteractiveConfig,
    keys: InteractiveKeys,
    clock: Arc<dyn Clock>,
}

impl<I, S, C> Interactive<I, S, C>
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + ChallengeStore,
    C: CallbackSender,
{
    pub fn new(
        integration: I,
        store: Arc<S>,
        callbacks: C,
        config: InteractiveConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        if config.signing_key.is_none() {
            tracing::warn!("wallet URL callbacks are disabled: SIGNING_SEED is not configured");
        }
        Self {
            keys: InteractiveKeys::new(&config.jwt_secret),
            integration,
            store,
            callbacks,
            config,
            clock,
        }
    }

    pub fn config(&self) -> &InteractiveConfig {
        &self.config
    }

    pub fn integration(&self) -> &I {
        &self.integration
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.clock.now())
    }

    // ---- the integration's interactive hooks (the transaction's kind tells the direction) ----

    async fn next_form(&self, context: FlowContext<'_>) -> Result<Option<Form>, FlowError> {
        Ok(self.integration.form_for_transaction(context).await?)
    }

    fn content(&self, page: Page, form: Option<&Form>, context: FlowContext<'_>) -> PageContent {
        self.integration.content_for_template(page, form, context)
    }

    fn external_url(&self, context: FlowContext<'_>) -> Option<String> {
        self.integration.interactive_url(context)
    }

    async fn after_validation(
        &self,
        transaction: &mut Transaction,
        form: &Form,
        values: &crate::integrations::FormValues,
        lang: Lang,
    ) -> Result<(), IntegrationError> {
        self.integration
            .after_form_validation(transaction, form, values, lang)
            .await
    }

    async fn after_external(
        &self,
        transaction: &mut Transaction,
        params: &BTreeMap<String, String>,
    ) -> Result<(), IntegrationError> {
        self.integration
            .after_interactive_flow(transaction, params)
            .await
    }

    // ---- shared steps ----

    /// A SEP-24 transaction by id (`None` for unknown ids and other protocols' transactions).
    async fn sep24_transaction(&self, id: &str) -> Result<Option<Transaction>, FlowError> {
        if id.len() > MAX_ID_LEN {
            return Ok(None);
        }
        Ok(self
            .store
            .get(id)
            .await?
            .filter(|t| t.protocol == Protocol::Sep24))
    }

    /// The session of the request and the transaction it is bound to.
    async fn session_transaction(
        &self,
        params: &Params,
        cookie: Option<&str>,
    ) -> Result<(Session, Transaction), FlowError> {
        let id = params.get("transaction_id").ok_or(FlowError::Session)?;
        let cookie = cookie.ok_or(FlowError::Session)?;
        let session = self
            .keys
            .verify_session(cookie, id, self.clock.now())
            .map_err(|_| FlowError::Session)?;
        let transaction = self
            .sep24_transaction(id)
            .await?
            .ok_or(FlowError::NotFound)?;
        Ok((session, transaction))
    }

    fn asset_of(&self, transaction: &Transaction) -> Result<&AssetConfig, FlowError> {
        self.config
            .anchor
            .assets
            .iter()
            .find(|a| a.asset.0 == transaction.asset)
            .ok_or_else(|| {
                FlowError::Internal(format!(
                    "asset {} of transaction {} is not configured",
                    transaction.asset.code(),
                    transaction.id
                ))
            })
    }

    /// The fee and amount out of `amount`.
    async fn fee_for(
        &self,
        transaction: &Transaction,
        asset: &AssetConfig,
        amount: Amount,
        m: &Messages,
    ) -> Result<(Amount, Amount), AmountRefusal> {
        let request = FeeRequest {
            operation: operation_of(transaction),
            fee_type: None,
            asset,
            amount,
            user: Some(&transaction.user),
        };
        let fee = match self.integration.fee(&request).await {
            Ok(fee) => fee,
            Err(IntegrationError::Invalid(message)) => return Err(AmountRefusal::Field(message)),
            Err(other) => return Err(AmountRefusal::Flow(other.into())),
        };
        match amount.checked_sub(fee) {
            Some(out) if out > Amount::ZERO && fee >= Amount::ZERO => Ok((fee, out)),
            _ => Err(AmountRefusal::Field(fill(
                m.amount_below_fee,
                &[("fee", &fee.to_string())],
            ))),
        }
    }

    /// The form page of `transaction` with `form`.
    #[allow(clippy::too_many_arguments)]
    async fn form_page(
        &self,
        status: StatusCode,
        transaction: &Transaction,
        form: &Form,
        confirm: bool,
        session: &Session,
        submitted: Option<&Params>,
        errors: FieldErrors,
        form_error: Option<String>,
    ) -> Result<Reply, FlowError> {
        let asset = self.asset_of(transaction)?;
        let lang = lang_of(transaction);
        let m = messages(lang);
        let context = FlowContext {
            transaction,
            asset,
            lang,
        };
        let content = self.content(Page::Form, Some(form), context);
        let limits = operation_of(transaction).limits(asset);
        let code = transaction.asset.code();
        let amount_help = limits.and_then(|l| match (l.min_amount, l.max_amount) {
            (Some(min), Some(max)) => Some(fill(
                m.amount_range_help,
                &[
                    ("min", &min.to_string()),
                    ("max", &max.to_string()),
                    ("asset", code),
                ],
            )),
            (Some(min), None) => Some(fill(
                m.amount_min_help,
                &[("min", &min.to_string()), ("asset", code)],
            )),
            (None, Some(max)) => Some(fill(
                m.amount_max_help,
                &[("max", &max.to_string()), ("asset", code)],
            )),
            (None, None) => None,
        });
        // The fee of the amount shown, for pages rendered without JavaScript.
        let mut fee = None;
        if let Some(field) = form.fields.iter().find(|f| f.kind == FieldKind::Amount) {
            let shown = match submitted {
                Some(params) => params.get(&field.name).map(str::to_owned),
                None => field.value.clone(),
            };
            if let Some(amount) =
                shown.and_then(|s| parse_amount(&s, asset.significant_decimals, limits).ok())
            {
                if let Ok((f, out)) = self.fee_for(transaction, asset, amount, m).await {
                    fee = Some((f.to_string(), out.to_string()));
                }
            }
        }
        Ok(pages::form(
            status,
            pages::FormView {
                lang,
                transaction,
                form,
                content,
                csrf_token: session.csrf_token(),
                submitted,
                errors: &errors,
                form_error,
                fee,
                amount_help,
                confirm,
            },
        ))
    }

    /// The current page of an `incomplete` transaction: an external flow, the next form, or the
    /// confirmation when nothing is left to ask.
    async fn current_page(
        &self,
        status: StatusCode,
        transaction: &Transaction,
        session: &Session,
        callback: &FlowCallback,
        form_error: Option<String>,
    ) -> Result<Reply, FlowError> {
        if transaction.status != TransactionStatus::Incomplete {
            return Ok(Reply::redirect(more_info_location(
                &transaction.id,
                callback,
            )));
        }
        let asset = self.asset_of(transaction)?;
        let context = FlowContext {
            transaction,
            asset,
            lang: lang_of(transaction),
        };
        if let Some(url) = self.external_url(context) {
            return Ok(Reply::redirect(url));
        }
        let (form, confirm) = match self.next_form(context).await? {
            Some(form) => (form, false),
            None => (confirm_form(), true),
        };
        self.form_page(
            status,
            transaction,
            &form,
            confirm,
            session,
            None,
            FieldErrors::new(),
            form_error,
        )
        .await
    }

    /// After a lost race: the current state (more-info if the transaction moved on, else the
    /// current form with a note). Nothing is applied twice.
    async fn after_conflict(
        &self,
        id: &str,
        session: &Session,
        callback: &FlowCallback,
    ) -> Result<Reply, FlowError> {
        let current = self
            .sep24_transaction(id)
            .await?
            .ok_or(FlowError::NotFound)?;
        let note = messages(lang_of(&current)).concurrent_change.to_owned();
        self.current_page(
            StatusCode::CONFLICT,
            &current,
            session,
            callback,
            Some(note),
        )
        .await
    }

    // ---- the endpoints ----

    /// `GET /sep24/interactive`: exchanges the link's token for a session.
    pub async fn open_link(&self, params: &Params) -> Reply {
        let lang = Lang::from_tag(params.get("lang"));
        self.try_open_link(params)
            .await
            .unwrap_or_else(|e| e.page(lang))
    }

    async fn try_open_link(&self, params: &Params) -> Result<Reply, FlowError> {
        let id = params.get("transaction_id").ok_or(FlowError::LinkInvalid)?;
        let token = params.get("token").ok_or(FlowError::LinkInvalid)?;
        let now = self.clock.now();
        let expires_at = self.keys.verify_link_token(id, token, now)?;
        let callback = FlowCallback::of(params)?;
        let on_change = params
            .get("on_change_callback")
            .map(|raw| CallbackTarget::parse(raw).map(|_| raw.to_owned()))
            .transpose()?;
        let transaction = self
            .sep24_transaction(id)
            .await?
            .ok_or(FlowError::LinkInvalid)?;
        if !self
            .store
            .consume(&link_token_hash(token), Timestamp::from_secs(expires_at))
            .await?
        {
            return Err(FlowError::LinkUsed);
        }
        let lang = params
            .get("lang")
            .map(|tag| Lang::from_tag(Some(tag)).code().to_owned());
        self.save_preferences(transaction, lang, on_change).await;
        let ttl = self.config.sep24.session_ttl.as_secs();
        let session = self.keys.issue_session(id, now.saturating_add(ttl));
        tracing::info!(
            transaction_id = id,
            "interactive link exchanged for a session"
        );
        Ok(Reply::Redirect {
            location: format!("interactive/form?{}", flow_query(id, &callback)),
            set_cookie: Some(session_set_cookie(
                &session.cookie_value,
                ttl,
                self.config.secure_cookie,
            )),
        })
    }

    /// Keeps the wallet's `lang` and `on_change_callback` on the transaction (conditional
    /// write, retried after a lost race; a failure is logged, the flow goes on).
    async fn save_preferences(
        &self,
        mut transaction: Transaction,
        lang: Option<String>,
        on_change: Option<String>,
    ) {
        for _ in 0..PREFERENCE_ATTEMPTS {
            let mut changed = false;
            if lang.is_some() && transaction.lang != lang {
                transaction.lang.clone_from(&lang);
                changed = true;
            }
            if on_change.is_some() && transaction.callback_url != on_change {
                transaction.callback_url.clone_from(&on_change);
                changed = true;
            }
            if !changed {
                return;
            }
            let expected = transaction.status;
            match self.store.update(&mut transaction, expected).await {
                Ok(()) => return,
                Err(StoreError::Conflict) => match self.store.get(&transaction.id).await {
                    Ok(Some(current)) => transaction = current,
                    _ => break,
                },
                Err(error) => {
                    tracing::warn!(transaction_id = %transaction.id, %error, "saving the wallet's preferences");
                    return;
                }
            }
        }
        tracing::warn!(transaction_id = %transaction.id, "the wallet's preferences were not saved: concurrent changes");
    }

    /// `GET /sep24/interactive/form`.
    pub async fn show_form(&self, params: &Params, cookie: Option<&str>) -> Reply {
        let lang = Lang::from_tag(params.get("lang"));
        match self.session_transaction(params, cookie).await {
            Err(e) => e.page(lang),
            Ok((session, transaction)) => {
                let lang = lang_of(&transaction);
                let result = match FlowCallback::of(params) {
                    Ok(callback) => {
                        self.current_page(StatusCode::OK, &transaction, &session, &callback, None)
                            .await
                    }
                    Err(e) => Err(e),
                };
                result.unwrap_or_else(|e| e.page(lang))
            }
        }
    }

    /// `POST /sep24/interactive/form`: `submitted` are the body's fields.
    pub async fn submit_form(
        &self,
        params: &Params,
        submitted: Result<Params, FlowError>,
        cookie: Option<&str>,
    ) -> Reply {
        let lang = Lang::from_tag(params.get("lang"));
        match self.session_transaction(params, cookie).await {
            Err(e) => e.page(lang),
            Ok((session, transaction)) => {
                let lang = lang_of(&transaction);
                self.try_submit(params, submitted, session, transaction)
                    .await
                    .unwrap_or_else(|e| e.page(lang))
            }
        }
    }

    async fn try_submit(
        &self,
        params: &Params,
        submitted: Result<Params, FlowError>,
        session: Session,
        transaction: Transaction,
    ) -> Result<Reply, FlowError> {
        let submitted = submitted?;
        if !submitted
            .get("csrf_token")
            .is_some_and(|token| session.accepts_csrf(token))
        {
            return Err(FlowError::Csrf);
        }
        let callback = FlowCallback::of(params)?;
        if transaction.status != TransactionStatus::Incomplete {
            return Ok(Reply::redirect(more_info_location(
                &transaction.id,
                &callback,
            )));
        }
        let asset = self.asset_of(&transaction)?;
        let lang = lang_of(&transaction);
        let m = messages(lang);
        let context = FlowContext {
            transaction: &transaction,
            asset,
            lang,
        };
        if self.external_url(context).is_some() {
            // The user belongs on the external flow, which the form page sends them to.
            return Ok(Reply::redirect(format!(
                "form?{}",
                flow_query(&transaction.id, &callback)
            )));
        }
        let (form, confirm) = match self.next_form(context).await? {
            Some(form) => (form, false),
            None => (confirm_form(), true),
        };
        if submitted.get("step") != Some(form.step.as_str()) {
            tracing::info!(transaction_id = %transaction.id, "a stale step was submitted");
            return self
                .form_page(
                    StatusCode::CONFLICT,
                    &transaction,
                    &form,
                    confirm,
                    &session,
                    None,
                    FieldErrors::new(),
                    Some(m.stale_step.to_owned()),
                )
                .await;
        }
        let limits = operation_of(&transaction).limits(asset);
        let invalid = |errors: FieldErrors, form_error: Option<String>| {
            self.form_page(
                StatusCode::BAD_REQUEST,
                &transaction,
                &form,
                confirm,
                &session,
                Some(&submitted),
                errors,
                form_error,
            )
        };
        let values = match validate_form(&form, &submitted, asset.significant_decimals, limits, m) {
            Ok(values) => values,
            Err(errors) => return invalid(errors, None).await,
        };

        let mut updated = transaction.clone();
        if let Some(field) = form.fields.iter().find(|f| f.kind == FieldKind::Amount) {
            if let Some(amount) = values.get(&field.name).and_then(|v| v.parse().ok()) {
                let (fee, out) = match self.fee_for(&transaction, asset, amount, m).await {
                    Ok(fee) => fee,
                    Err(AmountRefusal::Field(message)) => {
                        let errors = FieldErrors::from([(field.name.clone(), message)]);
                        return invalid(errors, None).await;
                    }
                    Err(AmountRefusal::Flow(error)) => return Err(error),
                };
                let asset_id = transaction.asset.sep38_id();
                updated.amount_in = Some(amount);
                updated.amount_in_asset = Some(asset_id.clone());
                updated.fee_details = Some(FeeDetails {
                    total: fee,
                    asset: asset_id.clone(),
                    breakdown: Vec::new(),
                });
                updated.amount_out = Some(out);
                updated.amount_out_asset = Some(asset_id);
            }
        }
        if !confirm {
            match self
                .after_validation(&mut updated, &form, &values, lang)
                .await
            {
                Ok(()) => {}
                Err(IntegrationError::Invalid(message)) => {
                    return invalid(FieldErrors::new(), Some(message)).await;
                }
                Err(other) => return Err(other.into()),
            }
        }
        self.keep_identity(&mut updated, &transaction);

        // What comes next is decided on the updated transaction, so that finishing the flow
        // is one conditional write with the form's changes.
        let finished = updated.status == TransactionStatus::Incomplete && {
            let context = FlowContext {
                transaction: &updated,
                asset,
                lang,
            };
            self.external_url(context).is_none() && self.next_form(context).await?.is_none()
        };
        if finished {
            self.finalize(&mut updated, asset, lang).await?;
        }
        match self
            .store
            .update(&mut updated, TransactionStatus::Incomplete)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                tracing::info!(transaction_id = %transaction.id, "the form lost a race; showing the current state");
                return self
                    .after_conflict(&transaction.id, &session, &callback)
                    .await;
            }
            Err(other) => return Err(other.into()),
        }
        if updated.status == TransactionStatus::Incomplete {
            return Ok(Reply::redirect(format!(
                "form?{}",
                flow_query(&updated.id, &callback)
            )));
        }
        tracing::info!(
            transaction_id = %updated.id,
            status = %updated.status,
            "the interactive flow is complete"
        );
        self.notify(&updated, &callback).await;
        Ok(Reply::redirect(more_info_location(&updated.id, &callback)))
    }

    /// The integration changes the transaction's data, never what identifies it; a status it
    /// sets is stamped with the time.
    fn keep_identity(&self, updated: &mut Transaction, read: &Transaction) {
        updated.id.clone_from(&read.id);
        updated.version = read.version;
        updated.protocol = read.protocol;
        updated.kind = read.kind;
        updated.user = read.user;
        updated.asset = read.asset.clone();
        updated.started_at = read.started_at;
        if updated.status != read.status {
            updated.updated_at = self.now();
        }
    }

    /// The end of the flow: a deposit gets its instructions, a withdrawal the account and memo
    /// to pay with; both wait for the user's transfer.
    async fn finalize(
        &self,
        transaction: &mut Transaction,
        asset: &AssetConfig,
        lang: Lang,
    ) -> Result<(), FlowError> {
        if transaction.kind.is_deposit() {
            let context = FlowContext {
                transaction,
                asset,
                lang,
            };
            let instructions = self.integration.instructions(context).await?;
            transaction.instructions = Some(
                serde_json::to_value(&instructions)
                    .map_err(|e| FlowError::Internal(format!("instructions: {e}")))?,
            );
        } else {
            let account = asset.distribution_account().ok_or_else(|| {
                FlowError::Internal(format!(
                    "asset {} has no distribution account",
                    asset.asset.code()
                ))
            })?;
            transaction.receiving_account = Some(account);
            transaction.receiving_memo_type = Some("hash".into());
            transaction.receiving_memo = Some(withdraw_memo(&transaction.id));
        }
        transaction.status = TransactionStatus::PendingUserTransferStart;
        transaction.updated_at = self.now();
        Ok(())
    }

    /// Posts the signed transaction to the wallet's URL callbacks (the flow's `callback` and the
    /// transaction's `on_change_callback`, once each). Failures are logged.
    async fn notify(&self, transaction: &Transaction, callback: &FlowCallback) {
        let mut urls: Vec<url::Url> = Vec::new();
        if let Some(CallbackTarget::Url(url)) = &callback.target {
            urls.push(url.clone());
        }
        if let Some(url) = transaction
            .callback_url
            .as_deref()
            .and_then(parse_callback_url)
        {
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
        if urls.is_empty() {
            return;
        }
        let Some(signer) = &self.config.signing_key else {
            tracing::warn!(transaction_id = %transaction.id, "wallet callback skipped: callbacks are disabled (no SIGNING_SEED)");
            return;
        };
        let body = match serde_json::to_string(&TransactionEnvelope(TransactionView::new(
            transaction,
            &self.config.anchor.public_url,
        ))) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(%error, "serializing a callback");
                return;
            }
        };
        for url in urls {
            let host = url.host_str().unwrap_or_default().to_owned();
            let signed = sign_callback(signer, url, body.clone(), self.clock.now());
            match self.callbacks.send(&signed).await {
                Ok(()) => {
                    tracing::info!(transaction_id = %transaction.id, %host, "wallet callback sent")
                }
                Err(error) => {
                    tracing::warn!(transaction_id = %transaction.id, %host, %error, "wallet callback failed")
                }
            }
        }
    }

    /// `GET /sep24/interactive/fee`: `{"fee", "amount_out"}` of an amount.
    pub async fn fee(&self, params: &Params, cookie: Option<&str>) -> Reply {
        let lang = Lang::from_tag(params.get("lang"));
        match self.session_transaction(params, cookie).await {
            Err(e) => e.json(lang),
            Ok((_, transaction)) => {
                let lang = lang_of(&transaction);
                self.try_fee(params, &transaction)
                    .await
                    .unwrap_or_else(|e| e.json(lang))
            }
        }
    }

    async fn try_fee(
        &self,
        params: &Params,
        transaction: &Transaction,
    ) -> Result<Reply, FlowError> {
        let asset = self.asset_of(transaction)?;
        let m = messages(lang_of(transaction));
        let limits = operation_of(transaction).limits(asset);
        let amount = parse_amount(
            params.get("amount").unwrap_or_default(),
            asset.significant_decimals,
            limits,
        )
        .map_err(|problem| FlowError::BadRequest(problem.message(m)))?;
        match self.fee_for(transaction, asset, amount, m).await {
            Ok((fee, out)) => Ok(Reply::Json {
                status: StatusCode::OK,
                body: serde_json::json!({"fee": fee.to_string(), "amount_out": out.to_string()}),
            }),
            Err(AmountRefusal::Field(message)) => Err(FlowError::BadRequest(message)),
            Err(AmountRefusal::Flow(error)) => Err(error),
        }
    }

    /// `GET /sep24/interactive/return`: back from the integration's external flow.
    pub async fn return_from_external(&self, params: &Params, cookie: Option<&str>) -> Reply {
        let lang = Lang::from_tag(params.get("lang"));
        match self.session_transaction(params, cookie).await {
            Err(e) => e.page(lang),
            Ok((_, transaction)) => {
                let lang = lang_of(&transaction);
                self.try_return(params, transaction)
                    .await
                    .unwrap_or_else(|e| e.page(lang))
            }
        }
    }

    async fn try_return(
        &self,
        params: &Params,
        transaction: Transaction,
    ) -> Result<Reply, FlowError> {
        let callback = FlowCallback::of(params)?;
        let form = format!("form?{}", flow_query(&transaction.id, &callback));
        if transaction.status != TransactionStatus::Incomplete {
            return Ok(Reply::redirect(more_info_location(
                &transaction.id,
                &callback,
            )));
        }
        let query: BTreeMap<String, String> = params
            .names()
            .filter_map(|name| Some((name.to_owned(), params.get(name)?.to_owned())))
            .collect();
        let mut updated = transaction.clone();
        self.after_external(&mut updated, &query).await?;
        self.keep_identity(&mut updated, &transaction);
        if updated == transaction {
            return Ok(Reply::redirect(form));
        }
        match self
            .store
            .update(&mut updated, TransactionStatus::Incomplete)
            .await
        {
            Ok(()) if updated.status != TransactionStatus::Incomplete => {
                self.notify(&updated, &callback).await;
                Ok(Reply::redirect(more_info_location(&updated.id, &callback)))
            }
            // The form page shows whatever state won.
            Ok(()) | Err(StoreError::Conflict) => Ok(Reply::redirect(form)),
            Err(other) => Err(other.into()),
        }
    }

    /// `GET /sep24/more-info`: the public page of a transaction.
    pub async fn more_info(&self, params: &Params) -> Reply {
        let lang = Lang::from_tag(params.get("lang"));
        self.try_more_info(params)
            .await
            .unwrap_or_else(|e| e.page(lang))
    }

    async fn try_more_info(&self, params: &Params) -> Result<Reply, FlowError> {
        let id = params.get("id").ok_or(FlowError::NotFound)?;
        let transaction = self
            .sep24_transaction(id)
            .await?
            .ok_or(FlowError::NotFound)?;
        let lang = match params.get("lang") {
            Some(tag) => Lang::from_tag(Some(tag)),
            None => lang_of(&transaction),
        };
        let content = match self.asset_of(&transaction) {
            Ok(asset) => self.content(
                Page::MoreInfo,
                None,
                FlowContext {
                    transaction: &transaction,
                    asset,
                    lang,
                },
            ),
            Err(_) => PageContent::default(),
        };
        let post_message = match params.get("callback").map(CallbackTarget::parse) {
            Some(Ok(CallbackTarget::PostMessage)) => {
                let envelope = TransactionEnvelope(TransactionView::new(
                    &transaction,
                    &self.config.anchor.public_url,
                ));
                let value = serde_json::to_value(&envelope)
                    .map_err(|e| FlowError::Internal(format!("serializing: {e}")))?;
                Some(pages::script_json(&value))
            }
            _ => None,
        };
        Ok(pages::more_info(lang, &transaction, content, post_message))
    }
}

/// The confirmation step: no fields, one button.
fn confirm_form() -> Form {
    Form {
        step: CONFIRM_STEP.into(),
        fields: Vec::new(),
    }
}
