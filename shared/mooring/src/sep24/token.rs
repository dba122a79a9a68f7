//! The credentials of the interactive flow. A wallet cannot add headers to the page it opens,
//! so the URL it gets carries a short-lived token bound to one transaction; the page exchanges it
//! (once: the caller records its hash with `ChallengeStore::consume`) for a session cookie bound
//! to the same transaction, and every form carries a CSRF token derived from the session.
//!
//! All three are HMAC-SHA256 under keys derived from `JWT_SECRET` with distinct labels, so a
//! value of one kind is never accepted as another, nor as a SEP-10 token.
//!
//! Formats (base64url without padding):
//! - link token: `<expires unix secs>.<nonce>.<mac(transaction id, expiry, nonce)>`;
//! - session: `<transaction id>.<expires unix secs>.<nonce>.<mac(...)>`;
//! - CSRF token: `mac(session nonce)`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "sep24_session";

const NONCE_BYTES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the link is not valid")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

/// A verified session: the transaction it is bound to and its CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub transaction_id: String,
    pub expires_at: u64,
    csrf: String,
}

impl Session {
    /// The token every form of this session must send back (`csrf_token`).
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }

    /// Whether a submitted CSRF token is this session's (constant time).
    pub fn accepts_csrf(&self, submitted: &str) -> bool {
        constant_time_eq(self.csrf.as_bytes(), submitted.as_bytes())
    }
}

/// A new session: the cookie value to set and the session it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub cookie_value: String,
    pub session: Session,
}

/// The keys of the interactive flow, derived once per cold start.
pub struct InteractiveKeys {
    link: [u8; 32],
    session: [u8; 32],
    csrf: [u8; 32],
}

impl InteractiveKeys {
    pub fn new(jwt_secret: &Secret) -> Self {
        let derive = |label: &str| -> [u8; 32] {
            let mut mac = keyed(jwt_secret.expose().as_bytes());
            mac.update(label.as_bytes());
            mac.finalize().into_bytes().into()
        };
        Self {
            link: derive("mooring sep24 interactive link v1"),
            session: derive("mooring sep24 session v1"),
            csrf: derive("mooring sep24 csrf v1"),
        }
    }

    /// A link token for `transaction_id`, valid until `expires_at` (unix seconds).
    pub fn issue_link_token(&self, transaction_id: &str, expires_at: u64) -> String {
        let nonce = URL_SAFE_NO_PAD.encode(random_nonce());
        let mac = self.link_mac(transaction_id, expires_at, &nonce);
        format!("{expires_at}.{nonce}.{mac}")
    }

    /// Checks a link token against the transaction it must be bound to; returns its expiry
    /// (the caller keeps its hash until then, to refuse a second use).
    pub fn verify_link_token(
        &self,
        transaction_id: &str,
        token: &str,
        now: u64,
    ) -> Result<u64, TokenError> {
        let mut parts = token.split('.');
        let (Some(expires), Some(nonce), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid);
        };
        let expires_at: u64 = expires.parse().map_err(|_| TokenError::Invalid)?;
        let expected = self.link_mac(transaction_id, expires_at, nonce);
        if !constant_time_eq(expected.as_bytes(), mac.as_bytes()) {
            return Err(TokenError::Invalid);
        }
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok(expires_at)
    }

    /// A session bound to `transaction_id` until `expires_at`.
    pub fn issue_session(&self, transaction_id: &str, expires_at: u64) -> NewSession {
        let nonce = URL_SAFE_NO_PAD.encode(random_nonce());
        let mac = self.session_mac(transaction_id, expires_at, &nonce);
        NewSession {
            cookie_value: format!("{transaction_id}.{expires_at}.{nonce}.{mac}"),
            session: Session {
                transaction_id: transaction_id.to_owned(),
                expires_at,
                csrf: self.csrf_for(&nonce),
            },
        }
    }

    /// The session of a cookie value, if it is genuine, unexpired and bound to `transaction_id`.
    pub fn verify_session(
        &self,
        cookie_value: &str,
        transaction_id: &str,
        now: u64,
    ) -> Result<Session, TokenError> {
        let mut parts = cookie_value.split('.');
        let (Some(id), Some(expires), Some(nonce), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(TokenError::Invalid);
        };
        let expires_at: u64 = expires.parse().map_err(|_| TokenError::Invalid)?;
        let expected = self.session_mac(id, expires_at, nonce);
        if !constant_time_eq(expected.as_bytes(), mac.as_bytes()) || id != transaction_id {
            return Err(TokenError::Invalid);
        }
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok(Session {
            transaction_id: id.to_owned(),
            expires_at,
            csrf: self.csrf_for(nonce),
        })
    }

    fn link_mac(&self, transaction_id: &str, expires_at: u64, nonce: &str) -> String {
        mac(
            &self.link,
            &[transaction_id, &expires_at.to_string(), nonce],
        )
    }

    fn session_mac(&self, transaction_id: &str, expires_at: u64, nonce: &str) -> String {
        mac(
            &self.session,
            &[transaction_id, &expires_at.to_string(), nonce],
        )
    }

    fn csrf_for(&self, nonce: &str) -> String {
        mac(&self.csrf, &[nonce])
    }
}

/// The key under which a used link token is recorded (`ChallengeStore::consume`): a hash, so
/// the store never holds a usable token.
pub fn link_token_hash(token: &str) -> String {
    format!(
        "sep24-link:{}",
        hex::encode(Sha256::digest(token.as_bytes()))
    )
}

/// The `Set-Cookie` value of a session: readable by the server only (`HttpOnly`), not sent on
/// cross-site sub-requests (`SameSite=Lax`), and, when `secure` (the anchor's `PUBLIC_URL` is
/// https, see `AnchorConfig::serves_https`), sent back over HTTPS only (`Secure`). A stack served
/// over plain http gets no `Secure`: clients other than browsers (which treat http://localhost
/// as secure) would never send such a cookie back to it.
pub fn session_set_cookie(cookie_value: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { " Secure;" } else { "" };
    format!(
        "{SESSION_COOKIE}={cookie_value}; Path=/sep24; Max-Age={max_age_secs}; HttpOnly;{secure} SameSite=Lax"
    )
}

/// The session cookie's value in a request's `Cookie` headers.
pub fn session_cookie(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

/// MAC over length-prefixed parts (so `a.b` + `c` never equals `a` + `b.c`).
fn mac(key: &[u8; 32], parts: &[&str]) -> String {
    let mut mac = keyed(key);
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

fn random_nonce() -> [u8; NONCE_BYTES] {
    let mut nonce = [0u8; NONCE_BYTES];
    // The OS RNG only fails on a broken system; a zero nonce would still be bound by the MAC.
    if getrandom::getrandom(&mut nonce).is_err() {
        tracing::error!("the OS random number generator failed");
    }
    nonce
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const TX: &str = "0b0c3f4e-6f1e-4c52-9d1a-6a1f8b1f2c3d";

    fn keys(secret: &str) -> InteractiveKeys {
        InteractiveKeys::new(&Secret::new(secret.to_owned()))
    }

    #[test]
    fn a_link_token_is_bound_to_its_transaction_and_expires() {
        let keys = keys("a-jwt-secret-of-at-least-32-characters!!");
        let token = keys.issue_link_token(TX, 1_000);
        assert_eq!(keys.verify_link_token(TX, &token, 999), Ok(1_000));
        assert_eq!(
            keys.verify_link_token(TX, &token, 1_000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            keys.verify_link_token("another-transaction", &token, 999),
            Err(TokenError::Invalid)
        );
        // A longer expiry written into the token breaks its MAC.
        let forged = token.replacen("1000", "9999", 1);
        assert_eq!(
            keys.verify_link_token(TX, &forged, 999),
            Err(TokenError::Invalid)
        );
        let other = self::keys("another-secret-of-at-least-32-characters");
        assert_eq!(
            other.verify_link_token(TX, &token, 999),
            Err(TokenError::Invalid)
        );
        for garbage in ["", "..", "1.2", "x.y.z", "1.a.b.c"] {
            assert_eq!(
                keys.verify_link_token(TX, garbage, 0),
                Err(TokenError::Invalid)
            );
        }
    }

    #[test]
    fn tokens_are_unique_and_sessions_are_not_link_tokens() {
        let keys = keys("a-jwt-secret-of-at-least-32-characters!!");
        let a = keys.issue_link_token(TX, 1_000);
        let b = keys.issue_link_token(TX, 1_000);
        assert_ne!(a, b);
        assert_ne!(link_token_hash(&a), link_token_hash(&b));
        let session = keys.issue_session(TX, 1_000);
        let value = &session.cookie_value;
        let as_link = value
            .strip_prefix(&format!("{TX}."))
            .expect("session format");
        assert_eq!(
            keys.verify_link_token(TX, as_link, 0),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_session_carries_its_csrf_token() {
        let keys = keys("a-jwt-secret-of-at-least-32-characters!!");
        let issued = keys.issue_session(TX, 2_000);
        let session = keys
            .verify_session(&issued.cookie_value, TX, 1_999)
            .expect("valid session");
        assert_eq!(session, issued.session);
        assert!(session.accepts_csrf(issued.session.csrf_token()));
        assert!(!session.accepts_csrf("forged"));
        assert!(!session.accepts_csrf(""));
        let other = keys.issue_session(TX, 2_000);
        assert!(!session.accepts_csrf(other.session.csrf_token()));
        assert_eq!(
            keys.verify_session(&issued.cookie_value, "another", 1_999),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            keys.verify_session(&issued.cookie_value, TX, 2_000),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn the_cookie_is_read_among_others_and_set_with_its_attributes() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            http::HeaderValue::from_static("theme=dark; sep24_session=abc.1.n.m; x=y"),
        );
        assert_eq!(session_cookie(&headers), Some("abc.1.n.m"));
        assert_eq!(session_cookie(&http::HeaderMap::new()), None);
        assert_eq!(
            session_set_cookie("v", 1800, true),
            "sep24_session=v; Path=/sep24; Max-Age=1800; HttpOnly; Secure; SameSite=Lax"
        );
        // Over plain http: the same cookie without Secure.
        assert_eq!(
            session_set_cookie("v", 1800, false),
            "sep24_session=v; Path=/sep24; Max-Age=1800; HttpOnly; SameSite=Lax"
        );
    }
}
