//! The DynamoDB adapter of [`FileStore`]: [`DynamoFileStore`] (feature `dynamodb`), on one table
//! (`FilesTable` in template.yaml: key `pk` + `sk`, both strings; TTL attribute `expires_at`).
//!
//! # Item design
//!
//! An item holds at most 400 KB and a file up to 5 MB, so a file is a metadata item plus its
//! bytes in chunks of at most [`CHUNK_BYTES`] (300 KiB), and two kinds of link items list files
//! by user and by customer:
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | metadata | `file#<id>` | `meta` | `doc`, `write_id`, `chunks` (N), `customer_id`, `expires_at` |
//! | chunk | `file#<id>` | `chunk#<write_id>#<index, 5 digits>` | `data` (B), `expires_at` |
//! | user link | `user#<G...[:memo]>` | `file#<id>` | `expires_at` |
//! | customer link | `customer#<customer id>` | `file#<created millis, 15 digits>#<id>` | `doc` |
//!
//! `doc` is the file's metadata as JSON, all a read decodes (as in [`super`]);
//! `customer_id` and `expires_at` beside it are for the conditions and TTL. The link items are
//! written in the same transaction as the metadata, so both listings ("a customer's files",
//! oldest first by the sort key, and "a user's files" for erasure) are strongly consistent
//! queries of one partition, and the table needs no secondary index.
//!
//! # Writing: never visible half-written
//!
//! `put` writes the chunks first, under a `write_id` drawn for this write, then commits the
//! metadata (on `attribute_not_exists(pk)`) and the links in one TransactWriteItems, whose
//! idempotency token makes a retried commit safe. Until that commit nothing names the chunks,
//! so a file is visible whole or not at all. A put refused because the id exists deletes the
//! chunks it wrote, which the existing file's chunks (another `write_id`) never collide with; a
//! put interrupted otherwise leaves chunks that nothing names, which expire with the file (and
//! which `delete` sweeps). Reading fetches exactly the chunks the metadata names and checks
//! their count and total size.
//!
//! # Expiry
//!
//! While a file is unattached every item of it carries `expires_at` (epoch seconds, rounded
//! up), so DynamoDB's TTL erases it 24 h after the upload. TTL deletion is lazy (up to days
//! late), so the reads compare the exact expiry in `doc` with the clock and treat an expired
//! file as absent, like the in-memory adapter. `attach` first removes `expires_at` from the user
//! link and the chunks, then commits the metadata (customer, no expiry, on the state it read)
//! with the customer link. An interruption in between leaves at worst items that no longer
//! expire but are still listed under the user, never an attached file whose bytes expire; a
//! lost race puts the expiry back.
//!
//! # Deleting
//!
//! The metadata and the customer link go first, in one transaction conditional on the state
//! read (the file disappears at once), then every chunk of the partition, and the user link
//! last: if a delete is interrupted, that link still leads `delete_for_user` to the leftovers.

use std::future::Future;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use tokio::task::{JoinError, JoinSet};

use super::codec::s;
use super::{config_loader, failure, request_error, transaction_failure, unavailable};
use crate::config::{ConfigError, Env, Source};
use crate::model::UserKey;
use crate::store::files::{FileStore, StoredFile};
use crate::store::StoreError;
use crate::time::Timestamp;

mod items;

use items::{
    chunk_sk, customer_link, customer_link_key, customer_pk, decode_doc, encode_doc, expired,
    file_pk, key, now_secs, number, string_attribute, ttl, usable_id, user_link, user_link_key,
    user_pk, Item, Meta, CHUNKS, CHUNK_PREFIX, CUSTOMER_ID, DATA, DOC, EXPIRES_AT, LINK_PREFIX,
    META, PK, SK, WRITE_ID,
};

/// The largest chunk of a file's bytes: with its keys, well under DynamoDB's 400 KB per item.
pub const CHUNK_BYTES: usize = 300 * 1024;

/// The most chunks a file has (the 5 digits of their index): 29 GB, far beyond any upload.
pub(super) const MAX_CHUNKS: usize = 100_000;

/// Chunk requests in flight at once for one file (a 5 MB file is 18 chunks).
const CONCURRENT_REQUESTS: usize = 6;

/// Ids (file and customer) longer than this name nothing: they would exceed DynamoDB's key
/// limits, and the ids this crate makes are UUIDs.
pub(super) const MAX_ID_BYTES: usize = 512;

/// Attempts of `delete` against a concurrent `attach` of the same file.
const DELETE_ATTEMPTS: usize = 5;

/// Uploaded files on DynamoDB. Cheap to clone (the client is shared).
#[derive(Debug, Clone)]
pub struct DynamoFileStore {
    client: Client,
    table: String,
}

impl DynamoFileStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table's name, from `FILES_TABLE`.
    pub fn table_from_source(src: &impl Source) -> Result<String, ConfigError> {
        src.get("FILES_TABLE")
            .ok_or(ConfigError::Missing("FILES_TABLE"))
    }

    /// The store of a Lambda function: the table from `FILES_TABLE`, the client from the
    /// standard AWS settings (`AWS_ENDPOINT_URL` points it at an emulator).
    pub async fn from_env() -> Result<Self, ConfigError> {
        // The table first: a misconfigured function fails before any AWS work.
        let table = Self::table_from_source(&Env)?;
        Ok(Self::new(
            crate::aws::dynamodb_client(&config_loader()?.load().await),
            table,
        ))
    }

    /// As [`from_env`](Self::from_env), on an SDK configuration shared by the function's adapters.
    pub fn from_env_with(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        Ok(Self::new(
            crate::aws::dynamodb_client(sdk),
            Self::table_from_source(&Env)?,
        ))
    }

    /// The metadata of file `id` as stored, expired or not, read strongly consistently.
    async fn read_meta(&self, id: &str) -> Result<Option<Meta>, StoreError> {
        if !usable_id(id) {
            return Ok(None);
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(file_pk(id)))
            .key(SK, s(META))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        out.item.map(|item| Meta::decode(id, &item)).transpose()
    }

    /// The metadata of file `id` unless it is missing or expired.
    async fn live_meta(&self, id: &str) -> Result<Option<Meta>, StoreError> {
        let now = Timestamp::now();
        Ok(self.read_meta(id).await?.filter(|m| !expired(&m.file, now)))
    }

    async fn put_chunks(
        &self,
        id: &str,
        write_id: &str,
        content: &[u8],
        expires_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        // By index rather than `chunks()`: a closure over borrowed slices would make the
        // returned future's type too general to be `Send`.
        let requests = (0..content.len().div_ceil(CHUNK_BYTES)).map(|index| {
            let start = index * CHUNK_BYTES;
            let data = &content[start..content.len().min(start + CHUNK_BYTES)];
            let mut item = key(file_pk(id), chunk_sk(write_id, index));
            item.insert(DATA.to_owned(), AttributeValue::B(Blob::new(data)));
            if let Some(at) = expires_at {
                item.insert(EXPIRES_AT.to_owned(), ttl(at));
            }
            let request = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item));
            async move {
                request
                    .send()
                    .await
                    .map_err(|e| unavailable("PutItem", e))?;
                Ok(())
            }
        });
        run_concurrently(requests).await?;
        Ok(())
    }

    /// The metadata and the links, in one transaction: what makes a written file visible.
    async fn commit_put(
        &self,
        file: &StoredFile,
        write_id: &str,
        chunks: usize,
    ) -> Result<(), StoreError> {
        let doc = encode_doc(file)?;
        let mut meta = key(file_pk(&file.id), META.to_owned());
        meta.insert(DOC.to_owned(), s(&doc));
        meta.insert(WRITE_ID.to_owned(), s(write_id));
        meta.insert(CHUNKS.to_owned(), number(chunks));
        if let Some(customer_id) = &file.customer_id {
            meta.insert(CUSTOMER_ID.to_owned(), s(customer_id));
        }
        if let Some(at) = file.expires_at {
            meta.insert(EXPIRES_AT.to_owned(), ttl(at));
        }
        // An item left behind by lazy TTL is no file: it may be replaced.
        let meta = Put::builder()
            .table_name(&self.table)
            .set_item(Some(meta))
            .condition_expression("attribute_not_exists(#pk) OR #expires <= :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(":now", now_secs())
            .build()
            .map_err(|e| request_error("Put", e))?;
        let mut items = vec![
            TransactWriteItem::builder().put(meta).build(),
            TransactWriteItem::builder()
                .put(self.put_of(user_link(&file.user, &file.id, file.expires_at))?)
                .build(),
        ];
        if let Some(customer_id) = &file.customer_id {
            let link = customer_link(file, customer_id, doc, file.expires_at);
            items.push(TransactWriteItem::builder().put(self.put_of(link)?).build());
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(transaction_failure)?;
        Ok(())
    }

    /// An unconditional Put of `item`, for a transaction.
    fn put_of(&self, item: Item) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| request_error("Put", e))
    }

    async fn put_item(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| unavailable("PutItem", e))?;
        Ok(())
    }

    /// Reads the chunks `meta` names, all of them or an error.
    async fn read_chunks(&self, id: &str, meta: &Meta) -> Result<Option<Vec<u8>>, StoreError> {
        let requests = (0..meta.chunks).map(|index| {
            let request = self
                .client
                .get_item()
                .table_name(&self.table)
                .key(PK, s(file_pk(id)))
                .key(SK, s(chunk_sk(&meta.write_id, index)))
                .projection_expression("#data")
                .expression_attribute_names("#data", DATA)
                .consistent_read(true);
            async move {
                let out = request
                    .send()
                    .await
                    .map_err(|e| unavailable("GetItem", e))?;
                Ok((index, out.item.and_then(|mut item| item.remove(DATA))))
            }
        });
        let mut parts: Vec<Option<Vec<u8>>> = vec![None; meta.chunks];
        for (index, data) in run_concurrently(requests).await? {
            let data = match data {
                None => None,
                Some(AttributeValue::B(blob)) => Some(blob.into_inner()),
                Some(_) => {
                    return Err(StoreError::Corrupt(format!(
                        "chunk {index} of file {id} holds no binary data"
                    )))
                }
            };
            if let Some(part) = parts.get_mut(index) {
                *part = data;
            }
        }
        let Some(parts) = parts.into_iter().collect::<Option<Vec<_>>>() else {
            // Deleted (or expired) since the metadata was read, or broken.
            return match self.live_meta(id).await? {
                None => Ok(None),
                Some(_) => Err(StoreError::Corrupt(format!(
                    "file {id} misses some of its {} chunks",
                    meta.chunks
                ))),
            };
        };
        let total: usize = parts.iter().map(Vec::len).sum();
        if total as u64 != meta.file.size {
            return Err(StoreError::Corrupt(format!(
                "file {id} has {total} bytes in its chunks for a size of {}",
                meta.file.size
            )));
        }
        Ok(Some(parts.concat()))
    }

    /// Sets (or, with `None`, removes) the expiry of every chunk `meta` names. A chunk that is
    /// gone is left alone: the metadata's condition decides what happens next.
    async fn set_chunks_expiry(
        &self,
        id: &str,
        meta: &Meta,
        expires_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let requests = (0..meta.chunks).map(|index| {
            let mut request = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(file_pk(id)))
                .key(SK, s(chunk_sk(&meta.write_id, index)))
                // Never creates an item.
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#expires", EXPIRES_AT);
            request = match expires_at {
                Some(at) => request
                    .update_expression("SET #expires = :expires")
                    .expression_attribute_values(":expires", ttl(at)),
                None => request.update_expression("REMOVE #expires"),
            };
            async move {
                match request.send().await {
                    Ok(_) => Ok(()),
                    Err(e) => match failure("UpdateItem", e, |e| {
                        e.is_conditional_check_failed_exception()
                    }) {
                        StoreError::Conflict => Ok(()),
                        other => Err(other),
                    },
                }
            }
        });
        run_concurrently(requests).await?;
        Ok(())
    }

    /// The metadata as attached (on the state `meta` read) and the customer link.
    async fn commit_attach(
        &self,
        meta: &Meta,
        attached: &StoredFile,
        customer_id: &str,
    ) -> Result<(), StoreError> {
        let doc = encode_doc(attached)?;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(file_pk(&attached.id), META.to_owned())))
            .update_expression("SET #doc = :doc, #customer = :customer REMOVE #expires")
            .condition_expression(
                "#write = :write AND (attribute_not_exists(#customer) OR #customer = :customer) \
                 AND (attribute_not_exists(#expires) OR #expires > :now)",
            )
            .expression_attribute_names("#doc", DOC)
            .expression_attribute_names("#customer", CUSTOMER_ID)
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_names("#write", WRITE_ID)
            .expression_attribute_values(":doc", s(&doc))
            .expression_attribute_values(":customer", s(customer_id))
            .expression_attribute_values(":write", s(&meta.write_id))
            .expression_attribute_values(":now", now_secs())
            .build()
            .map_err(|e| request_error("Update", e))?;
        let link = customer_link(attached, customer_id, doc, None);
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(self.put_of(link)?).build())
            .send()
            .await
            .map_err(transaction_failure)?;
        Ok(())
    }

    /// After `commit_attach` lost a race: the file as it is now if another attach to the same
    /// customer won, otherwise `Conflict`, with the expiry put back on what this attach made
    /// permanent unless the file is attached (then it must stay).
    async fn after_lost_attach(
        &self,
        id: &str,
        read: &Meta,
        customer_id: &str,
    ) -> Result<StoredFile, StoreError> {
        let now = self.live_meta(id).await?;
        if let Some(now) = now.filter(|m| m.write_id == read.write_id) {
            if now.file.customer_id.as_deref() == Some(customer_id) && now.file.expires_at.is_none()
            {
                return Ok(now.file);
            }
            if now.file.customer_id.is_some() {
                return Err(StoreError::Conflict);
            }
        }
        let restored = async {
            self.put_item(user_link(&read.file.user, id, read.file.expires_at))
                .await?;
            self.set_chunks_expiry(id, read, read.file.expires_at).await
        };
        if let Err(e) = restored.await {
            tracing::warn!(error = %e, file_id = id, "restoring the expiry of a file not attached");
        }
        Err(StoreError::Conflict)
    }

    /// Erases file `id` (and, when it is `owner`'s, the user link); true when it existed and
    /// had not expired. Leftovers of interrupted writes and deletes go too.
    async fn erase(&self, id: &str, owner: Option<&UserKey>) -> Result<bool, StoreError> {
        for _ in 0..DELETE_ATTEMPTS {
            let Some(meta) = self.read_meta(id).await? else {
                self.sweep_chunks(id).await?;
                if let Some(user) = owner {
                    self.delete_item(user_link_key(user, id)).await?;
                }
                return Ok(false);
            };
            if let Some(user) = owner.filter(|user| **user != meta.file.user) {
                // A link that does not match its file (which no write leaves): only the link goes.
                self.delete_item(user_link_key(user, id)).await?;
                return Ok(false);
            }
            match self.delete_meta(&meta).await {
                Ok(()) => {}
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
            self.delete_keys(
                (0..meta.chunks)
                    .map(|index| key(file_pk(id), chunk_sk(&meta.write_id, index)))
                    .collect(),
            )
            .await?;
            // Chunks of interrupted writes, if any.
            self.sweep_chunks(id).await?;
            self.delete_item(user_link_key(&meta.file.user, id)).await?;
            return Ok(!expired(&meta.file, Timestamp::now()));
        }
        Err(StoreError::Conflict)
    }

    /// Deletes the metadata and the customer link if the file is still as read.
    async fn delete_meta(&self, meta: &Meta) -> Result<(), StoreError> {
        let file = &meta.file;
        let mut record = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(file_pk(&file.id), META.to_owned())))
            .expression_attribute_names("#write", WRITE_ID)
            .expression_attribute_names("#customer", CUSTOMER_ID)
            .expression_attribute_values(":write", s(&meta.write_id));
        record = match &file.customer_id {
            Some(customer_id) => record
                .condition_expression("#write = :write AND #customer = :customer")
                .expression_attribute_values(":customer", s(customer_id)),
            None => {
                record.condition_expression("#write = :write AND attribute_not_exists(#customer)")
            }
        };
        let mut request = self.client.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .delete(record.build().map_err(|e| request_error("Delete", e))?)
                .build(),
        );
        if let Some(customer_id) = &file.customer_id {
            let link = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(customer_link_key(file, customer_id)))
                .build()
                .map_err(|e| request_error("Delete", e))?;
            request = request.transact_items(TransactWriteItem::builder().delete(link).build());
        }
        request.send().await.map_err(transaction_failure)?;
        Ok(())
    }

    /// Deletes every chunk stored under file `id`, whichever write left it.
    async fn sweep_chunks(&self, id: &str) -> Result<(), StoreError> {
        if !usable_id(id) {
            return Ok(());
        }
        let keys = self
            .query_all(&file_pk(id), CHUNK_PREFIX, false)
            .await?
            .iter()
            .map(|item| {
                Ok(key(
                    string_attribute(item, PK)?.to_owned(),
                    string_attribute(item, SK)?.to_owned(),
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.delete_keys(keys).await
    }

    async fn delete_keys(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        let requests = keys.into_iter().map(|key| {
            let request = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key));
            async move {
                request
                    .send()
                    .await
                    .map_err(|e| unavailable("DeleteItem", e))?;
                Ok(())
            }
        });
        run_concurrently(requests).await?;
        Ok(())
    }

    async fn delete_item(&self, key: Item) -> Result<(), StoreError> {
        self.delete_keys(vec![key]).await
    }

    /// Every item of partition `pk` whose sort key starts with `prefix`, read strongly
    /// consistently: their keys, and `doc` when `with_doc`.
    async fn query_all(
        &self,
        pk: &str,
        prefix: &str,
        with_doc: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start);
            request = if with_doc {
                request
                    .projection_expression("#pk, #sk, #doc")
                    .expression_attribute_names("#doc", DOC)
            } else {
                request.projection_expression("#pk, #sk")
            };
            let out = request.send().await.map_err(|e| unavailable("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

impl FileStore for DynamoFileStore {
    async fn put(&self, file: &StoredFile, content: &[u8]) -> Result<(), StoreError> {
        // Such a file could never be read back: its id names nothing, or its size (checked on
        // every read) is not its content's.
        let chunks = content.len().div_ceil(CHUNK_BYTES);
        if !usable_id(&file.id) || content.len() as u64 != file.size || chunks > MAX_CHUNKS {
            return Err(StoreError::Corrupt(format!(
                "file {:.64} of size {} cannot be stored with {} bytes",
                file.id,
                file.size,
                content.len()
            )));
        }
        let write_id = uuid::Uuid::new_v4().simple().to_string();
        self.put_chunks(&file.id, &write_id, content, file.expires_at)
            .await?;
        match self.commit_put(file, &write_id, chunks).await {
            Err(StoreError::Conflict) => {
                // The id is taken: these chunks are nobody's.
                let keys = (0..chunks)
                    .map(|index| key(file_pk(&file.id), chunk_sk(&write_id, index)))
                    .collect();
                if let Err(e) = self.delete_keys(keys).await {
                    tracing::warn!(
                        error = %e,
                        file_id = %file.id,
                        "deleting the chunks of a refused upload"
                    );
                }
                Err(StoreError::Conflict)
            }
            other => other,
        }
    }

    async fn get(&self, id: &str) -> Result<Option<StoredFile>, StoreError> {
        Ok(self.live_meta(id).await?.map(|meta| meta.file))
    }

    async fn content(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.live_meta(id).await? {
            Some(meta) => self.read_chunks(id, &meta).await,
            None => Ok(None),
        }
    }

    async fn list_for_customer(&self, customer_id: &str) -> Result<Vec<StoredFile>, StoreError> {
        if !usable_id(customer_id) {
            return Ok(Vec::new());
        }
        let now = Timestamp::now();
        let mut files = Vec::new();
        for item in self
            .query_all(&customer_pk(customer_id), LINK_PREFIX, true)
            .await?
        {
            let file = decode_doc(&item)?;
            if !expired(&file, now) {
                files.push(file);
            }
        }
        // The sort key's order already; sorted again as the in-memory adapter sorts, in case a
        // timestamp falls outside the key's 15 digits.
        files.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(files)
    }

    async fn attach(&self, id: &str, customer_id: &str) -> Result<StoredFile, StoreError> {
        let Some(meta) = self.live_meta(id).await? else {
            return Err(StoreError::Conflict);
        };
        match meta.file.customer_id.as_deref() {
            Some(other) if other != customer_id => return Err(StoreError::Conflict),
            Some(_) if meta.file.expires_at.is_none() => return Ok(meta.file),
            _ => {}
        }
        let mut attached = meta.file.clone();
        attached.customer_id = Some(customer_id.to_owned());
        attached.expires_at = None;
        if meta.file.expires_at.is_some() {
            // What must outlive the TTL stops expiring before the metadata says "attached".
            self.put_item(user_link(&attached.user, id, None)).await?;
            self.set_chunks_expiry(id, &meta, None).await?;
        }
        match self.commit_attach(&meta, &attached, customer_id).await {
            Ok(()) => Ok(attached),
            Err(StoreError::Conflict) => self.after_lost_attach(id, &meta, customer_id).await,
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        if !usable_id(id) {
            return Ok(false);
        }
        self.erase(id, None).await
    }

    async fn delete_for_user(&self, user: &UserKey) -> Result<usize, StoreError> {
        let links = self.query_all(&user_pk(user), LINK_PREFIX, false).await?;
        let mut erased = 0;
        for link in &links {
            let sk = string_attribute(link, SK)?;
            let id = sk.strip_prefix(LINK_PREFIX).unwrap_or(sk);
            erased += usize::from(self.erase(id, Some(user)).await?);
        }
        Ok(erased)
    }
}

/// Runs the requests, at most [`CONCURRENT_REQUESTS`] at a time (they are created as slots
/// free up, so a file's chunks are not all copied at once). The first error is returned and
/// the requests still running are dropped.
async fn run_concurrently<T, F>(requests: impl IntoIterator<Item = F>) -> Result<Vec<T>, StoreError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, StoreError>> + Send + 'static,
{
    let mut running = JoinSet::new();
    let mut done = Vec::new();
    for request in requests {
        if running.len() >= CONCURRENT_REQUESTS {
            if let Some(finished) = running.join_next().await {
                done.push(joined(finished)?);
            }
        }
        running.spawn(request);
    }
    while let Some(finished) = running.join_next().await {
        done.push(joined(finished)?);
    }
    Ok(done)
}

fn joined<T>(finished: Result<Result<T, StoreError>, JoinError>) -> Result<T, StoreError> {
    match finished {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(StoreError::Unavailable(format!(
            "a DynamoDB request was cancelled: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests;
