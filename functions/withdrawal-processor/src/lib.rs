//! The withdrawal processor (SQS, the withdrawals queue): pays out off-chain each withdrawal
//! whose Stellar payment arrived ([`WithdrawalProcessor`]): a conditional claim, then the
//! anchor's `process_withdrawal` hook once, then `completed` or `pending_external` (or `error`).
//! A redelivery never calls the hook again. Messages to retry are reported as batch item
//! failures; after five receipts the queue moves them to its dead-letter queue.

use std::sync::Arc;

use anchor_integrations::{Anchor, BankSettings, DemoBank, KycSettings};
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Source};
use mooring::payments::withdrawals::WithdrawalProcessor;
use mooring::queue::QueueMessage;
use mooring::store::{CustomerStore, TransactionStore};

pub use mooring::queue::sqs_event::{SqsBatchResponse, SqsEvent, SqsRecord};

pub type Service<S> = WithdrawalProcessor<S, Anchor<S>>;

pub struct Ports<S> {
    pub store: Arc<S>,
    pub clock: Arc<dyn Clock>,
}

/// Reads configuration (once per cold start) and builds the processor with the anchor's rail
/// (the reference rail pays out at the demo bank, `DEMO_BANK_URL`). Holds no Stellar secret.
pub fn service<S>(settings: &impl Source, ports: Ports<S>) -> Result<Service<S>, String>
where
    S: TransactionStore + CustomerStore,
{
    AnchorConfig::from_source(settings).map_err(|e| e.to_string())?;
    let kyc = KycSettings::from_source(settings).map_err(|e| e.to_string())?;
    let bank = BankSettings::from_source(settings).map_err(|e| e.to_string())?;
    let bank = DemoBank::from_settings(&bank).map_err(|e| e.to_string())?;
    let integration = Anchor::new(ports.store.clone(), kyc, ports.clock.clone()).with_bank(bank);
    Ok(WithdrawalProcessor::new(
        ports.store,
        Arc::new(integration),
        ports.clock,
    ))
}

/// Handles a batch, one message after the other (payouts are few and each is one call to the
/// rail). Answers the ids of the messages to deliver again.
pub async fn handle<S>(service: &Service<S>, event: SqsEvent) -> SqsBatchResponse
where
    S: TransactionStore + CustomerStore,
{
    let mut failed = Vec::new();
    for record in event.records {
        let message = match QueueMessage::from_json(&record.body) {
            Ok(message) => message,
            Err(error) => {
                tracing::error!(message_id = %record.message_id, %error, "unreadable withdrawals message");
                failed.push(record.message_id);
                continue;
            }
        };
        match service.process_withdrawal(&message).await {
            Ok(processed) => tracing::info!(transaction_id = %message.transaction_id,
                outcome = ?processed, "withdrawals message done"),
            Err(error) => {
                tracing::warn!(transaction_id = %message.transaction_id, %error,
                    "withdrawal not finished; the message will be delivered again");
                failed.push(record.message_id);
            }
        }
    }
    SqsBatchResponse::failed(failed)
}
