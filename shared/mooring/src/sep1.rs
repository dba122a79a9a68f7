//! SEP-1: the anchor's stellar.toml, generated from configuration and the toml integration.

use std::collections::BTreeSet;

use http::{Method, Request, StatusCode};
use toml::{Table, Value};

use crate::config::{AnchorConfig, AssetConfig, Sep};
use crate::error::ApiError;
use crate::http::{error_response, preflight, respond, HttpResponse};
use crate::integrations::TomlIntegration;

/// The SEP-1 version the generated file follows.
pub const SEP1_VERSION: &str = "2.7.0";

/// The stellar.toml key and path (under `PUBLIC_URL`) of each SEP's server, advertised when an
/// asset offers that SEP. Only the SEPs of [`Sep::SERVED`] can be offered (the others are refused
/// when `ASSETS` is parsed), so a server is never advertised before its function exists.
pub const SEP_SERVERS: [(Sep, &str, &str); 4] = [
    (Sep::Sep6, "TRANSFER_SERVER", "/sep6"),
    (Sep::Sep24, "TRANSFER_SERVER_SEP0024", "/sep24"),
    (Sep::Sep31, "DIRECT_PAYMENT_SERVER", "/sep31"),
    (Sep::Sep38, "ANCHOR_QUOTE_SERVER", "/sep38"),
];

/// Generates stellar.toml's table: global keys, `[DOCUMENTATION]`, `[[CURRENCIES]]`.
pub fn stellar_toml(anchor: &AnchorConfig, integration: &impl TomlIntegration) -> Table {
    let base = &anchor.public_url;
    let offered = |sep: Sep| anchor.assets.iter().any(|a| a.offers(sep));
    let mut toml = Table::new();
    let mut put = |key: &str, value: String| {
        toml.insert(key.to_owned(), Value::String(value));
    };
    put("VERSION", SEP1_VERSION.to_owned());
    put("NETWORK_PASSPHRASE", anchor.network.passphrase().to_owned());
    put("SIGNING_KEY", anchor.signing_account.to_string());
    put("WEB_AUTH_ENDPOINT", anchor.web_auth_endpoint());
    for (sep, key, path) in SEP_SERVERS {
        if offered(sep) {
            put(key, format!("{base}{path}"));
        }
    }
    // SEP-12 is always deployed (sep12-kyc): wallets and sending anchors may use it directly.
    put("KYC_SERVER", format!("{base}/kyc"));

    let accounts: BTreeSet<String> = anchor
        .assets
        .iter()
        .flat_map(|a| [a.asset.issuer().copied(), a.distribution_account])
        .flatten()
        .map(|a| a.to_string())
        .collect();
    if !accounts.is_empty() {
        toml.insert(
            "ACCOUNTS".into(),
            Value::Array(accounts.into_iter().map(Value::String).collect()),
        );
    }

    let documentation: Table = anchor
        .documentation
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
        .collect();
    toml.insert("DOCUMENTATION".into(), Value::Table(documentation));

    if !anchor.assets.is_empty() {
        let currencies = anchor
            .assets
            .iter()
            .map(|a| Value::Table(currency(anchor, a)))
            .collect();
        toml.insert("CURRENCIES".into(), Value::Array(currencies));
    }
    integration.extend_toml(&mut toml, anchor);
    toml
}

/// One `[[CURRENCIES]]` entry: code and issuer, defaults the SDF validator requires, then the
/// operator's `toml` fields from the asset's configuration.
fn currency(anchor: &AnchorConfig, asset: &AssetConfig) -> Table {
    let mut entry = Table::new();
    entry.insert("code".into(), Value::String(asset.asset.code().to_owned()));
    if let Some(issuer) = asset.asset.issuer() {
        entry.insert("issuer".into(), Value::String(issuer.to_string()));
    }
    let status = if anchor.network.is_public() {
        "live"
    } else {
        "test"
    };
    entry.insert("status".into(), Value::String(status.into()));
    entry.insert("is_asset_anchored".into(), Value::Boolean(true));
    entry.insert("anchor_asset_type".into(), Value::String("fiat".into()));
    entry.insert(
        "desc".into(),
        Value::String(format!(
            "{} offered by {}",
            asset.asset.code(),
            anchor.default_home_domain()
        )),
    );
    for (key, value) in &asset.toml {
        entry.insert(key.clone(), value.clone());
    }
    entry
}

/// The served file, rendered once at cold start.
pub struct StellarToml {
    body: String,
}

impl StellarToml {
    pub fn new(
        anchor: &AnchorConfig,
        integration: &impl TomlIntegration,
    ) -> Result<Self, toml::ser::Error> {
        let body = toml::to_string(&stellar_toml(anchor, integration))?;
        Ok(Self { body })
    }

    pub fn body(&self) -> &str {
        &self.body
    }

    /// `GET /.well-known/stellar.toml` (and `OPTIONS`).
    pub fn handle<B>(&self, request: &Request<B>) -> HttpResponse {
        match *request.method() {
            Method::GET | Method::HEAD => respond(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                self.body.clone(),
            ),
            Method::OPTIONS => preflight(),
            _ => error_response(&ApiError::MethodNotAllowed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct WithPrincipals;

    impl TomlIntegration for WithPrincipals {
        fn extend_toml(&self, toml: &mut Table, anchor: &AnchorConfig) {
            let mut principal = Table::new();
            principal.insert("name".into(), Value::String("Jane Doe".into()));
            toml.insert(
                "PRINCIPALS".into(),
                Value::Array(vec![Value::Table(principal)]),
            );
            // The hook may also change generated values.
            toml.insert(
                "VERSION".into(),
                Value::String(format!("2.7.0+{}", anchor.default_home_domain())),
            );
        }
    }

    #[test]
    fn each_sep_offered_advertises_its_server() {
        // One SEP per asset, set directly: each key appears with its own SEP only.
        let mut anchor = AnchorConfig::from_source(&[
            ("HOME_DOMAIN", "anchor.example.com"),
            ("NETWORK_PASSPHRASE", "Test SDF Network ; September 2015"),
            (
                "SIGNING_KEY",
                "GCEIDEQEWOX6QGJOCW7YDT7TVAZZGSZ33D2NT5OTVSXR7USIC6XFKVSM",
            ),
        ])
        .unwrap();
        for (sep, key, path) in SEP_SERVERS {
            anchor.assets =
                serde_json::from_str(&format!(r#"[{{"code":"native","seps":["{sep}"]}}]"#))
                    .unwrap();
            let toml = stellar_toml(&anchor, &WithPrincipals);
            for (_, other, _) in SEP_SERVERS {
                let expected = (other == key).then(|| format!("https://anchor.example.com{path}"));
                assert_eq!(
                    toml.get(other).and_then(Value::as_str),
                    expected.as_deref(),
                    "{sep} offered: {other}"
                );
            }
        }
    }

    #[test]
    fn a_sep31_asset_advertises_the_direct_payment_server() {
        let assets = r#"[{"code":"USDC","issuer":"GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ",
            "seps":["sep31"],"receive":{"funding_methods":["SEPA","SWIFT"]}}]"#;
        let anchor = AnchorConfig::from_source(&[
            ("HOME_DOMAIN", "localhost:8000"),
            ("PUBLIC_URL", "http://localhost:8000"),
            ("NETWORK_PASSPHRASE", "Test SDF Network ; September 2015"),
            (
                "SIGNING_KEY",
                "GCEIDEQEWOX6QGJOCW7YDT7TVAZZGSZ33D2NT5OTVSXR7USIC6XFKVSM",
            ),
            ("ASSETS", assets),
        ])
        .expect("a SEP-31 asset is served");
        let parsed: Table = StellarToml::new(&anchor, &WithPrincipals)
            .unwrap()
            .body()
            .parse()
            .unwrap();
        assert_eq!(
            parsed["DIRECT_PAYMENT_SERVER"].as_str(),
            Some("http://localhost:8000/sep31")
        );
        // Sending anchors register senders and receivers through SEP-12.
        assert_eq!(
            parsed["KYC_SERVER"].as_str(),
            Some("http://localhost:8000/kyc")
        );
        for other in [
            "TRANSFER_SERVER",
            "TRANSFER_SERVER_SEP0024",
            "ANCHOR_QUOTE_SERVER",
        ] {
            assert!(parsed.get(other).is_none(), "{other}");
        }
    }

    /// The file of a minimal configuration, extended by [`WithPrincipals`].
    fn served_with_principals() -> StellarToml {
        let anchor = AnchorConfig::from_source(&[
            ("HOME_DOMAIN", "anchor.example.com"),
            ("NETWORK_PASSPHRASE", "Test SDF Network ; September 2015"),
            (
                "SIGNING_KEY",
                "GCEIDEQEWOX6QGJOCW7YDT7TVAZZGSZ33D2NT5OTVSXR7USIC6XFKVSM",
            ),
        ])
        .unwrap();
        StellarToml::new(&anchor, &WithPrincipals).unwrap()
    }

    #[test]
    fn the_toml_integration_extends_the_generated_file() {
        let served = served_with_principals();
        let parsed: Table = served.body().parse().unwrap();
        assert_eq!(parsed["PRINCIPALS"][0]["name"].as_str(), Some("Jane Doe"));
        assert_eq!(parsed["VERSION"].as_str(), Some("2.7.0+anchor.example.com"));
        assert_eq!(
            parsed["DOCUMENTATION"]["ORG_NAME"].as_str(),
            Some("anchor.example.com")
        );
    }

    /// SEP-1 reads nothing a client sends: a body or query of any size changes nothing, and a
    /// method other than GET/HEAD/OPTIONS is a 405 `{"error"}`.
    #[test]
    fn client_input_is_ignored_or_refused() {
        let served = served_with_principals();
        let huge = "a".repeat(crate::limits::MAX_FORM_BYTES + 1);
        let query = "q".repeat(crate::limits::MAX_PARAM_BYTES + 1);
        let get = Request::get(format!("/.well-known/stellar.toml?x={query}"))
            .body(huge.clone())
            .unwrap();
        let response = served.handle(&get);
        assert_eq!(response.status(), 200);
        assert_eq!(response.body(), served.body());
        let post = Request::post("/.well-known/stellar.toml")
            .body(huge)
            .unwrap();
        let response = served.handle(&post);
        assert_eq!(response.status(), 405);
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert!(body["error"].is_string());
    }
}
