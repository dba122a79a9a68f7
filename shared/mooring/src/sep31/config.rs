//! SEP-31 settings: which sending anchors may send payments through this anchor
//! (`SEP31_SENDING_ANCHORS`).

use crate::config::{invalid, ConfigError, Env, Source};
use crate::stellar::AccountId;

/// The variable listing the partners.
pub const SENDING_ANCHORS: &str = "SEP31_SENDING_ANCHORS";

/// The sending anchors with a bilateral agreement: SEP-31 requires the receiving anchor to
/// admit only them (403 for any other SEP-10 account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partners {
    /// `*`: any SEP-10 account (development only).
    Anyone,
    /// These accounts; none when empty (then every request but `/info` is 403).
    Only(Vec<AccountId>),
}

impl Partners {
    /// Whether a SEP-10 account is a partner.
    pub fn admits(&self, account: &AccountId) -> bool {
        match self {
            Partners::Anyone => true,
            Partners::Only(accounts) => accounts.contains(account),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sep31Config {
    pub sending_anchors: Partners,
}

impl Sep31Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    /// `SEP31_SENDING_ANCHORS`: `*`, or a comma-separated list of `G...` accounts; absent or
    /// empty admits nobody.
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let Some(value) = src.get(SENDING_ANCHORS) else {
            return Ok(Self {
                sending_anchors: Partners::Only(Vec::new()),
            });
        };
        if value.trim() == "*" {
            return Ok(Self {
                sending_anchors: Partners::Anyone,
            });
        }
        let mut accounts = Vec::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let account: AccountId = entry.parse().map_err(|_| {
                invalid(
                    SENDING_ANCHORS,
                    format!(
                        "'{}' is not a Stellar account (G...); use * to admit any account",
                        entry.chars().take(60).collect::<String>()
                    ),
                )
            })?;
            if !accounts.contains(&account) {
                accounts.push(account);
            }
        }
        Ok(Self {
            sending_anchors: Partners::Only(accounts),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stellar::Keypair;

    fn account(seed: u8) -> AccountId {
        Keypair::from_seed_bytes([seed; 32]).account_id()
    }

    fn partners(value: &str) -> Result<Partners, String> {
        Sep31Config::from_source(&[(SENDING_ANCHORS, value)])
            .map(|config| config.sending_anchors)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_a_list_a_star_or_nobody() {
        let list = format!(" {} ,{},, {} ", account(1), account(2), account(1));
        assert_eq!(
            partners(&list).unwrap(),
            Partners::Only(vec![account(1), account(2)])
        );
        assert!(partners(&list).unwrap().admits(&account(2)));
        assert!(!partners(&list).unwrap().admits(&account(3)));
        assert_eq!(partners(" * ").unwrap(), Partners::Anyone);
        assert!(Partners::Anyone.admits(&account(3)));
        for nobody in ["", "  "] {
            assert_eq!(partners(nobody).unwrap(), Partners::Only(Vec::new()));
        }
        let absent = Sep31Config::from_source(&[("OTHER", "x")]).unwrap();
        assert!(!absent.sending_anchors.admits(&account(1)));
    }

    #[test]
    fn a_bad_account_is_named() {
        let error = partners(&format!("{},GNOPE", account(1))).unwrap_err();
        assert_eq!(
            error,
            "SEP31_SENDING_ANCHORS is invalid: 'GNOPE' is not a Stellar account (G...); use * \
             to admit any account"
        );
        assert!(partners("*,GA").is_err());
        let muxed = crate::stellar::MuxedAccount::new(account(1), Some(5)).to_string();
        assert!(partners(&muxed).is_err());
    }
}
