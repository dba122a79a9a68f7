//! The command line: subcommands, options and the parsers of their values.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use mooring::lifecycle::operator::listing::ALL_KINDS;
use mooring::lifecycle::operator::ListFilter;
use mooring::model::{Kind, TransactionStatus, UserKey};
use mooring::stellar::MuxedAccount;
use mooring::time::Timestamp;

/// The stack name when neither `--stack` nor `MOORING_STACK` gives one (the local stack's).
pub const DEFAULT_STACK: &str = "mooring";

/// The help heading of the options every command takes.
const GLOBAL: &str = "Global options";

#[derive(Debug, Parser)]
#[command(
    name = "mooring-admin",
    version,
    about = "The operator's console of a Mooring anchor",
    long_about = "The operator's console of a Mooring anchor: transactions, incoming payments, \
                  balances and dead-letter queues of one deployed stack.\n\n\
                  AWS access is the ordinary credential chain (AWS_PROFILE, AWS_REGION, ...); \
                  AWS_ENDPOINT_URL points it at a local emulator. The stack's tables and queues \
                  are found from its CloudFormation resources."
)]
pub struct Cli {
    /// The CloudFormation stack [default: $MOORING_STACK, else mooring]
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub stack: Option<String>,
    /// Print JSON (for scripts) instead of tables
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// Do not ask before changing anything
    #[arg(long, short = 'y', global = true, help_heading = GLOBAL)]
    pub yes: bool,
    /// Who acts, recorded in the transaction's history [default: $USER]
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub operator: Option<String>,
    /// Why, recorded in the transaction's history
    #[arg(long, global = true, value_name = "TEXT", help_heading = GLOBAL)]
    pub reason: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List transactions, oldest first (default: every one in a status that is not final)
    List(ListArgs),
    /// Show a transaction: every field, and its history (who changed it, when, why)
    Show { id: String },
    /// Send a transaction to the worker that owns its status again (never pays twice)
    Retry { id: String },
    /// Resolve an on_hold transaction: accept it (it goes on) or refund it
    Resolve {
        id: String,
        #[command(flatten)]
        resolution: Resolution,
    },
    /// Refund a transaction to its sender, everything it paid (needs --reason)
    Refund { id: String },
    /// End a transaction nobody will finish: status expired
    Expire {
        id: String,
        /// The status_message the wallet sees [default: "The anchor ended this transaction."]
        #[arg(long, value_name = "TEXT")]
        message: Option<String>,
    },
    /// Incoming Stellar payments that need the operator (unmatched, duplicate, wrong asset or
    /// amount), oldest first
    Incoming {
        #[arg(long, default_value_t = 50, value_parser = parse_limit)]
        limit: usize,
    },
    /// Balances of the distribution and channel accounts (Horizon)
    Balances,
    /// Dead-letter queues: depths, and moving messages back
    #[command(subcommand)]
    Dlq(DlqCommand),
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Resolution {
    /// Let it go on: back to the status its worker continues from, and queued
    #[arg(long)]
    pub accept: bool,
    /// Refund it to its sender (needs --reason)
    #[arg(long)]
    pub refund: bool,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// How many messages wait in each dead-letter queue
    List,
    /// Move the messages of a dead-letter queue (default: every one) back to its source queue
    Redrive {
        /// submissions, withdrawals, outgoing-payments, ... (as `dlq list` names them)
        queue: Option<String>,
        /// Messages moved per queue at most
        #[arg(long, default_value_t = 1000, value_parser = parse_limit)]
        max: usize,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Only these statuses (comma-separated)
    #[arg(long, value_delimiter = ',', value_parser = parse_status, value_name = "STATUS")]
    pub status: Vec<TransactionStatus>,
    /// Only these kinds: deposit, withdrawal, deposit-exchange, withdrawal-exchange, receive
    #[arg(long, value_delimiter = ',', value_parser = parse_kind, value_name = "KIND")]
    pub kind: Vec<Kind>,
    /// Only this user's: G..., G...:MEMO or M...
    #[arg(long, value_parser = parse_account, value_name = "ACCOUNT")]
    pub account: Option<UserKey>,
    /// Only those started longer ago than this: 90s, 15m, 2h, 3d, 1w, 1h30m
    #[arg(long, value_parser = parse_age, value_name = "AGE")]
    pub older_than: Option<Duration>,
    /// Only those started at most this long ago
    #[arg(long, value_parser = parse_age, value_name = "AGE")]
    pub newer_than: Option<Duration>,
    /// At most this many (1-1000)
    #[arg(long, default_value_t = 50, value_parser = parse_limit)]
    pub limit: usize,
}

impl ListArgs {
    /// The store filter, ages counted back from `now`.
    pub fn filter(&self, now: Timestamp) -> Result<ListFilter, String> {
        let back = |age: Duration| {
            let millis = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
            Timestamp::from_millis(now.millis().saturating_sub(millis))
        };
        if let (Some(older), Some(newer)) = (self.older_than, self.newer_than) {
            if newer <= older {
                return Err(
                    "--newer-than must be longer than --older-than (it is the far end)".into(),
                );
            }
        }
        Ok(ListFilter {
            statuses: self.status.clone(),
            kinds: self.kind.clone(),
            user: self.account,
            started_before: self.older_than.map(back),
            started_since: self.newer_than.map(back),
            limit: self.limit,
        })
    }
}

pub fn parse_status(s: &str) -> Result<TransactionStatus, String> {
    s.trim().parse()
}

pub fn parse_kind(s: &str) -> Result<Kind, String> {
    let s = s.trim();
    ALL_KINDS
        .into_iter()
        .find(|kind| kind.as_str() == s)
        .ok_or_else(|| {
            let names: Vec<&str> = ALL_KINDS.iter().map(|k| k.as_str()).collect();
            format!("'{}' is not a kind ({})", clip(s), names.join(", "))
        })
}

/// `G...`, `G...:MEMO` (a shared account's user, memo an integer) or `M...`.
pub fn parse_account(s: &str) -> Result<UserKey, String> {
    let s = s.trim();
    let (address, memo) = match s.split_once(':') {
        Some((address, memo)) => {
            let memo: u64 = memo
                .parse()
                .map_err(|_| format!("'{}': the memo after ':' is an integer", clip(s)))?;
            (address, Some(memo))
        }
        None => (s, None),
    };
    let muxed: MuxedAccount = address
        .parse()
        .map_err(|_| format!("'{}' is not a G... or M... account", clip(s)))?;
    if muxed.id.is_some() && memo.is_some() {
        return Err("an M... account carries its memo: no ':MEMO' after it".into());
    }
    Ok(UserKey {
        account: muxed.account,
        memo: muxed.id.or(memo),
    })
}

/// A duration of numbers with units: `90s`, `15m`, `2h`, `3d`, `1w`, `1h30m`.
pub fn parse_age(s: &str) -> Result<Duration, String> {
    const MAX_SECS: u64 = 100 * 365 * 86_400;
    let s = s.trim();
    let invalid = || {
        format!(
            "'{}' is not an age: numbers with units s, m, h, d, w (e.g. 2h, 1h30m)",
            clip(s)
        )
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(invalid()),
        };
        let n: u64 = digits.parse().map_err(|_| invalid())?;
        total = n
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .filter(|&t| t <= MAX_SECS)
            .ok_or_else(|| format!("'{}' is longer than 100 years", clip(s)))?;
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(invalid());
    }
    Ok(Duration::from_secs(total))
}

pub fn parse_limit(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(format!("'{}' is not a number from 1 to 1000", clip(s))),
    }
}

/// The stack's name: `--stack`, else `MOORING_STACK`, else [`DEFAULT_STACK`].
pub fn stack_name(option: Option<&str>, env: impl Fn(&str) -> Option<String>) -> String {
    option
        .map(str::to_owned)
        .or_else(|| env("MOORING_STACK"))
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_STACK.to_owned())
}

/// Who acts: `--operator`, else `USER`.
pub fn operator_name(
    option: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    option
        .map(str::to_owned)
        .or_else(|| env("USER"))
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| "who is acting? Pass --operator NAME (USER is not set)".into())
}

/// At most 60 characters of a user's input, for an error message.
fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use mooring::stellar::Keypair;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("mooring-admin").chain(args.iter().copied()))
    }

    #[test]
    fn ages_are_numbers_with_units() {
        assert_eq!(parse_age("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_age("2h"), Ok(Duration::from_secs(7_200)));
        assert_eq!(parse_age("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_age("1w2d"), Ok(Duration::from_secs(9 * 86_400)));
        for bad in ["", "2", "h", "2x", "-1h", "0m", "1h2"] {
            assert!(parse_age(bad).is_err(), "{bad:?}");
        }
        assert!(parse_age("99999999999w").unwrap_err().contains("100 years"));
    }

    #[test]
    fn accounts_are_g_with_an_optional_memo_or_m() {
        let account = Keypair::from_seed_bytes([4; 32]).account_id();
        let g = account.to_string();
        assert_eq!(
            parse_account(&g),
            Ok(UserKey {
                account,
                memo: None
            })
        );
        assert_eq!(
            parse_account(&format!("{g}:42")),
            Ok(UserKey {
                account,
                memo: Some(42)
            })
        );
        let m = MuxedAccount::new(account, Some(7)).to_string();
        assert_eq!(
            parse_account(&m),
            Ok(UserKey {
                account,
                memo: Some(7)
            })
        );
        assert!(parse_account(&format!("{g}:x"))
            .unwrap_err()
            .contains("integer"));
        assert!(parse_account(&format!("{m}:1")).is_err());
        assert!(parse_account("GABC").unwrap_err().contains("not a G"));
    }

    #[test]
    fn statuses_kinds_and_limits_say_what_is_wrong() {
        assert_eq!(parse_kind("deposit-exchange"), Ok(Kind::DepositExchange));
        assert!(parse_kind("swap").unwrap_err().contains("receive"));
        assert_eq!(parse_status("on_hold"), Ok(TransactionStatus::OnHold));
        assert!(parse_status("held").is_err());
        assert_eq!(parse_limit("1000"), Ok(1000));
        assert!(parse_limit("0").is_err() && parse_limit("1001").is_err());
    }

    #[test]
    fn the_list_filter_counts_ages_back_from_now() {
        let cli = parse(&[
            "list",
            "--status",
            "pending_anchor,on_hold",
            "--kind",
            "withdrawal",
            "--older-than",
            "1h",
            "--newer-than",
            "1d",
            "--limit",
            "5",
        ])
        .expect("parses");
        let Command::List(args) = cli.command else {
            panic!("list")
        };
        let now = Timestamp::from_secs(1_700_000_000);
        let filter = args.filter(now).expect("filter");
        assert_eq!(
            filter.statuses,
            [TransactionStatus::PendingAnchor, TransactionStatus::OnHold]
        );
        assert_eq!(filter.kinds, [Kind::Withdrawal]);
        assert_eq!(
            filter.started_before,
            Some(Timestamp::from_secs(1_700_000_000 - 3_600))
        );
        assert_eq!(
            filter.started_since,
            Some(Timestamp::from_secs(1_700_000_000 - 86_400))
        );
        assert_eq!(filter.limit, 5);

        let reversed = ListArgs {
            older_than: Some(Duration::from_secs(86_400)),
            newer_than: Some(Duration::from_secs(3_600)),
            ..args
        };
        assert!(reversed.filter(now).unwrap_err().contains("--newer-than"));
    }

    #[test]
    fn global_options_go_anywhere_and_resolve_needs_one_resolution() {
        let cli = parse(&["retry", "t-1", "--yes", "--operator", "ana", "--json"]).expect("ok");
        assert!(cli.yes && cli.json);
        assert_eq!(cli.operator.as_deref(), Some("ana"));
        assert!(matches!(cli.command, Command::Retry { ref id } if id == "t-1"));

        let cli = parse(&["--reason", "checked", "resolve", "t-1", "--accept"]).expect("ok");
        assert_eq!(cli.reason.as_deref(), Some("checked"));
        assert!(matches!(
            cli.command,
            Command::Resolve {
                resolution: Resolution {
                    accept: true,
                    refund: false
                },
                ..
            }
        ));
        let neither = parse(&["resolve", "t-1"]).expect_err("needs one");
        assert_eq!(neither.kind(), ErrorKind::MissingRequiredArgument);
        let both = parse(&["resolve", "t-1", "--accept", "--refund"]).expect_err("one only");
        assert_eq!(both.kind(), ErrorKind::ArgumentConflict);

        let cli = parse(&["dlq", "redrive", "submissions", "--max", "10"]).expect("ok");
        assert!(matches!(
            cli.command,
            Command::Dlq(DlqCommand::Redrive { queue: Some(ref q), max: 10 }) if q == "submissions"
        ));
        let bad = parse(&["list", "--status", "held"]).expect_err("bad status");
        assert_eq!(bad.kind(), ErrorKind::ValueValidation);
        assert!(bad
            .to_string()
            .contains("'held' is not a transaction status"));
        assert!(parse(&["show"]).is_err(), "an id is required");
    }

    #[test]
    fn the_stack_and_the_operator_come_from_options_then_the_environment() {
        let env = |name: &str| match name {
            "MOORING_STACK" => Some("anchor-prod".to_owned()),
            "USER" => Some("ana".to_owned()),
            _ => None,
        };
        let none = |_: &str| None;
        assert_eq!(stack_name(Some("other"), env), "other");
        assert_eq!(stack_name(None, env), "anchor-prod");
        assert_eq!(stack_name(None, none), DEFAULT_STACK);
        assert_eq!(operator_name(Some("bo"), env), Ok("bo".to_owned()));
        assert_eq!(operator_name(None, env), Ok("ana".to_owned()));
        assert!(operator_name(None, none)
            .unwrap_err()
            .contains("--operator"));
    }
}
