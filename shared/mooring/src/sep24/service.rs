//! The SEP-24 transfer API as a domain service ([`Transfer`]): `/info` ([`super::info`]), `/fee`
//! ([`super::fee`]), the interactive deposit and withdrawal ([`super::deposit`],
//! [`super::withdraw`]) and the user's transactions ([`super::transactions`]). Its HTTP glue is
//! [`super::routes`]; the `sep24-transfer` function wires it to Lambda.
//!
//! This module holds what those endpoints share: who the caller is, which configured asset a
//! request names, amounts, and opening a transaction that the interactive pages then complete.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::HeaderMap;
use serde::Serialize;

use crate::auth::{AuthConfig, AuthError, Authenticator};
use crate::clock::Clock;
use crate::config::{AnchorConfig, AssetConfig, Sep, Sep24Config, TransferLimits};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::integrations::{
    DepositIntegration, FeeIntegration, FeeRequest, Operation, WithdrawalIntegration,
};
use crate::model::{
    FeeDetails, Kind, Protocol, Quote, QuoteContext, Transaction, TransactionStatus, UserKey,
};
use crate::sep10::WebAuthUser;
use crate::sep24::token::InteractiveKeys;
use crate::sep9;
use crate::stellar::{AccountId, Amount, MuxedAccount};
use crate::store::{users_quote, QuoteStore, StoreError, TransactionStore};
use crate::time::Timestamp;

/// A SEP-9 text value a wallet sends with a POST may be at most this long (as in SEP-12).
pub const MAX_SEP9_VALUE_BYTES: usize = crate::http::body::MAX_TEXT_BYTES;

/// Parameters of the two POSTs that are not SEP-9 fields, even where a SEP-9 name matches.
const RESERVED: [&str; 19] = [
    "asset_code",
    "asset_issuer",
    "source_asset",
    "destination_asset",
    "amount",
    "quote_id",
    "account",
    "memo",
    "memo_type",
    "wallet_name",
    "wallet_url",
    "lang",
    "customer_id",
    "claimable_balance_supported",
    "refund_memo",
    "refund_memo_type",
    "callback",
    "on_change_callback",
    "type",
];

/// The settings the service is built from (read once per cold start).
#[derive(Debug, Clone)]
pub struct TransferSettings {
    pub anchor: AnchorConfig,
    pub sep24: Sep24Config,
    /// Verifies SEP-10 tokens; its secret also keys the interactive links.
    pub auth: AuthConfig,
}

/// The SEP-24 transfer API over an anchor's integration `I` and a transaction store `S`.
pub struct Transfer<I, S> {
    pub(super) anchor: AnchorConfig,
    pub(super) sep24: Sep24Config,
    pub(super) integration: I,
    auth: Authenticator,
    keys: InteractiveKeys,
    pub(super) store: Arc<S>,
    clock: Arc<dyn Clock>,
}

/// The authenticated caller: the user its SEP-10 token names and the token's `client_domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: WebAuthUser,
    pub client_domain: Option<String>,
}

impl Caller {
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

/// The answer of both `POST .../interactive` endpoints (exactly these three keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InteractiveResponse {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
    pub id: String,
}

impl InteractiveResponse {
    pub const TYPE: &'static str = "interactive_customer_info_needed";
}

impl<I, S> Transfer<I, S>
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + QuoteStore,
{
    pub fn new(
        settings: TransferSettings,
        integration: I,
        store: Arc<S>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            keys: InteractiveKeys::new(&settings.auth.jwt_secret),
            auth: Authenticator::new(&settings.auth, clock.clone()),
            anchor: settings.anchor,
            sep24: settings.sep24,
            integration,
            store,
            clock,
        }
    }

    /// The anchor's public base URL (for `more_info_url` and the interactive URL).
    pub fn public_url(&self) -> &str {
        &self.anchor.public_url
    }

    /// The caller of a request, or SEP-24's 403 `{"type": "authentication_required"}`.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let (user, claims) = self
            .auth
            .authenticate_claims(headers)
            .map_err(AuthError::authentication_required)?;
        Ok(Caller {
            user,
            client_domain: claims.client_domain,
        })
    }

    pub(super) fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.clock.now())
    }

    /// The SEP-24 asset a request names: `asset_code` (required) and `asset_issuer`. Without an
    /// issuer the code must name exactly one of the anchor's SEP-24 assets; `native` has none.
    pub(super) fn asset(
        &self,
        code: Option<&str>,
        issuer: Option<&str>,
    ) -> Result<&AssetConfig, ApiError> {
        let code = code.ok_or_else(|| ApiError::bad_request("'asset_code' is required"))?;
        let mut offered = self
            .anchor
            .assets
            .iter()
            .filter(|a| a.offers(Sep::Sep24) && a.asset.code() == code);
        let unsupported = || {
            ApiError::bad_request(format!(
                "This anchor doesn't support the given currency code: {}",
                truncate(code)
            ))
        };
        match issuer {
            Some(_) if code == "native" => Err(ApiError::bad_request(
                "native XLM has no issuer: do not send 'asset_issuer' with 'native'",
            )),
            Some(issuer) => {
                let issuer: AccountId = issuer.parse().map_err(|_| {
                    ApiError::bad_request("'asset_issuer' is not a valid Stellar account")
                })?;
                offered
                    .find(|a| a.asset.issuer() == Some(&issuer))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "This anchor doesn't support {} issued by {issuer}",
                            truncate(code)
                        ))
                    })
            }
            None => {
                let asset = offered.next().ok_or_else(unsupported)?;
                if offered.next().is_some() {
                    return Err(ApiError::bad_request(format!(
                        "several assets have the code {code}: send 'asset_issuer'"
                    )));
                }
                Ok(asset)
            }
        }
    }

    /// The limits of a direction of an asset, if that direction is enabled.
    pub(super) fn enabled(
        operation: Operation,
        asset: &AssetConfig,
    ) -> Result<&TransferLimits, ApiError> {
        operation
            .limits(asset)
            .filter(|limits| limits.enabled)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{} is not enabled for {}",
                    operation.as_str(),
                    asset.asset.code()
                ))
            })
    }

    /// The fee of `amount` from the anchor's [`FeeIntegration`].
    pub(super) async fn fee_of(
        &self,
        operation: Operation,
        fee_type: Option<&str>,
        asset: &AssetConfig,
        amount: Amount,
        user: &UserKey,
    ) -> Result<Amount, ApiError> {
        let request = FeeRequest {
            operation,
            fee_type,
            asset,
            amount,
            user: Some(user),
        };
        Ok(self.integration.fee(&request).await?)
    }

    /// The caller's live SEP-24 quote `id` for this direction and asset: its assets must be
    /// the transaction's (the Stellar asset is what a deposit buys and a withdrawal sells, the
    /// other one `source_asset` / `destination_asset` if sent) and `amount`, if sent, its
    /// `sell_amount`. Anything else, another user's quote included, is 400.
    async fn quote_for(
        &self,
        user: &UserKey,
        operation: Operation,
        asset: &AssetConfig,
        limits: &TransferLimits,
        params: &BTreeMap<String, String>,
        id: &str,
    ) -> Result<Quote, ApiError> {
        let refused = |why: &str| ApiError::bad_request(format!("'quote_id': {why}"));
        let quote = users_quote(&*self.store, user, id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| refused("no such quote"))?;
        if quote.context != QuoteContext::Sep24 {
            return Err(refused("the quote was not made for SEP-24 (context sep24)"));
        }
        if !quote.is_live(self.now()) {
            return Err(refused("the quote has expired"));
        }
        if quote.transaction_id.is_some() {
            return Err(refused("the quote was used already"));
        }
        let stellar_asset = asset.asset.sep38_id();
        let (stellar_side, other_side, other_param) = match operation {
            Operation::Deposit => (&quote.buy_asset, &quote.sell_asset, "source_asset"),
            Operation::Withdraw => (&quote.sell_asset, &quote.buy_asset, "destination_asset"),
        };
        if *stellar_side != stellar_asset {
            return Err(refused(&format!(
                "the quote is not for a {} of {stellar_asset}",
                operation.as_str()
            )));
        }
        if !other_side.starts_with("iso4217:") {
            return Err(refused("the quote does not exchange an off-chain asset"));
        }
        if param(params, other_param).is_some_and(|sent| sent != other_side) {
            return Err(refused(&format!(
                "'{other_param}' differs from the quote's"
            )));
        }
        // The Stellar side of the quote keeps to the direction's limits.
        let stellar_amount = match operation {
            Operation::Deposit => quote.buy_amount,
            Operation::Withdraw => quote.sell_amount,
        };
        parse_amount(&stellar_amount.to_string(), asset, limits)
            .map_err(|error| refused(&format!("the quoted amount of {stellar_asset}: {error}")))?;
        if let Some(amount) = param(params, "amount") {
            let matches = crate::decimal::Decimal::parse(amount, 7)
                .is_ok_and(|amount| amount == quote.sell_amount);
            if !matches {
                return Err(refused("'amount' differs from the quote's sell_amount"));
            }
        }
        Ok(quote)
    }

    /// Opens an `incomplete` SEP-24 transaction for the interactive flow and answers its URL.
    /// Everything is checked first; the integration saves the SEP-9 fields next (a refusal
    /// stores nothing); then the transaction is stored and a link token issued for it.
    pub(super) async fn open(
        &self,
        caller: &Caller,
        operation: Operation,
        params: &BTreeMap<String, String>,
        direction: impl FnOnce(&mut Transaction),
    ) -> Result<InteractiveResponse, ApiError> {
        let asset = self.asset(param(params, "asset_code"), param(params, "asset_issuer"))?;
        let limits = Self::enabled(operation, asset)?;
        let lang = Lang::from_tag(param(params, "lang"));
        let user = caller.key();
        let quote = match param(params, "quote_id") {
            Some(id) => Some(
                self.quote_for(&user, operation, asset, limits, params, id)
                    .await?,
            ),
            None => None,
        };
        // With a quote, the amounts are the quote's (an `amount` was checked against it).
        let amount = match quote {
            Some(_) => None,
            None => param(params, "amount")
                .map(|value| parse_amount(value, asset, limits))
                .transpose()?,
        };
        let claimable_balance_supported = match param(params, "claimable_balance_supported") {
            None => false,
            Some(value) if value.eq_ignore_ascii_case("true") => true,
            Some(value) if value.eq_ignore_ascii_case("false") => false,
            Some(_) => {
                return Err(ApiError::bad_request(
                    "'claimable_balance_supported' must be true or false",
                ))
            }
        };
        let fields = sep9_fields(params)?;

        let kind = match operation {
            Operation::Deposit => Kind::Deposit,
            Operation::Withdraw => Kind::Withdrawal,
        };
        let mut transaction = Transaction::new(
            Protocol::Sep24,
            kind,
            TransactionStatus::Incomplete,
            user,
            asset.asset.0.clone(),
            self.now(),
        );
        transaction.muxed = caller.user.muxed;
        transaction.client_domain = caller.client_domain.clone();
        transaction.lang = Some(lang.code().to_owned());
        transaction.claimable_balance_supported =
            operation == Operation::Deposit && claimable_balance_supported;
        if let Some(amount) = amount {
            let fee = self.fee_of(operation, None, asset, amount, &user).await?;
            let amount_out = amount
                .checked_sub(fee)
                .filter(|out| *out >= Amount::ZERO)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "the amount does not cover the fee of {fee} {}",
                        asset.asset.code()
                    ))
                })?;
            let asset_id = asset.asset.sep38_id();
            transaction.amount_in = Some(amount);
            transaction.amount_out = Some(amount_out);
            transaction.amount_in_asset = Some(asset_id.clone());
            transaction.amount_out_asset = Some(asset_id.clone());
            transaction.fee_details = Some(FeeDetails {
                total: fee,
                asset: asset_id,
                breakdown: Vec::new(),
            });
        }
        if let Some(quote) = &quote {
            bind_quote(&mut transaction, quote)?;
        }
        direction(&mut transaction);

        if !fields.is_empty() {
            self.integration
                .save_sep9_fields(operation, &user, &fields, lang)
                .await?;
        }

        if let Some(quote) = &quote {
            // One quote backs one transaction, also when two requests race for it.
            match self.store.use_quote(&quote.id, &transaction.id).await {
                Ok(()) => {}
                Err(StoreError::Conflict) => {
                    return Err(ApiError::bad_request(
                        "'quote_id': the quote was used already",
                    ))
                }
                Err(error) => return Err(store_error(error)),
            }
        }
        self.store.insert(&transaction).await.map_err(store_error)?;
        crate::telemetry::record_transaction_id(&transaction.id);
        let expires_at = self
            .clock
            .now()
            .saturating_add(self.sep24.token_ttl.as_secs());
        let token = self.keys.issue_link_token(&transaction.id, expires_at);
        tracing::info!(
            transaction_id = %transaction.id,
            kind = transaction.kind.as_str(),
            asset = %transaction.asset,
            "SEP-24 transaction opened"
        );
        Ok(InteractiveResponse {
            kind: InteractiveResponse::TYPE,
            url: format!(
                "{}/sep24/interactive?transaction_id={}&token={token}&lang={lang}",
                self.anchor.public_url, transaction.id
            ),
            id: transaction.id,
        })
    }
}

/// A parameter's value (empty values were dropped when the request was read).
/// The transaction takes the quote's id, amounts and fee (exact: every quoted asset has at most
/// 7 decimals).
fn bind_quote(transaction: &mut Transaction, quote: &Quote) -> Result<(), ApiError> {
    let amount = |value: crate::decimal::Decimal| {
        value.to_string().parse::<Amount>().map_err(|e| {
            ApiError::Internal(format!(
                "quote {} holds an amount out of range: {e}",
                quote.id
            ))
        })
    };
    transaction.quote_id = Some(quote.id.clone());
    // The user's funds must arrive while the quote holds (the payment workers check it).
    transaction.user_action_required_by = Some(quote.expires_at);
    transaction.amount_in = Some(amount(quote.sell_amount)?);
    transaction.amount_in_asset = Some(quote.sell_asset.clone());
    transaction.amount_out = Some(amount(quote.buy_amount)?);
    transaction.amount_out_asset = Some(quote.buy_asset.clone());
    transaction.fee_details = Some(FeeDetails {
        total: amount(quote.fee.total)?,
        asset: quote.fee.asset.clone(),
        breakdown: Vec::new(),
    });
    Ok(())
}

pub(super) fn param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(String::as_str)
}

/// An amount of `asset` a user asks for: a positive decimal with at most the asset's
/// `significant_decimals`, within the direction's `min_amount`/`max_amount`.
pub(super) fn parse_amount(
    value: &str,
    asset: &AssetConfig,
    limits: &TransferLimits,
) -> Result<Amount, ApiError> {
    let amount: Amount = value
        .parse()
        .map_err(|e| ApiError::bad_request(format!("'amount': {e}")))?;
    let code = asset.asset.code();
    if amount <= Amount::ZERO {
        return Err(ApiError::bad_request("'amount' must be positive"));
    }
    let decimals = u32::from(asset.significant_decimals.min(7));
    if amount.stroops() % 10i64.pow(7 - decimals) != 0 {
        return Err(ApiError::bad_request(format!(
            "{code} amounts have at most {decimals} decimal places"
        )));
    }
    if let Some(min) = limits.min_amount.filter(|min| amount < *min) {
        return Err(ApiError::bad_request(format!(
            "the amount is below the minimum of {min} {code}"
        )));
    }
    if let Some(max) = limits.max_amount.filter(|max| amount > *max) {
        return Err(ApiError::bad_request(format!(
            "the amount is above the maximum of {max} {code}"
        )));
    }
    Ok(amount)
}

/// The account a request names with `account`: a `G...` or `M...` address. Contract (`C...`)
/// addresses are refused: Mooring does not pay or watch them.
pub(super) fn parse_account(value: &str) -> Result<MuxedAccount, ApiError> {
    if value.starts_with('C') {
        return Err(ApiError::bad_request(
            "contract (C...) accounts are not supported: send a G... or M... account",
        ));
    }
    value
        .parse()
        .map_err(|_| ApiError::bad_request("'account' is not a valid Stellar account"))
}

/// The SEP-9 text fields of a POST, checked as SEP-12 checks them (binary fields were dropped
/// when the body was read: this API keeps no files).
fn sep9_fields(params: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ApiError> {
    let fields: BTreeMap<String, String> = params
        .iter()
        .filter(|(name, _)| !RESERVED.contains(&name.as_str()))
        .filter(|(name, _)| sep9::lookup(name).is_some() && !sep9::is_binary(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    if let Some((name, _)) = fields
        .iter()
        .find(|(_, value)| value.len() > MAX_SEP9_VALUE_BYTES)
    {
        return Err(ApiError::bad_request(format!(
            "{name} is longer than {MAX_SEP9_VALUE_BYTES} bytes"
        )));
    }
    sep9::validate(&fields).map_err(ApiError::BadRequest)?;
    Ok(fields)
}

pub(super) fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Unavailable(cause) => ApiError::Unavailable {
            public: "the transaction service is unavailable; try again".into(),
            cause,
        },
        other => ApiError::Internal(other.to_string()),
    }
}

pub(super) fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}
