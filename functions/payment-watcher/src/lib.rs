//! The payment watcher (every minute): reads the Stellar payments to the anchor's receiving
//! accounts from a stored cursor ([`PaymentWatcher`]; first run: from the account's oldest
//! payment), matches them to withdrawals and SEP-31 transactions by memo, account and asset,
//! records every payment (unmatched ones for the operator, unless paid before the first run),
//! queues the paid withdrawals for the withdrawal processor and the paid SEP-31 transactions
//! for the outgoing-payments worker. A run that read every account to its end is noted, so that
//! the expiry sweeper may end the withdrawals and SEP-31 transactions whose payment never came.

use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Source};
use mooring::horizon::Horizon;
use mooring::payments::watcher::{PaymentWatcher, WatchReport};
use mooring::payments::WorkerError;
use mooring::queue::Queue;
use mooring::startup::StartupError;
use mooring::store::{Cursors, CustomerStore, IncomingPayments, TransactionStore};

/// The ports and settings a watcher run is built from (cheaply, per invocation: a run may
/// carry operator knobs, see [`handle`]).
pub struct Service<S, H, Q> {
    ports: Ports<S, H, Q>,
    fees: Arc<Integration<S>>,
    assets: Vec<mooring::config::AssetConfig>,
}

impl<S, H, Q> Service<S, H, Q>
where
    S: TransactionStore + Cursors + IncomingPayments + CustomerStore,
    H: Horizon,
    Q: Queue,
{
    /// A watcher over the service's ports.
    pub fn watcher(&self) -> PaymentWatcher<S, H, Q, Integration<S>> {
        PaymentWatcher::new(
            self.ports.store.clone(),
            self.ports.horizon.clone(),
            self.ports.withdrawals.clone(),
            self.ports.outgoing.clone(),
            self.fees.clone(),
            self.assets.clone(),
            self.ports.clock.clone(),
        )
    }
}

pub struct Ports<S, H, Q> {
    pub store: Arc<S>,
    pub horizon: Arc<H>,
    /// Paid withdrawals, for the withdrawal processor (`WITHDRAWALS_QUEUE_URL`).
    pub withdrawals: Arc<Q>,
    /// Paid SEP-31 transactions, for the outgoing-payments worker (`OUTGOING_QUEUE_URL`).
    pub outgoing: Arc<Q>,
    pub clock: Arc<dyn Clock>,
}

/// Builds the watcher (once per cold start) over the anchor's integration (its fees). Holds no
/// secret.
pub fn service<S, H, Q>(
    settings: &impl Source,
    anchor: &AnchorConfig,
    ports: Ports<S, H, Q>,
) -> Result<Service<S, H, Q>, StartupError>
where
    S: TransactionStore + Cursors + IncomingPayments + CustomerStore,
    H: Horizon,
    Q: Queue,
{
    let fees = Arc::new(register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?);
    Ok(Service {
        ports,
        fees,
        assets: anchor.assets.clone(),
    })
}

/// One run; answers what it did. A schedule event runs with the defaults (pages of 200
/// records, at most 50 pages per account); an operator (or a test) may invoke the function with
/// `{"page_limit": n, "max_pages": m}` to read less per run.
pub async fn handle<S, H, Q>(
    service: &Service<S, H, Q>,
    event: serde_json::Value,
) -> Result<serde_json::Value, WorkerError>
where
    S: TransactionStore + Cursors + IncomingPayments + CustomerStore,
    H: Horizon,
    Q: Queue,
{
    let mut watcher = service.watcher();
    if let Some(limit) = event.get("page_limit").and_then(serde_json::Value::as_u64) {
        watcher = watcher.with_page_limit(u32::try_from(limit).unwrap_or(u32::MAX));
    }
    if let Some(pages) = event.get("max_pages").and_then(serde_json::Value::as_u64) {
        watcher = watcher.with_max_pages(usize::try_from(pages).unwrap_or(usize::MAX));
    }
    let report: WatchReport = watcher.watch_payments().await.inspect_err(|error| {
        tracing::error!(%error, "payment watcher run failed");
    })?;
    tracing::info!(?report, "payment watcher run");
    Ok(serde_json::json!({
        "accounts": report.accounts,
        "records": report.records,
        "skipped": report.skipped,
        "matched": report.matched,
        "needing_attention": report.needing_attention,
        "history": report.history,
        "conflicts": report.conflicts,
        "behind": report.behind,
        "caught_up": report.caught_up(),
    }))
}
