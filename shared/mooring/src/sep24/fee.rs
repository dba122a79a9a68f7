//! SEP-24 `GET /fee` (digest 5.2, deprecated by SEP-38 but still read by wallets): the fee of
//! a deposit or withdrawal of an amount, from the anchor's `FeeIntegration` (by default the
//! asset's configured `fee_fixed + amount × fee_percent / 100`, at least `fee_minimum`).

use std::collections::BTreeMap;

use super::service::{param, Caller, Transfer};
use crate::config::Sep;
use crate::error::ApiError;
use crate::integrations::{DepositIntegration, FeeIntegration, WithdrawalIntegration};
use crate::stellar::Amount;
use crate::store::{QuoteStore, TransactionStore};
use crate::transfer::fee_query;

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
        let (operation, asset, amount) = fee_query(&self.anchor.assets, Sep::Sep24, params)?;
        let fee = self
            .fee_of(
                operation,
                param(params, "type"),
                asset,
                amount,
                &caller.key(),
            )
            .await?;
        Ok(fee.total)
    }
}
