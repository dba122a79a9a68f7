//! Settings that hold secrets, read from a secret store at cold start instead of the environment.
//!
//! A deployed function receives `NAME_ARN` (e.g. `JWT_SECRET_ARN`), never `NAME`: its start
//! reads the secret once (`aws::secrets`, feature `secrets`) and lays it over the environment
//! ([`WithSecrets`]), so every config reader keeps reading `NAME` from a [`Source`]. The plain
//! `NAME` is for the in-process development tools only (`mooring-local`, `cargo lambda watch`);
//! setting both is refused, so a forgotten plain value cannot shadow the store's.

use std::collections::BTreeMap;

use crate::config::{ConfigError, Source};

/// The settings that may be secrets, each readable from the variable `<NAME>_ARN`.
pub const SECRET_SETTINGS: [&str; 5] = [
    "SIGNING_SEED",
    "JWT_SECRET",
    "JWT_SECRET_PREVIOUS",
    "DISTRIBUTION_SEED",
    "CHANNEL_SEED",
];

/// The variable naming the secret store entry of `setting` (`JWT_SECRET_ARN`).
pub fn arn_variable(setting: &'static str) -> &'static str {
    match setting {
        "SIGNING_SEED" => "SIGNING_SEED_ARN",
        "JWT_SECRET" => "JWT_SECRET_ARN",
        "JWT_SECRET_PREVIOUS" => "JWT_SECRET_PREVIOUS_ARN",
        "DISTRIBUTION_SEED" => "DISTRIBUTION_SEED_ARN",
        "CHANNEL_SEED" => "CHANNEL_SEED_ARN",
        _ => "",
    }
}

/// The secrets to fetch: `(setting, ARN)` for each `<NAME>_ARN` set. A setting given both as a
/// plain value and by ARN is an error naming both.
pub fn requested(src: &impl Source) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let mut wanted = Vec::new();
    for setting in SECRET_SETTINGS {
        let variable = arn_variable(setting);
        if let Some(arn) = src.get(variable) {
            if src.get(setting).is_some() {
                return Err(ConfigError::Invalid {
                    name: variable,
                    reason: format!("set {setting} or {variable}, not both"),
                });
            }
            wanted.push((setting, arn.trim().to_owned()));
        }
    }
    Ok(wanted)
}

/// A [`Source`] with secrets laid over it: a secret's value wins, everything else is read
/// from `inner`. `Debug` shows the names only.
pub struct WithSecrets<S> {
    inner: S,
    secrets: BTreeMap<&'static str, crate::config::Secret>,
}

impl<S> WithSecrets<S> {
    pub fn new(inner: S, secrets: impl IntoIterator<Item = (&'static str, String)>) -> Self {
        Self {
            inner,
            secrets: secrets
                .into_iter()
                .map(|(name, value)| (name, crate::config::Secret::new(value)))
                .collect(),
        }
    }

    /// The settings read from the secret store.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.secrets.keys().copied()
    }
}

impl<S> std::fmt::Debug for WithSecrets<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithSecrets")
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<S: Source> Source for WithSecrets<S> {
    fn get(&self, name: &str) -> Option<String> {
        match self.secrets.get(name) {
            Some(secret) => Some(secret.expose().trim().to_owned()).filter(|v| !v.is_empty()),
            None => self.inner.get(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_setting_has_its_arn_variable() {
        for setting in SECRET_SETTINGS {
            assert_eq!(arn_variable(setting), format!("{setting}_ARN"));
        }
    }

    #[test]
    fn asks_for_the_secrets_named_by_arn() {
        let env = [
            (
                "JWT_SECRET_ARN",
                " arn:aws:secretsmanager:us-east-1:1:secret:jwt ",
            ),
            ("SIGNING_SEED", "S..."),
            ("CHANNEL_SEED_ARN", ""),
        ];
        assert_eq!(
            requested(&env).unwrap(),
            [(
                "JWT_SECRET",
                "arn:aws:secretsmanager:us-east-1:1:secret:jwt".to_owned()
            )]
        );
        let both = [("JWT_SECRET_ARN", "arn:x"), ("JWT_SECRET", "plain")];
        assert_eq!(
            requested(&both).unwrap_err().to_string(),
            "JWT_SECRET_ARN is invalid: set JWT_SECRET or JWT_SECRET_ARN, not both"
        );
    }

    #[test]
    fn secrets_are_laid_over_the_environment() {
        let env = [("HOME_DOMAIN", "example.com"), ("JWT_SECRET_ARN", "arn:x")];
        let with = WithSecrets::new(env, [("JWT_SECRET", "s3cret\n".to_owned())]);
        assert_eq!(with.get("JWT_SECRET").as_deref(), Some("s3cret"));
        assert_eq!(with.get("HOME_DOMAIN").as_deref(), Some("example.com"));
        assert_eq!(with.get("SIGNING_SEED"), None);
        assert!(!format!("{with:?}").contains("s3cret"));
        assert_eq!(with.names().collect::<Vec<_>>(), ["JWT_SECRET"]);
    }
}
