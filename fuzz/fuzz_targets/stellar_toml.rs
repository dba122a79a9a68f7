//! A client domain's stellar.toml, fetched from a host the wallet names (SEP-10
//! client_domain): any bytes are an error or a key, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mooring::sep10::signing_key_from_toml;

fuzz_target!(|data: &[u8]| {
    let _ = signing_key_from_toml(data);
});
