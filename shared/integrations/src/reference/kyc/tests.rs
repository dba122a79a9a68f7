//! The reference KYC rules over the in-memory store.

use std::collections::BTreeMap;
use std::sync::Arc;

use mooring::clock::FixedClock;
use mooring::integrations::{
    CustomerCallback, CustomerIntegration, CustomerQuery, CustomerUpdate, CustomerVerification,
    FieldStatus, IntegrationError,
};
use mooring::model::{CustomerStatus, UserKey};
use mooring::stellar::Keypair;
use mooring::store::{CustomerStore, InMemoryStore};

use super::*;

struct Fixture {
    anchor: Anchor<InMemoryStore>,
    store: Arc<InMemoryStore>,
    clock: Arc<FixedClock>,
}

fn fixture(settings: KycSettings) -> Fixture {
    let store = Arc::new(InMemoryStore::default());
    let clock = Arc::new(FixedClock::at(1_700_000_000));
    Fixture {
        anchor: Anchor::new(store.clone(), settings, clock.clone()),
        store,
        clock,
    }
}

fn user(seed: u8, memo: Option<u64>) -> UserKey {
    UserKey {
        account: Keypair::from_seed_bytes([seed; 32]).account_id(),
        memo,
    }
}

fn query(user: UserKey, id: Option<&str>) -> CustomerQuery {
    CustomerQuery {
        user,
        id: id.map(str::to_owned),
        kyc_type: None,
        transaction_id: None,
        lang: "en".into(),
    }
}

fn update(user: UserKey, fields: &[(&str, &str)]) -> CustomerUpdate {
    CustomerUpdate {
        user,
        id: None,
        kyc_type: None,
        transaction_id: None,
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        verifications: BTreeMap::new(),
    }
}

async fn pending_code(store: &InMemoryStore, id: &str, field: &str) -> String {
    let customer = CustomerStore::get(store, id).await.unwrap().unwrap();
    let pending = &customer.pending_verifications[field];
    pending.split('/').next().unwrap().to_owned()
}

fn keys<T>(map: &BTreeMap<String, T>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

#[tokio::test]
async fn a_customer_goes_from_needs_info_to_accepted() {
    let f = fixture(KycSettings::default());
    let alice = user(1, None);

    let empty = f.anchor.get(&query(alice, None)).await.unwrap();
    assert_eq!(empty.status, CustomerStatus::NeedsInfo);
    assert_eq!(empty.id, None);
    assert_eq!(
        keys(&empty.fields),
        ["email_address", "first_name", "last_name"]
    );
    assert_eq!(empty.fields["email_address"].field_type, FieldType::String);
    assert!(!empty.fields["email_address"].description.is_empty());

    let id = f
        .anchor
        .put(&update(alice, &[("first_name", "Jane")]))
        .await
        .unwrap();
    let partial = f.anchor.get(&query(alice, None)).await.unwrap();
    assert_eq!(partial.id.as_deref(), Some(id.as_str()));
    assert_eq!(partial.status, CustomerStatus::NeedsInfo);
    assert_eq!(keys(&partial.fields), ["email_address", "last_name"]);
    assert_eq!(
        partial.provided_fields["first_name"].status,
        Some(FieldStatus::Accepted)
    );

    // The same id comes back, and the email now waits for its code.
    let mut more = update(
        alice,
        &[("last_name", "Doe"), ("email_address", "jane@example.com")],
    );
    more.id = Some(id.clone());
    assert_eq!(f.anchor.put(&more).await.unwrap(), id);
    let unverified = f.anchor.get(&query(alice, Some(&id))).await.unwrap();
    assert_eq!(unverified.status, CustomerStatus::NeedsInfo);
    assert!(unverified.fields.is_empty());
    assert_eq!(
        unverified.provided_fields["email_address"].status,
        Some(FieldStatus::VerificationRequired)
    );

    let code = pending_code(&f.store, &id, "email_address").await;
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    let mut verify = update(alice, &[]);
    verify.verifications.insert("email_address".into(), code);
    f.anchor.put(&verify).await.unwrap();
    let accepted = f.anchor.get(&query(alice, None)).await.unwrap();
    assert_eq!(accepted.status, CustomerStatus::Accepted);
    assert!(accepted.fields.is_empty());
    assert!(accepted
        .provided_fields
        .values()
        .all(|f| f.status == Some(FieldStatus::Accepted)));
    assert_eq!(
        f.anchor
            .customer_status(&id, "default", None)
            .await
            .unwrap(),
        CustomerStatus::Accepted
    );
    // sep31-receiver needs bank details too.
    assert_eq!(
        f.anchor
            .customer_status(&id, "sep31-receiver", None)
            .await
            .unwrap(),
        CustomerStatus::NeedsInfo
    );
}

#[tokio::test]
async fn wrong_codes_are_refused_and_counted() {
    let f = fixture(KycSettings::default());
    let alice = user(1, None);
    let id = f
        .anchor
        .put(&update(alice, &[("mobile_number", "+14155550123")]))
        .await
        .unwrap();
    let code = pending_code(&f.store, &id, "mobile_number").await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let before = CustomerStore::get(&*f.store, &id).await.unwrap().unwrap();

    let refused = f
        .anchor
        .put_verification(&CustomerVerification {
            user: alice,
            id: id.clone(),
            codes: BTreeMap::from([("mobile_number".into(), wrong.into())]),
        })
        .await;
    assert_eq!(
        refused,
        Err(IntegrationError::invalid(
            "the verification code for mobile_number is not correct"
        ))
    );
    // Only the attempt was counted: the field still waits for the same code.
    let after = CustomerStore::get(&*f.store, &id).await.unwrap().unwrap();
    assert_eq!(after.fields, before.fields);
    assert_eq!(
        after.pending_verifications["mobile_number"],
        format!("{code}/1")
    );
    // A code for a field that is not waiting for one.
    let mut stray = update(alice, &[]);
    stray
        .verifications
        .insert("email_address".into(), "123456".into());
    assert!(matches!(
        f.anchor.put(&stray).await,
        Err(IntegrationError::Invalid(m)) if m == "email_address has no verification pending"
    ));

    // After CODE_ATTEMPTS wrong codes, the old code no longer works.
    for _ in 1..CODE_ATTEMPTS {
        let mut guess = update(alice, &[]);
        guess
            .verifications
            .insert("mobile_number".into(), wrong.into());
        assert!(f.anchor.put(&guess).await.is_err());
    }
    let renewed = pending_code(&f.store, &id, "mobile_number").await;
    let stored = CustomerStore::get(&*f.store, &id).await.unwrap().unwrap();
    assert!(!stored.pending_verifications["mobile_number"].contains('/'));
    if renewed != code {
        let mut old = update(alice, &[]);
        old.verifications.insert("mobile_number".into(), code);
        assert!(f.anchor.put(&old).await.is_err());
    }
    let info = f
        .anchor
        .put_verification(&CustomerVerification {
            user: alice,
            id: id.clone(),
            codes: BTreeMap::from([("mobile_number".into(), renewed)]),
        })
        .await
        .unwrap();
    assert_eq!(
        info.provided_fields["mobile_number"].status,
        Some(FieldStatus::Accepted)
    );
}

#[tokio::test]
async fn invalid_values_and_types_store_nothing() {
    let f = fixture(KycSettings::default());
    let alice = user(1, None);
    for (fields, message) in [
        (
            vec![("email_address", "nope")],
            "email_address is not valid",
        ),
        (
            vec![("birth_date", "1990-13-01")],
            "birth_date is not valid",
        ),
        (vec![("sex", "x")], "sex must be one of"),
        (vec![("address_country_code", "FR")], "alpha-3"),
    ] {
        let error = f.anchor.put(&update(alice, &fields)).await.unwrap_err();
        assert!(
            matches!(&error, IntegrationError::Invalid(m) if m.contains(message)),
            "{error:?}"
        );
    }
    let mut bad_type = update(alice, &[("first_name", "Jane")]);
    bad_type.kyc_type = Some("sep99".into());
    assert!(matches!(
        f.anchor.put(&bad_type).await,
        Err(IntegrationError::Invalid(m)) if m.starts_with("unknown KYC type 'sep99'")
    ));
    assert_eq!(
        CustomerStore::find_by_user(&*f.store, &alice)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn customers_are_private_to_their_user_and_memo() {
    let f = fixture(KycSettings::default());
    let owner = user(1, None);
    let memo_1 = user(1, Some(1));
    let memo_2 = user(1, Some(2));
    let stranger = user(2, None);
    let a = f
        .anchor
        .put(&update(memo_1, &[("first_name", "One")]))
        .await
        .unwrap();
    let b = f
        .anchor
        .put(&update(memo_2, &[("first_name", "Two")]))
        .await
        .unwrap();
    assert_ne!(a, b);
    // The account without a memo is a third user, with no customer yet.
    assert_eq!(f.anchor.get(&query(owner, None)).await.unwrap().id, None);
    // (The account's owner, without a memo, may name either by id: see the next test.)
    for (who, id) in [(memo_2, &a), (memo_1, &b), (stranger, &a)] {
        assert_eq!(
            f.anchor.get(&query(who, Some(id))).await,
            Err(IntegrationError::NotFound)
        );
        let mut hijack = update(who, &[("first_name", "Mallory")]);
        hijack.id = Some(id.clone());
        assert_eq!(f.anchor.put(&hijack).await, Err(IntegrationError::NotFound));
        let callback = CustomerCallback {
            user: who,
            id: Some(id.clone()),
            url: "https://wallet.example/cb".into(),
        };
        assert_eq!(
            f.anchor.callback(&callback).await,
            Err(IntegrationError::NotFound)
        );
    }
    let one = f.anchor.get(&query(memo_1, Some(&a))).await.unwrap();
    assert_eq!(
        CustomerStore::get(&*f.store, &a)
            .await
            .unwrap()
            .unwrap()
            .fields["first_name"],
        "One"
    );
    assert_eq!(one.id.as_deref(), Some(a.as_str()));

    assert_eq!(
        f.anchor.delete(&stranger).await,
        Err(IntegrationError::NotFound)
    );
    f.anchor.delete(&memo_1).await.unwrap();
    assert_eq!(
        f.anchor.get(&query(memo_1, Some(&a))).await,
        Err(IntegrationError::NotFound)
    );
    assert_eq!(
        f.anchor.delete(&memo_1).await,
        Err(IntegrationError::NotFound)
    );
    assert!(f.anchor.get(&query(memo_2, Some(&b))).await.is_ok());
}

#[tokio::test]
async fn a_review_delay_shows_processing_then_accepted() {
    let settings = KycSettings {
        verified: Vec::new(),
        processing: std::time::Duration::from_secs(60),
        ..KycSettings::default()
    };
    let f = fixture(settings);
    let alice = user(1, None);
    let id = f
        .anchor
        .put(&update(
            alice,
            &[
                ("first_name", "Jane"),
                ("last_name", "Doe"),
                ("email_address", "j@example.com"),
            ],
        ))
        .await
        .unwrap();
    let reviewing = f.anchor.get(&query(alice, None)).await.unwrap();
    assert_eq!(reviewing.status, CustomerStatus::Processing);
    assert_eq!(
        reviewing.provided_fields["first_name"].status,
        Some(FieldStatus::Processing)
    );
    // The same values again change nothing, so the review does not restart.
    f.clock.set(1_700_000_059);
    f.anchor
        .put(&update(alice, &[("first_name", "Jane")]))
        .await
        .unwrap();
    f.clock.set(1_700_000_060);
    assert_eq!(
        f.anchor.get(&query(alice, Some(&id))).await.unwrap().status,
        CustomerStatus::Accepted
    );
}

#[tokio::test]
async fn a_rejection_recorded_by_the_operator_is_reported() {
    let f = fixture(KycSettings {
        verified: Vec::new(),
        ..KycSettings::default()
    });
    let alice = user(1, None);
    let id = f
        .anchor
        .put(&update(alice, &[("first_name", "Jane")]))
        .await
        .unwrap();
    let mut customer = CustomerStore::get(&*f.store, &id).await.unwrap().unwrap();
    customer
        .statuses
        .insert(DEFAULT_TYPE.into(), CustomerStatus::Rejected);
    CustomerStore::update(&*f.store, &mut customer)
        .await
        .unwrap();
    let info = f.anchor.get(&query(alice, None)).await.unwrap();
    assert_eq!(info.status, CustomerStatus::Rejected);
    assert!(info.message.is_some());
}

#[tokio::test]
async fn a_rejected_field_is_asked_again_for_every_type_until_it_changes() {
    let f = fixture(KycSettings {
        verified: Vec::new(),
        ..KycSettings::default()
    });
    let alice = user(1, Some(7));
    let fields = [
        ("first_name", "Jane"),
        ("last_name", "Doe"),
        ("email_address", "jane@example.com"),
        ("bank_account_number", "DE89370400440532013000"),
        ("bank_number", "37040044"),
    ];
    let id = f.anchor.put(&update(alice, &fields)).await.unwrap();
    let version = CustomerStore::get(&*f.store, &id)
        .await
        .unwrap()
        .unwrap()
        .version;
    // A refusal of another value than the one stored records nothing.
    let other = |value: Option<&str>| value == Some("GB29NWBK60161331926819");
    assert_eq!(
        f.anchor
            .reject_field(&id, "bank_account_number", other, "closed", None)
            .await,
        Ok(Rejected::ValueChanged)
    );
    let stored = |value: Option<&str>| value == Some("DE89370400440532013000");
    for _ in 0..2 {
        assert_eq!(
            f.anchor
                .reject_field(&id, "bank_account_number", stored, "closed", Some("t-1"))
                .await,
            Ok(Rejected::Recorded)
        );
    }
    let customer = CustomerStore::get(&*f.store, &id).await.unwrap().unwrap();
    assert_eq!(customer.version, version + 1, "recorded once");
    assert_eq!(
        customer.rejected_fields["bank_account_number"]
            .transaction_id
            .as_deref(),
        Some("t-1")
    );
    assert_eq!(
        f.anchor
            .reject_field("no-such-id", "bank_account_number", stored, "closed", None)
            .await,
        Err(IntegrationError::NotFound)
    );

    for kyc_type in [None, Some("sep31-sender"), Some("sep31-receiver")] {
        let mut q = query(alice, Some(&id));
        q.kyc_type = kyc_type.map(str::to_owned);
        for transaction_id in [None, Some("t-1"), Some("t-2")] {
            q.transaction_id = transaction_id.map(str::to_owned);
            let info = f.anchor.get(&q).await.unwrap();
            assert_eq!(info.status, CustomerStatus::NeedsInfo, "{q:?}");
            assert_eq!(keys(&info.fields), ["bank_account_number"]);
            let spec = &info.provided_fields["bank_account_number"];
            assert_eq!(spec.status, Some(FieldStatus::Rejected));
            assert_eq!(spec.error.as_deref(), Some("closed"));
            let message = info.message.unwrap();
            assert!(
                message.contains("bank_account_number was rejected"),
                "{message}"
            );
            assert_eq!(
                message.contains("for this transaction"),
                transaction_id == Some("t-1"),
                "{message}"
            );
        }
        let kyc_type = kyc_type.unwrap_or(DEFAULT_TYPE);
        for transaction_id in [None, Some("t-1")] {
            assert_eq!(
                f.anchor
                    .customer_status(&id, kyc_type, transaction_id)
                    .await
                    .unwrap(),
                CustomerStatus::NeedsInfo
            );
        }
    }
    // The same value again keeps the rejection; another value (any other field untouched)
    // clears it.
    f.anchor
        .put(&update(
            alice,
            &[("bank_account_number", "DE89370400440532013000")],
        ))
        .await
        .unwrap();
    assert_eq!(
        f.anchor.customer_status(&id, "sep31-receiver", None).await,
        Ok(CustomerStatus::NeedsInfo)
    );
    f.anchor
        .put(&update(alice, &[("last_name", "Roe")]))
        .await
        .unwrap();
    assert_eq!(
        f.anchor.customer_status(&id, "sep31-receiver", None).await,
        Ok(CustomerStatus::NeedsInfo)
    );
    f.anchor
        .put(&update(
            alice,
            &[("bank_account_number", "GB29NWBK60161331926819")],
        ))
        .await
        .unwrap();
    let info = f.anchor.get(&query(alice, Some(&id))).await.unwrap();
    assert_eq!(info.status, CustomerStatus::Accepted);
    assert_eq!(
        info.provided_fields["bank_account_number"].status,
        Some(FieldStatus::Accepted)
    );
    assert_eq!(info.provided_fields["bank_account_number"].error, None);
}

#[tokio::test]
async fn callbacks_are_recorded() {
    let f = fixture(KycSettings::default());
    let alice = user(1, None);
    let callback = CustomerCallback {
        user: alice,
        id: None,
        url: "https://wallet.example/kyc".into(),
    };
    assert_eq!(
        f.anchor.callback(&callback).await,
        Err(IntegrationError::NotFound)
    );
    let id = f
        .anchor
        .put(&update(alice, &[("first_name", "Jane")]))
        .await
        .unwrap();
    f.anchor.callback(&callback).await.unwrap();
    let stored = CustomerStore::get(&*f.store, &id).await.unwrap().unwrap();
    assert_eq!(
        stored.callback_url.as_deref(),
        Some("https://wallet.example/kyc")
    );
}

#[test]
fn settings_come_from_the_environment_with_clear_errors() {
    let settings = KycSettings::from_source(&[
        (
            "KYC_REQUIRED_FIELDS",
            r#"{"sep6": ["first_name", "photo_id_front", "first_name"], "default": ["email_address"]}"#,
        ),
        ("KYC_VERIFIED_FIELDS", "none"),
        ("KYC_PROCESSING_SECONDS", "30"),
    ])
    .unwrap();
    assert_eq!(settings.required["sep6"], ["first_name", "photo_id_front"]);
    assert_eq!(settings.required["default"], ["email_address"]);
    assert!(settings.required.contains_key("sep31-receiver"));
    assert!(settings.verified.is_empty());
    assert_eq!(settings.processing.as_secs(), 30);

    for (name, value, message) in [
        (
            "KYC_REQUIRED_FIELDS",
            "[1]",
            "KYC_REQUIRED_FIELDS is invalid: expected a JSON object",
        ),
        (
            "KYC_REQUIRED_FIELDS",
            r#"{"x": ["colour"]}"#,
            "type x: 'colour' is not a SEP-9 field",
        ),
        (
            "KYC_VERIFIED_FIELDS",
            "email_address,photo_id_front",
            "'photo_id_front' is not a SEP-9 text field",
        ),
        (
            "KYC_PROCESSING_SECONDS",
            "soon",
            "KYC_PROCESSING_SECONDS is invalid",
        ),
    ] {
        let error = KycSettings::from_source(&[(name, value)])
            .unwrap_err()
            .to_string();
        assert!(error.contains(message), "{error}");
    }
    assert_eq!(
        KycSettings::from_source(&[("KYC_VERIFIED_FIELDS", "mobile_number")])
            .unwrap()
            .verified,
        ["mobile_number"]
    );
}

#[tokio::test]
async fn a_shared_accounts_owner_names_its_memos_customers_by_id_and_no_one_else_does() {
    let f = fixture(KycSettings::default());
    let id = f
        .anchor
        .put(&update(user(1, Some(7)), &[("first_name", "Ada")]))
        .await
        .unwrap();
    // The account's owner (no memo): by id alone, to read and to update.
    let owner = user(1, None);
    assert_eq!(
        f.anchor.get(&query(owner, Some(&id))).await.unwrap().id,
        Some(id.clone())
    );
    let mut by_id = update(owner, &[("last_name", "Lovelace")]);
    by_id.id = Some(id.clone());
    assert_eq!(f.anchor.put(&by_id).await.unwrap(), id);
    let stored = CustomerStore::get(&*f.store, &id).await.unwrap().unwrap();
    assert_eq!(stored.user, user(1, Some(7)), "still the memo's customer");
    assert_eq!(stored.fields["last_name"], "Lovelace");
    // Another memo of the account, and another account, do not see it.
    for stranger in [user(1, Some(8)), user(2, None)] {
        assert!(matches!(
            f.anchor.get(&query(stranger, Some(&id))).await,
            Err(IntegrationError::NotFound)
        ));
    }
}
