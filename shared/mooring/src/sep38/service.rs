//! The SEP-38 quote API as a domain service ([`Quotes`]): `/info`, `/prices`, `/price`,
//! `POST /quote` and `GET /quote/:id`. It checks every request against the configured assets,
//! asks the integration for its terms, prices them ([`crate::pricing`]) and keeps firm quotes.
//! Its HTTP glue is [`super::routes`]; the `sep38-quotes` function wires it to Lambda.

use std::sync::Arc;

use http::HeaderMap;

use super::config::{Sep38Asset, Sep38Config};
use super::view::{InfoView, PriceItem, PriceView, PricesView};
use crate::auth::{AuthConfig, AuthError, Authenticator};
use crate::clock::Clock;
use crate::decimal::{Decimal, DecimalError};
use crate::error::ApiError;
use crate::http::body::Params;
use crate::integrations::{IntegrationError, PriceRequest, PricesRequest, QuoteIntegration};
use crate::model::{Quote, QuoteContext, QuoteFee, UserKey};
use crate::pricing::{self, FeeAsset, Given, PairDecimals, Priced, PricingError, Terms};
use crate::store::{users_quote, QuoteStore, StoreError};
use crate::time::Timestamp;

/// The settings the service is built from (read once per cold start).
#[derive(Debug, Clone)]
pub struct QuoteSettings {
    pub sep38: Sep38Config,
    /// Verifies SEP-10 tokens.
    pub auth: AuthConfig,
}

/// The SEP-38 API over an anchor's integration `I` and a quote store `S`.
pub struct Quotes<I, S> {
    sep38: Sep38Config,
    integration: I,
    auth: Authenticator,
    store: Arc<S>,
    clock: Arc<dyn Clock>,
}

impl<I, S> Quotes<I, S>
where
    I: QuoteIntegration,
    S: QuoteStore,
{
    pub fn new(
        settings: QuoteSettings,
        integration: I,
        store: Arc<S>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            auth: Authenticator::new(&settings.auth, clock.clone()),
            sep38: settings.sep38,
            integration,
            store,
            clock,
        }
    }

    /// The caller of a request that needs a token: SEP-38 answers 403 `{"error"}` without one.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<UserKey, ApiError> {
        let user = self.auth.authenticate(headers).map_err(forbidden)?;
        Ok(UserKey {
            account: user.account,
            memo: user.memo,
        })
    }

    /// The caller of a request where a token is optional: none without an `Authorization`
    /// header, 403 for one that is not valid.
    pub fn authenticate_if_sent(&self, headers: &HeaderMap) -> Result<Option<UserKey>, ApiError> {
        if headers.contains_key(http::header::AUTHORIZATION) {
            self.authenticate(headers).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn info(&self) -> InfoView<'_> {
        InfoView {
            assets: &self.sep38.assets,
        }
    }

    /// `GET /prices`: indicative prices of every counter-asset for the asset the client sells
    /// (`sell_asset`, `sell_amount`) or buys (`buy_asset`, `buy_amount`).
    pub async fn prices(
        &self,
        user: Option<UserKey>,
        params: &Params,
    ) -> Result<PricesView, ApiError> {
        let (asset, selling, amount) = match exactly_one(params, "sell_asset", "buy_asset")? {
            OneOf::First(sell) => {
                refuse_present(
                    params,
                    "buy_amount",
                    "with 'sell_asset', give 'sell_amount'",
                )?;
                let asset = self.asset(sell, "sell_asset")?;
                (asset, true, amount(params, "sell_amount", asset)?)
            }
            OneOf::Second(buy) => {
                refuse_present(params, "sell_amount", "with 'buy_asset', give 'buy_amount'")?;
                let asset = self.asset(buy, "buy_asset")?;
                (asset, false, amount(params, "buy_amount", asset)?)
            }
        };
        let counter_assets: Vec<&Sep38Asset> = self
            .sep38
            .assets
            .iter()
            .filter(|counter| counter.asset != asset.asset)
            .collect();
        let (sell_method, buy_method) = if selling {
            let buy_method = counter_method(&counter_assets, params, "buy_delivery_method", |c| {
                &c.buy_delivery_methods
            })?;
            (self.sell_method(asset, params, false)?, buy_method)
        } else {
            let sell_method =
                counter_method(&counter_assets, params, "sell_delivery_method", |c| {
                    &c.sell_delivery_methods
                })?;
            (sell_method, self.buy_method(asset, params, false)?)
        };
        let request = PricesRequest {
            asset: asset.as_quote_asset(),
            selling,
            amount,
            counter_assets: counter_assets.iter().map(|c| c.as_quote_asset()).collect(),
            sell_delivery_method: sell_method,
            buy_delivery_method: buy_method,
            country_code: prices_country(asset, &counter_assets, params)?,
            user,
        };
        let prices = self
            .integration
            .get_prices(&request)
            .await
            .map_err(integration_error)?;
        let mut items = Vec::with_capacity(prices.len());
        for price in prices {
            let Some(counter) = counter_assets.iter().find(|c| c.asset == price.asset) else {
                tracing::warn!(asset = %price.asset, "get_prices answered an asset not asked for");
                continue;
            };
            if price.price.is_zero() {
                tracing::warn!(asset = %price.asset, "get_prices answered a zero price");
                continue;
            }
            items.push(PriceItem {
                asset: counter.asset.clone(),
                price: price.price,
                decimals: counter.decimals,
            });
        }
        Ok(if selling {
            PricesView::buy_assets(items)
        } else {
            PricesView::sell_assets(items)
        })
    }

    /// `GET /price`: the indicative price of one exchange.
    pub async fn price(
        &self,
        user: Option<UserKey>,
        params: &Params,
    ) -> Result<PriceView, ApiError> {
        let request = self.exchange(user, params, false)?;
        let terms = self
            .integration
            .get_price(&request)
            .await
            .map_err(integration_error)?;
        let priced = price_with(&terms, &request)?;
        Ok(PriceView::new(&priced, fee_asset_id(&request, &priced)))
    }

    /// `POST /quote`: a firm quote for the caller, kept until well after it expires.
    pub async fn post_quote(&self, user: UserKey, params: &Params) -> Result<Quote, ApiError> {
        let request = self.exchange(Some(user), params, true)?;
        let expire_after = params
            .get("expire_after")
            .map(|text| {
                Timestamp::parse_rfc3339(text).ok_or_else(|| {
                    ApiError::bad_request("'expire_after' is not an ISO 8601 UTC date and time")
                })
            })
            .transpose()?;
        let now = self.now();
        let firm = self
            .integration
            .post_quote(&request, expire_after)
            .await
            .map_err(integration_error)?;
        if let Some(wanted) = expire_after {
            if firm.expires_at < wanted {
                return Err(ApiError::bad_request(format!(
                    "the anchor cannot hold a quote until {wanted}; the latest it offers is {}",
                    firm.expires_at
                )));
            }
        }
        if firm.expires_at <= now {
            return Err(ApiError::Internal(
                "post_quote returned a quote that has already expired".into(),
            ));
        }
        let priced = price_with(&firm.terms, &request)?;
        let quote = Quote {
            id: uuid::Uuid::new_v4().to_string(),
            user,
            context: request.context,
            sell_asset: request.sell_asset.id.to_owned(),
            sell_amount: priced.sell_amount,
            sell_delivery_method: request.sell_delivery_method.map(str::to_owned),
            buy_asset: request.buy_asset.id.to_owned(),
            buy_amount: priced.buy_amount,
            buy_delivery_method: request.buy_delivery_method.map(str::to_owned),
            country_code: request.country_code.map(str::to_owned),
            price: priced.price,
            total_price: priced.total_price,
            fee: QuoteFee {
                total: priced.fee,
                asset: fee_asset_id(&request, &priced).to_owned(),
                details: Vec::new(),
            },
            expires_at: firm.expires_at,
            created_at: now,
            transaction_id: None,
        };
        self.store.insert_quote(&quote).await.map_err(store_error)?;
        Ok(quote)
    }

    /// `GET /quote/:id`: the caller's own quote; anyone else's is 404 like a missing one.
    pub async fn quote(&self, user: UserKey, id: &str) -> Result<Quote, ApiError> {
        users_quote(&*self.store, &user, id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::NotFound("quote not found".into()))
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.clock.now())
    }

    /// The configured asset a parameter names.
    fn asset(&self, id: &str, name: &str) -> Result<&Sep38Asset, ApiError> {
        self.sep38.asset(id).ok_or_else(|| {
            ApiError::bad_request(format!(
                "'{name}' is not an asset this anchor quotes: {}",
                shorten(id)
            ))
        })
    }

    /// The exchange of `GET /price` or `POST /quote` (which requires the delivery method of an
    /// asset that offers several).
    fn exchange<'p>(
        &'p self,
        user: Option<UserKey>,
        params: &'p Params,
        firm: bool,
    ) -> Result<PriceRequest<'p>, ApiError> {
        let sell = self.asset(params.require("sell_asset")?, "sell_asset")?;
        let buy = self.asset(params.require("buy_asset")?, "buy_asset")?;
        if sell.asset == buy.asset {
            return Err(ApiError::bad_request(
                "'sell_asset' and 'buy_asset' must differ",
            ));
        }
        let given = match exactly_one(params, "sell_amount", "buy_amount")? {
            OneOf::First(_) => Given::Sell(amount(params, "sell_amount", sell)?),
            OneOf::Second(_) => Given::Buy(amount(params, "buy_amount", buy)?),
        };
        let context = params.require("context")?;
        let context = QuoteContext::parse(context).ok_or_else(|| {
            ApiError::bad_request(format!(
                "'context' must be sep6, sep24 or sep31, not {}",
                shorten(context)
            ))
        })?;
        let country_code = match (
            self.country_code(sell, params)?,
            self.country_code(buy, params)?,
        ) {
            (Some(code), _) | (None, Some(code)) => Some(code),
            (None, None) => None,
        };
        Ok(PriceRequest {
            sell_asset: sell.as_quote_asset(),
            buy_asset: buy.as_quote_asset(),
            given,
            sell_delivery_method: self.sell_method(sell, params, firm)?,
            buy_delivery_method: self.buy_method(buy, params, firm)?,
            country_code,
            context,
            user,
        })
    }

    /// `sell_delivery_method`: one of the sell asset's, and required for a firm quote when it
    /// has several.
    fn sell_method<'p>(
        &self,
        asset: &Sep38Asset,
        params: &'p Params,
        firm: bool,
    ) -> Result<Option<&'p str>, ApiError> {
        delivery_method(
            &asset.sell_delivery_methods,
            params,
            "sell_delivery_method",
            firm,
        )
    }

    fn buy_method<'p>(
        &self,
        asset: &Sep38Asset,
        params: &'p Params,
        firm: bool,
    ) -> Result<Option<&'p str>, ApiError> {
        delivery_method(
            &asset.buy_delivery_methods,
            params,
            "buy_delivery_method",
            firm,
        )
    }

    /// `country_code`, if the asset lists countries: one of them.
    fn country_code<'p>(
        &self,
        asset: &Sep38Asset,
        params: &'p Params,
    ) -> Result<Option<&'p str>, ApiError> {
        let Some(code) = params.get("country_code") else {
            return Ok(None);
        };
        if asset.country_codes.is_empty() {
            return Ok(None);
        }
        if asset.country_codes.iter().any(|listed| listed == code) {
            Ok(Some(code))
        } else {
            Err(ApiError::bad_request(format!(
                "'country_code' must be one of {} for {}",
                asset.country_codes.join(", "),
                asset.asset
            )))
        }
    }
}

/// Which of two exclusive parameters a request gave.
enum OneOf<'p> {
    First(&'p str),
    Second(&'p str),
}

/// Exactly one of `first` and `second`: both or neither is a 400 naming them.
fn exactly_one<'p>(params: &'p Params, first: &str, second: &str) -> Result<OneOf<'p>, ApiError> {
    match (params.get(first), params.get(second)) {
        (Some(value), None) => Ok(OneOf::First(value)),
        (None, Some(value)) => Ok(OneOf::Second(value)),
        (Some(_), Some(_)) => Err(ApiError::bad_request(format!(
            "give '{first}' or '{second}', not both"
        ))),
        (None, None) => Err(ApiError::bad_request(format!(
            "'{first}' or '{second}' is required"
        ))),
    }
}

/// A delivery method of `GET /prices` for the counter-assets' side: one that at least one of
/// them offers (`methods` picks the side's list).
fn counter_method<'p>(
    counter_assets: &[&Sep38Asset],
    params: &'p Params,
    parameter: &str,
    methods: impl Fn(&Sep38Asset) -> &[super::config::DeliveryMethod],
) -> Result<Option<&'p str>, ApiError> {
    match params.get(parameter) {
        Some(name) if !counter_assets.iter().any(|c| offers(methods(c), name)) => {
            Err(unknown_method(parameter, name))
        }
        method => Ok(method),
    }
}

/// `country_code` of `GET /prices`: one of the given asset's countries, or, for an asset
/// without any (a Stellar asset), of a counter-asset's.
fn prices_country<'p>(
    asset: &Sep38Asset,
    counter_assets: &[&Sep38Asset],
    params: &'p Params,
) -> Result<Option<&'p str>, ApiError> {
    let Some(code) = params.get("country_code") else {
        return Ok(None);
    };
    let listed: Vec<&String> = if asset.country_codes.is_empty() {
        counter_assets
            .iter()
            .flat_map(|c| &c.country_codes)
            .collect()
    } else {
        asset.country_codes.iter().collect()
    };
    if listed.is_empty() || listed.iter().any(|listed| *listed == code) {
        Ok((!listed.is_empty()).then_some(code))
    } else {
        Err(ApiError::bad_request(format!(
            "'country_code' {} is not a country of these assets (see GET /info)",
            shorten(code)
        )))
    }
}

/// A positive amount of `asset`, with at most its decimals.
fn amount(params: &Params, name: &str, asset: &Sep38Asset) -> Result<Decimal, ApiError> {
    let text = params.require(name)?;
    let value = Decimal::parse(text, asset.decimals).map_err(|error| {
        ApiError::bad_request(match error {
            DecimalError::NotANumber(_) => format!("'{name}' is not a positive decimal number"),
            DecimalError::TooPrecise { decimals, .. } => {
                format!(
                    "'{name}' has more than {decimals} decimal places for {}",
                    asset.asset
                )
            }
            DecimalError::TooLarge(_) => format!("'{name}' is too large"),
        })
    })?;
    if value.is_zero() {
        return Err(ApiError::bad_request(format!("'{name}' must be positive")));
    }
    Ok(value)
}

fn refuse_present(params: &Params, name: &str, message: &str) -> Result<(), ApiError> {
    match params.get(name) {
        Some(_) => Err(ApiError::bad_request(message)),
        None => Ok(()),
    }
}

fn offers(methods: &[super::config::DeliveryMethod], name: &str) -> bool {
    methods.iter().any(|method| method.name == name)
}

fn unknown_method(parameter: &str, name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "'{parameter}' {} is not a delivery method of the asset (see GET /info)",
        shorten(name)
    ))
}

fn delivery_method<'p>(
    methods: &[super::config::DeliveryMethod],
    params: &'p Params,
    parameter: &str,
    firm: bool,
) -> Result<Option<&'p str>, ApiError> {
    match params.get(parameter) {
        Some(name) if offers(methods, name) => Ok(Some(name)),
        Some(name) => Err(unknown_method(parameter, name)),
        None if firm && methods.len() > 1 => Err(ApiError::bad_request(format!(
            "'{parameter}' is required: the asset has several (see GET /info)"
        ))),
        None => Ok(None),
    }
}

/// Prices the integration's terms for the request; a refusal of the amount is the client's
/// 400, terms that cannot be priced are the integration's bug.
fn price_with(terms: &Terms, request: &PriceRequest<'_>) -> Result<Priced, ApiError> {
    let decimals = PairDecimals {
        sell: request.sell_asset.decimals,
        buy: request.buy_asset.decimals,
    };
    pricing::price(terms, decimals, request.given).map_err(|error| match error {
        PricingError::InvalidTerms => ApiError::Internal(format!(
            "the quote integration's terms are invalid: {terms:?}"
        )),
        refusal => ApiError::bad_request(refusal.to_string()),
    })
}

fn fee_asset_id<'r>(request: &PriceRequest<'r>, priced: &Priced) -> &'r str {
    match priced.fee_asset {
        FeeAsset::Sell => request.sell_asset.id,
        FeeAsset::Buy => request.buy_asset.id,
    }
}

/// The quote integration's refusals and failures, in SEP-38's terms.
fn integration_error(error: IntegrationError) -> ApiError {
    match error {
        IntegrationError::Invalid(message) => ApiError::BadRequest(message),
        IntegrationError::NotFound => {
            ApiError::bad_request("the anchor does not quote this exchange")
        }
        IntegrationError::Unavailable(cause) => ApiError::Unavailable {
            public: "no price is available now; try again later".into(),
            cause,
        },
        IntegrationError::Internal(cause) => ApiError::Internal(cause),
    }
}

fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Unavailable(cause) => ApiError::Unavailable {
            public: "quotes are unavailable; try again".into(),
            cause,
        },
        other => ApiError::Internal(other.to_string()),
    }
}

fn forbidden(error: AuthError) -> ApiError {
    ApiError::Forbidden(error.to_string())
}

/// At most 64 characters of a client's value, for an error message.
fn shorten(value: &str) -> String {
    value.chars().take(64).collect()
}

#[cfg(test)]
mod tests;
