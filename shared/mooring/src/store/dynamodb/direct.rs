//! The adapter's hot calls (Query, GetItem, a conditional PutItem), described once and sent
//! directly (`aws::direct`: one attempt, JSON written and read straight from and into items), or
//! through the SDK when the direct attempt gets no clear answer.

use std::collections::HashMap;

use aws_sdk_dynamodb::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::FutureExt;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{self, SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::codec::Item;
use super::{failure, unavailable, DynamoStore};
use crate::aws::direct::{DirectClient, Service, Unanswered};
use crate::config::ConfigError;
use crate::store::StoreError;

const DYNAMODB: Service = Service {
    signing_name: "dynamodb",
    target_prefix: "DynamoDB_20120810",
    content_type: "application/x-amz-json-1.0",
};

/// The direct client of `sdk`'s DynamoDB endpoint, as the SDK resolves it (the regional one: an
/// account-based endpoint is only an alternative route); `None` for an endpoint with headers or
/// properties of its own (the SDK then makes every call).
pub(super) fn direct_client(
    sdk: &aws_config::SdkConfig,
) -> Result<Option<DirectClient>, ConfigError> {
    let params = Params::builder()
        .set_region(sdk.region().map(ToString::to_string))
        .use_fips(sdk.use_fips().unwrap_or(false))
        .use_dual_stack(sdk.use_dual_stack().unwrap_or(false))
        .set_endpoint(sdk.endpoint_url().map(str::to_owned))
        .account_id_endpoint_mode("disabled")
        .build();
    let resolver = DefaultResolver::new();
    let endpoint = match params
        .as_ref()
        .map(|params| resolver.resolve_endpoint(params).now_or_never())
    {
        Ok(Some(Ok(endpoint))) => endpoint,
        _ => return Ok(None),
    };
    if endpoint.headers().next().is_some() || !endpoint.properties().is_empty() {
        return Ok(None);
    }
    DirectClient::new(sdk, endpoint.url(), DYNAMODB)
}

/// A Query of an index, one page.
pub(super) struct Query<'a> {
    pub table: &'a str,
    pub index: &'a str,
    pub key_condition: &'static str,
    pub projection: &'static str,
    pub names: &'a [(&'static str, &'a str)],
    pub values: &'a [(&'static str, AttributeValue)],
    pub forward: bool,
    pub limit: i32,
    pub start: Option<&'a Item>,
}

/// A PutItem on a condition.
pub(super) struct Put<'a> {
    pub table: &'a str,
    pub item: Item,
    pub condition: &'static str,
    pub names: &'a [(&'static str, &'a str)],
    pub values: &'a [(&'static str, AttributeValue)],
}

/// One page of a query: its items and where the next starts.
pub(super) struct QueryPage {
    pub items: Vec<Item>,
    pub last_evaluated_key: Option<Item>,
}

impl DynamoStore {
    pub(super) async fn query(&self, query: &Query<'_>) -> Result<QueryPage, StoreError> {
        if let Some(direct) = &self.direct {
            if let Ok(page) = direct_query(direct, query).await {
                return Ok(page);
            }
        }
        let out = self
            .client
            .query()
            .table_name(query.table)
            .index_name(query.index)
            .key_condition_expression(query.key_condition)
            .projection_expression(query.projection)
            .set_expression_attribute_names(Some(names(query.names)))
            .set_expression_attribute_values(values(query.values))
            .scan_index_forward(query.forward)
            .limit(query.limit)
            .set_exclusive_start_key(query.start.cloned())
            .send()
            .await
            .map_err(|e| unavailable("Query", e))?;
        Ok(QueryPage {
            items: out.items.unwrap_or_default(),
            last_evaluated_key: out.last_evaluated_key,
        })
    }

    /// The item `key = value` of `table`, read strongly consistently.
    pub(super) async fn get_item(
        &self,
        table: &str,
        key: &str,
        value: &str,
    ) -> Result<Option<Item>, StoreError> {
        // DynamoDB rejects an empty key value; no record has one.
        if value.is_empty() {
            return Ok(None);
        }
        if let Some(direct) = &self.direct {
            if let Ok(item) = direct_get_item(direct, table, key, value).await {
                return Ok(item);
            }
        }
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key(key, AttributeValue::S(value.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(out.item)
    }

    /// Writes `put.item` if its condition holds: `Conflict` if DynamoDB refuses it on the
    /// condition (or a concurrent transaction on the item).
    pub(super) async fn put(&self, put: Put<'_>) -> Result<(), StoreError> {
        if let Some(direct) = &self.direct {
            match direct_put(direct, &put).await {
                Ok(true) => return Ok(()),
                Ok(false) => return Err(StoreError::Conflict),
                Err(Unanswered) => {}
            }
        }
        self.client
            .put_item()
            .table_name(put.table)
            .set_item(Some(put.item))
            .condition_expression(put.condition)
            .set_expression_attribute_names(Some(names(put.names)))
            .set_expression_attribute_values(values(put.values))
            .send()
            .await
            .map_err(|e| {
                failure("PutItem", e, |e| {
                    e.is_conditional_check_failed_exception()
                        || e.is_transaction_conflict_exception()
                })
            })?;
        Ok(())
    }
}

fn names(names: &[(&'static str, &str)]) -> HashMap<String, String> {
    names
        .iter()
        .map(|(placeholder, name)| ((*placeholder).to_owned(), (*name).to_owned()))
        .collect()
}

/// `None` for none: DynamoDB refuses an empty `ExpressionAttributeValues`.
fn values(values: &[(&'static str, AttributeValue)]) -> Option<HashMap<String, AttributeValue>> {
    if values.is_empty() {
        return None;
    }
    let values = values
        .iter()
        .map(|(placeholder, value)| ((*placeholder).to_owned(), value.clone()));
    Some(values.collect())
}

async fn direct_query(direct: &DirectClient, query: &Query<'_>) -> Result<QueryPage, Unanswered> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Input<'a> {
        table_name: &'a str,
        index_name: &'a str,
        key_condition_expression: &'a str,
        projection_expression: &'a str,
        expression_attribute_names: Pairs<'a, &'a str>,
        expression_attribute_values: Pairs<'a, AttributeValue>,
        scan_index_forward: bool,
        limit: i32,
        #[serde(skip_serializing_if = "Option::is_none")]
        exclusive_start_key: Option<WriteItem<'a>>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        #[serde(default)]
        items: Vec<ReadItem>,
        last_evaluated_key: Option<ReadItem>,
    }
    let body = serde_json::to_vec(&Input {
        table_name: query.table,
        index_name: query.index,
        key_condition_expression: query.key_condition,
        projection_expression: query.projection,
        expression_attribute_names: Pairs(query.names),
        expression_attribute_values: Pairs(query.values),
        scan_index_forward: query.forward,
        limit: query.limit,
        exclusive_start_key: query.start.map(WriteItem),
    })
    .map_err(|_| Unanswered)?;
    let output: Output = answer_of(direct.call("Query", body).await?)?;
    Ok(QueryPage {
        items: output.items.into_iter().map(|item| item.0).collect(),
        last_evaluated_key: output.last_evaluated_key.map(|item| item.0),
    })
}

async fn direct_get_item(
    direct: &DirectClient,
    table: &str,
    key: &str,
    value: &str,
) -> Result<Option<Item>, Unanswered> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Input<'a> {
        table_name: &'a str,
        key: Pairs<'a, AttributeValue>,
        consistent_read: bool,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        item: Option<ReadItem>,
    }
    let key = [(key, AttributeValue::S(value.to_owned()))];
    let body = serde_json::to_vec(&Input {
        table_name: table,
        key: Pairs(&key),
        consistent_read: true,
    })
    .map_err(|_| Unanswered)?;
    let output: Output = answer_of(direct.call("GetItem", body).await?)?;
    Ok(output.item.map(|item| item.0))
}

/// `true` written, `false` refused on the condition.
async fn direct_put(direct: &DirectClient, put: &Put<'_>) -> Result<bool, Unanswered> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Input<'a> {
        table_name: &'a str,
        item: WriteItem<'a>,
        condition_expression: &'a str,
        expression_attribute_names: Pairs<'a, &'a str>,
        #[serde(skip_serializing_if = "Pairs::is_empty")]
        expression_attribute_values: Pairs<'a, AttributeValue>,
    }
    let body = serde_json::to_vec(&Input {
        table_name: put.table,
        item: WriteItem(&put.item),
        condition_expression: put.condition,
        expression_attribute_names: Pairs(put.names),
        expression_attribute_values: Pairs(put.values),
    })
    .map_err(|_| Unanswered)?;
    let answer = direct.call("PutItem", body).await?;
    match answer.status {
        200 => Ok(true),
        400 => match answer.error_type().as_deref() {
            Some("ConditionalCheckFailedException" | "TransactionConflictException") => Ok(false),
            _ => Err(Unanswered),
        },
        _ => Err(Unanswered),
    }
}

/// The output of a successful answer; anything else is left to the SDK.
fn answer_of<T: serde::de::DeserializeOwned>(
    answer: crate::aws::direct::Answer,
) -> Result<T, Unanswered> {
    if answer.status != 200 {
        return Err(Unanswered);
    }
    serde_json::from_slice(&answer.body).map_err(|_| Unanswered)
}

/// `placeholder -> value` pairs as a JSON object.
struct Pairs<'a, V>(&'a [(&'a str, V)]);

impl<V> Pairs<'_, V> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V: WireValue> Serialize for Pairs<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_key(name)?;
            value.serialize_value(&mut map)?;
        }
        map.end()
    }
}

/// A value of a request: an attribute name or an attribute value.
trait WireValue {
    fn serialize_value<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error>;
}

impl WireValue for &str {
    fn serialize_value<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_value(self)
    }
}

impl WireValue for AttributeValue {
    fn serialize_value<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_value(&WriteValue(self))
    }
}

/// An item in DynamoDB's JSON.
struct WriteItem<'a>(&'a Item);

impl Serialize for WriteItem<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, &WriteValue(value))?;
        }
        map.end()
    }
}

/// An attribute value in DynamoDB's JSON: the scalar types this adapter writes; any other fails
/// the request, which the SDK then sends.
struct WriteValue<'a>(&'a AttributeValue);

impl Serialize for WriteValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self.0 {
            AttributeValue::S(value) => map.serialize_entry("S", value)?,
            AttributeValue::N(value) => map.serialize_entry("N", value)?,
            AttributeValue::Bool(value) => map.serialize_entry("BOOL", value)?,
            AttributeValue::Null(value) => map.serialize_entry("NULL", value)?,
            _ => return Err(ser::Error::custom("an attribute type left to the SDK")),
        }
        map.end()
    }
}

/// An item read from DynamoDB's JSON: the scalar types this adapter writes; any other fails the
/// answer, and the SDK sends the call again.
struct ReadItem(Item);

impl<'de> Deserialize<'de> for ReadItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = ReadItem;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a DynamoDB item")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ReadItem, A::Error> {
                let mut item = Item::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((name, value)) = map.next_entry::<String, ReadValue>()? {
                    item.insert(name, value.0);
                }
                Ok(ReadItem(item))
            }
        }
        deserializer.deserialize_map(ItemVisitor)
    }
}

struct ReadValue(AttributeValue);

impl<'de> Deserialize<'de> for ReadValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = ReadValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a DynamoDB attribute value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ReadValue, A::Error> {
                let value = match map.next_key::<Type>()? {
                    Some(Type::S) => AttributeValue::S(map.next_value()?),
                    Some(Type::N) => AttributeValue::N(map.next_value()?),
                    Some(Type::Bool) => AttributeValue::Bool(map.next_value()?),
                    Some(Type::Null) => AttributeValue::Null(map.next_value()?),
                    None => return Err(de::Error::custom("an attribute value without a type")),
                };
                if map.next_key::<Type>()?.is_some() {
                    return Err(de::Error::custom("an attribute value of two types"));
                }
                Ok(ReadValue(value))
            }
        }
        deserializer.deserialize_map(ValueVisitor)
    }
}

/// The attribute types read directly (an unknown one fails the answer).
#[derive(Deserialize)]
enum Type {
    S,
    N,
    #[serde(rename = "BOOL")]
    Bool,
    #[serde(rename = "NULL")]
    Null,
}

#[cfg(test)]
mod tests;
