//! Query strings of every GET endpoint: the URI as the gateway hands it over, its parameters,
//! query parameters merged into body parameters, and RFC 3339 times (`no_older_than`). Never
//! a panic; a refusal is a 4xx.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mooring::http::body::{add_query_params, query_params, Params};

fuzz_target!(|data: &[u8]| {
    if let Err(error) = Params::from_urlencoded(data) {
        assert!(error.status().is_client_error(), "{error}");
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `no_older_than` and other times a wallet sends.
    let _ = mooring::time::Timestamp::parse_rfc3339(text);
    let Ok(uri) = format!("/transactions?{text}").parse::<http::Uri>() else {
        return;
    };
    match query_params(&uri) {
        Ok(params) => {
            let mut merged = params.into_map();
            let _ = add_query_params(&mut merged, &uri, |name| name == "photo_id_front");
        }
        Err(error) => assert!(error.status().is_client_error(), "{error}"),
    }
});
