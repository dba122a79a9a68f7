//! `mooring-admin`, the operator's console: thin glue between the command line, the stack's
//! AWS adapters and the operator's actions in `mooring::lifecycle::operator`.

mod cli;
mod commands;
mod render;
mod stack;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use mooring::clock::SystemClock;
use mooring::config::ConfigError;
use mooring::horizon::{HorizonError, HttpHorizon};
use mooring::lifecycle::operator::{
    anchor_accounts, plan_accept, plan_expire, plan_retry, Actor, Operator, OperatorError, Queues,
    RefundScope,
};
use mooring::time::Timestamp;

use crate::cli::{Cli, Command, DlqCommand};
use crate::commands::{Confirmation, Decide, NamedDeadLetters, Output};
use crate::stack::{Resources, SqsDeadLetters};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Operator(#[from] OperatorError),
    #[error("{0}")]
    Stack(String),
    #[error("{0}")]
    Aws(String),
    #[error("{0}")]
    Usage(String),
    #[error("the Stellar submitter's settings: {0}")]
    Settings(#[from] ConfigError),
    #[error("Horizon: {0}")]
    Horizon(#[from] HorizonError),
    #[error("cancelled: nothing was done")]
    Cancelled,
    #[error(
        "this changes the anchor: confirm it on a terminal, or pass --yes (standard input is not \
         a terminal)"
    )]
    NeedsConfirmation,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Usage errors and --help exit here (status 2 and 0).
    let cli = Cli::parse();
    // Warnings on stderr (the SDK's own region and credential probing is left out); RUST_LOG
    // for more, e.g. RUST_LOG=debug shows each failed AWS call's whole error.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,aws_config=error")),
        )
        .init();
    match run(&cli).await {
        Ok(output) => {
            let text = if cli.json {
                render::json(&output)
            } else {
                render::human(&output, Timestamp::now())
            };
            // A closed pipe (`| head`) is no failure of the command.
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            if output.failed() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            if cli.json {
                let json = serde_json::json!({ "error": error.to_string() });
                let _ = writeln!(std::io::stdout().lock(), "{json}");
            }
            eprintln!("mooring-admin: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli) -> Result<Output, AdminError> {
    let stack_name = cli::stack_name(cli.stack.as_deref(), env);
    let sdk = mooring::aws::config_loader()?.load().await;
    let resources = stack::resources(&sdk, &stack_name).await?;
    let mut confirmation = Confirmation {
        yes: cli.yes,
        interactive: std::io::stdin().is_terminal(),
        input: std::io::stdin().lock(),
        prompt: std::io::stderr(),
    };
    match &cli.command {
        Command::List(args) => {
            commands::list(&stack::store(&sdk, &resources)?, args, Timestamp::now()).await
        }
        Command::Show { id } => commands::show(&stack::store(&sdk, &resources)?, id).await,
        Command::Retry { id } => {
            let retry = Decide::Plan(Box::new(plan_retry));
            act(cli, &sdk, &resources, id, retry, &mut confirmation).await
        }
        Command::Resolve { id, resolution } => {
            let decide = if resolution.accept {
                Decide::Plan(Box::new(plan_accept))
            } else {
                Decide::Refund(RefundScope::OnHold)
            };
            act(cli, &sdk, &resources, id, decide, &mut confirmation).await
        }
        Command::Refund { id } => {
            let refund = Decide::Refund(RefundScope::Any);
            act(cli, &sdk, &resources, id, refund, &mut confirmation).await
        }
        Command::Expire { id, message } => {
            let expire = Decide::Plan(Box::new(|t: &_| plan_expire(t, message.as_deref())));
            act(cli, &sdk, &resources, id, expire, &mut confirmation).await
        }
        Command::Incoming { limit } => {
            commands::incoming(&stack::store(&sdk, &resources)?, *limit).await
        }
        Command::Balances => {
            // The submitter's settings hold its seeds: only public keys leave this block.
            let anchor = {
                let settings = stack::submitter_settings(&sdk, &resources).await?;
                anchor_accounts(&settings)?
            };
            let horizon = HttpHorizon::new(&anchor.horizon_url)?;
            Ok(commands::balances(&horizon, anchor).await)
        }
        Command::Dlq(DlqCommand::List) => {
            let queues = dead_letter_queues(&sdk, &resources).await?;
            Ok(commands::dead_letters(&queues).await)
        }
        Command::Dlq(DlqCommand::Redrive { queue, max }) => {
            let queues = dead_letter_queues(&sdk, &resources).await?;
            commands::redrive_dead_letters(&queues, queue.as_deref(), *max, &mut confirmation).await
        }
    }
}

/// An action by the operator on transaction `id`, planned by `decide`.
async fn act<R: std::io::BufRead, W: std::io::Write>(
    cli: &Cli,
    sdk: &aws_config::SdkConfig,
    resources: &Resources,
    id: &str,
    decide: Decide<'_>,
    confirmation: &mut Confirmation<R, W>,
) -> Result<Output, AdminError> {
    let name = cli::operator_name(cli.operator.as_deref(), env).map_err(AdminError::Usage)?;
    let actor = Actor::new(&name)?;
    let store = stack::store(sdk, resources)?;
    let sqs = stack::sqs(sdk);
    let submissions = stack::worker_queue(&sqs, resources, stack::SUBMISSIONS_QUEUE).await?;
    let withdrawals = stack::worker_queue(&sqs, resources, stack::WITHDRAWALS_QUEUE).await?;
    let outgoing = stack::worker_queue(&sqs, resources, stack::OUTGOING_QUEUE).await?;
    let queues = Queues {
        submissions: &submissions,
        withdrawals: &withdrawals,
        outgoing: &outgoing,
    };
    let operator = Operator::new(&store, queues, &SystemClock, actor);
    commands::act(&operator, id, decide, cli.reason.as_deref(), confirmation).await
}

/// Every dead-letter queue of the stack with its source, by name.
async fn dead_letter_queues(
    sdk: &aws_config::SdkConfig,
    resources: &Resources,
) -> Result<Vec<NamedDeadLetters<SqsDeadLetters>>, AdminError> {
    let sqs = stack::sqs(sdk);
    let mut queues = Vec::new();
    for pair in resources.dead_letter_queues() {
        let queue = match &pair.source {
            Some(source) => Ok(SqsDeadLetters::new(
                sqs.clone(),
                stack::queue_url(&sqs, &pair.dead_letter).await?,
                stack::queue_url(&sqs, source).await?,
            )),
            None => Err(format!(
                "no source queue in the stack (its logical id would end in Queue, as the \
                 dead-letter queue's ends in DeadLetterQueue): {}",
                pair.dead_letter
            )),
        };
        queues.push((pair.name, queue));
    }
    Ok(queues)
}
