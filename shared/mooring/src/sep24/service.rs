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

use crate::auth::{AuthConfig, Authenticator};
use crate::clock::Clock;
use crate::config::{AnchorConfig, AssetConfig, Sep, Sep24Config};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::integrations::{
    DepositIntegration, Fee, FeeIntegration, FeeRequest, Operation, WithdrawalIntegration,
};
use crate::model::{Kind, Protocol, QuoteContext, Transaction, TransactionStatus, UserKey};
use crate::sep24::token::InteractiveKeys;
use crate::sep9;
use crate::stellar::Amount;
use crate::store::{QuoteStore, TransactionStore};
use crate::time::Timestamp;
use crate::transfer::quote::{bind_quote, quote_for, use_quote, QuoteRequest};
pub use crate::transfer::Caller;
use crate::transfer::{claimable_balance_supported, enabled, find_asset, set_amounts};
pub(super) use crate::transfer::{param, parse_account, parse_amount, store_error};

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
        Caller::authenticate(&self.auth, headers)
    }

    pub(super) fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.clock.now())
    }

    /// The SEP-24 asset a request names: `asset_code` (required) and `asset_issuer`.
    pub(super) fn asset(
        &self,
        code: Option<&str>,
        issuer: Option<&str>,
    ) -> Result<&AssetConfig, ApiError> {
        find_asset(&self.anchor.assets, Sep::Sep24, code, issuer)
    }

    /// The fee of `amount` (with its breakdown) from the anchor's [`FeeIntegration`].
    pub(super) async fn fee_of(
        &self,
        operation: Operation,
        fee_type: Option<&str>,
        asset: &AssetConfig,
        amount: Amount,
        user: &UserKey,
    ) -> Result<Fee, ApiError> {
        let request = FeeRequest {
            operation,
            fee_type,
            asset,
            amount,
            user: Some(user),
        };
        Ok(self.integration.fee_details(&request).await?)
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
        let limits = enabled(operation, asset)?;
        let lang = Lang::from_tag(param(params, "lang"));
        let user = caller.key();
        let quote = match param(params, "quote_id") {
            Some(id) => {
                let request = QuoteRequest {
                    context: QuoteContext::Sep24,
                    operation,
                    asset,
                    limits,
                    params,
                };
                Some(quote_for(&*self.store, &user, id, self.now(), request).await?)
            }
            None => None,
        };
        // With a quote, the amounts are the quote's (an `amount` was checked against it).
        let amount = match quote {
            Some(_) => None,
            None => param(params, "amount")
                .map(|value| parse_amount(value, asset, limits))
                .transpose()?,
        };
        let claimable_balance_supported = claimable_balance_supported(params)?;
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
            set_amounts(&mut transaction, asset, amount, fee)?;
        }
        if let Some(quote) = &quote {
            bind_quote(&mut transaction, quote)?;
        }
        direction(&mut transaction);
        self.anchor.expiry.stamp(&mut transaction, None);

        if !fields.is_empty() {
            self.integration
                .save_sep9_fields(operation, &user, &fields, lang)
                .await?;
        }

        if let Some(quote) = &quote {
            use_quote(&*self.store, quote, &transaction.id).await?;
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
