//! The anchor's business logic: THE one place an operator plugs in.
//!
//! Mooring does the SEP plumbing and calls the traits of `mooring::integrations` at the right
//! moments; this crate implements them for your anchor and registers the implementation in one
//! place, this file (django-polaris's `register_integrations`):
//!
//! - [`Integration`] names the type implementing the traits (`TomlIntegration`,
//!   `CustomerIntegration`, the SEP-24 `InteractiveFlow`, `DepositIntegration`,
//!   `WithdrawalIntegration`, `FeeIntegration`, the SEP-6 `ProgrammaticIntegration`, the
//!   SEP-38 `QuoteIntegration`, the SEP-31 `ReceiveIntegration`);
//! - [`register_integrations`] builds it, once per cold start, from the settings (the function's
//!   environment in Lambda) and the [`Ports`] Mooring hands over (the customer store, the clock).
//!
//! Every function under `functions/` (and the local gateway) calls [`register_integrations`] and
//! names nothing else of this crate, so replacing the anchor's logic never touches them: write
//! your module next to [`reference`], point [`Integration`] and [`register_integrations`] at it,
//! rebuild, redeploy.
//!
//! Out of the box this is the [`reference`] anchor (KYC, the demo rail, the demo bank), which
//! works locally end to end. With the cargo feature `example-minimal`, it is [`minimal`]: a
//! deposit-only anchor of a few lines, which shows the seam (see its tests).

#![forbid(unsafe_code)]

#[cfg(feature = "example-minimal")]
pub mod minimal;
pub mod reference;

use std::sync::Arc;

use mooring::clock::{Clock, SystemClock};
use mooring::config::Source;

pub use mooring::integrations::SetupError;

/// What Mooring hands to the integration: the adapters of the function it runs in (DynamoDB in
/// Lambda, memory in tests and in the local gateway). `S` is the store of customers and
/// transactions (`mooring::store::CustomerStore` ...).
pub struct Ports<S> {
    pub store: Arc<S>,
    pub clock: Arc<dyn Clock>,
}

impl<S> Ports<S> {
    /// The ports of a function that holds its own handles to the store and the clock.
    pub fn new(store: &Arc<S>, clock: &Arc<dyn Clock>) -> Self {
        Self {
            store: Arc::clone(store),
            clock: Arc::clone(clock),
        }
    }
}

impl Ports<()> {
    /// No store: for the functions that only use stateless hooks (stellar.toml).
    pub fn without_store() -> Self {
        Self {
            store: Arc::new(()),
            clock: Arc::new(SystemClock),
        }
    }
}

/// The anchor's integration: the reference anchor.
#[cfg(not(feature = "example-minimal"))]
pub type Integration<S> = reference::Anchor<S>;

/// The anchor's integration: the minimal example (feature `example-minimal`).
#[cfg(feature = "example-minimal")]
pub type Integration<S> = minimal::Minimal<S>;

/// Builds the anchor's integration from the settings (`KYC_*`, `DEMO_BANK_URL`, ... for the
/// reference anchor) and the ports. Called once per cold start by every function; an error
/// names the setting at fault and stops the function from starting.
pub fn register_integrations<S>(
    settings: &impl Source,
    ports: Ports<S>,
) -> Result<Integration<S>, SetupError> {
    #[cfg(not(feature = "example-minimal"))]
    {
        reference::Anchor::from_settings(settings, ports.store, ports.clock)
    }
    #[cfg(feature = "example-minimal")]
    {
        minimal::Minimal::from_settings(settings, ports.store)
    }
}
