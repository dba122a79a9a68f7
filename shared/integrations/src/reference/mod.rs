//! The reference anchor: a complete integration that makes the local anchor usable end to end,
//! and an example of every hook. An operator replaces this module as a whole (see the crate's
//! documentation); nothing outside `shared/integrations` names its types.
//!
//! - SEP-12 customers ([`kyc`]): stored through mooring's `CustomerStore` port (DynamoDB in
//!   Lambda, memory in tests), required SEP-9 fields per KYC type, email and phone verification
//!   codes, an optional review delay, fields rejected after the fact (a bank account the bank
//!   refused) asked for again until they change.
//! - SEP-24 deposits and withdrawals through a demo bank ([`rail`]): the amount, the bank account
//!   to pay out to, the KYC fields still lacking; bank instructions with a reference; the
//!   configured fees; deposits received and withdrawals paid out at the demo bank ([`bank`]).
//! - SEP-6 programmatic deposits and withdrawals ([`programmatic`]): the same KYC (asked through
//!   SEP-12), bank instructions and payout account as SEP-24; a withdrawal's bank account from
//!   the request's `dest`, the customer's `bank_account_number` or a `PATCH`.
//! - SEP-38 prices and firm quotes from configured rates, spreads and fees ([`rates`]).
//! - SEP-31 payments received from sending anchors (`ReceiveIntegration`, [`receive`]): sender
//!   and receiver are the sending anchor's SEP-12 customers, accepted for `sep31-sender` /
//!   `sep31-receiver`; the receiver is paid at the demo bank (once per transaction id) to its
//!   `bank_account_number`, and an account the bank refuses is recorded as a rejected field of
//!   the receiver, which SEP-12 then asks for again.

pub mod bank;
pub mod kyc;
pub mod programmatic;
pub mod rail;
pub mod rates;
pub mod receive;

use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Source};

use mooring::integrations::{
    FirmTerms, IndicativePrice, IntegrationError, PriceRequest, PricesRequest, QuoteIntegration,
    SetupError, TomlIntegration,
};
use mooring::pricing::Terms;
use mooring::time::Timestamp;

pub use bank::{BankSettings, DemoBank};
pub use kyc::KycSettings;
pub use rates::QuoteRates;

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
    /// SEP-38: the configured rates (`QUOTE_RATES`).
    rates: QuoteRates,
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
        let rates = QuoteRates::from_source(settings)?;
        Ok(Self::new(customers, kyc, clock)
            .with_bank(bank)
            .with_rates(rates))
    }

    pub fn new(customers: Arc<S>, kyc: KycSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            customers,
            kyc,
            clock,
            bank: None,
            bank_missing_logged: AtomicBool::new(false),
            rates: QuoteRates::default(),
        }
    }

    /// The anchor quoting SEP-38 prices from these rates (none by default).
    pub fn with_rates(mut self, rates: QuoteRates) -> Self {
        self.rates = rates;
        self
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

impl<S: Send + Sync> QuoteIntegration for Anchor<S> {
    fn get_prices(
        &self,
        request: &PricesRequest<'_>,
    ) -> impl Future<Output = Result<Vec<IndicativePrice>, IntegrationError>> + Send {
        let prices = self.rates.prices(request);
        async move { Ok(prices) }
    }

    fn get_price(
        &self,
        request: &PriceRequest<'_>,
    ) -> impl Future<Output = Result<Terms, IntegrationError>> + Send {
        let terms = self.rates.price(request);
        async move { terms }
    }

    fn post_quote(
        &self,
        request: &PriceRequest<'_>,
        expire_after: Option<Timestamp>,
    ) -> impl Future<Output = Result<FirmTerms, IntegrationError>> + Send {
        let now = Timestamp::from_secs(self.clock.now());
        let firm = self.rates.quote(request, expire_after, now);
        async move { firm }
    }
}

impl<S: Send + Sync> TomlIntegration for Anchor<S> {
    /// Add fields to stellar.toml that configuration does not cover, e.g. `[[PRINCIPALS]]`.
    fn extend_toml(&self, toml: &mut toml::Table, anchor: &AnchorConfig) {
        let _ = (toml, anchor);
    }
}
