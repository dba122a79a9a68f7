//! The trustline re-check (every minute): deposits waiting in `pending_trust` whose account
//! now trusts the asset go back to `pending_anchor` (conditional write) and to the submissions
//! queue ([`TrustlineRecheck`]).

use std::sync::Arc;

use mooring::clock::Clock;
use mooring::horizon::Horizon;
use mooring::payments::{RecheckReport, TrustlineRecheck, WorkerError};
use mooring::queue::Queue;
use mooring::store::{Cursors, TransactionStore};

pub type Service<S, H, Q> = TrustlineRecheck<S, H, Q>;

pub struct Ports<S, H, Q> {
    pub store: Arc<S>,
    pub horizon: Arc<H>,
    pub submissions: Arc<Q>,
    pub clock: Arc<dyn Clock>,
}

/// Builds the re-check (once per cold start). Holds no secret.
pub fn service<S, H, Q>(ports: Ports<S, H, Q>) -> Service<S, H, Q>
where
    S: TransactionStore + Cursors,
    H: Horizon,
    Q: Queue,
{
    TrustlineRecheck::new(ports.store, ports.horizon, ports.submissions, ports.clock)
}

/// One run, whatever the (schedule) event says; answers what it did.
pub async fn handle<S, H, Q>(
    service: &Service<S, H, Q>,
    event: serde_json::Value,
) -> Result<serde_json::Value, WorkerError>
where
    S: TransactionStore + Cursors,
    H: Horizon,
    Q: Queue,
{
    let _ = event;
    let report: RecheckReport = service.recheck_trustlines().await.inspect_err(|error| {
        tracing::error!(%error, "trustline re-check failed");
    })?;
    tracing::info!(?report, "trustline re-check run");
    Ok(serde_json::json!({ "report": format!("{report:?}") }))
}
