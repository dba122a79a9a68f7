//! The AWS SDK configuration every AWS adapter (DynamoDB, SQS) shares, built once per cold start.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

/// The SDK's configuration loader with this crate's HTTP client and timeouts: what the adapters'
/// `from_env` load, and what a test customises (endpoint, credentials).
pub fn config_loader() -> ConfigLoader {
    // The SDK's default HTTPS client is rustls on aws-lc-rs; the workspace's one crypto stack is
    // rustls on ring (reqwest), so the client is built on that instead. It trusts the system's
    // root certificates, which the Lambda image provides.
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    // Within a Lambda's 15 s: a DynamoDB or SQS call takes milliseconds, so an attempt that has
    // not answered in seconds is retried rather than waited for, and the whole call, retries
    // included, gives up early enough for the function to answer 503 itself.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(4))
        .operation_timeout(Duration::from_secs(10))
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .timeout_config(timeouts)
}
