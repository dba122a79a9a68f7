//! The SQS event a Lambda receives from its event source mapping, and the partial batch
//! response (`ReportBatchItemFailures`): only what the consumers read. Plain serde types (no AWS
//! SDK), shared by the queue-driven functions (stellar-submitter, withdrawal-processor,
//! outgoing-payments).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsRecord>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SqsRecord {
    #[serde(rename = "messageId", default)]
    pub message_id: String,
    #[serde(default)]
    pub body: String,
    /// What a consumer needs to delay the message's next delivery ([`super::Redelivery`]).
    #[serde(rename = "receiptHandle", default)]
    pub receipt_handle: String,
    #[serde(default)]
    pub attributes: SqsAttributes,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SqsAttributes {
    /// How many times the message was received, this time included (a number, as a string).
    #[serde(rename = "ApproximateReceiveCount", default)]
    pub approximate_receive_count: String,
    /// When the message was sent, in Unix milliseconds (a number, as a string).
    #[serde(rename = "SentTimestamp", default)]
    pub sent_timestamp: String,
}

impl SqsRecord {
    /// The delivery this is: 1 for the first (also when the attribute is missing).
    pub fn receive_count(&self) -> u32 {
        self.attributes
            .approximate_receive_count
            .parse()
            .unwrap_or(1)
            .max(1)
    }

    /// Records the message's queue metrics as its processing starts at `now_ms` (Unix
    /// milliseconds): how long it waited since it was sent (none when the attribute is missing
    /// or in the future), and whether it is a redelivery.
    pub fn note_received(&self, now_ms: i64) {
        use crate::metrics::{count, record, Metric};
        if let Ok(sent) = self.attributes.sent_timestamp.parse::<i64>() {
            if sent <= now_ms {
                record(Metric::QueueLag, &[], (now_ms - sent) as f64);
            }
        }
        if self.receive_count() > 1 {
            count(Metric::Redeliveries, &[]);
        }
    }
}

/// Records the queue metrics of a batch's messages ([`SqsRecord::note_received`]) as of now.
pub fn note_received(records: &[SqsRecord]) {
    let now_ms = crate::time::Timestamp::now().millis();
    for record in records {
        record.note_received(now_ms);
    }
}

/// The messages to deliver again (the others are deleted from the queue).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqsBatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl SqsBatchResponse {
    pub fn failed(ids: impl IntoIterator<Item = String>) -> Self {
        Self {
            batch_item_failures: ids
                .into_iter()
                .map(|item_identifier| BatchItemFailure { item_identifier })
                .collect(),
        }
    }

    pub fn failed_ids(&self) -> Vec<&str> {
        self.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }
}

/// Handles a batch one message after the other (each is one call to a rail): an unreadable
/// body is logged and failed (it reaches the dead-letter queue after its retries); `process`
/// answering `Err` fails the message, to be delivered again. `queue` names the queue in logs.
pub async fn one_by_one<T, E>(
    event: SqsEvent,
    queue: &str,
    mut process: impl AsyncFnMut(&crate::queue::QueueMessage) -> Result<T, E>,
) -> SqsBatchResponse
where
    T: std::fmt::Debug,
    E: std::fmt::Display,
{
    use tracing::Instrument;

    let mut failed = Vec::new();
    note_received(&event.records);
    for record in event.records {
        let message = match crate::queue::QueueMessage::from_json(&record.body) {
            Ok(message) => message,
            Err(error) => {
                tracing::error!(message_id = %record.message_id, %error, "unreadable {queue} message");
                failed.push(record.message_id);
                continue;
            }
        };
        let span = tracing::info_span!("message", message_id = %record.message_id,
            transaction_id = %message.transaction_id);
        match process(&message).instrument(span.clone()).await {
            Ok(outcome) => {
                span.in_scope(|| tracing::info!(outcome = ?outcome, "{queue} message done"))
            }
            Err(error) => {
                span.in_scope(|| {
                    tracing::warn!(%error, "{queue} message not finished; it will be delivered again")
                });
                failed.push(record.message_id);
            }
        }
    }
    SqsBatchResponse::failed(failed)
}
