//! Status callbacks that are never lost (issue 16): SEP-6/24 `on_change_callback`, SEP-31
//! sending-anchor callbacks (digest 7.5) and SEP-12 customer callbacks, all signed (digest 5.6).
//!
//! Nothing that changes a transaction or a customer sends a callback itself. The tables' DynamoDB
//! Streams carry every write, in order per item, to the callback dispatcher
//! (`functions/callback-dispatcher`), which renders the body a wallet asked for as of that
//! version ([`dispatch`]) and queues it on the callbacks queue. The stream keeps a change until
//! the dispatcher has queued it, so a function that dies right after its write loses no callback,
//! and no writer pays for an enqueue. The callback sender (`functions/callback-sender`) signs
//! each queued body at the moment it posts it and retries with exponential backoff until the
//! receiver answers 2xx ([`delivery`]); after [`delivery::MAX_ATTEMPTS`] the queue moves the
//! message to its dead-letter queue for the operator.
//!
//! A receiver may see a body twice (a redelivery) or an older one after a newer one (a retry):
//! each body is the transaction as of one version, with its `updated_at`, so it can tell.

pub mod delivery;
pub mod dispatch;
pub mod stream;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

/// What a callback is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    Transaction,
    Customer,
}

/// One callback to deliver: the callbacks queue's message. The body is rendered when the
/// change is dispatched (the record as of `version`); the signature is made when it is sent, so
/// that a retried callback is not refused as stale (receivers drop signatures older than a
/// minute or two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueCallback {
    pub subject: Subject,
    /// The transaction's or the customer's id.
    pub id: String,
    /// The record's version the body shows.
    pub version: u64,
    pub url: String,
    /// The exact JSON body to POST.
    pub body: String,
}

impl DueCallback {
    pub fn to_json(&self) -> String {
        // Strings and numbers only: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }
}
