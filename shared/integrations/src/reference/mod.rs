//! The reference anchor: a complete integration that makes the local anchor usable end to end,
//! and an example of every hook. An operator replaces this module as a whole (see the crate's
//! documentation); nothing outside `shared/integrations` names its types.
//!
//! - SEP-12 customers ([`kyc`]): stored through mooring's `CustomerStore` port (DynamoDB in
//!   Lambda, memory in tests), required SEP-9 fields per KYC type, email and phone verification
//!   codes, an optional review delay.
//! - SEP-24 deposits and withdrawals through a demo bank ([`rail`]): the amount, the bank account
//!   to pay out to, the KYC fields still lacking; bank instructions with a reference; the
//!   configured fees; deposits received and withdrawals paid out at the demo bank ([`bank`]).

pub mod bank;
pub mod kyc;
pub mod rail;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Source};
use mooring::integrations::{SetupError, TomlIntegration};

pub use bank::{BankSettings, DemoBank};
pub use kyc::KycSettings;

/// The reference anchor. `S` is the storage it keeps customers in (any
/// `mooring::store::CustomerStore`); `Anchor<()>` has no storage and serves the stateless hooks
/// (stellar.toml).
pub struct Anchor<S = ()> {
    customers: Arc<S>,
    kyc: KycSettings,
    clock: Arc<dyn Clock>,
    /// The reference rail's bank (`DEMO_BANK_URL`), for the payment workers' hooks.
    bank: Option<DemoBank>,
    /// Whether "no bank configured" was logged already (once per cold start).
    bank_missing_logged: AtomicBool,
}

impl<S> Anchor<S> {
    /// Reads the reference anchor's settings (`KYC_*`, `DEMO_BANK_URL`, `DEMO_BANK_TIMEOUT_MS`)
    /// and builds it over the customer store: what `register_integrations` does.
    pub fn from_settings(
        settings: &impl Source,
        customers: Arc<S>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SetupError> {
        let kyc = KycSettings::from_source(settings)?;
        let bank = BankSettings::from_source(settings)?;
        let bank = DemoBank::from_settings(&bank).map_err(|e| SetupError::Client {
            service: "demo bank",
            reason: e.to_string(),
        })?;
        Ok(Self::new(customers, kyc, clock).with_bank(bank))
    }

    pub fn new(customers: Arc<S>, kyc: KycSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            customers,
            kyc,
            clock,
            bank: None,
            bank_missing_logged: AtomicBool::new(false),
        }
    }

    /// The anchor paying and collecting through the demo bank (the payment workers use it;
    /// `None`: no deposit ever arrives and withdrawals wait in `pending_external`).
    pub fn with_bank(mut self, bank: Option<DemoBank>) -> Self {
        self.bank = bank;
        self
    }

    pub fn kyc_settings(&self) -> &KycSettings {
        &self.kyc
    }
}

impl<S: Send + Sync> TomlIntegration for Anchor<S> {
    /// Add fields to stellar.toml that configuration does not cover, e.g. `[[PRINCIPALS]]`.
    fn extend_toml(&self, toml: &mut toml::Table, anchor: &AnchorConfig) {
        let _ = (toml, anchor);
    }
}
