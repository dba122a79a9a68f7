//! Identifiers a wallet sends as strings: accounts (G...), muxed accounts (M...), memos with
//! their type, assets (`CODE:ISSUER`, `native`), secret seeds in settings.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mooring::stellar::{AccountId, Asset, Keypair, Memo, MuxedAccount};

const MEMO_TYPES: [Option<&str>; 5] =
    [None, Some("id"), Some("text"), Some("hash"), Some("return")];

fuzz_target!(|data: &[u8]| {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(account) = text.parse::<AccountId>() {
        assert_eq!(account.to_string().parse::<AccountId>().ok(), Some(account));
    }
    if let Ok(muxed) = text.parse::<MuxedAccount>() {
        assert_eq!(muxed.to_string().parse::<MuxedAccount>().ok(), Some(muxed));
    }
    let _ = Keypair::from_secret_seed(text);
    let _ = Memo::parse_id(text);
    if let Ok(memo) = Memo::from_sep(
        MEMO_TYPES[usize::from(*selector) % MEMO_TYPES.len()],
        Some(text),
    ) {
        let _ = memo.to_xdr();
        let _ = memo.value();
    }
    if let Ok(asset) = text.parse::<Asset>() {
        let _ = asset.to_xdr();
        let _ = asset.sep38_id();
    }
});
