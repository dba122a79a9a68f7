//! The payout poller (every minute): withdrawals in `pending_external` that the anchor's rail
//! reports paid out (`poll_outgoing_transactions`) move to `completed`; payouts claimed long ago
//! with no outcome go to the operator, and paid withdrawals whose queue message was lost are
//! queued again ([`WithdrawalProcessor`]).

use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use mooring::clock::Clock;
use mooring::config::Source;
use mooring::payments::withdrawals::WithdrawalProcessor;
use mooring::payments::WorkerError;
use mooring::queue::Queue;
use mooring::startup::StartupError;
use mooring::store::{CustomerStore, TransactionStore};

pub struct Service<S, Q> {
    processor: WithdrawalProcessor<S, Integration<S>>,
    withdrawals: Arc<Q>,
}

pub struct Ports<S, Q> {
    pub store: Arc<S>,
    pub withdrawals: Arc<Q>,
    pub clock: Arc<dyn Clock>,
}

/// Builds the poller (once per cold start) over the anchor's integration (its rail).
pub fn service<S, Q>(
    settings: &impl Source,
    ports: Ports<S, Q>,
) -> Result<Service<S, Q>, StartupError>
where
    S: TransactionStore + CustomerStore,
    Q: Queue,
{
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    Ok(Service {
        processor: WithdrawalProcessor::new(ports.store, Arc::new(integration), ports.clock),
        withdrawals: ports.withdrawals,
    })
}

/// One run, whatever the (schedule) event says: completions, then the safety net. Answers
/// what it did.
pub async fn handle<S, Q>(
    service: &Service<S, Q>,
    event: serde_json::Value,
) -> Result<serde_json::Value, WorkerError>
where
    S: TransactionStore + CustomerStore,
    Q: Queue,
{
    let _ = event;
    let completion = service
        .processor
        .complete_external_withdrawals()
        .await
        .inspect_err(|error| tracing::error!(%error, "payout poller: completions failed"));
    let recovery = service
        .processor
        .recover_stalled_withdrawals(service.withdrawals.as_ref())
        .await
        .inspect_err(|error| tracing::error!(%error, "payout poller: recovery failed"));
    let completion = completion?;
    let recovery = recovery?;
    tracing::info!(?completion, ?recovery, "payout poller run");
    Ok(serde_json::json!({
        "checked": completion.checked,
        "completed": completion.completed,
        "handed_to_operator": recovery.handed_to_operator,
        "requeued": recovery.requeued,
    }))
}
