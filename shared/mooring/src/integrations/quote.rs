//! SEP-38 quotes: the anchor's prices. Mooring parses and checks every request, then asks the
//! integration only for its commercial terms (a price and a fee, django-polaris's `get_prices`,
//! `get_price` and `post_quote`); it does the arithmetic itself ([`crate::pricing`]), so every
//! answer satisfies the SEP's identities whatever the integration returns.

use std::future::Future;

use crate::decimal::Decimal;
use crate::model::{QuoteContext, UserKey};
use crate::pricing::{Given, Terms};
use crate::time::Timestamp;

use super::IntegrationError;

/// An asset as SEP-38 names it, with the decimals its amounts have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuoteAsset<'a> {
    /// `stellar:CODE:ISSUER` or `iso4217:XXX`.
    pub id: &'a str,
    pub decimals: u32,
}

/// `GET /prices`: the given asset, and the counter-assets the anchor trades it with.
#[derive(Debug, Clone)]
pub struct PricesRequest<'a> {
    /// The asset the client sells (`sell_asset`) or buys (`buy_asset`).
    pub asset: QuoteAsset<'a>,
    /// Whether the client sells `asset` (else it buys it).
    pub selling: bool,
    pub amount: Decimal,
    /// The assets it could be exchanged for (every other configured SEP-38 asset).
    pub counter_assets: Vec<QuoteAsset<'a>>,
    pub sell_delivery_method: Option<&'a str>,
    pub buy_delivery_method: Option<&'a str>,
    pub country_code: Option<&'a str>,
    /// The user, when the request carried a valid SEP-10 token.
    pub user: Option<UserKey>,
}

/// One indicative price of `GET /prices`: the sell asset's units per unit of the buy asset, one
/// of the two being `asset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicativePrice {
    /// The counter-asset's SEP-38 id (one of `PricesRequest::counter_assets`).
    pub asset: String,
    pub price: Decimal,
}

/// `GET /price` and `POST /quote`: one pair, one amount.
#[derive(Debug, Clone)]
pub struct PriceRequest<'a> {
    pub sell_asset: QuoteAsset<'a>,
    pub buy_asset: QuoteAsset<'a>,
    /// The amount the client fixed.
    pub given: Given,
    pub sell_delivery_method: Option<&'a str>,
    pub buy_delivery_method: Option<&'a str>,
    pub country_code: Option<&'a str>,
    pub context: QuoteContext,
    /// Always set for `POST /quote`; set for `GET /price` when a valid token came with it.
    pub user: Option<UserKey>,
}

/// The terms of a firm quote and how long the anchor holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirmTerms {
    pub terms: Terms,
    /// At or after the client's `expire_after` when it sent one; Mooring refuses the quote
    /// (400) otherwise.
    pub expires_at: Timestamp,
}

/// The anchor's prices. Refuse a request with [`IntegrationError::Invalid`] (400 with its
/// message; e.g. a pair the anchor does not trade) and report "no market now" with
/// [`IntegrationError::Unavailable`] (503). The defaults quote nothing: an anchor without SEP-38
/// assets needs no implementation.
pub trait QuoteIntegration: Send + Sync {
    /// Indicative prices against the counter-assets it trades (each the sell asset's units per
    /// unit of the buy asset, as every SEP-38 price); leave out the ones it does not trade.
    fn get_prices(
        &self,
        request: &PricesRequest<'_>,
    ) -> impl Future<Output = Result<Vec<IndicativePrice>, IntegrationError>> + Send {
        let _ = request;
        async { Ok(Vec::new()) }
    }

    /// The indicative terms of one exchange.
    fn get_price(
        &self,
        request: &PriceRequest<'_>,
    ) -> impl Future<Output = Result<Terms, IntegrationError>> + Send {
        let refused = not_quoted(request);
        async move { Err(refused) }
    }

    /// Firm terms: the anchor commits to them (and reserves what it needs) until `expires_at`.
    /// `expire_after` is the client's wish, if it sent one. Mooring may still refuse the quote
    /// after this answers (an `expires_at` before `expire_after`, an amount the terms cannot
    /// price, storage failing), and then stores nothing: a reservation made here should lapse
    /// by itself at `expires_at` unless a quote with these terms is used.
    fn post_quote(
        &self,
        request: &PriceRequest<'_>,
        expire_after: Option<Timestamp>,
    ) -> impl Future<Output = Result<FirmTerms, IntegrationError>> + Send {
        let _ = expire_after;
        let refused = not_quoted(request);
        async move { Err(refused) }
    }
}

/// The refusal of an exchange the anchor does not quote.
pub fn not_quoted(request: &PriceRequest<'_>) -> IntegrationError {
    IntegrationError::invalid(format!(
        "the anchor does not quote {} for {}",
        request.buy_asset.id, request.sell_asset.id
    ))
}
