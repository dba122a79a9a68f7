//! Dead-letter queues: how deep each is, and moving their messages back to the queue they came
//! from ("redrive") once the cause is fixed.
//!
//! A redrive receives a few messages, sends each body back to its source queue, then deletes it
//! from the dead-letter queue. It is safe to repeat or to interrupt anywhere: a message is
//! deleted only after it was sent, so none is lost; one sent but not deleted (a crash, a failed
//! delete) comes back into view and is sent again by the next redrive, a duplicate that the
//! workers' idempotence makes harmless.

use std::future::Future;

use serde::Serialize;

use crate::queue::QueueError;

/// A message received from a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub body: String,
    /// What deletes this receipt of it (an SQS receipt handle).
    pub receipt: String,
}

/// A dead-letter queue together with its source queue.
pub trait DeadLetterQueue: Send + Sync {
    /// Messages waiting in the dead-letter queue (approximate on SQS).
    fn depth(&self) -> impl Future<Output = Result<u64, QueueError>> + Send;

    /// Up to `max` (1-10) messages, hidden from other readers until deleted or until their
    /// visibility ends; none when the queue is empty.
    fn receive(&self, max: u32)
        -> impl Future<Output = Result<Vec<DeadLetter>, QueueError>> + Send;

    /// Sends a body, unchanged, to the source queue.
    fn send_to_source(&self, body: &str) -> impl Future<Output = Result<(), QueueError>> + Send;

    fn delete(&self, letter: &DeadLetter) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// What a redrive moved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedriveReport {
    /// Messages sent back and deleted from the dead-letter queue.
    pub moved: usize,
    /// Why it stopped before the dead-letter queue was empty, if it did (nothing is lost: what
    /// is left stays in the dead-letter queue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// Messages received per call.
const BATCH: u32 = 10;

/// Moves at most `max` messages from the dead-letter queue back to its source. Stops at the
/// first failure, with what was moved so far: a message sent but not deleted is sent again by
/// the next redrive.
pub async fn redrive<D: DeadLetterQueue>(queue: &D, max: usize) -> RedriveReport {
    let mut report = RedriveReport::default();
    while report.moved < max {
        let wanted = u32::try_from(max - report.moved).map_or(BATCH, |left| left.min(BATCH));
        let letters = match queue.receive(wanted).await {
            Ok(letters) => letters,
            Err(error) => {
                report.stopped = Some(format!("receiving failed: {error}"));
                return report;
            }
        };
        if letters.is_empty() {
            return report;
        }
        for letter in letters {
            if let Err(error) = queue.send_to_source(&letter.body).await {
                report.stopped = Some(format!(
                    "sending back failed: {error} (the message stays in the dead-letter queue)"
                ));
                return report;
            }
            if let Err(error) = queue.delete(&letter).await {
                report.stopped = Some(format!(
                    "a message was sent back but not deleted: {error} (the next redrive sends \
                     it again, which the workers ignore)"
                ));
                return report;
            }
            report.moved += 1;
        }
    }
    report
}

#[cfg(any(test, feature = "testing"))]
pub use memory::InMemoryDeadLetters;

#[cfg(any(test, feature = "testing"))]
mod memory {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Mutex, MutexGuard};

    use super::{DeadLetter, DeadLetterQueue};
    use crate::queue::QueueError;

    /// A dead-letter queue and its source in memory (tests). A received message is in flight
    /// until deleted; [`expire_visibility`](Self::expire_visibility) makes the undeleted ones
    /// visible again, as SQS does when their visibility timeout ends.
    #[derive(Debug, Default)]
    pub struct InMemoryDeadLetters {
        waiting: Mutex<VecDeque<(usize, String)>>,
        in_flight: Mutex<Vec<(usize, String)>>,
        source: Mutex<Vec<String>>,
        next_id: AtomicUsize,
        fail_next_send: AtomicBool,
        fail_next_delete: AtomicBool,
    }

    fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        mutex.lock().unwrap_or_else(|e| e.into_inner())
    }

    impl InMemoryDeadLetters {
        pub fn push(&self, body: &str) {
            let id = self.next_id.fetch_add(1, Ordering::SeqCst);
            lock(&self.waiting).push_back((id, body.to_owned()));
        }

        /// The bodies sent to the source queue, in order.
        pub fn source(&self) -> Vec<String> {
            lock(&self.source).clone()
        }

        /// Messages in the dead-letter queue, visible or in flight.
        pub fn len(&self) -> usize {
            lock(&self.waiting).len() + lock(&self.in_flight).len()
        }

        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }

        pub fn expire_visibility(&self) {
            let mut in_flight = lock(&self.in_flight);
            lock(&self.waiting).extend(in_flight.drain(..));
        }

        pub fn fail_next_send(&self) {
            self.fail_next_send.store(true, Ordering::SeqCst);
        }

        pub fn fail_next_delete(&self) {
            self.fail_next_delete.store(true, Ordering::SeqCst);
        }
    }

    impl DeadLetterQueue for InMemoryDeadLetters {
        async fn depth(&self) -> Result<u64, QueueError> {
            Ok(u64::try_from(lock(&self.waiting).len()).unwrap_or(u64::MAX))
        }

        async fn receive(&self, max: u32) -> Result<Vec<DeadLetter>, QueueError> {
            let mut waiting = lock(&self.waiting);
            let mut in_flight = lock(&self.in_flight);
            let take = usize::try_from(max)
                .unwrap_or(usize::MAX)
                .min(waiting.len());
            Ok(waiting
                .drain(..take)
                .map(|(id, body)| {
                    in_flight.push((id, body.clone()));
                    DeadLetter {
                        body,
                        receipt: id.to_string(),
                    }
                })
                .collect())
        }

        async fn send_to_source(&self, body: &str) -> Result<(), QueueError> {
            if self.fail_next_send.swap(false, Ordering::SeqCst) {
                return Err(QueueError::Unavailable("send refused".into()));
            }
            lock(&self.source).push(body.to_owned());
            Ok(())
        }

        async fn delete(&self, letter: &DeadLetter) -> Result<(), QueueError> {
            if self.fail_next_delete.swap(false, Ordering::SeqCst) {
                return Err(QueueError::Unavailable("delete refused".into()));
            }
            lock(&self.in_flight).retain(|(id, _)| id.to_string() != letter.receipt);
            Ok(())
        }
    }
}
