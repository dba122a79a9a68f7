//! The Lambda handler driven by real API Gateway (HTTP API, payload 2.0) events.

mod common;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use common::*;
use lambda_http::request::from_str;

fn event(fixture: &str, token: &str) -> lambda_http::Request {
    from_str(&fixture.replace("__TOKEN__", token)).unwrap()
}

#[tokio::test]
async fn put_then_get_customer_events() {
    let kyc = kyc(&[("KYC_VERIFIED_FIELDS", "none")]);
    let jane = token(&account(7));
    let put = kyc
        .send(event(include_str!("events/put_customer_json.json"), &jane))
        .await;
    assert_eq!(put.status, 202, "{}", put.body);
    let id = put.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        kyc.customer(&id).await.unwrap().fields["first_name"],
        "Jane"
    );

    // The fixture asks for type sep31-receiver, which also needs bank details.
    let get = kyc
        .send(event(include_str!("events/get_customer.json"), &jane))
        .await;
    assert_eq!(get.status, 200);
    assert_eq!(get.headers["content-type"], "application/json");
    assert_eq!(get.body["id"], id.as_str());
    assert_eq!(get.body["status"], "NEEDS_INFO");
    let missing: Vec<&str> = get.body["fields"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(missing, ["bank_account_number", "bank_number"]);
    assert_eq!(get.body["fields"]["bank_number"]["type"], "string");
    assert_eq!(
        get.body["provided_fields"]["email_address"]["status"],
        "ACCEPTED"
    );
}

#[tokio::test]
async fn base64_multipart_event_stores_the_binary_field_as_a_file() {
    let kyc = kyc(&[]);
    let jane = token(&account(7));
    let photo: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let body = multipart(&[
        ("first_name", None, b"Jane"),
        ("photo_id_front", Some(("id.png", "image/png")), &photo),
    ]);
    let fixture = include_str!("events/put_customer_multipart_base64.json")
        .replace("__BODY__", &BASE64.encode(&body));
    let put = kyc.send(event(&fixture, &jane)).await;
    assert_eq!(put.status, 202, "{}", put.body);
    let id = put.body["id"].as_str().unwrap();
    let customer = kyc.customer(id).await.unwrap();
    let file_id = &customer.fields["photo_id_front"];
    use mooring::store::files::FileStore;
    let file = kyc.files.get(file_id).await.unwrap().unwrap();
    assert_eq!(
        (
            file.content_type.as_str(),
            file.size,
            file.customer_id.as_deref()
        ),
        ("image/png", 3000, Some(id))
    );
    assert_eq!(kyc.files.content(file_id).await.unwrap().unwrap(), photo);
}

#[tokio::test]
async fn delete_event_erases_the_customer() {
    let kyc = kyc(&[]);
    let jane = token(&account(7));
    let put = kyc
        .send(event(include_str!("events/put_customer_json.json"), &jane))
        .await;
    let id = put.body["id"].as_str().unwrap().to_owned();
    let fixture = include_str!("events/delete_customer.json").replace("__ACCOUNT__", &account(7));
    assert_eq!(kyc.send(event(&fixture, &jane)).await.status, 200);
    assert!(kyc.customer(&id).await.is_none());
    let again = kyc.send(event(&fixture, &jane)).await;
    assert_eq!(again.status, 404);
    // Another account in the path: refused as SEP-12 references do.
    let other = include_str!("events/delete_customer.json").replace("__ACCOUNT__", &account(8));
    assert_eq!(kyc.send(event(&other, &jane)).await.status, 403);
}

#[tokio::test]
async fn events_without_a_valid_token_are_401() {
    let kyc = kyc(&[]);
    let fixture = include_str!("events/get_customer.json");
    let mut unsigned: serde_json::Value = serde_json::from_str(fixture).unwrap();
    unsigned["headers"]
        .as_object_mut()
        .unwrap()
        .remove("authorization");
    let unsigned = from_str(&unsigned.to_string()).unwrap();
    let missing = kyc.send(unsigned).await;
    assert_eq!(missing.status, 401);
    assert!(missing.error().contains("Bearer"), "{}", missing.body);
    let expired = kyc
        .send(event(fixture, &token_until(&account(7), NOW)))
        .await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.error(), "the SEP-10 token has expired");
}

#[test]
fn refuses_to_start_with_bad_settings() {
    let ports = || sep12_kyc::Ports {
        store: std::sync::Arc::new(mooring::store::InMemoryStore::default()),
        files: std::sync::Arc::new(mooring::store::files::InMemoryFileStore::default()),
        outgoing: std::sync::Arc::new(mooring::queue::InMemoryQueue::default()),
        clock: std::sync::Arc::new(mooring::clock::SystemClock),
    };
    let mut no_secret = settings(&[]);
    no_secret.remove("JWT_SECRET");
    assert_eq!(
        start(&no_secret, ports()).err().unwrap().to_string(),
        "JWT_SECRET must be set"
    );
    let bad_fields = settings(&[("KYC_REQUIRED_FIELDS", r#"{"default": ["shoe_size"]}"#)]);
    assert_eq!(
        start(&bad_fields, ports()).err().unwrap().to_string(),
        "KYC_REQUIRED_FIELDS is invalid: type default: 'shoe_size' is not a SEP-9 field"
    );
    // The signing seed is not needed (nor wanted) here.
    assert!(!settings(&[]).contains_key("SIGNING_SEED"));
    assert!(start(&settings(&[]), ports()).is_ok());
}
