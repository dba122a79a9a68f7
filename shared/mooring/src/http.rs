//! HTTP glue shared by the SEP endpoints: parameters from query strings and bodies, JSON and
//! text responses, CORS, and the single place where [`ApiError`] becomes a response.
//!
//! Works on the `http` crate's types, so it serves Lambda, the local gateway and tests alike.

use http::header::{HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE};
use http::{HeaderMap, Response, StatusCode};
use serde::Serialize;

use crate::error::ApiError;

pub type HttpResponse = Response<String>;

/// Request parameters (query string or body fields), each name at most once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    fn insert(&mut self, name: String, value: String) -> Result<(), ApiError> {
        if self.0.iter().any(|(n, _)| *n == name) {
            return Err(ApiError::bad_request(format!(
                "parameter '{}' was given more than once",
                truncate(&name)
            )));
        }
        self.0.push((name, value));
        Ok(())
    }

    /// A parameter's value; an empty value counts as absent (wallets send `memo=`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A required parameter, or a 400 naming it.
    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::bad_request(format!("'{name}' is required")))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    /// The parameters as a map; empty values count as absent.
    pub fn into_map(self) -> std::collections::BTreeMap<String, String> {
        self.0.into_iter().filter(|(_, v)| !v.is_empty()).collect()
    }

    /// Parses `a=1&b=2` (URL-encoded).
    pub fn from_urlencoded(input: &[u8]) -> Result<Self, ApiError> {
        let mut params = Params::default();
        for (name, value) in form_urlencoded::parse(input) {
            params.insert(name.into_owned(), value.into_owned())?;
        }
        Ok(params)
    }

    /// Parses a JSON object whose values are strings, numbers or booleans (null is absent).
    pub fn from_json(input: &[u8]) -> Result<Self, ApiError> {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(input)
            .map_err(|_| ApiError::bad_request("request body is not a valid JSON object"))?;
        let mut params = Params::default();
        for (name, value) in object {
            let value = match value {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "'{}' must be a string",
                        truncate(&name)
                    )))
                }
            };
            params.insert(name, value)?;
        }
        Ok(params)
    }
}

/// Query-string parameters of a request URI.
pub fn query_params(uri: &http::Uri) -> Result<Params, ApiError> {
    Params::from_urlencoded(uri.query().unwrap_or_default().as_bytes())
}

/// Adds a request's query-string parameters to its body parameters; a name given in both (or
/// for which `taken` holds, e.g. a file part) is refused.
pub fn add_query_params(
    params: &mut std::collections::BTreeMap<String, String>,
    uri: &http::Uri,
    taken: impl Fn(&str) -> bool,
) -> Result<(), ApiError> {
    for (name, value) in query_params(uri)?.into_map() {
        if params.contains_key(&name) || taken(&name) {
            return Err(ApiError::bad_request(format!(
                "parameter '{}' was given more than once",
                truncate(&name)
            )));
        }
        params.insert(name, value);
    }
    Ok(())
}

/// Body parameters of a JSON or form-encoded body, refusing bodies over `max_bytes`.
pub fn body_params(headers: &HeaderMap, body: &[u8], max_bytes: usize) -> Result<Params, ApiError> {
    if body.len() > max_bytes {
        return Err(ApiError::PayloadTooLarge(max_bytes));
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    match content_type.as_deref() {
        Some("application/json") => Params::from_json(body),
        Some("application/x-www-form-urlencoded") => Params::from_urlencoded(body),
        // Without a declared type, a JSON object is recognisable by its first byte.
        None | Some("") | Some("text/plain") => {
            match body.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') => Params::from_json(body),
                _ => Params::from_urlencoded(body),
            }
        }
        Some(_) => Err(ApiError::UnsupportedMediaType),
    }
}

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

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        h
    }

    #[test]
    fn parses_form_and_json_bodies() {
        let form = body_params(
            &headers("application/x-www-form-urlencoded"),
            b"transaction=a%2Bb%3D&x=",
            100,
        )
        .unwrap();
        assert_eq!(form.get("transaction"), Some("a+b="));
        assert_eq!(form.get("x"), None);
        let json = body_params(
            &headers("application/json; charset=utf-8"),
            br#"{"transaction":"abc","n":5,"z":null}"#,
            100,
        )
        .unwrap();
        assert_eq!(json.get("transaction"), Some("abc"));
        assert_eq!(json.get("n"), Some("5"));
        let sniffed = body_params(&HeaderMap::new(), br#" {"transaction":"abc"}"#, 100).unwrap();
        assert_eq!(sniffed.get("transaction"), Some("abc"));
    }

    #[test]
    fn rejects_bad_bodies() {
        let h = headers("application/json");
        assert_eq!(body_params(&h, b"{", 100).unwrap_err().status(), 400);
        assert_eq!(body_params(&h, b"[1]", 100).unwrap_err().status(), 400);
        assert_eq!(
            body_params(&h, br#"{"a":{"b":1}}"#, 100)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            body_params(&h, &[b' '; 101], 100).unwrap_err().status(),
            413
        );
        assert_eq!(
            body_params(&headers("image/png"), b"x", 100)
                .unwrap_err()
                .status(),
            415
        );
        let dup = Params::from_urlencoded(b"account=a&account=b").unwrap_err();
        assert_eq!(
            dup.to_string(),
            "parameter 'account' was given more than once"
        );
    }

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
