//! The deposit poller (every minute): asks the anchor's rail which deposits waiting for their
//! off-chain funds received them ([`DepositPoller`]), moves those to `pending_anchor` with a
//! conditional write and queues them for the Stellar submitter. Overlapping runs are harmless:
//! of two writers one wins, the other skips.

use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Source};
use mooring::payments::{DepositPoller, PollReport, WorkerError};
use mooring::queue::Queue;
use mooring::startup::StartupError;
use mooring::store::{Cursors, CustomerStore, IncomingPayments, TransactionStore};

pub type Service<S, Q> = DepositPoller<S, Q, Integration<S>>;

/// The adapters: DynamoDB and SQS in Lambda, memory in tests.
pub struct Ports<S, Q> {
    pub store: Arc<S>,
    pub submissions: Arc<Q>,
    pub clock: Arc<dyn Clock>,
}

/// Builds the poller (once per cold start) over the anchor's integration. Holds no secret.
pub fn service<S, Q>(
    settings: &impl Source,
    anchor: &AnchorConfig,
    ports: Ports<S, Q>,
) -> Result<Service<S, Q>, StartupError>
where
    S: TransactionStore + Cursors + IncomingPayments + CustomerStore,
    Q: Queue,
{
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    Ok(DepositPoller::new(
        ports.store,
        ports.submissions,
        Arc::new(integration),
        anchor.assets.clone(),
        ports.clock,
    ))
}

/// One run, whatever the (schedule) event says; answers what it did.
pub async fn handle<S, Q>(
    service: &Service<S, Q>,
    event: serde_json::Value,
) -> Result<serde_json::Value, WorkerError>
where
    S: TransactionStore + Cursors + IncomingPayments + CustomerStore,
    Q: Queue,
{
    let _ = event;
    let report = service.poll_deposits().await.inspect_err(|error| {
        tracing::error!(%error, "deposit poller run failed");
    })?;
    tracing::info!(?report, "deposit poller run");
    Ok(report_json(&report))
}

fn report_json(report: &PollReport) -> serde_json::Value {
    serde_json::json!({
        "pending": report.pending,
        "received": report.received,
        "queued": report.queued,
        "skipped": report.skipped,
        "refused": report.refused,
        "requeued": report.requeued,
        "send_failures": report.send_failures,
        "transfers": report.transfers,
        "unmatched_transfers": report.unmatched_transfers,
    })
}
