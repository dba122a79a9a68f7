//! SigV4 for the functions' DynamoDB and SQS calls at a fraction of the SDK signer's cost.
//!
//! The SDK's signer derives the signing key (four HMACs) on every call, and builds the canonical
//! request as a header map, a `String` and several more allocations before hashing it. Every call
//! a function makes is the same shape (a JSON `POST /` with the body in memory), so this signer
//! keeps the day's signing key and streams the canonical request straight into the hash. It signs
//! exactly what the SDK's signer signs (the tests hold both to the same bytes) and hands every
//! other shape of call to the SDK's signer: another path or a query, a streamed or overridden
//! payload, presigning, a renamed session token, endpoint-chosen signing names, and every retry
//! (the SDK's clock-skew correction, which only its own signer can read, applies to retries).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_runtime::auth::sigv4::{SigV4Signer, SCHEME_ID};
use aws_runtime::auth::{
    HttpSignatureType, PayloadSigningOverride, SigV4OperationSigningConfig,
    SigV4SessionTokenNameOverride,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::auth::{
    AuthScheme, AuthSchemeEndpointConfig, AuthSchemeId, Sign,
};
use aws_smithy_runtime_api::client::identity::{Identity, SharedIdentityResolver};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::{GetIdentityResolver, RuntimeComponents};
use aws_smithy_types::config_bag::ConfigBag;
use aws_types::region::SigningRegion;
use aws_types::SigningName;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The `sigv4` auth scheme with [`KeyCachingSigner`]: pushed onto a client's configuration, it
/// replaces the SDK's scheme of the same id.
#[derive(Debug, Default)]
pub struct KeyCachingSigV4 {
    signer: KeyCachingSigner,
}

impl AuthScheme for KeyCachingSigV4 {
    fn scheme_id(&self) -> AuthSchemeId {
        SCHEME_ID
    }

    fn identity_resolver(
        &self,
        identity_resolvers: &dyn GetIdentityResolver,
    ) -> Option<SharedIdentityResolver> {
        identity_resolvers.identity_resolver(self.scheme_id())
    }

    fn signer(&self) -> &dyn Sign {
        &self.signer
    }
}

/// Signs plain JSON calls itself with a cached signing key, and everything else with the SDK's
/// signer.
#[derive(Default)]
pub struct KeyCachingSigner {
    sdk: SigV4Signer,
    day_key: Mutex<Option<DayKey>>,
    /// Set at the first retry: from then on the SDK's signer signs every call, so that a clock
    /// skew the SDK has measured keeps being corrected.
    sdk_only: AtomicBool,
}

impl fmt::Debug for KeyCachingSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCachingSigner")
            .field("sdk_only", &self.sdk_only.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The signing key of one (secret, day, region, service), as an HMAC already keyed with it.
struct DayKey {
    secret: Zeroizing<String>,
    date: [u8; 8],
    region: String,
    service: String,
    mac: Hmac<Sha256>,
}

/// What a call needs signed, once it is known to be the plain shape.
struct PlainCall<'a> {
    credentials: &'a Credentials,
    region: &'a str,
    service: &'a str,
    time: SystemTime,
    host: Option<&'a str>,
    body: &'a [u8],
}

impl Sign for KeyCachingSigner {
    fn sign_http_request(
        &self,
        request: &mut HttpRequest,
        identity: &Identity,
        auth_scheme_endpoint_config: AuthSchemeEndpointConfig<'_>,
        runtime_components: &RuntimeComponents,
        config_bag: &ConfigBag,
    ) -> Result<(), BoxError> {
        let plain = self.plain_call(
            request,
            identity,
            &auth_scheme_endpoint_config,
            runtime_components,
            config_bag,
        );
        let Some(headers) = plain.and_then(|call| self.signature_headers(request, &call)) else {
            return self.sdk.sign_http_request(
                request,
                identity,
                auth_scheme_endpoint_config,
                runtime_components,
                config_bag,
            );
        };
        #[cfg(test)]
        tests::SIGNED_HERE.with(|signed| signed.set(signed.get() + 1));
        let request_headers = request.headers_mut();
        for (name, value, sensitive) in headers {
            let mut value = http::HeaderValue::try_from(value)?;
            value.set_sensitive(sensitive);
            request_headers.insert(name, value);
        }
        Ok(())
    }
}

impl KeyCachingSigner {
    /// The headers (name, value, sensitive) that sign a JSON `POST /` sent without the SDK
    /// (`aws::direct`): `headers` are the request's own, `host` among them.
    pub(crate) fn sign_post(
        &self,
        headers: &[(&str, &str)],
        body: &[u8],
        credentials: &Credentials,
        (region, service): (&str, &str),
        time: SystemTime,
    ) -> Option<Vec<(&'static str, String, bool)>> {
        let call = PlainCall {
            credentials,
            region,
            service,
            time,
            host: None,
            body,
        };
        self.sign_headers("POST", headers.iter().copied(), &call)
    }

    /// The call's parts if it is a first attempt of the plain shape this signer signs itself.
    fn plain_call<'a>(
        &self,
        request: &'a HttpRequest,
        identity: &'a Identity,
        endpoint_config: &AuthSchemeEndpointConfig<'_>,
        runtime_components: &RuntimeComponents,
        config_bag: &'a ConfigBag,
    ) -> Option<PlainCall<'a>> {
        if self.sdk_only.load(Ordering::Relaxed) {
            return None;
        }
        if config_bag
            .load::<RequestAttempts>()
            .is_some_and(|attempts| attempts.attempts() > 1)
        {
            self.sdk_only.store(true, Ordering::Relaxed);
            return None;
        }
        let credentials = identity.data::<Credentials>()?;
        let operation = config_bag.load::<SigV4OperationSigningConfig>()?;
        let options = &operation.signing_options;
        let plain_options = !options.content_sha256_header
            && !options.omit_session_token
            && options.payload_override.is_none()
            && options.signature_type == HttpSignatureType::HttpRequestHeaders
            && options.expires_in.is_none();
        if !plain_options
            || endpoint_config.as_document().is_some()
            || config_bag.load::<PayloadSigningOverride>().is_some()
            || config_bag.load::<SigV4SessionTokenNameOverride>().is_some()
            || config_bag
                .load::<aws_runtime::content_encoding::DeferredSignerSender>()
                .is_some()
            || config_bag
                .load::<aws_smithy_types::event_stream::DeferredSignerSender>()
                .is_some()
        {
            return None;
        }
        let region = config_bag
            .load::<SigningRegion>()
            .or(operation.region.as_ref())?;
        let service = config_bag
            .load::<SigningName>()
            .or(operation.name.as_ref())?;
        let host = root_authority(request.uri())?;
        Some(PlainCall {
            credentials,
            region: region.as_ref(),
            service: service.as_ref(),
            time: runtime_components.time_source()?.now(),
            host: request.headers().get("host").is_none().then_some(host),
            body: request.body().bytes()?,
        })
    }

    /// The headers that sign `request` (name, value, sensitive), exactly as the SDK's signer
    /// would compute them; `None` leaves the call to the SDK's signer.
    fn signature_headers(
        &self,
        request: &HttpRequest,
        call: &PlainCall<'_>,
    ) -> Option<Vec<(&'static str, String, bool)>> {
        self.sign_headers(request.method(), request.headers().iter(), call)
    }

    /// The signature headers of a request of `method` with `request_headers` (in order; any
    /// `host` among them, else `call.host`).
    fn sign_headers<'h>(
        &self,
        method: &str,
        request_headers: impl Iterator<Item = (&'h str, &'h str)>,
        call: &PlainCall<'_>,
    ) -> Option<Vec<(&'static str, String, bool)>> {
        let date_time = amz_date_time(call.time)?;
        let date_time = std::str::from_utf8(&date_time).ok()?;
        let date = &date_time[..8];
        let token = call.credentials.session_token();

        // The canonical headers: the request's own (less the ones SigV4 leaves out, and those the
        // signature replaces), the host if the request has none, the date and the session token.
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(request_headers.size_hint().0 + 3);
        for (name, value) in request_headers {
            let replaced = name == X_AMZ_DATE || (token.is_some() && name == X_AMZ_SECURITY_TOKEN);
            if !replaced && !UNSIGNED_HEADERS.contains(&name) {
                headers.push((name, value));
            }
        }
        if let Some(host) = call.host {
            headers.push(("host", host));
        }
        headers.push((X_AMZ_DATE, date_time));
        if let Some(token) = token {
            headers.push((X_AMZ_SECURITY_TOKEN, token));
        }
        // Stable: values of one name keep their order, as the SDK's header map keeps them.
        headers.sort_by(|a, b| a.0.cmp(b.0));

        let mut signed_headers = String::with_capacity(160);
        let mut canonical = Sha256::new();
        canonical.update(method);
        canonical.update(b"\n/\n\n");
        for (index, (name, value)) in headers.iter().enumerate() {
            let same_name_as_previous = index > 0 && headers[index - 1].0 == *name;
            if same_name_as_previous {
                canonical.update(b",");
            } else {
                if index > 0 {
                    canonical.update(b"\n");
                    signed_headers.push(';');
                }
                signed_headers.push_str(name);
                canonical.update(name);
                canonical.update(b":");
            }
            update_with_trimmed(&mut canonical, value);
        }
        canonical.update(b"\n\n");
        canonical.update(&signed_headers);
        canonical.update(b"\n");
        canonical.update(hex_of(&Sha256::digest(call.body)));

        let mut string_to_sign = self.keyed_mac(call, date)?;
        string_to_sign.update(b"AWS4-HMAC-SHA256\n");
        string_to_sign.update(date_time.as_bytes());
        string_to_sign.update(b"\n");
        string_to_sign.update(date.as_bytes());
        string_to_sign.update(b"/");
        string_to_sign.update(call.region.as_bytes());
        string_to_sign.update(b"/");
        string_to_sign.update(call.service.as_bytes());
        string_to_sign.update(b"/aws4_request\n");
        string_to_sign.update(&hex_of(&canonical.finalize()));
        let signature = hex_of(&string_to_sign.finalize().into_bytes());
        let signature = std::str::from_utf8(&signature).ok()?;

        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{date}/{}/{}/aws4_request, SignedHeaders={signed_headers}, Signature={signature}",
            call.credentials.access_key_id(),
            call.region,
            call.service,
        );
        let mut signature_headers = Vec::with_capacity(3);
        signature_headers.push((X_AMZ_DATE, date_time.to_owned(), false));
        signature_headers.push(("authorization", authorization, false));
        if let Some(token) = token {
            signature_headers.push((X_AMZ_SECURITY_TOKEN, token.to_owned(), true));
        }
        Some(signature_headers)
    }

    /// An HMAC keyed with the call's signing key, derived once per secret, day, region and
    /// service.
    fn keyed_mac(&self, call: &PlainCall<'_>, date: &str) -> Option<Hmac<Sha256>> {
        let secret = call.credentials.secret_access_key();
        let mut day_key = self
            .day_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = day_key.as_ref().is_some_and(|key| {
            key.date.as_slice() == date.as_bytes()
                && key.secret.as_str() == secret
                && key.region == call.region
                && key.service == call.service
        });
        if !current {
            let signing_key = aws_sigv4::sign::v4::generate_signing_key(
                secret,
                call.time,
                call.region,
                call.service,
            );
            *day_key = Some(DayKey {
                secret: Zeroizing::new(secret.to_owned()),
                date: date.as_bytes().try_into().ok()?,
                region: call.region.to_owned(),
                service: call.service.to_owned(),
                mac: Hmac::new_from_slice(signing_key.as_ref()).ok()?,
            });
        }
        day_key.as_ref().map(|key| key.mac.clone())
    }
}

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";
/// The headers the SDK's signer leaves out of the signature.
const UNSIGNED_HEADERS: [&str; 4] = [
    "authorization",
    "user-agent",
    "x-amzn-trace-id",
    "transfer-encoding",
];

/// The authority of an `http(s)://authority/` URI, without a port that is its scheme's default
/// (as the SDK's signer writes the host); `None` for any other URI (a path, a query, user info).
pub(super) fn root_authority(uri: &str) -> Option<&str> {
    let (rest, default_port) = if let Some(rest) = uri.strip_prefix("https://") {
        (rest, ":443")
    } else {
        (uri.strip_prefix("http://")?, ":80")
    };
    let authority = rest.strip_suffix('/')?;
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return None;
    }
    Some(authority.strip_suffix(default_port).unwrap_or(authority))
}

/// `YYYYMMDDTHHMMSSZ` (UTC) of `time`; `None` before 1970 or past 9999.
fn amz_date_time(time: SystemTime) -> Option<[u8; 16]> {
    let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
    let millis = i64::try_from(secs).ok()?.checked_mul(1000)?;
    let [year, month, day, hour, minute, second, _] =
        crate::time::Timestamp::from_millis(millis).parts();
    if year > 9999 {
        return None;
    }
    let mut out = *b"00000000T000000Z";
    let mut put = |at: usize, width: usize, mut value: i64| {
        for index in (at..at + width).rev() {
            out[index] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(4, 2, month);
    put(6, 2, day);
    put(9, 2, hour);
    put(11, 2, minute);
    put(13, 2, second);
    Some(out)
}

/// Feeds `value` to the hash as SigV4 canonicalises a header value: spaces trimmed from both
/// ends, and each run of spaces inside cut to one.
fn update_with_trimmed(hash: &mut Sha256, value: &str) {
    let value = value.trim_matches(' ').as_bytes();
    let mut start = 0;
    let mut previous_was_space = false;
    for (index, &byte) in value.iter().enumerate() {
        let space = byte == b' ';
        if space && previous_was_space {
            hash.update(&value[start..index]);
            start = index + 1;
        }
        previous_was_space = space;
    }
    hash.update(&value[start..]);
}

/// Lower-case hex of a 32-byte digest.
fn hex_of(digest: &[u8]) -> [u8; 64] {
    let mut out = [0_u8; 64];
    // A digest is 32 bytes; anything else would have been a bug here, and encodes as zeros.
    let _ = hex::encode_to_slice(digest, &mut out);
    out
}

#[cfg(test)]
mod tests;
