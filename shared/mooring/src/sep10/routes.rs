//! HTTP glue for SEP-10: `GET /auth`, `POST /auth`, `OPTIONS`. CORS on every answer.

use http::{Method, Request, StatusCode};

use super::{ChallengeRequest, ClientDomainResolver, WebAuth};
use crate::error::ApiError;
use crate::horizon::Horizon;
use crate::http::body::{body_params, query_params};
use crate::http::{json, preflight, render, HttpResponse};
use crate::limits::MAX_AUTH_BODY_BYTES;
use crate::store::ChallengeStore;

pub async fn handle<H, C, R, B>(auth: &WebAuth<H, C, R>, request: &Request<B>) -> HttpResponse
where
    H: Horizon,
    C: ClientDomainResolver,
    R: ChallengeStore,
    B: AsRef<[u8]>,
{
    render(route(auth, request).await)
}

async fn route<H, C, R, B>(
    auth: &WebAuth<H, C, R>,
    request: &Request<B>,
) -> Result<HttpResponse, ApiError>
where
    H: Horizon,
    C: ClientDomainResolver,
    R: ChallengeStore,
    B: AsRef<[u8]>,
{
    match *request.method() {
        Method::OPTIONS => Ok(preflight()),
        Method::GET => {
            let query = query_params(request.uri())?;
            let challenge = auth
                .challenge(ChallengeRequest {
                    account: query.get("account"),
                    memo: query.get("memo"),
                    home_domain: query.get("home_domain"),
                    client_domain: query.get("client_domain"),
                })
                .await?;
            Ok(json(StatusCode::OK, &challenge))
        }
        Method::POST => {
            let body = body_params(
                request.headers(),
                request.body().as_ref(),
                MAX_AUTH_BODY_BYTES,
            )?;
            let token = auth.token(body.require("transaction")?).await?;
            Ok(json(StatusCode::OK, &token))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
