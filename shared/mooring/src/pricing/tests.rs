//! The SEP's identities, checked exactly (big integers) over random terms and amounts, and the
//! SEP's own examples.

use num_bigint::BigInt;

use super::*;
use crate::decimal::MAX_SCALE;

fn d(text: &str) -> Decimal {
    Decimal::parse(text, MAX_SCALE).expect("decimal")
}

fn terms(price: &str, asset: FeeAsset, fixed: &str, percent: &str) -> Terms {
    Terms {
        price: d(price),
        fee: FeeTerms {
            asset,
            fixed: d(fixed),
            percent: d(percent),
        },
    }
}

const BRL_USDC: PairDecimals = PairDecimals { sell: 2, buy: 7 };

#[test]
fn the_seps_examples_without_a_fee() {
    let brl_for_usdc = terms("5.42", FeeAsset::Sell, "0", "0");
    let priced = price(&brl_for_usdc, BRL_USDC, Given::Sell(d("500"))).expect("price");
    assert_eq!(priced.buy_amount.to_string(), "92.2509225");
    assert_eq!(priced.sell_amount.to_string(), "500");
    let priced = price(&brl_for_usdc, BRL_USDC, Given::Buy(d("100"))).expect("price");
    assert_eq!(priced.sell_amount.to_string(), "542");
    assert_eq!(priced.price.to_string(), "5.42");
    assert_eq!(priced.total_price.to_string(), "5.42");
}

#[test]
fn a_fee_in_the_sell_asset_comes_off_the_sell_amount() {
    // 100 BRL, 1 BRL + 1% fee = 2 BRL, 98 BRL at 5 BRL per USDC.
    let priced = price(
        &terms("5", FeeAsset::Sell, "1", "1"),
        BRL_USDC,
        Given::Sell(d("100")),
    )
    .expect("price");
    assert_eq!(
        (priced.fee.to_string(), priced.buy_amount.to_string()),
        ("2".into(), "19.6".into())
    );
    assert_eq!(priced.price.to_string(), "5");
    assert_eq!(priced.total_price.to_string(), "5.10204081632653061224");
    // And back: 19.6 USDC cost the same 100 BRL.
    let back = price(
        &terms("5", FeeAsset::Sell, "1", "1"),
        BRL_USDC,
        Given::Buy(d("19.6")),
    )
    .expect("price");
    assert_eq!(back.sell_amount.to_string(), "100");
    assert_eq!(back.fee.to_string(), "2");
}

#[test]
fn a_fee_in_the_buy_asset_comes_off_the_buy_amount() {
    // 100 USDC at 0.2 USDC per BRL = 500 BRL, less 5 BRL fee.
    let usdc_to_brl = PairDecimals { sell: 7, buy: 2 };
    let priced = price(
        &terms("0.2", FeeAsset::Buy, "5", "0"),
        usdc_to_brl,
        Given::Sell(d("100")),
    )
    .expect("price");
    assert_eq!(priced.buy_amount.to_string(), "495");
    assert_eq!(priced.fee.to_string(), "5");
    assert_eq!(priced.price.to_string(), "0.2");
}

#[test]
fn refusals() {
    let fee = terms("5", FeeAsset::Sell, "10", "0");
    let small = price(&fee, BRL_USDC, Given::Sell(d("10")));
    assert_eq!(small, Err(PricingError::BelowFee));
    let precise = price(&fee, BRL_USDC, Given::Sell(d("100.001")));
    assert_eq!(precise, Err(PricingError::TooPrecise));
    let cheap = terms("0.0000001", FeeAsset::Sell, "0", "0");
    let huge = price(
        &cheap,
        PairDecimals { sell: 7, buy: 7 },
        Given::Sell(d("1000000")),
    );
    assert_eq!(huge, Err(PricingError::TooLarge));
    let dust = price(
        &terms("1000", FeeAsset::Sell, "0", "0"),
        PairDecimals { sell: 2, buy: 2 },
        Given::Sell(d("0.01")),
    );
    assert_eq!(dust, Err(PricingError::BelowFee));
    for bad in [
        terms("0", FeeAsset::Sell, "0", "0"),
        terms("1", FeeAsset::Buy, "0", "100"),
    ] {
        let refused = price(&bad, BRL_USDC, Given::Sell(d("1")));
        assert_eq!(refused, Err(PricingError::InvalidTerms));
    }
}

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    /// A decimal with `scale` places and up to `digits` significant digits.
    fn decimal(&mut self, digits: u32, scale: u32) -> Decimal {
        let magnitude = 10_u64.pow(1 + self.below(u64::from(digits)) as u32);
        Decimal::new(u128::from(self.below(magnitude)), scale)
    }
}

/// `value` as an integer count of 10^-`scale`.
fn at_scale(value: Decimal, scale: u32) -> BigInt {
    assert!(value.scale() <= scale);
    BigInt::from(value.units()) * BigInt::from(10).pow(scale - value.scale())
}

/// |a × b - c| is under half a unit of 10^-places (all exact).
fn holds(a: Decimal, b: Decimal, c: Decimal, places: u32) -> bool {
    let scale = a.scale() + b.scale() + places + 1;
    let product = at_scale(a, a.scale()) * at_scale(b, b.scale());
    let product = product * BigInt::from(10).pow(places + 1);
    let difference = product - at_scale(c, scale);
    let half_unit = BigInt::from(5) * BigInt::from(10).pow(scale - places - 1);
    difference.magnitude() < half_unit.magnitude()
}

#[test]
fn the_identities_hold_for_random_terms_and_amounts() {
    let mut random = Random(0x5EED_0038);
    let mut priced_count = 0;
    for _ in 0..20_000 {
        let decimals = PairDecimals {
            sell: random.below(8) as u32,
            buy: random.below(8) as u32,
        };
        let price_scale = random.below(9) as u32;
        let fixed_scale = random.below(3) as u32;
        let terms = Terms {
            price: random.decimal(12, price_scale),
            fee: FeeTerms {
                asset: if random.below(2) == 0 {
                    FeeAsset::Sell
                } else {
                    FeeAsset::Buy
                },
                fixed: random.decimal(3, fixed_scale),
                percent: random.decimal(3, 2).min(d("99.99")),
            },
        };
        let given = if random.below(2) == 0 {
            Given::Sell(random.decimal(13, decimals.sell))
        } else {
            Given::Buy(random.decimal(13, decimals.buy))
        };
        let Ok(p) = price(&terms, decimals, given) else {
            continue;
        };
        priced_count += 1;
        let case = format!("{terms:?} {decimals:?} {given:?} -> {p:?}");
        let places = decimals.sell.max(decimals.buy);
        // The client's amount comes back as it was; the others have their asset's decimals.
        match given {
            Given::Sell(sell) => assert_eq!(p.sell_amount, sell, "{case}"),
            Given::Buy(buy) => assert_eq!(p.buy_amount, buy, "{case}"),
        }
        assert!(p.sell_amount.rescale(decimals.sell, Rounding::Down) == Some(p.sell_amount));
        assert!(p.buy_amount.rescale(decimals.buy, Rounding::Down) == Some(p.buy_amount));
        assert!(
            !p.sell_amount.is_zero() && !p.buy_amount.is_zero(),
            "{case}"
        );
        // sell_amount = total_price × buy_amount
        assert!(
            holds(p.total_price, p.buy_amount, p.sell_amount, places),
            "{case}"
        );
        let fee_places = match terms.fee.asset {
            FeeAsset::Sell => decimals.sell,
            FeeAsset::Buy => decimals.buy,
        };
        match terms.fee.asset {
            FeeAsset::Sell => {
                let net = p.sell_amount.checked_sub(p.fee).expect("fee below sell");
                assert!(holds(p.price, p.buy_amount, net, places), "{case}");
                // The anchor never sells below its price.
                assert!(
                    at_scale(net, 40) >= at_scale(terms.price, 20) * at_scale(p.buy_amount, 20),
                    "{case}"
                );
            }
            FeeAsset::Buy => {
                let gross = p.buy_amount.checked_add(p.fee).expect("gross");
                assert!(holds(p.price, gross, p.sell_amount, places), "{case}");
                assert!(
                    at_scale(p.sell_amount, 40) >= at_scale(terms.price, 20) * at_scale(gross, 20),
                    "{case}"
                );
            }
        }
        // The fee is its terms (the fixed part in its asset's decimals), to within one unit.
        let fixed = terms
            .fee
            .fixed
            .rescale(fee_places, Rounding::HalfUp)
            .expect("fixed");
        let base = match terms.fee.asset {
            FeeAsset::Sell => p.sell_amount,
            FeeAsset::Buy => p.buy_amount.checked_add(p.fee).expect("gross"),
        };
        let scale = 40;
        let expected =
            at_scale(fixed, scale) + at_scale(base, 20) * at_scale(terms.fee.percent, 18);
        let unit = BigInt::from(10).pow(scale - fee_places);
        let off = (at_scale(p.fee, scale) - expected).magnitude().clone();
        assert!(off <= *unit.magnitude(), "{case}");
    }
    assert!(
        priced_count > 10_000,
        "only {priced_count} of 20,000 cases priced"
    );
}
