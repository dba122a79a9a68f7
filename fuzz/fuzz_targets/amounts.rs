//! Amounts and decimals a wallet sends (`amount`, `sell_amount`, prices): parsing never panics,
//! a parsed value prints back to itself, and arithmetic on parsed values never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mooring::decimal::{Decimal, Rounding, MAX_SCALE};
use mooring::stellar::Amount;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Two operands: "a|b".
    let (left, right) = text.split_once('|').unwrap_or((text, "1"));
    for max_decimals in [0, 2, 7, MAX_SCALE, u32::MAX] {
        if let Ok(value) = Decimal::parse(left, max_decimals) {
            let again = Decimal::parse(&value.to_string(), max_decimals).expect("prints parsable");
            assert_eq!(again, value, "{left}");
        }
    }
    let (Ok(a), Ok(b)) = (
        Decimal::parse_unbounded(left, MAX_SCALE),
        Decimal::parse_unbounded(right, MAX_SCALE),
    ) else {
        return;
    };
    for rounding in [Rounding::Down, Rounding::Up, Rounding::HalfUp] {
        let _ = a.mul(b, 7, rounding);
        let _ = a.div(b, 7, rounding);
        let _ = a.rescale(7, rounding);
    }
    let _ = a.checked_add(b);
    let _ = a.checked_sub(b);
    let _ = a.percent(b, 7);
    if let Ok(amount) = left.parse::<Amount>() {
        assert_eq!(amount.to_fixed_string().parse::<Amount>(), Ok(amount));
    }
    if let Ok(amount) = Amount::parse_signed(left) {
        let _ = amount.percent(Amount::from_stroops(amount.stroops()));
    }
});
