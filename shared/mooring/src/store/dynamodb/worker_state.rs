//! The payment workers' state on `WORKER_STATE_TABLE`: [`ChannelLeases`] and [`Cursors`].

use super::codec::{
    millis, n, number_attribute, s, string_attribute, Item, HOLDER, KEY, UNTIL, VALUE, VERSION,
};
use super::direct::Put;
use super::{configured, failure, DynamoStore, WORKER_STATE_TABLE};
use crate::store::{ChannelLease, ChannelLeases, Cursors, StoreError, StoredCursor};
use crate::time::Timestamp;

impl DynamoStore {
    fn worker_state_table(&self) -> Result<&str, StoreError> {
        configured(&self.tables.worker_state, WORKER_STATE_TABLE)
    }

    /// Leases channel `index` if it is free at `now`; `Conflict` if it is held.
    async fn lease_channel(
        &self,
        table: &str,
        index: u32,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        self.put(Put {
            table,
            item: Item::from([
                (KEY.to_owned(), s(channel_key(index))),
                (HOLDER.to_owned(), s(holder)),
                (UNTIL.to_owned(), millis(until)),
            ]),
            // A lease lasts until `until`, exclusive: at `until` the channel is free.
            condition: "attribute_not_exists(#key) OR #until <= :now",
            names: &[("#key", KEY), ("#until", UNTIL)],
            values: &[(":now", millis(now))],
        })
        .await?;
        Ok(())
    }
}

impl ChannelLeases for DynamoStore {
    async fn lease(
        &self,
        count: u32,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<ChannelLease>, StoreError> {
        if count == 0 {
            return Ok(None);
        }
        let table = self.worker_state_table()?;
        let first = random_u32() % count;
        for offset in 0..count {
            let index = (first + offset) % count;
            match self.lease_channel(table, index, holder, now, until).await {
                Ok(()) => {
                    return Ok(Some(ChannelLease {
                        index,
                        holder: holder.to_owned(),
                        until,
                    }))
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    async fn release(&self, lease: &ChannelLease) -> Result<(), StoreError> {
        let table = self.worker_state_table()?;
        let result = self
            .client
            .delete_item()
            .table_name(table)
            .key(KEY, s(channel_key(lease.index)))
            .condition_expression("#holder = :holder AND #until = :until")
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_values(":holder", s(&lease.holder))
            .expression_attribute_values(":until", millis(lease.until))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match failure("DeleteItem", e, |e| {
                e.is_conditional_check_failed_exception() || e.is_transaction_conflict_exception()
            }) {
                // Released already, or taken over after it expired: not this holder's any more.
                StoreError::Conflict => Ok(()),
                other => Err(other),
            },
        }
    }
}

impl Cursors for DynamoStore {
    async fn cursor(&self, name: &str) -> Result<Option<StoredCursor>, StoreError> {
        let table = self.worker_state_table()?;
        let Some(item) = self.get_item(table, KEY, &cursor_key(name)).await? else {
            return Ok(None);
        };
        Ok(Some(StoredCursor {
            value: string_attribute(&item, VALUE)?.to_owned(),
            version: number_attribute(&item, VERSION)?,
        }))
    }

    async fn save_cursor(
        &self,
        name: &str,
        value: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let table = self.worker_state_table()?;
        let version = match expected {
            None => 1,
            Some(v) => v.checked_add(1).ok_or(StoreError::Conflict)?,
        };
        let request = self
            .client
            .put_item()
            .table_name(table)
            .item(KEY, s(cursor_key(name)))
            .item(VALUE, s(value))
            .item(VERSION, n(version))
            .expression_attribute_names("#key", KEY);
        let request = match expected {
            None => request.condition_expression("attribute_not_exists(#key)"),
            // A comparison with a missing attribute is false, so this never creates an item.
            Some(read) => request
                .condition_expression("attribute_exists(#key) AND #version = :read")
                .expression_attribute_names("#version", VERSION)
                .expression_attribute_values(":read", n(read)),
        };
        request.send().await.map_err(|e| {
            failure("PutItem", e, |e| {
                e.is_conditional_check_failed_exception() || e.is_transaction_conflict_exception()
            })
        })?;
        Ok(version)
    }
}

fn channel_key(index: u32) -> String {
    format!("channel#{index}")
}

fn cursor_key(name: &str) -> String {
    format!("cursor#{name}")
}

fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    // Only spreads the load: without randomness every lease starts at channel 0.
    getrandom::getrandom(&mut bytes).map_or(0, |()| u32::from_le_bytes(bytes))
}
