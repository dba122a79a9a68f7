//! What SEP-6 (programmatic) and SEP-24 (interactive) deposits and withdrawals share: who the
//! caller is, which configured asset a request names and its amounts ([`request`]), binding a
//! SEP-38 quote ([`quote`]), a user's transaction history ([`history`]), signed wallet
//! callbacks ([`callback`]), the KYC loop of programmatic transfers ([`kyc_loop`]) and the
//! withdrawal account and memo a user pays to. The SEP modules build on this one and never on each other.

pub mod callback;
pub mod history;
pub mod info_update;
pub mod kyc_loop;
pub mod limits;
pub mod quote;
pub mod receive_release;
pub mod request;
pub mod view;

use http::HeaderMap;

use crate::auth::{AuthError, Authenticator};
use crate::config::AssetConfig;
use crate::error::ApiError;
use crate::model::{withdraw_memo, Transaction, UserKey};
use crate::sep10::WebAuthUser;
use crate::stellar::{Memo, MuxedAccount};
use std::collections::BTreeMap;

pub use request::{
    claimable_balance_supported, enabled, fee_query, find_asset, param, parse_account,
    parse_amount, refund_memo, set_amounts, store_error, truncate,
};

/// The authenticated caller: the user its SEP-10 token names and the token's `client_domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: WebAuthUser,
    pub client_domain: Option<String>,
}

impl Caller {
    /// The caller of a request, or SEP-6/24's 403 `{"type": "authentication_required"}`.
    pub fn authenticate(auth: &Authenticator, headers: &HeaderMap) -> Result<Self, ApiError> {
        let (user, claims) = auth
            .authenticate_claims(headers)
            .map_err(AuthError::authentication_required)?;
        Ok(Caller {
            user,
            client_domain: claims.client_domain,
        })
    }

    /// The user's storage key: account plus memo (from `G...:memo` or `M...`).
    pub fn key(&self) -> UserKey {
        UserKey {
            account: self.user.account,
            memo: self.user.memo,
        }
    }

    /// The caller's own address as wallets write it: `M...` when it authenticated as one.
    pub fn address(&self) -> MuxedAccount {
        let id = if self.user.muxed {
            self.user.memo
        } else {
            None
        };
        MuxedAccount::new(self.user.account, id)
    }
}

/// Where a deposit is paid: `account` (`G...` or `M...`, default the caller's own address) and
/// the payment's memo (`memo`/`memo_type`). A shared-account user (`G...:memo` token)
/// depositing to its own account gets its memo by default, so the funds reach it.
pub fn deposit_destination(
    caller: &Caller,
    params: &BTreeMap<String, String>,
) -> Result<(MuxedAccount, Memo), ApiError> {
    let destination = match param(params, "account") {
        Some(account) => parse_account(account)?,
        None => caller.address(),
    };
    let memo = Memo::from_sep(param(params, "memo_type"), param(params, "memo"))
        .map_err(|e| ApiError::bad_request(format!("memo: {e}")))?;
    let own_account = destination.account == caller.user.account;
    let shared_account_user = destination.id.is_none() && own_account && !caller.user.muxed;
    let memo = match (memo, caller.user.memo) {
        (Memo::None, Some(id)) if shared_account_user => Memo::Id(id),
        (memo, _) => memo,
    };
    Ok((destination, memo))
}

/// Refuses an `account` (and memo) naming another user of the caller's own shared account: a
/// different `M...` id, or a memo that is not the caller's (SEP-6: users of one account are
/// told apart by memo, and one may not move funds in another's name).
pub fn refuse_other_users(
    caller: &Caller,
    account: &MuxedAccount,
    memo: &Memo,
) -> Result<(), ApiError> {
    let (true, Some(own)) = (account.account == caller.user.account, caller.user.memo) else {
        return Ok(());
    };
    let names_another = match (account.id, memo) {
        (Some(id), _) => id != own,
        (None, Memo::Id(id)) => *id != own,
        (None, Memo::None) => false,
        // A text or hash memo cannot name this user.
        (None, _) => true,
    };
    if names_another {
        return Err(ApiError::bad_request(
            "'account' and 'memo' name another user of your account",
        ));
    }
    Ok(())
}

/// Sets where the user of a withdrawal pays: the asset's distribution account, with a `hash`
/// memo unique to the transaction (the payment watcher matches incoming payments by both).
/// The error (a configuration fault) names the asset.
pub fn set_withdrawal_destination(
    transaction: &mut Transaction,
    asset: &AssetConfig,
) -> Result<(), String> {
    let account = asset
        .distribution_account()
        .ok_or_else(|| format!("asset {} has no distribution account", asset.asset.code()))?;
    transaction.receiving_account = Some(account);
    transaction.receiving_memo_type = Some("hash".into());
    transaction.receiving_memo = Some(withdraw_memo(&transaction.id));
    Ok(())
}
