//! [`IncomingPayments`] on `PAYMENTS_TABLE`, with the sparse `needing_attention` and
//! `by_transaction` indexes.

use super::codec::{
    attention_key_of, cursor_from_key, decode_attention_cursor, decode_doc, payment_item, s, Item,
    ATTENTION, BY_TRANSACTION, ID, NEEDING_ATTENTION, OPEN, PAID_TRANSACTION,
};
use super::{configured, unavailable, DynamoStore, PAYMENTS_TABLE};
use crate::model::IncomingPayment;
use crate::store::{IncomingPayments, Page, StoreError, MAX_PAYMENTS_PER_TRANSACTION};

impl DynamoStore {
    fn payments_table(&self) -> Result<&str, StoreError> {
        configured(&self.tables.payments, PAYMENTS_TABLE)
    }
}

impl IncomingPayments for DynamoStore {
    async fn record(&self, payment: &IncomingPayment) -> Result<bool, StoreError> {
        let table = self.payments_table()?;
        match self.put_new(table, payment_item(payment)?).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn get_payment(&self, id: &str) -> Result<Option<IncomingPayment>, StoreError> {
        let table = self.payments_table()?;
        self.get_item(table, ID, id)
            .await?
            .map(|item| decode_doc(&item, "incoming payment"))
            .transpose()
    }

    async fn payments_for_transaction(
        &self,
        transaction_id: &str,
    ) -> Result<Vec<IncomingPayment>, StoreError> {
        let table = self.payments_table()?;
        let mut found = Vec::new();
        if transaction_id.is_empty() {
            return Ok(found);
        }
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(table)
                .index_name(BY_TRANSACTION)
                .key_condition_expression("#transaction = :id")
                .expression_attribute_names("#transaction", PAID_TRANSACTION)
                .expression_attribute_values(":id", s(transaction_id))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            for row in out.items() {
                found.push(decode_doc::<IncomingPayment>(row, "incoming payment")?);
            }
            match out.last_evaluated_key {
                Some(key) if found.len() < MAX_PAYMENTS_PER_TRANSACTION => start = Some(key),
                _ => break,
            }
        }
        found.sort_by(|a, b| (a.recorded_at, &a.id).cmp(&(b.recorded_at, &b.id)));
        found.truncate(MAX_PAYMENTS_PER_TRANSACTION);
        Ok(found)
    }

    async fn list_needing_attention(
        &self,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<IncomingPayment>, StoreError> {
        let table = self.payments_table()?;
        let limit = limit.max(1);
        let mut start = cursor.map(decode_attention_cursor).transpose()?;
        let mut items = Vec::new();
        // The index key of the last payment taken: where the next page starts.
        let mut last: Option<Item> = None;
        loop {
            // One more than the page needs tells whether a next page exists.
            let wanted = limit - items.len() + 1;
            let out = self
                .client
                .query()
                .table_name(table)
                .index_name(NEEDING_ATTENTION)
                .key_condition_expression("#attention = :open")
                .expression_attribute_names("#attention", ATTENTION)
                .expression_attribute_values(":open", s(OPEN))
                .scan_index_forward(true)
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            for row in out.items() {
                if items.len() == limit {
                    return Ok(Page {
                        items,
                        next: last.as_ref().map(cursor_from_key).transpose()?,
                    });
                }
                items.push(decode_doc(row, "incoming payment")?);
                last = Some(attention_key_of(row)?);
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(Page { items, next: None }),
            }
        }
    }
}
