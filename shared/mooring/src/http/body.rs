//! Request bodies and parameters, below every SEP that reads them: query strings, JSON and
//! form-encoded bodies ([`body_params`]), and the size limits of bodies and fields.
//! `multipart/form-data` bodies are read by [`super::multipart`].

use http::header::CONTENT_TYPE;
use http::HeaderMap;

use crate::error::ApiError;
use crate::limits;

/// The size limits of bodies and fields (defined in [`crate::limits`]).
pub use crate::limits::{MAX_FILE_BYTES, MAX_FORM_BYTES, MAX_MULTIPART_BYTES, MAX_TEXT_BYTES};

/// Request parameters (query string or body fields), each name at most once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    fn insert(&mut self, name: String, value: String) -> Result<(), ApiError> {
        limits::check_param(&name, &value)?;
        limits::check_param_count(self.0.len() + 1)?;
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

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use http::header::HeaderValue;

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
}
