//! Reading a deposit or withdrawal request: its parameters, the configured asset it names,
//! amounts within the asset's limits, accounts, memos; and the one mapping of storage errors
//! these endpoints answer with.

use std::collections::BTreeMap;

use crate::config::{AssetConfig, Sep, TransferLimits};
use crate::error::ApiError;
use crate::integrations::{Fee, Operation};
use crate::model::Transaction;
use crate::stellar::{AccountId, Amount, Memo, MuxedAccount};
use crate::store::StoreError;

/// A parameter's value (empty values were dropped when the request was read).
pub fn param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(String::as_str)
}

/// The asset of `sep` a request names: `asset_code` (required) and `asset_issuer`. Without an
/// issuer the code must name exactly one of the anchor's assets for that SEP; `native` has none.
pub fn find_asset<'a>(
    assets: &'a [AssetConfig],
    sep: Sep,
    code: Option<&str>,
    issuer: Option<&str>,
) -> Result<&'a AssetConfig, ApiError> {
    let code = code.ok_or_else(|| ApiError::bad_request("'asset_code' is required"))?;
    let mut offered = assets
        .iter()
        .filter(|a| a.offers(sep) && a.asset.code() == code);
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
pub fn enabled(operation: Operation, asset: &AssetConfig) -> Result<&TransferLimits, ApiError> {
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

/// An amount of `asset` a user asks for: a positive decimal with at most the asset's
/// `significant_decimals`, within the direction's `min_amount`/`max_amount`.
pub fn parse_amount(
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
pub fn parse_account(value: &str) -> Result<MuxedAccount, ApiError> {
    if value.starts_with('C') {
        return Err(ApiError::bad_request(
            "contract (C...) accounts are not supported: send a G... or M... account",
        ));
    }
    value
        .parse()
        .map_err(|_| ApiError::bad_request("'account' is not a valid Stellar account"))
}

/// A transaction's amounts of `amount` of `asset` less `fee`: `amount_in`, `amount_out`, the
/// fee (`fee_details`, with the fee integration's breakdown), all in the asset; 400 when the
/// amount does not cover the fee.
pub fn set_amounts(
    transaction: &mut Transaction,
    asset: &AssetConfig,
    amount: Amount,
    fee: impl Into<Fee>,
) -> Result<(), ApiError> {
    let fee = fee.into();
    let amount_out = amount
        .checked_sub(fee.total)
        .filter(|out| *out >= Amount::ZERO)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "the amount does not cover the fee of {} {}",
                fee.total,
                asset.asset.code()
            ))
        })?;
    let asset_id = asset.asset.sep38_id();
    transaction.amount_in = Some(amount);
    transaction.amount_out = Some(amount_out);
    transaction.amount_in_asset = Some(asset_id.clone());
    transaction.amount_out_asset = Some(asset_id.clone());
    transaction.fee_details = Some(fee.details(asset_id));
    Ok(())
}

/// `GET /fee` (SEP-24 5.2, SEP-6's deprecated copy): `operation` (`deposit` | `withdraw`),
/// `asset_code` (and `asset_issuer`), `amount` within the direction's limits.
pub fn fee_query<'a>(
    assets: &'a [AssetConfig],
    sep: Sep,
    params: &BTreeMap<String, String>,
) -> Result<(Operation, &'a AssetConfig, Amount), ApiError> {
    let operation = match param(params, "operation") {
        Some("deposit") => Operation::Deposit,
        Some("withdraw") => Operation::Withdraw,
        Some(_) => {
            return Err(ApiError::bad_request(
                "'operation' must be deposit or withdraw",
            ))
        }
        None => return Err(ApiError::bad_request("'operation' is required")),
    };
    let asset = find_asset(
        assets,
        sep,
        param(params, "asset_code"),
        param(params, "asset_issuer"),
    )?;
    let limits = enabled(operation, asset)?;
    let amount =
        param(params, "amount").ok_or_else(|| ApiError::bad_request("'amount' is required"))?;
    Ok((operation, asset, parse_amount(amount, asset, limits)?))
}

/// `claimable_balance_supported`: `true` or `false` (any case), default false.
pub fn claimable_balance_supported(params: &BTreeMap<String, String>) -> Result<bool, ApiError> {
    match param(params, "claimable_balance_supported") {
        None => Ok(false),
        Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
        Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(ApiError::bad_request(
            "'claimable_balance_supported' must be true or false",
        )),
    }
}

/// A withdrawal's `refund_memo` and `refund_memo_type`: both or neither.
pub fn refund_memo(params: &BTreeMap<String, String>) -> Result<Option<Memo>, ApiError> {
    match (
        param(params, "refund_memo"),
        param(params, "refund_memo_type"),
    ) {
        (None, None) => Ok(None),
        (Some(memo), Some(memo_type)) => Memo::from_sep(Some(memo_type), Some(memo))
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("refund memo: {e}"))),
        _ => Err(ApiError::bad_request(
            "'refund_memo' and 'refund_memo_type' go together: send both or neither",
        )),
    }
}

pub fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Unavailable(cause) => ApiError::Unavailable {
            public: "the transaction service is unavailable; try again".into(),
            cause,
        },
        other => ApiError::Internal(other.to_string()),
    }
}

/// At most 40 characters of a value echoed in an error.
pub fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}
