//! The outgoing-payments worker (SQS, the outgoing-payments queue): pays the receiver of each
//! SEP-31 payment received (`pending_receiver`, queued by the payment watcher, by SEP-12 once
//! the customers are complete, or by a `PATCH`) through [`OutgoingProcessor`]: a conditional
//! claim, then the anchor's `execute_outgoing_transaction` hook once, then `completed`,
//! `pending_external`, back to the sending anchor for SEP-12 or transaction fields, or `error`
//! (a payout the rail refused for good is refunded to the sending anchor: queued on the
//! submissions queue for the Stellar submitter). A redelivery never calls the hook again. Messages to retry are reported as batch item
//! failures; after five receipts the queue moves them to its dead-letter queue.

use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use mooring::clock::Clock;
use mooring::config::Source;
use mooring::integrations::ReceiveIntegration;
use mooring::payments::OutgoingProcessor;
use mooring::queue::DynQueue;
use mooring::startup::StartupError;
use mooring::store::{CustomerStore, TransactionStore};

use mooring::queue::sqs_event::one_by_one;
pub use mooring::queue::sqs_event::{SqsBatchResponse, SqsEvent, SqsRecord};

pub type Service<S> = OutgoingProcessor<S, Integration<S>>;

pub struct Ports<S> {
    pub store: Arc<S>,
    pub clock: Arc<dyn Clock>,
    /// The Stellar submitter's queue, for refunds of payouts the rail refused.
    pub submissions: Arc<dyn DynQueue>,
}

/// Builds the worker (once per cold start) with the anchor's integration (its rail; the
/// reference rail pays at the demo bank, `DEMO_BANK_URL`, and records rejected receiver fields
/// on the SEP-12 customer). Holds no Stellar secret.
pub fn service<S>(settings: &impl Source, ports: Ports<S>) -> Result<Service<S>, StartupError>
where
    S: TransactionStore + CustomerStore,
    Integration<S>: ReceiveIntegration,
{
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    Ok(
        OutgoingProcessor::new(ports.store, Arc::new(integration), ports.clock)
            .with_refunds(ports.submissions),
    )
}

/// Handles a batch, one message after the other (payouts are few and each is one call to the
/// rail). Answers the ids of the messages to deliver again.
pub async fn handle<S>(service: &Service<S>, event: SqsEvent) -> SqsBatchResponse
where
    S: TransactionStore + CustomerStore,
    Integration<S>: ReceiveIntegration,
{
    one_by_one(event, "outgoing-payments", async |message| {
        service.process_outgoing(message).await
    })
    .await
}
