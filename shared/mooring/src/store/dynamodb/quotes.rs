//! [`QuoteStore`] on `QUOTES_TABLE`: SEP-38 firm quotes, written once, marked used once (the
//! `transaction_id` attribute), erased by TTL a year after they expire.

use super::codec::{decode_doc, quote_item, s, ID};
use super::{configured, failure, DynamoStore, QUOTES_TABLE};
use crate::model::Quote;
use crate::store::{QuoteStore, StoreError};

impl DynamoStore {
    fn quotes_table(&self) -> Result<&str, StoreError> {
        configured(&self.tables.quotes, QUOTES_TABLE)
    }
}

impl QuoteStore for DynamoStore {
    async fn insert_quote(&self, quote: &Quote) -> Result<(), StoreError> {
        let table = self.quotes_table()?;
        self.put_new(table, quote_item(quote)?).await
    }

    async fn get_quote(&self, id: &str) -> Result<Option<Quote>, StoreError> {
        let table = self.quotes_table()?;
        let Some(item) = self.get_item(table, ID, id).await? else {
            return Ok(None);
        };
        let mut quote: Quote = decode_doc(&item, "quote")?;
        // Its use is recorded beside the document (one conditional attribute write).
        if let Some(used_by) = item.get(TRANSACTION_ID) {
            let used_by = used_by.as_s().map_err(|_| {
                StoreError::Corrupt(format!("quote {id}: {TRANSACTION_ID} is not a string"))
            })?;
            quote.transaction_id = Some(used_by.clone());
        }
        Ok(Some(quote))
    }

    async fn use_quote(&self, id: &str, transaction_id: &str) -> Result<(), StoreError> {
        let table = self.quotes_table()?;
        if id.is_empty() {
            return Err(StoreError::Conflict);
        }
        self.client
            .update_item()
            .table_name(table)
            .key(ID, s(id))
            .update_expression("SET #used = :transaction")
            .condition_expression("attribute_exists(#id) AND attribute_not_exists(#used)")
            .expression_attribute_names("#id", ID)
            .expression_attribute_names("#used", TRANSACTION_ID)
            .expression_attribute_values(":transaction", s(transaction_id))
            .send()
            .await
            .map_err(|e| {
                failure("UpdateItem", e, |e| {
                    e.is_conditional_check_failed_exception()
                        || e.is_transaction_conflict_exception()
                })
            })?;
        Ok(())
    }
}

/// The attribute naming the transaction a quote was used for.
const TRANSACTION_ID: &str = "transaction_id";
