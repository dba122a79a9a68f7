//! The Stellar submitter (SQS, the submissions queue): pays each `pending_anchor` deposit on
//! the Stellar network from a leased channel account ([`Submitter`]); the signed envelope and
//! its hash are stored before submission (the deposit is then `pending_stellar`), so a
//! redelivered message never pays twice. It makes refunds the same way: a withdrawal's or
//! SEP-31 payment's back to the sender on Stellar, a deposit's off chain through the rail. Messages
//! that must be retried are reported as batch item failures; after five receipts the queue moves
//! them to its dead-letter queue.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

use anchor_integrations::{register_integrations, Integration};
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Source};
use mooring::horizon::Horizon;
use mooring::lifecycle::operator::{accounts_of, BalanceWatch};
use mooring::payments::{PaymentsConfig, Signers, SubmitOutcome, Submitter, WorkerError};
use mooring::queue::QueueMessage;
use mooring::startup::StartupError;
use mooring::store::{ChannelLeases, CustomerStore, TransactionStore};

pub use mooring::queue::sqs_event::{SqsBatchResponse, SqsEvent, SqsRecord};

/// The submitter and how many of a batch's messages it runs at once: one per channel account
/// (more would only wait for a channel).
pub struct Service<S, H> {
    submitter: Submitter<S, H, Integration<S>>,
    parallel: usize,
    /// The lowest balances of the accounts it pays from, for the low-balance alarms.
    balances: BalanceWatch<H>,
}

/// How often (at most) a batch is followed by a look at the accounts' balances.
const BALANCES_EVERY: Duration = Duration::from_secs(300);

/// While every channel is leased (by this batch's other messages, or by other instances), a
/// message waits for one, checking every `CHANNEL_WAIT`, until the batch has run for
/// `BATCH_BUDGET`; then it is reported failed and comes back after the queue's visibility
/// timeout. The budget leaves the function's timeout (60 s) room for a submission in flight
/// (Horizon answers within 30 s).
const CHANNEL_WAIT: Duration = Duration::from_millis(200);
const BATCH_BUDGET: Duration = Duration::from_secs(25);

pub struct Ports<S, H> {
    pub store: Arc<S>,
    pub horizon: Arc<H>,
    pub clock: Arc<dyn Clock>,
}

/// Reads configuration (once per cold start): the payment settings and local signing keys
/// (`DISTRIBUTION_SEED`, `CHANNEL_SEED`: this is the only function holding them). Keys in KMS
/// are connected by the function's start (`SignerSettings::connect`) and passed to
/// [`service_with_signers`].
pub fn service<S, H>(
    settings: &impl Source,
    anchor: &AnchorConfig,
    ports: Ports<S, H>,
) -> Result<Service<S, H>, StartupError>
where
    S: TransactionStore + ChannelLeases + CustomerStore,
    H: Horizon,
{
    let config = PaymentsConfig::from_source(settings)?;
    let signers = Signers::from_source(settings, anchor, &config)?;
    service_with_signers(settings, anchor, ports, signers)
}

/// [`service`] with signers already connected (keys in KMS).
pub fn service_with_signers<S, H>(
    settings: &impl Source,
    anchor: &AnchorConfig,
    ports: Ports<S, H>,
    signers: Signers,
) -> Result<Service<S, H>, StartupError>
where
    S: TransactionStore + ChannelLeases + CustomerStore,
    H: Horizon,
{
    let config = PaymentsConfig::from_source(settings)?;
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    let parallel = usize::try_from(config.channel_count).unwrap_or(1).max(1);
    let balances = BalanceWatch::new(
        ports.horizon.clone(),
        accounts_of(
            anchor,
            signers.distribution.account_id(),
            signers
                .channels
                .iter()
                .map(|channel| channel.account_id())
                .collect(),
        ),
        BALANCES_EVERY,
    );
    Ok(Service {
        balances,
        submitter: Submitter::new(
            ports.store,
            ports.horizon,
            Arc::new(integration),
            anchor.network.clone(),
            config,
            signers,
            ports.clock,
        )
        .with_expiry(anchor.expiry.clone()),
        parallel,
    })
}

/// Handles a batch: as many messages at once as there are channel accounts, each on its own
/// channel. Answers the ids of the messages to deliver again.
pub async fn handle<S, H>(service: &Service<S, H>, event: SqsEvent) -> SqsBatchResponse
where
    S: TransactionStore + ChannelLeases + CustomerStore,
    H: Horizon,
{
    let deadline = Instant::now() + BATCH_BUDGET;
    let mut failed = Vec::new();
    mooring::queue::sqs_event::note_received(&event.records);
    let mut records = event.records.into_iter().peekable();
    while records.peek().is_some() {
        let wave: Vec<_> = records
            .by_ref()
            .take(service.parallel)
            .map(|record| one(service, record, deadline))
            .collect();
        failed.extend(
            futures_util::future::join_all(wave)
                .await
                .into_iter()
                .flatten(),
        );
    }
    service.balances.check_if_due().await;
    SqsBatchResponse::failed(failed)
}

/// One message: `None` when done (acknowledge), the message id to retry it.
async fn one<S, H>(service: &Service<S, H>, record: SqsRecord, deadline: Instant) -> Option<String>
where
    S: TransactionStore + ChannelLeases + CustomerStore,
    H: Horizon,
{
    let message = match QueueMessage::from_json(&record.body) {
        Ok(message) => message,
        Err(error) => {
            // Kept for the operator: it goes to the dead-letter queue after its retries.
            tracing::error!(message_id = %record.message_id, %error, "unreadable submissions message");
            return Some(record.message_id);
        }
    };
    let span = tracing::info_span!("message", message_id = %record.message_id,
        transaction_id = %message.transaction_id);
    pay(service, &message, deadline)
        .instrument(span)
        .await
        .then_some(record.message_id)
}

/// Pays one deposit (or makes one refund); `true` when its message must be delivered again. Logs within the message's
/// span (its transaction id).
async fn pay<S, H>(service: &Service<S, H>, message: &QueueMessage, deadline: Instant) -> bool
where
    S: TransactionStore + ChannelLeases + CustomerStore,
    H: Horizon,
{
    let result = loop {
        match service.submitter.submit(message).await {
            // Every channel is leased: wait for one here rather than leave the message invisible
            // for the queue's whole visibility timeout.
            Err(WorkerError::ChannelsBusy) if Instant::now() + CHANNEL_WAIT < deadline => {
                tokio::time::sleep(CHANNEL_WAIT).await;
            }
            other => break other,
        }
    };
    match result {
        Ok(outcome) => {
            match &outcome {
                SubmitOutcome::Completed {
                    stellar_transaction_id,
                } => tracing::info!(%stellar_transaction_id, "deposit paid on Stellar"),
                SubmitOutcome::Refunded { payment_id } => {
                    tracing::info!(%payment_id, "refund made")
                }
                SubmitOutcome::Failed { status_message } => {
                    tracing::warn!(%status_message, "payment failed")
                }
                other => tracing::info!(outcome = ?other, "submissions message done"),
            }
            false
        }
        Err(error) => {
            tracing::warn!(%error,
                "payment not finished; the message will be delivered again");
            true
        }
    }
}
