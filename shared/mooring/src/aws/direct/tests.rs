//! Direct calls against a fake service on loopback: signed as `aws-sigv4` signs, one attempt,
//! and what is not a clear answer left to the SDK.

use std::sync::{Arc, Mutex};

use aws_config::Region;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_smithy_runtime_api::client::identity::Identity;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::time::Timestamp;

/// A request as the fake service received it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// Names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the SDK sent it (it names itself; direct calls do not).
    pub(crate) fn sent_by_the_sdk(&self) -> bool {
        self.header("x-amz-user-agent").is_some()
    }
}

/// What the fake service answers a request: status and body.
pub(crate) type Answering = dyn Fn(&Received) -> (u16, String) + Send + Sync;

/// A fake AWS JSON service on loopback, answering every request (connections kept alive) with
/// `answer`; its endpoint, and the requests it received.
pub(crate) async fn fake_service(answer: Arc<Answering>) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, answer.clone(), log.clone()));
        }
    });
    (endpoint, received)
}

async fn serve(mut stream: TcpStream, answer: Arc<Answering>, log: Arc<Mutex<Vec<Received>>>) {
    let mut buffered = Vec::new();
    let mut chunk = [0_u8; 8192];
    loop {
        let head_end = loop {
            if let Some(at) = buffered.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            match stream.read(&mut chunk).await {
                Ok(read) if read > 0 => buffered.extend_from_slice(&chunk[..read]),
                _ => return,
            }
        };
        let head = String::from_utf8_lossy(&buffered[..head_end]).into_owned();
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        buffered.drain(..head_end + 4);
        while buffered.len() < length {
            match stream.read(&mut chunk).await {
                Ok(read) if read > 0 => buffered.extend_from_slice(&chunk[..read]),
                _ => return,
            }
        }
        let body: Vec<u8> = buffered.drain(..length).collect();
        let request = Received { headers, body };
        let (status, reply) = answer(&request);
        log.lock().expect("log").push(request);
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

pub(crate) async fn sdk_config(endpoint: &str, token: Option<&str>) -> aws_config::SdkConfig {
    crate::aws::config_loader()
        .expect("AWS settings")
        .endpoint_url(endpoint)
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
            None,
            "tests",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

/// A direct client of the service at `endpoint` (`token`: the credentials' session token).
pub(crate) async fn client_of(endpoint: &str, token: Option<&str>) -> DirectClient {
    DirectClient::new(&sdk_config(endpoint, token).await, endpoint, SERVICE)
        .expect("client")
        .expect("a plain endpoint")
}

const SERVICE: Service = Service {
    signing_name: "dynamodb",
    target_prefix: "DynamoDB_20120810",
    content_type: "application/x-amz-json-1.0",
};

const BODY: &str = r#"{"TableName":"transactions","Key":{"id":{"S":"t-1"}}}"#;

/// The `authorization` header `aws-sigv4` computes for the request `received` got.
fn sdk_authorization(received: &Received, url: &str, credentials: Credentials) -> String {
    let date = received.header("x-amz-date").expect("x-amz-date");
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &date[..4],
        &date[4..6],
        &date[6..8],
        &date[9..11],
        &date[11..13],
        &date[13..15]
    );
    let secs = Timestamp::parse_rfc3339(&rfc3339).expect("date").secs();
    let time =
        std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).expect("after 1970"));
    let identity: Identity = credentials.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("dynamodb")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .expect("params");
    let signed = ["content-type", "host", "x-amz-target"]
        .map(|name| (name, received.header(name).expect("signed header")));
    let signable = SignableRequest::new(
        "POST",
        url,
        signed.into_iter(),
        SignableBody::Bytes(&received.body),
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params.into()).expect("sign").into_parts();
    let (headers, _) = instructions.into_parts();
    headers
        .into_iter()
        .find(|header| header.name() == "authorization")
        .map(|header| header.value().to_owned())
        .expect("authorization")
}

#[tokio::test]
async fn a_direct_call_is_signed_as_aws_sigv4_signs_it() {
    let (endpoint, received) = fake_service(Arc::new(|_| (200, "{}".into()))).await;
    for token in [None, Some("session-token")] {
        let client = client_of(&endpoint, token).await;
        let answer = client.call("GetItem", BODY.into()).await.expect("answered");
        assert_eq!((answer.status, answer.body.as_slice()), (200, &b"{}"[..]));

        let request = received.lock().expect("log").pop().expect("a request");
        assert_eq!(request.body, BODY.as_bytes());
        assert_eq!(
            request.header("x-amz-target"),
            Some("DynamoDB_20120810.GetItem")
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/x-amz-json-1.0")
        );
        assert_eq!(request.header("host"), endpoint.strip_prefix("http://"));
        assert_eq!(request.header("x-amz-security-token"), token);
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
            None,
            "tests",
        );
        assert_eq!(
            request.header("authorization"),
            Some(sdk_authorization(&request, &format!("{endpoint}/"), credentials).as_str())
        );
        assert_eq!(client.calls(), (1, 0));
    }
}

#[tokio::test]
async fn an_error_answer_is_an_answer_and_no_answer_is_unanswered() {
    let (endpoint, _) = fake_service(Arc::new(|_| {
        (
            400,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#.into(),
        )
    }))
    .await;
    let client = client_of(&endpoint, None).await;
    let answer = client.call("PutItem", BODY.into()).await.expect("answered");
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.error_type().as_deref(),
        Some("ConditionalCheckFailedException")
    );

    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let nobody = format!("http://127.0.0.1:{port}");
    let client = client_of(&nobody, None).await;
    assert_eq!(
        client.call("GetItem", BODY.into()).await.err(),
        Some(Unanswered)
    );
    assert_eq!(client.calls(), (0, 1));
}

#[tokio::test]
async fn a_refused_signature_leaves_every_later_call_to_the_sdk() {
    let (endpoint, received) = fake_service(Arc::new(|_| {
        (
            400,
            r#"{"__type":"com.amazon.coral.service#InvalidSignatureException","message":"Signature expired"}"#.into(),
        )
    }))
    .await;
    let client = client_of(&endpoint, None).await;
    let answer = client.call("GetItem", BODY.into()).await.expect("answered");
    assert_eq!(
        answer.error_type().as_deref(),
        Some("InvalidSignatureException")
    );
    assert_eq!(
        client.call("GetItem", BODY.into()).await.err(),
        Some(Unanswered)
    );
    assert_eq!(received.lock().expect("log").len(), 1, "nothing more sent");
}

#[tokio::test]
async fn an_endpoint_with_a_path_or_a_config_without_credentials_makes_no_client() {
    let sdk = sdk_config("http://127.0.0.1:9", None).await;
    assert!(
        DirectClient::new(&sdk, "http://127.0.0.1:9/prefix", SERVICE)
            .expect("settings")
            .is_none()
    );
    let bare = aws_config::SdkConfig::builder()
        .region(Region::new("eu-west-1"))
        .build();
    assert!(DirectClient::new(&bare, "http://127.0.0.1:9", SERVICE)
        .expect("settings")
        .is_none());
}
