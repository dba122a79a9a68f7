//! What SEP-6 (programmatic) and SEP-24 (interactive) deposits and withdrawals share: who the
//! caller is, which configured asset a request names and its amounts ([`request`]), binding a
//! SEP-38 quote ([`quote`]), a user's transaction history ([`history`]) and the withdrawal
//! account and memo a user pays to. The SEP modules build on this one and never on each other.

pub mod history;
pub mod quote;
pub mod request;

use http::HeaderMap;

use crate::auth::{AuthError, Authenticator};
use crate::config::AssetConfig;
use crate::error::ApiError;
use crate::model::{withdraw_memo, Transaction, UserKey};
use crate::sep10::WebAuthUser;
use crate::stellar::MuxedAccount;

pub use request::{
    claimable_balance_supported, enabled, find_asset, param, parse_account, parse_amount,
    refund_memo, store_error, truncate,
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
