//! The AWS SDK configuration every AWS adapter (DynamoDB, SQS, KMS, Secrets Manager) shares, built once per cold start.

use std::time::Duration;

use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::config::{ConfigError, Env};

pub mod direct;
#[cfg(feature = "secrets")]
pub mod secrets;
pub mod sigv4;
mod tls;

/// The SDK's configuration loader with this crate's HTTP client and timeouts: what the adapters'
/// `from_env` load, and what a test customises (endpoint, credentials). It trusts Amazon's root
/// CAs (or `AWS_CA_BUNDLE`'s, see `tls`); fails only on a bad `AWS_CA_BUNDLE`.
pub fn config_loader() -> Result<ConfigLoader, ConfigError> {
    Ok(config_loader_trusting(tls::context(&Env)?))
}

fn config_loader_trusting(tls: TlsContext) -> ConfigLoader {
    // The SDK's default HTTPS client is rustls on aws-lc-rs; the workspace's one crypto stack is
    // rustls on ring (reqwest), so the client is built on that instead.
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls);
    // Within a Lambda's 15 s: a DynamoDB or SQS call takes milliseconds, so an attempt that has
    // not answered in seconds is retried rather than waited for, and the whole call, retries
    // included, gives up early enough for the function to answer 503 itself.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(4))
        .operation_timeout(Duration::from_secs(10))
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https.build_https())
        .timeout_config(timeouts)
        // Stalled-stream protection watches a body's throughput with timers on every call (~1%
        // of a listing's instructions); the attempt timeout above already bounds every body,
        // none of these APIs streaming.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
}

/// The DynamoDB client of the function (built once per cold start), signing with the cached day
/// key and sending the trace header.
#[cfg(feature = "dynamodb")]
pub fn dynamodb_client(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .push_auth_scheme(sigv4::KeyCachingSigV4::default())
        .interceptor(TraceHeader);
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// The SQS client of the function (built once per cold start), signing with the cached day key
/// and sending the trace header.
#[cfg(feature = "sqs")]
pub fn sqs_client(sdk: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::config::Builder::from(sdk)
        .push_auth_scheme(sigv4::KeyCachingSigV4::default())
        .interceptor(TraceHeader);
    aws_sdk_sqs::Client::from_conf(config.build())
}

/// Sends the invocation's X-Ray trace header (`crate::telemetry::set_trace_id`) as
/// `X-Amzn-Trace-Id` on every AWS call, so X-Ray links the DynamoDB and SQS calls to the
/// invocation. The SDK's own recursion-detection interceptor does it from the
/// `_X_AMZN_TRACE_ID` variable, which our runtime loop never sets (see `mooring-lambda`).
#[derive(Debug)]
pub struct TraceHeader;

impl Intercept for TraceHeader {
    fn name(&self) -> &'static str {
        "TraceHeader"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        crate::telemetry::with_trace_id(|trace_id| {
            if let Some(trace_id) = trace_id {
                // A header value that cannot be sent is dropped, never the call.
                let _ = context
                    .request_mut()
                    .headers_mut()
                    .try_insert(TRACE_HEADER, trace_id.to_owned());
            }
        });
        Ok(())
    }
}

const TRACE_HEADER: &str = "x-amzn-trace-id";

#[cfg(all(test, feature = "dynamodb"))]
pub(crate) mod tests {
    use aws_config::Region;
    use aws_sdk_dynamodb::config::Credentials;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// The request head a DynamoDB call sends, answered with an empty `GetItem` result.
    async fn request_head_of_a_call() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut head = Vec::new();
            let mut buffer = [0_u8; 4096];
            while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                let read = stream.read(&mut buffer).await.expect("read");
                assert!(read > 0, "the client closed before a full request head");
                head.extend_from_slice(&buffer[..read]);
            }
            let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n\
                          content-length: 2\r\n\r\n{}";
            stream.write_all(answer.as_bytes()).await.expect("write");
            String::from_utf8(head).expect("UTF-8")
        });
        let sdk = config_loader()
            .expect("AWS settings")
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .load()
            .await;
        get_missing_item(&dynamodb_client(&sdk)).await;
        server.await.expect("server").to_ascii_lowercase()
    }

    /// A `GetItem` of an item the test server does not have (it answers `{}`).
    pub(crate) async fn get_missing_item(client: &aws_sdk_dynamodb::Client) {
        let item = try_get_missing_item(client).await.expect("GetItem");
        assert!(item.item.is_none());
    }

    /// The same call, its failure returned.
    pub(crate) async fn try_get_missing_item(
        client: &aws_sdk_dynamodb::Client,
    ) -> Result<
        aws_sdk_dynamodb::operation::get_item::GetItemOutput,
        aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::get_item::GetItemError>,
    > {
        client
            .get_item()
            .table_name("transactions")
            .key(
                "id",
                aws_sdk_dynamodb::types::AttributeValue::S("t-1".into()),
            )
            .send()
            .await
    }

    // One test for both cases: the trace slot is process-wide.
    #[tokio::test]
    async fn aws_calls_carry_the_invocation_trace_header_and_none_without_one() {
        let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        crate::telemetry::set_trace_id(Some(trace));
        let head = request_head_of_a_call().await;
        let expected = format!("x-amzn-trace-id: {}\r\n", trace.to_ascii_lowercase());
        assert!(head.contains(&expected), "{head}");

        let direct_call = direct_call_trace_header().await;
        assert_eq!(direct_call.as_deref(), Some(trace));

        crate::telemetry::set_trace_id(None);
        let head = request_head_of_a_call().await;
        assert!(!head.contains("x-amzn-trace-id"), "{head}");
        assert_eq!(direct_call_trace_header().await, None);
    }

    /// The trace header of a direct call (`direct`), if it sends one.
    async fn direct_call_trace_header() -> Option<String> {
        let (endpoint, received) =
            direct::tests::fake_service(std::sync::Arc::new(|_| (200, "{}".into()))).await;
        let client = direct::tests::client_of(&endpoint, None).await;
        client
            .call("GetItem", b"{}".to_vec())
            .await
            .expect("answered");
        let request = received.lock().expect("log").pop().expect("a request");
        request.header("x-amzn-trace-id").map(str::to_owned)
    }
}
