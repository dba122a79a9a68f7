//! Exact non-negative decimals for amounts and prices in any asset's decimals (SEP-38): an integer number of units of
//! `10^-scale`, never a float. Amounts are bounded by Stellar's largest amount, so every product
//! and quotient the pricing needs stays inside `u128`.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The most fractional digits a decimal carries (prices use [`PRICE_SCALE`]).
pub const MAX_SCALE: u32 = 24;

/// The largest amount a quote takes or gives: Stellar's largest amount, 922,337,203,685.4775807.
pub const MAX_AMOUNT: Decimal = Decimal {
    units: i64::MAX as u128,
    scale: 7,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("'{0}' is not a decimal number")]
    NotANumber(String),
    #[error("'{value}' has more than {decimals} decimal places")]
    TooPrecise { value: String, decimals: u32 },
    #[error("'{0}' is too large")]
    TooLarge(String),
}

/// `units / 10^scale`.
#[derive(Clone, Copy)]
pub struct Decimal {
    units: u128,
    scale: u32,
}

/// How a result with more digits than its scale is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Towards zero: what the anchor gives never exceeds what it priced.
    Down,
    /// Away from zero: what the user pays never falls short.
    Up,
    /// To the nearest, ties away from zero (fees, prices).
    HalfUp,
}

impl Decimal {
    pub const ZERO: Decimal = Decimal { units: 0, scale: 0 };

    pub const fn new(units: u128, scale: u32) -> Self {
        Self { units, scale }
    }

    pub const fn units(self) -> u128 {
        self.units
    }

    pub const fn scale(self) -> u32 {
        self.scale
    }

    pub const fn is_zero(self) -> bool {
        self.units == 0
    }

    /// Parses a plain decimal (`12`, `0.5`, `100.25`: no sign, exponent or spaces) with at most
    /// `max_decimals` significant decimal places, no larger than [`MAX_AMOUNT`]: an amount.
    pub fn parse(text: &str, max_decimals: u32) -> Result<Self, DecimalError> {
        let value = Self::parse_unbounded(text, max_decimals)?;
        if value > MAX_AMOUNT {
            return Err(DecimalError::TooLarge(text.to_owned()));
        }
        Ok(value)
    }

    /// [`Decimal::parse`] without the amount bound (a price, a stored value), up to 38 digits.
    pub fn parse_unbounded(text: &str, max_decimals: u32) -> Result<Self, DecimalError> {
        let not_a_number = || DecimalError::NotANumber(text.to_owned());
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || text.ends_with('.') {
            return Err(not_a_number());
        }
        let fraction = fraction.trim_end_matches('0');
        let scale = u32::try_from(fraction.len()).map_err(|_| not_a_number())?;
        if scale > max_decimals.min(MAX_SCALE) {
            return Err(DecimalError::TooPrecise {
                value: text.to_owned(),
                decimals: max_decimals.min(MAX_SCALE),
            });
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() + fraction.len() > 38 {
            return Err(DecimalError::TooLarge(text.to_owned()));
        }
        let mut units: u128 = 0;
        for byte in whole.bytes().chain(fraction.bytes()) {
            units = units * 10 + u128::from(byte - b'0');
        }
        Ok(Decimal { units, scale })
    }

    /// The same value with `scale` decimal places, rounded as `rounding` says when that drops
    /// digits; `None` if it does not fit.
    pub fn rescale(self, scale: u32, rounding: Rounding) -> Option<Decimal> {
        if scale >= self.scale {
            let units = self.units.checked_mul(pow10(scale - self.scale)?)?;
            return Some(Decimal { units, scale });
        }
        let units = divide_rounded(self.units, pow10(self.scale - scale)?, rounding)?;
        Some(Decimal { units, scale })
    }

    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        let (a, b) = (
            self.rescale(scale, Rounding::Down)?,
            other.rescale(scale, Rounding::Down)?,
        );
        Some(Decimal {
            units: a.units.checked_add(b.units)?,
            scale,
        })
    }

    /// `self - other`; `None` below zero.
    pub fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        let (a, b) = (
            self.rescale(scale, Rounding::Down)?,
            other.rescale(scale, Rounding::Down)?,
        );
        Some(Decimal {
            units: a.units.checked_sub(b.units)?,
            scale,
        })
    }

    /// `self × other` to `scale` places.
    pub fn mul(self, other: Decimal, scale: u32, rounding: Rounding) -> Option<Decimal> {
        let exact = Decimal {
            units: self.units.checked_mul(other.units)?,
            scale: self.scale + other.scale,
        };
        exact.rescale(scale, rounding)
    }

    /// `self / other` to `scale` places; `None` for a zero divisor or a result that does not fit.
    pub fn div(self, other: Decimal, scale: u32, rounding: Rounding) -> Option<Decimal> {
        if other.units == 0 {
            return None;
        }
        // units = self.units × 10^(scale + other.scale - self.scale) / other.units
        let shift = i64::from(scale) + i64::from(other.scale) - i64::from(self.scale);
        let units = if shift >= 0 {
            long_division(
                self.units,
                other.units,
                u32::try_from(shift).ok()?,
                rounding,
            )?
        } else {
            let divisor = other
                .units
                .checked_mul(pow10(u32::try_from(-shift).ok()?)?)?;
            divide_rounded(self.units, divisor, rounding)?
        };
        Some(Decimal { units, scale })
    }

    /// `self × percent / 100` to `scale` places, rounded half up (once, from the exact product).
    pub fn percent(self, percent: Decimal, scale: u32) -> Option<Decimal> {
        let exact = Decimal {
            units: self.units.checked_mul(percent.units)?,
            scale: self.scale + percent.scale + 2,
        };
        exact.rescale(scale, Rounding::HalfUp)
    }
}

/// `10^exponent`, if it fits.
fn pow10(exponent: u32) -> Option<u128> {
    10_u128.checked_pow(exponent)
}

/// `numerator / divisor`, rounded.
fn divide_rounded(numerator: u128, divisor: u128, rounding: Rounding) -> Option<u128> {
    let (quotient, remainder) = (numerator / divisor, numerator % divisor);
    round_up_if(quotient, remainder, divisor, rounding)
}

/// `numerator × 10^digits / divisor`, rounded, one decimal digit at a time so that nothing but
/// the result has to fit.
fn long_division(numerator: u128, divisor: u128, digits: u32, rounding: Rounding) -> Option<u128> {
    let (mut quotient, mut remainder) = (numerator / divisor, numerator % divisor);
    for _ in 0..digits {
        // remainder < divisor, and divisor × 10 fits whenever the quotient below does.
        let widened = remainder.checked_mul(10)?;
        quotient = quotient.checked_mul(10)?.checked_add(widened / divisor)?;
        remainder = widened % divisor;
    }
    round_up_if(quotient, remainder, divisor, rounding)
}

fn round_up_if(quotient: u128, remainder: u128, divisor: u128, rounding: Rounding) -> Option<u128> {
    let up = match rounding {
        Rounding::Down => false,
        Rounding::Up => remainder > 0,
        // remainder ≥ divisor / 2, without overflowing: remainder ≥ divisor - remainder.
        Rounding::HalfUp => remainder >= divisor - remainder,
    };
    if up {
        quotient.checked_add(1)
    } else {
        Some(quotient)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        // Compare whole parts, then the fractions at a common scale (both fit: scales ≤ 38).
        let whole = |d: &Decimal| pow10(d.scale).map_or(0, |p| d.units / p);
        let fraction = |d: &Decimal, scale: u32| {
            let p = pow10(d.scale).unwrap_or(1);
            (d.units % p) * pow10(scale - d.scale).unwrap_or(0)
        };
        let scale = self.scale.max(other.scale);
        whole(self)
            .cmp(&whole(other))
            .then_with(|| fraction(self, scale).cmp(&fraction(other, scale)))
    }
}

/// The shortest form: no trailing zeros (`500`, `92.25`, `0.18`).
impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(divisor) = pow10(self.scale) else {
            return f.write_str("0");
        };
        let (whole, fraction) = (self.units / divisor, self.units % divisor);
        write!(f, "{whole}")?;
        if fraction > 0 {
            let digits = format!("{fraction:0width$}", width = self.scale as usize);
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

/// As a JSON string in its shortest form, as the SEPs write amounts.
impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Decimal::parse_unbounded(&text, MAX_SCALE).map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text, MAX_SCALE).expect("decimal")
    }

    #[test]
    fn parses_plain_decimals_and_refuses_everything_else() {
        assert_eq!(d("0").to_string(), "0");
        assert_eq!(d("007.250").to_string(), "7.25");
        assert_eq!(d("100").to_string(), "100");
        assert_eq!(d("922337203685.4775807"), MAX_AMOUNT);
        for bad in [
            "", ".5", "5.", "-1", "+1", "1e5", " 1", "1 ", "1,5", "0x10", "1.2.3", "NaN", "٣",
        ] {
            assert!(
                matches!(Decimal::parse(bad, 7), Err(DecimalError::NotANumber(_))),
                "{bad:?}"
            );
        }
        for big in [
            "922337203685.4775808",
            "1000000000000",
            "99999999999999999999999999999",
        ] {
            assert!(
                matches!(Decimal::parse(big, 7), Err(DecimalError::TooLarge(_))),
                "{big}"
            );
        }
        assert!(matches!(
            Decimal::parse("1.001", 2),
            Err(DecimalError::TooPrecise { decimals: 2, .. })
        ));
        assert_eq!(
            Decimal::parse("1.0100", 2).expect("trailing zeros are fine"),
            d("1.01")
        );
    }

    #[test]
    fn rounds_as_asked() {
        let third = d("1").div(d("3"), 4, Rounding::Down).expect("1/3");
        assert_eq!(third.to_string(), "0.3333");
        assert_eq!(
            d("2")
                .div(d("3"), 4, Rounding::HalfUp)
                .expect("2/3")
                .to_string(),
            "0.6667"
        );
        assert_eq!(
            d("1")
                .div(d("3"), 4, Rounding::Up)
                .expect("1/3")
                .to_string(),
            "0.3334"
        );
        assert_eq!(
            d("0.125")
                .rescale(2, Rounding::HalfUp)
                .expect("r")
                .to_string(),
            "0.13"
        );
        assert_eq!(
            d("0.125")
                .rescale(2, Rounding::Down)
                .expect("r")
                .to_string(),
            "0.12"
        );
        assert_eq!(d("100").percent(d("0.5"), 2).expect("%").to_string(), "0.5");
        assert_eq!(
            d("0.01").percent(d("50"), 2).expect("%").to_string(),
            "0.01"
        );
        assert_eq!(d("5").div(d("0"), 2, Rounding::Down), None);
        // A quotient with many more digits than fit at once.
        let tiny = d("0.0000001");
        let huge = MAX_AMOUNT.div(tiny, 7, Rounding::Down).expect("fits");
        assert_eq!(huge.to_string(), "9223372036854775807");
    }

    #[test]
    fn compares_across_scales() {
        assert_eq!(d("1.50"), d("1.5"));
        assert!(d("1.5") < d("1.51"));
        assert!(d("2") > d("1.9999999"));
        assert_eq!(
            d("1.2").checked_sub(d("0.25")).expect("sub").to_string(),
            "0.95"
        );
        assert_eq!(d("0.25").checked_sub(d("1.2")), None);
        assert_eq!(
            d("1.2").checked_add(d("0.25")).expect("add").to_string(),
            "1.45"
        );
    }
}
