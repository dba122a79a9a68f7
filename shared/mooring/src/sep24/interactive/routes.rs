//! HTTP glue of the interactive flow: paths, methods, the session cookie, and the security
//! headers of every answer: `Cache-Control: no-store` and `Referrer-Policy: no-referrer` (the
//! link's token must not leak through caches or a Referer), and on pages a Content-Security-
//! Policy that runs only the page's own inline style and script (by nonce) and fetches only from
//! this origin.

use http::header::{
    HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION,
    REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS,
};
use http::{Method, Request, Response, StatusCode};

use super::{FlowError, Interactive, Reply};
use crate::http::body::{body_params, query_params, Params};
use crate::http::HttpResponse;
use crate::i18n::Lang;
use crate::integrations::{DepositIntegration, FeeIntegration, WithdrawalIntegration};
use crate::sep24::token::session_cookie;
use crate::store::{ChallengeStore, TransactionStore};

/// A form's body may be at most this large.
pub const MAX_FORM_BYTES: usize = crate::limits::MAX_PAGE_FORM_BYTES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Link,
    Form,
    Fee,
    Return,
    MoreInfo,
}

impl Endpoint {
    /// The endpoint of a path, with or without the `/sep24` prefix (API Gateway passes the
    /// whole path; a local runner may strip it).
    fn of(path: &str) -> Option<Self> {
        let path = match path.strip_prefix("/sep24") {
            Some(rest) if rest.starts_with('/') => rest,
            _ => path,
        };
        match path.trim_end_matches('/') {
            "/interactive" => Some(Endpoint::Link),
            "/interactive/form" => Some(Endpoint::Form),
            "/interactive/fee" => Some(Endpoint::Fee),
            "/interactive/return" => Some(Endpoint::Return),
            "/more-info" => Some(Endpoint::MoreInfo),
            _ => None,
        }
    }

    fn allows(self, method: &Method) -> bool {
        match self {
            Endpoint::Form => matches!(*method, Method::GET | Method::POST),
            _ => *method == Method::GET,
        }
    }

    fn allow_header(self) -> &'static str {
        match self {
            Endpoint::Form => "GET, POST",
            _ => "GET",
        }
    }
}

/// Answers one request of the `sep24-interactive` function.
pub async fn handle<I, S, B>(service: &Interactive<I, S>, request: &Request<B>) -> HttpResponse
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + ChallengeStore,
    B: AsRef<[u8]>,
{
    if let Some(endpoint) = Endpoint::of(request.uri().path()) {
        if !endpoint.allows(request.method()) {
            let mut response = respond(FlowError::MethodNotAllowed.page(Lang::En));
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(endpoint.allow_header()));
            return response;
        }
    }
    respond(route(service, request).await)
}

async fn route<I, S, B>(service: &Interactive<I, S>, request: &Request<B>) -> Reply
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + ChallengeStore,
    B: AsRef<[u8]>,
{
    let Some(endpoint) = Endpoint::of(request.uri().path()) else {
        return FlowError::NotFound.page(Lang::En);
    };
    let params = match query_params(request.uri()) {
        Ok(params) => params,
        Err(_) if endpoint == Endpoint::Fee => return FlowError::Malformed.json(Lang::En),
        Err(_) => return FlowError::Malformed.page(Lang::En),
    };
    let cookie = session_cookie(request.headers());
    match (endpoint, request.method() == Method::POST) {
        (Endpoint::Link, _) => service.open_link(&params).await,
        (Endpoint::Form, false) => service.show_form(&params, cookie).await,
        (Endpoint::Form, true) => {
            let body: Result<Params, FlowError> =
                body_params(request.headers(), request.body().as_ref(), MAX_FORM_BYTES)
                    .map_err(|_| FlowError::Malformed);
            service.submit_form(&params, body, cookie).await
        }
        (Endpoint::Fee, _) => service.fee(&params, cookie).await,
        (Endpoint::Return, _) => service.return_from_external(&params, cookie).await,
        (Endpoint::MoreInfo, _) => service.more_info(&params).await,
    }
}

fn header(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(value).ok()
}

/// The HTTP form of a reply, with the headers every answer carries.
pub fn respond(reply: Reply) -> HttpResponse {
    let mut response = match reply {
        Reply::Page {
            status,
            html,
            nonce,
        } => {
            let mut response = Response::new(html);
            *response.status_mut() = status;
            let headers = response.headers_mut();
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            let policy = format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
                 img-src 'self' data:; connect-src 'self'; base-uri 'none'"
            );
            if let Some(policy) = header(&policy) {
                headers.insert(CONTENT_SECURITY_POLICY, policy);
            }
            response
        }
        Reply::Redirect {
            location,
            set_cookie,
        } => {
            let Some(location) = header(&location) else {
                return respond(
                    FlowError::Internal("a redirect to an invalid URL".into()).page(Lang::En),
                );
            };
            let mut response = Response::new(String::new());
            *response.status_mut() = StatusCode::SEE_OTHER;
            let headers = response.headers_mut();
            headers.insert(LOCATION, location);
            if let Some(cookie) = set_cookie.as_deref().and_then(header) {
                headers.insert(SET_COOKIE, cookie);
            }
            response
        }
        Reply::Json { status, body } => crate::http::json(status, &body),
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
