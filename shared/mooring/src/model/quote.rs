//! SEP-38 firm quotes: a price the anchor committed to, for one user, until `expires_at`.

use serde::{Deserialize, Serialize};

use super::UserKey;
use crate::decimal::Decimal;
use crate::time::Timestamp;

/// A firm quote, as `POST /quote` made it and `GET /quote/:id` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub id: String,
    /// The SEP-10 user who asked for it: the only one who may read or use it.
    pub user: UserKey,
    pub context: QuoteContext,
    /// SEP-38 asset ids (`stellar:CODE:ISSUER`, `iso4217:USD`).
    pub sell_asset: String,
    pub sell_amount: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sell_delivery_method: Option<String>,
    pub buy_asset: String,
    pub buy_amount: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buy_delivery_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// Sell units per buy unit without the fee.
    pub price: Decimal,
    /// Sell units per buy unit with the fee.
    pub total_price: Decimal,
    pub fee: QuoteFee,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    /// The transaction the quote was used for: a quote backs one trade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

impl Quote {
    /// Whether the quote can still be used at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

/// The SEP a quote is for (`context`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuoteContext {
    Sep6,
    Sep24,
    Sep31,
}

impl QuoteContext {
    pub fn as_str(self) -> &'static str {
        match self {
            QuoteContext::Sep6 => "sep6",
            QuoteContext::Sep24 => "sep24",
            QuoteContext::Sep31 => "sep31",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [QuoteContext::Sep6, QuoteContext::Sep24, QuoteContext::Sep31]
            .into_iter()
            .find(|context| context.as_str() == text)
    }
}

/// A quote's fee: `total` in `asset`, with an optional breakdown that sums to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteFee {
    pub total: Decimal,
    /// SEP-38 asset id.
    pub asset: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<QuoteFeeDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteFeeDetail {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub amount: Decimal,
}
