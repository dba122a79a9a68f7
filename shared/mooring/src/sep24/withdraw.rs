//! SEP-24 withdrawal: `POST /transactions/withdraw/interactive` (digest 5.4). Opens an
//! `incomplete` withdrawal of an anchor asset from the caller's account (or the `account` it
//! names) and answers the URL of the interactive pages; the account and memo the user pays to
//! are set when the pages are complete (`pending_user_transfer_start`).

use std::collections::BTreeMap;

use super::service::{param, parse_account, Caller, InteractiveResponse, Transfer};
use crate::error::ApiError;
use crate::integrations::{DepositIntegration, FeeIntegration, Operation, WithdrawalIntegration};
use crate::store::{QuoteStore, TransactionStore};

impl<I, S> Transfer<I, S>
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + QuoteStore,
{
    /// `POST /transactions/withdraw/interactive`.
    ///
    /// - `account` (`G...` or `M...`, default the caller's own address) is the account the
    ///   payment comes from: the transaction's `from`.
    /// - `refund_memo` and `refund_memo_type` come together or not at all.
    /// - `memo`, `memo_type`, `wallet_name` and `wallet_url` are deprecated for withdrawals
    ///   (the token's `sub` names the user) and ignored.
    pub async fn withdraw(
        &self,
        caller: &Caller,
        params: &BTreeMap<String, String>,
    ) -> Result<InteractiveResponse, ApiError> {
        let source = match param(params, "account") {
            Some(account) => parse_account(account)?,
            None => caller.address(),
        };
        let refund = crate::transfer::refund_memo(params)?;
        self.open(caller, Operation::Withdraw, params, |transaction| {
            transaction.from = Some(source.to_string());
            if let Some(memo) = refund {
                transaction.refund_memo = memo.value();
                transaction.refund_memo_type = Some(memo.type_name().to_owned());
            }
        })
        .await
    }
}
