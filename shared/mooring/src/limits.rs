//! Every bound on what an outsider sends, in one place: a request over a bound is refused with a
//! 4xx `{"error": ...}` before anything else reads it (README, "Limits"). The modules that
//! enforce a bound name it from here, so the numbers are documented and changed once.

use crate::error::ApiError;

/// A JSON or form-encoded body (text fields only; SEP-6/12/24/31/38 APIs): 413 above.
pub const MAX_FORM_BYTES: usize = 256 * 1024;
/// A SEP-24 interactive page's form post: 413 above.
pub const MAX_PAGE_FORM_BYTES: usize = 64 * 1024;
/// `POST /auth`: a signed challenge is 1-3 KiB, anything much larger is not one: 413 above.
pub const MAX_AUTH_BODY_BYTES: usize = 64 * 1024;
/// A `multipart/form-data` body (SEP-12, SEP-24 with files); API Gateway's own cap is 10 MB.
pub const MAX_MULTIPART_BYTES: usize = 10 * 1024 * 1024;
/// One file (a binary SEP-9 field).
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// Parts of one multipart body, files and text fields together. Each binary SEP-9 field may
/// appear once, so a request carries at most one file per binary field.
pub const MAX_MULTIPART_PARTS: usize = 100;

/// Parameters of one query string or body.
pub const MAX_PARAMS: usize = 200;
/// A parameter's name (the longest SEP-9 name is under 50 bytes).
pub const MAX_PARAM_NAME_BYTES: usize = 128;
/// Any one parameter's value, whatever it is: the backstop under the tighter bounds below. A
/// SEP-10 challenge with 20 signatures is under 3 KiB of base64.
pub const MAX_PARAM_BYTES: usize = 4 * 1024;
/// A text field's value (SEP-9 values, memos, names, reasons, ...).
pub const MAX_TEXT_BYTES: usize = 1024;
/// A URL a client gives (callbacks, the SEP-12 callback `url`).
pub const MAX_URL_BYTES: usize = 2048;
/// A transaction or quote id a client names; a longer one is not found (404), never looked up.
pub const MAX_ID_BYTES: usize = 256;
/// A field of a SEP-24 interactive form, in characters (the page shows the message).
pub const MAX_PAGE_VALUE_CHARS: usize = 1_000;

/// A decoded transaction envelope (XDR), and how deeply its values may nest.
pub const MAX_XDR_BYTES: usize = 64 * 1024;
pub const MAX_XDR_DEPTH: u32 = 64;
/// A client domain's stellar.toml (SEP-1 caps it at 100 KB).
pub const MAX_STELLAR_TOML_BYTES: usize = 100 * 1024;

/// Transactions in one listing (`limit`; a larger `limit` is served as this many, as SEP-6/24
/// allow; a `limit` that is not a positive integer is a 400).
pub const MAX_LIST_LIMIT: usize = 200;

/// Amounts: at most Stellar's largest amount, with at most the asset's significant decimals
/// (and never more than 7); both are checked where an amount is parsed ([`crate::decimal`],
/// [`crate::stellar::Amount`]).
pub use crate::decimal::{MAX_AMOUNT, MAX_SCALE};

/// `SEP10_CHALLENGE_TTL_SECONDS`: how long a challenge may be answered (SEP-10 suggests 15
/// minutes; the default).
pub const MAX_CHALLENGE_TTL_SECONDS: u64 = 3_600;
/// `SEP10_JWT_TTL_SECONDS`: how long a SEP-10 token is good for (default a day).
pub const MAX_JWT_TTL_SECONDS: u64 = 7 * 86_400;

// The bounds agree, checked when the crate compiles: every file fits in a multipart body,
// every text bound under the backstop, a challenge's base64 (even form-encoded) under its body
// limit.
const _: () = {
    assert!(MAX_FILE_BYTES < MAX_MULTIPART_BYTES);
    assert!(MAX_TEXT_BYTES <= MAX_PARAM_BYTES && MAX_URL_BYTES <= MAX_PARAM_BYTES);
    assert!(MAX_ID_BYTES <= MAX_TEXT_BYTES);
    assert!(MAX_PARAM_BYTES * 3 <= MAX_AUTH_BODY_BYTES);
    assert!(MAX_PARAM_BYTES <= MAX_XDR_BYTES);
};

/// Checks one request parameter against [`MAX_PARAM_NAME_BYTES`] and [`MAX_PARAM_BYTES`].
pub fn check_param(name: &str, value: &str) -> Result<(), ApiError> {
    if name.len() > MAX_PARAM_NAME_BYTES {
        return Err(ApiError::bad_request(format!(
            "a parameter name may be at most {MAX_PARAM_NAME_BYTES} bytes"
        )));
    }
    if value.len() > MAX_PARAM_BYTES {
        return Err(ApiError::bad_request(format!(
            "'{name}' is longer than {MAX_PARAM_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Checks the number of parameters against [`MAX_PARAMS`].
pub fn check_param_count(count: usize) -> Result<(), ApiError> {
    if count > MAX_PARAMS {
        return Err(ApiError::bad_request(format!(
            "a request may have at most {MAX_PARAMS} parameters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_bounded() {
        assert!(check_param("memo", &"9".repeat(MAX_PARAM_BYTES)).is_ok());
        let long = check_param("memo", &"9".repeat(MAX_PARAM_BYTES + 1)).unwrap_err();
        assert_eq!(long.status(), 400);
        assert_eq!(long.to_string(), "'memo' is longer than 4096 bytes");
        let name = "n".repeat(MAX_PARAM_NAME_BYTES + 1);
        let long_name = check_param(&name, "1").unwrap_err();
        assert_eq!(long_name.status(), 400);
        assert!(!long_name.to_string().contains(&name));
        assert!(check_param_count(MAX_PARAMS).is_ok());
        assert_eq!(check_param_count(MAX_PARAMS + 1).unwrap_err().status(), 400);
    }
}
