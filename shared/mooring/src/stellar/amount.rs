use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const SCALE: i64 = 10_000_000;
const DECIMALS: usize = 7;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("'{0}' is not a decimal amount with at most 7 decimal places")]
    Invalid(String),
    #[error("amount '{0}' is too large")]
    TooLarge(String),
    #[error("amount must not be negative")]
    Negative,
}

/// An exact decimal with Stellar's 7 decimal places, held as an integer number of stroops
/// (1 unit = 10 000 000 stroops). Never a float.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i64);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub const fn from_stroops(stroops: i64) -> Self {
        Self(stroops)
    }

    pub const fn stroops(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// `self × percent / 100`, rounded half up to the nearest stroop (for `fee_percent`).
    pub fn percent(self, percent: Amount) -> Option<Amount> {
        let product = i128::from(self.0) * i128::from(percent.0);
        let divisor = i128::from(SCALE) * 100;
        let rounded = (product + divisor / 2).div_euclid(divisor);
        i64::try_from(rounded).ok().map(Amount)
    }

    /// The fixed 7-place form Horizon uses (`"10.0000000"`).
    pub fn to_fixed_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:07}", abs / SCALE as u64, abs % SCALE as u64)
    }

    /// Parses a possibly negative decimal (signed values appear in balances deltas and config).
    pub fn parse_signed(s: &str) -> Result<Self, AmountError> {
        match s.strip_prefix('-') {
            Some(rest) => rest.parse::<Amount>().map(|a| Amount(-a.0)),
            None => s.parse(),
        }
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Accepts `123`, `123.4`, `0.0000001`; rejects signs, exponents, spaces, `.5`, `5.` and
    /// more than 7 decimal places.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || AmountError::Invalid(s.chars().take(40).collect());
        if s.starts_with('-') {
            return Err(AmountError::Negative);
        }
        let (whole, fraction) = match s.split_once('.') {
            Some((w, f)) if !f.is_empty() => (w, f),
            Some(_) => return Err(invalid()),
            None => (s, ""),
        };
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > DECIMALS {
            return Err(invalid());
        }
        let too_large = || AmountError::TooLarge(s.chars().take(40).collect());
        let whole: i64 = whole.parse().map_err(|_| too_large())?;
        let mut frac: i64 = 0;
        for (i, b) in fraction.bytes().enumerate() {
            frac += i64::from(b - b'0') * 10i64.pow((DECIMALS - 1 - i) as u32);
        }
        whole
            .checked_mul(SCALE)
            .and_then(|w| w.checked_add(frac))
            .map(Amount)
            .ok_or_else(too_large)
    }
}

impl fmt::Display for Amount {
    /// The shortest exact form: `18.34`, `100`, `0.0000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fixed = self.to_fixed_string();
        let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
        f.write_str(trimmed)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({self})")
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    /// Accepts a decimal string or a JSON number (configuration files carry numbers).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal amount with at most 7 decimal places")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                Amount::parse_signed(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Amount, E> {
                i64::try_from(v)
                    .ok()
                    .and_then(|v| v.checked_mul(SCALE))
                    .map(Amount)
                    .ok_or_else(|| E::custom("amount is too large"))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Amount, E> {
                v.checked_mul(SCALE)
                    .map(Amount)
                    .ok_or_else(|| E::custom("amount is too large"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Amount, E> {
                // The shortest representation of a JSON number reproduces its literal text.
                Amount::parse_signed(&v.to_string()).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        let cases = [
            ("0", 0, "0"),
            ("18.34", 183_400_000, "18.34"),
            ("0.0000001", 1, "0.0000001"),
            ("100", 1_000_000_000, "100"),
            ("922337203685.4775807", i64::MAX, "922337203685.4775807"),
        ];
        for (input, stroops, display) in cases {
            let amount: Amount = input.parse().unwrap();
            assert_eq!(amount.stroops(), stroops, "{input}");
            assert_eq!(amount.to_string(), display);
        }
        assert_eq!(
            Amount::from_stroops(100_000_000).to_fixed_string(),
            "10.0000000"
        );
    }

    #[test]
    fn rejects_inexact_or_malformed_amounts() {
        for bad in [
            "",
            ".5",
            "5.",
            "1.00000001",
            "1e5",
            " 1",
            "1,5",
            "0x10",
            "+1",
            "NaN",
            "1.2.3",
        ] {
            assert!(bad.parse::<Amount>().is_err(), "{bad:?}");
        }
        assert_eq!("-1".parse::<Amount>(), Err(AmountError::Negative));
        assert!(matches!(
            "922337203685.4775808".parse::<Amount>(),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn percent_rounds_half_up_to_a_stroop() {
        let amount: Amount = "100".parse().unwrap();
        assert_eq!(
            amount.percent("1.5".parse().unwrap()).unwrap().to_string(),
            "1.5"
        );
        let tiny: Amount = "0.0000001".parse().unwrap();
        assert_eq!(tiny.percent("50".parse().unwrap()).unwrap().stroops(), 1);
        assert_eq!(tiny.percent("49".parse().unwrap()).unwrap().stroops(), 0);
    }

    #[test]
    fn deserializes_numbers_and_strings() {
        let v: Vec<Amount> = serde_json::from_str(r#"[1, 0.1, "2.5", 1000000]"#).unwrap();
        assert_eq!(
            v.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["1", "0.1", "2.5", "1000000"]
        );
        assert!(serde_json::from_str::<Amount>("0.00000001").is_err());
    }
}
