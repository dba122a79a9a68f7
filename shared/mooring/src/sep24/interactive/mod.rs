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
//!   withdrawal with the anchor's account and a memo derived from its id) and the user lands on
//!   more-info. The flow's `callback` URL is stored with that write
//!   (`Transaction::flow_callback_url`): the callback sender posts it, as every status callback
//!   ([`crate::status_callbacks`]), so the wallet hears once even if this function dies.
//! - `GET /sep24/interactive/fee?transaction_id&amount`: the live fee (JSON).
//! - `GET /sep24/interactive/return?transaction_id`: back from an integration's external flow.
//! - `GET /sep24/more-info?id[&lang][&callback]`: status and details; `callback=postMessage`
//!   posts the transaction to the wallet's window.
//!
//! [`Interactive`] is the service (here: its wiring and the steps every page shares); one file per
//! page: `link.rs` (the link and the session), `forms.rs` (the forms, the external flow's return
//! and the end of the flow), `more_info.rs`, `fee.rs`. [`routes`] is its HTTP glue, [`pages`]
//! the templates, [`messages`] the one catalogue of texts, [`validate`] the field checks,
//! and `config.rs` / `error.rs` its settings and errors.

mod config;
mod error;
mod fee;
mod forms;
mod link;
pub mod messages;
mod more_info;
pub mod pages;
pub mod routes;
pub mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use config::InteractiveConfig;
pub use error::FlowError;
pub use forms::CONFIRM_STEP;
pub use pages::Reply;

use super::token::{InteractiveKeys, Session};
use crate::clock::Clock;
use crate::config::AssetConfig;
use crate::http::body::Params;
use crate::i18n::Lang;
use crate::integrations::{
    DepositIntegration, FeeIntegration, FieldKind, FlowContext, Form, IntegrationError, Operation,
    Page, PageContent, WithdrawalIntegration,
};
use crate::model::{Protocol, Transaction};
use crate::store::{ChallengeStore, TransactionStore};
use crate::time::Timestamp;
use crate::transfer::callback::parse_callback_url;

/// Transaction ids longer than this are not looked up.
const MAX_ID_LEN: usize = crate::limits::MAX_ID_BYTES;

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

/// The interactive flow over the anchor's integration `I` and a store `S` of transactions and
/// used links. Built once per cold start.
pub struct Interactive<I, S> {
    integration: I,
    store: Arc<S>,
    config: InteractiveConfig,
    keys: InteractiveKeys,
    clock: Arc<dyn Clock>,
}

impl<I, S> Interactive<I, S>
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + ChallengeStore,
{
    pub fn new(
        integration: I,
        store: Arc<S>,
        config: InteractiveConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            keys: InteractiveKeys::new(&config.jwt_secret),
            integration,
            store,
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

    /// The integration's next form. A transaction bound to a SEP-38 quote keeps the quoted
    /// amounts: an amount field is taken out of the form (a form left empty is no form).
    async fn next_form(&self, context: FlowContext<'_>) -> Result<Option<Form>, FlowError> {
        let quoted = context.transaction.quote_id.is_some();
        let form = self.integration.form_for_transaction(context).await?;
        Ok(match form {
            Some(mut form) if quoted => {
                form.fields.retain(|field| field.kind != FieldKind::Amount);
                (!form.fields.is_empty()).then_some(form)
            }
            form => form,
        })
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
            .filter(|t| t.protocol == Protocol::Sep24)
            .inspect(|t| crate::telemetry::record_transaction_id(&t.id)))
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
}
