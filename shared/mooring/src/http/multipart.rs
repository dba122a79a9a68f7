//! `multipart/form-data` bodies (SEP-12 `PUT /customer` with binary SEP-9 fields, `POST
//! /customer/files`; SEP-24's interactive POSTs), with limits.
//!
//! Parsing uses `multer` (maintained by the Rocket project, used by axum; `#![forbid(unsafe_code)]`;
//! every crate it needs was already in our dependency tree): a hand-written parser would have to
//! get boundaries, headers, quoting and limits right on untrusted input, for no saving. The body
//! is already in memory (API Gateway hands Lambda the whole payload), so it is fed to multer as
//! one chunk; multer enforces the per-part and whole-body size limits (413).

use std::collections::BTreeMap;

use crate::error::ApiError;

/// A binary part: a file for a SEP-9 binary field (or `file` for `POST /customer/files`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub field: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A parsed body: text parameters (empty values dropped, as elsewhere) and binary parts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form {
    pub params: BTreeMap<String, String>,
    pub uploads: Vec<Upload>,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes per part (a file).
    pub max_part: usize,
    /// Bytes of the whole body.
    pub max_body: usize,
    pub max_parts: usize,
}

/// Whether a `Content-Type` value is `multipart/form-data`.
pub fn is_multipart(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// Parses a multipart body. Parts whose name satisfies `is_file` are uploads; the others are
/// text parameters and must be UTF-8. A name given twice is refused.
pub async fn parse(
    content_type: &str,
    body: &[u8],
    limits: Limits,
    is_file: impl Fn(&str) -> bool,
) -> Result<Form, ApiError> {
    if body.len() > limits.max_body {
        return Err(ApiError::PayloadTooLarge(limits.max_body));
    }
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ApiError::bad_request("multipart/form-data without a valid boundary"))?;
    let chunk: Result<Vec<u8>, std::convert::Infallible> = Ok(body.to_vec());
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limits.max_body as u64)
            .per_field(limits.max_part as u64),
    );
    let mut multipart = multer::Multipart::with_constraints(
        futures_util::stream::iter([chunk]),
        boundary,
        constraints,
    );
    let mut form = Form::default();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(field) = multipart.next_field().await.map_err(refusal)? {
        if seen.len() == limits.max_parts {
            return Err(ApiError::bad_request(format!(
                "a multipart body may have at most {} parts",
                limits.max_parts
            )));
        }
        let name = field
            .name()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::bad_request("a multipart part has no name"))?
            .to_owned();
        crate::limits::check_param(&name, "")?;
        if !seen.insert(name.clone()) {
            return Err(ApiError::bad_request(format!(
                "parameter '{}' was given more than once",
                truncate(&name)
            )));
        }
        let content_type = field.content_type().map(|m| m.essence_str().to_owned());
        let bytes = field.bytes().await.map_err(refusal)?;
        if is_file(&name) {
            form.uploads.push(Upload {
                field: name,
                content_type: content_type.unwrap_or_else(|| "application/octet-stream".into()),
                bytes: bytes.to_vec(),
            });
        } else {
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                ApiError::bad_request(format!("'{}' must be UTF-8 text", truncate(&name)))
            })?;
            // A text part is a parameter like any other, with the same bounds.
            crate::limits::check_param(&name, &text)?;
            if !text.is_empty() {
                form.params.insert(name, text);
            }
        }
    }
    Ok(form)
}

fn refusal(error: multer::Error) -> ApiError {
    match error {
        multer::Error::FieldSizeExceeded { limit, .. }
        | multer::Error::StreamSizeExceeded { limit } => {
            ApiError::PayloadTooLarge(usize::try_from(limit).unwrap_or(usize::MAX))
        }
        other => ApiError::bad_request(format!(
            "malformed multipart/form-data body: {}",
            truncate(&other.to_string())
        )),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_part: 10,
        max_body: 1000,
        max_parts: 4,
    };

    fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, file, content) in parts {
            out.extend_from_slice(b"--XyZ\r\n");
            match file {
                Some(file) => out.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: image/png\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => out.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            out.extend_from_slice(content);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--XyZ--\r\n");
        out
    }

    const CT: &str = "multipart/form-data; boundary=XyZ";

    async fn run(body: &[u8]) -> Result<Form, ApiError> {
        parse(CT, body, LIMITS, |n| n == "photo").await
    }

    #[tokio::test]
    async fn splits_text_and_files() {
        let form = run(&body(&[
            ("first_name", None, "Zoë".as_bytes()),
            ("empty", None, b""),
            ("photo", Some("a.png"), &[0, 159, 146, 150]),
        ]))
        .await
        .unwrap();
        assert_eq!(
            form.params.get("first_name").map(String::as_str),
            Some("Zoë")
        );
        assert!(!form.params.contains_key("empty"));
        assert_eq!(
            form.uploads,
            [Upload {
                field: "photo".into(),
                content_type: "image/png".into(),
                bytes: vec![0, 159, 146, 150]
            }]
        );
        assert!(is_multipart("Multipart/Form-Data; boundary=x"));
        assert!(!is_multipart("application/json"));
    }

    #[tokio::test]
    async fn enforces_limits() {
        let big = run(&body(&[("photo", Some("a.png"), &[1; 11])])).await;
        assert_eq!(big.unwrap_err().status(), 413);
        let whole = parse(CT, &[b'-'; 1001], LIMITS, |_| false).await;
        assert_eq!(whole.unwrap_err().status(), 413);
        let many: Vec<(String, Option<&str>, &[u8])> =
            (0..5).map(|i| (format!("f{i}"), None, &b"x"[..])).collect();
        let many: Vec<(&str, Option<&str>, &[u8])> =
            many.iter().map(|(n, f, c)| (n.as_str(), *f, *c)).collect();
        assert_eq!(run(&body(&many)).await.unwrap_err().status(), 400);
    }

    #[tokio::test]
    async fn refuses_malformed_bodies() {
        let twice = run(&body(&[("a", None, b"1"), ("a", None, b"2")])).await;
        assert!(twice.unwrap_err().to_string().contains("more than once"));
        let not_utf8 = run(&body(&[("first_name", None, &[0xff, 0xfe])])).await;
        assert!(not_utf8.unwrap_err().to_string().contains("UTF-8"));
        let no_boundary = parse("multipart/form-data", b"x", LIMITS, |_| false).await;
        assert_eq!(no_boundary.unwrap_err().status(), 400);
        let garbage = run(b"this is not multipart").await;
        assert_eq!(garbage.unwrap_err().status(), 400);
        let unterminated =
            run(b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc").await;
        assert_eq!(unterminated.unwrap_err().status(), 400);
    }
}
