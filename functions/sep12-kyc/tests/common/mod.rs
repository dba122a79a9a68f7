//! A SEP-12 function over in-memory adapters, a fixed clock, and a wallet's requests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use lambda_http::http::{self, HeaderMap};
use lambda_http::Body;
use mooring::clock::FixedClock;
use mooring::config::{AnchorConfig, Secret};
use mooring::model::Customer;
use mooring::queue::InMemoryQueue;
use mooring::sep10::{Claims, JwtKeys};
use mooring::startup::StartupError;
use mooring::stellar::{Keypair, MuxedAccount, Network};
use mooring::store::files::InMemoryFileStore;
use mooring::store::{CustomerStore, InMemoryStore};
use serde_json::Value;

pub const NOW: u64 = 1_700_000_000;
pub const JWT_SECRET: &str = "a-jwt-secret-of-at-least-32-chars!!";
pub const ISSUER: &str = "https://anchor.example.com/auth";

/// As the function's `main`: the anchor's configuration parsed once, then the service.
pub fn start(
    settings: &BTreeMap<String, String>,
    ports: sep12_kyc::Ports<InMemoryStore, InMemoryFileStore, InMemoryQueue>,
) -> Result<sep12_kyc::Service<InMemoryStore, InMemoryFileStore, InMemoryQueue>, StartupError> {
    let anchor = AnchorConfig::from_source(settings)?;
    sep12_kyc::service(settings, &anchor, ports)
}

pub fn settings(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let server = Keypair::from_seed_bytes([1; 32]);
    let mut settings: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", server.account_id().to_string().as_str()),
        ("JWT_SECRET", JWT_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        settings.insert((*k).to_owned(), (*v).to_owned());
    }
    settings
}

pub type Service = sep12_kyc::Service<InMemoryStore, InMemoryFileStore, InMemoryQueue>;

pub struct Kyc {
    pub service: Service,
    pub store: Arc<InMemoryStore>,
    pub files: Arc<InMemoryFileStore>,
    pub queue: Arc<InMemoryQueue>,
    pub clock: Arc<FixedClock>,
}

pub fn kyc(extra: &[(&str, &str)]) -> Kyc {
    let store = Arc::new(InMemoryStore::default());
    let clock = Arc::new(FixedClock::at(NOW));
    let files = Arc::new(InMemoryFileStore::with_clock(clock.clone()));
    let queue = Arc::new(InMemoryQueue::default());
    let ports = sep12_kyc::Ports {
        store: store.clone(),
        files: files.clone(),
        outgoing: queue.clone(),
        clock: clock.clone(),
    };
    Kyc {
        service: start(&settings(extra), ports).unwrap(),
        store,
        files,
        queue,
        clock,
    }
}

/// A wallet user's account (`G...`).
pub fn account(seed: u8) -> String {
    Keypair::from_seed_bytes([seed; 32])
        .account_id()
        .to_string()
}

pub fn muxed(seed: u8, id: u64) -> String {
    MuxedAccount::new(Keypair::from_seed_bytes([seed; 32]).account_id(), Some(id)).to_string()
}

/// A SEP-10 token for `sub` (`G...`, `G...:memo` or `M...`) expiring at `exp`.
pub fn token_until(sub: &str, exp: u64) -> String {
    JwtKeys::new(&Secret::new(JWT_SECRET.into()), ISSUER.into())
        .issue(&Claims {
            iss: ISSUER.into(),
            sub: sub.into(),
            iat: NOW - 10,
            exp,
            jti: "00".into(),
            client_domain: None,
            home_domain: "anchor.example.com".into(),
        })
        .unwrap()
}

pub fn token(sub: &str) -> String {
    token_until(sub, NOW + 3600)
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Answer {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

impl Kyc {
    pub async fn send(&self, request: lambda_http::Request) -> Answer {
        let response = sep12_kyc::handle(&self.service, request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match response.body() {
            Body::Empty => Value::Null,
            body => serde_json::from_slice(body.as_ref()).unwrap_or(Value::Null),
        };
        assert_eq!(
            headers["access-control-allow-origin"], "*",
            "CORS on {status}"
        );
        Answer {
            status,
            body,
            headers,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = http::Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let body = if body.is_empty() {
            Body::Empty
        } else {
            Body::Binary(body)
        };
        self.send(request.body(body).unwrap()).await
    }

    pub async fn get(&self, token: &str, query: &str) -> Answer {
        let uri = if query.is_empty() {
            "/kyc/customer".to_owned()
        } else {
            format!("/kyc/customer?{query}")
        };
        self.call("GET", &uri, Some(token), None, Vec::new()).await
    }

    pub async fn put_json(&self, token: &str, body: Value) -> Answer {
        self.json("PUT", "/kyc/customer", token, body).await
    }

    pub async fn json(&self, method: &str, uri: &str, token: &str, body: Value) -> Answer {
        self.call(
            method,
            uri,
            Some(token),
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
    }

    pub async fn put_form(&self, token: &str, pairs: &[(&str, &str)]) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.call(
            "PUT",
            "/kyc/customer",
            Some(token),
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
        )
        .await
    }

    /// A customer's stored record.
    pub async fn customer(&self, id: &str) -> Option<Customer> {
        CustomerStore::get(&*self.store, id).await.unwrap()
    }

    /// The verification code pending for a field (what the log line shows).
    pub async fn code(&self, id: &str, field: &str) -> String {
        let customer = self.customer(id).await.unwrap();
        customer.pending_verifications[field]
            .split('/')
            .next()
            .unwrap()
            .to_owned()
    }
}

pub const BOUNDARY: &str = "----wallet0123";

/// A multipart part: `(name, Some((filename, content type)) for files, content)`.
pub type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

/// A multipart/form-data body.
pub fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file, content) in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some((filename, content_type)) => out.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                     Content-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

pub fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}
