//! Callback URLs a wallet or sending anchor chooses (SEP-6/24 `on_change_callback`, SEP-24
//! `callback`, SEP-12 and SEP-31 callbacks) and the address guard used before connecting.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mooring::outbound::is_private_literal;
use mooring::sep24::interactive::CallbackTarget;
use mooring::transfer::callback::parse_callback_url;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(url) = parse_callback_url(text) {
        assert!(matches!(url.scheme(), "http" | "https"));
        assert!(url.username().is_empty() && url.password().is_none());
        if let Some(host) = url.host_str() {
            let _ = is_private_literal(host);
        }
    }
    let _ = CallbackTarget::parse(text);
    let _ = is_private_literal(text);
});
