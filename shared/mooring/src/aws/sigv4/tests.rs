//! The cached-key signer against the SDK's own SigV4 implementation (`aws-sigv4`): same bytes for
//! every shape it signs itself, and the SDK's signer for the rest.

use std::cell::Cell;
use std::time::Duration;

use aws_config::Region;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_smithy_runtime_api::client::identity::Identity;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::aws::tests::get_missing_item;

thread_local! {
    /// Calls signed by this module's own path (the SDK tests run on one thread).
    pub(super) static SIGNED_HERE: Cell<usize> = const { Cell::new(0) };
}

/// 2026-12-05T23:59:58Z, two seconds before a new signing day.
const LATE_EVENING: u64 = 1_796_515_198;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn credentials(token: Option<&str>) -> Credentials {
    Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        token.map(str::to_owned),
        None,
        "tests",
    )
}

fn request(uri: &str, headers: &[(&str, &str)], body: &str) -> HttpRequest {
    let mut builder = http::Request::builder().method("POST").uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(body.to_owned()).expect("request");
    HttpRequest::try_from(request.map(aws_smithy_types::body::SdkBody::from)).expect("request")
}

/// The call the signer sees for `request`: the parts `plain_call` takes from the SDK's config.
fn call_of<'a>(
    request: &'a HttpRequest,
    credentials: &'a Credentials,
    (region, service): (&'a str, &'a str),
    time: SystemTime,
) -> PlainCall<'a> {
    let host = request.headers().get("host").is_none();
    PlainCall {
        credentials,
        region,
        service,
        time,
        host: host.then(|| root_authority(request.uri()).expect("a root URI")),
        body: request.body().bytes().expect("body in memory"),
    }
}

/// The signature headers `aws-sigv4` computes for `request`, sorted by name.
fn sdk_signature(request: &HttpRequest, call: &PlainCall<'_>) -> Vec<(String, String)> {
    let identity: Identity = call.credentials.clone().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(call.region)
        .name(call.service)
        .time(call.time)
        .settings(SigningSettings::default())
        .build()
        .expect("params");
    let signable = SignableRequest::new(
        request.method(),
        request.uri(),
        request.headers().iter(),
        SignableBody::Bytes(call.body),
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params.into()).expect("sign").into_parts();
    let (headers, query) = instructions.into_parts();
    assert!(query.is_empty());
    let mut headers: Vec<_> = headers
        .into_iter()
        .map(|header| (header.name().to_owned(), header.value().to_owned()))
        .collect();
    headers.sort();
    headers
}

/// `signer` computes the signature headers `aws-sigv4` does for `request`.
fn assert_signs_as_the_sdk(signer: &KeyCachingSigner, request: &HttpRequest, call: &PlainCall<'_>) {
    let mut ours: Vec<_> = signer
        .signature_headers(request, call)
        .expect("signed")
        .into_iter()
        .map(|(name, value, _)| (name.to_owned(), value))
        .collect();
    ours.sort();
    assert_eq!(
        ours,
        sdk_signature(request, call),
        "{:?}",
        request.headers()
    );
}

const BODY: &str = r#"{"TableName":"transactions","Key":{"id":{"S":"t-1"}}}"#;

fn sdk_like_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", "DynamoDB_20120810.GetItem"),
        ("content-length", "52"),
        (
            "x-amz-user-agent",
            "aws-sdk-rust/1.3.1 ua/2.1 api/dynamodb/1.136.0 os/linux lang/rust/1.90.0",
        ),
        ("user-agent", "aws-sdk-rust/1.3.1 os/linux lang/rust/1.90.0"),
        (
            "amz-sdk-invocation-id",
            "1f6b3b0e-5c2a-4b8e-9a55-0d6c1f0a9e11",
        ),
        ("amz-sdk-request", "attempt=1; max=3"),
        (
            "x-amzn-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
        ),
    ]
}

#[test]
fn signs_the_bytes_the_sdk_signer_signs() {
    let signer = KeyCachingSigner::default();
    let mut odd_values = sdk_like_headers();
    odd_values.extend([
        ("x-custom", "  padded   and    spaced  "),
        ("x-repeated", "first"),
        ("x-repeated", " second  value"),
        ("x-empty", ""),
        ("x-amz-date", "19700101T000000Z"),
        ("x-amz-security-token", "stale-token"),
    ]);
    // (endpoint, headers, body, session token)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, Option<&'a str>);
    let cases: Vec<Case> = vec![
        ("http://127.0.0.1:4566/", sdk_like_headers(), BODY, None),
        (
            "https://dynamodb.us-east-1.amazonaws.com/",
            sdk_like_headers(),
            BODY,
            Some("session/token+=="),
        ),
        (
            "https://dynamodb.us-east-1.amazonaws.com:443/",
            sdk_like_headers(),
            BODY,
            None,
        ),
        ("http://localhost:80/", sdk_like_headers(), "", None),
        (
            "https://sqs.eu-west-1.amazonaws.com:8443/",
            odd_values.clone(),
            BODY,
            None,
        ),
        (
            "http://[::1]:4566/",
            odd_values.clone(),
            BODY,
            Some("another-token"),
        ),
        (
            "http://localhost:4566/",
            vec![("host", "example.com:9000"), ("content-type", "x")],
            BODY,
            None,
        ),
    ];
    for (uri, headers, body, token) in cases {
        let request = request(uri, &headers, body);
        let credentials = credentials(token);
        for (region, service) in [("us-east-1", "dynamodb"), ("eu-west-1", "sqs")] {
            // Twice per case: the second signing uses the cached key.
            for time in [at(LATE_EVENING), at(LATE_EVENING + 1)] {
                let call = call_of(&request, &credentials, (region, service), time);
                assert_signs_as_the_sdk(&signer, &request, &call);
            }
        }
    }
}

#[test]
fn a_new_day_or_secret_gets_a_new_key() {
    let signer = KeyCachingSigner::default();
    let request = request("http://127.0.0.1:4566/", &sdk_like_headers(), BODY);
    let first = credentials(None);
    let rotated = Credentials::new("AKIDEXAMPLE", "another-secret", None, None, "tests");
    for (credentials, time) in [
        (&first, at(LATE_EVENING)),
        (&first, at(LATE_EVENING + 2)), // the next day
        (&rotated, at(LATE_EVENING + 3)),
        (&first, at(LATE_EVENING + 4)),
    ] {
        let call = call_of(&request, credentials, ("us-east-1", "dynamodb"), time);
        assert_signs_as_the_sdk(&signer, &request, &call);
    }
}

#[test]
fn amz_date_time_is_the_sigv4_form() {
    let text =
        |secs| String::from_utf8(amz_date_time(at(secs)).expect("date").to_vec()).expect("ASCII");
    assert_eq!(text(0), "19700101T000000Z");
    assert_eq!(text(LATE_EVENING), "20261205T235958Z");
    assert_eq!(text(LATE_EVENING + 2), "20261206T000000Z");
    assert_eq!(text(951_782_400), "20000229T000000Z");
    assert_eq!(amz_date_time(at(253_402_300_800)), None); // year 10000
}

#[test]
fn only_a_root_uri_is_signed_here() {
    assert_eq!(
        root_authority("http://127.0.0.1:4566/"),
        Some("127.0.0.1:4566")
    );
    assert_eq!(
        root_authority("https://sqs.amazonaws.com:443/"),
        Some("sqs.amazonaws.com")
    );
    assert_eq!(root_authority("http://localhost:80/"), Some("localhost"));
    assert_eq!(
        root_authority("https://localhost:80/"),
        Some("localhost:80")
    );
    for other in [
        "http://localhost:4566/table",
        "http://localhost:4566/?Action=x",
        "http://localhost:4566",
        "http://user@localhost/",
        "ftp://localhost/",
        "http:///",
    ] {
        assert_eq!(root_authority(other), None, "{other}");
    }
}

/// Serves `answers` in turn (on as many connections as the client opens), returning every
/// request it read, head and body.
async fn capture(answers: Vec<String>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let server = tokio::spawn(async move {
        let mut requests = Vec::new();
        let mut stream = None;
        for answer in answers {
            let mut raw = Vec::new();
            let mut buffer = [0_u8; 4096];
            loop {
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|line| {
                            let line = line.to_ascii_lowercase();
                            line.strip_prefix("content-length:")
                                .map(|v| v.trim().to_owned())
                        })
                        .and_then(|value| value.parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length {
                        break;
                    }
                }
                let connection = match stream.as_mut() {
                    Some(connection) => connection,
                    None => stream.insert(listener.accept().await.expect("accept").0),
                };
                let read = connection.read(&mut buffer).await.expect("read");
                if read == 0 {
                    assert!(raw.is_empty(), "the client closed mid-request");
                    stream = None;
                }
                raw.extend_from_slice(&buffer[..read]);
            }
            requests.push(String::from_utf8(raw).expect("UTF-8"));
            let connection = stream.as_mut().expect("a connection");
            connection
                .write_all(answer.as_bytes())
                .await
                .expect("write");
        }
        requests
    });
    (endpoint, server)
}

/// `raw` (a request as sent) as the `HttpRequest` its signature covers, the signing time from its
/// `x-amz-date`, and its authorization.
fn as_sent(endpoint: &str, raw: &str) -> (HttpRequest, SystemTime, String) {
    let (head, body) = raw.split_once("\r\n\r\n").expect("a request");
    let mut lines = head.lines();
    let path = lines
        .next()
        .expect("request line")
        .split(' ')
        .nth(1)
        .expect("path");
    let mut headers = Vec::new();
    let (mut authorization, mut date) = (String::new(), String::new());
    for line in lines {
        let (name, value) = line.split_once(':').expect("header");
        let (name, value) = (name.to_ascii_lowercase(), value.trim().to_owned());
        match name.as_str() {
            "authorization" => authorization = value,
            _ => {
                if name == "x-amz-date" {
                    date = value.clone();
                }
                headers.push((name, value));
            }
        }
    }
    // Headers the client adds after signing (amz-sdk-request, ...) are not part of the signature.
    let signed = authorization
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .expect("SignedHeaders");
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(name, _)| signed.split(';').any(|signed| signed == name))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let request = request(&format!("{endpoint}{path}"), &headers, body);
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &date[0..4],
        &date[4..6],
        &date[6..8],
        &date[9..11],
        &date[11..13],
        &date[13..15]
    );
    let secs = crate::time::Timestamp::parse_rfc3339(&rfc3339)
        .expect("an x-amz-date")
        .secs();
    let time = at(u64::try_from(secs).expect("after 1970"));
    (request, time, authorization)
}

async fn sdk_client(endpoint: String, credentials: Credentials) -> aws_sdk_dynamodb::Client {
    let sdk = crate::aws::config_loader()
        .expect("AWS settings")
        .endpoint_url(endpoint)
        .region(Region::new("eu-west-1"))
        .credentials_provider(credentials)
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .load()
        .await;
    crate::aws::dynamodb_client(&sdk)
}

fn answer(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn empty_item() -> String {
    answer("200 OK", "{}")
}

fn internal_error() -> String {
    answer(
        "500 Internal Server Error",
        r#"{"__type":"InternalServerError","message":"try again later"}"#,
    )
}

/// Every request in `requests` carries the authorization the SDK's signer computes for it.
fn assert_signed_as_the_sdk_signs(endpoint: &str, requests: &[String], credentials: &Credentials) {
    for raw in requests {
        let (request, time, authorization) = as_sent(endpoint, raw);
        let call = call_of(&request, credentials, ("eu-west-1", "dynamodb"), time);
        let expected = sdk_signature(&request, &call);
        let authorization = ("authorization".to_owned(), authorization);
        assert!(expected.contains(&authorization), "{authorization:?}");
    }
}

#[tokio::test]
async fn the_sdk_clients_sign_with_it_and_the_signature_is_the_sdk_signers() {
    let (endpoint, server) = capture(vec![empty_item(), empty_item()]).await;
    let credentials = credentials(Some("the-session-token"));
    let client = sdk_client(endpoint.clone(), credentials.clone()).await;
    let before = SIGNED_HERE.with(Cell::get);
    get_missing_item(&client).await;
    get_missing_item(&client).await;
    assert_eq!(SIGNED_HERE.with(Cell::get) - before, 2);
    let requests = server.await.expect("server");
    for raw in &requests {
        let token = "x-amz-security-token: the-session-token\r\n";
        assert!(raw.contains(token), "{raw}");
    }
    assert_signed_as_the_sdk_signs(&endpoint, &requests, &credentials);
}

#[tokio::test]
async fn retries_and_every_call_after_one_go_to_the_sdk_signer() {
    let (endpoint, server) = capture(vec![internal_error(), empty_item(), empty_item()]).await;
    let client = sdk_client(endpoint.clone(), credentials(None)).await;
    let before = SIGNED_HERE.with(Cell::get);
    get_missing_item(&client).await;
    get_missing_item(&client).await;
    // The first attempt only: its retry and the next call were the SDK signer's.
    assert_eq!(SIGNED_HERE.with(Cell::get) - before, 1);
    let requests = server.await.expect("server");
    assert_eq!(requests.len(), 3);
    assert_signed_as_the_sdk_signs(&endpoint, &requests, &credentials(None));
}
