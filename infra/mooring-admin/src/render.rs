//! Output: aligned tables for people, JSON for scripts (`--json`: the records whole, as stored).

use mooring::lifecycle::operator::{AccountBalances, Applied};
use mooring::model::{HistoryEntry, IncomingPayment, Transaction, UserKey};
use mooring::time::Timestamp;
use serde_json::Value;

use crate::commands::{Output, QueueDepth, Redriven};

/// The output as pretty JSON.
pub fn json(output: &Output) -> String {
    serde_json::to_string_pretty(output)
        .unwrap_or_else(|e| format!("{{\"error\": \"the output could not be written: {e}\"}}"))
}

/// The output for a person; ages are counted to `now`.
pub fn human(output: &Output, now: Timestamp) -> String {
    match output {
        Output::Transactions { transactions, more } => transactions_table(transactions, *more, now),
        Output::Transaction(t) => transaction(t, now),
        Output::Applied(applied) => applied_action(applied),
        Output::Incoming { payments, more } => incoming(payments, *more),
        Output::Balances {
            horizon_url,
            accounts,
        } => balances(horizon_url, accounts),
        Output::DeadLetters { queues } => dead_letters(queues),
        Output::Redriven { queues } => redriven(queues),
    }
}

/// Columns padded to their widest cell, two spaces apart.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (cell, width) in cells.iter().zip(&widths) {
            out.push_str(cell);
            out.extend(std::iter::repeat_n(' ', width - cell.chars().count() + 2));
        }
        out.trim_end().to_owned()
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// At most `max` characters, an ellipsis marking the cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut clipped: String = s.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

/// `GABC…WXYZ`: enough of an account to tell it apart in a table.
fn short_account(account: &str) -> String {
    let chars: Vec<char> = account.chars().collect();
    if chars.len() <= 12 {
        return account.to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// A user in a table: the short account, and the memo of a shared account's user.
fn short_user(user: &UserKey) -> String {
    let account = short_account(&user.account.to_string());
    match user.memo {
        Some(memo) => format!("{account}:{memo}"),
        None => account,
    }
}

/// How long ago: `45s`, `12m`, `3h05m`, `2d04h`.
pub fn age(now: Timestamp, then: Timestamp) -> String {
    let secs = (now.millis() - then.millis()).max(0) / 1000;
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3_600, s % 3_600 / 60),
        s => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3_600),
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn transactions_table(transactions: &[Transaction], more: bool, now: Timestamp) -> String {
    if transactions.is_empty() {
        return "no transactions match".into();
    }
    let rows: Vec<Vec<String>> = transactions
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.kind.as_str().to_owned(),
                t.status.as_str().to_owned(),
                age(now, t.started_at),
                t.asset.code().to_owned(),
                t.amount_in.map(|a| a.to_string()).unwrap_or_default(),
                short_user(&t.user),
                clip(t.status_message.as_deref().unwrap_or_default(), 48),
            ]
        })
        .collect();
    listed(
        &[
            "ID",
            "KIND",
            "STATUS",
            "AGE",
            "ASSET",
            "AMOUNT IN",
            "USER",
            "MESSAGE",
        ],
        &rows,
        ("transaction", "transactions"),
        more.then_some("more match (raise --limit or narrow the filter)"),
    )
}

/// A table of records, oldest first, with their count and what to do when more exist.
fn listed(
    headers: &[&str],
    rows: &[Vec<String>],
    (one, many): (&str, &str),
    more: Option<&str>,
) -> String {
    let mut out = table(headers, rows);
    out.push_str(&format!("\n{}, oldest first", count(rows.len(), one, many)));
    if let Some(more) = more {
        out.push_str("; ");
        out.push_str(more);
    }
    out
}

/// The fields shown first, in this order; the rest follow alphabetically.
const HEADLINE: [&str; 17] = [
    "id",
    "kind",
    "protocol",
    "status",
    "status_message",
    "user",
    "asset",
    "amount_in",
    "amount_out",
    "fee_details",
    "started_at",
    "updated_at",
    "completed_at",
    "user_action_required_by",
    "stellar_transaction_id",
    "external_transaction_id",
    "refunds",
];

fn transaction(t: &Transaction, now: Timestamp) -> String {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(t) else {
        return format!("transaction {} could not be shown", t.id);
    };
    fields.remove("history");
    fields.insert("user".into(), Value::String(t.user.to_string()));
    if let Some(Value::String(xdr)) = fields.get("envelope_xdr") {
        let note = format!("({} characters; --json shows it)", xdr.chars().count());
        fields.insert("envelope_xdr".into(), Value::String(note));
    }
    let mut keys: Vec<String> = HEADLINE
        .iter()
        .filter(|k| fields.contains_key(**k))
        .map(|k| (*k).to_owned())
        .collect();
    let mut rest: Vec<String> = fields
        .keys()
        .filter(|k| !HEADLINE.contains(&k.as_str()))
        .cloned()
        .collect();
    rest.sort();
    keys.extend(rest);
    let rows: Vec<Vec<String>> = keys
        .iter()
        .filter_map(|key| {
            let value = match fields.get(key)? {
                Value::Null => return None,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let value = match key.as_str() {
                "started_at" => format!("{value} ({} ago)", age(now, t.started_at)),
                "updated_at" => format!("{value} ({} ago)", age(now, t.updated_at)),
                _ => value,
            };
            Some(vec![key.clone(), value])
        })
        .collect();
    let mut out = table(&["FIELD", "VALUE"], &rows);
    out.push_str("\n\n");
    out.push_str(&history(&t.history));
    out
}

fn change(entry: &HistoryEntry) -> String {
    if entry.from == entry.status {
        format!("stays {}", entry.status)
    } else {
        format!("{} -> {}", entry.from, entry.status)
    }
}

fn history(entries: &[HistoryEntry]) -> String {
    if entries.is_empty() {
        return "history: nothing recorded".into();
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.at.to_string(),
                e.version.to_string(),
                e.by.clone(),
                change(e),
                e.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    format!(
        "history, oldest first:\n{}",
        table(&["AT", "VERSION", "BY", "CHANGE", "NOTE"], &rows)
    )
}

fn applied_action(applied: &Applied) -> String {
    let t = &applied.transaction;
    let mut out = format!(
        "{} {} {}: done, now {}",
        applied.action.as_str(),
        t.kind.as_str(),
        t.id,
        t.status
    );
    if let Some(queue) = applied.queued {
        out.push_str(&format!(", queued to {queue}"));
    }
    if let Some(entry) = t.history.last() {
        out.push_str(&format!(
            "\nrecorded in its history (version {}) by {}: {}",
            entry.version,
            entry.by,
            entry.note.as_deref().unwrap_or_default()
        ));
    }
    out
}

fn incoming(payments: &[IncomingPayment], more: bool) -> String {
    if payments.is_empty() {
        return "no incoming payments need attention".into();
    }
    let rows: Vec<Vec<String>> = payments
        .iter()
        .map(|p| {
            let outcome = serde_json::to_value(p.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            // Money that arrived off chain: the rail's amount, payer and reference.
            let (amount, from, memo) = match &p.off_chain {
                Some(transfer) => (
                    format!(
                        "{} {}",
                        transfer.amount,
                        transfer.currency.as_deref().unwrap_or("(off chain)")
                    ),
                    clip(transfer.sender.as_deref().unwrap_or_default(), 24),
                    format!(
                        "reference:{}",
                        clip(transfer.reference.as_deref().unwrap_or_default(), 24)
                    ),
                ),
                None => (
                    format!("{} {}", p.amount, p.asset.code()),
                    p.from
                        .map(|a| short_account(&a.to_string()))
                        .unwrap_or_default(),
                    match &p.memo {
                        Some(memo) => format!("{}:{}", p.memo_type, clip(memo, 24)),
                        None => p.memo_type.clone(),
                    },
                ),
            };
            vec![
                p.id.clone(),
                p.created_at.to_string(),
                outcome,
                amount,
                from,
                memo,
                p.transaction_id.clone().unwrap_or_default(),
                clip(p.note.as_deref().unwrap_or_default(), 60),
            ]
        })
        .collect();
    listed(
        &[
            "OPERATION",
            "PAID AT",
            "OUTCOME",
            "AMOUNT",
            "FROM",
            "MEMO",
            "TRANSACTION",
            "NOTE",
        ],
        &rows,
        ("payment", "payments"),
        more.then_some("more need attention (raise --limit)"),
    )
}

fn balances(horizon_url: &str, accounts: &[AccountBalances]) -> String {
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| {
            let state = match (&a.error, a.exists) {
                (Some(error), _) => format!("unknown: {error}"),
                (None, false) => "does not exist (fund it)".to_owned(),
                (None, true) => a
                    .balances
                    .iter()
                    .map(|b| {
                        let code = b.asset.split(':').next().unwrap_or_default();
                        format!("{} {code}", b.balance)
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            vec![a.role.clone(), a.account.to_string(), state]
        })
        .collect();
    format!(
        "Horizon {horizon_url}\n{}",
        table(&["ROLE", "ACCOUNT", "BALANCES"], &rows)
    )
}

fn dead_letters(queues: &[QueueDepth]) -> String {
    if queues.is_empty() {
        return "the stack has no dead-letter queues".into();
    }
    let rows: Vec<Vec<String>> = queues
        .iter()
        .map(|q| {
            let messages = match (&q.messages, &q.error) {
                (_, Some(error)) => format!("unknown: {error}"),
                (Some(n), None) => n.to_string(),
                (None, None) => String::new(),
            };
            vec![q.name.clone(), messages]
        })
        .collect();
    table(&["QUEUE", "DEAD LETTERS"], &rows)
}

fn redriven(queues: &[Redriven]) -> String {
    queues
        .iter()
        .map(|q| {
            let mut line = format!(
                "{}: {} moved back",
                q.name,
                count(q.report.moved, "message", "messages")
            );
            if let Some(why) = &q.report.stopped {
                line.push_str(&format!("; stopped: {why}"));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use mooring::lifecycle::operator::{Action, AssetBalance, RedriveReport, WorkerQueue};
    use mooring::model::{Kind, PaymentOutcome, Protocol, TransactionStatus};
    use mooring::stellar::{Amount, Asset, Keypair};

    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn sample() -> Transaction {
        let issuer = Keypair::from_seed_bytes([1; 32]).account_id();
        let user = UserKey {
            account: Keypair::from_seed_bytes([2; 32]).account_id(),
            memo: Some(42),
        };
        let mut t = Transaction::new(
            Protocol::Sep24,
            Kind::Withdrawal,
            TransactionStatus::OnHold,
            user,
            Asset::credit("USDC", issuer).expect("asset"),
            Timestamp::from_secs(NOW - 7_500),
        );
        t.id = "4f1c0000-0000-4000-8000-000000000001".into();
        t.version = 2;
        t.amount_in = Some(Amount::from_stroops(1_005_000_000));
        t.status_message =
            Some("Received 100.5 USDC, expected 50; held for review by the anchor.".into());
        t.envelope_xdr = Some("A".repeat(300));
        t.record(TransactionStatus::PendingUserTransferStart, "mooring", None);
        t.version = 3;
        t.status = TransactionStatus::PendingAnchor;
        t.record(
            TransactionStatus::OnHold,
            "operator:ana",
            Some("accept: checked".into()),
        );
        t.status = TransactionStatus::OnHold;
        t
    }

    #[test]
    fn tables_align_their_columns() {
        let out = table(
            &["A", "LONG HEADER"],
            &[
                vec!["wide cell".into(), "x".into()],
                vec!["y".into(), String::new()],
            ],
        );
        assert_eq!(out, "A          LONG HEADER\nwide cell  x\ny");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(
            age(Timestamp::from_secs(NOW), Timestamp::from_secs(NOW - 7_500)),
            "2h05m"
        );
        assert_eq!(
            age(
                Timestamp::from_secs(NOW),
                Timestamp::from_secs(NOW - 200_000)
            ),
            "2d07h"
        );
    }

    #[test]
    fn a_listing_is_a_table_of_transactions_saying_whether_more_match() {
        let output = Output::Transactions {
            transactions: vec![sample()],
            more: true,
        };
        let out = human(&output, Timestamp::from_secs(NOW));
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("ID  "), "{out}");
        assert!(lines[1].starts_with("4f1c0000-0000-4000-8000-000000000001  withdrawal  on_hold"));
        assert!(lines[1].contains("2h05m") && lines[1].contains("100.5"));
        let account = sample().user.account.to_string();
        let short = format!("{}…{}:42", &account[..4], &account[52..]);
        assert!(lines[1].contains(&short), "accounts are shortened: {out}");
        assert!(lines[1].contains("Received 100.5 USDC, expected 50; held for revi…"));
        assert_eq!(
            lines[2],
            "1 transaction, oldest first; more match (raise --limit or narrow the filter)"
        );
        assert_eq!(
            human(
                &Output::Transactions {
                    transactions: Vec::new(),
                    more: false
                },
                Timestamp::from_secs(NOW)
            ),
            "no transactions match"
        );
        let json: Value = serde_json::from_str(&json(&output)).expect("json");
        assert_eq!(json["more"], true);
        assert_eq!(json["transactions"][0]["status"], "on_hold");
        assert_eq!(
            json["transactions"][0]["history"][1]["by"], "operator:ana",
            "JSON has the records whole"
        );
    }

    #[test]
    fn a_transaction_shows_its_fields_headline_first_and_its_history() {
        let t = sample();
        let out = human(
            &Output::Transaction(Box::new(t.clone())),
            Timestamp::from_secs(NOW),
        );
        let field = |name: &str| {
            out.lines()
                .position(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} in {out}"))
        };
        assert!(field("id") < field("status") && field("status") < field("user"));
        assert!(
            field("updated_at") < field("claimable_balance_supported"),
            "the rest after"
        );
        assert!(out.contains(&t.user.to_string()), "the user whole: {out}");
        assert!(out.contains("(300 characters; --json shows it)"));
        assert!(out.contains("(2h05m ago)"));
        assert!(out.contains("history, oldest first:"));
        let last = out.lines().last().expect("a line");
        assert!(
            last.contains("4  ")
                && last.contains("operator:ana")
                && last.contains("on_hold -> pending_anchor")
                && last.ends_with("accept: checked"),
            "{last}"
        );
        let json: Value =
            serde_json::from_str(&json(&Output::Transaction(Box::new(t)))).expect("json");
        assert_eq!(json["envelope_xdr"].as_str().map(str::len), Some(300));
        assert_eq!(json["user"]["memo"], 42);
    }

    #[test]
    fn an_action_says_what_it_did_and_what_was_recorded() {
        let mut t = sample();
        t.status = TransactionStatus::PendingAnchor;
        let applied = Output::Applied(Box::new(Applied {
            action: Action::Accept,
            transaction: t,
            queued: Some(WorkerQueue::Withdrawals),
        }));
        assert_eq!(
            human(&applied, Timestamp::from_secs(NOW)),
            "accept withdrawal 4f1c0000-0000-4000-8000-000000000001: done, now pending_anchor, \
             queued to withdrawals\nrecorded in its history (version 4) by operator:ana: accept: checked"
        );
        let json: Value = serde_json::from_str(&json(&applied)).expect("json");
        assert_eq!(json["action"], "accept");
        assert_eq!(json["queued"], "withdrawals");
        assert_eq!(json["transaction"]["status"], "pending_anchor");
    }

    #[test]
    fn incoming_payments_balances_and_queues_render() {
        let account = Keypair::from_seed_bytes([3; 32]).account_id();
        let payment = IncomingPayment {
            id: "12884905985".into(),
            account,
            transaction_hash: "ab".into(),
            from: Some(account),
            asset: sample().asset,
            amount: Amount::from_stroops(500_000_000),
            off_chain: None,
            memo_type: "text".into(),
            memo: Some("MOOR-7".into()),
            created_at: Timestamp::from_secs(NOW),
            outcome: PaymentOutcome::Unmatched,
            transaction_id: None,
            note: Some("no open transaction has this memo".into()),
            recorded_at: Timestamp::from_secs(NOW),
        };
        let out = human(
            &Output::Incoming {
                payments: vec![payment],
                more: false,
            },
            Timestamp::from_secs(NOW),
        );
        assert!(out.lines().nth(1).is_some_and(|l| l.contains("unmatched")
            && l.contains("50 USDC")
            && l.contains("text:MOOR-7")));
        assert!(out.ends_with("1 payment, oldest first"));

        let accounts = vec![
            AccountBalances {
                role: "distribution".into(),
                account,
                exists: true,
                balances: vec![
                    AssetBalance {
                        asset: "XLM".into(),
                        balance: Amount::from_stroops(100_000_000),
                        limit: None,
                    },
                    AssetBalance {
                        asset: format!("USDC:{account}"),
                        balance: Amount::from_stroops(25_000_000),
                        limit: Some(Amount::from_stroops(1_000_000_000)),
                    },
                ],
                error: None,
            },
            AccountBalances {
                role: "channel 0".into(),
                account,
                exists: false,
                balances: Vec::new(),
                error: None,
            },
        ];
        let out = human(
            &Output::Balances {
                horizon_url: "http://127.0.0.1:8001".into(),
                accounts,
            },
            Timestamp::from_secs(NOW),
        );
        assert!(out.starts_with("Horizon http://127.0.0.1:8001\nROLE"));
        assert!(
            out.contains(&format!("distribution  {account}  10 XLM, 2.5 USDC")),
            "{out}"
        );
        assert!(out.contains("does not exist (fund it)"));

        let queues = Output::DeadLetters {
            queues: vec![
                QueueDepth {
                    name: "submissions".into(),
                    messages: Some(3),
                    error: None,
                },
                QueueDepth {
                    name: "orphan".into(),
                    messages: None,
                    error: Some("no source queue".into()),
                },
            ],
        };
        assert_eq!(
            human(&queues, Timestamp::from_secs(NOW)),
            "QUEUE        DEAD LETTERS\nsubmissions  3\norphan       unknown: no source queue"
        );
        let redriven = Output::Redriven {
            queues: vec![Redriven {
                name: "withdrawals".into(),
                report: RedriveReport {
                    moved: 1,
                    stopped: Some("sending back failed".into()),
                },
            }],
        };
        assert!(redriven.failed());
        assert_eq!(
            human(&redriven, Timestamp::from_secs(NOW)),
            "withdrawals: 1 message moved back; stopped: sending back failed"
        );
        let json: Value = serde_json::from_str(&json(&redriven)).expect("json");
        assert_eq!(json["queues"][0]["moved"], 1);
        assert_eq!(json["queues"][0]["name"], "withdrawals");
    }
}
