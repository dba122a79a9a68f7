//! The item codec: how records become DynamoDB items and back (attribute and index names, the
//! `doc` attribute, sort keys), and how listing keys become opaque cursors.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;

use crate::model::{
    Customer, IncomingPayment, Kind, Quote, Transaction, TransactionStatus, UserKey,
};
use crate::store::StoreError;
use crate::time::Timestamp;

pub(super) type Item = HashMap<String, AttributeValue>;

// Attribute names.
pub(super) const ID: &str = "id";
pub(super) const VERSION: &str = "version";
pub(super) const STATUS: &str = "status";
pub(super) const DOC: &str = "doc";
pub(super) const USER: &str = "user";
pub(super) const KIND_STATUS: &str = "kind_status";
pub(super) const STARTED: &str = "started";
pub(super) const RECEIVING_KEY: &str = "receiving_key";
pub(super) const STELLAR_TRANSACTION_ID: &str = "stellar_transaction_id";
pub(super) const EXTERNAL_TRANSACTION_ID: &str = "external_transaction_id";
pub(super) const CUSTOMER_ID: &str = "customer_id";
pub(super) const HASH: &str = "hash";
pub(super) const EXPIRES_AT: &str = "expires_at";
pub(super) const KEY: &str = "key";
pub(super) const HOLDER: &str = "holder";
pub(super) const UNTIL: &str = "until";
pub(super) const VALUE: &str = "value";
pub(super) const ATTENTION: &str = "attention";
pub(super) const RECORDED: &str = "recorded";
/// An incoming payment's transaction, key of `by_transaction`.
pub(super) const PAID_TRANSACTION: &str = "transaction_id";
pub(super) const EXPIRES: &str = "expires";

/// The `attention` value of every payment needing the operator (one partition of the index).
pub(super) const OPEN: &str = "open";

// Index names (template.yaml declares them).
pub(super) const BY_USER: &str = "by_user";
pub(super) const BY_KIND_STATUS: &str = "by_kind_status";
pub(super) const BY_RECEIVING: &str = "by_receiving";
pub(super) const BY_STELLAR_TX: &str = "by_stellar_tx";
pub(super) const BY_EXTERNAL_ID: &str = "by_external_id";
pub(super) const NEEDING_ATTENTION: &str = "needing_attention";
pub(super) const BY_TRANSACTION: &str = "by_transaction";

/// How long a quote is kept after it expires: a transaction may reference its quote (`quote_id`)
/// long after the quote could last be used, so TTL erases it only a year later.
pub(super) const QUOTE_KEPT_AFTER_EXPIRY_SECS: i64 = 365 * 24 * 60 * 60;

/// Customer ids are UUIDs, so this prefix cannot clash with one.
pub(super) const GUARD_PREFIX: &str = "user#";

/// No real cursor comes near this; longer input is refused before it is decoded.
pub(super) const MAX_CURSOR_LEN: usize = 8192;

/// An index listing: which index, which partition, which way.
pub(super) struct Listing {
    pub(super) index: &'static str,
    pub(super) partition_attribute: &'static str,
    pub(super) partition: String,
    /// Lowest `started` key read (inclusive).
    pub(super) started_from: Option<String>,
    /// Highest `started` key read (inclusive).
    pub(super) started_to: Option<String>,
    pub(super) newest_first: bool,
}

impl Listing {
    /// The full index key of a listed item (table key, index partition and sort key), from which
    /// a query resumes.
    pub(super) fn key_of(&self, row: &Item) -> Result<Item, StoreError> {
        [ID, self.partition_attribute, STARTED]
            .into_iter()
            .map(|name| Ok((name.to_owned(), s(string_attribute(row, name)?))))
            .collect()
    }

    /// The start key a cursor encodes, if it is one of this listing's.
    pub(super) fn decode_cursor(&self, cursor: &str) -> Result<Item, StoreError> {
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(StoreError::InvalidCursor);
        }
        let json = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| StoreError::InvalidCursor)?;
        let key: BTreeMap<String, String> =
            serde_json::from_slice(&json).map_err(|_| StoreError::InvalidCursor)?;
        let (Some(id), Some(partition), Some(started)) = (
            key.get(ID),
            key.get(self.partition_attribute),
            key.get(STARTED),
        ) else {
            return Err(StoreError::InvalidCursor);
        };
        // DynamoDB refuses a start key outside the query's key range with an error; a cursor
        // from another listing (another user, status or time bound) is the caller's mistake.
        let valid = key.len() == 3
            && !id.is_empty()
            && *partition == self.partition
            && started
                .strip_suffix(id.as_str())
                .is_some_and(|s| s.ends_with('#'))
            && self
                .started_from
                .as_ref()
                .is_none_or(|from| started >= from)
            && self.started_to.as_ref().is_none_or(|to| started <= to);
        if !valid {
            return Err(StoreError::InvalidCursor);
        }
        Ok(key
            .into_iter()
            .map(|(name, value)| (name, s(value)))
            .collect())
    }
}

pub(super) fn encode_cursor<K: serde::Serialize>(key: &K) -> Result<String, StoreError> {
    let json = serde_json::to_vec(key)
        .map_err(|e| StoreError::Corrupt(format!("a listing key cannot be encoded: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// The cursor of a LastEvaluatedKey, whose attributes (index and table keys) are all strings.
pub(super) fn cursor_from_key(key: &Item) -> Result<String, StoreError> {
    let plain = key
        .keys()
        .map(|name| Ok((name.as_str(), string_attribute(key, name)?)))
        .collect::<Result<BTreeMap<_, _>, StoreError>>()?;
    encode_cursor(&plain)
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The `started` sort key: zero-padded millis (so string order is time order), then the id (so
/// that equal times have an order too). Nothing starts before 1970; were it to, it would sort
/// as 1970.
pub(super) fn started_key(started_at: Timestamp, id: &str) -> String {
    format!("{}#{id}", started_bound(started_at))
}

/// The lowest `started` key of anything started at or after `from`.
pub(super) fn started_bound(from: Timestamp) -> String {
    format!("{:015}", from.millis().max(0))
}

pub(super) fn millis(at: Timestamp) -> AttributeValue {
    AttributeValue::N(at.millis().to_string())
}

pub(super) fn payment_item(p: &IncomingPayment) -> Result<Item, StoreError> {
    let mut item = Item::from([
        (ID.to_owned(), s(&p.id)),
        (DOC.to_owned(), s(encode_doc(p, "incoming payment", &p.id)?)),
    ]);
    // The sparse index: only what needs the operator is in it.
    if p.outcome.needs_attention() {
        item.insert(ATTENTION.to_owned(), s(OPEN));
        item.insert(RECORDED.to_owned(), s(started_key(p.recorded_at, &p.id)));
    }
    // `by_transaction`: the payments of a transaction (its refund finds what it was paid).
    if let Some(transaction_id) = p.transaction_id.as_deref().filter(|t| !t.is_empty()) {
        item.insert(PAID_TRANSACTION.to_owned(), s(transaction_id));
    }
    Ok(item)
}

/// The `needing_attention` index key of a listed payment.
pub(super) fn attention_key_of(row: &Item) -> Result<Item, StoreError> {
    [ID, ATTENTION, RECORDED]
        .into_iter()
        .map(|name| Ok((name.to_owned(), s(string_attribute(row, name)?))))
        .collect()
}

/// The start key a cursor of `list_needing_attention` encodes, if it is one.
pub(super) fn decode_attention_cursor(cursor: &str) -> Result<Item, StoreError> {
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(StoreError::InvalidCursor);
    }
    let json = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let key: BTreeMap<String, String> =
        serde_json::from_slice(&json).map_err(|_| StoreError::InvalidCursor)?;
    let valid = key.len() == 3
        && key.get(ATTENTION).is_some_and(|a| a == OPEN)
        && match (key.get(ID), key.get(RECORDED)) {
            (Some(id), Some(recorded)) => {
                !id.is_empty()
                    && recorded
                        .strip_suffix(id.as_str())
                        .is_some_and(|r| r.ends_with('#'))
            }
            _ => false,
        };
    if !valid {
        return Err(StoreError::InvalidCursor);
    }
    Ok(key
        .into_iter()
        .map(|(name, value)| (name, s(value)))
        .collect())
}

pub(super) fn number_attribute(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| {
            StoreError::Corrupt(format!("attribute {name} is not a version: {value}"))
        }),
        _ => Err(StoreError::Corrupt(format!(
            "an item has no number attribute {name}"
        ))),
    }
}

pub(super) fn kind_status(kind: Kind, status: TransactionStatus) -> String {
    format!("{}#{}", kind.as_str(), status.as_str())
}

pub(super) fn guard_id(user: &UserKey) -> String {
    format!("{GUARD_PREFIX}{user}")
}

pub(super) fn encode_doc<T: serde::Serialize>(
    record: &T,
    what: &str,
    id: &str,
) -> Result<String, StoreError> {
    serde_json::to_string(record)
        .map_err(|e| StoreError::Corrupt(format!("{what} {id} cannot be encoded: {e}")))
}

pub(super) fn transaction_item(t: &Transaction) -> Result<Item, StoreError> {
    let mut item = Item::from([
        (ID.to_owned(), s(&t.id)),
        (VERSION.to_owned(), n(t.version)),
        (STATUS.to_owned(), s(t.status.as_str())),
        (USER.to_owned(), s(t.user.to_string())),
        (KIND_STATUS.to_owned(), s(kind_status(t.kind, t.status))),
        (STARTED.to_owned(), s(started_key(t.started_at, &t.id))),
        (DOC.to_owned(), s(encode_doc(t, "transaction", &t.id)?)),
    ]);
    let lookups = [
        (RECEIVING_KEY, t.receiving_key()),
        (STELLAR_TRANSACTION_ID, t.stellar_transaction_id.clone()),
        (EXTERNAL_TRANSACTION_ID, t.external_transaction_id.clone()),
    ];
    for (name, value) in lookups {
        // Sparse indexes: no attribute, no index entry. DynamoDB also refuses an empty string
        // as an index key.
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            item.insert(name.to_owned(), s(value));
        }
    }
    Ok(item)
}

pub(super) fn customer_item(c: &Customer) -> Result<Item, StoreError> {
    Ok(Item::from([
        (ID.to_owned(), s(&c.id)),
        (VERSION.to_owned(), n(c.version)),
        (USER.to_owned(), s(c.user.to_string())),
        (DOC.to_owned(), s(encode_doc(c, "customer", &c.id)?)),
    ]))
}

/// A quote: its `doc`, and `expires` (N, epoch seconds), the table's TTL attribute.
pub(super) fn quote_item(q: &Quote) -> Result<Item, StoreError> {
    let expires = q
        .expires_at
        .secs()
        .saturating_add(QUOTE_KEPT_AFTER_EXPIRY_SECS);
    Ok(Item::from([
        (ID.to_owned(), s(&q.id)),
        (EXPIRES.to_owned(), AttributeValue::N(expires.to_string())),
        (DOC.to_owned(), s(encode_doc(q, "quote", &q.id)?)),
    ]))
}

pub(super) fn string_attribute<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(StoreError::Corrupt(format!(
            "an item of id {:?} has no string attribute {name}",
            item.get(ID).and_then(|id| id.as_s().ok())
        ))),
    }
}

pub(super) fn decode_doc<T: DeserializeOwned>(item: &Item, what: &str) -> Result<T, StoreError> {
    let doc = string_attribute(item, DOC)?;
    serde_json::from_str(doc).map_err(|e| {
        let id = item.get(ID).and_then(|id| id.as_s().ok());
        StoreError::Corrupt(format!("{what} {id:?} cannot be decoded: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(from: Option<Timestamp>) -> Listing {
        Listing {
            index: BY_USER,
            partition_attribute: USER,
            partition: "GABC:1".into(),
            started_from: from.map(started_bound),
            started_to: None,
            newest_first: true,
        }
    }

    fn cursor_of(pairs: &[(&str, &str)]) -> String {
        let key: BTreeMap<&str, &str> = pairs.iter().copied().collect();
        encode_cursor(&key).expect("encodes")
    }

    #[test]
    fn started_keys_sort_as_times_then_ids() {
        let keys = [
            started_key(Timestamp::from_millis(999), "b"),
            started_key(Timestamp::from_millis(1000), "a"),
            started_key(Timestamp::from_millis(1000), "b"),
            started_key(Timestamp::from_millis(1_700_000_000_000), "a"),
        ];
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        assert!(
            started_key(Timestamp::from_millis(1000), "a")
                >= started_bound(Timestamp::from_millis(1000))
        );
        assert!(
            started_key(Timestamp::from_millis(999), "z")
                < started_bound(Timestamp::from_millis(1000))
        );
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let l = listing(None);
        let started = started_key(Timestamp::from_millis(5), "tx-1");
        let good = cursor_of(&[(ID, "tx-1"), (USER, "GABC:1"), (STARTED, &started)]);
        let key = l.decode_cursor(&good).expect("valid");
        assert_eq!(key.get(ID), Some(&s("tx-1")));
        assert_eq!(key.get(STARTED), Some(&s(started.clone())));

        let also_good = cursor_from_key(&key).expect("encodes");
        assert_eq!(
            also_good, good,
            "a LastEvaluatedKey encodes like a listed item's key"
        );

        let bad = [
            "not a cursor".to_owned(),
            URL_SAFE_NO_PAD.encode("not json"),
            URL_SAFE_NO_PAD.encode("[1,2]"),
            cursor_of(&[(ID, "tx-1"), (USER, "GABC:1")]),
            cursor_of(&[(ID, "tx-1"), (USER, "GOTHER"), (STARTED, &started)]),
            cursor_of(&[(ID, "tx-2"), (USER, "GABC:1"), (STARTED, &started)]),
            cursor_of(&[(ID, "tx-1"), (KIND_STATUS, "GABC:1"), (STARTED, &started)]),
            cursor_of(&[
                (ID, "tx-1"),
                (USER, "GABC:1"),
                (STARTED, &started),
                ("x", "y"),
            ]),
            "A".repeat(MAX_CURSOR_LEN + 1),
        ];
        for cursor in bad {
            assert_eq!(
                l.decode_cursor(&cursor),
                Err(StoreError::InvalidCursor),
                "{cursor}"
            );
        }
        assert_eq!(
            listing(Some(Timestamp::from_millis(6))).decode_cursor(&good),
            Err(StoreError::InvalidCursor),
            "a cursor before the listing's time bound"
        );
    }

    #[test]
    fn attention_cursors_round_trip_and_others_are_refused() {
        let recorded = started_key(Timestamp::from_millis(5), "123");
        let good = cursor_of(&[(ID, "123"), (ATTENTION, OPEN), (RECORDED, &recorded)]);
        let key = decode_attention_cursor(&good).expect("valid");
        assert_eq!(key.get(RECORDED), Some(&s(recorded.clone())));
        assert_eq!(cursor_from_key(&key).expect("encodes"), good);
        let bad = [
            "not a cursor".to_owned(),
            URL_SAFE_NO_PAD.encode("{}"),
            cursor_of(&[(ID, "123"), (ATTENTION, "closed"), (RECORDED, &recorded)]),
            cursor_of(&[(ID, "124"), (ATTENTION, OPEN), (RECORDED, &recorded)]),
            cursor_of(&[(ID, ""), (ATTENTION, OPEN), (RECORDED, "000#")]),
            cursor_of(&[(ID, "123"), (ATTENTION, OPEN)]),
            cursor_of(&[
                (ID, "123"),
                (ATTENTION, OPEN),
                (RECORDED, &recorded),
                ("x", "y"),
            ]),
            cursor_of(&[(ID, "123"), (USER, "GABC"), (STARTED, &recorded)]),
            "A".repeat(MAX_CURSOR_LEN + 1),
        ];
        for cursor in bad {
            assert_eq!(
                decode_attention_cursor(&cursor),
                Err(StoreError::InvalidCursor),
                "{cursor}"
            );
        }
    }

    #[test]
    fn only_payments_needing_attention_are_indexed() {
        let payment = |outcome| IncomingPayment {
            id: "42".into(),
            account: crate::stellar::Keypair::random().account_id(),
            transaction_hash: "ab".repeat(32),
            from: None,
            asset: crate::stellar::Asset::Native,
            amount: "1".parse().expect("amount"),
            memo_type: "none".into(),
            memo: None,
            created_at: Timestamp::from_millis(1),
            outcome,
            transaction_id: None,
            note: None,
            recorded_at: Timestamp::from_millis(2),
            off_chain: None,
        };
        for quiet in [
            crate::model::PaymentOutcome::Matched,
            crate::model::PaymentOutcome::History,
        ] {
            let item = payment_item(&payment(quiet)).expect("item");
            assert!(
                !item.contains_key(ATTENTION) && !item.contains_key(RECORDED),
                "{quiet:?}"
            );
        }
        let p = payment(crate::model::PaymentOutcome::Duplicate);
        let item = payment_item(&p).expect("item");
        assert_eq!(item.get(ATTENTION), Some(&s(OPEN)));
        assert_eq!(item.get(RECORDED), Some(&s("000000000000002#42")));
        assert_eq!(
            attention_key_of(&item).expect("key").len(),
            3,
            "id and the index keys"
        );
        let back: IncomingPayment = decode_doc(&item, "incoming payment").expect("decodes");
        assert_eq!(back, p);
        assert!(
            !item.contains_key(PAID_TRANSACTION),
            "no transaction: not in by_transaction"
        );
        let mut named = p.clone();
        named.transaction_id = Some("tx-9".into());
        let item = payment_item(&named).expect("item");
        assert_eq!(item.get(PAID_TRANSACTION), Some(&s("tx-9")));
    }

    #[test]
    fn lookup_keys_are_only_written_when_present() {
        let user = UserKey {
            account: crate::stellar::Keypair::random().account_id(),
            memo: Some(3),
        };
        let mut t = Transaction::new(
            crate::model::Protocol::Sep24,
            Kind::Deposit,
            TransactionStatus::Incomplete,
            user,
            crate::stellar::Asset::Native,
            Timestamp::from_millis(1),
        );
        t.external_transaction_id = Some(String::new());
        let item = transaction_item(&t).expect("encodes");
        for absent in [
            RECEIVING_KEY,
            STELLAR_TRANSACTION_ID,
            EXTERNAL_TRANSACTION_ID,
        ] {
            assert!(!item.contains_key(absent), "{absent}");
        }
        assert_eq!(item.get(USER), Some(&s(format!("{}:3", user.account))));
        assert_eq!(item.get(KIND_STATUS), Some(&s("deposit#incomplete")));
        let back: Transaction = decode_doc(&item, "transaction").expect("decodes");
        assert_eq!(back, t);

        let mut broken = item;
        broken.insert(DOC.into(), s("{"));
        assert!(matches!(
            decode_doc::<Transaction>(&broken, "transaction"),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn a_quote_expires_from_the_table_a_year_after_it_expires() {
        let amount = |text| crate::decimal::Decimal::parse(text, 7).expect("decimal");
        let quote = Quote {
            id: "q-1".into(),
            user: UserKey {
                account: crate::stellar::Keypair::random().account_id(),
                memo: None,
            },
            context: crate::model::QuoteContext::Sep24,
            sell_asset: "iso4217:USD".into(),
            sell_amount: amount("100"),
            sell_delivery_method: None,
            buy_asset: "stellar:native".into(),
            buy_amount: amount("98"),
            buy_delivery_method: None,
            country_code: None,
            price: amount("1"),
            total_price: amount("1.0204082"),
            fee: crate::model::QuoteFee {
                total: amount("2"),
                asset: "iso4217:USD".into(),
                details: Vec::new(),
            },
            expires_at: Timestamp::from_millis(1_700_000_000_999),
            created_at: Timestamp::from_millis(1_699_999_700_000),
            transaction_id: None,
        };
        let item = quote_item(&quote).expect("item");
        assert_eq!(
            item.get(EXPIRES),
            Some(&AttributeValue::N(
                (1_700_000_000 + 365 * 86_400).to_string()
            ))
        );
        assert_eq!(item.len(), 3, "id, expires and doc");
        let back: Quote = decode_doc(&item, "quote").expect("decodes");
        assert_eq!(back, quote);
    }
}
