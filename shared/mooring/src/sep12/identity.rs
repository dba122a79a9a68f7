//! SEP-12's identity rules: which user (account + memo) a request is about, given the JWT and
//! the deprecated `account` / `memo` / `memo_type` parameters.
//!
//! - `account`, if sent, must be the JWT's account (`G...`, or the `M...` the client
//!   authenticated as): otherwise 403, as Polaris and the Java platform answer.
//! - A JWT with a memo (`G...:memo` or `M...`) names one user: a `memo` must equal it (403
//!   otherwise) and `memo_type` is ignored.
//! - A JWT without a memo (a shared account's owner, e.g. a SEP-31 sending anchor) may name any
//!   of its users with `memo` (an id memo): each memo is a separate customer.

use crate::error::ApiError;
use crate::model::UserKey;
use crate::sep10::WebAuthUser;
use crate::stellar::{Memo, MuxedAccount};

pub const ACCOUNT_MISMATCH: &str = "The account specified does not match authorization token";
pub const MEMO_MISMATCH: &str =
    "The memo specified does not match the memo ID authorized via SEP-10";

/// The user a request is about.
pub fn resolve_user(
    auth: &WebAuthUser,
    account: Option<&str>,
    memo: Option<&str>,
    memo_type: Option<&str>,
) -> Result<UserKey, ApiError> {
    let account_memo = match account {
        None => None,
        Some(account) => {
            let account: MuxedAccount = account
                .parse()
                .map_err(|_| ApiError::bad_request("'account' is not a valid Stellar account"))?;
            if account.account != auth.account {
                return Err(ApiError::Forbidden(ACCOUNT_MISMATCH.into()));
            }
            account.id
        }
    };
    let memo = match memo {
        None => None,
        Some(memo) => {
            if auth.memo.is_none() && !matches!(memo_type, None | Some("id")) {
                return Err(ApiError::bad_request(
                    "only id memos identify customers: send memo_type=id (or no memo_type)",
                ));
            }
            Some(Memo::parse_id(memo).map_err(|e| ApiError::bad_request(format!("memo: {e}")))?)
        }
    };
    let memo = match auth.memo {
        Some(authorized) => {
            if account_memo.is_some_and(|m| m != authorized) {
                return Err(ApiError::Forbidden(ACCOUNT_MISMATCH.into()));
            }
            if memo.is_some_and(|m| m != authorized) {
                return Err(ApiError::Forbidden(MEMO_MISMATCH.into()));
            }
            Some(authorized)
        }
        None => match (account_memo, memo) {
            (Some(a), Some(m)) if a != m => {
                return Err(ApiError::bad_request(
                    "'account' (an M... address) and 'memo' name different users",
                ))
            }
            (a, m) => a.or(m),
        },
    };
    Ok(UserKey {
        account: auth.account,
        memo,
    })
}

/// The storage key of the authenticated subject itself (no parameters applied).
pub fn subject(auth: &WebAuthUser) -> UserKey {
    UserKey {
        account: auth.account,
        memo: auth.memo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stellar::Keypair;

    fn g() -> WebAuthUser {
        WebAuthUser {
            account: Keypair::from_seed_bytes([3; 32]).account_id(),
            memo: None,
            muxed: false,
        }
    }

    fn with_memo(memo: u64, muxed: bool) -> WebAuthUser {
        WebAuthUser {
            memo: Some(memo),
            muxed,
            ..g()
        }
    }

    fn m(memo: u64) -> String {
        MuxedAccount::new(g().account, Some(memo)).to_string()
    }

    fn status(result: Result<UserKey, ApiError>) -> u16 {
        result.unwrap_err().status().as_u16()
    }

    #[test]
    fn the_jwt_names_the_user() {
        let account = g().account.to_string();
        assert_eq!(resolve_user(&g(), None, None, None).unwrap().memo, None);
        assert_eq!(
            resolve_user(&g(), Some(&account), None, None).unwrap(),
            subject(&g())
        );
        let user = resolve_user(
            &with_memo(5, false),
            Some(&account),
            Some("5"),
            Some("text"),
        );
        assert_eq!(user.unwrap().memo, Some(5));
        // A muxed client may name itself by its M... address or by the account.
        let muxed = with_memo(9, true);
        assert_eq!(
            resolve_user(&muxed, Some(&m(9)), None, None).unwrap().memo,
            Some(9)
        );
        assert_eq!(
            resolve_user(&muxed, None, None, None).unwrap().memo,
            Some(9)
        );
    }

    #[test]
    fn a_shared_account_names_its_users_by_memo() {
        assert_eq!(
            resolve_user(&g(), None, Some("7"), None).unwrap().memo,
            Some(7)
        );
        assert_eq!(
            resolve_user(&g(), None, Some("7"), Some("id"))
                .unwrap()
                .memo,
            Some(7)
        );
        assert_eq!(
            resolve_user(&g(), Some(&m(8)), None, None).unwrap().memo,
            Some(8)
        );
        assert_eq!(
            status(resolve_user(&g(), Some(&m(8)), Some("7"), None)),
            400
        );
    }

    #[test]
    fn mismatches_are_403_and_malformed_values_400() {
        let other = Keypair::from_seed_bytes([4; 32]).account_id().to_string();
        assert_eq!(status(resolve_user(&g(), Some(&other), None, None)), 403);
        let error = resolve_user(&with_memo(5, false), None, Some("6"), None).unwrap_err();
        assert_eq!(error.status(), 403);
        assert_eq!(error.to_string(), MEMO_MISMATCH);
        assert_eq!(
            status(resolve_user(&with_memo(5, true), Some(&m(6)), None, None)),
            403
        );
        assert_eq!(status(resolve_user(&g(), Some("GABC"), None, None)), 400);
        for bad in ["-1", "x", "18446744073709551616", "07"] {
            assert_eq!(
                status(resolve_user(&g(), None, Some(bad), None)),
                400,
                "{bad}"
            );
        }
        assert_eq!(
            status(resolve_user(&g(), None, Some("7"), Some("text"))),
            400
        );
    }
}
