//! HTTP glue for the SEP-31 receiving API, under `DIRECT_PAYMENT_SERVER`
//! (`<public url>/sep31`): `GET /info`, `POST /transactions`, `GET`/`PATCH /transactions/:id`,
//! `PUT /transactions/:id/callback`, and `OPTIONS` on each. CORS on every answer, errors
//! included; bodies are JSON; every endpoint but `/info` needs a sending anchor's SEP-10 token
//! (else 403 `{"error": ...}`).

use http::{Method, Request, StatusCode};
use serde_json::json;

use super::request::PostResponse;
use super::service::Receive;
use super::view::{Envelope, TransactionView};
use crate::error::ApiError;
use crate::http::body::MAX_FORM_BYTES;
use crate::http::{json, preflight, render, respond, HttpResponse};
use crate::i18n::Lang;
use crate::integrations::ReceiveIntegration;
use crate::queue::Queue;
use crate::store::{QuoteStore, TransactionStore};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Info,
    Transactions,
    Transaction(String),
    Callback(String),
}

impl Endpoint {
    /// The endpoint of a path, with or without the `/sep31` prefix (API Gateway passes the
    /// whole path; `cargo lambda watch` strips the function name).
    fn of(path: &str) -> Option<Self> {
        let path = match path.strip_prefix("/sep31") {
            Some(rest) if rest.starts_with('/') => rest,
            _ => path,
        };
        let path = path.trim_end_matches('/');
        Some(match path {
            "/info" => Endpoint::Info,
            "/transactions" => Endpoint::Transactions,
            _ => {
                let rest = path.strip_prefix("/transactions/")?;
                let (id, callback) = match rest.strip_suffix("/callback") {
                    Some(id) => (id, true),
                    None => (rest, false),
                };
                if id.is_empty() || id.contains('/') {
                    return None;
                }
                if callback {
                    Endpoint::Callback(id.to_owned())
                } else {
                    Endpoint::Transaction(id.to_owned())
                }
            }
        })
    }

    fn allows(&self, method: &Method) -> bool {
        match self {
            Endpoint::Info => *method == Method::GET,
            Endpoint::Transactions => *method == Method::POST,
            Endpoint::Transaction(_) => matches!(*method, Method::GET | Method::PATCH),
            Endpoint::Callback(_) => *method == Method::PUT,
        }
    }
}

pub async fn handle<I, S, Q, B>(receive: &Receive<I, S, Q>, request: &Request<B>) -> HttpResponse
where
    I: ReceiveIntegration,
    S: TransactionStore + QuoteStore,
    Q: Queue,
    B: AsRef<[u8]>,
{
    render(route(receive, request).await)
}

async fn route<I, S, Q, B>(
    receive: &Receive<I, S, Q>,
    request: &Request<B>,
) -> Result<HttpResponse, ApiError>
where
    I: ReceiveIntegration,
    S: TransactionStore + QuoteStore,
    Q: Queue,
    B: AsRef<[u8]>,
{
    let endpoint = Endpoint::of(request.uri().path())
        .ok_or_else(|| ApiError::NotFound("no such SEP-31 endpoint".into()))?;
    let method = request.method();
    if *method == Method::OPTIONS {
        return Ok(preflight());
    }
    if !endpoint.allows(method) {
        return Err(ApiError::MethodNotAllowed);
    }
    if endpoint == Endpoint::Info {
        let lang = form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .find(|(name, _)| name == "lang")
            .map(|(_, value)| value.into_owned());
        return Ok(json(
            StatusCode::OK,
            &receive.info(Lang::from_tag(lang.as_deref())),
        ));
    }
    let caller = receive.authenticate(request.headers()).await?;
    let body = request.body().as_ref();
    if body.len() > MAX_FORM_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_FORM_BYTES));
    }
    match endpoint {
        Endpoint::Transactions => Ok(match receive.create(&caller, body).await? {
            PostResponse::Created(created) => json(StatusCode::CREATED, &created),
            PostResponse::CustomerInfoNeeded { kyc_type } => json(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "customer_info_needed", "type": kyc_type }),
            ),
            PostResponse::TransactionInfoNeeded { fields } => json(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "transaction_info_needed", "fields": { "transaction": fields } }),
            ),
        }),
        Endpoint::Transaction(id) => {
            let transaction = if *method == Method::PATCH {
                receive.patch(&caller, &id, body).await?
            } else {
                receive.transaction(&caller, &id).await?
            };
            Ok(json(
                StatusCode::OK,
                &Envelope(TransactionView::new(&transaction)),
            ))
        }
        Endpoint::Callback(id) => {
            receive.set_callback(&caller, &id, body).await?;
            Ok(respond(StatusCode::NO_CONTENT, "text/plain", String::new()))
        }
        Endpoint::Info => Err(ApiError::Internal("/info is answered above".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_to_endpoints() {
        assert_eq!(Endpoint::of("/sep31/info"), Some(Endpoint::Info));
        assert_eq!(Endpoint::of("/info/"), Some(Endpoint::Info));
        assert_eq!(
            Endpoint::of("/sep31/transactions"),
            Some(Endpoint::Transactions)
        );
        assert_eq!(
            Endpoint::of("/transactions/abc"),
            Some(Endpoint::Transaction("abc".into()))
        );
        assert_eq!(
            Endpoint::of("/sep31/transactions/abc/callback"),
            Some(Endpoint::Callback("abc".into()))
        );
        for none in [
            "/sep31",
            "/sep31/transactions/a/b",
            "/sep31/transactions//callback",
            "/sep31/transactions/a/b/callback",
            "/sep31x/info",
            "/",
            "/sep31/transaction",
        ] {
            assert_eq!(Endpoint::of(none), None, "{none}");
        }
        assert!(Endpoint::Transaction("x".into()).allows(&Method::PATCH));
        assert!(!Endpoint::Transaction("x".into()).allows(&Method::PUT));
        assert!(Endpoint::Callback("x".into()).allows(&Method::PUT));
        assert!(!Endpoint::Transactions.allows(&Method::GET));
    }
}
