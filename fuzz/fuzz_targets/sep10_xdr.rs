//! The challenge XDR of `POST /auth`: the input is the raw envelope (the fuzzer mutates XDR,
//! not base64), verified through the whole SEP-10 checklist. A token only for a challenge this
//! server issued and the client signed; otherwise a refusal, never a panic.
#![no_main]
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use mooring::sep10::Sep10Error;
use mooring::stellar::decode_envelope;
use mooring_fuzz::{runtime, web_auth};

/// The seeds must stay challenges this server accepts, or the fuzzer never reaches the
/// signature and account checks: checked once at start (`fuzz/seeds.py` writes them again).
fn seeds_are_accepted() {
    for seed in [
        &include_bytes!("../corpus/sep10_xdr/seed-1")[..],
        &include_bytes!("../corpus/sep10_xdr/seed-2")[..],
        &include_bytes!("../corpus/sep10_xdr/seed-3")[..],
    ] {
        let auth = web_auth();
        if let Err(error) = runtime().block_on(auth.token(&BASE64.encode(seed))) {
            panic!("a seed challenge is refused ({error}): run fuzz/seeds.py again");
        }
    }
}

fuzz_target!(init: seeds_are_accepted(), |data: &[u8]| {
    let transaction = BASE64.encode(data);
    let _ = decode_envelope(&transaction);
    let auth = web_auth();
    match runtime().block_on(auth.token(&transaction)) {
        Ok(_) => {}
        Err(Sep10Error::Internal(cause)) => panic!("internal error on client input: {cause}"),
        Err(_) => {}
    }
});
