//! The anchor's business logic: THE one place an operator plugs in.
//!
//! Mooring does the SEP plumbing and calls the traits of `mooring::integrations` at the right
//! moments; this crate implements them for your anchor. Trait methods have defaults wherever
//! one exists, so [`Anchor`] only overrides what your business needs. The functions in
//! `functions/` use `anchor_integrations::Anchor`; change the code here, rebuild, redeploy.
//!
//! The reference implementation works locally out of the box:
//! - SEP-12 customers ([`kyc`]): stored through mooring's `CustomerStore` port (DynamoDB in
//!   Lambda, memory in tests), required SEP-9 fields per KYC type, email and phone verification
//!   codes, an optional review delay.
//! - SEP-24 deposits and withdrawals through a demo bank ([`rail`]): the amount, the bank account
//!   to pay out to, the KYC fields still lacking; bank instructions with a reference; the
//!   configured fees; deposits received and withdrawals paid out at the demo bank ([`bank`]).

#![forbid(unsafe_code)]

pub mod bank;
pub mod kyc;
pub mod rail;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use mooring::clock::{Clock, SystemClock};
use mooring::config::AnchorConfig;
use mooring::integrations::TomlIntegration;

pub use bank::{BankSettings, DemoBank};
pub use kyc::KycSettings;

/// Your anchor. Implement the integration traits for it.
///
/// `S` is the storage it keeps customers in (any `mooring::store::CustomerStore`); functions that
/// need no storage (sep1-toml) use `Anchor<()>`, i.e. `Anchor::default()`.
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

impl Default for Anchor {
    /// The anchor without storage, for functions that only need its stateless hooks.
    fn default() -> Self {
        Self::new(Arc::new(()), KycSettings::default(), Arc::new(SystemClock))
    }
}

impl<S: Send + Sync> TomlIntegration for Anchor<S> {
    /// Add fields to stellar.toml that configuration does not cover, e.g. `[[PRINCIPALS]]`.
    fn extend_toml(&self, toml: &mut toml::Table, anchor: &AnchorConfig) {
        let _ = (toml, anchor);
    }
}
