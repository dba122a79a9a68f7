//! SEP-24 deposit: `POST /transactions/deposit/interactive` (digest 5.3). Opens an `incomplete`
//! deposit of an anchor asset to the caller's account (or the `account` it names), with the
//! memo the anchor's payment will carry, and answers the URL of the interactive pages.

use std::collections::BTreeMap;

use super::service::{param, parse_account, Caller, InteractiveResponse, Transfer};
use crate::error::ApiError;
use crate::integrations::{DepositIntegration, FeeIntegration, Operation, WithdrawalIntegration};
use crate::stellar::Memo;
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
        let destination = match param(params, "account") {
            Some(account) => parse_account(account)?,
            None => caller.address(),
        };
        let memo = Memo::from_sep(param(params, "memo_type"), param(params, "memo"))
            .map_err(|e| ApiError::bad_request(format!("memo: {e}")))?;
        let shared_account_user = destination.id.is_none()
            && destination.account == caller.user.account
            && !caller.user.muxed;
        let memo = match (memo, caller.user.memo) {
            (Memo::None, Some(id)) if shared_account_user => Memo::Id(id),
            (memo, _) => memo,
        };
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
