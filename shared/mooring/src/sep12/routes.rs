//! HTTP glue for SEP-12, under `KYC_SERVER` (`<public url>/kyc`): `GET`/`PUT /customer`,
//! `PUT /customer/verification`, `PUT /customer/callback`, `DELETE /customer/{account}`,
//! `POST`/`GET /customer/files`, and `OPTIONS` on each. CORS on every answer.
//!
//! Parameters come from the query string and the body (JSON, form-encoded or multipart); a name
//! in both is refused.

use http::header::CONTENT_TYPE;
use http::{Method, Request, StatusCode};

use super::Kyc;
use crate::error::ApiError;
use crate::http::body::{
    add_query_params, body_params, query_params, MAX_FILE_BYTES, MAX_FORM_BYTES,
    MAX_MULTIPART_BYTES,
};
use crate::http::multipart::{self, Form, Limits};
use crate::http::{json, preflight, render, HttpResponse};
use crate::integrations::{CustomerIntegration, ProgrammaticIntegration};
use crate::queue::Queue;
use crate::sep9;
use crate::store::files::FileStore;
use crate::store::TransactionStore;

/// The multipart part of `POST /customer/files`.
const FILE_PART: &str = "file";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint<'a> {
    Customer,
    Verification,
    Callback,
    Files,
    /// `/customer/{account}`
    Account(&'a str),
}

impl<'a> Endpoint<'a> {
    /// The endpoint of a path, with or without the `/kyc` prefix (API Gateway passes the whole
    /// path; `cargo lambda watch` strips the function name).
    fn of(path: &'a str) -> Option<Self> {
        let path = match path.strip_prefix("/kyc") {
            Some(rest) if rest.starts_with('/') => rest,
            _ => path,
        };
        match path.trim_end_matches('/') {
            "/customer" => Some(Endpoint::Customer),
            "/customer/verification" => Some(Endpoint::Verification),
            "/customer/callback" => Some(Endpoint::Callback),
            "/customer/files" => Some(Endpoint::Files),
            other => other
                .strip_prefix("/customer/")
                .filter(|account| !account.is_empty() && !account.contains('/'))
                .map(Endpoint::Account),
        }
    }

    fn allows(self, method: &Method) -> bool {
        match self {
            Endpoint::Customer => matches!(*method, Method::GET | Method::PUT),
            Endpoint::Verification | Endpoint::Callback => *method == Method::PUT,
            Endpoint::Files => matches!(*method, Method::GET | Method::POST),
            Endpoint::Account(_) => *method == Method::DELETE,
        }
    }
}

pub async fn handle<I, T, F, Q, B>(kyc: &Kyc<I, T, F, Q>, request: &Request<B>) -> HttpResponse
where
    I: CustomerIntegration + ProgrammaticIntegration,
    T: TransactionStore,
    F: FileStore,
    Q: Queue,
    B: AsRef<[u8]>,
{
    render(route(kyc, request).await)
}

async fn route<I, T, F, Q, B>(
    kyc: &Kyc<I, T, F, Q>,
    request: &Request<B>,
) -> Result<HttpResponse, ApiError>
where
    I: CustomerIntegration + ProgrammaticIntegration,
    T: TransactionStore,
    F: FileStore,
    Q: Queue,
    B: AsRef<[u8]>,
{
    let endpoint = Endpoint::of(request.uri().path())
        .ok_or_else(|| ApiError::NotFound("no such SEP-12 endpoint".into()))?;
    let method = request.method();
    if *method == Method::OPTIONS {
        return Ok(preflight());
    }
    if !endpoint.allows(method) {
        return Err(ApiError::MethodNotAllowed);
    }
    let auth = kyc.authenticator().authenticate(request.headers())?;
    match endpoint {
        Endpoint::Customer if *method == Method::GET => {
            let params = query_params(request.uri())?.into_map();
            Ok(json(StatusCode::OK, &kyc.get(&auth, &params).await?))
        }
        Endpoint::Customer => {
            let form = read(request, sep9::is_binary).await?;
            let id = kyc.put(&auth, &form.params, form.uploads).await?;
            Ok(json(StatusCode::ACCEPTED, &serde_json::json!({ "id": id })))
        }
        Endpoint::Verification => {
            let form = read(request, |_| false).await?;
            Ok(json(
                StatusCode::OK,
                &kyc.verify(&auth, &form.params).await?,
            ))
        }
        Endpoint::Callback => {
            let form = read(request, |_| false).await?;
            kyc.callback(&auth, &form.params).await?;
            Ok(json(StatusCode::OK, &serde_json::json!({})))
        }
        Endpoint::Files if *method == Method::GET => {
            let params = query_params(request.uri())?.into_map();
            let files = kyc.files(&auth, &params).await?;
            Ok(json(StatusCode::OK, &serde_json::json!({ "files": files })))
        }
        Endpoint::Files => {
            if !content_type(request).is_some_and(multipart::is_multipart) {
                return Err(ApiError::bad_request(
                    "send the file as multipart/form-data in a part named 'file'",
                ));
            }
            let mut form = read(request, |name| name == FILE_PART).await?;
            if let Some(name) = form.params.keys().next() {
                return Err(ApiError::bad_request(format!(
                    "unexpected part '{}': send only 'file'",
                    name.chars().take(64).collect::<String>()
                )));
            }
            let upload = form
                .uploads
                .pop()
                .ok_or_else(|| ApiError::bad_request("a part named 'file' is required"))?;
            let file = kyc.upload(&auth, &upload).await?;
            Ok(json(StatusCode::OK, &file))
        }
        Endpoint::Account(account) => {
            let form = read(request, |_| false).await?;
            kyc.delete(&auth, account, &form.params).await?;
            Ok(json(StatusCode::OK, &serde_json::json!({})))
        }
    }
}

fn content_type<B>(request: &Request<B>) -> Option<&str> {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// Query string and body parameters (a name in both is refused), and the body's files.
async fn read<B: AsRef<[u8]>>(
    request: &Request<B>,
    is_file: impl Fn(&str) -> bool,
) -> Result<Form, ApiError> {
    let body = request.body().as_ref();
    let mut form = match content_type(request) {
        Some(ct) if multipart::is_multipart(ct) => {
            let limits = Limits {
                max_part: MAX_FILE_BYTES,
                max_body: MAX_MULTIPART_BYTES,
                max_parts: crate::limits::MAX_MULTIPART_PARTS,
            };
            multipart::parse(ct, body, limits, is_file).await?
        }
        _ if body.is_empty() => Form::default(),
        _ => Form {
            params: body_params(request.headers(), body, MAX_FORM_BYTES)?.into_map(),
            uploads: Vec::new(),
        },
    };
    let uploads = &form.uploads;
    add_query_params(&mut form.params, request.uri(), |name| {
        uploads.iter().any(|u| u.field == name)
    })?;
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_to_endpoints() {
        assert_eq!(Endpoint::of("/kyc/customer"), Some(Endpoint::Customer));
        assert_eq!(Endpoint::of("/customer/"), Some(Endpoint::Customer));
        assert_eq!(
            Endpoint::of("/kyc/customer/verification"),
            Some(Endpoint::Verification)
        );
        assert_eq!(
            Endpoint::of("/kyc/customer/callback"),
            Some(Endpoint::Callback)
        );
        assert_eq!(Endpoint::of("/kyc/customer/files"), Some(Endpoint::Files));
        assert_eq!(
            Endpoint::of("/kyc/customer/GABC"),
            Some(Endpoint::Account("GABC"))
        );
        for none in [
            "/kyc",
            "/kyc/customers",
            "/kyc/customer/a/b",
            "/kycx/customer",
            "/",
        ] {
            assert_eq!(Endpoint::of(none), None, "{none}");
        }
        assert!(Endpoint::Account("G").allows(&Method::DELETE));
        assert!(!Endpoint::Customer.allows(&Method::DELETE));
    }
}
