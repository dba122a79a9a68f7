//! The payment workers' settings: channel accounts, fees, time bounds, leases, and the signing
//! keys of the submitter (the only worker that holds secrets).

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::{AnchorConfig, ConfigError, Sep24Config, Source};
use crate::stellar::{AccountId, Amount, Keypair};

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

/// The submitter's keys: the distribution account (`DISTRIBUTION_SEED`) and the channel
/// accounts derived from `CHANNEL_SEED` (see [`channel_keypair`]). `Debug` shows public keys only.
#[derive(Debug, Clone)]
pub struct Signers {
    pub distribution: Keypair,
    /// Channel `i` is `channels[i]`, `i` in `0..channel_count`.
    pub channels: Vec<Keypair>,
}

impl Signers {
    pub fn from_env(anchor: &AnchorConfig, config: &PaymentsConfig) -> Result<Self, ConfigError> {
        Self::from_source(&crate::config::Env, anchor, config)
    }

    /// Reads `DISTRIBUTION_SEED` and `CHANNEL_SEED`. The distribution seed must be the
    /// distribution account of every asset with deposits enabled.
    pub fn from_source(
        src: &impl Source,
        anchor: &AnchorConfig,
        config: &PaymentsConfig,
    ) -> Result<Self, ConfigError> {
        let distribution = Keypair::from_secret_seed(
            &src.get("DISTRIBUTION_SEED")
                .ok_or(ConfigError::Missing("DISTRIBUTION_SEED"))?,
        )
        .map_err(|e| invalid("DISTRIBUTION_SEED", e))?;
        for asset in &anchor.assets {
            if asset.deposit.as_ref().is_some_and(|d| d.enabled)
                && asset.distribution_account() != Some(distribution.account_id())
            {
                return Err(invalid(
                    "DISTRIBUTION_SEED",
                    format!(
                        "is not the distribution account of {} (deposits are paid from it)",
                        asset.asset.0
                    ),
                ));
            }
        }
        let channel_seed = Keypair::from_secret_seed(
            &src.get("CHANNEL_SEED")
                .ok_or(ConfigError::Missing("CHANNEL_SEED"))?,
        )
        .map_err(|e| invalid("CHANNEL_SEED", e))?;
        Ok(Self::new(distribution, &channel_seed, config.channel_count))
    }

    /// The distribution key and `count` channel keys derived from `channel_seed`.
    pub fn new(distribution: Keypair, channel_seed: &Keypair, count: u32) -> Self {
        Self {
            distribution,
            channels: (0..count)
                .map(|i| channel_keypair(channel_seed, i))
                .collect(),
        }
    }

    pub fn channel(&self, index: u32) -> Option<&Keypair> {
        self.channels.get(usize::try_from(index).ok()?)
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
}
