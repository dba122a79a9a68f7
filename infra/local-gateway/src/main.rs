//! `mooring-local`: every Mooring HTTP function served in-process on one local port, at the root
//! (`/.well-known/stellar.toml`, `/auth`, `/kyc/customer...`, `/sep6/...`, `/sep24/...`,
//! `/sep31/...`, `/sep38/...`), with the same configuration variables as Lambda.
//! For development and tests; production runs each function in Lambda behind API Gateway.
//! The queue workers do not run here (the local stack runs them): what SEP-12 and SEP-31 queue
//! for the outgoing-payments worker stays in an in-memory queue.
//! Nor do the callback dispatcher and sender: no status callback is posted here.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Env};
use mooring::queue::InMemoryQueue;
use mooring::startup::StartupError;
use mooring::store::files::InMemoryFileStore;
use mooring::store::InMemoryStore;
use tokio::net::TcpListener;

/// API Gateway's payload limit.
const MAX_BODY: usize = 10 * 1024 * 1024;

struct Functions {
    sep1: sep1_toml::Service,
    sep10: sep10_auth::Service<Arc<InMemoryStore>>,
    sep12: sep12_kyc::Service<InMemoryStore, InMemoryFileStore, InMemoryQueue>,
    sep6: sep6_transfer::Service<InMemoryStore>,
    sep31: sep31_receive::Service<InMemoryStore, InMemoryQueue>,
    sep24_transfer: sep24_transfer::Service<InMemoryStore>,
    sep24_interactive: sep24_interactive::Service<InMemoryStore>,
    sep38: sep38_quotes::Service<InMemoryStore>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `mooring-local keygen`: a fresh signing keypair as env lines, for the local set-up.
    if std::env::args().nth(1).as_deref() == Some("keygen") {
        let keypair = mooring::stellar::Keypair::random();
        println!("SIGNING_SEED={}", keypair.secret_seed().as_str());
        println!("SIGNING_KEY={}", keypair.account_id());
        return;
    }
    mooring::telemetry::init();
    let address: SocketAddr = std::env::var("MOORING_LOCAL_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:8000".into())
        .parse()
        .unwrap_or_else(|e| fail(&format!("MOORING_LOCAL_ADDR is invalid: {e}")));
    // One in-memory store shared by every function, standing in for DynamoDB.
    let store = Arc::new(InMemoryStore::default());
    let functions = Arc::new(functions(&Env, store).unwrap_or_else(|e| fail(&e.to_string())));
    let listener = TcpListener::bind(address)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot listen on {address}: {e}")));
    println!(
        "mooring-local listening on http://{}",
        listener.local_addr().unwrap_or(address)
    );

    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(e) => { tracing::warn!(error = %e, "accept failed"); continue; }
            },
            _ = tokio::signal::ctrl_c() => return,
        };
        let functions = functions.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let functions = functions.clone();
                async move { Ok::<_, Infallible>(dispatch(&functions, request).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection closed");
            }
        });
    }
}

/// Every HTTP function, built as in Lambda (the anchor's configuration parsed once).
fn functions(settings: &Env, store: Arc<InMemoryStore>) -> Result<Functions, StartupError> {
    let anchor = AnchorConfig::from_source(settings)?;
    let interactive = sep24_interactive::config(settings, &anchor)?;
    // SEP-31 transactions ready for their payout (from SEP-12 and SEP-31's PATCH), one queue
    // for both as in Lambda; no worker reads it here (the local stack runs it).
    let outgoing = Arc::new(InMemoryQueue::default());
    Ok(Functions {
        sep1: sep1_toml::service(settings, &anchor)?,
        sep10: sep10_auth::service(settings, &anchor, store.clone())?,
        sep12: sep12_kyc::service(
            settings,
            &anchor,
            sep12_kyc::Ports {
                store: store.clone(),
                files: Arc::new(InMemoryFileStore::default()),
                outgoing: outgoing.clone(),
                clock: Arc::new(SystemClock),
            },
        )?,
        sep6: sep6_transfer::service(
            settings,
            &anchor,
            sep6_transfer::Ports {
                store: store.clone(),
                clock: Arc::new(SystemClock),
            },
        )?,
        sep31: sep31_receive::service(
            settings,
            &anchor,
            sep31_receive::Ports {
                store: store.clone(),
                outgoing,
                clock: Arc::new(SystemClock),
            },
        )?,
        sep24_transfer: sep24_transfer::service(
            settings,
            &anchor,
            sep24_transfer::Ports {
                store: store.clone(),
                clock: Arc::new(SystemClock),
            },
        )?,
        sep38: sep38_quotes::service(
            settings,
            &anchor,
            sep38_quotes::Ports {
                store: store.clone(),
                clock: Arc::new(SystemClock),
            },
        )?,
        sep24_interactive: sep24_interactive::service(
            settings,
            interactive.clone(),
            sep24_interactive::Ports {
                store,
                clock: Arc::new(SystemClock),
            },
        )?,
    })
}

async fn dispatch(
    functions: &Functions,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain(413, r#"{"error":"request body too large"}"#),
    };
    let body = if body.is_empty() {
        Body::Empty
    } else {
        Body::Binary(body.to_vec())
    };
    let request = lambda_http::Request::from_parts(parts, body);
    let path = request.uri().path().to_owned();
    tracing::info!(method = %request.method(), %path, "request");
    let response = match path.as_str() {
        "/.well-known/stellar.toml" => sep1_toml::handle(&functions.sep1, request).await,
        "/auth" => sep10_auth::handle(&functions.sep10, request).await,
        kyc if kyc == "/kyc" || kyc.starts_with("/kyc/") => {
            sep12_kyc::handle(&functions.sep12, request).await
        }
        sep6 if sep6.starts_with("/sep6/") => sep6_transfer::handle(&functions.sep6, request).await,
        sep31 if sep31.starts_with("/sep31/") => {
            sep31_receive::handle(&functions.sep31, request).await
        }
        // The template's routes of the interactive function; the rest of /sep24 is the API's.
        page if page == "/sep24/interactive"
            || page.starts_with("/sep24/interactive/")
            || page == "/sep24/more-info" =>
        {
            sep24_interactive::handle(&functions.sep24_interactive, request).await
        }
        api if api.starts_with("/sep24/") => {
            sep24_transfer::handle(&functions.sep24_transfer, request).await
        }
        quotes if quotes.starts_with("/sep38/") => {
            sep38_quotes::handle(&functions.sep38, request).await
        }
        _ => return plain(404, r#"{"error":"not found"}"#),
    };
    let Ok(response) = response;
    let (parts, body) = response.into_parts();
    hyper::Response::from_parts(parts, Full::new(Bytes::copy_from_slice(body.as_ref())))
}

fn plain(status: u16, json: &'static str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(json.as_bytes())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::NOT_FOUND);
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        "access-control-allow-origin",
        hyper::header::HeaderValue::from_static("*"),
    );
    response
}

fn fail(message: &str) -> ! {
    eprintln!("mooring-local: {message}");
    std::process::exit(2)
}
