//! SEP-24 `GET /fee` (digest 5.2, deprecated by SEP-38 but still read by wallets): the fee of
//! a deposit or withdrawal of an amount, from the anchor's `FeeIntegration` (by default the
//! asset's configured `fee_fixed + amount × fee_percent / 100`, at least `fee_minimum`).

use std::collections::BTreeMap;

use super::service::{param, parse_amount, Caller, Transfer};
use crate::error::ApiError;
use crate::integrations::{DepositIntegration, FeeIntegration, Operation, WithdrawalIntegration};
use crate::stellar::Amount;
use crate::store::{QuoteStore, TransactionStore};

impl<I, S> Transfer<I, S>
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + QuoteStore,
{
    /// `GET /fee`: `operation` (`deposit` | `withdraw`), `asset_code` (and optionally
    /// `asset_issuer`), `amount` (within the direction's limits), `type` (passed on).
    pub async fn fee(
        &self,
        caller: &Caller,
        params: &BTreeMap<String, String>,
    ) -> Result<Amount, ApiError> {
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
        let asset = self.asset(param(params, "asset_code"), param(params, "asset_issuer"))?;
        let limits = crate::transfer::enabled(operation, asset)?;
        let amount =
            param(params, "amount").ok_or_else(|| ApiError::bad_request("'amount' is required"))?;
        let amount = parse_amount(amount, asset, limits)?;
        self.fee_of(
            operation,
            param(params, "type"),
            asset,
            amount,
            &caller.key(),
        )
        .await
    }
}
