//! [`QuoteStore`] on `QUOTES_TABLE`: SEP-38 firm quotes, written once, erased by TTL a year after
//! they expire.

use super::codec::{decode_doc, quote_item, ID};
use super::{configured, DynamoStore, QUOTES_TABLE};
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
        self.get_item(table, ID, id)
            .await?
            .map(|item| decode_doc(&item, "quote"))
            .transpose()
    }
}
