//! The Lambda handler driven by a real API Gateway (HTTP API, payload 2.0) event.

use std::collections::BTreeMap;

use lambda_http::request::from_str;
use mooring::config::AnchorConfig;
use mooring::startup::StartupError;

const ISSUER: &str = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";
const DISTRIBUTION: &str = "GDVEU3DD4KOFECV66VIHWEZOYX4ZKR3WV27L464SIIPOU2IUI3JCZA57";

fn settings(assets: &str) -> BTreeMap<String, String> {
    [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", "Test SDF Network ; September 2015"),
        (
            "SIGNING_KEY",
            "GCEIDEQEWOX6QGJOCW7YDT7TVAZZGSZ33D2NT5OTVSXR7USIC6XFKVSM",
        ),
        ("ORG_NAME", "Example Anchor \"Ltd\""),
        ("ORG_URL", "https://anchor.example.com"),
        ("ASSETS", assets),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// As the function's `main`: the anchor's configuration parsed once, then the service.
fn start(settings: &BTreeMap<String, String>) -> Result<sep1_toml::Service, StartupError> {
    let anchor = AnchorConfig::from_source(settings)?;
    sep1_toml::service(settings, &anchor)
}

async fn get_toml(settings: &BTreeMap<String, String>) -> (u16, String, toml::Table) {
    let service = start(settings).unwrap();
    let request = from_str(include_str!("events/get_stellar_toml.json")).unwrap();
    let response = sep1_toml::handle(&service, request).await.unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = std::str::from_utf8(response.body()).unwrap().to_owned();
    (
        response.status().as_u16(),
        content_type,
        body.parse().unwrap(),
    )
}

#[tokio::test]
async fn serves_the_generated_toml() {
    let assets = format!(
        r#"[{{"code":"USDC","issuer":"{ISSUER}","distribution_account":"{DISTRIBUTION}","seps":["sep24"],
             "toml":{{"status":"live","display_decimals":2,"anchor_asset":"USD","desc":"US dollar"}}}},
           {{"code":"native"}}]"#
    );
    let (status, content_type, toml) = get_toml(&settings(&assets)).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain"));
    assert_eq!(toml["VERSION"].as_str(), Some("2.7.0"));
    assert_eq!(
        toml["NETWORK_PASSPHRASE"].as_str(),
        Some("Test SDF Network ; September 2015")
    );
    assert_eq!(
        toml["SIGNING_KEY"].as_str(),
        Some("GCEIDEQEWOX6QGJOCW7YDT7TVAZZGSZ33D2NT5OTVSXR7USIC6XFKVSM")
    );
    assert_eq!(
        toml["WEB_AUTH_ENDPOINT"].as_str(),
        Some("https://anchor.example.com/auth")
    );
    assert_eq!(
        toml["TRANSFER_SERVER_SEP0024"].as_str(),
        Some("https://anchor.example.com/sep24")
    );
    assert_eq!(
        toml["KYC_SERVER"].as_str(),
        Some("https://anchor.example.com/kyc")
    );
    // Only the servers of the SEPs an asset offers are advertised.
    for key in [
        "TRANSFER_SERVER",
        "DIRECT_PAYMENT_SERVER",
        "ANCHOR_QUOTE_SERVER",
    ] {
        assert!(toml.get(key).is_none(), "{key}");
    }
    let accounts: Vec<_> = toml["ACCOUNTS"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(accounts, [ISSUER, DISTRIBUTION]);
    let docs = toml["DOCUMENTATION"].as_table().unwrap();
    assert_eq!(docs["ORG_NAME"].as_str(), Some("Example Anchor \"Ltd\""));
    assert_eq!(docs["ORG_URL"].as_str(), Some("https://anchor.example.com"));
    let currencies = toml["CURRENCIES"].as_array().unwrap();
    let usdc = currencies[0].as_table().unwrap();
    assert_eq!(usdc["code"].as_str(), Some("USDC"));
    assert_eq!(usdc["issuer"].as_str(), Some(ISSUER));
    assert_eq!(
        usdc["status"].as_str(),
        Some("live"),
        "the asset's own toml fields win"
    );
    assert_eq!(usdc["display_decimals"].as_integer(), Some(2));
    assert_eq!(usdc["is_asset_anchored"].as_bool(), Some(true));
    assert_eq!(usdc["anchor_asset_type"].as_str(), Some("fiat"));
    let xlm = currencies[1].as_table().unwrap();
    assert_eq!(xlm["code"].as_str(), Some("native"));
    assert!(xlm.get("issuer").is_none());
    assert_eq!(xlm["status"].as_str(), Some("test"));
}

#[tokio::test]
async fn advertises_only_the_seps_configured() {
    let (_, _, toml) = get_toml(&settings("[]")).await;
    for key in [
        "TRANSFER_SERVER",
        "TRANSFER_SERVER_SEP0024",
        "DIRECT_PAYMENT_SERVER",
        "ANCHOR_QUOTE_SERVER",
        "ACCOUNTS",
        "CURRENCIES",
    ] {
        assert!(
            toml.get(key).is_none(),
            "{key} without an asset offering it"
        );
    }
    assert!(toml.get("WEB_AUTH_ENDPOINT").is_some());
    // SEP-12 is always served.
    assert_eq!(
        toml["KYC_SERVER"].as_str(),
        Some("https://anchor.example.com/kyc")
    );
}

#[tokio::test]
async fn advertises_the_direct_payment_server_of_a_sep31_asset() {
    let assets = format!(
        r#"[{{"code":"USDC","issuer":"{ISSUER}","seps":["sep31"],
             "receive":{{"funding_methods":["SEPA","SWIFT"]}}}}]"#
    );
    let (status, _, toml) = get_toml(&settings(&assets)).await;
    assert_eq!(status, 200);
    assert_eq!(
        toml["DIRECT_PAYMENT_SERVER"].as_str(),
        Some("https://anchor.example.com/sep31")
    );
    assert!(toml.get("TRANSFER_SERVER_SEP0024").is_none());
}

#[test]
fn refuses_to_start_with_a_sep31_asset_that_cannot_pay_receivers() {
    for receive in ["", r#","receive":{"funding_methods":[]}"#] {
        let assets =
            format!(r#"[{{"code":"USDC","issuer":"{ISSUER}","seps":["sep31"]{receive}}}]"#);
        let error = start(&settings(&assets)).err().unwrap().to_string();
        assert!(
            error.starts_with(
                "ASSETS is invalid: USDC: a SEP-31 asset needs \"receive\" with funding_methods"
            ),
            "{error}"
        );
    }
}

#[test]
fn refuses_to_start_on_bad_configuration() {
    let mut bad = settings("[]");
    bad.insert("SIGNING_KEY".into(), "GNOTAKEY".into());
    let error = start(&bad).err().unwrap().to_string();
    assert!(error.starts_with("SIGNING_KEY is invalid"), "{error}");
}
