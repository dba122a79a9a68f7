//! The Lambda glue of every function's `main`: telemetry and start-up ([`start`]), then one
//! runner per trigger: [`run_http`] (API Gateway), [`run_schedule`] (EventBridge schedules and
//! direct invocations with a JSON payload) and [`run_sqs`] (SQS batches), on our own Runtime API
//! loop (`runtime_api`: nothing per invocation outlives it). Each invocation runs inside an
//! `invocation` span carrying the Lambda request id and the X-Ray trace id, so every line it
//! logs names them, and its AWS SDK calls carry the trace id too (`mooring::telemetry`); an HTTP
//! request's span also gets the transaction id once the SEP code knows it, and the SQS consumers
//! log each message in a span of its own with its transaction id.
//!
//! Only this crate and the functions' mains name `lambda_http` / `lambda_runtime`: mooring's
//! domain code never learns Lambda types.
//!
//! ```ignore
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), mooring_lambda::Error> {
//!     let service = mooring_lambda::start(build()).await?;
//!     mooring_lambda::run_schedule(&service, deposit_poller::handle).await
//! }
//! ```

#![forbid(unsafe_code)]

mod api_gateway;
mod runtime_api;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use lambda_http::{Body, Request, Response};
use mooring::queue::sqs_event::{SqsBatchResponse, SqsEvent};
use mooring::startup::StartupError;
use runtime_api::RuntimeApi;
use tracing::Span;

/// What a function's `main` returns.
pub use lambda_runtime::Error;

/// The runtime loop of a function (until the Lambda environment ends it). Boxed, like
/// [`start`]'s build: the handlers' futures nest deeply, and a `main` holding them inline
/// exceeds the compiler's layout depth.
pub type Run<'s> = Pin<Box<dyn Future<Output = Result<(), Error>> + 's>>;

/// Installs telemetry, then builds the function's service (settings, clients, state: once per
/// cold start). A failure is logged, naming the setting at fault, and returned: the function
/// does not start.
///
/// The build runs boxed: the AWS SDK's futures nest deeply, and a `main` holding them inline
/// exceeds the compiler's layout depth (and takes a large stack frame) for nothing.
pub fn start<'a, S: 'a>(
    build: impl Future<Output = Result<S, StartupError>> + 'a,
) -> Pin<Box<dyn Future<Output = Result<S, StartupError>> + 'a>> {
    Box::pin(async move {
        mooring::telemetry::init();
        build.await.inspect_err(
            |error| tracing::error!(%error, "start-up failed; the function does not serve"),
        )
    })
}

/// Serves API Gateway (HTTP API) requests with `handler` over the service built at start-up.
/// An event that is no HTTP API request fails its invocation.
pub fn run_http<'s, S, H, F>(service: &'s S, handler: H) -> Run<'s>
where
    H: Fn(&'s S, Request) -> F + 's,
    F: Future<Output = Result<Response<Body>, Infallible>> + 's,
{
    serve(move |payload, request_id, trace_id| {
        let request = api_gateway::request(&payload);
        let span = match &request {
            Ok(request) => http_invocation_span(request_id, trace_id, request),
            Err(_) => invocation_span(request_id, trace_id),
        };
        // Boxed: a SEP's handler future nests deeply enough that holding it inline exceeds
        // the compiler's layout depth.
        let work = request.map(|request| Box::pin(handler(service, request)));
        let started = std::time::Instant::now();
        let answer = async move {
            let response = match work?.await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            record_answer(response.status(), started.elapsed());
            api_gateway::answer(response)
        };
        (span, answer)
    })
}

/// Runs `handler` for each scheduled (or directly invoked) event; its answer is the
/// invocation's result, its error fails the invocation.
pub fn run_schedule<'s, S, H, F, E>(service: &'s S, handler: H) -> Run<'s>
where
    H: Fn(&'s S, serde_json::Value) -> F + 's,
    F: Future<Output = Result<serde_json::Value, E>> + 's,
    E: Into<Error>,
{
    serve(move |payload, request_id, trace_id| {
        let work = serde_json::from_slice(&payload).map(|event| Box::pin(handler(service, event)));
        let answer = async move {
            let answer = work?.await.map_err(Into::into)?;
            Ok(serde_json::to_vec(&answer)?)
        };
        (invocation_span(request_id, trace_id), answer)
    })
}

/// Runs `handler` for each SQS batch; it answers the messages to deliver again (partial batch
/// response), so an invocation itself never fails (but for an event that is no SQS batch).
pub fn run_sqs<'s, S, H, F>(service: &'s S, handler: H) -> Run<'s>
where
    H: Fn(&'s S, SqsEvent) -> F + 's,
    F: Future<Output = SqsBatchResponse> + 's,
{
    serve(move |payload, request_id, trace_id| {
        let work = serde_json::from_slice(&payload).map(|batch| Box::pin(handler(service, batch)));
        let answer = async move {
            let answer = work?.await;
            Ok(serde_json::to_vec(&answer)?)
        };
        (invocation_span(request_id, trace_id), answer)
    })
}

/// The Runtime API loop over `handle`, from the environment's `AWS_LAMBDA_RUNTIME_API`.
fn serve<'s, H, F>(handle: H) -> Run<'s>
where
    H: FnMut(Vec<u8>, &str, Option<&str>) -> (Span, F) + 's,
    F: Future<Output = Result<Vec<u8>, Error>> + 's,
{
    Box::pin(async move { runtime_api::serve(RuntimeApi::from_env()?, handle).await })
}

/// The span of one invocation: the Lambda request id and the X-Ray trace id, and the
/// transaction the invocation turns out to be about, which the SEP code records once it knows
/// it (`mooring::telemetry::record_transaction_id`).
pub fn invocation_span(request_id: &str, trace_id: Option<&str>) -> Span {
    tracing::info_span!("invocation", request_id = %request_id, xray_trace_id = trace_id,
        transaction_id = tracing::field::Empty)
}

/// An HTTP request's [`invocation_span`], with its method and path (never the query string or
/// the body). Named when the span is made, not recorded into it after: the JSON log format
/// parses and writes a span's fields again at each record.
fn http_invocation_span(request_id: &str, trace_id: Option<&str>, request: &Request) -> Span {
    tracing::info_span!("invocation", request_id = %request_id, xray_trace_id = trace_id,
        method = %request.method(), path = request.uri().path(),
        transaction_id = tracing::field::Empty)
}

/// An HTTP answer's metrics: one request, whether it was a 4xx or a 5xx (0 or 1, so that an
/// average is the error rate), and its latency.
fn record_answer(status: http::StatusCode, latency: std::time::Duration) {
    use mooring::metrics::{record, Metric};
    record(Metric::Requests, &[], 1.0);
    record(
        Metric::ClientErrors,
        &[],
        f64::from(u8::from(status.is_client_error())),
    );
    record(
        Metric::ServerErrors,
        &[],
        f64::from(u8::from(status.is_server_error())),
    );
    record(Metric::Latency, &[], latency.as_secs_f64() * 1000.0);
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing::Instrument;

    use super::*;

    /// Log lines written as JSON into memory.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Lines {
        fn capture(&self) -> tracing::subscriber::DefaultGuard {
            let lines = self.clone();
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_writer(move || lines.clone())
                .finish();
            tracing::subscriber::set_default(subscriber)
        }

        /// The text written, and each of its lines as JSON.
        fn logged(&self) -> (String, Vec<serde_json::Value>) {
            let text = String::from_utf8(self.0.lock().expect("lock").clone()).expect("utf-8");
            let logged = text
                .lines()
                .map(|line| serde_json::from_str(line).expect("a JSON line"))
                .collect();
            (text, logged)
        }
    }

    const TRACE: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    #[tokio::test]
    async fn every_line_of_an_invocation_names_its_request_id_and_trace_id() {
        let lines = Lines::default();
        let _guard = lines.capture();
        async {
            tracing::info!("first");
            let per_message = tracing::info_span!("message", transaction_id = "tx-42");
            async { tracing::warn!("second") }
                .instrument(per_message)
                .await;
        }
        .instrument(invocation_span("req-7f3a", Some(TRACE)))
        .await;
        let (text, logged) = lines.logged();
        assert_eq!(logged.len(), 2, "{text}");
        for line in &logged {
            assert_eq!(line["spans"][0]["request_id"], "req-7f3a", "{line}");
            assert_eq!(line["spans"][0]["xray_trace_id"], TRACE, "{line}");
            assert!(line["spans"][0].get("method").is_none(), "{line}");
        }
        assert_eq!(logged[1]["span"]["transaction_id"], "tx-42");
    }

    #[tokio::test]
    async fn an_http_request_logs_its_request_id_method_path_and_transaction() {
        let lines = Lines::default();
        let _guard = lines.capture();
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://anchor.example/sep24/transactions/deposit/interactive?secret=x")
            .body(Body::Empty)
            .expect("request");
        let span = http_invocation_span("req-http-1", None, &request);
        async {
            tracing::info!("received");
            mooring::telemetry::record_transaction_id("tx-9d1c");
            tracing::info!("handled");
        }
        .instrument(span)
        .await;
        let (text, logged) = lines.logged();
        assert_eq!(logged.len(), 2, "{text}");
        for line in &logged {
            let span = &line["span"];
            assert_eq!(span["request_id"], "req-http-1");
            assert_eq!(span["method"], "POST");
            assert_eq!(span["path"], "/sep24/transactions/deposit/interactive");
            assert!(
                span.get("xray_trace_id").is_none(),
                "no trace, no field: {span}"
            );
        }
        assert!(logged[0]["span"].get("transaction_id").is_none(), "{text}");
        assert_eq!(logged[1]["span"]["transaction_id"], "tx-9d1c", "{text}");
        assert!(!text.contains("secret"), "no query string: {text}");
    }

    #[tokio::test]
    async fn every_line_of_an_sqs_batch_names_the_request_and_its_message_transaction() {
        let lines = Lines::default();
        let _guard = lines.capture();
        let metrics = mooring::metrics::Recording::start();
        let event: SqsEvent = serde_json::from_value(serde_json::json!({"Records": [
            {"messageId": "m-1", "body": r#"{"transaction_id":"tx-a","kind":"receive"}"#,
             "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"}},
            {"messageId": "m-2", "body": "not a message",
             "attributes": {"ApproximateReceiveCount": "2"}},
            {"messageId": "m-3", "body": r#"{"transaction_id":"tx-b","kind":"receive"}"#,
             "attributes": {"ApproximateReceiveCount": "3"}}
        ]}))
        .expect("event");
        let answer = mooring::queue::sqs_event::one_by_one(event, "test", async |message| {
            tracing::info!("working");
            if message.transaction_id == "tx-b" {
                Err("the rail is down")
            } else {
                Ok(())
            }
        })
        .instrument(invocation_span("req-sqs-1", None))
        .await;
        assert_eq!(answer.failed_ids(), ["m-2", "m-3"]);
        let (text, logged) = lines.logged();
        assert_eq!(logged.len(), 5, "{text}");
        for line in &logged {
            assert_eq!(line["spans"][0]["request_id"], "req-sqs-1", "{line}");
        }
        let of = |transaction: &str| {
            logged
                .iter()
                .filter(|line| line["span"]["transaction_id"] == transaction)
                .count()
        };
        assert_eq!(of("tx-a"), 2, "working, done: {text}");
        assert_eq!(of("tx-b"), 2, "working, not finished: {text}");
        assert!(text.contains("unreadable test message"), "{text}");
        use mooring::metrics::Metric;
        assert_eq!(metrics.total(Metric::Redeliveries, &[]), 2.0);
        assert_eq!(
            metrics
                .recorded()
                .iter()
                .filter(|m| m.0 == Metric::QueueLag)
                .count(),
            1
        );
    }

    #[test]
    fn an_http_answer_counts_a_request_its_error_class_and_latency() {
        let recording = mooring::metrics::Recording::start();
        record_answer(
            http::StatusCode::NOT_FOUND,
            std::time::Duration::from_millis(3),
        );
        record_answer(
            http::StatusCode::BAD_GATEWAY,
            std::time::Duration::from_millis(5),
        );
        record_answer(http::StatusCode::OK, std::time::Duration::from_millis(1));
        use mooring::metrics::Metric;
        assert_eq!(recording.total(Metric::Requests, &[]), 3.0);
        assert_eq!(recording.total(Metric::ClientErrors, &[]), 1.0);
        assert_eq!(recording.total(Metric::ServerErrors, &[]), 1.0);
        assert_eq!(recording.total(Metric::Latency, &[]), 9.0);
    }
}
