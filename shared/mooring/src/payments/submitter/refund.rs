//! The submitter's refunds ([`crate::payments::refund`]): a Stellar refund is planned here (a
//! payment of the refund's amount to the sender, who must still exist and trust the asset) and
//! sent with the deposit's envelope machinery; a deposit's refund is made off chain by
//! `DepositIntegration::refund_deposit`, once per claim.

use super::{Plan, Step, SubmitOutcome, Submitter};
use crate::horizon::Horizon;
use crate::integrations::{DepositIntegration, IntegrationError};
use crate::model::{RefundPayment, SubmissionState, Transaction, TransactionStatus};
use crate::payments::claim::{older_than, WRITE_ATTEMPTS};
use crate::payments::refund::{abandon, sep_memo, settle, STALE_REFUND_CLAIM_SECS};
use crate::payments::WorkerError;
use crate::stellar::{Amount, Asset, MuxedAccount, Outgoing};
use crate::store::{ChannelLeases, StoreError, TransactionStore};
use crate::time::Timestamp;

/// `status_message` of a deposit whose refund hook failed with another error than `Invalid`.
const REFUND_FAILED_MESSAGE: &str =
    "The refund could not be made. The anchor has been notified and will contact you.";

impl<S, H, I> Submitter<S, H, I>
where
    S: TransactionStore + ChannelLeases,
    H: Horizon,
    I: DepositIntegration,
{
    /// The refund's payment: its amount of the transaction's asset to the sender, with the
    /// refund's memo.
    pub(super) async fn refund_plan(&self, transaction: &Transaction) -> Result<Plan, WorkerError> {
        let Some((refund, to)) = transaction
            .pending_refund
            .as_ref()
            .and_then(|r| Some((r, r.stellar.as_ref()?)))
        else {
            return Ok(Plan::Fail("no Stellar refund is under way".into()));
        };
        let Ok(destination) = to.destination.parse::<MuxedAccount>() else {
            return Ok(Plan::Fail(format!(
                "{} is not a Stellar account",
                to.destination
            )));
        };
        let memo = match sep_memo(&to.memo_type, to.memo.as_deref()) {
            Ok(memo) => memo,
            Err(error) => return Ok(Plan::Fail(format!("the refund memo is not valid: {error}"))),
        };
        let asset = &transaction.asset;
        let trusts = match self.horizon.account(&destination.account).await? {
            None => {
                return Ok(Plan::Fail(format!(
                    "account {} does not exist",
                    to.destination
                )))
            }
            Some(account) => {
                *asset == Asset::Native
                    || asset.issuer() == Some(&destination.account)
                    || account.balance(asset).is_some()
            }
        };
        if !trusts {
            return Ok(Plan::Fail(format!(
                "account {} does not trust {}",
                to.destination,
                asset.code()
            )));
        }
        Ok(Plan::Submit(
            memo,
            vec![Outgoing::Payment {
                destination,
                asset: asset.clone(),
                amount: refund.amount,
            }],
        ))
    }

    /// The refund's Stellar transaction `hash` landed: recorded in `refunds`.
    pub(super) async fn refund_sent(
        &self,
        mut transaction: Transaction,
        hash: &str,
    ) -> Result<Step, WorkerError> {
        let expected = transaction.status;
        let amount = refund_amount(&transaction);
        transaction.submission = SubmissionState::Confirmed;
        let payment = RefundPayment {
            id: hash.to_owned(),
            id_type: "stellar".into(),
            amount,
            fee: Amount::ZERO,
        };
        settle(&mut transaction, payment, self.timestamp());
        tracing::info!(transaction_id = %transaction.id, hash, %amount,
            status = %transaction.status, "refund sent on Stellar");
        self.write(
            transaction,
            expected,
            SubmitOutcome::Refunded {
                payment_id: hash.to_owned(),
            },
        )
        .await
    }

    /// A deposit's refund, off chain: claimed (a conditional write), then the hook, once.
    pub(super) async fn refund_off_chain(
        &self,
        transaction: Transaction,
    ) -> Result<Step, WorkerError> {
        let now = self.timestamp();
        let started = transaction
            .pending_refund
            .as_ref()
            .and_then(|r| r.started_at);
        if let Some(started) = started {
            if !older_than(started, now, STALE_REFUND_CLAIM_SECS) {
                return Err(WorkerError::Pending(format!(
                    "the refund of {} is in progress (claimed at {started})",
                    transaction.id
                )));
            }
            // The hook never reported back: whether money went back is unknown.
            tracing::error!(transaction_id = %transaction.id, %started,
                "deposit refund claimed but never finished; handed to the operator");
            let message = format!(
                "The refund started at {started} has no recorded outcome; the anchor is \
                 checking it with its bank."
            );
            return self
                .end_refund(transaction, |t| abandon(t, message, now))
                .await;
        }
        if let Some(paid) = self.deposit_payment_landed(&transaction).await? {
            let message = format!(
                "The deposit was paid on Stellar in transaction {paid}; it is not refunded."
            );
            return self
                .end_refund(transaction, |t| abandon(t, message, now))
                .await;
        }
        let mut claim = transaction.clone();
        if let Some(refund) = claim.pending_refund.as_mut() {
            refund.started_at = Some(now);
        }
        claim.updated_at = now;
        match self
            .store
            .update(&mut claim, TransactionStatus::PendingAnchor)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(Step::Again),
            Err(error) => return Err(error.into()),
        }

        // The one call of the hook for this claim.
        let amount = refund_amount(&claim);
        let answer = self.integration.refund_deposit(&claim, amount).await;
        let now = self.timestamp();
        match answer {
            Ok(reference) => {
                let id = reference.unwrap_or_else(|| {
                    let n = claim.refunds.as_ref().map_or(0, |r| r.payments.len()) + 1;
                    format!("{}-refund-{n}", claim.id)
                });
                tracing::info!(transaction_id = %claim.id, %id, %amount, "deposit refunded off chain");
                let payment = RefundPayment {
                    id: id.clone(),
                    id_type: "external".into(),
                    amount,
                    fee: Amount::ZERO,
                };
                self.finish_claim(claim, SubmitOutcome::Refunded { payment_id: id }, |t| {
                    settle(t, payment.clone(), now)
                })
                .await
            }
            Err(IntegrationError::Unavailable(cause)) => {
                tracing::warn!(transaction_id = %claim.id, %cause,
                    "refund rail unavailable; claim released, retry later");
                self.finish_claim(claim, SubmitOutcome::Ignored { status: None }, |t| {
                    if let Some(refund) = t.pending_refund.as_mut() {
                        refund.started_at = None;
                    }
                    t.updated_at = now;
                })
                .await?;
                Err(IntegrationError::Unavailable(cause).into())
            }
            Err(error) => {
                let message = match error {
                    IntegrationError::Invalid(message) => {
                        format!("The refund could not be made: {message}")
                    }
                    other => {
                        tracing::error!(transaction_id = %claim.id, error = %other, "refund_deposit failed");
                        REFUND_FAILED_MESSAGE.to_owned()
                    }
                };
                let outcome = SubmitOutcome::Failed {
                    status_message: message.clone(),
                };
                self.finish_claim(claim, outcome, |t| abandon(t, message.clone(), now))
                    .await
            }
        }
    }

    /// A deposit with a stored envelope (a submission that ended in `error`): the hash of that
    /// envelope if Horizon shows it went through after all.
    async fn deposit_payment_landed(
        &self,
        transaction: &Transaction,
    ) -> Result<Option<String>, WorkerError> {
        let Some(hash) = transaction.envelope_hash.as_deref() else {
            return Ok(None);
        };
        let record = self.horizon.transaction(hash).await?;
        Ok(record.filter(|r| r.successful).map(|r| r.hash))
    }

    /// Writes `end` on the transaction as read (`pending_anchor`); a lost race reads again.
    async fn end_refund(
        &self,
        mut transaction: Transaction,
        end: impl FnOnce(&mut Transaction),
    ) -> Result<Step, WorkerError> {
        let expected = transaction.status;
        end(&mut transaction);
        let outcome = SubmitOutcome::Failed {
            status_message: transaction.status_message.clone().unwrap_or_default(),
        };
        self.write(transaction, expected, outcome).await
    }

    /// Writes the hook's outcome (`apply`) on our claim: conditional, applied again on a fresh
    /// read while the claim is still ours (`pending_anchor`, the same `started_at`).
    async fn finish_claim(
        &self,
        claim: Transaction,
        outcome: SubmitOutcome,
        apply: impl Fn(&mut Transaction),
    ) -> Result<Step, WorkerError> {
        let ours = claim.pending_refund.as_ref().and_then(|r| r.started_at);
        let mut current = claim;
        for _ in 0..WRITE_ATTEMPTS {
            let still_ours = current.status == TransactionStatus::PendingAnchor
                && current.pending_refund.as_ref().and_then(|r| r.started_at) == ours;
            if !still_ours {
                tracing::error!(transaction_id = %current.id, status = %current.status,
                    "the deposit was moved during its refund; outcome not written (check the refund by hand)");
                return Ok(Step::Done(outcome));
            }
            let mut done = current.clone();
            apply(&mut done);
            match self
                .store
                .update(&mut done, TransactionStatus::PendingAnchor)
                .await
            {
                Ok(()) => return Ok(Step::Done(outcome)),
                Err(StoreError::Conflict) => {
                    current = self
                        .store
                        .get(&current.id)
                        .await?
                        .ok_or(WorkerError::Store(StoreError::Conflict))?;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    fn timestamp(&self) -> Timestamp {
        Timestamp::from_secs(self.now())
    }
}

/// The amount of the refund under way.
fn refund_amount(transaction: &Transaction) -> Amount {
    transaction
        .pending_refund
        .as_ref()
        .map_or(Amount::ZERO, |r| r.amount)
}
