//! Why a request of the flow is refused or failed, and the one place that turns it into a page.

use http::StatusCode;

use super::messages::{messages, Messages};
use super::pages::{self, Reply};
use crate::i18n::Lang;
use crate::integrations::IntegrationError;
use crate::sep24::token::TokenError;
use crate::store::StoreError;

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
