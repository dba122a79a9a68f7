//! The items of the files table (the layout in [`super`]'s documentation): attribute names,
//! keys, the metadata document and TTL values. Pure functions; the requests are in `mod.rs`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::super::codec::{s, started_key};
use super::{MAX_CHUNKS, MAX_ID_BYTES};
use crate::model::UserKey;
use crate::store::files::StoredFile;
use crate::store::StoreError;
use crate::time::Timestamp;

pub(super) type Item = HashMap<String, AttributeValue>;

// Attribute names.
pub(super) const PK: &str = "pk";
pub(super) const SK: &str = "sk";
pub(super) const DOC: &str = "doc";
pub(super) const WRITE_ID: &str = "write_id";
pub(super) const CHUNKS: &str = "chunks";
pub(super) const DATA: &str = "data";
pub(super) const CUSTOMER_ID: &str = "customer_id";
pub(super) const EXPIRES_AT: &str = "expires_at";

/// The metadata item's sort key.
pub(super) const META: &str = "meta";
pub(super) const CHUNK_PREFIX: &str = "chunk#";
pub(super) const LINK_PREFIX: &str = "file#";

/// A metadata item, decoded.
#[derive(Debug)]
pub(super) struct Meta {
    pub(super) file: StoredFile,
    /// The write whose chunks hold the bytes.
    pub(super) write_id: String,
    pub(super) chunks: usize,
}

impl Meta {
    pub(super) fn decode(id: &str, item: &Item) -> Result<Self, StoreError> {
        let file = decode_doc(item)?;
        let write_id = string_attribute(item, WRITE_ID)?.to_owned();
        let chunks = match item.get(CHUNKS) {
            Some(AttributeValue::N(n)) => n.parse::<usize>().ok(),
            _ => None,
        };
        let corrupt = |what: &str| StoreError::Corrupt(format!("file {id}: {what}"));
        let chunks = chunks.ok_or_else(|| corrupt("no chunk count"))?;
        if file.id != id {
            return Err(corrupt("its metadata names another id"));
        }
        // Every chunk holds at least one byte, and a non-empty file at least one chunk.
        if chunks > MAX_CHUNKS || chunks as u64 > file.size || (file.size > 0 && chunks == 0) {
            return Err(corrupt("a chunk count that does not fit its size"));
        }
        Ok(Self {
            file,
            write_id,
            chunks,
        })
    }
}

/// `doc`: a [`StoredFile`] with every field (its own serialization is the SEP-12 file object).
#[derive(Serialize, Deserialize)]
pub(super) struct FileDoc {
    id: String,
    user: UserKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    customer_id: Option<String>,
    content_type: String,
    size: u64,
    /// Epoch milliseconds.
    created_at: i64,
    /// Epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

pub(super) fn encode_doc(file: &StoredFile) -> Result<String, StoreError> {
    let doc = FileDoc {
        id: file.id.clone(),
        user: file.user,
        customer_id: file.customer_id.clone(),
        content_type: file.content_type.clone(),
        size: file.size,
        created_at: file.created_at.millis(),
        expires_at: file.expires_at.map(Timestamp::millis),
    };
    serde_json::to_string(&doc)
        .map_err(|e| StoreError::Corrupt(format!("file {} cannot be encoded: {e}", file.id)))
}

pub(super) fn decode_doc(item: &Item) -> Result<StoredFile, StoreError> {
    let doc: FileDoc = serde_json::from_str(string_attribute(item, DOC)?).map_err(|e| {
        let pk = item.get(PK).and_then(|v| v.as_s().ok());
        StoreError::Corrupt(format!("the file of {pk:?} cannot be decoded: {e}"))
    })?;
    Ok(StoredFile {
        id: doc.id,
        user: doc.user,
        customer_id: doc.customer_id,
        content_type: doc.content_type,
        size: doc.size,
        created_at: Timestamp::from_millis(doc.created_at),
        expires_at: doc.expires_at.map(Timestamp::from_millis),
    })
}

pub(super) fn expired(file: &StoredFile, now: Timestamp) -> bool {
    file.expires_at.is_some_and(|at| at <= now)
}

pub(super) fn usable_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_BYTES
}

pub(super) fn file_pk(id: &str) -> String {
    format!("file#{id}")
}

pub(super) fn user_pk(user: &UserKey) -> String {
    format!("user#{user}")
}

pub(super) fn customer_pk(customer_id: &str) -> String {
    format!("customer#{customer_id}")
}

pub(super) fn chunk_sk(write_id: &str, index: usize) -> String {
    format!("{CHUNK_PREFIX}{write_id}#{index:05}")
}

pub(super) fn key(pk: String, sk: String) -> Item {
    Item::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

pub(super) fn user_link_key(user: &UserKey, id: &str) -> Item {
    key(user_pk(user), format!("{LINK_PREFIX}{id}"))
}

pub(super) fn user_link(user: &UserKey, id: &str, expires_at: Option<Timestamp>) -> Item {
    let mut item = user_link_key(user, id);
    if let Some(at) = expires_at {
        item.insert(EXPIRES_AT.to_owned(), ttl(at));
    }
    item
}

/// Sorted by creation, then id (the in-memory adapter's order).
pub(super) fn customer_link_key(file: &StoredFile, customer_id: &str) -> Item {
    key(
        customer_pk(customer_id),
        format!("{LINK_PREFIX}{}", started_key(file.created_at, &file.id)),
    )
}

pub(super) fn customer_link(
    file: &StoredFile,
    customer_id: &str,
    doc: String,
    expires_at: Option<Timestamp>,
) -> Item {
    let mut item = customer_link_key(file, customer_id);
    item.insert(DOC.to_owned(), s(doc));
    if let Some(at) = expires_at {
        item.insert(EXPIRES_AT.to_owned(), ttl(at));
    }
    item
}

/// The TTL value of an expiry: epoch seconds rounded up, so that DynamoDB never deletes an item
/// before the file expires.
pub(super) fn ttl(at: Timestamp) -> AttributeValue {
    AttributeValue::N((at.millis() + 999).div_euclid(1000).to_string())
}

/// Now in epoch seconds, rounded down: compared with [`ttl`] values, an item counts as expired
/// only once its file has.
pub(super) fn now_secs() -> AttributeValue {
    AttributeValue::N(Timestamp::now().secs().to_string())
}

pub(super) fn number(value: usize) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn string_attribute<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(StoreError::Corrupt(format!(
            "a file item of {:?} has no string attribute {name}",
            item.get(PK).and_then(|v| v.as_s().ok())
        ))),
    }
}
