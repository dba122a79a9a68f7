//! The DynamoDB Streams event a Lambda receives from its event source mapping, reduced to what
//! the dispatcher reads: which table, the item's `doc` before and after the write, and the
//! record's sequence number (to report a failed record: `ReportBatchItemFailures`, after which
//! the stream delivers that record and every later one of the shard again). Plain serde types.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StreamRecord {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    /// `arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`.
    #[serde(rename = "eventSourceARN", default)]
    pub event_source_arn: String,
    #[serde(default)]
    pub dynamodb: StreamData,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StreamData {
    #[serde(rename = "NewImage", default)]
    pub new_image: Option<Image>,
    #[serde(rename = "OldImage", default)]
    pub old_image: Option<Image>,
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: String,
}

/// An item image: only its `doc` attribute (the record's JSON, `store::dynamodb`), if it has one
/// (a customer table's guard items have none).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Image {
    #[serde(default)]
    pub doc: Option<StringAttribute>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StringAttribute {
    #[serde(rename = "S")]
    pub s: String,
}

impl StreamRecord {
    /// The name of the table the record comes from.
    pub fn table_name(&self) -> Option<&str> {
        let rest = self.event_source_arn.split_once(":table/")?.1;
        Some(rest.split_once('/').map_or(rest, |(name, _)| name))
    }

    /// The item's `doc` after the write (`None` for a removal or an item without one).
    pub fn new_doc(&self) -> Option<&str> {
        self.dynamodb
            .new_image
            .as_ref()?
            .doc
            .as_ref()
            .map(|d| d.s.as_str())
    }

    /// The item's `doc` before the write (`None` for an insertion).
    pub fn old_doc(&self) -> Option<&str> {
        self.dynamodb
            .old_image
            .as_ref()?
            .doc
            .as_ref()
            .map(|d| d.s.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_record_names_its_table_and_carries_both_docs() {
        let event: StreamEvent = serde_json::from_str(
            r#"{"Records": [{
                "eventID": "1", "eventName": "MODIFY", "eventSource": "aws:dynamodb",
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/mooring-Transactions-X1/stream/2026-12-06T00:00:00.000",
                "dynamodb": {
                    "Keys": {"id": {"S": "t-1"}},
                    "NewImage": {"id": {"S": "t-1"}, "version": {"N": "2"}, "doc": {"S": "{\"new\":1}"}},
                    "OldImage": {"id": {"S": "t-1"}, "version": {"N": "1"}, "doc": {"S": "{\"old\":1}"}},
                    "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_AND_OLD_IMAGES"
                }
            }, {
                "eventName": "INSERT",
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/Customers/stream/x",
                "dynamodb": {"NewImage": {"id": {"S": "user#G..."}}, "SequenceNumber": "112"}
            }]}"#,
        )
        .expect("a stream event");
        let [modify, insert] = &event.records[..] else {
            panic!("two records");
        };
        assert_eq!(modify.table_name(), Some("mooring-Transactions-X1"));
        assert_eq!(modify.new_doc(), Some("{\"new\":1}"));
        assert_eq!(modify.old_doc(), Some("{\"old\":1}"));
        assert_eq!(modify.dynamodb.sequence_number, "111");
        assert_eq!(insert.table_name(), Some("Customers"));
        assert_eq!(insert.new_doc(), None, "a guard item has no doc");
        assert_eq!(insert.old_doc(), None);
        assert_eq!(StreamRecord::default().table_name(), None);
    }
}
