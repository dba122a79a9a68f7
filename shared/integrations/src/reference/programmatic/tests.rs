//! The reference SEP-6 hooks over the in-memory store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use mooring::clock::FixedClock;
use mooring::config::AssetConfig;
use mooring::integrations::{CustomerUpdate, Operation};
use mooring::model::{Kind, Protocol, TransactionStatus, UserKey};
use mooring::stellar::Keypair;
use mooring::store::InMemoryStore;
use mooring::time::Timestamp;

use super::super::kyc::KycSettings;
use super::super::rail::deposit_reference;
use super::*;

const ISSUER: &str = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";
const NOW: u64 = 1_700_000_000;
const IBAN: &str = "DE89370400440532013000";

struct Fixture {
    anchor: Anchor<InMemoryStore>,
    store: Arc<InMemoryStore>,
    asset: AssetConfig,
    params: BTreeMap<String, String>,
}

/// The default KYC types without verification codes, so a customer completes in one PUT.
fn settings() -> KycSettings {
    KycSettings {
        verified: Vec::new(),
        ..KycSettings::default()
    }
}

fn fixture_with(settings: KycSettings) -> Fixture {
    let store = Arc::new(InMemoryStore::default());
    let clock = Arc::new(FixedClock::at(NOW));
    let asset: AssetConfig = serde_json::from_str(&format!(
        r#"{{"code": "USDC", "issuer": "{ISSUER}", "seps": ["sep6"], "significant_decimals": 2,
            "deposit": {{"min_amount": 1, "max_amount": 10000, "funding_methods": ["bank_transfer"]}},
            "withdraw": {{"min_amount": 1, "max_amount": 10000, "funding_methods": ["bank_transfer"]}}}}"#
    ))
    .expect("asset config");
    Fixture {
        anchor: Anchor::new(store.clone(), settings, clock),
        store,
        asset,
        params: BTreeMap::new(),
    }
}

fn fixture() -> Fixture {
    fixture_with(settings())
}

fn user(seed: u8) -> UserKey {
    UserKey {
        account: Keypair::from_seed_bytes([seed; 32]).account_id(),
        memo: None,
    }
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const PERSON: [(&str, &str); 3] = [
    ("first_name", "Ada"),
    ("last_name", "Lovelace"),
    ("email_address", "ada@example.com"),
];

impl Fixture {
    fn transaction(&self, kind: Kind, user: UserKey) -> Transaction {
        let mut transaction = Transaction::new(
            Protocol::Sep6,
            kind,
            TransactionStatus::Incomplete,
            user,
            self.asset.asset.0.clone(),
            Timestamp::from_secs(NOW),
        );
        transaction.id = "1a2b3c4d-0000-4000-8000-000000000000".into();
        transaction
    }

    fn request<'a>(
        &'a self,
        operation: Operation,
        params: &'a BTreeMap<String, String>,
        lang: Lang,
    ) -> Sep6Request<'a> {
        Sep6Request {
            operation,
            asset: &self.asset,
            lang,
            params,
        }
    }

    async fn deposit(&self, transaction: &mut Transaction) -> Sep6Answer {
        let request = self.request(Operation::Deposit, &self.params, Lang::En);
        self.anchor
            .process_sep6_deposit(request, transaction)
            .await
            .expect("deposit answer")
    }

    async fn withdraw(
        &self,
        transaction: &mut Transaction,
        params: &BTreeMap<String, String>,
        lang: Lang,
    ) -> Result<Sep6Answer, IntegrationError> {
        let request = self.request(Operation::Withdraw, params, lang);
        self.anchor
            .process_sep6_withdrawal(request, transaction)
            .await
    }

    /// `PUT /kyc/customer` for the user.
    async fn put_customer(&self, user: UserKey, fields: &[(&str, &str)]) {
        let update = CustomerUpdate {
            user,
            id: None,
            kyc_type: None,
            transaction_id: None,
            fields: values(fields),
            verifications: BTreeMap::new(),
        };
        CustomerIntegration::put(&self.anchor, &update)
            .await
            .expect("customer saved");
    }

    async fn customer_fields(&self, user: &UserKey) -> BTreeMap<String, String> {
        self.store
            .find_by_user(user)
            .await
            .expect("store")
            .map(|customer| customer.fields)
            .unwrap_or_default()
    }
}

fn needs(fields: &[&str]) -> Sep6Answer {
    Sep6Answer::CustomerInfoNeeded {
        fields: fields.iter().map(|name| (*name).to_owned()).collect(),
    }
}

fn ready() -> Sep6Answer {
    Sep6Answer::Ready(Sep6Ready::default())
}

#[tokio::test]
async fn a_deposit_of_an_unknown_user_asks_the_default_kyc_fields() {
    let f = fixture();
    let mut tx = f.transaction(Kind::Deposit, user(1));
    let before = tx.clone();
    assert_eq!(
        f.deposit(&mut tx).await,
        needs(&["email_address", "first_name", "last_name"])
    );
    assert_eq!(tx, before);

    f.put_customer(user(1), &[("first_name", "Ada")]).await;
    assert_eq!(
        f.deposit(&mut tx).await,
        needs(&["email_address", "last_name"]),
        "only what is still missing"
    );
}

#[tokio::test]
async fn a_deposit_of_a_complete_customer_is_ready_with_the_rails_instructions() {
    let f = fixture();
    let alice = user(2);
    f.put_customer(alice, &PERSON).await;
    let mut tx = f.transaction(Kind::Deposit, alice);
    let Sep6Answer::Ready(ready) = f.deposit(&mut tx).await else {
        panic!("not ready");
    };
    let context = FlowContext {
        transaction: &tx,
        asset: &f.asset,
        lang: Lang::En,
    };
    let expected = DepositIntegration::instructions(&f.anchor, context)
        .await
        .expect("instructions");
    assert_eq!(ready.instructions, expected);
    assert_eq!(
        ready.instructions["organization.reference"].value,
        deposit_reference(&tx.id)
    );
    assert_eq!((ready.how, ready.message, ready.eta), (None, None, None));

    let es = f.request(Operation::Deposit, &f.params, Lang::Es);
    let Ok(Sep6Answer::Ready(spanish)) = f.anchor.process_sep6_deposit(es, &mut tx).await else {
        panic!("not ready");
    };
    assert_eq!(
        spanish.instructions["organization.bank_name"].description,
        "Banco"
    );
}

#[tokio::test]
async fn verification_codes_not_sent_back_are_asked_as_sep9_verification_fields() {
    let f = fixture_with(KycSettings::default());
    let bob = user(3);
    f.put_customer(bob, &PERSON).await;
    let mut tx = f.transaction(Kind::Deposit, bob);
    assert_eq!(
        f.deposit(&mut tx).await,
        needs(&["email_address_verification"])
    );
}

#[tokio::test]
async fn a_customer_in_review_is_pending_with_the_time_left_and_a_rejected_one_denied() {
    let f = fixture_with(KycSettings {
        processing: Duration::from_secs(600),
        ..settings()
    });
    let carol = user(4);
    f.put_customer(carol, &PERSON).await;
    let mut tx = f.transaction(Kind::Deposit, carol);
    assert_eq!(
        f.deposit(&mut tx).await,
        Sep6Answer::CustomerInfoStatus {
            status: KycReview::Pending,
            eta: Some(600),
        }
    );

    let mut customer = f.store.find_by_user(&carol).await.unwrap().unwrap();
    customer
        .statuses
        .insert("default".into(), CustomerStatus::Rejected);
    f.store.update(&mut customer).await.unwrap();
    for mut tx in [tx, f.transaction(Kind::Withdrawal, carol)] {
        let answer = if tx.kind.is_deposit() {
            f.deposit(&mut tx).await
        } else {
            f.withdraw(&mut tx, &f.params, Lang::En).await.unwrap()
        };
        assert_eq!(
            answer,
            Sep6Answer::CustomerInfoStatus {
                status: KycReview::Denied,
                eta: None,
            }
        );
    }
}

#[tokio::test]
async fn a_withdrawal_without_a_destination_asks_the_wallet_for_dest() {
    let f = fixture();
    let dave = user(5);
    f.put_customer(dave, &PERSON).await;
    let mut tx = f.transaction(Kind::Withdrawal, dave);
    let answer = f.withdraw(&mut tx, &f.params, Lang::En).await.unwrap();
    let Sep6Answer::TransactionInfoNeeded { message, fields } = answer else {
        panic!("{answer:?}");
    };
    assert!(message.contains("bank account"), "{message}");
    assert_eq!(fields.keys().collect::<Vec<_>>(), [DEST]);
    assert_eq!(
        fields[DEST],
        InfoField::new("The bank account number (IBAN) to pay the withdrawal out to")
    );
    assert_eq!((&tx.to, &tx.payout_account), (&None, &None));

    let answer = f.withdraw(&mut tx, &f.params, Lang::Es).await.unwrap();
    assert!(
        matches!(&answer, Sep6Answer::TransactionInfoNeeded { message, .. } if message.starts_with("Indique")),
        "{answer:?}"
    );
}

#[tokio::test]
async fn a_withdrawal_with_dest_is_ready_and_keeps_the_account() {
    let f = fixture();
    let erin = user(6);
    f.put_customer(erin, &PERSON).await;
    let mut tx = f.transaction(Kind::Withdrawal, erin);
    let params = values(&[(DEST, "de89 3704 0044 0532 0130 00")]);
    assert_eq!(f.withdraw(&mut tx, &params, Lang::En).await, Ok(ready()));
    assert_eq!(tx.payout_account.as_deref(), Some(IBAN));
    assert_eq!(tx.to.as_deref(), Some("****3000"));
    assert_eq!(
        f.customer_fields(&erin).await.get("bank_account_number"),
        Some(&IBAN.to_owned()),
        "saved with the customer, as the SEP-24 step does"
    );

    // Asked again (after the KYC loop or a PATCH), the account kept is enough.
    assert_eq!(f.withdraw(&mut tx, &f.params, Lang::En).await, Ok(ready()));
    assert_eq!(tx.payout_account.as_deref(), Some(IBAN));
}

#[tokio::test]
async fn an_invalid_dest_is_refused_and_nothing_changes() {
    let f = fixture();
    let frank = user(7);
    f.put_customer(frank, &PERSON).await;
    let mut tx = f.transaction(Kind::Withdrawal, frank);
    let before = tx.clone();
    let params = values(&[(DEST, "DE89-3704")]);
    let refused = f.withdraw(&mut tx, &params, Lang::Es).await;
    assert!(
        matches!(&refused, Err(IntegrationError::Invalid(m)) if m.starts_with("Introduzca")),
        "{refused:?}"
    );
    assert_eq!(tx, before);
    assert!(!f
        .customer_fields(&frank)
        .await
        .contains_key("bank_account_number"));
}

#[tokio::test]
async fn the_customers_bank_account_is_used_when_no_dest_is_sent() {
    let f = fixture();
    let grace = user(8);
    f.put_customer(grace, &PERSON).await;
    f.put_customer(grace, &[("bank_account_number", "GB33BUKB20201555555555")])
        .await;
    let mut tx = f.transaction(Kind::Withdrawal, grace);
    assert_eq!(f.withdraw(&mut tx, &f.params, Lang::En).await, Ok(ready()));
    assert_eq!(tx.payout_account.as_deref(), Some("GB33BUKB20201555555555"));
    assert_eq!(tx.to.as_deref(), Some("****5555"));
}

#[tokio::test]
async fn a_dest_sent_before_kyc_is_complete_is_kept_through_the_kyc_loop() {
    let f = fixture();
    let heidi = user(9);
    let mut tx = f.transaction(Kind::Withdrawal, heidi);
    let params = values(&[(DEST, IBAN)]);
    assert_eq!(
        f.withdraw(&mut tx, &params, Lang::En).await,
        Ok(needs(&["email_address", "first_name", "last_name"]))
    );
    assert_eq!(tx.payout_account.as_deref(), Some(IBAN));

    f.put_customer(heidi, &PERSON).await;
    // Mooring asks again with the stored transaction and no parameters.
    assert_eq!(f.withdraw(&mut tx, &f.params, Lang::En).await, Ok(ready()));
    assert_eq!(tx.payout_account.as_deref(), Some(IBAN));
}

#[tokio::test]
async fn a_patch_with_dest_sets_the_payout_account() {
    let f = fixture();
    let ivan = user(10);
    f.put_customer(ivan, &PERSON).await;
    let mut tx = f.transaction(Kind::Withdrawal, ivan);
    f.anchor
        .patch_transaction(
            &mut tx,
            &values(&[(DEST, " de89370400440532013000 ")]),
            Lang::En,
        )
        .await
        .expect("patched");
    assert_eq!(tx.payout_account.as_deref(), Some(IBAN));
    assert_eq!(tx.to.as_deref(), Some("****3000"));
    assert_eq!(
        f.customer_fields(&ivan).await.get("bank_account_number"),
        Some(&IBAN.to_owned())
    );
    assert_eq!(f.withdraw(&mut tx, &f.params, Lang::En).await, Ok(ready()));
}

#[tokio::test]
async fn a_patch_with_another_field_or_an_invalid_dest_changes_nothing() {
    let f = fixture();
    let judy = user(11);
    let mut tx = f.transaction(Kind::Withdrawal, judy);
    let before = tx.clone();
    for fields in [
        values(&[("amount", "10")]),
        values(&[(DEST, IBAN), ("memo", "x")]),
        values(&[(DEST, "12")]),
    ] {
        let refused = f.anchor.patch_transaction(&mut tx, &fields, Lang::En).await;
        assert!(
            matches!(refused, Err(IntegrationError::Invalid(_))),
            "{fields:?}: {refused:?}"
        );
        assert_eq!(tx, before, "{fields:?}");
    }
    assert!(f.customer_fields(&judy).await.is_empty());

    // A deposit asks for no dest.
    let mut deposit = f.transaction(Kind::Deposit, judy);
    let refused = f
        .anchor
        .patch_transaction(&mut deposit, &values(&[(DEST, IBAN)]), Lang::Es)
        .await;
    assert!(
        matches!(&refused, Err(IntegrationError::Invalid(m)) if m.contains("'dest'")),
        "{refused:?}"
    );
}
