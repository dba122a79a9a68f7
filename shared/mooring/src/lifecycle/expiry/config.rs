//! How long a transaction may wait on its user, and what ends it then: [`ExpiryConfig`], read
//! once at start with the anchor's settings ([`AnchorConfig::expiry`](crate::config::AnchorConfig)),
//! because the code that moves a transaction into a waiting status sets its deadline.

use std::time::Duration;

use crate::config::{invalid, ConfigError, Source};
use crate::model::{Kind, TransactionStatus};

/// `incomplete`: the interactive flow not finished (`EXPIRE_INCOMPLETE_AFTER_SECONDS`).
pub const INCOMPLETE_VAR: &str = "EXPIRE_INCOMPLETE_AFTER_SECONDS";
/// `pending_user_transfer_start`: the user's funds not sent
/// (`EXPIRE_PENDING_USER_TRANSFER_START_AFTER_SECONDS`).
pub const PENDING_USER_TRANSFER_START_VAR: &str =
    "EXPIRE_PENDING_USER_TRANSFER_START_AFTER_SECONDS";
/// SEP-31 `pending_sender`: the sending anchor's payment not made
/// (`EXPIRE_PENDING_SENDER_AFTER_SECONDS`).
pub const PENDING_SENDER_VAR: &str = "EXPIRE_PENDING_SENDER_AFTER_SECONDS";
/// `pending_trust`: the deposit's account not trusting the asset (`PENDING_TRUST_AFTER_SECONDS`).
pub const PENDING_TRUST_VAR: &str = "PENDING_TRUST_AFTER_SECONDS";
/// What ends a `pending_trust` deposit (`PENDING_TRUST_ACTION`).
pub const PENDING_TRUST_ACTION_VAR: &str = "PENDING_TRUST_ACTION";

/// The longest wait accepted: a year (a longer one is a typo, and stays far from overflows).
const MAX_SECONDS: u64 = 365 * 86_400;

/// What ends a deposit that waited too long in `pending_trust`. The user's off-chain money is
/// with the anchor by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingTrustAction {
    /// The deposit ends in `error`, its `status_message` saying why; the operator refunds it.
    Error,
    /// The deposit is refunded off chain (`lifecycle::refund`, the deposit integration's
    /// `refund_deposit` called by the Stellar submitter) and ends `refunded`.
    Refund,
}

impl PendingTrustAction {
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Self::Error),
            "refund" => Ok(Self::Refund),
            other => Err(invalid(
                PENDING_TRUST_ACTION_VAR,
                format!(
                    "'{}' is not an action; use 'error' or 'refund'",
                    other.chars().take(40).collect::<String>()
                ),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Refund => "refund",
        }
    }
}

/// How long a transaction may stay in each status that waits on its user, and what ends a
/// `pending_trust` deposit. See the [`expiry`](super) module for what the times mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryConfig {
    /// `incomplete` (SEP-24: the interactive flow), default an hour.
    pub incomplete: Duration,
    /// `pending_user_transfer_start` (SEP-6/24 deposits and withdrawals), default a day.
    pub pending_user_transfer_start: Duration,
    /// SEP-31 `pending_sender`, default a day.
    pub pending_sender: Duration,
    /// `pending_trust`, default a week: the anchor holds the user's money, and a late trustline
    /// is cheaper for everyone than a refund.
    pub pending_trust: Duration,
    pub pending_trust_action: PendingTrustAction,
}

impl Default for ExpiryConfig {
    fn default() -> Self {
        Self {
            incomplete: Duration::from_secs(3_600),
            pending_user_transfer_start: Duration::from_secs(86_400),
            pending_sender: Duration::from_secs(86_400),
            pending_trust: Duration::from_secs(7 * 86_400),
            pending_trust_action: PendingTrustAction::Error,
        }
    }
}

impl ExpiryConfig {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            incomplete: seconds(src, INCOMPLETE_VAR, defaults.incomplete)?,
            pending_user_transfer_start: seconds(
                src,
                PENDING_USER_TRANSFER_START_VAR,
                defaults.pending_user_transfer_start,
            )?,
            pending_sender: seconds(src, PENDING_SENDER_VAR, defaults.pending_sender)?,
            pending_trust: seconds(src, PENDING_TRUST_VAR, defaults.pending_trust)?,
            pending_trust_action: match src.get(PENDING_TRUST_ACTION_VAR) {
                Some(value) => PendingTrustAction::parse(&value)?,
                None => defaults.pending_trust_action,
            },
        })
    }

    /// How long a transaction of `kind` may stay in `status` before the sweeper ends it; `None`
    /// for a status it never ends (or a kind that never waits in it).
    pub fn limit(&self, kind: Kind, status: TransactionStatus) -> Option<Duration> {
        let receive = kind == Kind::Receive;
        match status {
            TransactionStatus::Incomplete if !receive => Some(self.incomplete),
            TransactionStatus::PendingUserTransferStart if !receive => {
                Some(self.pending_user_transfer_start)
            }
            TransactionStatus::PendingSender if receive => Some(self.pending_sender),
            TransactionStatus::PendingTrust if kind.is_deposit() => Some(self.pending_trust),
            _ => None,
        }
    }
}

fn seconds(
    src: &impl Source,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(value) = src.get(name) else {
        return Ok(default);
    };
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|secs| (1..=MAX_SECONDS).contains(secs))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            invalid(
                name,
                format!("must be a number of seconds between 1 and {MAX_SECONDS}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_settings() {
        let none: [(&str, &str); 0] = [];
        let config = ExpiryConfig::from_source(&none).unwrap();
        assert_eq!(config, ExpiryConfig::default());
        assert_eq!(config.incomplete, Duration::from_secs(3_600));
        assert_eq!(
            config.pending_user_transfer_start,
            Duration::from_secs(86_400)
        );
        assert_eq!(config.pending_sender, Duration::from_secs(86_400));
        assert_eq!(config.pending_trust, Duration::from_secs(604_800));
        assert_eq!(config.pending_trust_action, PendingTrustAction::Error);

        let set = [
            (INCOMPLETE_VAR, "60"),
            (PENDING_USER_TRANSFER_START_VAR, "120"),
            (PENDING_SENDER_VAR, "180"),
            (PENDING_TRUST_VAR, "240"),
            (PENDING_TRUST_ACTION_VAR, " Error "),
        ];
        let config = ExpiryConfig::from_source(&set).unwrap();
        assert_eq!(config.incomplete, Duration::from_secs(60));
        assert_eq!(config.pending_user_transfer_start, Duration::from_secs(120));
        assert_eq!(config.pending_sender, Duration::from_secs(180));
        assert_eq!(config.pending_trust, Duration::from_secs(240));
    }

    #[test]
    fn bad_values_name_their_variable() {
        for name in [
            INCOMPLETE_VAR,
            PENDING_USER_TRANSFER_START_VAR,
            PENDING_SENDER_VAR,
            PENDING_TRUST_VAR,
        ] {
            for value in ["0", "-5", "1h", "31536001"] {
                let error = ExpiryConfig::from_source(&[(name, value)])
                    .unwrap_err()
                    .to_string();
                assert!(error.starts_with(name), "{error}");
                assert!(error.contains("seconds between 1 and"), "{error}");
            }
        }
        let other = ExpiryConfig::from_source(&[(PENDING_TRUST_ACTION_VAR, "shrug")])
            .unwrap_err()
            .to_string();
        assert!(other.starts_with(PENDING_TRUST_ACTION_VAR), "{other}");
        assert!(other.contains("'shrug' is not an action"), "{other}");
    }

    #[test]
    fn pending_trust_ends_in_error_unless_refund_is_asked_for() {
        assert_eq!(
            ExpiryConfig::default().pending_trust_action,
            PendingTrustAction::Error
        );
        let refund =
            ExpiryConfig::from_source(&[(PENDING_TRUST_ACTION_VAR, " Refund ")]).expect("refund");
        assert_eq!(refund.pending_trust_action, PendingTrustAction::Refund);
    }

    #[test]
    fn limits_by_kind_and_status() {
        let config = ExpiryConfig::default();
        use Kind::*;
        use TransactionStatus::*;
        for kind in [Deposit, Withdrawal, DepositExchange, WithdrawalExchange] {
            assert_eq!(config.limit(kind, Incomplete), Some(config.incomplete));
            assert_eq!(
                config.limit(kind, PendingUserTransferStart),
                Some(config.pending_user_transfer_start)
            );
            assert_eq!(config.limit(kind, PendingSender), None);
        }
        assert_eq!(
            config.limit(Receive, PendingSender),
            Some(config.pending_sender)
        );
        assert_eq!(config.limit(Receive, PendingUserTransferStart), None);
        assert_eq!(
            config.limit(Deposit, PendingTrust),
            Some(config.pending_trust)
        );
        assert_eq!(config.limit(Withdrawal, PendingTrust), None);
        for status in TransactionStatus::ALL {
            if !status.has_deadline() {
                assert_eq!(config.limit(Deposit, status), None, "{status}");
                assert_eq!(config.limit(Receive, status), None, "{status}");
            }
        }
    }
}
