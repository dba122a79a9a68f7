//! The callback dispatcher (DynamoDB Streams of the transactions and customers tables): for
//! each write, in order, queues the callback a wallet asked for, if the write calls for one
//! ([`Dispatcher`]: a transaction's status change, a customer's new SEP-12 status). The writers
//! never queue callbacks themselves, so a function that dies right after its write loses none:
//! the stream keeps each record until this function has handled it. A record that cannot be
//! dispatched now (the queue or the KYC integration is down) is reported failed, and the stream
//! delivers it and the records after it again; a record that can never be read is logged and
//! passed over, so it never blocks the stream.

use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, ConfigError, Source};
use mooring::model::{Customer, Transaction};
use mooring::queue::sqs_event::SqsBatchResponse;
use mooring::queue::BodyQueue;
use mooring::startup::StartupError;
use mooring::status_callbacks::dispatch::{Bodies, DispatchError, Dispatcher};
use mooring::store::{Cursors, CustomerStore, TransactionStore};
use serde::Deserialize;
use tracing::Instrument;

pub use mooring::status_callbacks::stream::{StreamEvent, StreamRecord};

pub struct Service<S, Q> {
    dispatcher: Dispatcher<Q, Integration<S>, S>,
    transactions_table: String,
    customers_table: String,
}

pub struct Ports<S, Q> {
    /// The customers (for the KYC integration) and the last status posted per customer.
    pub store: Arc<S>,
    /// The callbacks queue.
    pub callbacks: Arc<Q>,
    pub clock: Arc<dyn Clock>,
}

/// Builds the dispatcher (once per cold start): `PUBLIC_URL` for SEP-24 bodies, the tables'
/// names (`TRANSACTIONS_TABLE`, `CUSTOMERS_TABLE`) to tell the two streams apart, and the
/// anchor's KYC integration to judge customer statuses.
pub fn service<S, Q>(
    settings: &impl Source,
    ports: Ports<S, Q>,
) -> Result<Service<S, Q>, StartupError>
where
    S: TransactionStore + CustomerStore + Cursors,
    Q: BodyQueue,
{
    let anchor = AnchorConfig::from_source(settings)?;
    let table = |name: &'static str| settings.get(name).ok_or(ConfigError::Missing(name));
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    Ok(Service {
        dispatcher: Dispatcher::new(
            ports.callbacks,
            Arc::new(integration),
            ports.store,
            Bodies {
                sep6: mooring::sep6::view::callback_body,
                sep24: mooring::sep24::view::callback_body,
                sep31: mooring::sep31::view::callback_body,
                public_url: anchor.public_url,
            },
        ),
        transactions_table: table("TRANSACTIONS_TABLE")?,
        customers_table: table("CUSTOMERS_TABLE")?,
    })
}

/// Handles a batch of stream records in order. Answers the first record that must be
/// delivered again (the stream retries from it), or none.
pub async fn handle<S, Q>(service: &Service<S, Q>, event: StreamEvent) -> SqsBatchResponse
where
    S: TransactionStore + CustomerStore + Cursors,
    Q: BodyQueue,
{
    for record in &event.records {
        // Each record's lines name it, and the transaction once it is read.
        let span = tracing::info_span!("record",
            sequence_number = %record.dynamodb.sequence_number,
            transaction_id = tracing::field::Empty);
        if let Err(error) = dispatch(service, record).instrument(span).await {
            tracing::warn!(sequence_number = %record.dynamodb.sequence_number, %error,
                "change not dispatched; the stream will deliver it again");
            return SqsBatchResponse::failed([record.dynamodb.sequence_number.clone()]);
        }
    }
    SqsBatchResponse::default()
}

async fn dispatch<S, Q>(service: &Service<S, Q>, record: &StreamRecord) -> Result<(), DispatchError>
where
    S: TransactionStore + CustomerStore + Cursors,
    Q: BodyQueue,
{
    let Some(doc) = record.new_doc() else {
        // A removal, or a customer table's guard item: nothing to tell.
        return Ok(());
    };
    let table = record.table_name().unwrap_or_default();
    if table == service.transactions_table {
        let Some(new) = read::<Transaction>(record, doc) else {
            return Ok(());
        };
        mooring::telemetry::record_transaction_id(&new.id);
        let old = record
            .old_doc()
            .and_then(|doc| read::<Transaction>(record, doc));
        service
            .dispatcher
            .transaction_changed(old.as_ref(), &new)
            .await?;
    } else if table == service.customers_table {
        if let Some(customer) = read::<Customer>(record, doc) {
            service.dispatcher.customer_changed(&customer).await?;
        }
    } else {
        tracing::warn!(%table, "a stream record of an unknown table");
    }
    Ok(())
}

/// A record's document, or `None` (logged) when it cannot be read: retrying cannot help.
fn read<T: for<'de> Deserialize<'de>>(record: &StreamRecord, doc: &str) -> Option<T> {
    serde_json::from_str(doc)
        .inspect_err(|error| {
            tracing::error!(sequence_number = %record.dynamodb.sequence_number, %error,
                "an unreadable record in the stream; passed over");
        })
        .ok()
}
