//! HTTP glue for the SEP-38 quote API, under `ANCHOR_QUOTE_SERVER` (`<public url>/sep38`):
//! `GET /info`, `GET /prices`, `GET /price` (a token is optional), `POST /quote` and
//! `GET /quote/:id` (a token is required: 403 `{"error"}` without one), and `OPTIONS` on each.
//! CORS on every answer, errors included.

use http::{Method, Request, StatusCode};

use super::service::Quotes;
use super::view::QuoteView;
use crate::error::ApiError;
use crate::http::body::{body_params, query_params, MAX_FORM_BYTES};
use crate::http::{json, preflight, render, HttpResponse};
use crate::integrations::QuoteIntegration;
use crate::store::QuoteStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint<'a> {
    Info,
    Prices,
    Price,
    NewQuote,
    Quote(&'a str),
}

impl<'a> Endpoint<'a> {
    /// The endpoint of a path, with or without the `/sep38` prefix (API Gateway passes the
    /// whole path; `cargo lambda watch` strips the function name).
    fn of(path: &'a str) -> Option<Self> {
        let path = match path.strip_prefix("/sep38") {
            Some(rest) if rest.starts_with('/') => rest,
            _ => path,
        };
        match path.trim_end_matches('/') {
            "/info" => Some(Endpoint::Info),
            "/prices" => Some(Endpoint::Prices),
            "/price" => Some(Endpoint::Price),
            "/quote" => Some(Endpoint::NewQuote),
            other => other
                .strip_prefix("/quote/")
                .filter(|id| !id.is_empty() && !id.contains('/'))
                .map(Endpoint::Quote),
        }
    }

    fn method(self) -> Method {
        match self {
            Endpoint::NewQuote => Method::POST,
            _ => Method::GET,
        }
    }
}

pub async fn handle<I, S, B>(quotes: &Quotes<I, S>, request: &Request<B>) -> HttpResponse
where
    I: QuoteIntegration,
    S: QuoteStore,
    B: AsRef<[u8]>,
{
    render(route(quotes, request).await)
}

async fn route<I, S, B>(
    quotes: &Quotes<I, S>,
    request: &Request<B>,
) -> Result<HttpResponse, ApiError>
where
    I: QuoteIntegration,
    S: QuoteStore,
    B: AsRef<[u8]>,
{
    let endpoint = Endpoint::of(request.uri().path())
        .ok_or_else(|| ApiError::NotFound("no such SEP-38 endpoint".into()))?;
    let method = request.method();
    if *method == Method::OPTIONS {
        return Ok(preflight());
    }
    if *method != endpoint.method() {
        return Err(ApiError::MethodNotAllowed);
    }
    let headers = request.headers();
    match endpoint {
        Endpoint::Info => Ok(json(StatusCode::OK, &quotes.info())),
        Endpoint::Prices => {
            let user = quotes.authenticate_if_sent(headers)?;
            let params = query_params(request.uri())?;
            Ok(json(StatusCode::OK, &quotes.prices(user, &params).await?))
        }
        Endpoint::Price => {
            let user = quotes.authenticate_if_sent(headers)?;
            let params = query_params(request.uri())?;
            Ok(json(StatusCode::OK, &quotes.price(user, &params).await?))
        }
        Endpoint::NewQuote => {
            let user = quotes.authenticate(headers)?;
            let params = body_params(headers, request.body().as_ref(), MAX_FORM_BYTES)?;
            let quote = quotes.post_quote(user, &params).await?;
            Ok(json(StatusCode::CREATED, &QuoteView::new(&quote)))
        }
        Endpoint::Quote(id) => {
            let user = quotes.authenticate(headers)?;
            let quote = quotes.quote(user, id).await?;
            Ok(json(StatusCode::OK, &QuoteView::new(&quote)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_to_endpoints() {
        assert_eq!(Endpoint::of("/sep38/info"), Some(Endpoint::Info));
        assert_eq!(Endpoint::of("/prices/"), Some(Endpoint::Prices));
        assert_eq!(Endpoint::of("/sep38/price"), Some(Endpoint::Price));
        assert_eq!(Endpoint::of("/sep38/quote"), Some(Endpoint::NewQuote));
        assert_eq!(
            Endpoint::of("/sep38/quote/abc"),
            Some(Endpoint::Quote("abc"))
        );
        for none in [
            "/sep38",
            "/sep38/quote/a/b",
            "/sep38/quotes",
            "/sep38x/info",
            "/",
        ] {
            assert_eq!(Endpoint::of(none), None, "{none}");
        }
        assert_eq!(Endpoint::NewQuote.method(), Method::POST);
        assert_eq!(Endpoint::Quote("x").method(), Method::GET);
    }
}
