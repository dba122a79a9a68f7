//! SEP-9 KYC fields as a wallet sends them (SEP-12 `PUT /customer`, SEP-6/24/31 fields): each
//! input line is `name=value`. Validation never panics.
#![no_main]
use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use mooring::sep9;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = sep9::is_iso_date(text);
    let _ = sep9::is_e164(text);
    let _ = sep9::is_email(text);
    let _ = sep9::lookup(text);
    let fields: BTreeMap<String, String> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let _ = sep9::validate(&fields);
});
