//! HTTP glue shared by the SEP endpoints: request bodies and parameters ([`body`],
//! [`multipart`]), JSON and text responses, CORS, and the single place where [`ApiError`]
//! becomes a response.
//!
//! Works on the `http` crate's types, so it serves Lambda, the local gateway and tests alike.

pub mod body;
pub mod multipart;

use http::header::{HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE};
use http::{Response, StatusCode};
use serde::Serialize;

use crate::error::ApiError;

pub type HttpResponse = Response<String>;

/// A JSON response with CORS.
pub fn json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    match serde_json::to_string(body) {
        Ok(body) => respond(status, "application/json", body),
        Err(e) => error_response(&ApiError::Internal(format!("serializing a response: {e}"))),
    }
}

/// A response of any text type with CORS.
pub fn respond(status: StatusCode, content_type: &'static str, body: String) -> HttpResponse {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// The answer to a browser's CORS preflight (`OPTIONS`), for every endpoint.
pub fn preflight() -> HttpResponse {
    let mut response = respond(StatusCode::NO_CONTENT, "text/plain", String::new());
    let headers = response.headers_mut();
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    );
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("Authorization, Content-Type"),
    );
    headers.insert("access-control-max-age", HeaderValue::from_static("86400"));
    response
}

/// Renders an error: `{"error": "..."}` (or SEP-6/24's `{"type": "authentication_required"}`).
/// Internal causes are logged here and never returned.
pub fn error_response(error: &ApiError) -> HttpResponse {
    match error {
        ApiError::Internal(cause) => tracing::error!(%cause, "internal error"),
        ApiError::Unavailable { cause, .. } => tracing::warn!(%cause, "dependency unavailable"),
        _ => tracing::info!(status = error.status().as_u16(), error = %error, "request refused"),
    }
    let body = match error {
        ApiError::AuthenticationRequired => serde_json::json!({"type": "authentication_required"}),
        other => serde_json::json!({"error": other.to_string()}),
    };
    json(error.status(), &body)
}

/// Turns a handler's result into a response.
pub fn render(result: Result<HttpResponse, ApiError>) -> HttpResponse {
    result.unwrap_or_else(|e| error_response(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_as_json_with_cors() {
        let response = error_response(&ApiError::bad_request("bad memo"));
        assert_eq!(response.status(), 400);
        assert_eq!(response.body(), r#"{"error":"bad memo"}"#);
        assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let auth = error_response(&ApiError::AuthenticationRequired);
        assert_eq!(auth.body(), r#"{"type":"authentication_required"}"#);
        let internal = error_response(&ApiError::Internal("db password wrong".into()));
        assert_eq!(internal.status(), 500);
        assert!(!internal.body().contains("password"));
        assert_eq!(preflight().status(), 204);
    }
}
