//! The Lambda Runtime API loop: take the next invocation, run the handler inside the
//! invocation's span, post its answer or its error, and again.
//!
//! Ours rather than `lambda_runtime::run`: that loop sets `_X_AMZN_TRACE_ID` with
//! `env::set_var` on every invocation, and glibc keeps every environment string it replaces, so
//! an environment's memory grew by ~145 bytes per invocation without bound (issue 12). Here the
//! trace id reaches the log lines through the invocation's span and the AWS SDK calls through
//! `mooring::telemetry::set_trace_id`, and nothing per invocation outlives it.

use std::future::Future;

use http::Method;
use http_body_util::BodyExt;
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{build_request, PooledClient};
use tracing::{Instrument, Span};

use crate::Error;

/// The invocation's headers (Lambda's Runtime API reference, "Next invocation").
const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
const TRACE_ID: &str = "lambda-runtime-trace-id";
/// The header naming an error's type on `/invocation/{id}/error`.
const ERROR_TYPE: &str = "lambda-runtime-function-error-type";

const INVOCATION: &str = "/2018-06-01/runtime/invocation";
const NEXT: &str = "/2018-06-01/runtime/invocation/next";
/// What every handler error reports as its type: a boxed error keeps no name worth more.
const HANDLER_ERROR: &str = "Runtime.HandlerError";

/// One invocation as the Runtime API hands it over.
#[derive(Debug)]
pub struct Invocation {
    pub request_id: String,
    /// The X-Ray trace header value (`Root=...;Parent=...;Sampled=...`), when Lambda sent one.
    pub trace_id: Option<String>,
    pub payload: Vec<u8>,
}

/// The Runtime API of this environment (`AWS_LAMBDA_RUNTIME_API`, host and port).
pub struct RuntimeApi {
    client: PooledClient,
}

impl RuntimeApi {
    /// The API named by `AWS_LAMBDA_RUNTIME_API`; outside Lambda (or `cargo lambda watch`) it is
    /// unset, and the function says so instead of panicking.
    pub fn from_env() -> Result<Self, Error> {
        let address = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| {
            "AWS_LAMBDA_RUNTIME_API is not set: this binary runs inside Lambda, `cargo lambda \
             watch` or the local stack"
        })?;
        Self::at(&address)
    }

    /// The API at `address`: `host:port` as Lambda gives it, or a URL with a base path as
    /// `cargo lambda watch` gives it (`http://127.0.0.1:9000/.rt`).
    pub fn at(address: &str) -> Result<Self, Error> {
        let url = if address.contains("://") {
            address.to_owned()
        } else {
            format!("http://{address}")
        };
        let base: http::Uri = url
            .parse()
            .map_err(|error| format!("AWS_LAMBDA_RUNTIME_API {address:?}: {error}"))?;
        if base.authority().is_none() {
            return Err(format!("AWS_LAMBDA_RUNTIME_API {address:?} names no host").into());
        }
        let client = PooledClient::builder().with_endpoint(base).build();
        Ok(Self { client })
    }

    /// Waits for the next invocation. An error here means the Runtime API is gone or broken:
    /// the function ends, as Lambda expects of a runtime that cannot take work.
    pub async fn next(&self) -> Result<Invocation, Error> {
        let response = loop {
            let request = build_request()
                .method(Method::GET)
                .uri(NEXT)
                .body(Body::empty())?;
            let response = self.client.call(request).await?;
            // `cargo lambda watch` answers 204 while it has no event for this function yet:
            // ask again (Lambda itself holds `/next` open instead).
            if response.status() != http::StatusCode::NO_CONTENT {
                break response;
            }
            let _ = response.into_body().collect().await;
        };
        let status = response.status();
        if !status.is_success() {
            return Err(
                format!("the Runtime API answered {status} for the next invocation").into(),
            );
        }
        let (parts, body) = response.into_parts();
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let request_id =
            header(REQUEST_ID).ok_or("the Runtime API sent an invocation without a request id")?;
        let trace_id = header(TRACE_ID);
        let payload = body.collect().await?.to_bytes().to_vec();
        Ok(Invocation {
            request_id,
            trace_id,
            payload,
        })
    }

    /// Posts the invocation's answer.
    pub async fn respond(&self, request_id: &str, answer: Vec<u8>) -> Result<(), Error> {
        let request = build_request()
            .method(Method::POST)
            .uri(format!("{INVOCATION}/{request_id}/response"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(answer))?;
        self.post(request, request_id).await
    }

    /// Posts the invocation's failure (Lambda's `Diagnostic` body: type and message).
    pub async fn fail(&self, request_id: &str, error: &Error) -> Result<(), Error> {
        let diagnostic = serde_json::json!({
            "errorType": HANDLER_ERROR,
            "errorMessage": error.to_string(),
        });
        let request = build_request()
            .method(Method::POST)
            .uri(format!("{INVOCATION}/{request_id}/error"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(ERROR_TYPE, HANDLER_ERROR)
            .body(Body::from(serde_json::to_vec(&diagnostic)?))?;
        self.post(request, request_id).await
    }

    async fn post(&self, request: http::Request<Body>, request_id: &str) -> Result<(), Error> {
        let response = self.client.call(request).await?;
        let status = response.status();
        // Drain the answer so the connection goes back to the pool for the next invocation.
        let _ = response.into_body().collect().await;
        // The API refuses an answer it cannot take (413: over 6 MB, 400/403: an invocation
        // already answered or timed out): Lambda has failed the invocation itself, so the
        // runtime logs it and takes the next one.
        if !status.is_success() {
            tracing::error!(%request_id, %status, "the Runtime API refused the invocation's answer");
        }
        Ok(())
    }
}

/// Serves invocations one at a time until the Runtime API fails. `handle` gets a payload with
/// the invocation's request id and trace id and returns the invocation's span (named for both,
/// with whatever the payload tells) and the future of the answer's JSON (or the invocation's
/// error), which runs inside that span with the trace id set for the AWS SDK.
pub async fn serve<H, F>(api: RuntimeApi, mut handle: H) -> Result<(), Error>
where
    H: FnMut(Vec<u8>, &str, Option<&str>) -> (Span, F),
    F: Future<Output = Result<Vec<u8>, Error>>,
{
    loop {
        let Invocation {
            request_id,
            trace_id,
            payload,
        } = api.next().await?;
        mooring::telemetry::set_trace_id(trace_id.as_deref());
        let (span, work) = handle(payload, &request_id, trace_id.as_deref());
        let outcome = work.instrument(span.clone()).await;
        // The invocation's metrics are written before its answer: Lambda may freeze the
        // environment as soon as it has the answer.
        mooring::metrics::flush();
        match outcome {
            Ok(answer) => api.respond(&request_id, answer).await?,
            Err(error) => {
                tracing::error!(parent: &span, %error, "the invocation failed");
                api.fail(&request_id, &error).await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use http_body_util::Full;
    use hyper::body::{Bytes, Incoming};
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpListener;

    use super::*;

    /// What the fake Runtime API was told: the path posted to, the error type header, the body.
    type Posted = Vec<(String, Option<String>, String)>;

    /// A Runtime API handing out `invocations` (request id, trace header, payload), then
    /// answering 500 to `/next`, which ends the loop.
    async fn fake_api(
        invocations: Vec<(&'static str, Option<&'static str>, &'static str)>,
    ) -> (String, Arc<Mutex<Posted>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let queue = Arc::new(Mutex::new(VecDeque::from(invocations)));
        let posted = Arc::new(Mutex::new(Posted::new()));
        let told = posted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (queue, told) = (queue.clone(), told.clone());
                let service =
                    hyper::service::service_fn(move |request: http::Request<Incoming>| {
                        let (queue, told) = (queue.clone(), told.clone());
                        async move {
                            let path = request.uri().path().to_owned();
                            let error_type = request
                                .headers()
                                .get(ERROR_TYPE)
                                .map(|value| value.to_str().expect("ASCII").to_owned());
                            let body = request.into_body().collect().await?.to_bytes();
                            let mut answer = http::Response::builder();
                            let body = if path.ends_with(NEXT) {
                                match queue.lock().expect("lock").pop_front() {
                                    Some((id, trace, payload)) => {
                                        answer = answer.header(REQUEST_ID, id);
                                        if let Some(trace) = trace {
                                            answer = answer.header(TRACE_ID, trace);
                                        }
                                        Bytes::from_static(payload.as_bytes())
                                    }
                                    None => {
                                        answer = answer.status(500);
                                        Bytes::new()
                                    }
                                }
                            } else {
                                let text = String::from_utf8(body.to_vec()).expect("UTF-8");
                                told.lock().expect("lock").push((path, error_type, text));
                                answer = answer.status(202);
                                Bytes::new()
                            };
                            Ok::<_, hyper::Error>(answer.body(Full::new(body)).expect("answer"))
                        }
                    });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        (address, posted)
    }

    #[tokio::test]
    async fn each_invocation_is_answered_or_failed_with_its_trace_id_set_meanwhile() {
        let (address, posted) = fake_api(vec![
            (
                "req-1",
                Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"),
                "{\"n\":1}",
            ),
            ("req-2", None, "not JSON"),
            (
                "req-3",
                Some("Root=1-5759e988-00000000000000000000000b;Sampled=0"),
                "{\"n\":3}",
            ),
        ])
        .await;
        // With a base path, as `cargo lambda watch` gives it. (One test runs `serve`: the
        // trace slot is process-wide.)
        let api = RuntimeApi::at(&format!("http://{address}/.rt")).expect("API");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let traces = seen.clone();
        let ended = serve(api, move |payload, request_id, trace_id| {
            let trace = mooring::telemetry::with_trace_id(|id| id.map(str::to_owned));
            assert_eq!(trace.as_deref(), trace_id);
            traces.lock().expect("lock").push(trace);
            let span = crate::invocation_span(request_id, trace_id);
            let work = async move {
                let event: serde_json::Value = serde_json::from_slice(&payload)?;
                Ok(serde_json::to_vec(&serde_json::json!({"echo": event}))?)
            };
            (span, work)
        })
        .await;
        let error = ended.expect_err("the loop ends when the API fails");
        assert!(error.to_string().contains("500"), "{error}");
        let posted = posted.lock().expect("lock").clone();
        assert_eq!(posted.len(), 3, "{posted:?}");
        assert_eq!(posted[0].0, format!("/.rt{INVOCATION}/req-1/response"));
        assert_eq!(posted[0].2, "{\"echo\":{\"n\":1}}");
        assert_eq!(posted[1].0, format!("/.rt{INVOCATION}/req-2/error"));
        assert_eq!(posted[1].1.as_deref(), Some(HANDLER_ERROR));
        let diagnostic: serde_json::Value = serde_json::from_str(&posted[1].2).expect("JSON");
        assert_eq!(diagnostic["errorType"], HANDLER_ERROR);
        assert!(diagnostic["errorMessage"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert_eq!(posted[2].0, format!("/.rt{INVOCATION}/req-3/response"));
        assert_eq!(
            *seen.lock().expect("lock"),
            [
                Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".to_owned()),
                None,
                Some("Root=1-5759e988-00000000000000000000000b;Sampled=0".to_owned()),
            ]
        );
    }

    #[test]
    fn a_runtime_api_address_that_is_no_authority_is_refused() {
        assert!(RuntimeApi::at("not an address").is_err());
    }
}
