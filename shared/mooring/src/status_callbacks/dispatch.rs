//! Which changes a wallet asked to hear about, and the body it gets (the callback dispatcher).
//!
//! - Transactions: a change of `status` (SEP-6/24 also of `kyc_verified`) of a transaction with
//!   a callback URL is posted as the SEP's own `GET` body of that version (SEP-24 and SEP-6
//!   `{"transaction": ...}`, SEP-31 `{"transaction": ...}` of `GET /transactions/:id`). A SEP-6/24
//!   transaction created with `on_change_callback` is announced once created; a SEP-31
//!   transaction is not (digest 7.5: not needed for the initial `pending_sender`, and its URL
//!   comes later anyway). Setting the URL alone announces nothing.
//! - The end of a SEP-24 interactive flow: the write that moves the transaction out of
//!   `incomplete` carries the flow's `callback` URL (`flow_callback_url`), which gets that
//!   version's body once ([`flow_end_callback`]), unless it is the `on_change_callback` URL,
//!   which is posted the same change anyway.
//! - Customers: SEP-12 posts the `GET /customer` body to the customer's callback URL on every
//!   change of its `status`. The status is the integration's to judge, so the dispatcher asks it
//!   (as `GET /customer` does) after each write to the customer, and posts when the status
//!   differs from the last one posted, which it keeps in the worker-state table
//!   ([`Cursors`], `customer-callback#<id>`): a write that changes no status posts nothing.

use std::sync::Arc;

use super::{DueCallback, Subject};
use crate::integrations::{CustomerIntegration, CustomerQuery, IntegrationError};
use crate::metrics::Metric;
use crate::model::{Customer, Kind, Protocol, Transaction, TransactionStatus};
use crate::queue::{BodyQueue, QueueError};
use crate::store::{Cursors, StoreError};
use crate::transfer::callback::parse_callback_url;

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the customer integration failed: {0}")]
    Integration(#[from] IntegrationError),
    #[error("a callback body could not be rendered: {0}")]
    Render(#[from] serde_json::Error),
}

/// Renders a transaction as its SEP's `GET` body, `{"transaction": ...}`, given the anchor's
/// public URL (each SEP module's `view::callback_body`).
pub type RenderBody = fn(&Transaction, &str) -> Result<String, serde_json::Error>;

/// Each SEP's body of a transaction. The SEP modules render them and the function wires them
/// here (the crate's floors: nothing below the SEPs names one).
#[derive(Clone)]
pub struct Bodies {
    pub sep6: RenderBody,
    pub sep24: RenderBody,
    pub sep31: RenderBody,
    /// The anchor's public URL (SEP-24 `more_info_url`).
    pub public_url: String,
}

impl Bodies {
    fn render(&self, transaction: &Transaction) -> Result<String, serde_json::Error> {
        let render = match transaction.protocol {
            Protocol::Sep6 => self.sep6,
            Protocol::Sep24 => self.sep24,
            Protocol::Sep31 => self.sep31,
        };
        render(transaction, &self.public_url)
    }
}

/// The callback a transaction's write calls for, if any: `old` is the stored transaction before
/// the write (`None` for a new one).
pub fn transaction_callback(
    old: Option<&Transaction>,
    new: &Transaction,
    bodies: &Bodies,
) -> Result<Option<DueCallback>, serde_json::Error> {
    let Some(url) = new.callback_url.as_deref().and_then(parse_callback_url) else {
        return Ok(None);
    };
    let due = match (old, new.protocol) {
        (None, Protocol::Sep31) => false,
        (None, _) => true,
        (Some(old), Protocol::Sep31) => old.status != new.status,
        (Some(old), _) => old.status != new.status || old.kyc_verified != new.kyc_verified,
    };
    if !due {
        return Ok(None);
    }
    let body = bodies.render(new)?;
    Ok(Some(DueCallback {
        subject: Subject::Transaction,
        id: new.id.clone(),
        version: new.version,
        url: url.to_string(),
        body,
    }))
}

/// The callback a SEP-24 transaction's write calls for at the end of its interactive flow: the
/// flow's `callback` URL, when the write moves it out of `incomplete`.
pub fn flow_end_callback(
    old: Option<&Transaction>,
    new: &Transaction,
    bodies: &Bodies,
) -> Result<Option<DueCallback>, serde_json::Error> {
    let ends_the_flow = new.protocol == Protocol::Sep24
        && old.is_some_and(|old| old.status == TransactionStatus::Incomplete)
        && new.status != TransactionStatus::Incomplete;
    // Most writes end no flow: nothing is parsed for them.
    if !ends_the_flow {
        return Ok(None);
    }
    let Some(url) = new
        .flow_callback_url
        .as_deref()
        .and_then(parse_callback_url)
    else {
        return Ok(None);
    };
    let on_change = new.callback_url.as_deref().and_then(parse_callback_url);
    if on_change.as_ref() == Some(&url) {
        return Ok(None);
    }
    Ok(Some(DueCallback {
        subject: Subject::Transaction,
        id: new.id.clone(),
        version: new.version,
        url: url.to_string(),
        body: bodies.render(new)?,
    }))
}

/// Every callback a transaction's write calls for, in the order they are queued.
pub fn due_callbacks(
    old: Option<&Transaction>,
    new: &Transaction,
    bodies: &Bodies,
) -> Result<Vec<DueCallback>, serde_json::Error> {
    let due = [
        transaction_callback(old, new, bodies)?,
        flow_end_callback(old, new, bodies)?,
    ];
    Ok(due.into_iter().flatten().collect())
}

/// What the wallets hear of an in-memory store's writes: the callbacks the dispatcher queues for
/// its change stream, accumulated (the writers' tests: a status change they write is posted
/// once, by the callback sender, and nothing else is).
#[cfg(any(test, feature = "testing"))]
pub struct Heard {
    store: Arc<crate::store::InMemoryStore>,
    bodies: Bodies,
    heard: std::sync::Mutex<Vec<DueCallback>>,
}

#[cfg(any(test, feature = "testing"))]
impl Heard {
    /// `store` must keep its stream ([`crate::store::InMemoryStore::with_stream`]).
    pub fn new(store: Arc<crate::store::InMemoryStore>, bodies: Bodies) -> Self {
        Self {
            store,
            bodies,
            heard: std::sync::Mutex::default(),
        }
    }

    /// Every callback due so far, oldest first.
    pub fn callbacks(&self) -> Vec<DueCallback> {
        let mut heard = self.heard.lock().unwrap_or_else(|e| e.into_inner());
        for (old, new) in self.store.take_stream() {
            heard.extend(due_callbacks(old.as_ref(), &new, &self.bodies).expect("renders"));
        }
        heard.clone()
    }
}

/// Bodies showing only a transaction's id and status (the tests of the workers, below the SEPs).
#[cfg(any(test, feature = "testing"))]
pub fn status_bodies() -> Bodies {
    fn view(t: &Transaction, _public_url: &str) -> Result<String, serde_json::Error> {
        serde_json::to_string(&serde_json::json!({"transaction": {"id": t.id, "status": t.status}}))
    }
    Bodies {
        sep6: view,
        sep24: view,
        sep31: view,
        public_url: String::new(),
    }
}

/// The `(transaction id, status)` of each callback a store's changes call for, in order (the
/// workers' tests: each status change they write is heard once).
#[cfg(any(test, feature = "testing"))]
pub fn heard_statuses(
    changes: Vec<crate::store::memory::TransactionChange>,
) -> Vec<(String, String)> {
    let bodies = status_bodies();
    changes
        .iter()
        .flat_map(|(old, new)| due_callbacks(old.as_ref(), new, &bodies).expect("renders"))
        .map(|callback| {
            let body: serde_json::Value = serde_json::from_str(&callback.body).expect("json");
            let status = body["transaction"]["status"].as_str().unwrap_or_default();
            (callback.id, status.to_owned())
        })
        .collect()
}

/// Counts a transaction that just reached a final status (`TransactionsFinished`, by kind and
/// outcome). Every write passes through the dispatcher, so this is the one place that sees
/// every ending, whichever function wrote it.
fn count_outcome(old: Option<&Transaction>, new: &Transaction) {
    if !new.status.is_final() || old.is_some_and(|old| old.status == new.status) {
        return;
    }
    let kind = if new.kind.is_deposit() {
        "deposit"
    } else if new.kind == Kind::Receive {
        "receive"
    } else {
        "withdrawal"
    };
    crate::metrics::count(
        Metric::TransactionsFinished,
        &[("Kind", kind), ("Outcome", new.status.as_str())],
    );
}

/// The dispatcher: turns the tables' changes into queued callbacks, built once per cold start.
pub struct Dispatcher<Q, I, W> {
    queue: Arc<Q>,
    customers: Arc<I>,
    posted: Arc<W>,
    bodies: Bodies,
}

impl<Q, I, W> Dispatcher<Q, I, W>
where
    Q: BodyQueue,
    I: CustomerIntegration,
    W: Cursors,
{
    /// `customers` judges a customer's status; `posted` keeps the last status posted per
    /// customer; `bodies` renders transactions.
    pub fn new(queue: Arc<Q>, customers: Arc<I>, posted: Arc<W>, bodies: Bodies) -> Self {
        Self {
            queue,
            customers,
            posted,
            bodies,
        }
    }

    /// The customer integration (tests set the status it answers).
    #[cfg(test)]
    pub(super) fn customers(&self) -> &I {
        &self.customers
    }

    /// A transaction was written: queues the callbacks it calls for (its status change, the
    /// end of its interactive flow). True when any was queued.
    pub async fn transaction_changed(
        &self,
        old: Option<&Transaction>,
        new: &Transaction,
    ) -> Result<bool, DispatchError> {
        let mut queued = false;
        // A redelivered record queues them again: a receiver tolerates a duplicate.
        for callback in due_callbacks(old, new, &self.bodies)? {
            self.queue.send_body(&callback.to_json()).await?;
            tracing::info!(transaction_id = %new.id, version = new.version,
                status = %new.status, "callback queued");
            queued = true;
        }
        // Counted once the change is dispatched: a change that fails comes again.
        count_outcome(old, new);
        Ok(queued)
    }

    /// A customer was written: queues the `GET /customer` body if its status changed since the
    /// last one posted. True when queued.
    pub async fn customer_changed(&self, customer: &Customer) -> Result<bool, DispatchError> {
        let Some(url) = customer
            .callback_url
            .as_deref()
            .and_then(parse_callback_url)
        else {
            return Ok(false);
        };
        let query = CustomerQuery {
            user: customer.user,
            id: Some(customer.id.clone()),
            kyc_type: None,
            transaction_id: None,
            lang: "en".into(),
        };
        let info = match self.customers.get(&query).await {
            Ok(info) => info,
            // Erased since (a later stream record says so): nothing to tell.
            Err(IntegrationError::NotFound) => return Ok(false),
            Err(error) => return Err(error.into()),
        };
        let status = serde_json::to_value(info.status)?;
        let status = status.as_str().unwrap_or_default();
        let name = format!("customer-callback#{}", customer.id);
        let last = self.posted.cursor(&name).await?;
        if last.as_ref().is_some_and(|last| last.value == status) {
            return Ok(false);
        }
        let callback = DueCallback {
            subject: Subject::Customer,
            id: customer.id.clone(),
            version: customer.version,
            url: url.to_string(),
            body: serde_json::to_string(&info)?,
        };
        self.queue.send_body(&callback.to_json()).await?;
        match self
            .posted
            .save_cursor(&name, status, last.map(|l| l.version))
            .await
        {
            // Another dispatch of the same change saved it first: both queued, which a
            // receiver tolerates (a duplicate).
            Ok(_) | Err(StoreError::Conflict) => {}
            Err(error) => return Err(error.into()),
        }
        tracing::info!(customer_id = %customer.id, %status, "customer callback queued");
        Ok(true)
    }
}
