//! `POST /auth` as a wallet sends it: any body (JSON, form, or undeclared) through the SEP-10
//! handler. The answer is a 200 with a token or a 4xx `{"error"}`, never a 5xx or a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mooring::sep10::routes;
use mooring_fuzz::{runtime, web_auth};

const CONTENT_TYPES: [Option<&str>; 3] = [
    None,
    Some("application/json"),
    Some("application/x-www-form-urlencoded"),
];

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let mut request = http::Request::builder().method("POST").uri("/auth");
    if let Some(content_type) = CONTENT_TYPES[usize::from(*selector) % CONTENT_TYPES.len()] {
        request = request.header("content-type", content_type);
    }
    let Ok(request) = request.body(body.to_vec()) else {
        return;
    };
    let auth = web_auth();
    let response = runtime().block_on(routes::handle(&auth, &request));
    let status = response.status();
    assert!(
        status == 200 || status.is_client_error(),
        "{status}: {}",
        response.body()
    );
    if status != 200 {
        assert!(
            response.body().starts_with("{\"error\":"),
            "{}",
            response.body()
        );
    }
});
