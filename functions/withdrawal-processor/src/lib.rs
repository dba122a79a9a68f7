//! The withdrawal processor (SQS, the withdrawals queue): pays out off-chain each withdrawal
//! whose Stellar payment arrived ([`WithdrawalProcessor`]): a conditional claim, then the
//! anchor's `process_withdrawal` hook once, then `completed` or `pending_external` (or `error`;
//! a payout the rail refused for good is refunded: queued on the submissions queue for the
//! Stellar submitter). A redelivery never calls the hook again. Messages to retry are reported as batch item
//! failures; after five receipts the queue moves them to its dead-letter queue.

use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use mooring::clock::Clock;
use mooring::config::Source;
use mooring::payments::withdrawals::WithdrawalProcessor;
use mooring::queue::DynQueue;
use mooring::startup::StartupError;
use mooring::store::{CustomerStore, TransactionStore};

use mooring::queue::sqs_event::one_by_one;
pub use mooring::queue::sqs_event::{SqsBatchResponse, SqsEvent, SqsRecord};

pub type Service<S> = WithdrawalProcessor<S, Integration<S>>;

pub struct Ports<S> {
    pub store: Arc<S>,
    pub clock: Arc<dyn Clock>,
    /// The Stellar submitter's queue, for refunds of payouts the rail refused.
    pub submissions: Arc<dyn DynQueue>,
}

/// Builds the processor (once per cold start) with the anchor's integration (its rail; the
/// reference rail pays out at the demo bank, `DEMO_BANK_URL`). Holds no Stellar secret.
pub fn service<S>(settings: &impl Source, ports: Ports<S>) -> Result<Service<S>, StartupError>
where
    S: TransactionStore + CustomerStore,
{
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    Ok(
        WithdrawalProcessor::new(ports.store, Arc::new(integration), ports.clock)
            .with_refunds(ports.submissions),
    )
}

/// Handles a batch, one message after the other (payouts are few and each is one call to the
/// rail). Answers the ids of the messages to deliver again.
pub async fn handle<S>(service: &Service<S>, event: SqsEvent) -> SqsBatchResponse
where
    S: TransactionStore + CustomerStore,
{
    one_by_one(event, "withdrawals", async |message| {
        service.process_withdrawal(message).await
    })
    .await
}
