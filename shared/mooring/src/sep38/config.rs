//! What SEP-38 quotes: the Stellar assets that list `sep38` in `ASSETS`, and the off-chain assets
//! of `OFFCHAIN_ASSETS` (a JSON array beside it) with their delivery methods and countries.

use serde::{Deserialize, Serialize};

use crate::config::{invalid, AnchorConfig, ConfigError, Sep, Source};
use crate::integrations::QuoteAsset;

/// The variable listing the off-chain assets.
const OFFCHAIN_ASSETS: &str = "OFFCHAIN_ASSETS";

/// How a client delivers an off-chain asset to the anchor, or receives it (`/info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryMethod {
    pub name: String,
    pub description: String,
}

/// One asset SEP-38 quotes, as `GET /info` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sep38Asset {
    /// `stellar:CODE:ISSUER` or `iso4217:XXX`.
    pub asset: String,
    /// The decimal places of its amounts (a Stellar asset's `significant_decimals`).
    #[serde(default = "cents", skip_serializing)]
    pub decimals: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sell_delivery_methods: Vec<DeliveryMethod>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buy_delivery_methods: Vec<DeliveryMethod>,
    /// ISO 3166-1 alpha-2 or ISO 3166-2 codes (off-chain assets only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub country_codes: Vec<String>,
}

fn cents() -> u32 {
    2
}

impl Sep38Asset {
    pub fn is_stellar(&self) -> bool {
        self.asset.starts_with("stellar:")
    }

    pub fn as_quote_asset(&self) -> QuoteAsset<'_> {
        QuoteAsset {
            id: &self.asset,
            decimals: self.decimals,
        }
    }
}

/// The assets SEP-38 quotes, Stellar ones first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sep38Config {
    pub assets: Vec<Sep38Asset>,
}

impl Sep38Config {
    pub fn from_source(src: &impl Source, anchor: &AnchorConfig) -> Result<Self, ConfigError> {
        let mut assets: Vec<Sep38Asset> = anchor
            .assets
            .iter()
            .filter(|asset| asset.offers(Sep::Sep38))
            .map(|asset| Sep38Asset {
                asset: asset.asset.sep38_id(),
                decimals: u32::from(asset.significant_decimals),
                sell_delivery_methods: Vec::new(),
                buy_delivery_methods: Vec::new(),
                country_codes: Vec::new(),
            })
            .collect();
        if let Some(json) = src.get(OFFCHAIN_ASSETS) {
            let offchain: Vec<Sep38Asset> =
                serde_json::from_str(&json).map_err(|e| invalid(OFFCHAIN_ASSETS, e))?;
            for asset in offchain {
                check_offchain(&asset).map_err(|reason| invalid(OFFCHAIN_ASSETS, reason))?;
                if assets.iter().any(|known| known.asset == asset.asset) {
                    let reason = format!("{} is listed twice", asset.asset);
                    return Err(invalid(OFFCHAIN_ASSETS, reason));
                }
                assets.push(asset);
            }
        }
        Ok(Self { assets })
    }

    /// The asset with this SEP-38 id.
    pub fn asset(&self, id: &str) -> Option<&Sep38Asset> {
        self.assets.iter().find(|asset| asset.asset == id)
    }
}

/// An off-chain asset is `iso4217:` and three capital letters, with at most 7 decimals,
/// two-letter (or ISO 3166-2) country codes and distinct, non-empty delivery method names.
fn check_offchain(asset: &Sep38Asset) -> Result<(), String> {
    let code = asset.asset.strip_prefix("iso4217:").unwrap_or_default();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "'{}' is not an off-chain asset id like iso4217:USD",
            asset.asset
        ));
    }
    if asset.decimals > 7 {
        return Err(format!("{}: decimals must be at most 7", asset.asset));
    }
    for country in &asset.country_codes {
        let (nation, region) = country.split_once('-').unwrap_or((country, "X"));
        let valid = nation.len() == 2
            && nation.bytes().all(|b| b.is_ascii_uppercase())
            && (1..=3).contains(&region.len())
            && region.bytes().all(|b| b.is_ascii_alphanumeric());
        if !valid {
            return Err(format!(
                "{}: '{country}' is not a country code",
                asset.asset
            ));
        }
    }
    for methods in [&asset.sell_delivery_methods, &asset.buy_delivery_methods] {
        for (index, method) in methods.iter().enumerate() {
            if method.name.trim().is_empty() {
                return Err(format!("{}: a delivery method has no name", asset.asset));
            }
            if methods[..index]
                .iter()
                .any(|other| other.name == method.name)
            {
                let name = &method.name;
                return Err(format!(
                    "{}: delivery method {name} is listed twice",
                    asset.asset
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const ISSUER: &str = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";

    fn settings(offchain: Option<&str>) -> BTreeMap<String, String> {
        let assets = format!(
            r#"[{{"code":"USDC","issuer":"{ISSUER}","seps":["sep24","sep38"],"significant_decimals":2}},
                {{"code":"EURC","issuer":"{ISSUER}","seps":["sep24"]}}]"#
        );
        let mut settings: BTreeMap<String, String> = [
            ("HOME_DOMAIN", "anchor.example"),
            ("NETWORK_PASSPHRASE", "Test SDF Network ; September 2015"),
            ("SIGNING_KEY", ISSUER),
            ("ASSETS", assets.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if let Some(json) = offchain {
            settings.insert(OFFCHAIN_ASSETS.into(), json.into());
        }
        settings
    }

    fn configure(offchain: Option<&str>) -> Result<Sep38Config, ConfigError> {
        let settings = settings(offchain);
        let anchor = AnchorConfig::from_source(&settings).expect("anchor");
        Sep38Config::from_source(&settings, &anchor)
    }

    #[test]
    fn lists_the_stellar_assets_offering_sep38_then_the_offchain_ones() {
        let json = r#"[{"asset":"iso4217:BRL","country_codes":["BR"],
            "sell_delivery_methods":[{"name":"PIX","description":"Pay with PIX"}]}]"#;
        let config = configure(Some(json)).expect("config");
        let ids: Vec<&str> = config.assets.iter().map(|a| a.asset.as_str()).collect();
        assert_eq!(
            ids,
            [format!("stellar:USDC:{ISSUER}").as_str(), "iso4217:BRL"]
        );
        assert_eq!(config.assets[0].decimals, 2);
        assert_eq!(config.asset("iso4217:BRL").expect("BRL").decimals, 2);
        assert!(config.asset("iso4217:USD").is_none());
        assert!(config.assets[0].is_stellar() && !config.assets[1].is_stellar());
        assert_eq!(configure(None).expect("no offchain").assets.len(), 1);
    }

    #[test]
    fn refuses_bad_offchain_assets_naming_the_variable() {
        for bad in [
            "not json",
            r#"[{"asset":"USD"}]"#,
            r#"[{"asset":"iso4217:usd"}]"#,
            r#"[{"asset":"iso4217:USD","decimals":8}]"#,
            r#"[{"asset":"iso4217:USD","country_codes":["USA"]}]"#,
            r#"[{"asset":"iso4217:USD","buy_delivery_methods":[{"name":" ","description":"x"}]}]"#,
            r#"[{"asset":"iso4217:USD","sell_delivery_methods":[{"name":"a","description":"x"},{"name":"a","description":"y"}]}]"#,
            r#"[{"asset":"iso4217:USD"},{"asset":"iso4217:USD"}]"#,
            r#"[{"asset":"iso4217:USD","price":"1"}]"#,
        ] {
            let error = configure(Some(bad)).expect_err(bad).to_string();
            assert!(
                error.starts_with("OFFCHAIN_ASSETS is invalid"),
                "{bad}: {error}"
            );
        }
    }
}
