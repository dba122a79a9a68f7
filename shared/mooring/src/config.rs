//! Typed configuration, read once at cold start from the environment. Every error names the
//! variable at fault; secrets are wrapped so that `Debug` never prints them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::limits;
use crate::stellar::{
    AccountId, Amount, Asset, Keypair, Network, Signer, SignerError, VerifyingAccount,
};

mod signing_key;
pub use signing_key::{connect_signing_key, local_signing_key, signing_key_location};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

pub(crate) fn invalid(name: &'static str, reason: impl fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.to_string(),
    }
}

/// Where settings come from: the process environment in Lambda, a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment. Empty values count as unset.
pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Source for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
    }
}

impl<const N: usize> Source for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, v)| *k == name && !v.trim().is_empty())
            .map(|(_, v)| (*v).to_owned())
    }
}

fn required(src: &impl Source, name: &'static str) -> Result<String, ConfigError> {
    src.get(name).ok_or(ConfigError::Missing(name))
}

fn parse_or<T: std::str::FromStr>(
    src: &impl Source,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    match src.get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e| invalid(name, e)),
    }
}

fn seconds(src: &impl Source, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let secs: u64 = parse_or(src, name, default)?;
    if secs == 0 {
        return Err(invalid(name, "must be a positive number of seconds"));
    }
    Ok(Duration::from_secs(secs))
}

/// [`seconds`], at most `max` (a bound of [`crate::limits`]).
fn seconds_at_most(
    src: &impl Source,
    name: &'static str,
    default: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    let duration = seconds(src, name, default)?;
    if duration.as_secs() > max {
        return Err(invalid(name, format!("must be at most {max} seconds")));
    }
    Ok(duration)
}

fn list(src: &impl Source, name: &str) -> Vec<String> {
    src.get(name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A secret string (JWT key). `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct Secret(zeroize::Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(zeroize::Zeroizing::new(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// A retired JWT secret during a rotation (`JWT_SECRET_PREVIOUS`, `JWT_SECRET_PREVIOUS_UNTIL`):
/// tokens it signed are accepted until `until` (Unix seconds), then refused.
#[derive(Debug, Clone)]
pub struct PreviousJwtSecret {
    pub secret: Secret,
    pub until: u64,
}

impl PreviousJwtSecret {
    pub fn from_source(src: &impl Source) -> Result<Option<Self>, ConfigError> {
        let Some(secret) = src.get("JWT_SECRET_PREVIOUS") else {
            return Ok(None);
        };
        let until = required(src, "JWT_SECRET_PREVIOUS_UNTIL")?
            .trim()
            .parse()
            .map_err(|e| invalid("JWT_SECRET_PREVIOUS_UNTIL", e))?;
        Ok(Some(Self {
            secret: Secret::new(secret),
            until,
        }))
    }

    /// The keys of `secret`, also accepting this previous secret's tokens until its deadline.
    pub fn keys(previous: Option<&Self>, secret: &Secret, issuer: String) -> crate::sep10::JwtKeys {
        let keys = crate::sep10::JwtKeys::new(secret, issuer);
        match previous {
            Some(previous) => keys.with_previous(&previous.secret, previous.until),
            None => keys,
        }
    }
}

/// The retired SEP-10 key during a rotation: its public key and until when (Unix seconds) the
/// challenges it signed are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousSigningKey {
    pub account: AccountId,
    pub until: u64,
}

impl PreviousSigningKey {
    pub fn from_source(src: &impl Source) -> Result<Option<Self>, ConfigError> {
        let Some(account) = src.get("SIGNING_KEY_PREVIOUS") else {
            return Ok(None);
        };
        Ok(Some(Self {
            account: account
                .trim()
                .parse()
                .map_err(|e| invalid("SIGNING_KEY_PREVIOUS", e))?,
            until: required(src, "SIGNING_KEY_PREVIOUS_UNTIL")?
                .trim()
                .parse()
                .map_err(|e| invalid("SIGNING_KEY_PREVIOUS_UNTIL", e))?,
        }))
    }
}

/// Settings every function shares: who the anchor is, on which network, with which assets.
#[derive(Debug, Clone)]
pub struct AnchorConfig {
    /// Domains this server answers for; the first is the default `home_domain`.
    pub home_domains: Vec<String>,
    /// Public base URL of the HTTP API, without a trailing slash (`https://anchor.example.com`).
    pub public_url: String,
    pub network: Network,
    /// The SEP-10 server account (`SIGNING_KEY` in stellar.toml).
    pub signing_account: AccountId,
    pub horizon_url: String,
    pub assets: Vec<AssetConfig>,
    /// `[DOCUMENTATION]` of stellar.toml: `ORG_*` variables, keyed by their toml name.
    pub documentation: BTreeMap<&'static str, String>,
    /// How long transactions may wait on their users (`EXPIRE_*_AFTER_SECONDS`, ...): read by
    /// every function that moves a transaction into a waiting status, which sets its deadline.
    pub expiry: crate::lifecycle::expiry::ExpiryConfig,
}

/// The `[DOCUMENTATION]` keys of SEP-1, each read from the variable of the same name.
pub const DOCUMENTATION_KEYS: [&str; 17] = [
    "ORG_NAME",
    "ORG_DBA",
    "ORG_URL",
    "ORG_LOGO",
    "ORG_DESCRIPTION",
    "ORG_PHYSICAL_ADDRESS",
    "ORG_PHYSICAL_ADDRESS_ATTESTATION",
    "ORG_PHONE_NUMBER",
    "ORG_PHONE_NUMBER_ATTESTATION",
    "ORG_KEYBASE",
    "ORG_TWITTER",
    "ORG_GITHUB",
    "ORG_OFFICIAL_EMAIL",
    "ORG_SUPPORT_EMAIL",
    "ORG_LICENSING_AUTHORITY",
    "ORG_LICENSE_TYPE",
    "ORG_LICENSE_NUMBER",
];

impl AnchorConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let home_domains = list(src, "HOME_DOMAINS");
        let home_domains = if home_domains.is_empty() {
            vec![required(src, "HOME_DOMAIN")?.trim().to_ascii_lowercase()]
        } else {
            home_domains
        };
        let home_name = if src.get("HOME_DOMAINS").is_some() {
            "HOME_DOMAINS"
        } else {
            "HOME_DOMAIN"
        };
        for domain in &home_domains {
            validate_domain(domain).map_err(|reason| invalid(home_name, reason))?;
            // The challenge's first op is named "<home_domain> auth", at most 64 bytes.
            if domain.len() > 59 {
                return Err(invalid(
                    home_name,
                    format!("'{domain}' is longer than 59 characters"),
                ));
            }
        }

        let public_url = match src.get("PUBLIC_URL") {
            Some(url) => {
                let parsed = url::Url::parse(url.trim()).map_err(|e| invalid("PUBLIC_URL", e))?;
                if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
                    return Err(invalid("PUBLIC_URL", "must be an http(s) URL with a host"));
                }
                url.trim().trim_end_matches('/').to_owned()
            }
            None => format!("https://{}", home_domains[0]),
        };

        let network = Network::new(required(src, "NETWORK_PASSPHRASE")?);

        let signing_account = match (src.get("SIGNING_KEY"), src.get("SIGNING_SEED")) {
            (Some(key), seed) => {
                let key: AccountId = key.trim().parse().map_err(|e| invalid("SIGNING_KEY", e))?;
                if let Some(seed) = seed {
                    let pair =
                        Keypair::from_secret_seed(&seed).map_err(|e| invalid("SIGNING_SEED", e))?;
                    if pair.account_id() != key {
                        return Err(invalid("SIGNING_KEY", "does not match SIGNING_SEED"));
                    }
                }
                key
            }
            (None, Some(seed)) => Keypair::from_secret_seed(&seed)
                .map_err(|e| invalid("SIGNING_SEED", e))?
                .account_id(),
            (None, None) => return Err(ConfigError::Missing("SIGNING_KEY")),
        };

        let horizon_url = match src.get("HORIZON_URL") {
            Some(url) => {
                url::Url::parse(url.trim()).map_err(|e| invalid("HORIZON_URL", e))?;
                url.trim().trim_end_matches('/').to_owned()
            }
            None if network.is_public() => "https://horizon.stellar.org".to_owned(),
            None if network.passphrase() == Network::TESTNET_PASSPHRASE => {
                "https://horizon-testnet.stellar.org".to_owned()
            }
            None => return Err(ConfigError::Missing("HORIZON_URL")),
        };

        let assets = match (src.get("ASSETS"), src.get("ASSETS_FILE")) {
            (Some(json), _) => parse_assets(&json).map_err(|e| invalid("ASSETS", e))?,
            (None, Some(path)) => {
                let json =
                    std::fs::read_to_string(path.trim()).map_err(|e| invalid("ASSETS_FILE", e))?;
                parse_assets(&json).map_err(|e| invalid("ASSETS_FILE", e))?
            }
            (None, None) => Vec::new(),
        };

        let mut documentation: BTreeMap<&'static str, String> = DOCUMENTATION_KEYS
            .iter()
            .filter_map(|key| src.get(key).map(|v| (*key, v)))
            .collect();
        // Wallet SDKs expect ORG_NAME.
        documentation
            .entry("ORG_NAME")
            .or_insert_with(|| home_domains[0].clone());

        Ok(Self {
            home_domains,
            public_url,
            network,
            signing_account,
            horizon_url,
            assets,
            documentation,
            expiry: crate::lifecycle::expiry::ExpiryConfig::from_source(src)?,
        })
    }

    pub fn default_home_domain(&self) -> &str {
        &self.home_domains[0]
    }

    /// Whether the API is served over https (`PUBLIC_URL`'s scheme). Only then is the SEP-24
    /// session cookie `Secure`: clients would never send a `Secure` cookie to a plain-http stack.
    pub fn serves_https(&self) -> bool {
        self.public_url
            .get(.."https://".len())
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
    }

    /// The SEP-10 endpoint (`WEB_AUTH_ENDPOINT`), also the JWT issuer.
    pub fn web_auth_endpoint(&self) -> String {
        format!("{}/auth", self.public_url)
    }

    pub fn find_asset(&self, code: &str, issuer: Option<&AccountId>) -> Option<&AssetConfig> {
        self.assets
            .iter()
            .find(|a| a.asset.code() == code && (issuer.is_none() || a.asset.issuer() == issuer))
    }
}

/// Checks a `host[:port]` domain as used in SEP-10 and SEP-1 (no scheme, path or user info).
pub fn validate_domain(domain: &str) -> Result<(), String> {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not a domain (host or host:port)",
            domain.chars().take(80).collect::<String>()
        ))
    }
}

/// The SEPs an asset can be offered through (its `seps` in `ASSETS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sep {
    Sep6,
    Sep24,
    Sep31,
    Sep38,
}

impl Sep {
    /// The SEPs this deployment serves, i.e. has a function for. An asset listing another one
    /// is a configuration error, so stellar.toml never advertises a server that does not exist
    /// (`sep1::stellar_toml` advertises each SEP an asset offers). Add a SEP here when its
    /// function lands.
    pub const SERVED: &'static [Sep] = &[Sep::Sep6, Sep::Sep24, Sep::Sep31, Sep::Sep38];

    /// The name used in `seps` (`sep24`).
    pub fn name(self) -> &'static str {
        match self {
            Sep::Sep6 => "sep6",
            Sep::Sep24 => "sep24",
            Sep::Sep31 => "sep31",
            Sep::Sep38 => "sep38",
        }
    }

    pub fn is_served(self) -> bool {
        Self::SERVED.contains(&self)
    }
}

impl fmt::Display for Sep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Limits and fees for one direction (deposit or withdraw) of an asset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferLimits {
    #[serde(default = "yes")]
    pub enabled: bool,
    pub min_amount: Option<Amount>,
    pub max_amount: Option<Amount>,
    pub fee_fixed: Option<Amount>,
    /// Percentage points, e.g. `1.5` for 1.5 %.
    pub fee_percent: Option<Amount>,
    /// The smallest fee charged (SEP-24 `fee_minimum`).
    pub fee_minimum: Option<Amount>,
    /// SEP-6: how users move the off-chain funds (`funding_methods` in `/info`, e.g.
    /// `bank_transfer`); the names SEP-38 delivery methods use. Required for a SEP-6 asset.
    #[serde(default)]
    pub funding_methods: Vec<String>,
}

fn yes() -> bool {
    true
}

fn stellar_decimals() -> u8 {
    7
}

/// One asset the anchor offers, as configured in `ASSETS` / `ASSETS_FILE` (a JSON array).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetConfig {
    #[serde(flatten)]
    pub asset: AssetRef,
    /// The account that sends deposits and receives withdrawals (defaults to the issuer).
    pub distribution_account: Option<AccountId>,
    #[serde(default)]
    pub seps: Vec<Sep>,
    /// Decimal places users may enter for this asset (e.g. 2 for a USD stablecoin); at most 7.
    #[serde(default = "stellar_decimals")]
    pub significant_decimals: u8,
    pub deposit: Option<TransferLimits>,
    pub withdraw: Option<TransferLimits>,
    /// SEP-31: payments received from sending anchors (limits, fees, `funding_methods`: how
    /// receivers are paid).
    pub receive: Option<TransferLimits>,
    /// Extra `[[CURRENCIES]]` fields for stellar.toml (status, desc, anchor_asset_type, ...).
    #[serde(default)]
    pub toml: toml::Table,
}

/// `code` + `issuer` in the config file, parsed into an [`Asset`].
#[derive(Debug, Clone)]
pub struct AssetRef(pub Asset);

impl std::ops::Deref for AssetRef {
    type Target = Asset;
    fn deref(&self) -> &Asset {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AssetRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            code: String,
            issuer: Option<AccountId>,
        }
        let raw = Raw::deserialize(deserializer)?;
        match (raw.code.as_str(), raw.issuer) {
            ("native" | "XLM", None) => Ok(AssetRef(Asset::Native)),
            (_, None) => Err(serde::de::Error::custom(format!(
                "asset {} needs an issuer",
                raw.code
            ))),
            (code, Some(issuer)) => Asset::credit(code, issuer)
                .map(AssetRef)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl AssetConfig {
    pub fn offers(&self, sep: Sep) -> bool {
        self.seps.contains(&sep)
    }

    pub fn distribution_account(&self) -> Option<AccountId> {
        self.distribution_account
            .or_else(|| self.asset.issuer().copied())
    }
}

fn parse_assets(json: &str) -> Result<Vec<AssetConfig>, String> {
    let assets: Vec<AssetConfig> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    for (i, a) in assets.iter().enumerate() {
        if assets[..i].iter().any(|b| b.asset.0 == a.asset.0) {
            return Err(format!("asset {} is listed twice", a.asset.0));
        }
        if let Some(sep) = a.seps.iter().find(|sep| !sep.is_served()) {
            let available: Vec<&str> = Sep::SERVED.iter().map(|sep| sep.name()).collect();
            return Err(format!(
                "asset {} lists {sep}, which this deployment does not serve yet (available: {})",
                a.asset.code(),
                available.join(", ")
            ));
        }
        if a.significant_decimals > 7 {
            return Err(format!(
                "{}: significant_decimals must be at most 7",
                a.asset.code()
            ));
        }
        check_receive(a)?;
        for (dir, limits) in [("deposit", &a.deposit), ("withdraw", &a.withdraw)] {
            if a.offers(Sep::Sep6)
                && limits
                    .as_ref()
                    .is_some_and(|l| l.enabled && l.funding_methods.is_empty())
            {
                return Err(format!(
                    "{} {dir}: a SEP-6 asset needs funding_methods (e.g. [\"bank_transfer\"])",
                    a.asset.code()
                ));
            }
            if let Some(TransferLimits {
                min_amount: Some(min),
                max_amount: Some(max),
                ..
            }) = limits
            {
                if min > max {
                    return Err(format!(
                        "{} {dir}: min_amount is above max_amount",
                        a.asset.code()
                    ));
                }
            }
        }
    }
    Ok(assets)
}

/// An asset offered through SEP-31 needs its `receive` direction, enabled, with the
/// `funding_methods` receivers are paid by; and receive limits (any asset's) must be ordered.
fn check_receive(a: &AssetConfig) -> Result<(), String> {
    let code = a.asset.code();
    if a.offers(Sep::Sep31)
        && !a
            .receive
            .as_ref()
            .is_some_and(|l| l.enabled && !l.funding_methods.is_empty())
    {
        return Err(format!(
            "{code}: a SEP-31 asset needs \"receive\" with funding_methods (e.g. \
             {{\"funding_methods\": [\"SEPA\"]}})"
        ));
    }
    if let Some(TransferLimits {
        min_amount: Some(min),
        max_amount: Some(max),
        ..
    }) = &a.receive
    {
        if min > max {
            return Err(format!("{code} receive: min_amount is above max_amount"));
        }
    }
    Ok(())
}

/// SEP-24 settings: the interactive flow's link and session lifetimes, and the features `/info`
/// announces (the deposit submitter honours them).
#[derive(Debug, Clone)]
pub struct Sep24Config {
    /// How long the link in a `POST .../interactive` answer can be opened (`INTERACTIVE_TOKEN_SECONDS`,
    /// default 300); it works once.
    pub token_ttl: Duration,
    /// How long the browser session of the flow lasts (`INTERACTIVE_SESSION_SECONDS`, default 1800).
    pub session_ttl: Duration,
    /// Deposits to accounts that do not exist create them (`SEP24_ACCOUNT_CREATION`, default true).
    pub account_creation: bool,
    /// Deposits may be paid as claimable balances to wallets that support them
    /// (`SEP24_CLAIMABLE_BALANCES`, default false).
    pub claimable_balances: bool,
}

impl Sep24Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            token_ttl: seconds(src, "INTERACTIVE_TOKEN_SECONDS", 300)?,
            session_ttl: seconds(src, "INTERACTIVE_SESSION_SECONDS", 1800)?,
            account_creation: parse_or(src, "SEP24_ACCOUNT_CREATION", true)?,
            claimable_balances: parse_or(src, "SEP24_CLAIMABLE_BALANCES", false)?,
        })
    }
}

/// SEP-10 settings: the signing key, JWT key and lifetimes, client-domain policy.
#[derive(Debug, Clone)]
pub struct Sep10Config {
    /// Signs challenges: the SEP-10 key, a local seed or a key in KMS ([`signing_key_location`]).
    pub signer: Arc<dyn Signer>,
    /// Its public key (`SIGNING_KEY`), which is all that checking our own signature needs.
    pub server_key: VerifyingAccount,
    pub jwt_secret: Secret,
    /// The JWT secret being retired, during a rotation.
    pub jwt_previous: Option<PreviousJwtSecret>,
    /// The SEP-10 key being retired, during a rotation (`SIGNING_KEY_PREVIOUS`): challenges it
    /// issued are accepted until `SIGNING_KEY_PREVIOUS_UNTIL`.
    pub signing_previous: Option<PreviousSigningKey>,
    /// The `web_auth_domain` value put in and expected back in challenges (default: the host
    /// and port of PUBLIC_URL).
    pub web_auth_domain: String,
    pub challenge_ttl: Duration,
    pub jwt_ttl: Duration,
    pub client_domain: ClientDomainPolicy,
}

#[derive(Debug, Clone)]
pub struct ClientDomainPolicy {
    /// Refuse challenges without a client_domain.
    pub required: bool,
    /// When non-empty, only these client domains are verified; others are ignored (or refused
    /// when `required`).
    pub allow: Vec<String>,
    /// Client domains that are never verified.
    pub deny: Vec<String>,
    pub timeout: Duration,
    /// Development only: fetch stellar.toml over plain http and from loopback/private addresses.
    pub allow_insecure: bool,
}

impl ClientDomainPolicy {
    /// Whether a client domain is one this server verifies.
    pub fn accepts(&self, domain: &str) -> bool {
        !self.deny.iter().any(|d| d == domain)
            && (self.allow.is_empty() || self.allow.iter().any(|d| d == domain))
    }
}

impl Sep10Config {
    pub fn from_env(anchor: &AnchorConfig) -> Result<Self, ConfigError> {
        Self::from_source(&Env, anchor)
    }

    /// With a local key (`SIGNING_SEED`) only: a key in KMS is refused here, the function
    /// connects it with [`Sep10Config::connect`].
    pub fn from_source(src: &impl Source, anchor: &AnchorConfig) -> Result<Self, ConfigError> {
        let signer = local_signing_key(src, anchor)?;
        Self::with_signer(src, anchor, signer)
    }

    /// [`Sep10Config::from_source`] with the SEP-10 key wherever it is: `kms` connects a key in
    /// KMS (reads its public key, once per cold start).
    pub async fn connect<F, Fut>(
        src: &impl Source,
        anchor: &AnchorConfig,
        kms: F,
    ) -> Result<Self, ConfigError>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Result<Arc<dyn Signer>, SignerError>>,
    {
        let signer = connect_signing_key(src, anchor, kms).await?;
        Self::with_signer(src, anchor, signer)
    }

    /// The settings around a connected SEP-10 key (already checked against `SIGNING_KEY`).
    fn with_signer(
        src: &impl Source,
        anchor: &AnchorConfig,
        signer: Arc<dyn Signer>,
    ) -> Result<Self, ConfigError> {
        let server_key =
            VerifyingAccount::new(signer.account_id()).map_err(|e| invalid("SIGNING_KEY", e))?;
        let jwt_secret = required(src, "JWT_SECRET")?;
        if jwt_secret.len() < 32 {
            return Err(invalid("JWT_SECRET", "must be at least 32 characters"));
        }
        let web_auth_domain = match src.get("WEB_AUTH_DOMAIN") {
            Some(domain) => {
                let domain = domain.trim().to_ascii_lowercase();
                validate_domain(&domain).map_err(|e| invalid("WEB_AUTH_DOMAIN", e))?;
                domain
            }
            None => {
                let url =
                    url::Url::parse(&anchor.public_url).map_err(|e| invalid("PUBLIC_URL", e))?;
                let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
                match url.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                }
            }
        };
        if web_auth_domain.len() > 64 {
            return Err(invalid("WEB_AUTH_DOMAIN", "must be at most 64 bytes"));
        }
        Ok(Self {
            signer,
            server_key,
            jwt_secret: Secret::new(jwt_secret),
            jwt_previous: PreviousJwtSecret::from_source(src)?,
            signing_previous: PreviousSigningKey::from_source(src)?,
            web_auth_domain,
            challenge_ttl: seconds_at_most(
                src,
                "SEP10_CHALLENGE_TTL_SECONDS",
                900,
                limits::MAX_CHALLENGE_TTL_SECONDS,
            )?,
            jwt_ttl: seconds_at_most(
                src,
                "SEP10_JWT_TTL_SECONDS",
                86_400,
                limits::MAX_JWT_TTL_SECONDS,
            )?,
            client_domain: ClientDomainPolicy {
                required: parse_or(src, "SEP10_CLIENT_DOMAIN_REQUIRED", false)?,
                allow: list(src, "SEP10_CLIENT_DOMAIN_ALLOWLIST"),
                deny: list(src, "SEP10_CLIENT_DOMAIN_DENYLIST"),
                timeout: Duration::from_millis(parse_or(
                    src,
                    "SEP10_CLIENT_DOMAIN_TIMEOUT_MS",
                    3_000,
                )?),
                allow_insecure: parse_or(src, "SEP10_CLIENT_DOMAIN_ALLOW_INSECURE", false)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stellar::KeyLocation;

    const SEED: &str = "SAH2YTGYOONMQQXDLIXALMMRBTY5CTZ427KLHPXFNCCBOYSUHSYFOI6W";

    fn base() -> BTreeMap<String, String> {
        [
            ("HOME_DOMAIN", "localhost:8000"),
            ("PUBLIC_URL", "http://localhost:8000/"),
            ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
            ("SIGNING_SEED", SEED),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn with(mut src: BTreeMap<String, String>, key: &str, value: &str) -> BTreeMap<String, String> {
        src.insert(key.to_owned(), value.to_owned());
        src
    }

    fn error_of(src: &BTreeMap<String, String>) -> String {
        match AnchorConfig::from_source(src).and_then(|a| Sep10Config::from_source(src, &a)) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_a_complete_config() {
        let src = with(
            base(),
            "ASSETS",
            r#"[{"code":"USDC","issuer":"GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ",
                 "seps":["sep24"],"deposit":{"min_amount":1,"max_amount":"1000","fee_fixed":0.5},
                 "toml":{"status":"test","desc":"US dollars"}}]"#,
        );
        let anchor = AnchorConfig::from_source(&src).unwrap();
        let sep10 = Sep10Config::from_source(&src, &anchor).unwrap();
        assert_eq!(anchor.home_domains, ["localhost:8000"]);
        assert_eq!(anchor.public_url, "http://localhost:8000");
        assert_eq!(anchor.web_auth_endpoint(), "http://localhost:8000/auth");
        assert_eq!(anchor.horizon_url, "https://horizon-testnet.stellar.org");
        assert_eq!(sep10.web_auth_domain, "localhost:8000");
        assert_eq!(sep10.challenge_ttl, Duration::from_secs(900));
        assert_eq!(anchor.documentation["ORG_NAME"], "localhost:8000");
        let usdc = &anchor.assets[0];
        assert!(usdc.offers(Sep::Sep24));
        assert_eq!(
            usdc.deposit
                .as_ref()
                .unwrap()
                .fee_fixed
                .unwrap()
                .to_string(),
            "0.5"
        );
        assert_eq!(usdc.distribution_account(), usdc.asset.issuer().copied());
    }

    #[test]
    fn errors_name_the_variable() {
        let mut missing = base();
        missing.remove("SIGNING_SEED");
        assert_eq!(error_of(&missing), "SIGNING_KEY must be set");
        assert!(
            error_of(&with(base(), "SIGNING_SEED", "SBAD")).starts_with("SIGNING_SEED is invalid")
        );
        assert!(error_of(&with(base(), "JWT_SECRET", "short")).starts_with("JWT_SECRET is invalid"));
        assert!(error_of(&with(base(), "HOME_DOMAIN", "https://x.com/"))
            .starts_with("HOME_DOMAIN is invalid"));
        // The TTLs are bounded: a challenge answerable for days, or a token for a year, is a
        // typo (and `now + ttl` must not overflow).
        assert_eq!(
            error_of(&with(base(), "SEP10_CHALLENGE_TTL_SECONDS", "3601")),
            "SEP10_CHALLENGE_TTL_SECONDS is invalid: must be at most 3600 seconds"
        );
        assert!(error_of(&with(
            base(),
            "SEP10_JWT_TTL_SECONDS",
            "18446744073709551615"
        ))
        .starts_with("SEP10_JWT_TTL_SECONDS is invalid: must be at most 604800"));
        assert!(
            error_of(&with(base(), "SEP10_CHALLENGE_TTL_SECONDS", "soon"))
                .starts_with("SEP10_CHALLENGE_TTL_SECONDS")
        );
        assert!(error_of(&with(base(), "ASSETS", r#"[{"code":"USDC"}]"#))
            .starts_with("ASSETS is invalid"));
        assert!(error_of(&with(base(), "ASSETS", r#"[{"code":"X","issuer":"GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ","colour":1}]"#))
            .contains("colour"));
        let other = Keypair::from_seed_bytes([1; 32]).account_id().to_string();
        assert_eq!(
            error_of(&with(base(), "SIGNING_KEY", &other)),
            "SIGNING_KEY is invalid: does not match SIGNING_SEED"
        );
        let mut no_network = base();
        no_network.remove("NETWORK_PASSPHRASE");
        assert_eq!(error_of(&no_network), "NETWORK_PASSPHRASE must be set");
    }

    #[test]
    fn an_asset_may_list_every_sep_served() {
        let assets = |seps: &str, extra: &str| {
            format!(
                r#"[{{"code":"USDC","issuer":"GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ","seps":{seps}{extra}}}]"#
            )
        };
        // Every SEP has its function now, SEP-31 (sep31-receive) the last.
        assert_eq!(Sep::SERVED, [Sep::Sep6, Sep::Sep24, Sep::Sep31, Sep::Sep38]);
        let receive = r#","receive":{"funding_methods":["SEPA"]}"#;
        for seps in [
            r#"["sep24"]"#,
            "[]",
            r#"["sep31"]"#,
            r#"["sep6","sep24","sep31","sep38"]"#,
        ] {
            let anchor = AnchorConfig::from_source(&with(base(), "ASSETS", &assets(seps, receive)))
                .expect("served SEPs only");
            for sep in Sep::SERVED {
                assert_eq!(
                    anchor.assets[0].offers(*sep),
                    seps.contains(sep.name()),
                    "{seps}"
                );
            }
        }
        // SEP-31 still needs how receivers are paid.
        assert!(
            error_of(&with(base(), "ASSETS", &assets(r#"["sep31"]"#, "")))
                .starts_with("ASSETS is invalid: USDC: a SEP-31 asset needs \"receive\"")
        );
        // An unknown name is refused (by the JSON parser).
        assert!(
            error_of(&with(base(), "ASSETS", &assets(r#"["sep99"]"#, "")))
                .starts_with("ASSETS is invalid")
        );
    }

    #[test]
    fn a_sep31_asset_needs_receive_funding_methods() {
        let asset = |extra: &str| -> AssetConfig {
            serde_json::from_str(&format!(
                r#"{{"code":"USDC","issuer":"GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ"{extra}}}"#
            ))
            .expect("asset")
        };
        for refused in [
            r#","seps":["sep31"]"#,
            r#","seps":["sep31"],"receive":{}"#,
            r#","seps":["sep31"],"receive":{"enabled":false,"funding_methods":["SEPA"]}"#,
        ] {
            assert!(
                check_receive(&asset(refused))
                    .unwrap_err()
                    .starts_with("USDC: a SEP-31 asset needs \"receive\" with funding_methods"),
                "{refused}"
            );
        }
        assert!(check_receive(&asset(
            r#","seps":["sep31"],"receive":{"funding_methods":["SEPA"]}"#
        ))
        .is_ok());
        // Not offered through SEP-31: nothing is required.
        assert!(check_receive(&asset(r#","seps":["sep6"]"#)).is_ok());
        assert_eq!(
            check_receive(&asset(
                r#","seps":["sep31"],"receive":{"min_amount":10,"max_amount":5,"funding_methods":["SEPA"]}"#
            ))
            .unwrap_err(),
            "USDC receive: min_amount is above max_amount"
        );
    }

    #[test]
    fn https_is_read_from_the_public_url() {
        let anchor = |url: &str| AnchorConfig::from_source(&with(base(), "PUBLIC_URL", url));
        assert!(!anchor("http://localhost:8000").unwrap().serves_https());
        assert!(anchor("https://anchor.example.com").unwrap().serves_https());
        assert!(anchor("HTTPS://anchor.example.com").unwrap().serves_https());
        let mut default = base();
        default.remove("PUBLIC_URL");
        // https://<home domain> by default.
        assert!(AnchorConfig::from_source(&default).unwrap().serves_https());
    }

    #[test]
    fn the_sep10_key_is_a_seed_or_a_key_in_kms_never_both() {
        let anchor = AnchorConfig::from_source(&base()).unwrap();
        assert!(matches!(
            signing_key_location(&base()),
            Ok(KeyLocation::Local(key)) if key.account_id() == anchor.signing_account
        ));
        let mut kms = with(base(), "SIGNING_KMS_KEY_ID", " alias/sep10 ");
        assert_eq!(
            signing_key_location(&kms).unwrap_err().to_string(),
            "SIGNING_KMS_KEY_ID is invalid: set SIGNING_KMS_KEY_ID or SIGNING_SEED (SIGNING_SEED_ARN), not both"
        );
        kms.remove("SIGNING_SEED");
        assert!(matches!(
            signing_key_location(&kms),
            Ok(KeyLocation::Kms(id)) if id == "alias/sep10"
        ));
        kms.remove("SIGNING_KMS_KEY_ID");
        assert_eq!(
            signing_key_location(&kms).unwrap_err().to_string(),
            "SIGNING_KMS_KEY_ID or SIGNING_SEED must be set"
        );
        // A seed that is not SIGNING_KEY's.
        let other = Keypair::from_seed_bytes([9; 32]);
        let mismatch = with(base(), "SIGNING_SEED", &other.secret_seed());
        let error = local_signing_key(&mismatch, &anchor)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("SIGNING_SEED is invalid: is the key of"),
            "{error}"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let src = base();
        let anchor = AnchorConfig::from_source(&src).unwrap();
        let debug = format!("{:?}", Sep10Config::from_source(&src, &anchor).unwrap());
        assert!(!debug.contains(SEED));
        assert!(!debug.contains("0123456789abcdef"));
    }

    #[test]
    fn a_rotation_keeps_the_previous_jwt_secret_until_its_deadline() {
        let anchor = AnchorConfig::from_source(&base()).unwrap();
        let sep10 = Sep10Config::from_source(&base(), &anchor).unwrap();
        assert!(sep10.jwt_previous.is_none());
        let rotating = with(base(), "JWT_SECRET_PREVIOUS", &"p".repeat(32));
        assert_eq!(error_of(&rotating), "JWT_SECRET_PREVIOUS_UNTIL must be set");
        let rotating = with(rotating, "JWT_SECRET_PREVIOUS_UNTIL", "1700000000");
        let previous = Sep10Config::from_source(&rotating, &anchor)
            .unwrap()
            .jwt_previous
            .expect("previous");
        assert_eq!(previous.until, 1_700_000_000);
        assert!(
            error_of(&with(rotating, "JWT_SECRET_PREVIOUS_UNTIL", "soon"))
                .starts_with("JWT_SECRET_PREVIOUS_UNTIL is invalid")
        );
    }

    #[test]
    fn validates_domains() {
        for ok in ["example.com", "localhost:8000", "a-b.example.co"] {
            assert!(validate_domain(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "http://x",
            "x/y",
            "x:0",
            "x:99999",
            "-a.com",
            "a..com",
            "user@x.com",
        ] {
            assert!(validate_domain(bad).is_err(), "{bad}");
        }
    }
}
