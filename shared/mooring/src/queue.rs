//! Queues as a port: work handed from one function to another (e.g. a SEP-31 transaction whose
//! customers are now complete, to the outgoing-payments worker). One queue per purpose; the
//! message names the transaction and its kind, and the consumer reads the rest from the store
//! (so a message seen twice does the work once: consumers check the transaction's status).
//!
//! Adapters: [`InMemoryQueue`] here (tests, the local gateway); [`sqs::SqsQueue`] in Lambda.

#[cfg(feature = "sqs")]
pub mod sqs;
pub mod sqs_event;

use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::model::Kind;

/// What is queued: a transaction to work on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMessage {
    pub transaction_id: String,
    pub kind: Kind,
}

impl QueueMessage {
    pub fn new(transaction_id: impl Into<String>, kind: Kind) -> Self {
        Self {
            transaction_id: transaction_id.into(),
            kind,
        }
    }

    /// The message body on the wire: `{"transaction_id": "...", "kind": "receive"}`.
    pub fn to_json(&self) -> String {
        // A string and a unit enum: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(body: &str) -> Result<Self, QueueError> {
        serde_json::from_str(body).map_err(|e| QueueError::Malformed(e.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("the queue is unavailable: {0}")]
    Unavailable(String),
    #[error("a queued message could not be read: {0}")]
    Malformed(String),
}

pub trait Queue: Send + Sync {
    fn send(&self, message: &QueueMessage) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// A queue whose messages are whole JSON documents rather than a transaction to re-read (the
/// callbacks queue carries each callback, rendered as of the version it announces).
pub trait BodyQueue: Send + Sync {
    fn send_body(&self, body: &str) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// How a consumer delays the next delivery of a message it failed (retry backoff): the message
/// stays hidden for `seconds` (SQS `ChangeMessageVisibility` on the received message).
pub trait Redelivery: Send + Sync {
    fn redeliver_after(
        &self,
        receipt_handle: &str,
        seconds: u32,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// Records every body sent, in order, and every redelivery delay asked for.
#[derive(Debug, Default)]
pub struct InMemoryBodyQueue {
    bodies: Mutex<Vec<String>>,
    delays: Mutex<Vec<(String, u32)>>,
}

impl InMemoryBodyQueue {
    /// Removes and returns the bodies sent so far (as a consumer would receive them).
    pub fn drain(&self) -> Vec<String> {
        std::mem::take(&mut *self.bodies.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The `(receipt handle, seconds)` of each redelivery delay, in order.
    pub fn delays(&self) -> Vec<(String, u32)> {
        self.delays
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl BodyQueue for InMemoryBodyQueue {
    async fn send_body(&self, body: &str) -> Result<(), QueueError> {
        self.bodies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(body.to_owned());
        Ok(())
    }
}

impl Redelivery for InMemoryBodyQueue {
    async fn redeliver_after(&self, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        self.delays
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((receipt_handle.to_owned(), seconds));
        Ok(())
    }
}

/// A queue behind `dyn`: a worker's optional queue without one more type parameter (e.g. the
/// submissions queue of the payout workers, for refunds). Every [`Queue`] is one.
pub trait DynQueue: Send + Sync {
    fn send_boxed<'a>(
        &'a self,
        message: &'a QueueMessage,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), QueueError>> + Send + 'a>>;
}

impl<Q: Queue> DynQueue for Q {
    fn send_boxed<'a>(
        &'a self,
        message: &'a QueueMessage,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), QueueError>> + Send + 'a>> {
        Box::pin(self.send(message))
    }
}

/// Records every message sent, in order.
#[derive(Debug, Default)]
pub struct InMemoryQueue {
    messages: Mutex<Vec<QueueMessage>>,
}

impl InMemoryQueue {
    fn lock(&self) -> MutexGuard<'_, Vec<QueueMessage>> {
        self.messages.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The messages sent so far.
    pub fn messages(&self) -> Vec<QueueMessage> {
        self.lock().clone()
    }

    /// Removes and returns the messages sent so far (as a consumer would receive them).
    pub fn drain(&self) -> Vec<QueueMessage> {
        std::mem::take(&mut *self.lock())
    }
}

impl Queue for InMemoryQueue {
    async fn send(&self, message: &QueueMessage) -> Result<(), QueueError> {
        self.lock().push(message.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_messages_in_order() {
        let queue = InMemoryQueue::default();
        queue
            .send(&QueueMessage::new("a", Kind::Receive))
            .await
            .unwrap();
        queue
            .send(&QueueMessage::new("b", Kind::Withdrawal))
            .await
            .unwrap();
        assert_eq!(
            queue.messages(),
            [
                QueueMessage::new("a", Kind::Receive),
                QueueMessage::new("b", Kind::Withdrawal)
            ]
        );
        assert_eq!(queue.drain().len(), 2);
        assert!(queue.messages().is_empty());
    }

    #[test]
    fn round_trips_json() {
        let message = QueueMessage::new("t-1", Kind::Receive);
        let json = message.to_json();
        assert_eq!(json, r#"{"transaction_id":"t-1","kind":"receive"}"#);
        assert_eq!(QueueMessage::from_json(&json).unwrap(), message);
        assert!(QueueMessage::from_json("{}").is_err());
    }
}
