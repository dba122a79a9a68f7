//! A deposit or withdrawal bound to a SEP-38 firm quote (SEP-6 `*-exchange`, SEP-24
//! `quote_id`): the quote must be the caller's, live, unused, made for this SEP, and for this
//! direction and asset; the transaction then takes its amounts and fee.

use std::collections::BTreeMap;

use super::request::{param, parse_amount, store_error};
use crate::config::{AssetConfig, TransferLimits};
use crate::decimal::Decimal;
use crate::error::ApiError;
use crate::integrations::Operation;
use crate::model::{FeeDetails, FeeItem, Quote, QuoteContext, Transaction, UserKey};
use crate::stellar::Amount;
use crate::store::{users_quote, QuoteStore, StoreError};
use crate::time::Timestamp;

/// What the request says the quote must be for.
#[derive(Debug, Clone, Copy)]
pub struct QuoteRequest<'a> {
    pub context: QuoteContext,
    pub operation: Operation,
    /// The Stellar asset: what a deposit buys and a withdrawal sells.
    pub asset: &'a AssetConfig,
    pub limits: &'a TransferLimits,
    /// The request's parameters: the off-chain asset's (`source_asset` of a deposit,
    /// `destination_asset` of a withdrawal) and `amount` (the quote's `sell_amount`), if sent,
    /// must be the quote's.
    pub params: &'a BTreeMap<String, String>,
}

/// The caller's live quote `id` for this request; anything else, another user's quote
/// included, is 400 naming `quote_id`.
pub async fn quote_for<S: QuoteStore + ?Sized>(
    store: &S,
    user: &UserKey,
    id: &str,
    now: Timestamp,
    request: QuoteRequest<'_>,
) -> Result<Quote, ApiError> {
    let refused = |why: &str| ApiError::bad_request(format!("'quote_id': {why}"));
    let quote = users_quote(store, user, id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| refused("no such quote"))?;
    if quote.context != request.context {
        return Err(refused(&format!(
            "the quote was not made for this SEP (context {})",
            request.context.as_str()
        )));
    }
    if !quote.is_live(now) {
        return Err(refused("the quote has expired"));
    }
    if quote.transaction_id.is_some() {
        return Err(refused("the quote was used already"));
    }
    let stellar_asset = request.asset.asset.sep38_id();
    let (stellar_side, other_side, other_param) = match request.operation {
        Operation::Deposit => (&quote.buy_asset, &quote.sell_asset, "source_asset"),
        Operation::Withdraw => (&quote.sell_asset, &quote.buy_asset, "destination_asset"),
    };
    if *stellar_side != stellar_asset {
        return Err(refused(&format!(
            "the quote is not for a {} of {stellar_asset}",
            request.operation.as_str()
        )));
    }
    if !other_side.starts_with("iso4217:") {
        return Err(refused("the quote does not exchange an off-chain asset"));
    }
    if param(request.params, other_param).is_some_and(|sent| sent != other_side) {
        return Err(refused(&format!(
            "'{other_param}' differs from the quote's"
        )));
    }
    // The Stellar side of the quote keeps to the direction's limits.
    let stellar_amount = match request.operation {
        Operation::Deposit => quote.buy_amount,
        Operation::Withdraw => quote.sell_amount,
    };
    parse_amount(&stellar_amount.to_string(), request.asset, request.limits)
        .map_err(|error| refused(&format!("the quoted amount of {stellar_asset}: {error}")))?;
    if let Some(amount) = param(request.params, "amount") {
        let matches = Decimal::parse(amount, 7).is_ok_and(|amount| amount == quote.sell_amount);
        if !matches {
            return Err(refused("'amount' differs from the quote's sell_amount"));
        }
    }
    Ok(quote)
}

/// The transaction takes the quote's id, amounts and fee (exact: every quoted asset has at most
/// 7 decimals), and must see the user's funds before the quote expires.
pub fn bind_quote(transaction: &mut Transaction, quote: &Quote) -> Result<(), ApiError> {
    let amount = |value: Decimal| {
        value.to_string().parse::<Amount>().map_err(|e| {
            ApiError::Internal(format!(
                "quote {} holds an amount out of range: {e}",
                quote.id
            ))
        })
    };
    transaction.quote_id = Some(quote.id.clone());
    // The user's funds must arrive while the quote holds (the payment workers check it); while
    // they wait for them, the transaction's deadline is the quote's expiry at the latest
    // (`ExpiryConfig::stamp`).
    transaction.quote_expires_at = Some(quote.expires_at);
    transaction.amount_in = Some(amount(quote.sell_amount)?);
    transaction.amount_in_asset = Some(quote.sell_asset.clone());
    transaction.amount_out = Some(amount(quote.buy_amount)?);
    transaction.amount_out_asset = Some(quote.buy_asset.clone());
    // The quote's fee, with the breakdown the quote integration gave (the SEPs want the
    // transaction's fee to be the quote's).
    let breakdown = quote
        .fee
        .details
        .iter()
        .map(|detail| {
            Ok(FeeItem {
                name: detail.name.clone(),
                description: detail.description.clone(),
                amount: amount(detail.amount)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    transaction.fee_details = Some(FeeDetails {
        total: amount(quote.fee.total)?,
        asset: quote.fee.asset.clone(),
        breakdown,
    });
    Ok(())
}

/// Marks the quote as backing `transaction_id`: one quote backs one transaction, also when two
/// requests race for it (the loser gets 400).
pub async fn use_quote<S: QuoteStore + ?Sized>(
    store: &S,
    quote: &Quote,
    transaction_id: &str,
) -> Result<(), ApiError> {
    match store.use_quote(&quote.id, transaction_id).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict) => Err(ApiError::bad_request(
            "'quote_id': the quote was used already",
        )),
        Err(error) => Err(store_error(error)),
    }
}
