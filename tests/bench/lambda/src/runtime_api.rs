//! A local Lambda Runtime API (the 2018-06-01 interface a `provided` runtime polls): one per
//! execution environment, serving the invocations the bench hands it one at a time, as Lambda
//! does for a classic (non-concurrent) environment.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Notify};

const PREFIX: &str = "/2018-06-01/runtime";

/// What a function answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Bytes),
    Error(Bytes),
}

struct Invocation {
    body: Bytes,
    reply: oneshot::Sender<Outcome>,
}

struct State {
    function_arn: String,
    queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// True while the function waits in `/next`: it has finished its previous invocation
    /// (or its init) and uses no CPU until the next one arrives.
    waiting: AtomicBool,
    waiting_changed: Notify,
    first_next: OnceLock<Instant>,
    init_error: Mutex<Option<Bytes>>,
    sequence: AtomicU64,
}

/// One environment's Runtime API, listening on a free loopback port.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    invocations: mpsc::Sender<Invocation>,
    state: Arc<State>,
}

impl RuntimeApi {
    pub async fn start(function_name: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (invocations, queue) = mpsc::channel(1);
        let state = Arc::new(State {
            function_arn: format!("arn:aws:lambda:us-east-1:000000000000:function:{function_name}"),
            queue: tokio::sync::Mutex::new(queue),
            in_flight: Mutex::new(HashMap::new()),
            waiting: AtomicBool::new(false),
            waiting_changed: Notify::new(),
            first_next: OnceLock::new(),
            init_error: Mutex::new(None),
            sequence: AtomicU64::new(0),
        });
        let serving = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, hyper::Error>(route(&state, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            invocations,
            state,
        })
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&self, event: Bytes) -> Result<Outcome, String> {
        let (reply, answer) = oneshot::channel();
        self.invocations
            .send(Invocation { body: event, reply })
            .await
            .map_err(|_| "the runtime API stopped".to_owned())?;
        match tokio::time::timeout(Duration::from_secs(30), answer).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err("the invocation was dropped".to_owned()),
            Err(_) => Err("no answer within 30 s".to_owned()),
        }
    }

    /// Returns once the function waits in `/next`, idle; fails if it reported an init error
    /// or does not get there within `limit`.
    pub async fn idle(&self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            let changed = self.state.waiting_changed.notified();
            if let Some(error) = self.state.init_error.lock().expect("lock").as_ref() {
                return Err(format!("init error: {}", String::from_utf8_lossy(error)));
            }
            if self.state.waiting.load(Ordering::SeqCst) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if tokio::time::timeout(left, changed).await.is_err() {
                return Err(format!("not idle within {limit:?}"));
            }
        }
    }

    /// When the function first asked for an invocation: the end of its init.
    pub fn first_next(&self) -> Option<Instant> {
        self.state.first_next.get().copied()
    }
}

async fn route(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return answer(StatusCode::NOT_FOUND, "");
    };
    match (request.method().as_str(), rest) {
        ("GET", "/invocation/next") => next(state).await,
        ("POST", "/init/error") => {
            let body = collect(request).await;
            *state.init_error.lock().expect("lock") = Some(body);
            state.waiting_changed.notify_waiters();
            answer(StatusCode::ACCEPTED, "")
        }
        ("POST", rest) => {
            let Some((id, kind)) = rest
                .strip_prefix("/invocation/")
                .and_then(|rest| rest.split_once('/'))
            else {
                return answer(StatusCode::NOT_FOUND, "");
            };
            let id = id.to_owned();
            let kind = kind.to_owned();
            let body = collect(request).await;
            let outcome = match kind.as_str() {
                "response" => Outcome::Response(body),
                "error" => Outcome::Error(body),
                _ => return answer(StatusCode::NOT_FOUND, ""),
            };
            match state.in_flight.lock().expect("lock").remove(&id) {
                Some(reply) => {
                    let _ = reply.send(outcome);
                    answer(StatusCode::ACCEPTED, "")
                }
                None => answer(StatusCode::BAD_REQUEST, "unknown request id"),
            }
        }
        _ => answer(StatusCode::NOT_FOUND, ""),
    }
}

async fn next(state: &State) -> Response<Full<Bytes>> {
    let _ = state.first_next.set(Instant::now());
    let mut queue = state.queue.lock().await;
    state.waiting.store(true, Ordering::SeqCst);
    state.waiting_changed.notify_waiters();
    let invocation = queue.recv().await;
    state.waiting.store(false, Ordering::SeqCst);
    drop(queue);
    let Some(invocation) = invocation else {
        return answer(StatusCode::GONE, "");
    };
    let sequence = state.sequence.fetch_add(1, Ordering::Relaxed);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let id = format!("bench-{:016x}-{sequence:08x}", now.as_nanos() as u64);
    state
        .in_flight
        .lock()
        .expect("lock")
        .insert(id.clone(), invocation.reply);
    // A new X-Ray trace per invocation, as Lambda sends when tracing is active.
    let trace = format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
        now.as_secs(),
        now.as_nanos() << 16 | u128::from(sequence),
        sequence
    );
    let deadline = (now + Duration::from_secs(30)).as_millis();
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", id)
        .header("lambda-runtime-deadline-ms", deadline.to_string())
        .header("lambda-runtime-invoked-function-arn", &state.function_arn)
        .header("lambda-runtime-trace-id", trace)
        .body(Full::new(invocation.body))
        .unwrap_or_else(|_| answer(StatusCode::INTERNAL_SERVER_ERROR, ""))
}

async fn collect(request: Request<Incoming>) -> Bytes {
    request
        .into_body()
        .collect()
        .await
        .map(|body| body.to_bytes())
        .unwrap_or_default()
}

fn answer(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
