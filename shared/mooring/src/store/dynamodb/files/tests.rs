use super::items::*;
use super::*;

fn file(size: usize) -> StoredFile {
    let user = UserKey {
        account: crate::stellar::Keypair::from_seed_bytes([7; 32]).account_id(),
        memo: Some(3),
    };
    StoredFile::new(
        user,
        "image/png",
        size,
        Timestamp::from_millis(1_700_000_000_123),
    )
}

fn meta_item(file: &StoredFile, chunks: &str) -> Item {
    let mut item = key(file_pk(&file.id), META.to_owned());
    item.insert(DOC.into(), s(encode_doc(file).expect("encodes")));
    item.insert(WRITE_ID.into(), s("w"));
    item.insert(CHUNKS.into(), AttributeValue::N(chunks.into()));
    item
}

#[test]
fn the_table_comes_from_the_environment_and_its_absence_is_named() {
    let table = DynamoFileStore::table_from_source(&[("FILES_TABLE", "f")]).expect("set");
    assert_eq!(table, "f");
    let missing =
        DynamoFileStore::table_from_source(&[("FILES_TABLE", " ")]).expect_err("blank is unset");
    assert_eq!(missing.to_string(), "FILES_TABLE must be set");
}

#[test]
fn metadata_round_trips_exactly() {
    let mut attached = file(CHUNK_BYTES + 1);
    attached.customer_id = Some("customer".into());
    attached.expires_at = None;
    for f in [file(10), attached] {
        let meta = Meta::decode(&f.id, &meta_item(&f, "1")).expect("decodes");
        assert_eq!(meta.file, f);
        assert_eq!((meta.write_id.as_str(), meta.chunks), ("w", 1));
    }
}

#[test]
fn inconsistent_metadata_is_corrupt() {
    let f = file(10);
    for (id, chunks) in [
        (f.id.as_str(), "11"),
        (f.id.as_str(), "0"),
        (f.id.as_str(), "-1"),
        (f.id.as_str(), "x"),
        ("other", "1"),
    ] {
        assert!(
            matches!(
                Meta::decode(id, &meta_item(&f, chunks)),
                Err(StoreError::Corrupt(_))
            ),
            "{id} {chunks}"
        );
    }
    let mut broken = meta_item(&f, "1");
    broken.insert(DOC.into(), s("{"));
    assert!(matches!(
        Meta::decode(&f.id, &broken),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn keys_and_expiry() {
    assert_eq!(chunk_sk("w", 7), "chunk#w#00007");
    let f = file(1);
    let link = customer_link_key(&f, "c");
    assert_eq!(link.get(PK), Some(&s("customer#c")));
    assert_eq!(
        link.get(SK),
        Some(&s(format!("file#001700000000123#{}", f.id)))
    );
    assert_eq!(
        ttl(Timestamp::from_millis(1_000)),
        AttributeValue::N("1".into())
    );
    assert_eq!(
        ttl(Timestamp::from_millis(1_001)),
        AttributeValue::N("2".into())
    );
    assert!(!usable_id(""));
    assert!(!usable_id(&"x".repeat(MAX_ID_BYTES + 1)));
    // The largest chunk with its keys and expiry fits an item.
    let largest = CHUNK_BYTES + file_pk(&f.id).len() + chunk_sk(&"w".repeat(32), 99_999).len() + 64;
    assert!(largest < 400 * 1024);
}
