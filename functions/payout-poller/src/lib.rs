//! The payout poller (every minute): withdrawals in `pending_external` that the anchor's rail
//! reports paid out (`poll_outgoing_transactions`) move to `completed`; payouts claimed long ago
//! with no outcome go to the operator, and paid withdrawals whose queue message was lost are
//! queued again ([`WithdrawalProcessor`]).

use std::sync::Arc;

use anchor_integrations::{Anchor, BankSettings, DemoBank, KycSettings};
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Source};
use mooring::payments::withdrawals::WithdrawalProcessor;
use mooring::payments::WorkerError;
use mooring::queue::Queue;
use mooring::store::{CustomerStore, TransactionStore};

pub struct Service<S, Q> {
    processor: WithdrawalProcessor<S, Anchor<S>>,
    withdrawals: Arc<Q>,
}

pub struct Ports<S, Q> {
    pub store: Arc<S>,
    pub withdrawals: Arc<Q>,
    pub clock: Arc<dyn Clock>,
}

/// Reads configuration (once per cold start) and builds the poller over the anchor's rail.
pub fn service<S, Q>(settings: &impl Source, ports: Ports<S, Q>) -> Result<Service<S, Q>, String>
where
    S: TransactionStore + CustomerStore,
    Q: Queue,
{
    AnchorConfig::from_source(settings).map_err(|e| e.to_string())?;
    let kyc = KycSettings::from_source(settings).map_err(|e| e.to_string())?;
    let bank = BankSettings::from_source(settings).map_err(|e| e.to_string())?;
    let bank = DemoBank::from_settings(&bank).map_err(|e| e.to_string())?;
    let integration = Anchor::new(ports.store.clone(), kyc, ports.clock.clone()).with_bank(bank);
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
