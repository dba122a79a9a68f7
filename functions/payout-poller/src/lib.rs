//! The payout poller (every minute): payouts in `pending_external` (withdrawals and SEP-31
//! payments received alike) that the anchor's rail reports paid out
//! (`poll_outgoing_transactions`) move to `completed`; then the safety nets of both payout
//! workers: payouts claimed long ago with no outcome go to the operator, and transactions ready
//! for their payout whose queue message was lost are queued again (paid withdrawals on the
//! withdrawals queue, [`WithdrawalProcessor`]; `pending_receiver` SEP-31 payments on the
//! outgoing-payments queue, [`OutgoingProcessor`]); and SEP-31 transactions still waiting for
//! customers that are complete by now go back to `pending_receiver` ([`ReceiveRelease`]: a fix
//! that landed while the outgoing-payments worker was writing the wait).

use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use mooring::clock::Clock;
use mooring::config::Source;
use mooring::payments::withdrawals::WithdrawalProcessor;
use mooring::payments::{OutgoingProcessor, WorkerError};
use mooring::queue::Queue;
use mooring::startup::StartupError;
use mooring::store::{Cursors, CustomerStore, TransactionStore};
use mooring::time::Timestamp;
use mooring::transfer::receive_release::ReceiveRelease;

pub struct Service<S, Q> {
    withdrawal: WithdrawalProcessor<S, Integration<S>>,
    outgoing: OutgoingProcessor<S, Integration<S>>,
    withdrawals_queue: Arc<Q>,
    outgoing_queue: Arc<Q>,
    /// For the release of SEP-31 transactions whose customers were fixed (the KYC hooks).
    integration: Arc<Integration<S>>,
    store: Arc<S>,
    clock: Arc<dyn Clock>,
}

pub struct Ports<S, Q> {
    pub store: Arc<S>,
    /// Where paid withdrawals are queued again.
    pub withdrawals: Arc<Q>,
    /// Where `pending_receiver` SEP-31 payments are queued again.
    pub outgoing: Arc<Q>,
    pub clock: Arc<dyn Clock>,
}

/// Builds the poller (once per cold start) over the anchor's integration (its rail), one
/// instance shared by both sweeps.
pub fn service<S, Q>(
    settings: &impl Source,
    ports: Ports<S, Q>,
) -> Result<Service<S, Q>, StartupError>
where
    S: TransactionStore + Cursors + CustomerStore,
    Q: Queue,
{
    let integration = Arc::new(register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?);
    Ok(Service {
        withdrawal: WithdrawalProcessor::new(
            ports.store.clone(),
            integration.clone(),
            ports.clock.clone(),
        ),
        outgoing: OutgoingProcessor::new(
            ports.store.clone(),
            integration.clone(),
            ports.clock.clone(),
        ),
        withdrawals_queue: ports.withdrawals,
        outgoing_queue: ports.outgoing,
        integration,
        store: ports.store,
        clock: ports.clock,
    })
}

/// One run, whatever the (schedule) event says: completions, then the safety nets. Each step
/// runs even if an earlier one failed; the run fails if any did. Answers what it did.
pub async fn handle<S, Q>(
    service: &Service<S, Q>,
    event: serde_json::Value,
) -> Result<serde_json::Value, WorkerError>
where
    S: TransactionStore + Cursors + CustomerStore,
    Q: Queue,
{
    let _ = event;
    let completion = service
        .withdrawal
        .complete_external_withdrawals()
        .await
        .inspect_err(|error| tracing::error!(%error, "payout poller: completions failed"));
    let recovery = service
        .withdrawal
        .recover_stalled_withdrawals(service.withdrawals_queue.as_ref())
        .await
        .inspect_err(|error| tracing::error!(%error, "payout poller: withdrawal recovery failed"));
    let outgoing = service
        .outgoing
        .recover_stalled_outgoing(service.outgoing_queue.as_ref())
        .await
        .inspect_err(
            |error| tracing::error!(%error, "payout poller: outgoing-payment recovery failed"),
        );
    let release = ReceiveRelease {
        integration: service.integration.as_ref(),
        store: service.store.as_ref(),
        outgoing: service.outgoing_queue.as_ref(),
        now: Timestamp::from_secs(service.clock.now()),
    };
    let released = release
        .release_all()
        .await
        .map_err(WorkerError::from)
        .inspect_err(
            |error| tracing::error!(%error, "payout poller: releasing SEP-31 transactions failed"),
        );
    let completion = completion?;
    let recovery = recovery?;
    let outgoing = outgoing?;
    let released = released?;
    tracing::info!(
        ?completion,
        ?recovery,
        ?outgoing,
        released,
        "payout poller run"
    );
    Ok(serde_json::json!({
        "checked": completion.checked,
        "completed": completion.completed,
        "handed_to_operator": recovery.handed_to_operator,
        "requeued": recovery.requeued,
        "outgoing_handed_to_operator": outgoing.handed_to_operator,
        "outgoing_requeued": outgoing.requeued,
        "released": released,
    }))
}
