//! What each command does, over the ports (the in-memory adapters in tests, the stack's AWS
//! adapters in `main`), and the confirmation asked before anything changes.

use std::io::{BufRead, Write};

use mooring::horizon::Horizon;
use mooring::lifecycle::operator::listing::incoming_payments;
use mooring::lifecycle::operator::{
    self, list_transactions, redrive, AccountBalances, AnchorAccounts, Applied, DeadLetterQueue,
    Operator, OperatorError, Plan, RedriveReport, RefundScope,
};
use mooring::model::{IncomingPayment, Transaction};
use mooring::queue::Queue;
use mooring::store::{IncomingPayments, TransactionStore};
use mooring::time::Timestamp;
use serde::Serialize;

use crate::cli::ListArgs;
use crate::AdminError;

/// What a command found or did, rendered as a table or as JSON.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Output {
    Transactions {
        transactions: Vec<Transaction>,
        /// More match than are listed.
        more: bool,
    },
    Transaction(Box<Transaction>),
    Applied(Box<Applied>),
    Incoming {
        payments: Vec<IncomingPayment>,
        more: bool,
    },
    Balances {
        horizon_url: String,
        accounts: Vec<AccountBalances>,
    },
    DeadLetters {
        queues: Vec<QueueDepth>,
    },
    Redriven {
        queues: Vec<Redriven>,
    },
}

impl Output {
    /// Whether the command failed partway (its output says where): the exit status is 1.
    pub fn failed(&self) -> bool {
        match self {
            Output::DeadLetters { queues } => queues.iter().any(|q| q.error.is_some()),
            Output::Balances { accounts, .. } => accounts.iter().any(|a| a.error.is_some()),
            Output::Redriven { queues } => queues.iter().any(|q| q.report.stopped.is_some()),
            _ => false,
        }
    }
}

/// A dead-letter queue's depth.
#[derive(Debug, Serialize)]
pub struct QueueDepth {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a redrive of one dead-letter queue moved.
#[derive(Debug, Serialize)]
pub struct Redriven {
    pub name: String,
    #[serde(flatten)]
    pub report: RedriveReport,
}

/// A dead-letter queue by name, or why it cannot be used (no source queue).
pub type NamedDeadLetters<D> = (String, Result<D, String>);

/// Asks before a change: passes with `--yes`; otherwise asks on the terminal and passes on
/// `y`/`yes`; refuses without a terminal to ask on.
pub struct Confirmation<R, W> {
    pub yes: bool,
    pub interactive: bool,
    pub input: R,
    pub prompt: W,
}

impl<R: BufRead, W: Write> Confirmation<R, W> {
    pub fn ask(&mut self, what: &str) -> Result<(), AdminError> {
        if self.yes {
            return Ok(());
        }
        if !self.interactive {
            return Err(AdminError::NeedsConfirmation);
        }
        // A prompt that cannot be written or answered is a "no".
        write!(self.prompt, "{what}\nProceed? [y/N] ").map_err(|_| AdminError::Cancelled)?;
        self.prompt.flush().map_err(|_| AdminError::Cancelled)?;
        let mut answer = String::new();
        self.input
            .read_line(&mut answer)
            .map_err(|_| AdminError::Cancelled)?;
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => Ok(()),
            _ => Err(AdminError::Cancelled),
        }
    }
}

pub async fn list<S: TransactionStore>(
    store: &S,
    args: &ListArgs,
    now: Timestamp,
) -> Result<Output, AdminError> {
    let filter = args.filter(now).map_err(AdminError::Usage)?;
    let listing = list_transactions(store, &filter).await?;
    Ok(Output::Transactions {
        transactions: listing.transactions,
        more: listing.more,
    })
}

pub async fn show<S: TransactionStore>(store: &S, id: &str) -> Result<Output, AdminError> {
    let transaction = operator::transaction(store, id).await?;
    Ok(Output::Transaction(Box::new(transaction)))
}

/// Plans an action from the transaction alone.
pub type PlanFrom<'a> = Box<dyn FnOnce(&Transaction) -> Result<Plan, OperatorError> + 'a>;

/// How an action plans from the transaction as read.
pub enum Decide<'a> {
    /// From the transaction alone (retry, accept, expire).
    Plan(PlanFrom<'a>),
    /// A refund, planned from the transaction and its recorded payment (the reason is required).
    Refund(RefundScope),
}

/// An action: read the transaction, plan it as `decide` says, confirm the plan, apply it.
pub async fn act<S, Q, R, W>(
    operator: &Operator<'_, S, Q>,
    id: &str,
    decide: Decide<'_>,
    reason: Option<&str>,
    confirmation: &mut Confirmation<R, W>,
) -> Result<Output, AdminError>
where
    S: TransactionStore + IncomingPayments,
    Q: Queue,
    R: BufRead,
    W: Write,
{
    // A bad reason fails before anything is asked.
    let reason = reason.map(operator::check_reason).transpose()?;
    let read = operator.transaction(id).await?;
    let plan = match decide {
        Decide::Plan(decide) => decide(&read)?,
        Decide::Refund(scope) => {
            operator
                .plan_refund(&read, scope, reason.as_deref())
                .await?
        }
    };
    confirmation.ask(&plan.describe())?;
    let applied = operator.apply(&read, &plan, reason.as_deref()).await?;
    Ok(Output::Applied(Box::new(applied)))
}

pub async fn incoming<S: IncomingPayments>(store: &S, limit: usize) -> Result<Output, AdminError> {
    let (payments, more) = incoming_payments(store, limit).await?;
    Ok(Output::Incoming { payments, more })
}

pub async fn balances<H: Horizon>(horizon: &H, anchor: AnchorAccounts) -> Output {
    let accounts = operator::balances(horizon, &anchor.accounts).await;
    Output::Balances {
        horizon_url: anchor.horizon_url,
        accounts,
    }
}

pub async fn dead_letters<D: DeadLetterQueue>(queues: &[NamedDeadLetters<D>]) -> Output {
    let mut depths = Vec::with_capacity(queues.len());
    for (name, queue) in queues {
        let (messages, error) = match queue {
            Ok(queue) => match queue.depth().await {
                Ok(depth) => (Some(depth), None),
                Err(error) => (None, Some(error.to_string())),
            },
            Err(why) => (None, Some(why.clone())),
        };
        depths.push(QueueDepth {
            name: name.clone(),
            messages,
            error,
        });
    }
    Output::DeadLetters { queues: depths }
}

/// Moves the messages of the dead-letter queue `which` (every one when `None`) back to their
/// source queues, at most `max` each, after one confirmation.
pub async fn redrive_dead_letters<D, R, W>(
    queues: &[NamedDeadLetters<D>],
    which: Option<&str>,
    max: usize,
    confirmation: &mut Confirmation<R, W>,
) -> Result<Output, AdminError>
where
    D: DeadLetterQueue,
    R: BufRead,
    W: Write,
{
    let names = || {
        queues
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chosen: Vec<&NamedDeadLetters<D>> = match which {
        None => queues.iter().collect(),
        Some(wanted) => {
            let wanted = wanted.trim().to_ascii_lowercase();
            let found: Vec<_> = queues.iter().filter(|(name, _)| *name == wanted).collect();
            if found.is_empty() {
                return Err(AdminError::Usage(format!(
                    "no dead-letter queue '{}' (the stack has: {})",
                    wanted.chars().take(60).collect::<String>(),
                    names()
                )));
            }
            found
        }
    };
    let mut ready = Vec::new();
    let mut waiting = Vec::new();
    for (name, queue) in chosen {
        let queue = queue
            .as_ref()
            .map_err(|why| AdminError::Stack(format!("{name}: {why}")))?;
        let depth = queue.depth().await.map_err(OperatorError::from)?;
        waiting.push(format!("{name} ({depth} waiting)"));
        ready.push((name, queue));
    }
    confirmation.ask(&format!(
        "move up to {max} messages each from the dead-letter queues of {} back to their queues",
        waiting.join(", ")
    ))?;
    let mut moved = Vec::with_capacity(ready.len());
    for (name, queue) in ready {
        let report = redrive(queue, max).await;
        moved.push(Redriven {
            name: name.clone(),
            report,
        });
    }
    Ok(Output::Redriven { queues: moved })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use mooring::clock::FixedClock;
    use mooring::lifecycle::operator::dead_letters::InMemoryDeadLetters;
    use mooring::lifecycle::operator::{plan_retry, Actor, Queues};
    use mooring::model::{Kind, Protocol, TransactionStatus, UserKey};
    use mooring::queue::{InMemoryQueue, QueueMessage};
    use mooring::stellar::{Asset, Keypair};
    use mooring::store::InMemoryStore;

    use super::*;

    fn confirmation(
        yes: bool,
        interactive: bool,
        answer: &str,
    ) -> Confirmation<Cursor<String>, Vec<u8>> {
        Confirmation {
            yes,
            interactive,
            input: Cursor::new(answer.to_owned()),
            prompt: Vec::new(),
        }
    }

    #[test]
    fn a_change_needs_yes_or_an_answer_on_a_terminal() {
        assert!(confirmation(true, false, "").ask("x").is_ok());
        assert!(matches!(
            confirmation(false, false, "y\n").ask("x"),
            Err(AdminError::NeedsConfirmation)
        ));
        let mut asked = confirmation(false, true, "Yes\n");
        assert!(asked.ask("retry it").is_ok());
        assert_eq!(
            String::from_utf8(asked.prompt).expect("utf-8"),
            "retry it\nProceed? [y/N] "
        );
        for answer in ["\n", "n\n", "", "yess\n"] {
            assert!(matches!(
                confirmation(false, true, answer).ask("x"),
                Err(AdminError::Cancelled)
            ));
        }
    }

    struct Anchor {
        store: InMemoryStore,
        queue: InMemoryQueue,
        clock: FixedClock,
    }

    impl Anchor {
        async fn with(status: TransactionStatus) -> (Self, Transaction) {
            let anchor = Self {
                store: InMemoryStore::default(),
                queue: InMemoryQueue::default(),
                clock: FixedClock::at(1_700_000_000),
            };
            let issuer = Keypair::from_seed_bytes([1; 32]).account_id();
            let user = UserKey {
                account: Keypair::from_seed_bytes([2; 32]).account_id(),
                memo: None,
            };
            let t = Transaction::new(
                Protocol::Sep24,
                Kind::Deposit,
                status,
                user,
                Asset::credit("USDC", issuer).expect("asset"),
                Timestamp::from_secs(1_700_000_000 - 60),
            );
            anchor.store.insert(&t).await.expect("insert");
            (anchor, t)
        }

        fn operator(&self) -> Operator<'_, InMemoryStore, InMemoryQueue> {
            let queues = Queues {
                submissions: &self.queue,
                withdrawals: &self.queue,
                outgoing: &self.queue,
            };
            Operator::new(
                &self.store,
                queues,
                &self.clock,
                Actor::new("ana").expect("name"),
            )
        }
    }

    #[tokio::test]
    async fn an_action_shows_its_plan_and_applies_it_once_confirmed() {
        let (anchor, t) = Anchor::with(TransactionStatus::PendingAnchor).await;
        let mut asked = confirmation(false, true, "y\n");
        let output = act(
            &anchor.operator(),
            &t.id,
            Decide::Plan(Box::new(plan_retry)),
            Some("stuck"),
            &mut asked,
        )
        .await
        .expect("done");
        let prompt = String::from_utf8(asked.prompt).expect("utf-8");
        assert!(
            prompt.starts_with(&format!(
                "retry deposit {}: stays pending_anchor, queued to submissions",
                t.id
            )),
            "{prompt}"
        );
        let Output::Applied(applied) = output else {
            panic!("applied")
        };
        assert_eq!(applied.transaction.version, t.version + 1);
        assert_eq!(
            anchor.queue.messages(),
            [QueueMessage::new(t.id.clone(), Kind::Deposit)]
        );
    }

    #[tokio::test]
    async fn a_declined_or_refused_action_changes_nothing() {
        let (anchor, t) = Anchor::with(TransactionStatus::PendingAnchor).await;
        let declined = act(
            &anchor.operator(),
            &t.id,
            Decide::Plan(Box::new(plan_retry)),
            None,
            &mut confirmation(false, true, "n\n"),
        )
        .await;
        assert!(matches!(declined, Err(AdminError::Cancelled)));
        let bad_reason = act(
            &anchor.operator(),
            &t.id,
            Decide::Plan(Box::new(plan_retry)),
            Some(" "),
            &mut confirmation(true, false, ""),
        )
        .await;
        assert!(matches!(
            bad_reason,
            Err(AdminError::Operator(OperatorError::Invalid(_)))
        ));
        let refund = act(
            &anchor.operator(),
            &t.id,
            Decide::Refund(RefundScope::Any),
            None,
            &mut confirmation(true, false, ""),
        )
        .await
        .expect_err("no reason");
        assert!(
            refund
                .to_string()
                .ends_with("a reason for the refund is required"),
            "{refund}"
        );
        let missing = act(
            &anchor.operator(),
            "nope",
            Decide::Plan(Box::new(plan_retry)),
            None,
            &mut confirmation(true, false, ""),
        )
        .await
        .expect_err("missing");
        assert_eq!(missing.to_string(), "no transaction nope");
        assert_eq!(anchor.store.get(&t.id).await.expect("get"), Some(t));
        assert!(anchor.queue.messages().is_empty());
    }

    #[tokio::test]
    async fn a_refund_shows_amount_and_destination_before_it_is_requested() {
        let (anchor, held) = Anchor::with(TransactionStatus::OnHold).await;
        let mut t = held;
        t.amount_in = Some(mooring::stellar::Amount::from_stroops(250_000_000));
        anchor
            .store
            .update(&mut t, TransactionStatus::OnHold)
            .await
            .expect("amount");
        let mut declined = confirmation(false, true, "n\n");
        async fn refund(
            anchor: &Anchor,
            id: &str,
            confirmation: &mut Confirmation<Cursor<String>, Vec<u8>>,
        ) -> Result<Output, AdminError> {
            let operator = anchor.operator();
            let decide = Decide::Refund(RefundScope::OnHold);
            act(&operator, id, decide, Some("customer asked"), confirmation).await
        }
        assert!(matches!(
            refund(&anchor, &t.id, &mut declined).await,
            Err(AdminError::Cancelled)
        ));
        let prompt = String::from_utf8(declined.prompt).expect("utf-8");
        assert!(
            prompt.starts_with(&format!(
                "refund deposit {}: on_hold -> pending_anchor, queued to submissions",
                t.id
            )) && prompt.contains("25 of the 25 received back off chain"),
            "{prompt}"
        );
        assert!(anchor.queue.messages().is_empty(), "declined: nothing done");

        let output = refund(&anchor, &t.id, &mut confirmation(true, false, ""))
            .await
            .expect("refunded");
        let Output::Applied(applied) = output else {
            panic!("applied")
        };
        let stored = applied.transaction;
        assert_eq!(stored.status, TransactionStatus::PendingAnchor);
        let entry = stored.history.last().expect("recorded");
        assert_eq!(entry.by, "operator:ana");
        assert_eq!(
            anchor.queue.messages(),
            [QueueMessage::new(t.id.clone(), Kind::Deposit)]
        );
        let again = refund(&anchor, &t.id, &mut confirmation(true, false, ""))
            .await
            .expect_err("no longer on hold");
        assert!(
            again
                .to_string()
                .contains("resolve --refund is for on_hold"),
            "{again}"
        );
    }

    fn filled(counts: &[(&str, usize)]) -> Vec<NamedDeadLetters<InMemoryDeadLetters>> {
        counts
            .iter()
            .map(|(name, count)| {
                let queue = InMemoryDeadLetters::default();
                for n in 0..*count {
                    queue.push(&format!("{name}-{n}"));
                }
                ((*name).to_owned(), Ok(queue))
            })
            .collect()
    }

    #[tokio::test]
    async fn dead_letter_queues_are_listed_and_redriven_by_name() {
        let mut queues = filled(&[("submissions", 2), ("withdrawals", 3)]);
        queues.push(("orphan".into(), Err("no source queue".into())));
        let listed = dead_letters(&queues).await;
        assert!(listed.failed(), "the orphan has no depth");
        let Output::DeadLetters { queues: depths } = listed else {
            panic!("depths")
        };
        let shown: Vec<(&str, Option<u64>)> = depths
            .iter()
            .map(|d| (d.name.as_str(), d.messages))
            .collect();
        assert_eq!(
            shown,
            [
                ("submissions", Some(2)),
                ("withdrawals", Some(3)),
                ("orphan", None)
            ]
        );

        let mut asked = confirmation(false, true, "y\n");
        let output = redrive_dead_letters(&queues, Some("Withdrawals"), 1000, &mut asked)
            .await
            .expect("redriven");
        assert!(String::from_utf8(asked.prompt)
            .expect("utf-8")
            .contains("withdrawals (3 waiting)"));
        assert!(!output.failed());
        let Ok(withdrawals) = &queues[1].1 else {
            panic!("queue")
        };
        assert_eq!(withdrawals.source().len(), 3);
        let Ok(submissions) = &queues[0].1 else {
            panic!("queue")
        };
        assert!(submissions.source().is_empty(), "only the one named");

        let unknown = redrive_dead_letters(
            &queues,
            Some("nope"),
            10,
            &mut confirmation(true, false, ""),
        )
        .await
        .expect_err("unknown");
        assert!(unknown
            .to_string()
            .contains("submissions, withdrawals, orphan"));
        let orphan = redrive_dead_letters(
            &queues,
            Some("orphan"),
            10,
            &mut confirmation(true, false, ""),
        )
        .await
        .expect_err("no source");
        assert!(orphan.to_string().contains("no source queue"));
    }
}
