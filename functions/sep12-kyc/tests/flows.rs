//! SEP-12 flows through the handler, over in-memory adapters: what a wallet does and every way
//! it can go wrong.

mod common;

use common::*;
use mooring::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::queue::QueueMessage;
use mooring::stellar::{Asset, Keypair};
use mooring::store::files::FileStore;
use mooring::store::{CustomerStore, TransactionStore};
use mooring::time::Timestamp;
use serde_json::json;

fn field_names(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn user(seed: u8, memo: Option<u64>) -> UserKey {
    UserKey {
        account: Keypair::from_seed_bytes([seed; 32]).account_id(),
        memo,
    }
}

#[tokio::test]
async fn a_wallet_registers_verifies_and_is_accepted() {
    let kyc = kyc(&[]);
    let jane = token(&account(7));

    let fresh = kyc.get(&jane, "").await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.body["status"], "NEEDS_INFO");
    assert!(fresh.body.get("id").is_none());
    assert_eq!(
        field_names(&fresh.body["fields"]),
        ["email_address", "first_name", "last_name"]
    );
    assert!(fresh.body["fields"]["first_name"]["description"].is_string());

    let created = kyc.put_json(&jane, json!({"first_name": "Jane"})).await;
    assert_eq!(created.status, 202, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let partial = kyc.get(&jane, "").await;
    assert_eq!(partial.body["id"], id.as_str());
    assert_eq!(partial.body["status"], "NEEDS_INFO");
    assert_eq!(
        field_names(&partial.body["fields"]),
        ["email_address", "last_name"]
    );

    // Form-encoded this time, naming the customer by id: the same id comes back.
    let more = kyc
        .put_form(
            &jane,
            &[
                ("id", &id),
                ("last_name", "Doe"),
                ("email_address", "jane@example.com"),
            ],
        )
        .await;
    assert_eq!(
        (more.status, more.body["id"].as_str()),
        (202, Some(id.as_str()))
    );
    let unverified = kyc.get(&jane, &format!("id={id}")).await;
    assert_eq!(unverified.body["status"], "NEEDS_INFO");
    assert_eq!(
        unverified.body["provided_fields"]["email_address"]["status"],
        "VERIFICATION_REQUIRED"
    );
    assert!(!unverified
        .body
        .to_string()
        .contains(&kyc.code(&id, "email_address").await));

    // A wrong code, then the right one (PUT /customer/verification).
    let code = kyc.code(&id, "email_address").await;
    let wrong = if code == "111111" { "222222" } else { "111111" };
    let refused = kyc
        .json(
            "PUT",
            "/kyc/customer/verification",
            &jane,
            json!({"id": id, "email_address_verification": wrong}),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.error(),
        "the verification code for email_address is not correct"
    );
    assert_eq!(
        kyc.get(&jane, "").await.body["provided_fields"]["email_address"]["status"],
        "VERIFICATION_REQUIRED"
    );
    let verified = kyc
        .json(
            "PUT",
            "/kyc/customer/verification",
            &jane,
            json!({"id": id, "email_address_verification": code}),
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(verified.body["status"], "ACCEPTED");
    assert_eq!(
        verified.body["provided_fields"]["email_address"]["status"],
        "ACCEPTED"
    );

    // By token and by id, the same accepted customer.
    for query in [String::new(), format!("id={id}")] {
        let accepted = kyc.get(&jane, &query).await;
        assert_eq!(accepted.body["status"], "ACCEPTED");
        assert_eq!(accepted.body["id"], id.as_str());
        assert!(accepted.body.get("fields").is_none(), "{}", accepted.body);
    }
}

#[tokio::test]
async fn a_code_can_also_come_with_put_customer() {
    let kyc = kyc(&[]);
    let jane = token(&account(7));
    let id = kyc
        .put_json(&jane, json!({"mobile_number": "+14155550123"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = kyc.code(&id, "mobile_number").await;
    let wrong = if code == "111111" { "222222" } else { "111111" };
    let refused = kyc
        .put_json(
            &jane,
            json!({"mobile_number_verification": wrong, "first_name": "Jane"}),
        )
        .await;
    assert_eq!(refused.status, 400);
    // Refused as a whole: the name that came with the wrong code was not stored.
    assert!(!kyc
        .customer(&id)
        .await
        .unwrap()
        .fields
        .contains_key("first_name"));
    let ok = kyc
        .put_json(&jane, json!({"mobile_number_verification": code}))
        .await;
    assert_eq!(ok.status, 202);
    assert_eq!(
        kyc.get(&jane, "").await.body["provided_fields"]["mobile_number"]["status"],
        "ACCEPTED"
    );
}

#[tokio::test]
async fn memos_of_one_account_are_separate_customers() {
    let kyc = kyc(&[("KYC_VERIFIED_FIELDS", "none")]);
    let owner = token(&account(5));
    let one = kyc
        .put_json(&owner, json!({"memo": "1", "first_name": "One"}))
        .await;
    let two = kyc
        .put_json(
            &owner,
            json!({"memo": "2", "memo_type": "id", "first_name": "Two"}),
        )
        .await;
    let (one, two) = (
        one.body["id"].as_str().unwrap().to_owned(),
        two.body["id"].as_str().unwrap().to_owned(),
    );
    assert_ne!(one, two);
    assert_eq!(kyc.get(&owner, "memo=1").await.body["id"], one.as_str());
    assert_eq!(kyc.get(&owner, "memo=2").await.body["id"], two.as_str());
    // The account itself (no memo) is a third user with no customer yet.
    assert!(kyc.get(&owner, "").await.body.get("id").is_none());

    // A token for memo 1 (G:1 or M...) sees customer one, and never customer two.
    for sub in [format!("{}:1", account(5)), muxed(5, 1)] {
        let user_one = token(&sub);
        let mine = kyc.get(&user_one, "").await;
        assert_eq!(mine.body["id"], one.as_str());
        assert_eq!(mine.body["provided_fields"]["first_name"]["type"], "string");
        let theirs = kyc.get(&user_one, &format!("id={two}")).await;
        assert_eq!(theirs.status, 404);
        let other_memo = kyc.get(&user_one, "memo=2").await;
        assert_eq!(other_memo.status, 403);
        assert_eq!(
            other_memo.error(),
            "The memo specified does not match the memo ID authorized via SEP-10"
        );
        let overwrite = kyc
            .put_json(&user_one, json!({"id": two, "first_name": "Mallory"}))
            .await;
        assert_eq!(overwrite.status, 404);
    }
    assert_eq!(
        kyc.customer(&two).await.unwrap().fields["first_name"],
        "Two"
    );
    // The owner's shared-account user by M address in `account`.
    let by_muxed = kyc.get(&owner, &format!("account={}", muxed(5, 2))).await;
    assert_eq!(by_muxed.body["id"], two.as_str());
}

#[tokio::test]
async fn another_account_cannot_read_change_or_delete_a_customer() {
    let kyc = kyc(&[("KYC_VERIFIED_FIELDS", "none")]);
    let alice = token(&account(1));
    let bob = token(&account(2));
    let id = kyc
        .put_json(&alice, json!({"first_name": "Alice"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = kyc.customer(&id).await.unwrap();

    let read = kyc.get(&bob, &format!("id={id}")).await;
    let missing = kyc
        .get(&bob, "id=00000000-0000-0000-0000-000000000000")
        .await;
    // A foreign id answers exactly like one that does not exist.
    assert_eq!(
        (read.status, read.body.clone()),
        (missing.status, missing.body.clone())
    );
    assert_eq!(read.status, 404);
    assert_eq!(read.error(), "customer not found");

    let update = kyc
        .put_json(&bob, json!({"id": id, "first_name": "Bob"}))
        .await;
    assert_eq!(update.status, 404);
    let verification = kyc
        .json(
            "PUT",
            "/kyc/customer/verification",
            &bob,
            json!({"id": id, "email_address_verification": "123456"}),
        )
        .await;
    assert_eq!(verification.status, 404);
    let callback = kyc
        .json(
            "PUT",
            "/kyc/customer/callback",
            &bob,
            json!({"id": id, "url": "https://bob.example/cb"}),
        )
        .await;
    assert_eq!(callback.status, 404);
    let delete_by_id = kyc
        .json(
            "DELETE",
            &format!("/kyc/customer/{}", account(2)),
            &bob,
            json!({"id": id}),
        )
        .await;
    assert_eq!(delete_by_id.status, 404);
    let delete_other = kyc
        .call(
            "DELETE",
            &format!("/kyc/customer/{}", account(1)),
            Some(&bob),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(delete_other.status, 403);
    assert_eq!(
        delete_other.error(),
        "The account specified does not match authorization token"
    );
    let files = kyc
        .call(
            "GET",
            &format!("/kyc/customer/files?customer_id={id}"),
            Some(&bob),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(files.body, json!({"files": []}));

    assert_eq!(kyc.customer(&id).await.unwrap(), before);
}

#[tokio::test]
async fn delete_erases_the_customer_and_its_files() {
    let kyc = kyc(&[("KYC_VERIFIED_FIELDS", "none")]);
    let alice = token(&account(1));
    let body = multipart(&[
        ("first_name", None, b"Alice"),
        (
            "photo_id_front",
            Some(("a.jpg", "image/jpeg")),
            b"\xff\xd8\xff",
        ),
    ]);
    let put = kyc
        .call(
            "PUT",
            "/kyc/customer",
            Some(&alice),
            Some(&multipart_type()),
            body,
        )
        .await;
    let id = put.body["id"].as_str().unwrap().to_owned();
    assert_eq!(kyc.files.len(), 1);
    // With the memo rules: a body memo is allowed for an account without one in its token.
    let with_memo = kyc
        .json(
            "DELETE",
            &format!("/kyc/customer/{}", account(1)),
            &alice,
            json!({"memo": "9"}),
        )
        .await;
    assert_eq!(with_memo.status, 404, "nothing stored for memo 9");

    let deleted = kyc
        .call(
            "DELETE",
            &format!("/kyc/customer/{}", account(1)),
            Some(&alice),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(deleted.status, 200);
    assert!(kyc.customer(&id).await.is_none());
    assert!(kyc.files.is_empty());
    assert_eq!(kyc.get(&alice, &format!("id={id}")).await.status, 404);
    let fresh = kyc.get(&alice, "").await;
    assert!(fresh.body.get("id").is_none());
    let again = kyc
        .call(
            "DELETE",
            &format!("/kyc/customer/{}", account(1)),
            Some(&alice),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(again.status, 404);

    // A memo customer deleted with the memo in the query string.
    let owner = token(&account(3));
    kyc.put_json(&owner, json!({"memo": "4", "first_name": "Four"}))
        .await;
    let path = format!("/kyc/customer/{}?memo=4", account(3));
    assert_eq!(
        kyc.call("DELETE", &path, Some(&owner), None, Vec::new())
            .await
            .status,
        200
    );
    assert!(CustomerStore::find_by_user(&*kyc.store, &user(3, Some(4)))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn authentication_failures_are_401_and_account_mismatches_403() {
    let kyc = kyc(&[]);
    let no_token = kyc
        .call("GET", "/kyc/customer", None, None, Vec::new())
        .await;
    assert_eq!(no_token.status, 401);
    assert!(!no_token.error().is_empty());
    let expired = kyc.get(&token_until(&account(1), NOW - 1), "").await;
    assert_eq!(
        (expired.status, expired.error()),
        (401, "the SEP-10 token has expired")
    );
    let forged = kyc.get("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", "").await;
    assert_eq!(forged.status, 401);
    for (method, uri) in [
        ("PUT", "/kyc/customer"),
        ("PUT", "/kyc/customer/verification"),
        ("PUT", "/kyc/customer/callback"),
        ("POST", "/kyc/customer/files"),
        ("GET", "/kyc/customer/files?file_id=x"),
    ] {
        let answer = kyc.call(method, uri, None, None, Vec::new()).await;
        assert_eq!(answer.status, 401, "{method} {uri}");
    }
    let delete = kyc
        .call(
            "DELETE",
            &format!("/kyc/customer/{}", account(1)),
            None,
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(delete.status, 401);

    let alice = token(&account(1));
    let get = kyc.get(&alice, &format!("account={}", account(2))).await;
    assert_eq!(get.status, 403);
    let put = kyc
        .put_json(&alice, json!({"account": account(2), "first_name": "A"}))
        .await;
    assert_eq!(put.status, 403);
    assert!(CustomerStore::find_by_user(&*kyc.store, &user(1, None))
        .await
        .unwrap()
        .is_none());
    // The right account (deprecated parameter) is fine.
    let ok = kyc
        .put_json(&alice, json!({"account": account(1), "first_name": "A"}))
        .await;
    assert_eq!(ok.status, 202);
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_stored() {
    let kyc = kyc(&[]);
    let alice = token(&account(1));
    let text = |s: &str| s.as_bytes().to_vec();
    // (what, content type, body, status, part of the error message)
    type Case<'a> = (&'a str, Option<String>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            Some("application/json".into()),
            text("{\"first_name\": "),
            400,
            "not a valid JSON object",
        ),
        (
            "JSON array",
            Some("application/json".into()),
            text("[1]"),
            400,
            "not a valid JSON object",
        ),
        (
            "nested JSON",
            Some("application/json".into()),
            text(r#"{"first_name": {"a": 1}}"#),
            400,
            "must be a string",
        ),
        (
            "unknown field",
            Some("application/json".into()),
            text(r#"{"first_name": "A", "shoe_size": "42"}"#),
            400,
            "'shoe_size' is not a SEP-9 field",
        ),
        (
            "unknown verification",
            Some("application/json".into()),
            text(r#"{"shoe_size_verification": "1"}"#),
            400,
            "not a SEP-9 field",
        ),
        (
            "binary field in JSON",
            Some("application/json".into()),
            text(r#"{"photo_id_front": "aGVsbG8="}"#),
            400,
            "photo_id_front is binary",
        ),
        (
            "text field as file id",
            Some("application/json".into()),
            text(r#"{"first_name_file_id": "x"}"#),
            400,
            "not a binary field",
        ),
        (
            "unknown file id",
            Some("application/json".into()),
            text(r#"{"photo_id_front_file_id": "nope"}"#),
            400,
            "does not name a file you uploaded",
        ),
        (
            "bad memo",
            Some("application/json".into()),
            text(r#"{"memo": "abc", "first_name": "A"}"#),
            400,
            "memo",
        ),
        (
            "text memo",
            Some("application/json".into()),
            text(r#"{"memo": "7", "memo_type": "text", "first_name": "A"}"#),
            400,
            "id memos",
        ),
        (
            "transaction without type",
            Some("application/json".into()),
            text(r#"{"transaction_id": "t", "first_name": "A"}"#),
            400,
            "'type' is required",
        ),
        (
            "unknown type",
            Some("application/json".into()),
            text(r#"{"type": "sep99", "first_name": "A"}"#),
            400,
            "unknown KYC type",
        ),
        (
            "bad email",
            Some("application/json".into()),
            text(r#"{"email_address": "jane"}"#),
            400,
            "email_address is not valid",
        ),
        (
            "long value",
            Some("application/json".into()),
            text(&format!(r#"{{"address": "{}"}}"#, "x".repeat(2000))),
            400,
            "longer than",
        ),
        (
            "repeated form field",
            Some("application/x-www-form-urlencoded".into()),
            text("first_name=a&first_name=b"),
            400,
            "more than once",
        ),
        (
            "unsupported type",
            Some("image/png".into()),
            text("xx"),
            415,
            "unsupported content type",
        ),
        (
            "form too large",
            Some("application/json".into()),
            vec![b' '; 300 * 1024],
            413,
            "larger than",
        ),
        (
            "oversized upload",
            Some(multipart_type()),
            multipart(&[
                ("first_name", None, b"A"),
                (
                    "photo_id_front",
                    Some(("big.png", "image/png")),
                    &vec![7u8; 5 * 1024 * 1024 + 1],
                ),
            ]),
            413,
            "larger than",
        ),
        (
            "upload of a text field",
            Some(multipart_type()),
            multipart(&[(
                "first_name",
                Some(("name.bin", "application/octet-stream")),
                b"\xff\xfe",
            )]),
            400,
            "UTF-8",
        ),
        (
            "unknown upload",
            Some(multipart_type()),
            multipart(&[("selfie", Some(("a.png", "image/png")), b"png")]),
            400,
            "not a SEP-9 field",
        ),
        (
            "broken multipart",
            Some(multipart_type()),
            text("--nope"),
            400,
            "multipart",
        ),
        (
            "upload with a bad email",
            Some(multipart_type()),
            multipart(&[
                ("email_address", None, b"jane"),
                ("photo_id_back", Some(("b.png", "image/png")), b"png"),
            ]),
            400,
            "email_address is not valid",
        ),
    ];
    for (what, content_type, body, status, message) in cases {
        let answer = kyc
            .call(
                "PUT",
                "/kyc/customer",
                Some(&alice),
                content_type.as_deref(),
                body,
            )
            .await;
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        assert!(
            answer.error().contains(message),
            "{what}: {}",
            answer.error()
        );
        assert!(
            CustomerStore::find_by_user(&*kyc.store, &user(1, None))
                .await
                .unwrap()
                .is_none(),
            "{what}: a customer was stored"
        );
        assert!(kyc.files.is_empty(), "{what}: a file was stored");
    }
    // Whole-request cap: two files within the per-file limit but over 10 MB together.
    let five = vec![1u8; 5 * 1024 * 1024];
    let body = multipart(&[
        ("photo_id_front", Some(("a.png", "image/png")), &five),
        ("photo_id_back", Some(("b.png", "image/png")), &five),
    ]);
    let too_big = kyc
        .call(
            "PUT",
            "/kyc/customer",
            Some(&alice),
            Some(&multipart_type()),
            body,
        )
        .await;
    assert_eq!(too_big.status, 413);
    assert!(kyc.files.is_empty());

    // An existing customer is left as it was.
    let id = kyc
        .put_json(&alice, json!({"first_name": "Alice"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = kyc.customer(&id).await.unwrap();
    let bad = kyc
        .put_json(
            &alice,
            json!({"first_name": "Eve", "birth_date": "yesterday"}),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(kyc.customer(&id).await.unwrap(), before);
}

#[tokio::test]
async fn files_are_uploaded_referenced_and_listed() {
    let kyc = kyc(&[("KYC_VERIFIED_FIELDS", "none")]);
    let alice = token(&account(1));
    let upload = kyc
        .call(
            "POST",
            "/kyc/customer/files",
            Some(&alice),
            Some(&multipart_type()),
            multipart(&[("file", Some(("back.pdf", "application/pdf")), b"%PDF-1.4")]),
        )
        .await;
    assert_eq!(upload.status, 200, "{}", upload.body);
    let file_id = upload.body["file_id"].as_str().unwrap().to_owned();
    assert_eq!(upload.body["content_type"], "application/pdf");
    assert_eq!(upload.body["size"], 8);
    assert_eq!(upload.body["customer_id"], serde_json::Value::Null);
    assert!(upload.body["expires_at"].is_string());

    // Another account cannot see or use it.
    let bob = token(&account(2));
    let peek = kyc
        .call(
            "GET",
            &format!("/kyc/customer/files?file_id={file_id}"),
            Some(&bob),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(peek.body, json!({"files": []}));
    let steal = kyc
        .put_json(&bob, json!({"photo_id_back_file_id": file_id}))
        .await;
    assert_eq!(steal.status, 400);

    let put = kyc
        .put_json(
            &alice,
            json!({"first_name": "Alice", "photo_id_back_file_id": file_id}),
        )
        .await;
    assert_eq!(put.status, 202, "{}", put.body);
    let id = put.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        kyc.customer(&id).await.unwrap().fields["photo_id_back"],
        file_id
    );
    let provided = kyc.get(&alice, "").await;
    assert_eq!(
        provided.body["provided_fields"]["photo_id_back"]["type"],
        "binary"
    );

    let listed = kyc
        .call(
            "GET",
            &format!("/kyc/customer/files?customer_id={id}"),
            Some(&alice),
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(listed.status, 200);
    let files = listed.body["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["file_id"], file_id.as_str());
    assert_eq!(files[0]["customer_id"], id.as_str());
    assert_eq!(files[0]["expires_at"], serde_json::Value::Null);

    for query in ["", "?file_id=a&customer_id=b"] {
        let bad = kyc
            .call(
                "GET",
                &format!("/kyc/customer/files{query}"),
                Some(&alice),
                None,
                Vec::new(),
            )
            .await;
        assert_eq!(bad.status, 400);
    }
    let no_part = kyc
        .call(
            "POST",
            "/kyc/customer/files",
            Some(&alice),
            Some(&multipart_type()),
            multipart(&[("x", None, b"1")]),
        )
        .await;
    assert_eq!(no_part.status, 400);
    let not_multipart = kyc
        .json("POST", "/kyc/customer/files", &alice, json!({"file": "x"}))
        .await;
    assert_eq!(not_multipart.status, 400);
    let huge = kyc
        .call(
            "POST",
            "/kyc/customer/files",
            Some(&alice),
            Some(&multipart_type()),
            multipart(&[(
                "file",
                Some(("x.bin", "application/octet-stream")),
                &vec![0u8; 5 * 1024 * 1024 + 1],
            )]),
        )
        .await;
    assert_eq!(huge.status, 413);
    assert_eq!(kyc.files.len(), 1);
    let file = kyc.files.get(&file_id).await.unwrap().unwrap();
    assert_eq!(file.customer_id.as_deref(), Some(id.as_str()));
}

#[tokio::test]
async fn callback_urls_are_checked_and_recorded() {
    let kyc = kyc(&[]);
    let alice = token(&account(1));
    let id = kyc.put_json(&alice, json!({"first_name": "A"})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for url in ["", "not a url", "ftp://x.example/cb", "/relative"] {
        let bad = kyc
            .json("PUT", "/kyc/customer/callback", &alice, json!({"url": url}))
            .await;
        assert_eq!(bad.status, 400, "{url}");
    }
    let ok = kyc
        .json(
            "PUT",
            "/kyc/customer/callback",
            &alice,
            json!({"id": id, "url": "https://wallet.example/kyc"}),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        kyc.customer(&id).await.unwrap().callback_url.as_deref(),
        Some("https://wallet.example/kyc")
    );
}

#[tokio::test]
async fn routes_answer_preflights_unknown_paths_and_methods() {
    let kyc = kyc(&[]);
    for path in ["/kyc/customer", "/kyc/customer/files", "/kyc/customer/GABC"] {
        let preflight = kyc.call("OPTIONS", path, None, None, Vec::new()).await;
        assert_eq!(preflight.status, 204);
        assert!(preflight.headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("PUT"));
    }
    let alice = token(&account(1));
    let unknown = kyc
        .call("GET", "/kyc/customers", Some(&alice), None, Vec::new())
        .await;
    assert_eq!(unknown.status, 404);
    let method = kyc
        .call("POST", "/kyc/customer", Some(&alice), None, Vec::new())
        .await;
    assert_eq!(method.status, 405);
}

/// A SEP-31 transaction waiting for its customers' KYC.
fn waiting(sender: &str, receiver: &str) -> Transaction {
    let sending_anchor = user(9, None);
    let issuer = Keypair::from_seed_bytes([2; 32]).account_id();
    let mut transaction = Transaction::new(
        Protocol::Sep31,
        Kind::Receive,
        TransactionStatus::PendingCustomerInfoUpdate,
        sending_anchor,
        Asset::credit("USDC", issuer).unwrap(),
        Timestamp::from_secs(NOW),
    );
    transaction.sender_id = Some(sender.to_owned());
    transaction.receiver_id = Some(receiver.to_owned());
    transaction.required_info_message = Some("need the receiver's bank account".into());
    transaction
}

#[tokio::test]
async fn completing_kyc_releases_waiting_sep31_transactions_once() {
    let kyc = kyc(&[("KYC_VERIFIED_FIELDS", "none")]);
    // The sending anchor registers its sender and receiver as memo users of its account.
    let anchor = token(&account(9));
    let person = json!({"first_name": "S", "last_name": "Ender", "email_address": "s@example.com"});
    let mut sender = person.clone();
    sender["memo"] = json!("1");
    sender["type"] = json!("sep31-sender");
    let sender_id = kyc.put_json(&anchor, sender).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut receiver = person.clone();
    receiver["memo"] = json!("2");
    receiver["type"] = json!("sep31-receiver");
    let receiver_id = kyc.put_json(&anchor, receiver).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let first = waiting(&sender_id, &receiver_id);
    let second = waiting(&sender_id, &receiver_id);
    let unrelated = waiting(&sender_id, "someone-else");
    let mut deposit = waiting(&sender_id, &receiver_id);
    deposit.kind = Kind::Deposit;
    deposit.protocol = Protocol::Sep6;
    for t in [&first, &second, &unrelated, &deposit] {
        TransactionStore::insert(&*kyc.store, t).await.unwrap();
    }

    // The receiver still lacks bank details: nothing moves.
    let status = kyc.get(&anchor, "memo=2&type=sep31-receiver").await;
    assert_eq!(status.body["status"], "NEEDS_INFO");
    assert!(kyc.queue.messages().is_empty());

    let complete = kyc
        .put_json(
            &anchor,
            json!({"memo": "2", "type": "sep31-receiver", "bank_account_number": "12345678", "bank_number": "021000021"}),
        )
        .await;
    assert_eq!(complete.status, 202, "{}", complete.body);
    let mut sent = kyc.queue.messages();
    sent.sort_by(|a, b| a.transaction_id.cmp(&b.transaction_id));
    let mut expected = vec![
        QueueMessage::new(first.id.clone(), Kind::Receive),
        QueueMessage::new(second.id.clone(), Kind::Receive),
    ];
    expected.sort_by(|a, b| a.transaction_id.cmp(&b.transaction_id));
    assert_eq!(sent, expected);
    for t in [&first, &second] {
        let moved = TransactionStore::get(&*kyc.store, &t.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(moved.status, TransactionStatus::PendingReceiver);
        assert_eq!(moved.version, t.version + 1);
        assert_eq!(moved.required_info_message, None);
    }
    for t in [&unrelated, &deposit] {
        let stays = TransactionStore::get(&*kyc.store, &t.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stays, *t);
    }

    // Later updates find nothing waiting: still one message per transaction.
    kyc.put_json(&anchor, json!({"memo": "2", "city": "Lisbon"}))
        .await;
    assert_eq!(kyc.queue.messages().len(), 2);
}
