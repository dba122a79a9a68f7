//! The JSON bodies of the SEP-38 endpoints, with exactly the keys the SEP lists.

use serde::Serialize;

use super::config::Sep38Asset;
use crate::decimal::Decimal;
use crate::model::{Quote, QuoteFee};
use crate::pricing::Priced;
use crate::time::Timestamp;

/// `GET /info`.
#[derive(Debug, Serialize)]
pub struct InfoView<'a> {
    pub assets: &'a [Sep38Asset],
}

/// `GET /prices`: `buy_assets` when the client sells, `sell_assets` when it buys.
#[derive(Debug, Default, Serialize)]
pub struct PricesView {
    #[serde(skip_serializing_if = "Option::is_none")]
    buy_assets: Option<Vec<PriceItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sell_assets: Option<Vec<PriceItem>>,
}

impl PricesView {
    pub fn buy_assets(items: Vec<PriceItem>) -> Self {
        Self {
            buy_assets: Some(items),
            sell_assets: None,
        }
    }

    pub fn sell_assets(items: Vec<PriceItem>) -> Self {
        Self {
            buy_assets: None,
            sell_assets: Some(items),
        }
    }
}

/// One counter-asset of `GET /prices`: the price of one unit of `asset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceItem {
    pub asset: String,
    pub price: Decimal,
    pub decimals: u32,
}

/// A fee as SEP-38 shows it: `{total, asset}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeView {
    pub total: Decimal,
    pub asset: String,
}

impl FeeView {
    /// The fee of a priced exchange, charged in `asset`.
    pub fn of(priced: &Priced, asset: &str) -> Self {
        Self {
            total: priced.fee,
            asset: asset.to_owned(),
        }
    }
}

/// `GET /price`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceView {
    pub total_price: Decimal,
    pub price: Decimal,
    pub sell_amount: Decimal,
    pub buy_amount: Decimal,
    pub fee: FeeView,
}

impl PriceView {
    pub fn new(priced: &Priced, fee_asset: &str) -> Self {
        Self {
            total_price: priced.total_price,
            price: priced.price,
            sell_amount: priced.sell_amount,
            buy_amount: priced.buy_amount,
            fee: FeeView::of(priced, fee_asset),
        }
    }
}

/// `POST /quote` and `GET /quote/:id`: the quote without its owner, context or country (the
/// delivery methods only when the client sent them).
#[derive(Debug, Serialize)]
pub struct QuoteView<'a> {
    id: &'a str,
    expires_at: Timestamp,
    total_price: Decimal,
    price: Decimal,
    sell_asset: &'a str,
    sell_amount: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    sell_delivery_method: Option<&'a str>,
    buy_asset: &'a str,
    buy_amount: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    buy_delivery_method: Option<&'a str>,
    fee: &'a QuoteFee,
}

impl<'a> QuoteView<'a> {
    pub fn new(quote: &'a Quote) -> Self {
        Self {
            id: &quote.id,
            expires_at: quote.expires_at,
            total_price: quote.total_price,
            price: quote.price,
            sell_asset: &quote.sell_asset,
            sell_amount: quote.sell_amount,
            sell_delivery_method: quote.sell_delivery_method.as_deref(),
            buy_asset: &quote.buy_asset,
            buy_amount: quote.buy_amount,
            buy_delivery_method: quote.buy_delivery_method.as_deref(),
            fee: &quote.fee,
        }
    }
}
