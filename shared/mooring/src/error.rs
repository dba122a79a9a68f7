//! The one error type the HTTP layer renders. Domain errors convert into it; the status code and
//! body for every error are decided in [`ApiError::status`] and [`crate::http::error_response`].

use http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed or invalid input: 400 with the message.
    #[error("{0}")]
    BadRequest(String),
    /// SEP-12 style missing/invalid authentication: 401.
    #[error("{0}")]
    Unauthorized(String),
    /// SEP-6/24 authentication required: 403 `{"type": "authentication_required"}`.
    #[error("authentication required")]
    AuthenticationRequired,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error(
        "unsupported content type; send application/json or application/x-www-form-urlencoded"
    )]
    UnsupportedMediaType,
    /// A dependency (Horizon, a wallet's domain) failed: 502/503. The cause is logged, not returned.
    #[error("{public}")]
    Unavailable { public: String, cause: String },
    /// A bug or misconfiguration: 500 with a generic message. The cause is logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::AuthenticationRequired | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
