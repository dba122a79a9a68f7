//! The expiry sweeper (every minute): transactions that waited on their users for longer than
//! the anchor allows end — `incomplete` and `pending_user_transfer_start` (SEP-6/24) and SEP-31
//! `pending_sender` in `expired`, `pending_trust` deposits as `PENDING_TRUST_ACTION` says
//! (`error`, or `refund`: the refund is queued to the Stellar submitter on the submissions
//! queue) ([`ExpirySweeper`], `mooring::lifecycle::expiry`). Each end is a conditional write; a
//! withdrawal or SEP-31 transaction waits for the payment watcher to have read past its
//! deadline. Then it counts the transactions stuck past their status's expected time
//! (`StuckTransactions` per status, `mooring::lifecycle::stuck`).

use std::sync::Arc;

use mooring::clock::Clock;
use mooring::config::AnchorConfig;
use mooring::lifecycle::expiry::{ExpiryConfig, ExpirySweeper, SweepReport};
use mooring::lifecycle::stuck::{StuckCheck, StuckConfig};
use mooring::payments::WorkerError;
use mooring::queue::Queue;
use mooring::store::{Cursors, IncomingPayments, TransactionStore};

/// The ports and settings a sweep is built from (cheaply, per invocation: a run may carry an
/// operator's knob, see [`handle`]).
pub struct Service<S, Q> {
    ports: Ports<S, Q>,
    expiry: ExpiryConfig,
    stuck: StuckConfig,
}

impl<S, Q> Service<S, Q>
where
    S: TransactionStore + Cursors + IncomingPayments,
    Q: Queue,
{
    /// A sweeper over the service's ports.
    pub fn sweeper(&self) -> ExpirySweeper<S, Q> {
        ExpirySweeper::new(
            self.ports.store.clone(),
            self.ports.submissions.clone(),
            self.expiry.clone(),
            self.ports.clock.clone(),
        )
    }

    /// Counts transactions stuck `stuck.after` past their status's expected time
    /// (`STUCK_AFTER_SECONDS`; default an hour).
    pub fn with_stuck(mut self, stuck: StuckConfig) -> Self {
        self.stuck = stuck;
        self
    }
}

pub struct Ports<S, Q> {
    pub store: Arc<S>,
    /// The Stellar submitter's queue: refunds of `pending_trust` deposits
    /// (`PENDING_TRUST_ACTION=refund`).
    pub submissions: Arc<Q>,
    pub clock: Arc<dyn Clock>,
}

/// Builds the service (once per cold start) with the anchor's expiry settings
/// (`EXPIRE_*_AFTER_SECONDS`, `PENDING_TRUST_AFTER_SECONDS`, `PENDING_TRUST_ACTION`, read with
/// the anchor's settings). Holds no secret.
pub fn service<S, Q>(anchor: &AnchorConfig, ports: Ports<S, Q>) -> Service<S, Q> {
    Service {
        ports,
        expiry: anchor.expiry.clone(),
        stuck: StuckConfig::default(),
    }
}

/// One run; answers what it did. A schedule event runs with the default pages (100
/// transactions, at most three pages per kind and status); an operator (or a test) may invoke
/// the function with `{"page_size": n}` to read less per run.
pub async fn handle<S, Q>(
    service: &Service<S, Q>,
    event: serde_json::Value,
) -> Result<serde_json::Value, WorkerError>
where
    S: TransactionStore + Cursors + IncomingPayments,
    Q: Queue,
{
    let mut sweeper = service.sweeper();
    if let Some(size) = event.get("page_size").and_then(serde_json::Value::as_u64) {
        sweeper = sweeper.with_page_size(usize::try_from(size).unwrap_or(usize::MAX));
    }
    let report: SweepReport = sweeper
        .sweep()
        .await
        .inspect_err(|error| tracing::error!(%error, "expiry sweep failed"))?;
    // After the sweep, so that what it just ended is not counted. A failed count leaves the
    // metric without data for this minute, which its alarm treats as no news.
    let stuck = StuckCheck::new(
        service.ports.store.clone(),
        service.expiry.clone(),
        service.stuck,
        service.ports.clock.clone(),
    )
    .report()
    .await
    .inspect_err(|error| tracing::warn!(%error, "stuck transactions not counted"))
    .ok();
    Ok(serde_json::json!({
        "stuck": stuck,
        "checked": report.checked,
        "expired": report.expired,
        "ended": report.ended,
        "refunded": report.refunded,
        "skipped": report.skipped,
        "awaiting_watcher": report.awaiting_watcher,
    }))
}
