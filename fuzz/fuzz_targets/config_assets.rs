//! The operator's asset configuration (`ASSETS`: JSON with a TOML table per asset) read at cold
//! start, and the stellar.toml rendered from it: a bad setting is a clear error, never a panic.
//! The input's first line is `NAME=value` of one more setting (TTLs, URLs, domains).
#![no_main]
use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use mooring::config::{AnchorConfig, Sep10Config};
use mooring::integrations::TomlIntegration;
use mooring::sep1::StellarToml;

struct NoExtras;
impl TomlIntegration for NoExtras {}

const SEED: &str = "SBGWSG6BTNCKCOB3DIFBGCVMUPQFYPA2G4O34RMTB343OYPXU5DJDVMN";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (setting, assets) = text.split_once('\n').unwrap_or(("", text));
    let mut env: BTreeMap<String, String> = [
        ("HOME_DOMAINS", "example.com"),
        ("PUBLIC_URL", "https://anchor.example.com"),
        ("NETWORK_PASSPHRASE", "Test SDF Network ; September 2015"),
        ("SIGNING_SEED", SEED),
        ("JWT_SECRET", "fuzz-secret-fuzz-secret-fuzz-secret!"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.insert("ASSETS".into(), assets.to_owned());
    if let Some((name, value)) = setting.split_once('=') {
        env.insert(name.to_owned(), value.to_owned());
    }
    let Ok(anchor) = AnchorConfig::from_source(&env) else {
        return;
    };
    let _ = Sep10Config::from_source(&env, &anchor);
    let _ = StellarToml::new(&anchor, &NoExtras);
});
