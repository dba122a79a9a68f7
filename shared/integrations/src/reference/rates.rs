//! SEP-38 quotes from configured rates: for each pair and direction a rate, the anchor's spread
//! on it and a fee. A real anchor asks its market data or liquidity provider instead, in the same
//! three hooks.
//!
//! `QUOTE_RATES` is a JSON array, one entry per direction:
//! `{"sell_asset": "iso4217:USD", "buy_asset": "stellar:USDC:G...", "rate": "1",
//!   "spread_percent": "0.5", "fee_fixed": "1", "fee_percent": "0.1", "fee_asset": "sell"}`
//! (`rate`: sell units per buy unit at the market; the anchor's price is `rate × (1 + spread%)`;
//! the fee, in the sell asset unless `fee_asset` is `buy`, is `fee_fixed + fee_percent %`).
//! Quotes hold for `QUOTE_SECONDS` (default 600), or until a later `expire_after` the client asks
//! for, up to `QUOTE_MAX_SECONDS` (default 86,400).

use mooring::config::{ConfigError, Source};
use mooring::decimal::Decimal;
use mooring::integrations::{
    not_quoted, FirmTerms, IndicativePrice, IntegrationError, PriceRequest, PricesRequest,
};
use mooring::pricing::{FeeAsset, FeeTerms, Terms};
use mooring::time::Timestamp;
use serde::Deserialize;

const QUOTE_RATES: &str = "QUOTE_RATES";
const QUOTE_SECONDS: &str = "QUOTE_SECONDS";
const QUOTE_MAX_SECONDS: &str = "QUOTE_MAX_SECONDS";

/// The configured rates and how long a firm quote holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRates {
    directions: Vec<Direction>,
    seconds: i64,
    max_seconds: i64,
}

/// One direction of one pair, with the anchor's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Direction {
    sell_asset: String,
    buy_asset: String,
    terms: Terms,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateSetting {
    sell_asset: String,
    buy_asset: String,
    rate: Decimal,
    #[serde(default = "zero")]
    spread_percent: Decimal,
    #[serde(default = "zero")]
    fee_fixed: Decimal,
    #[serde(default = "zero")]
    fee_percent: Decimal,
    #[serde(default)]
    fee_asset: FeeSide,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum FeeSide {
    #[default]
    Sell,
    Buy,
}

fn zero() -> Decimal {
    Decimal::ZERO
}

fn invalid(name: &'static str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.to_string(),
    }
}

impl Default for QuoteRates {
    /// No rates: nothing is quoted.
    fn default() -> Self {
        Self {
            directions: Vec::new(),
            seconds: 600,
            max_seconds: 86_400,
        }
    }
}

impl QuoteRates {
    /// Reads `QUOTE_RATES`, `QUOTE_SECONDS` and `QUOTE_MAX_SECONDS`; no rates quote nothing.
    pub fn from_source(settings: &impl Source) -> Result<Self, ConfigError> {
        let seconds = positive_seconds(settings, QUOTE_SECONDS, 600)?;
        let max_seconds = positive_seconds(settings, QUOTE_MAX_SECONDS, 86_400)?;
        if max_seconds < seconds {
            return Err(invalid(
                QUOTE_MAX_SECONDS,
                "must not be below QUOTE_SECONDS",
            ));
        }
        let Some(json) = settings.get(QUOTE_RATES) else {
            return Ok(Self {
                directions: Vec::new(),
                seconds,
                max_seconds,
            });
        };
        let rates: Vec<RateSetting> =
            serde_json::from_str(&json).map_err(|e| invalid(QUOTE_RATES, e))?;
        let hundred = Decimal::new(100, 0);
        let mut directions: Vec<Direction> = Vec::with_capacity(rates.len());
        for rate in rates {
            let pair = format!("{} -> {}", rate.sell_asset, rate.buy_asset);
            if rate.sell_asset == rate.buy_asset {
                return Err(invalid(
                    QUOTE_RATES,
                    format!("{pair}: the assets must differ"),
                ));
            }
            // Decimal places kept small, so the price and fee arithmetic stays exact.
            let precise = rate.rate.scale() > 12
                || rate.spread_percent.scale() > 4
                || rate.fee_percent.scale() > 4
                || rate.fee_fixed.scale() > 7;
            if precise {
                let reason = format!(
                    "{pair}: at most 12 decimals for rate, 4 for percents and 7 for fee_fixed"
                );
                return Err(invalid(QUOTE_RATES, reason));
            }
            if rate.rate.is_zero() || rate.spread_percent >= hundred || rate.fee_percent >= hundred
            {
                let reason = format!("{pair}: rate must be positive, percents below 100");
                return Err(invalid(QUOTE_RATES, reason));
            }
            let repeated = directions
                .iter()
                .any(|d| d.sell_asset == rate.sell_asset && d.buy_asset == rate.buy_asset);
            if repeated {
                return Err(invalid(QUOTE_RATES, format!("{pair} is listed twice")));
            }
            // price = rate × (100 + spread) / 100, exact at this scale.
            let price = hundred
                .checked_add(rate.spread_percent)
                .and_then(|markup| {
                    let scale = rate.rate.scale() + rate.spread_percent.scale() + 2;
                    rate.rate.percent(markup, scale)
                })
                .ok_or_else(|| invalid(QUOTE_RATES, format!("{pair}: the rate is too large")))?;
            directions.push(Direction {
                sell_asset: rate.sell_asset,
                buy_asset: rate.buy_asset,
                terms: Terms {
                    price,
                    fee: FeeTerms {
                        asset: match rate.fee_asset {
                            FeeSide::Sell => FeeAsset::Sell,
                            FeeSide::Buy => FeeAsset::Buy,
                        },
                        fixed: rate.fee_fixed,
                        percent: rate.fee_percent,
                    },
                },
            });
        }
        Ok(Self {
            directions,
            seconds,
            max_seconds,
        })
    }

    fn terms(&self, sell_asset: &str, buy_asset: &str) -> Option<Terms> {
        self.directions
            .iter()
            .find(|d| d.sell_asset == sell_asset && d.buy_asset == buy_asset)
            .map(|d| d.terms)
    }

    /// `get_prices`: the price of each counter-asset quoted in the asked direction.
    pub fn prices(&self, request: &PricesRequest<'_>) -> Vec<IndicativePrice> {
        request
            .counter_assets
            .iter()
            .filter_map(|counter| {
                let (sell, buy) = if request.selling {
                    (request.asset.id, counter.id)
                } else {
                    (counter.id, request.asset.id)
                };
                self.terms(sell, buy).map(|terms| IndicativePrice {
                    asset: counter.id.to_owned(),
                    price: terms.price,
                })
            })
            .collect()
    }

    /// `get_price`: the configured terms of the pair.
    pub fn price(&self, request: &PriceRequest<'_>) -> Result<Terms, IntegrationError> {
        self.terms(request.sell_asset.id, request.buy_asset.id)
            .ok_or_else(|| not_quoted(request))
    }

    /// `post_quote`: the same terms, held `QUOTE_SECONDS` or until the client's `expire_after`
    /// if that is sooner than `QUOTE_MAX_SECONDS`.
    pub fn quote(
        &self,
        request: &PriceRequest<'_>,
        expire_after: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<FirmTerms, IntegrationError> {
        let terms = self.price(request)?;
        let usual = Timestamp::from_millis(now.millis() + self.seconds * 1000);
        let latest = Timestamp::from_millis(now.millis() + self.max_seconds * 1000);
        let expires_at = match expire_after {
            Some(wanted) if wanted > usual => wanted.min(latest),
            _ => usual,
        };
        Ok(FirmTerms { terms, expires_at })
    }
}

fn positive_seconds(
    settings: &impl Source,
    name: &'static str,
    default: i64,
) -> Result<i64, ConfigError> {
    match settings.get(name) {
        None => Ok(default),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(seconds) if (1..=31_536_000).contains(&seconds) => Ok(seconds),
            _ => Err(invalid(
                name,
                "must be a number of seconds from 1 to 31536000",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use mooring::integrations::QuoteAsset;
    use mooring::model::QuoteContext;
    use mooring::pricing::Given;

    use super::*;

    const USDC: &str = "stellar:USDC:GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";

    fn rates(json: &str) -> Result<QuoteRates, ConfigError> {
        let settings: BTreeMap<String, String> = [(QUOTE_RATES.to_owned(), json.to_owned())].into();
        QuoteRates::from_source(&settings)
    }

    fn request<'a>(sell: &'a str, buy: &'a str) -> PriceRequest<'a> {
        PriceRequest {
            sell_asset: QuoteAsset {
                id: sell,
                decimals: 2,
            },
            buy_asset: QuoteAsset {
                id: buy,
                decimals: 7,
            },
            given: Given::Sell(Decimal::new(100, 0)),
            sell_delivery_method: None,
            buy_delivery_method: None,
            country_code: None,
            context: QuoteContext::Sep24,
            user: None,
        }
    }

    #[test]
    fn the_price_is_the_rate_plus_the_spread_with_the_configured_fee() {
        let json = format!(
            r#"[{{"sell_asset":"iso4217:BRL","buy_asset":"{USDC}","rate":"5","spread_percent":"1.5",
                 "fee_fixed":"2","fee_percent":"0.5"}}]"#
        );
        let rates = rates(&json).expect("rates");
        let terms = rates.price(&request("iso4217:BRL", USDC)).expect("terms");
        assert_eq!(terms.price.to_string(), "5.075");
        assert_eq!(terms.fee.asset, FeeAsset::Sell);
        assert_eq!(terms.fee.fixed.to_string(), "2");
        // The other direction is not configured.
        let refused = rates.price(&request(USDC, "iso4217:BRL"));
        assert!(matches!(refused, Err(IntegrationError::Invalid(_))));
    }

    #[test]
    fn a_quote_holds_its_time_or_the_clients_within_the_maximum() {
        let json = format!(r#"[{{"sell_asset":"iso4217:BRL","buy_asset":"{USDC}","rate":"5"}}]"#);
        let rates = rates(&json).expect("rates");
        let now = Timestamp::from_secs(1_000_000);
        let at = |secs: i64| Timestamp::from_millis(now.millis() + secs * 1000);
        let quote = |wanted| rates.quote(&request("iso4217:BRL", USDC), wanted, now);
        assert_eq!(quote(None).expect("quote").expires_at, at(600));
        assert_eq!(quote(Some(at(60))).expect("quote").expires_at, at(600));
        assert_eq!(quote(Some(at(3600))).expect("quote").expires_at, at(3600));
        assert_eq!(
            quote(Some(at(90_000))).expect("quote").expires_at,
            at(86_400)
        );
    }

    #[test]
    fn refuses_bad_rates_naming_the_variable() {
        for bad in [
            "{}".to_owned(),
            format!(r#"[{{"sell_asset":"{USDC}","buy_asset":"{USDC}","rate":"1"}}]"#),
            format!(r#"[{{"sell_asset":"iso4217:BRL","buy_asset":"{USDC}","rate":"0"}}]"#),
            format!(r#"[{{"sell_asset":"iso4217:BRL","buy_asset":"{USDC}","rate":"-1"}}]"#),
            format!(
                r#"[{{"sell_asset":"iso4217:BRL","buy_asset":"{USDC}","rate":"1","fee_percent":"100"}}]"#
            ),
            format!(
                r#"[{{"sell_asset":"iso4217:BRL","buy_asset":"{USDC}","rate":"1","fee_asset":"both"}}]"#
            ),
            format!(
                r#"[{{"sell_asset":"iso4217:BRL","buy_asset":"{USDC}","rate":"1.0000000000001"}}]"#
            ),
            format!(
                r#"[{{"sell_asset":"iso4217:BRL","buy_asset":"{USDC}","rate":"1"}},
                    {{"sell_asset":"iso4217:BRL","buy_asset":"{USDC}","rate":"2"}}]"#
            ),
        ] {
            let error = rates(&bad).expect_err(&bad).to_string();
            assert!(
                error.starts_with("QUOTE_RATES is invalid"),
                "{bad}: {error}"
            );
        }
    }
}
