//! HTTP glue for the SEP-6 API, under `TRANSFER_SERVER` (`<public url>/sep6`): `GET /info`,
//! `GET /deposit`, `GET /withdraw`, `GET /deposit-exchange`, `GET /withdraw-exchange`,
//! `GET /fee`, `GET /transactions`, `GET /transaction`, `PATCH /transactions/:id`, and
//! `OPTIONS` on each. CORS on every answer, errors included; every endpoint but `/info` needs a
//! SEP-10 token (else 403 `{"type": "authentication_required"}`). Parameters are query-string
//! parameters, each at most once except `kind` of `/transactions`, a list.

use std::collections::BTreeMap;

use http::{Method, Request, StatusCode};
use serde::Serialize;
use serde_json::json;

use super::request::{Direction, Sep6Response};
use super::service::Transfer;
use super::view::{Envelope, TransactionView};
use crate::error::ApiError;
use crate::http::body::MAX_FORM_BYTES;
use crate::http::{json, preflight, render, HttpResponse};
use crate::integrations::{CustomerIntegration, FeeIntegration, ProgrammaticIntegration};
use crate::store::{QuoteStore, TransactionStore};
use crate::transfer::limits::number;
use crate::transfer::truncate;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Info,
    Fee,
    Request(Direction),
    Transaction,
    Transactions,
    Patch(String),
}

impl Endpoint {
    /// The endpoint of a path, with or without the `/sep6` prefix (API Gateway passes the
    /// whole path; `cargo lambda watch` strips the function name).
    fn of(path: &str) -> Option<Self> {
        let path = match path.strip_prefix("/sep6") {
            Some(rest) if rest.starts_with('/') => rest,
            _ => path,
        };
        let path = path.trim_end_matches('/');
        Some(match path {
            "/info" => Endpoint::Info,
            "/fee" => Endpoint::Fee,
            "/deposit" => Endpoint::Request(Direction::Deposit),
            "/withdraw" => Endpoint::Request(Direction::Withdraw),
            "/deposit-exchange" => Endpoint::Request(Direction::DepositExchange),
            "/withdraw-exchange" => Endpoint::Request(Direction::WithdrawExchange),
            "/transaction" => Endpoint::Transaction,
            "/transactions" => Endpoint::Transactions,
            _ => {
                let id = path.strip_prefix("/transactions/")?;
                if id.is_empty() || id.contains('/') {
                    return None;
                }
                Endpoint::Patch(id.to_owned())
            }
        })
    }

    fn method(&self) -> Method {
        match self {
            Endpoint::Patch(_) => Method::PATCH,
            _ => Method::GET,
        }
    }
}

/// `{"transactions": [...]}`.
#[derive(Serialize)]
struct TransactionList<'a> {
    transactions: Vec<TransactionView<'a>>,
}

pub async fn handle<I, S, B>(transfer: &Transfer<I, S>, request: &Request<B>) -> HttpResponse
where
    I: ProgrammaticIntegration + FeeIntegration + CustomerIntegration,
    S: TransactionStore + QuoteStore,
    B: AsRef<[u8]>,
{
    render(route(transfer, request).await)
}

async fn route<I, S, B>(
    transfer: &Transfer<I, S>,
    request: &Request<B>,
) -> Result<HttpResponse, ApiError>
where
    I: ProgrammaticIntegration + FeeIntegration + CustomerIntegration,
    S: TransactionStore + QuoteStore,
    B: AsRef<[u8]>,
{
    let endpoint = Endpoint::of(request.uri().path())
        .ok_or_else(|| ApiError::NotFound("no such SEP-6 endpoint".into()))?;
    let method = request.method();
    if *method == Method::OPTIONS {
        return Ok(preflight());
    }
    if *method != endpoint.method() {
        return Err(ApiError::MethodNotAllowed);
    }
    if endpoint == Endpoint::Info {
        return Ok(json(StatusCode::OK, &transfer.info()));
    }
    let caller = transfer.authenticate(request.headers())?;
    let params = query(request.uri().query().unwrap_or_default())?;
    match endpoint {
        Endpoint::Info => Ok(json(StatusCode::OK, &transfer.info())),
        Endpoint::Fee => {
            let fee = transfer.fee(&caller, &params).await?;
            Ok(json(StatusCode::OK, &json!({ "fee": number(fee) })))
        }
        Endpoint::Request(direction) => {
            Ok(match transfer.request(&caller, direction, &params).await? {
                Sep6Response::Deposit(answer) => json(StatusCode::OK, &answer),
                Sep6Response::Withdraw(answer) => json(StatusCode::OK, &answer),
                Sep6Response::CustomerInfoNeeded { fields } => json(
                    StatusCode::FORBIDDEN,
                    &json!({ "type": "non_interactive_customer_info_needed", "fields": fields }),
                ),
                Sep6Response::CustomerInfoStatus {
                    status,
                    more_info_url,
                    eta,
                } => {
                    let mut body =
                        json!({ "type": "customer_info_status", "status": status.as_str() });
                    if let Some(url) = more_info_url {
                        body["more_info_url"] = json!(url);
                    }
                    if let Some(eta) = eta {
                        body["eta"] = json!(eta);
                    }
                    json(StatusCode::FORBIDDEN, &body)
                }
            })
        }
        Endpoint::Transaction => {
            let transaction = transfer.transaction(&caller, &params).await?;
            Ok(json(
                StatusCode::OK,
                &Envelope(TransactionView::new(&transaction)),
            ))
        }
        Endpoint::Transactions => {
            let transactions = transfer.transactions(&caller, &params).await?;
            let list = TransactionList {
                transactions: transactions.iter().map(TransactionView::new).collect(),
            };
            Ok(json(StatusCode::OK, &list))
        }
        Endpoint::Patch(id) => {
            let body = request.body().as_ref();
            if body.len() > MAX_FORM_BYTES {
                return Err(ApiError::PayloadTooLarge(MAX_FORM_BYTES));
            }
            let transaction = transfer.patch(&caller, &id, body).await?;
            Ok(json(
                StatusCode::OK,
                &Envelope(TransactionView::new(&transaction)),
            ))
        }
    }
}

/// The query string's parameters: each name once, except `kind`, whose values (repeated, or
/// comma-separated) are joined with commas. Empty values count as absent.
fn query(raw: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        if value.is_empty() {
            continue;
        }
        crate::limits::check_param(&name, &value)?;
        match params.get_mut(name.as_ref()) {
            Some(kinds) if name == "kind" => {
                kinds.push(',');
                kinds.push_str(&value);
                crate::limits::check_param(&name, kinds)?;
            }
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "parameter '{}' was given more than once",
                    truncate(&name)
                )))
            }
            None => {
                params.insert(name.into_owned(), value.into_owned());
                crate::limits::check_param_count(params.len())?;
            }
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_to_endpoints() {
        assert_eq!(Endpoint::of("/sep6/info"), Some(Endpoint::Info));
        assert_eq!(Endpoint::of("/info/"), Some(Endpoint::Info));
        assert_eq!(
            Endpoint::of("/sep6/deposit-exchange"),
            Some(Endpoint::Request(Direction::DepositExchange))
        );
        assert_eq!(
            Endpoint::of("/sep6/transactions/abc"),
            Some(Endpoint::Patch("abc".into()))
        );
        assert_eq!(
            Endpoint::of("/sep6/transactions"),
            Some(Endpoint::Transactions)
        );
        for none in [
            "/sep6",
            "/sep6/transactions/a/b",
            "/sep6x/info",
            "/",
            "/sep6/deposit/x",
        ] {
            assert_eq!(Endpoint::of(none), None, "{none}");
        }
        assert_eq!(Endpoint::Patch("x".into()).method(), Method::PATCH);
    }

    #[test]
    fn kind_is_a_list_and_other_names_come_once() {
        let params = query("asset_code=USDC&kind=deposit&kind=withdrawal-exchange&memo=").unwrap();
        assert_eq!(params["kind"], "deposit,withdrawal-exchange");
        assert!(!params.contains_key("memo"));
        assert!(query("asset_code=A&asset_code=B").is_err());
    }
}
