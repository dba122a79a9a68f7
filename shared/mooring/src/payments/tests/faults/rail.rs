//! The simulation's rail: reports the deposits whose bank transfers arrived, pays withdrawals
//! and SEP-31 receivers as each case's [`Payout`] says (recording every payout, so a payout
//! made twice shows), is sometimes out of reach (`Unavailable`: nothing paid), and sometimes
//! so slow that the claim of the payout it is making goes stale meanwhile (the clock moves past
//! the stale limit while the hook runs, and a concurrent delivery may hand it to the operator).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ports::Faults;
use crate::clock::{Clock, FixedClock};
use crate::i18n::Lang;
use crate::integrations::{
    CompletedPayout, DepositIntegration, FeeIntegration, FlowContext, Form, FormValues,
    IntegrationError, InteractiveFlow, OutgoingOutcome, ReceiveIntegration, ReceivedDeposit,
    WithdrawalIntegration, WithdrawalOutcome,
};
use crate::model::{Transaction, TransactionStatus};
use crate::payments::withdrawals::DEFAULT_STALE_CLAIM_SECS;
use crate::stellar::Amount;

/// How the rail answers a case's payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Payout {
    /// Paid at once: `completed`.
    Complete,
    /// Paid through a slower rail: `pending_external`, then reported done.
    External,
    /// Refused for good (nothing paid): the payment is refunded on Stellar.
    Refuse,
}

/// Per mille of rail calls that find it out of reach.
const UNAVAILABLE: u64 = 60;
/// Per mille of payouts that take longer than a claim stays fresh.
const SLOW: u64 = 80;

pub(super) struct SimRail {
    faults: Arc<Faults>,
    clock: Arc<FixedClock>,
    arrived: Mutex<Vec<ReceivedDeposit>>,
    plans: Mutex<HashMap<String, Payout>>,
    /// Every payout made, per transaction.
    bank: Mutex<HashMap<String, Vec<Amount>>>,
}

impl SimRail {
    pub(super) fn new(faults: Arc<Faults>, clock: Arc<FixedClock>) -> Self {
        Self {
            faults,
            clock,
            arrived: Mutex::default(),
            plans: Mutex::default(),
            bank: Mutex::default(),
        }
    }

    pub(super) fn plan(&self, id: &str, payout: Payout) {
        self.plans
            .lock()
            .expect("rail")
            .insert(id.to_owned(), payout);
    }

    pub(super) fn arrive(&self, deposit: ReceivedDeposit) {
        self.arrived.lock().expect("rail").push(deposit);
    }

    /// The payouts made for `id`.
    pub(super) fn payouts(&self, id: &str) -> Vec<Amount> {
        self.bank
            .lock()
            .expect("rail")
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    fn out_of_reach(&self) -> Result<(), IntegrationError> {
        if self.faults.active() && self.faults.chance(UNAVAILABLE) {
            return Err(IntegrationError::Unavailable("bank down (injected)".into()));
        }
        Ok(())
    }

    /// Pays `t` out as planned: whether it went `External`, or the refusal.
    async fn pay(&self, t: &Transaction) -> Result<Payout, IntegrationError> {
        tokio::task::yield_now().await;
        self.out_of_reach()?;
        let plan = self.plans.lock().expect("rail").get(&t.id).copied();
        let plan = plan.ok_or_else(|| IntegrationError::Internal("no plan".into()))?;
        if plan == Payout::Refuse {
            return Err(IntegrationError::invalid(
                "the receiving bank account is closed",
            ));
        }
        let paid = t
            .amount_out
            .ok_or_else(|| IntegrationError::Internal("no amount_out".into()))?;
        self.bank
            .lock()
            .expect("rail")
            .entry(t.id.clone())
            .or_default()
            .push(paid);
        if self.faults.active() && self.faults.chance(SLOW) {
            // Past the stale-claim limit before the answer comes back; others run meanwhile.
            self.clock
                .set(self.clock.now() + DEFAULT_STALE_CLAIM_SECS + 1 + self.faults.below(300));
            for _ in 0..8 {
                tokio::task::yield_now().await;
            }
        }
        Ok(plan)
    }

    fn reference(t: &Transaction) -> Option<String> {
        Some(format!("BANK-OUT-{}", &t.id[..8]))
    }
}

impl InteractiveFlow for SimRail {
    async fn form_for_transaction(
        &self,
        _context: FlowContext<'_>,
    ) -> Result<Option<Form>, IntegrationError> {
        Ok(None)
    }

    async fn after_form_validation(
        &self,
        _transaction: &mut Transaction,
        _form: &Form,
        _values: &FormValues,
        _lang: Lang,
    ) -> Result<(), IntegrationError> {
        Ok(())
    }
}

impl DepositIntegration for SimRail {
    async fn poll_pending_deposits(
        &self,
        pending: &[Transaction],
    ) -> Result<Vec<ReceivedDeposit>, IntegrationError> {
        tokio::task::yield_now().await;
        self.out_of_reach()?;
        let arrived = self.arrived.lock().expect("rail").clone();
        Ok(arrived
            .into_iter()
            .filter(|d| pending.iter().any(|t| t.id == d.transaction_id))
            .collect())
    }
}

impl WithdrawalIntegration for SimRail {
    async fn process_withdrawal(
        &self,
        transaction: &Transaction,
    ) -> Result<WithdrawalOutcome, IntegrationError> {
        assert_eq!(transaction.status, TransactionStatus::PendingAnchor);
        let external_transaction_id = Self::reference(transaction);
        Ok(match self.pay(transaction).await? {
            Payout::External => WithdrawalOutcome::PendingExternal {
                external_transaction_id,
            },
            _ => WithdrawalOutcome::Completed {
                external_transaction_id,
            },
        })
    }

    async fn poll_outgoing_transactions(
        &self,
        pending: &[Transaction],
    ) -> Result<Vec<CompletedPayout>, IntegrationError> {
        tokio::task::yield_now().await;
        self.out_of_reach()?;
        let bank = self.bank.lock().expect("rail");
        Ok(pending
            .iter()
            .filter(|t| bank.contains_key(&t.id))
            .map(|t| CompletedPayout {
                transaction_id: t.id.clone(),
                external_transaction_id: Self::reference(t),
            })
            .collect())
    }
}

impl ReceiveIntegration for SimRail {
    async fn execute_outgoing_transaction(
        &self,
        transaction: &Transaction,
    ) -> Result<OutgoingOutcome, IntegrationError> {
        assert_eq!(transaction.status, TransactionStatus::PendingReceiver);
        let external_transaction_id = Self::reference(transaction);
        Ok(match self.pay(transaction).await? {
            Payout::External => OutgoingOutcome::PendingExternal {
                external_transaction_id,
            },
            _ => OutgoingOutcome::Completed {
                external_transaction_id,
            },
        })
    }
}

impl FeeIntegration for SimRail {}
