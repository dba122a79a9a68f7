//! The deposit's side of the submitter: what its Stellar transaction does (a payment, a
//! claimable balance, or first the account's creation), and its endings (`completed` with the
//! `after_deposit` hook, `pending_trust`).

use super::{Plan, Step, SubmitOutcome, Submitter};
use crate::horizon::{AccountRecord, Horizon};
use crate::integrations::DepositIntegration;
use crate::model::{SubmissionState, Transaction, TransactionStatus};
use crate::payments::WorkerError;
use crate::stellar::{Amount, Asset, Memo, MuxedAccount, Outgoing};
use crate::store::{ChannelLeases, StoreError, TransactionStore};
use crate::time::Timestamp;

impl<S, H, I> Submitter<S, H, I>
where
    S: TransactionStore + ChannelLeases,
    H: Horizon,
    I: DepositIntegration,
{
    /// What the deposit's Stellar transaction does, decided from its destination account.
    pub(super) async fn deposit_plan(
        &self,
        transaction: &Transaction,
    ) -> Result<Plan, WorkerError> {
        let (destination, amount, memo) = match deposit_terms(transaction) {
            Ok(terms) => terms,
            Err(message) => return Ok(Plan::Fail(message)),
        };
        let account = self.horizon.account(&destination.account).await?;
        Ok(self.deposit_operations(transaction, destination, amount, &memo, account.as_ref()))
    }

    /// What to send to `destination` (its account record, `None` if it does not exist).
    fn deposit_operations(
        &self,
        transaction: &Transaction,
        destination: MuxedAccount,
        amount: Amount,
        memo: &Memo,
        account: Option<&AccountRecord>,
    ) -> Plan {
        let asset = &transaction.asset;
        let claimable =
            transaction.claimable_balance_supported && self.config.sep24.claimable_balances;
        let claimable_balance = || Outgoing::ClaimableBalance {
            claimant: destination.account,
            asset: asset.clone(),
            amount,
        };
        let Some(account) = account else {
            if !self.config.sep24.account_creation {
                if claimable && *asset != Asset::Native {
                    return Plan::Submit(memo.clone(), vec![claimable_balance()]);
                }
                return Plan::Fail("the destination account does not exist".into());
            }
            if *asset == Asset::Native {
                if amount.stroops() < 10_000_000 {
                    return Plan::Fail(
                        "the destination account does not exist and the amount is below the 1 XLM it needs".into(),
                    );
                }
                return Plan::Submit(
                    memo.clone(),
                    vec![Outgoing::CreateAccount {
                        destination: destination.account,
                        starting_balance: amount,
                    }],
                );
            }
            let create = Outgoing::CreateAccount {
                destination: destination.account,
                starting_balance: self.config.account_starting_balance,
            };
            if claimable {
                return Plan::Submit(memo.clone(), vec![create, claimable_balance()]);
            }
            // Create it now; the deposit waits in pending_trust for the trustline.
            return Plan::Submit(memo.clone(), vec![create]);
        };
        let trusts = *asset == Asset::Native
            || asset.issuer() == Some(&destination.account)
            || account.balance(asset).is_some();
        if trusts {
            return Plan::Submit(
                memo.clone(),
                vec![Outgoing::Payment {
                    destination,
                    asset: asset.clone(),
                    amount,
                }],
            );
        }
        if claimable {
            return Plan::Submit(memo.clone(), vec![claimable_balance()]);
        }
        Plan::PendingTrust(no_trust_message(asset))
    }

    pub(super) async fn complete(
        &self,
        mut transaction: Transaction,
        hash: &str,
        claimable_balance: Option<String>,
    ) -> Result<Step, WorkerError> {
        let now = Timestamp::from_secs(self.now());
        let expected = transaction.status;
        transaction.status = TransactionStatus::Completed;
        transaction.status_message = None;
        transaction.stellar_transaction_id = Some(hash.to_owned());
        transaction.completed_at = Some(now);
        transaction.updated_at = now;
        transaction.submission = SubmissionState::Confirmed;
        if claimable_balance.is_some() {
            transaction.claimable_balance_id = claimable_balance;
        }
        match self.store.update(&mut transaction, expected).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(Step::Again),
            Err(error) => return Err(error.into()),
        }
        tracing::info!(transaction_id = %transaction.id, hash, "deposit completed");
        // Only the writer that completed it gets here: once.
        if let Err(error) = self.integration.after_deposit(&transaction).await {
            tracing::error!(transaction_id = %transaction.id, %error, "after_deposit failed");
        }
        Ok(Step::Done(SubmitOutcome::Completed {
            stellar_transaction_id: hash.to_owned(),
        }))
    }

    pub(super) async fn pending_trust(
        &self,
        mut transaction: Transaction,
        message: String,
    ) -> Result<Step, WorkerError> {
        let expected = transaction.status;
        transaction.status = TransactionStatus::PendingTrust;
        transaction.status_message = Some(message);
        transaction.submission = SubmissionState::NotSubmitted;
        transaction.envelope_xdr = None;
        transaction.envelope_hash = None;
        transaction.updated_at = Timestamp::from_secs(self.now());
        self.expiry.stamp(&mut transaction, Some(expected));
        self.write(transaction, expected, SubmitOutcome::PendingTrust)
            .await
    }
}

/// The statuses a deposit is the submitter's in: `pending_anchor` (to pay) and
/// `pending_stellar` (its envelope awaits confirmation, or is being sent again).
pub(super) fn is_submitters(status: TransactionStatus) -> bool {
    matches!(
        status,
        TransactionStatus::PendingAnchor | TransactionStatus::PendingStellar
    )
}

/// The destination, amount and memo of a deposit, or why it cannot be paid.
fn deposit_terms(transaction: &Transaction) -> Result<(MuxedAccount, Amount, Memo), String> {
    let destination: MuxedAccount = transaction
        .to
        .as_deref()
        .ok_or("the deposit has no destination account")?
        .parse()
        .map_err(|_| "the deposit's destination account is not valid".to_owned())?;
    let amount = transaction
        .amount_out
        .filter(|a| a.stroops() > 0)
        .ok_or("the deposit has no positive amount_out")?;
    let memo = Memo::from_sep(
        transaction.deposit_memo_type.as_deref(),
        transaction.deposit_memo.as_deref(),
    )
    .map_err(|e| format!("the deposit memo is not valid: {e}"))?;
    Ok((destination, amount, memo))
}

pub(super) fn no_trust_message(asset: &Asset) -> String {
    format!(
        "the destination account does not trust {}; add a trustline to receive the deposit",
        asset.code()
    )
}
