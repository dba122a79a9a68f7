//! SEP-12 `multipart/form-data` bodies: the first line of the input is the Content-Type (so
//! the boundary is fuzzed too), the rest the body. Never a panic; a refusal is a 4xx; the
//! limits hold for what is accepted.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mooring::http::multipart::{parse, Limits};
use mooring_fuzz::runtime;

const LIMITS: Limits = Limits {
    max_part: 256,
    max_body: 4096,
    max_parts: 8,
};

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|b| *b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (&b"multipart/form-data; boundary=X"[..], data),
    };
    let Ok(content_type) = std::str::from_utf8(content_type) else {
        return;
    };
    let result = runtime().block_on(parse(content_type, body, LIMITS, |name| {
        mooring::sep9::is_binary(name)
    }));
    match result {
        Ok(form) => {
            assert!(form.params.len() + form.uploads.len() <= LIMITS.max_parts);
            assert!(form
                .uploads
                .iter()
                .all(|u| u.bytes.len() <= LIMITS.max_part));
        }
        Err(error) => assert!(error.status().is_client_error(), "{error}"),
    }
});
