//! The arithmetic of an exchange's price or quote (SEP-38, and the SEP-6/24/31 transactions that
//! use its quotes): from the anchor's terms (its price, margin included,
//! and its fee) and the one amount the client fixed, the other amount, the fee, and the `price` /
//! `total_price` the SEP shows, exact decimals throughout.
//!
//! Amounts are cut to their asset's decimals in the anchor's favour (what it gives rounds down,
//! what it is paid rounds up), so the anchor never sells below its own price; the two prices shown
//! are then derived from the final amounts, to [`PRICE_SCALE`] places, so the SEP's identities
//! hold for the numbers the client sees: `sell_amount = total_price × buy_amount`, and
//! `sell_amount - fee = price × buy_amount` (fee in the sell asset) or
//! `sell_amount = price × (buy_amount + fee)` (fee in the buy asset), each within half a unit of the
//! finer of the two assets' decimals.

use crate::decimal::{Decimal, Rounding, MAX_AMOUNT};

/// The decimal places of a shown price: with amounts below [`MAX_AMOUNT`] and at most 7
/// decimals, the error of a price so cut times an amount stays under half of 10^-7.
pub const PRICE_SCALE: u32 = 20;

/// The asset a fee is charged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeAsset {
    Sell,
    Buy,
}

/// A fee of `fixed + percent % of the amount` in its asset: of the sell amount for a fee in the
/// sell asset, of the buy amount before the fee for one in the buy asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeTerms {
    pub asset: FeeAsset,
    pub fixed: Decimal,
    /// Below 100.
    pub percent: Decimal,
}

/// What the anchor offers for one pair in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// Units of the sell asset per unit of the buy asset, the anchor's margin included and its
    /// fee not.
    pub price: Decimal,
    pub fee: FeeTerms,
}

/// The decimal places of the two assets of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairDecimals {
    pub sell: u32,
    pub buy: u32,
}

/// The amount the client fixed (exactly one of `sell_amount` / `buy_amount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    Sell(Decimal),
    Buy(Decimal),
}

/// A priced exchange, as `GET /price` and `POST /quote` answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priced {
    pub sell_amount: Decimal,
    pub buy_amount: Decimal,
    pub fee: Decimal,
    pub fee_asset: FeeAsset,
    /// Sell units per buy unit without the fee.
    pub price: Decimal,
    /// Sell units per buy unit with the fee.
    pub total_price: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("the amount is too small to cover the fee")]
    BelowFee,
    #[error("the amount is too large to quote")]
    TooLarge,
    #[error("the amount has more decimal places than its asset")]
    TooPrecise,
    #[error("the anchor's price or fee for this pair is invalid")]
    InvalidTerms,
}

/// Prices `given` under `terms`.
pub fn price(terms: &Terms, decimals: PairDecimals, given: Given) -> Result<Priced, PricingError> {
    let fee_terms = terms.fee;
    let hundred = Decimal::new(100, 0);
    if terms.price.is_zero() || fee_terms.percent >= hundred {
        return Err(PricingError::InvalidTerms);
    }
    let big = PricingError::TooLarge;
    let exact = |amount: Decimal, places: u32| match amount.rescale(places, Rounding::Down) {
        Some(cut) if cut == amount => Ok(cut),
        Some(_) => Err(PricingError::TooPrecise),
        None => Err(PricingError::TooLarge),
    };
    let given = match given {
        Given::Sell(sell) => Given::Sell(exact(sell, decimals.sell)?),
        Given::Buy(buy) => Given::Buy(exact(buy, decimals.buy)?),
    };
    let fee_decimals = match fee_terms.asset {
        FeeAsset::Sell => decimals.sell,
        FeeAsset::Buy => decimals.buy,
    };
    let fixed = fee_terms
        .fixed
        .rescale(fee_decimals, Rounding::HalfUp)
        .ok_or(PricingError::InvalidTerms)?;
    // The fee on `base`, and the amount that, less its own fee, leaves `net`.
    let fee_on = |base: Decimal| {
        base.percent(fee_terms.percent, fee_decimals)
            .and_then(|percent| percent.checked_add(fixed))
            .ok_or(PricingError::TooLarge)
    };
    let gross_for = |net: Decimal| {
        net.checked_add(fixed)
            .and_then(|n| n.mul(hundred, n.scale(), Rounding::Down))
            .and_then(|n| {
                n.div(
                    hundred.checked_sub(fee_terms.percent)?,
                    fee_decimals,
                    Rounding::Up,
                )
            })
            .ok_or(PricingError::TooLarge)
    };

    let (sell_amount, buy_amount, fee) = match (given, fee_terms.asset) {
        (Given::Sell(sell), FeeAsset::Sell) => {
            let fee = fee_on(sell)?;
            let net = sell.checked_sub(fee).ok_or(PricingError::BelowFee)?;
            let buy = net
                .div(terms.price, decimals.buy, Rounding::Down)
                .ok_or(big)?;
            (sell, buy, fee)
        }
        (Given::Sell(sell), FeeAsset::Buy) => {
            let gross = sell
                .div(terms.price, decimals.buy, Rounding::Down)
                .ok_or(big)?;
            let fee = fee_on(gross)?;
            let buy = gross.checked_sub(fee).ok_or(PricingError::BelowFee)?;
            (sell, buy, fee)
        }
        (Given::Buy(buy), FeeAsset::Sell) => {
            let net = buy
                .mul(terms.price, decimals.sell, Rounding::Up)
                .ok_or(big)?;
            let sell = gross_for(net)?;
            let fee = sell.checked_sub(net).ok_or(big)?;
            (sell, buy, fee)
        }
        (Given::Buy(buy), FeeAsset::Buy) => {
            let gross = gross_for(buy)?;
            let fee = gross.checked_sub(buy).ok_or(big)?;
            let sell = gross
                .mul(terms.price, decimals.sell, Rounding::Up)
                .ok_or(big)?;
            (sell, buy, fee)
        }
    };
    if buy_amount.is_zero() || sell_amount.is_zero() {
        return Err(PricingError::BelowFee);
    }
    if sell_amount > MAX_AMOUNT || buy_amount > MAX_AMOUNT {
        return Err(PricingError::TooLarge);
    }
    let total_price = sell_amount
        .div(buy_amount, PRICE_SCALE, Rounding::HalfUp)
        .ok_or(big)?;
    let price = match fee_terms.asset {
        FeeAsset::Sell => sell_amount
            .checked_sub(fee)
            .and_then(|net| net.div(buy_amount, PRICE_SCALE, Rounding::HalfUp)),
        FeeAsset::Buy => buy_amount
            .checked_add(fee)
            .and_then(|gross| sell_amount.div(gross, PRICE_SCALE, Rounding::HalfUp)),
    }
    .ok_or(big)?;
    Ok(Priced {
        sell_amount,
        buy_amount,
        fee,
        fee_asset: fee_terms.asset,
        price,
        total_price,
    })
}

#[cfg(test)]
mod tests;
