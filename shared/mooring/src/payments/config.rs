//! The payment workers' settings: channel accounts, fees, time bounds, leases, and the signing
//! keys of the submitter (the only worker that holds secrets).

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::{AnchorConfig, ConfigError, Sep24Config, Source};
use crate::stellar::{AccountId, Amount, Keypair, Signer, SignerError};

/// Settings of the payment workers, without secrets (the pollers and the watcher read these;
/// the submitter adds its [`Signers`]).
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// How many channel accounts submit in parallel (`CHANNEL_COUNT`, default 4, 1-1000).
    pub channel_count: u32,
    /// XLM a deposit's `CreateAccount` gives a new account (`ACCOUNT_STARTING_BALANCE`,
    /// default 2.01: the base reserve plus room for a trustline, as SEP-24 recommends).
    pub account_starting_balance: Amount,
    /// Fee bid per operation in stroops (`STELLAR_BASE_FEE`); `None`: Horizon's fee stats,
    /// falling back to 100.
    pub base_fee: Option<u32>,
    /// How long a signed transaction may take to land: its time bounds' max
    /// (`STELLAR_TX_TIMEOUT_SECONDS`, default 300).
    pub tx_timeout: Duration,
    /// How long a submitter holds a channel account (`CHANNEL_LEASE_SECONDS`, default 60);
    /// longer than one submission takes.
    pub lease: Duration,
    /// SEP-24 features the submitter honours (`SEP24_ACCOUNT_CREATION`,
    /// `SEP24_CLAIMABLE_BALANCES`).
    pub sep24: Sep24Config,
}

impl PaymentsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&crate::config::Env)
    }

    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let channel_count: u32 = parse_or(src, "CHANNEL_COUNT", 4)?;
        if !(1..=1000).contains(&channel_count) {
            return Err(invalid("CHANNEL_COUNT", "must be between 1 and 1000"));
        }
        let account_starting_balance: Amount = match src.get("ACCOUNT_STARTING_BALANCE") {
            None => Amount::from_stroops(20_100_000),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|e| invalid("ACCOUNT_STARTING_BALANCE", e))?,
        };
        if account_starting_balance.stroops() < 10_000_000 {
            return Err(invalid(
                "ACCOUNT_STARTING_BALANCE",
                "must be at least 1 XLM (two base reserves)",
            ));
        }
        let base_fee = match src.get("STELLAR_BASE_FEE") {
            None => None,
            Some(v) => {
                let fee: u32 = v
                    .trim()
                    .parse()
                    .map_err(|e| invalid("STELLAR_BASE_FEE", e))?;
                if fee < crate::stellar::payment::MIN_BASE_FEE {
                    return Err(invalid("STELLAR_BASE_FEE", "must be at least 100 stroops"));
                }
                Some(fee)
            }
        };
        Ok(Self {
            channel_count,
            account_starting_balance,
            base_fee,
            tx_timeout: seconds(src, "STELLAR_TX_TIMEOUT_SECONDS", 300)?,
            lease: seconds(src, "CHANNEL_LEASE_SECONDS", 60)?,
            sep24: Sep24Config::from_source(src)?,
        })
    }
}

/// Where one of the submitter's keys lives.
pub use crate::stellar::KeyLocation;

/// The submitter's key settings, parsed before any key service is contacted:
///
/// - the distribution account: `DISTRIBUTION_KMS_KEY_ID`, else `DISTRIBUTION_SEED`;
/// - the channel accounts: `CHANNEL_KMS_KEY_IDS` (a comma-separated list, one key per channel,
///   `CHANNEL_COUNT` of them), else derived from `CHANNEL_SEED` ([`channel_keypair`]);
/// - optionally the public keys they must be (`DISTRIBUTION_ACCOUNT`, `CHANNEL_ACCOUNTS`),
///   checked at cold start and read by the operator's console (which never sees a secret).
#[derive(Debug, Clone)]
pub struct SignerSettings {
    pub distribution: KeyLocation,
    /// Channel `i` is `channels[i]`, `i` in `0..channel_count`.
    pub channels: Vec<KeyLocation>,
    pub distribution_account: Option<AccountId>,
    pub channel_accounts: Option<Vec<AccountId>>,
}

impl SignerSettings {
    pub fn from_source(src: &impl Source, config: &PaymentsConfig) -> Result<Self, ConfigError> {
        let distribution = match src.get("DISTRIBUTION_KMS_KEY_ID") {
            Some(key) => {
                if src.get("DISTRIBUTION_SEED").is_some() {
                    return Err(invalid(
                        "DISTRIBUTION_KMS_KEY_ID",
                        "set DISTRIBUTION_KMS_KEY_ID or DISTRIBUTION_SEED, not both",
                    ));
                }
                KeyLocation::Kms(key.trim().to_owned())
            }
            None => KeyLocation::Local(Box::new(seed(src, "DISTRIBUTION_SEED")?)),
        };
        let channels = match src.get("CHANNEL_KMS_KEY_IDS") {
            Some(keys) => {
                if src.get("CHANNEL_SEED").is_some() {
                    return Err(invalid(
                        "CHANNEL_KMS_KEY_IDS",
                        "set CHANNEL_KMS_KEY_IDS or CHANNEL_SEED, not both",
                    ));
                }
                let keys: Vec<KeyLocation> = keys
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(|k| KeyLocation::Kms(k.to_owned()))
                    .collect();
                if keys.len() != config.channel_count as usize {
                    return Err(invalid(
                        "CHANNEL_KMS_KEY_IDS",
                        format!(
                            "lists {} keys for CHANNEL_COUNT {}",
                            keys.len(),
                            config.channel_count
                        ),
                    ));
                }
                keys
            }
            None => {
                let channel_seed = seed(src, "CHANNEL_SEED")?;
                (0..config.channel_count)
                    .map(|i| KeyLocation::Local(Box::new(channel_keypair(&channel_seed, i))))
                    .collect()
            }
        };
        let distribution_account = account(src, "DISTRIBUTION_ACCOUNT")?;
        let channel_accounts = accounts(src, "CHANNEL_ACCOUNTS")?;
        Ok(Self {
            distribution,
            channels,
            distribution_account,
            channel_accounts,
        })
    }

    /// Whether any key is in KMS (the function then needs a KMS client to start).
    pub fn uses_kms(&self) -> bool {
        std::iter::once(&self.distribution)
            .chain(&self.channels)
            .any(|key| matches!(key, KeyLocation::Kms(_)))
    }

    /// The distribution and channel accounts, without contacting a key service: local keys'
    /// own accounts, and for keys in KMS the configured `DISTRIBUTION_ACCOUNT` /
    /// `CHANNEL_ACCOUNTS`.
    pub fn public_accounts(&self) -> Result<(AccountId, Vec<AccountId>), ConfigError> {
        let distribution = match (&self.distribution, self.distribution_account) {
            (KeyLocation::Local(key), _) => key.account_id(),
            (KeyLocation::Kms(_), Some(account)) => account,
            (KeyLocation::Kms(_), None) => {
                return Err(ConfigError::Missing("DISTRIBUTION_ACCOUNT"))
            }
        };
        let channels = match &self.channel_accounts {
            Some(accounts) => accounts.clone(),
            None => self
                .channels
                .iter()
                .map(|key| match key {
                    KeyLocation::Local(key) => Ok(key.account_id()),
                    KeyLocation::Kms(_) => Err(ConfigError::Missing("CHANNEL_ACCOUNTS")),
                })
                .collect::<Result<_, _>>()?,
        };
        Ok((distribution, channels))
    }

    /// The signers of these settings; `kms` connects a key in KMS (reads its public key). Every
    /// account is checked: the configured public keys, and the distribution account of the
    /// assets with deposits.
    pub async fn connect<F, Fut>(
        self,
        anchor: &AnchorConfig,
        kms: F,
    ) -> Result<Signers, ConfigError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<Arc<dyn Signer>, SignerError>>,
    {
        let connect = |key: KeyLocation, setting: &'static str| {
            let kms = &kms;
            async move {
                match key {
                    KeyLocation::Local(key) => Ok(Arc::new(*key) as Arc<dyn Signer>),
                    KeyLocation::Kms(id) => kms(id).await.map_err(|e| invalid(setting, e)),
                }
            }
        };
        let distribution_setting = match self.distribution {
            KeyLocation::Kms(_) => "DISTRIBUTION_KMS_KEY_ID",
            KeyLocation::Local(_) => "DISTRIBUTION_SEED",
        };
        let distribution = connect(self.distribution, distribution_setting).await?;
        let mut channels = Vec::with_capacity(self.channels.len());
        for key in self.channels {
            let setting = match key {
                KeyLocation::Kms(_) => "CHANNEL_KMS_KEY_IDS",
                KeyLocation::Local(_) => "CHANNEL_SEED",
            };
            channels.push(connect(key, setting).await?);
        }
        let signers = Signers {
            distribution,
            channels,
        };
        if let Some(account) = self.distribution_account {
            if signers.distribution.account_id() != account {
                return Err(invalid(
                    "DISTRIBUTION_ACCOUNT",
                    format!(
                        "is not the account of the distribution key ({})",
                        signers.distribution.account_id()
                    ),
                ));
            }
        }
        if let Some(accounts) = &self.channel_accounts {
            let actual: Vec<AccountId> = signers.channels.iter().map(|c| c.account_id()).collect();
            if &actual != accounts {
                return Err(invalid(
                    "CHANNEL_ACCOUNTS",
                    "are not the accounts of the channel keys, in order",
                ));
            }
        }
        check_distribution(
            anchor,
            &signers.distribution.account_id(),
            distribution_setting,
        )?;
        Ok(signers)
    }
}

/// The distribution key must be the distribution account of every asset with deposits enabled.
fn check_distribution(
    anchor: &AnchorConfig,
    account: &AccountId,
    setting: &'static str,
) -> Result<(), ConfigError> {
    for asset in &anchor.assets {
        if asset.deposit.as_ref().is_some_and(|d| d.enabled)
            && asset.distribution_account() != Some(*account)
        {
            return Err(invalid(
                setting,
                format!(
                    "is not the distribution account of {} (deposits are paid from it)",
                    asset.asset.0
                ),
            ));
        }
    }
    Ok(())
}

/// The submitter's distribution and channel accounts from its settings, without a secret: the
/// public `DISTRIBUTION_ACCOUNT` and `CHANNEL_ACCOUNTS` when both are set (a deployed submitter's
/// keys are in KMS or Secrets Manager), else those of the keys' settings.
pub fn public_accounts(
    src: &impl Source,
    config: &PaymentsConfig,
) -> Result<(AccountId, Vec<AccountId>), ConfigError> {
    match (
        account(src, "DISTRIBUTION_ACCOUNT")?,
        accounts(src, "CHANNEL_ACCOUNTS")?,
    ) {
        (Some(distribution), Some(channels)) => Ok((distribution, channels)),
        _ => SignerSettings::from_source(src, config)?.public_accounts(),
    }
}

fn account(src: &impl Source, name: &'static str) -> Result<Option<AccountId>, ConfigError> {
    src.get(name)
        .map(|key| key.trim().parse().map_err(|e| invalid(name, e)))
        .transpose()
}

fn accounts(src: &impl Source, name: &'static str) -> Result<Option<Vec<AccountId>>, ConfigError> {
    src.get(name)
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(|k| k.parse().map_err(|e| invalid(name, e)))
                .collect()
        })
        .transpose()
}

fn seed(src: &impl Source, name: &'static str) -> Result<Keypair, ConfigError> {
    Keypair::from_secret_seed(&src.get(name).ok_or(ConfigError::Missing(name))?)
        .map_err(|e| invalid(name, e))
}

/// The submitter's keys: the distribution account and the channel accounts, each in this
/// process or in KMS ([`SignerSettings`]). `Debug` shows public keys (and key ids) only.
#[derive(Debug, Clone)]
pub struct Signers {
    pub distribution: Arc<dyn Signer>,
    /// Channel `i` is `channels[i]`, `i` in `0..channel_count`.
    pub channels: Vec<Arc<dyn Signer>>,
}

impl Signers {
    /// Local keys only ([`SignerSettings`] without KMS): for tools and tests that hold seeds.
    /// A key in KMS is refused here; a function connects it with [`SignerSettings::connect`].
    pub fn from_source(
        src: &impl Source,
        anchor: &AnchorConfig,
        config: &PaymentsConfig,
    ) -> Result<Self, ConfigError> {
        let settings = SignerSettings::from_source(src, config)?;
        let local = |key: KeyLocation, setting: &'static str| match key {
            KeyLocation::Local(key) => Ok(Arc::new(*key) as Arc<dyn Signer>),
            KeyLocation::Kms(_) => Err(invalid(
                setting,
                "a key in KMS needs the function's KMS client (SignerSettings::connect)",
            )),
        };
        let signers = Self {
            distribution: local(settings.distribution, "DISTRIBUTION_KMS_KEY_ID")?,
            channels: settings
                .channels
                .into_iter()
                .map(|key| local(key, "CHANNEL_KMS_KEY_IDS"))
                .collect::<Result<_, _>>()?,
        };
        check_distribution(
            anchor,
            &signers.distribution.account_id(),
            "DISTRIBUTION_SEED",
        )?;
        Ok(signers)
    }

    /// The distribution key and `count` channel keys derived from `channel_seed`.
    pub fn new(distribution: Keypair, channel_seed: &Keypair, count: u32) -> Self {
        Self {
            distribution: Arc::new(distribution),
            channels: (0..count)
                .map(|i| Arc::new(channel_keypair(channel_seed, i)) as Arc<dyn Signer>)
                .collect(),
        }
    }

    pub fn channel(&self, index: u32) -> Option<&dyn Signer> {
        self.channels
            .get(usize::try_from(index).ok()?)
            .map(|c| c.as_ref())
    }
}

/// Channel account `index` of a channel seed: the ed25519 key whose seed is
/// SHA-256("mooring channel" ‖ the 32 seed bytes ‖ `index` as u32 big-endian). The local stack
/// and operator tools derive the same accounts to create and fund them.
pub fn channel_keypair(seed: &Keypair, index: u32) -> Keypair {
    let strkey = seed.secret_seed();
    // The S... form of a Keypair always decodes.
    let bytes = stellar_strkey::ed25519::PrivateKey::from_string(&strkey)
        .map(|k| zeroize::Zeroizing::new(k.0))
        .unwrap_or_else(|_| zeroize::Zeroizing::new([0u8; 32]));
    let mut hasher = Sha256::new();
    hasher.update(b"mooring channel");
    hasher.update(bytes.as_slice());
    hasher.update(index.to_be_bytes());
    let derived = zeroize::Zeroizing::new(<[u8; 32]>::from(hasher.finalize()));
    Keypair::from_seed_bytes(*derived)
}

/// The channel accounts' public keys (for funding them).
pub fn channel_accounts(seed: &Keypair, count: u32) -> Vec<AccountId> {
    (0..count)
        .map(|i| channel_keypair(seed, i).account_id())
        .collect()
}

fn invalid(name: &'static str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.to_string(),
    }
}

fn parse_or<T: std::str::FromStr>(
    src: &impl Source,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn src(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_and_errors() {
        let config = PaymentsConfig::from_source(&src(&[])).unwrap();
        assert_eq!(config.channel_count, 4);
        assert_eq!(config.account_starting_balance.to_string(), "2.01");
        assert_eq!(config.base_fee, None);
        assert_eq!(config.tx_timeout, Duration::from_secs(300));
        assert_eq!(config.lease, Duration::from_secs(60));
        assert!(config.sep24.account_creation);
        for (name, value) in [
            ("CHANNEL_COUNT", "0"),
            ("CHANNEL_COUNT", "x"),
            ("ACCOUNT_STARTING_BALANCE", "0.5"),
            ("STELLAR_BASE_FEE", "99"),
            ("STELLAR_TX_TIMEOUT_SECONDS", "0"),
        ] {
            let error = PaymentsConfig::from_source(&src(&[(name, value)]))
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(name), "{error}");
        }
    }

    #[test]
    fn channel_keys_are_derived_deterministically() {
        let seed = Keypair::from_seed_bytes([9; 32]);
        let mut preimage = b"mooring channel".to_vec();
        preimage.extend([9u8; 32]);
        preimage.extend(3u32.to_be_bytes());
        let want = Keypair::from_seed_bytes(Sha256::digest(&preimage).into());
        assert_eq!(channel_keypair(&seed, 3).account_id(), want.account_id());
        assert_ne!(
            channel_keypair(&seed, 0).account_id(),
            channel_keypair(&seed, 1).account_id()
        );
        assert_eq!(channel_accounts(&seed, 5).len(), 5);
    }

    #[test]
    fn signers_check_the_distribution_account() {
        let distribution = Keypair::from_seed_bytes([1; 32]);
        let channel = Keypair::from_seed_bytes([2; 32]);
        let other = Keypair::from_seed_bytes([3; 32]).account_id();
        let assets = format!(
            r#"[{{"code":"USDC","issuer":"{other}","distribution_account":"{}","seps":["sep24"],"deposit":{{}}}}]"#,
            distribution.account_id()
        );
        let seed = distribution.secret_seed();
        let channel_seed = channel.secret_seed();
        let env = src(&[
            ("HOME_DOMAIN", "localhost:8000"),
            (
                "NETWORK_PASSPHRASE",
                crate::stellar::Network::TESTNET_PASSPHRASE,
            ),
            ("SIGNING_KEY", &other.to_string()),
            ("ASSETS", &assets),
            ("DISTRIBUTION_SEED", &seed),
            ("CHANNEL_SEED", &channel_seed),
            ("CHANNEL_COUNT", "2"),
        ]);
        let anchor = AnchorConfig::from_source(&env).unwrap();
        let config = PaymentsConfig::from_source(&env).unwrap();
        let signers = Signers::from_source(&env, &anchor, &config).unwrap();
        assert_eq!(signers.channels.len(), 2);
        assert!(!format!("{signers:?}").contains(seed.as_str()));
        let mut wrong = env.clone();
        wrong.insert("DISTRIBUTION_SEED".into(), channel_seed.to_string());
        let error = Signers::from_source(&wrong, &anchor, &config).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("DISTRIBUTION_SEED is invalid"));
    }

    #[tokio::test]
    async fn keys_may_live_in_kms_and_their_accounts_are_checked() {
        let distribution = Keypair::from_seed_bytes([1; 32]);
        let (channel_0, channel_1) = (
            Keypair::from_seed_bytes([6; 32]),
            Keypair::from_seed_bytes([7; 32]),
        );
        let issuer = Keypair::from_seed_bytes([3; 32]).account_id();
        let assets = format!(
            r#"[{{"code":"USDC","issuer":"{issuer}","distribution_account":"{}","seps":["sep24"],"deposit":{{}}}}]"#,
            distribution.account_id()
        );
        let accounts = format!("{},{}", channel_0.account_id(), channel_1.account_id());
        let env = src(&[
            ("HOME_DOMAIN", "localhost:8000"),
            (
                "NETWORK_PASSPHRASE",
                crate::stellar::Network::TESTNET_PASSPHRASE,
            ),
            ("SIGNING_KEY", &issuer.to_string()),
            ("ASSETS", &assets),
            ("DISTRIBUTION_KMS_KEY_ID", "arn:kms:distribution"),
            ("CHANNEL_KMS_KEY_IDS", "arn:kms:c0, arn:kms:c1"),
            ("CHANNEL_COUNT", "2"),
            (
                "DISTRIBUTION_ACCOUNT",
                &distribution.account_id().to_string(),
            ),
            ("CHANNEL_ACCOUNTS", &accounts),
        ]);
        let anchor = AnchorConfig::from_source(&env).unwrap();
        let config = PaymentsConfig::from_source(&env).unwrap();
        // The "key service": each key id is one of the local keys.
        let keys = [
            ("arn:kms:distribution", distribution.clone()),
            ("arn:kms:c0", channel_0.clone()),
            ("arn:kms:c1", channel_1.clone()),
        ];
        let kms = |id: String| {
            let key = keys
                .iter()
                .find(|(k, _)| *k == id)
                .map(|(_, key)| key.clone());
            async move {
                key.map(|key| Arc::new(key) as Arc<dyn Signer>)
                    .ok_or_else(|| SignerError::Unavailable(format!("no key {id}")))
            }
        };
        let settings = SignerSettings::from_source(&env, &config).unwrap();
        assert!(settings.uses_kms());
        assert_eq!(
            settings.public_accounts().unwrap(),
            (
                distribution.account_id(),
                vec![channel_0.account_id(), channel_1.account_id()]
            )
        );
        assert_eq!(
            public_accounts(&env, &config).unwrap(),
            settings.public_accounts().unwrap()
        );
        let signers = settings.clone().connect(&anchor, kms).await.unwrap();
        assert_eq!(signers.distribution.account_id(), distribution.account_id());
        assert_eq!(
            signers.channel(1).map(|c| c.account_id()),
            Some(channel_1.account_id())
        );
        // The sync reader holds local keys only.
        assert!(Signers::from_source(&env, &anchor, &config)
            .unwrap_err()
            .to_string()
            .starts_with("DISTRIBUTION_KMS_KEY_ID is invalid"));

        let error = |pairs: &[(&str, &str)]| {
            let mut env = env.clone();
            for (k, v) in pairs {
                env.insert((*k).into(), (*v).into());
            }
            let config = PaymentsConfig::from_source(&env).unwrap();
            async move {
                match SignerSettings::from_source(&env, &config) {
                    Err(e) => e.to_string(),
                    Ok(settings) => match settings.connect(&anchor_of(&env), kms).await {
                        Err(e) => e.to_string(),
                        Ok(_) => "ok".into(),
                    },
                }
            }
        };
        fn anchor_of(env: &BTreeMap<String, String>) -> AnchorConfig {
            AnchorConfig::from_source(env).unwrap()
        }
        let wrong = Keypair::from_seed_bytes([9; 32]).account_id().to_string();
        for (pairs, want) in [
            (
                vec![("DISTRIBUTION_SEED", distribution.secret_seed().to_string())],
                "DISTRIBUTION_KMS_KEY_ID is invalid: set DISTRIBUTION_KMS_KEY_ID or DISTRIBUTION_SEED, not both",
            ),
            (
                vec![("CHANNEL_COUNT", "3".to_owned())],
                "CHANNEL_KMS_KEY_IDS is invalid: lists 2 keys for CHANNEL_COUNT 3",
            ),
            (
                vec![("DISTRIBUTION_ACCOUNT", wrong.clone())],
                "DISTRIBUTION_ACCOUNT is invalid: is not the account of the distribution key",
            ),
            (
                vec![("CHANNEL_ACCOUNTS", format!("{},{}", channel_1.account_id(), channel_0.account_id()))],
                "CHANNEL_ACCOUNTS is invalid: are not the accounts of the channel keys, in order",
            ),
            (
                vec![("DISTRIBUTION_KMS_KEY_ID", "arn:kms:c0".to_owned()), ("DISTRIBUTION_ACCOUNT", channel_0.account_id().to_string())],
                "DISTRIBUTION_KMS_KEY_ID is invalid: is not the distribution account of USDC",
            ),
            (
                vec![("DISTRIBUTION_KMS_KEY_ID", "arn:kms:gone".to_owned())],
                "DISTRIBUTION_KMS_KEY_ID is invalid: the key service could not sign: no key arn:kms:gone",
            ),
        ] {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let got = error(&pairs).await;
            assert!(got.starts_with(want), "{got}");
        }
    }
}
