//! HTTP glue for the SEP-24 transfer API, under `TRANSFER_SERVER_SEP0024` (`<public url>/sep24`):
//! `GET /info`, `GET /fee`, `POST /transactions/deposit/interactive`,
//! `POST /transactions/withdraw/interactive`, `GET /transaction`, `GET /transactions`, and
//! `OPTIONS` on each. CORS on every answer, errors included; every endpoint but `/info` needs a
//! SEP-10 token (else 403 `{"type": "authentication_required"}`).
//!
//! The POSTs take JSON, form-encoded or multipart bodies, plus query-string parameters (a name
//! in both is refused). Binary SEP-9 parts of a multipart body are dropped: this API keeps no
//! files (wallets upload them with SEP-12).

use std::collections::BTreeMap;

use http::header::CONTENT_TYPE;
use http::{Method, Request, StatusCode};
use serde::Serialize;

use super::service::Transfer;
use super::view::{Envelope, TransactionView};
use crate::error::ApiError;
use crate::http::body::{
    add_query_params, body_params, query_params, MAX_FILE_BYTES, MAX_FORM_BYTES,
    MAX_MULTIPART_BYTES,
};
use crate::http::multipart::{self, Form, Limits};
use crate::http::{json, preflight, render, HttpResponse};
use crate::integrations::{DepositIntegration, FeeIntegration, WithdrawalIntegration};
use crate::sep9;
use crate::store::{QuoteStore, TransactionStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Info,
    Fee,
    Deposit,
    Withdraw,
    Transaction,
    Transactions,
}

impl Endpoint {
    /// The endpoint of a path, with or without the `/sep24` prefix (API Gateway passes the
    /// whole path; `cargo lambda watch` strips the function name).
    fn of(path: &str) -> Option<Self> {
        let path = match path.strip_prefix("/sep24") {
            Some(rest) if rest.starts_with('/') => rest,
            _ => path,
        };
        match path.trim_end_matches('/') {
            "/info" => Some(Endpoint::Info),
            "/fee" => Some(Endpoint::Fee),
            "/transactions/deposit/interactive" => Some(Endpoint::Deposit),
            "/transactions/withdraw/interactive" => Some(Endpoint::Withdraw),
            "/transaction" => Some(Endpoint::Transaction),
            "/transactions" => Some(Endpoint::Transactions),
            _ => None,
        }
    }

    fn method(self) -> Method {
        match self {
            Endpoint::Deposit | Endpoint::Withdraw => Method::POST,
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
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
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
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + QuoteStore,
    B: AsRef<[u8]>,
{
    let endpoint = Endpoint::of(request.uri().path())
        .ok_or_else(|| ApiError::NotFound("no such SEP-24 endpoint".into()))?;
    let method = request.method();
    if *method == Method::OPTIONS {
        return Ok(preflight());
    }
    // HEAD is not offered: API Gateway routes GET and POST only.
    if *method != endpoint.method() {
        return Err(ApiError::MethodNotAllowed);
    }
    let authenticate = || transfer.authenticate(request.headers());
    match endpoint {
        // The one endpoint without a token.
        Endpoint::Info => Ok(json(StatusCode::OK, &transfer.info())),
        Endpoint::Fee => {
            let caller = authenticate()?;
            let params = query_params(request.uri())?.into_map();
            let fee = transfer.fee(&caller, &params).await?;
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({ "fee": super::info::number(fee) }),
            ))
        }
        Endpoint::Deposit => {
            let caller = authenticate()?;
            let params = read(request).await?;
            Ok(json(
                StatusCode::OK,
                &transfer.deposit(&caller, &params).await?,
            ))
        }
        Endpoint::Withdraw => {
            let caller = authenticate()?;
            let params = read(request).await?;
            Ok(json(
                StatusCode::OK,
                &transfer.withdraw(&caller, &params).await?,
            ))
        }
        Endpoint::Transaction => {
            let caller = authenticate()?;
            let params = query_params(request.uri())?.into_map();
            let transaction = transfer.transaction(&caller, &params).await?;
            Ok(json(
                StatusCode::OK,
                &Envelope(TransactionView::new(&transaction, transfer.public_url())),
            ))
        }
        Endpoint::Transactions => {
            let caller = authenticate()?;
            let params = query_params(request.uri())?.into_map();
            let transactions = transfer.transactions(&caller, &params).await?;
            let list = TransactionList {
                transactions: transactions
                    .iter()
                    .map(|t| TransactionView::new(t, transfer.public_url()))
                    .collect(),
            };
            Ok(json(StatusCode::OK, &list))
        }
    }
}

/// The text parameters of a POST: its body (JSON, form-encoded or multipart, whose binary
/// SEP-9 parts are dropped) and its query string; a name in both is refused.
async fn read<B: AsRef<[u8]>>(request: &Request<B>) -> Result<BTreeMap<String, String>, ApiError> {
    let body = request.body().as_ref();
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let mut params = match content_type {
        Some(ct) if multipart::is_multipart(ct) => {
            let limits = Limits {
                max_part: MAX_FILE_BYTES,
                max_body: MAX_MULTIPART_BYTES,
                max_parts: crate::limits::MAX_MULTIPART_PARTS,
            };
            let Form { params, uploads } =
                multipart::parse(ct, body, limits, sep9::is_binary).await?;
            if !uploads.is_empty() {
                tracing::info!(
                    parts = uploads.len(),
                    "binary SEP-9 parts dropped (upload them with SEP-12)"
                );
            }
            params
        }
        _ if body.is_empty() => BTreeMap::new(),
        _ => body_params(request.headers(), body, MAX_FORM_BYTES)?.into_map(),
    };
    add_query_params(&mut params, request.uri(), |_| false)?;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_to_endpoints() {
        assert_eq!(Endpoint::of("/sep24/info"), Some(Endpoint::Info));
        assert_eq!(Endpoint::of("/info/"), Some(Endpoint::Info));
        assert_eq!(Endpoint::of("/sep24/fee"), Some(Endpoint::Fee));
        assert_eq!(
            Endpoint::of("/sep24/transactions/deposit/interactive"),
            Some(Endpoint::Deposit)
        );
        assert_eq!(
            Endpoint::of("/sep24/transactions/withdraw/interactive"),
            Some(Endpoint::Withdraw)
        );
        assert_eq!(
            Endpoint::of("/sep24/transaction"),
            Some(Endpoint::Transaction)
        );
        assert_eq!(
            Endpoint::of("/sep24/transactions"),
            Some(Endpoint::Transactions)
        );
        for none in [
            "/sep24",
            "/sep24/interactive",
            "/sep24/more-info",
            "/sep24x/info",
            "/sep24/transactions/deposit",
            "/",
        ] {
            assert_eq!(Endpoint::of(none), None, "{none}");
        }
        assert_eq!(Endpoint::Deposit.method(), Method::POST);
        assert_eq!(Endpoint::Transactions.method(), Method::GET);
    }
}
