//! What the AWS clients' HTTPS trusts: Amazon's root CAs, compiled in, or the bundle
//! `AWS_CA_BUNDLE` names.
//!
//! Not the system's store, the SDK's default: it would read and parse every certificate of it at
//! each cold start (by callgrind ~17 million instructions of a 23-million-instruction init, for
//! the five roots that AWS endpoints chain to).

use std::borrow::Cow;

use aws_smithy_http_client::tls::{TlsContext, TrustStore};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::config::{invalid, ConfigError, Source};

/// Names a PEM file of root certificates that the AWS clients trust instead of Amazon's (a TLS
/// proxy, an emulator over HTTPS): the variable the AWS CLI and boto3 read.
pub(crate) const CA_BUNDLE: &str = "AWS_CA_BUNDLE";

/// The root CAs of Amazon Trust Services, which issue every AWS endpoint's certificate.
const AMAZON_ROOT_CAS: &[u8] = include_bytes!("amazon_root_cas.pem");

/// The TLS settings of the AWS clients' HTTPS client.
pub(crate) fn context(settings: &impl Source) -> Result<TlsContext, ConfigError> {
    TlsContext::builder()
        .with_trust_store(trust_store(settings)?)
        .build()
        .map_err(|error| invalid(CA_BUNDLE, error))
}

fn trust_store(settings: &impl Source) -> Result<TrustStore, ConfigError> {
    Ok(TrustStore::empty().with_pem_certificate(roots_pem(settings)?))
}

/// The same roots for a reqwest client (`aws::direct`).
pub(crate) fn reqwest_roots(
    settings: &impl Source,
) -> Result<Vec<reqwest::Certificate>, ConfigError> {
    reqwest::Certificate::from_pem_bundle(&roots_pem(settings)?)
        .map_err(|error| invalid(CA_BUNDLE, error))
}

/// The PEM of the roots to trust: Amazon's, or the checked bundle `AWS_CA_BUNDLE` names.
fn roots_pem(settings: &impl Source) -> Result<Cow<'static, [u8]>, ConfigError> {
    let Some(path) = settings.get(CA_BUNDLE) else {
        return Ok(Cow::Borrowed(AMAZON_ROOT_CAS));
    };
    let pem =
        std::fs::read(&path).map_err(|error| invalid(CA_BUNDLE, format!("{path}: {error}")))?;
    count_roots(&pem).map_err(|reason| invalid(CA_BUNDLE, format!("{path}: {reason}")))?;
    Ok(Cow::Owned(pem))
}

/// The root certificates of a PEM bundle, loaded as the SDK's rustls client will load them (it
/// panics on one it cannot use, so a bad bundle is refused at start instead).
fn count_roots(pem: &[u8]) -> Result<usize, String> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(pem) {
        let certificate = certificate.map_err(|error| format!("not a PEM certificate: {error}"))?;
        roots
            .add(certificate)
            .map_err(|error| format!("a certificate that cannot be a root: {error}"))?;
    }
    match roots.len() {
        0 => Err("no PEM certificate".into()),
        count => Ok(count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amazon_root_cas_are_the_five_of_amazon_trust_services() {
        assert_eq!(count_roots(AMAZON_ROOT_CAS), Ok(5));
    }

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        assert_eq!(count_roots(b""), Err("no PEM certificate".into()));
        assert_eq!(
            count_roots(b"not a PEM file"),
            Err("no PEM certificate".into())
        );
        let broken = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert!(count_roots(broken).is_err());
    }

    #[test]
    fn an_unreadable_bundle_names_the_setting_and_the_file() {
        let settings = [(CA_BUNDLE, "/nonexistent/bundle.pem")];
        let error = trust_store(&settings)
            .expect_err("no such file")
            .to_string();
        assert!(
            error.starts_with("AWS_CA_BUNDLE is invalid: /nonexistent/bundle.pem: "),
            "{error}"
        );
    }

    /// A DynamoDB call to an HTTPS endpoint whose certificate chains to a test CA: trusted only
    /// when that CA is the bundle.
    #[cfg(feature = "dynamodb")]
    mod handshake {
        use std::sync::Arc;

        use aws_config::retry::RetryConfig;
        use aws_config::Region;
        use aws_sdk_dynamodb::config::Credentials;
        use aws_smithy_types::error::display::DisplayErrorContext;
        use rustls::pki_types::PrivateKeyDer;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::TcpListener;
        use tokio_rustls::TlsAcceptor;

        use super::*;

        const TEST_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/aws/testdata/test_ca.pem");

        /// Serves HTTPS as `localhost` (the test CA's certificate) and answers each request head
        /// with an empty `GetItem` result; a refused handshake only ends its connection.
        async fn dynamodb_over_tls() -> String {
            let chain = CertificateDer::pem_slice_iter(include_bytes!("testdata/localhost.pem"))
                .collect::<Result<Vec<_>, _>>()
                .expect("certificate");
            let key = PrivateKeyDer::from_pem_slice(include_bytes!("testdata/localhost.key"))
                .expect("key");
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("protocols")
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .expect("server certificate");
            let acceptor = TlsAcceptor::from(Arc::new(config));
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let port = listener.local_addr().expect("address").port();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let Ok(mut stream) = acceptor.accept(stream).await else {
                        continue;
                    };
                    let mut head = Vec::new();
                    let mut buffer = [0_u8; 4096];
                    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(read) if read > 0 => head.extend_from_slice(&buffer[..read]),
                            _ => break,
                        }
                    }
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n\
                                  content-length: 2\r\n\r\n{}";
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                }
            });
            format!("https://localhost:{port}")
        }

        async fn get_item(settings: &impl Source) -> Result<(), String> {
            let endpoint = dynamodb_over_tls().await;
            let sdk = crate::aws::config_loader_trusting(context(settings).expect("TLS settings"))
                .endpoint_url(endpoint)
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
                .retry_config(RetryConfig::disabled())
                .load()
                .await;
            crate::aws::tests::try_get_missing_item(&crate::aws::dynamodb_client(&sdk))
                .await
                .map(|_| ())
                .map_err(|error| DisplayErrorContext(error).to_string())
        }

        #[tokio::test]
        async fn a_certificate_of_another_ca_is_refused_by_default() {
            let error = get_item(&[("UNRELATED", "")])
                .await
                .expect_err("untrusted CA");
            assert!(error.contains("UnknownIssuer"), "{error}");
        }

        #[tokio::test]
        async fn the_ca_bundle_replaces_amazons_roots() {
            get_item(&[(CA_BUNDLE, TEST_CA)])
                .await
                .expect("trusted through AWS_CA_BUNDLE");
        }
    }
}
