//! JSON and form-encoded request bodies (`body_params`), under each content type a client may
//! declare: parsing never panics and a refusal is always a 4xx.
#![no_main]
use http::header::{HeaderValue, CONTENT_TYPE};
use http::HeaderMap;
use libfuzzer_sys::fuzz_target;
use mooring::http::body::{body_params, MAX_FORM_BYTES};

const CONTENT_TYPES: [Option<&str>; 5] = [
    None,
    Some("application/json"),
    Some("application/x-www-form-urlencoded"),
    Some("text/plain"),
    Some("application/json; charset=utf-8"),
];

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let mut headers = HeaderMap::new();
    if let Some(content_type) = CONTENT_TYPES[usize::from(*selector) % CONTENT_TYPES.len()] {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    match body_params(&headers, body, MAX_FORM_BYTES) {
        Ok(params) => {
            for name in params.names() {
                let _ = params.require(name);
            }
            let _ = params.into_map();
        }
        Err(error) => assert!(error.status().is_client_error(), "{error}"),
    }
});
