//! SEP-24 deposit: `POST /transactions/deposit/interactive` (digest 5.3). Opens an `incomplete`
//! deposit of an anchor asset to the caller's account (or the `account` it names), with the
//! memo the anchor's payment will carry, and answers the URL of the interactive pages.

use std::collections::BTreeMap;

use super::service::{Caller, InteractiveResponse, Transfer};
use crate::error::ApiError;
use crate::integrations::{DepositIntegration, FeeIntegration, Operation, WithdrawalIntegration};
use crate::store::{QuoteStore, TransactionStore};

impl<I, S> Transfer<I, S>
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + QuoteStore,
{
    /// `POST /transactions/deposit/interactive`.
    ///
    /// - `account` (`G...` or `M...`, default the caller's own address) is where the deposit is
    ///   paid: the transaction's `to`.
    /// - `memo`/`memo_type` is the memo of that payment (`deposit_memo`). A shared-account user
    ///   (`G...:memo` token) depositing to its own account gets its memo by default, so the
    ///   funds reach it.
    pub async fn deposit(
        &self,
        caller: &Caller,
        params: &BTreeMap<String, String>,
    ) -> Result<InteractiveResponse, ApiError> {
        let (destination, memo) = crate::transfer::deposit_destination(caller, params)?;
        self.open(caller, Operation::Deposit, params, |transaction| {
            transaction.to = Some(destination.to_string());
            if let Some(value) = memo.value() {
                transaction.deposit_memo = Some(value);
                transaction.deposit_memo_type = Some(memo.type_name().to_owned());
            }
        })
        .await
    }
}
