//! An asset direction's limits and fees as `/info` shows them (SEP-6 and SEP-24): JSON numbers.

use serde_json::{Map, Number, Value};

use crate::config::TransferLimits;
use crate::stellar::Amount;

/// One asset's entry for one direction: `{"enabled": false}` when it is not offered.
pub fn entry(limits: Option<&TransferLimits>) -> Value {
    let mut entry = Map::new();
    let limits = limits.filter(|l| l.enabled);
    entry.insert("enabled".into(), Value::Bool(limits.is_some()));
    if let Some(limits) = limits {
        for (key, value) in [
            ("min_amount", limits.min_amount),
            ("max_amount", limits.max_amount),
            ("fee_fixed", limits.fee_fixed),
            ("fee_percent", limits.fee_percent),
            ("fee_minimum", limits.fee_minimum),
        ] {
            if let Some(value) = value {
                entry.insert(key.into(), number(value));
            }
        }
    }
    Value::Object(entry)
}

/// An amount as a JSON number (`/info` and `/fee` show numbers): an integer when whole, else
/// the nearest double of its decimal, which prints as that decimal.
pub fn number(amount: Amount) -> Value {
    const UNIT: i64 = 10_000_000;
    if amount.stroops() % UNIT == 0 {
        return Value::Number(Number::from(amount.stroops() / UNIT));
    }
    amount
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}
