//! The SQS event a Lambda receives from its event source mapping, and the partial batch
//! response (`ReportBatchItemFailures`): only what the consumers read. Plain serde types (no AWS
//! SDK), shared by the queue-driven functions (stellar-submitter, withdrawal-processor).

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
