//! The reference rail over the in-memory store.

use std::collections::BTreeMap;
use std::sync::Arc;

use mooring::clock::FixedClock;
use mooring::config::AssetConfig;
use mooring::i18n::Lang;
use mooring::integrations::{
    DepositIntegration, FeeIntegration, FeeRequest, FieldKind, FlowContext, Form, IntegrationError,
    InteractiveFlow, Operation, Page,
};
use mooring::model::{FeeDetails, Kind, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::stellar::{Amount, Keypair};
use mooring::store::{CustomerStore, InMemoryStore};
use mooring::time::Timestamp;

use super::super::kyc::KycSettings;
use super::*;

const ISSUER: &str = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";

struct Fixture {
    anchor: Anchor<InMemoryStore>,
    store: Arc<InMemoryStore>,
    asset: AssetConfig,
}

fn fixture_with(settings: KycSettings) -> Fixture {
    let store = Arc::new(InMemoryStore::default());
    let clock = Arc::new(FixedClock::at(1_700_000_000));
    let asset: AssetConfig = serde_json::from_str(&format!(
        r#"{{"code": "USDC", "issuer": "{ISSUER}", "seps": ["sep24"], "significant_decimals": 2,
            "deposit": {{"min_amount": 1, "max_amount": 10000, "fee_fixed": 1, "fee_percent": 0.5}},
            "withdraw": {{"min_amount": 1, "max_amount": 10000, "fee_fixed": 0.5, "fee_percent": 0.25}}}}"#
    ))
    .expect("asset config");
    Fixture {
        anchor: Anchor::new(store.clone(), settings, clock),
        store,
        asset,
    }
}

fn fixture() -> Fixture {
    fixture_with(KycSettings::default())
}

fn user(seed: u8) -> UserKey {
    UserKey {
        account: Keypair::from_seed_bytes([seed; 32]).account_id(),
        memo: None,
    }
}

impl Fixture {
    fn transaction(&self, kind: Kind, user: UserKey) -> Transaction {
        Transaction::new(
            Protocol::Sep24,
            kind,
            TransactionStatus::Incomplete,
            user,
            self.asset.asset.0.clone(),
            Timestamp::from_secs(1_700_000_000),
        )
    }

    fn context<'a>(&'a self, transaction: &'a Transaction, lang: Lang) -> FlowContext<'a> {
        FlowContext {
            transaction,
            asset: &self.asset,
            lang,
        }
    }

    async fn deposit_form(&self, transaction: &Transaction) -> Option<Form> {
        InteractiveFlow::form_for_transaction(&self.anchor, self.context(transaction, Lang::En))
            .await
            .expect("deposit form")
    }

    async fn withdrawal_form(&self, transaction: &Transaction) -> Option<Form> {
        InteractiveFlow::form_for_transaction(&self.anchor, self.context(transaction, Lang::En))
            .await
            .expect("withdrawal form")
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

/// What Mooring does with a valid amount field: amount_in, the fee, amount_out.
fn priced(transaction: &mut Transaction, amount: &str, fee: &str) {
    let amount: Amount = amount.parse().expect("amount");
    let fee: Amount = fee.parse().expect("fee");
    transaction.amount_in = Some(amount);
    transaction.fee_details = Some(FeeDetails {
        total: fee,
        asset: transaction.asset.sep38_id(),
        breakdown: Vec::new(),
    });
    transaction.amount_out = amount.checked_sub(fee);
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn names(form: &Form) -> Vec<&str> {
    form.fields
        .iter()
        .map(|field| field.name.as_str())
        .collect()
}

#[tokio::test]
async fn a_deposit_asks_the_amount_then_the_missing_kyc_fields_then_nothing() {
    let f = fixture();
    let alice = user(1);
    let mut tx = f.transaction(Kind::Deposit, alice);

    let amount = f.deposit_form(&tx).await.expect("the amount form");
    assert_eq!(amount.step, STEP_AMOUNT);
    assert_eq!(names(&amount), ["amount"]);
    assert_eq!(amount.fields[0].kind, FieldKind::Amount);
    assert!(amount.fields[0].required);
    assert_eq!(
        amount.fields[0].help.as_deref(),
        Some("Between 1 and 10000 USDC.")
    );
    InteractiveFlow::after_form_validation(
        &f.anchor,
        &mut tx,
        &amount,
        &values(&[("amount", "100")]),
        Lang::En,
    )
    .await
    .expect("amount step");
    priced(&mut tx, "100", "1.5");

    let kyc = f.deposit_form(&tx).await.expect("the KYC form");
    assert_eq!(kyc.step, STEP_KYC);
    assert_eq!(names(&kyc), ["first_name", "last_name", "email_address"]);
    assert_eq!(kyc.fields[2].kind, FieldKind::Email);
    let before = tx.clone();
    InteractiveFlow::after_form_validation(
        &f.anchor,
        &mut tx,
        &kyc,
        &values(&[
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email_address", "ada@example.com"),
            // Not a field of this form: never saved.
            ("mobile_number", "+14155550100"),
        ]),
        Lang::En,
    )
    .await
    .expect("KYC step");
    assert_eq!(
        tx, before,
        "the KYC step changes the customer, not the transaction"
    );
    let saved = f.customer_fields(&alice).await;
    assert_eq!(
        saved,
        values(&[
            ("email_address", "ada@example.com"),
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
        ])
    );
    // Saved through the SEP-12 code: the email waits for its verification code.
    let customer = f.store.find_by_user(&alice).await.unwrap().unwrap();
    assert!(customer.pending_verifications.contains_key("email_address"));

    assert_eq!(f.deposit_form(&tx).await, None, "no more forms");
}

#[tokio::test]
async fn the_kyc_form_asks_exactly_the_fields_the_customer_lacks() {
    let f = fixture();
    let bob = user(2);
    InteractiveFlow::save_sep9_fields(
        &f.anchor,
        Operation::Deposit,
        &bob,
        &values(&[("first_name", "Bob"), ("email_address", "bob@example.com")]),
        Lang::En,
    )
    .await
    .expect("saved");
    let mut tx = f.transaction(Kind::Deposit, bob);
    priced(&mut tx, "50", "1.25");
    let kyc = f.deposit_form(&tx).await.expect("a KYC form");
    assert_eq!(names(&kyc), ["last_name"]);

    InteractiveFlow::save_sep9_fields(
        &f.anchor,
        Operation::Deposit,
        &bob,
        &values(&[("last_name", "Builder")]),
        Lang::En,
    )
    .await
    .expect("saved");
    assert_eq!(
        f.deposit_form(&tx).await,
        None,
        "a complete customer is not asked again"
    );
}

#[tokio::test]
async fn an_amount_the_wallet_sent_is_not_asked_again() {
    let f = fixture();
    // Only a hint, not priced: the form asks it, pre-filled.
    let mut tx = f.transaction(Kind::Deposit, user(3));
    tx.amount_in = Some("25".parse().unwrap());
    let form = f.deposit_form(&tx).await.expect("the amount form");
    assert_eq!(form.step, STEP_AMOUNT);
    assert_eq!(form.fields[0].value.as_deref(), Some("25"));
    // Priced when the POST carried it (SEP-24: collected in the flow only when not provided).
    priced(&mut tx, "25", "1.125");
    let form = f.deposit_form(&tx).await.expect("the KYC form");
    assert_eq!(form.step, STEP_KYC);
}

#[tokio::test]
async fn invalid_kyc_values_are_refused_and_nothing_is_saved() {
    let f = fixture();
    let carol = user(4);
    let mut tx = f.transaction(Kind::Deposit, carol);
    priced(&mut tx, "100", "1.5");
    let kyc = f.deposit_form(&tx).await.expect("the KYC form");
    let refused = InteractiveFlow::after_form_validation(
        &f.anchor,
        &mut tx,
        &kyc,
        &values(&[
            ("first_name", "Carol"),
            ("last_name", "C"),
            ("email_address", "not an email"),
        ]),
        Lang::En,
    )
    .await;
    assert!(
        matches!(&refused, Err(IntegrationError::Invalid(message)) if message.contains("email")),
        "{refused:?}"
    );
    assert!(f.customer_fields(&carol).await.is_empty());
    assert_eq!(
        f.deposit_form(&tx).await.map(|form| form.step),
        Some(STEP_KYC.into())
    );
}

#[tokio::test]
async fn a_stale_form_is_refused() {
    let f = fixture();
    let mut tx = f.transaction(Kind::Deposit, user(5));
    let stale = Form {
        step: "something-else".into(),
        fields: Vec::new(),
    };
    let refused =
        InteractiveFlow::after_form_validation(&f.anchor, &mut tx, &stale, &values(&[]), Lang::En)
            .await;
    assert!(matches!(refused, Err(IntegrationError::Invalid(_))));
    let refused =
        InteractiveFlow::after_form_validation(&f.anchor, &mut tx, &stale, &values(&[]), Lang::En)
            .await;
    assert!(matches!(refused, Err(IntegrationError::Invalid(_))));
}

#[tokio::test]
async fn deposit_instructions_name_the_bank_account_and_a_reference_from_the_transaction_id() {
    let f = fixture();
    let mut tx = f.transaction(Kind::Deposit, user(6));
    tx.id = "1a2b3c4d-0000-4000-8000-000000000000".into();
    let instructions = f
        .anchor
        .instructions(f.context(&tx, Lang::En))
        .await
        .expect("instructions");
    assert_eq!(
        instructions.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "organization.bank_name",
            "organization.bank_number",
            "organization.reference"
        ]
    );
    assert_eq!(instructions["organization.bank_name"].value, BANK_NAME);
    assert_eq!(instructions["organization.bank_number"].value, BANK_IBAN);
    assert_eq!(
        instructions["organization.reference"].value,
        "MOOR-1A2B3C4D"
    );
    assert!(instructions
        .values()
        .all(|instruction| !instruction.description.is_empty()));

    let spanish = f
        .anchor
        .instructions(f.context(&tx, Lang::Es))
        .await
        .expect("instructions");
    assert_eq!(spanish["organization.bank_name"].description, "Banco");
    assert_eq!(spanish["organization.reference"].value, "MOOR-1A2B3C4D");
}

#[test]
fn references_and_masks() {
    assert_eq!(
        deposit_reference("0f9e8d7c-6b5a-4000-8000-000000000000"),
        "MOOR-0F9E8D7C"
    );
    // Distinct transactions get distinct references (up to the first 8 hex digits).
    assert_ne!(
        deposit_reference("0f9e8d7c-0000-4000-8000-000000000000"),
        deposit_reference("0f9e8d7d-0000-4000-8000-000000000000")
    );
    assert_eq!(mask_account("DE89 3704 0044 0532 0130 00"), "****3000");
    assert_eq!(mask_account("1234"), "****");
    assert_eq!(mask_account(""), "****");
}

#[tokio::test]
async fn a_withdrawal_asks_the_amount_the_bank_account_then_the_missing_kyc_fields() {
    let f = fixture();
    let dave = user(7);
    let mut tx = f.transaction(Kind::Withdrawal, dave);

    let amount = f.withdrawal_form(&tx).await.expect("the amount form");
    assert_eq!(
        (amount.step.as_str(), names(&amount)),
        (STEP_AMOUNT, vec!["amount"])
    );
    priced(&mut tx, "200", "1");

    let bank = f.withdrawal_form(&tx).await.expect("the bank account form");
    assert_eq!(bank.step, STEP_BANK_ACCOUNT);
    assert_eq!(names(&bank), ["bank_account_number"]);
    InteractiveFlow::after_form_validation(
        &f.anchor,
        &mut tx,
        &bank,
        &values(&[("bank_account_number", "de89 3704 0044 0532 0130 00")]),
        Lang::En,
    )
    .await
    .expect("bank account step");
    assert_eq!(tx.to.as_deref(), Some("****3000"), "shown masked");
    assert_eq!(
        tx.payout_account.as_deref(),
        Some("DE89370400440532013000"),
        "the whole number is kept with the transaction, for the payout"
    );
    assert_eq!(
        f.customer_fields(&dave)
            .await
            .get("bank_account_number")
            .map(String::as_str),
        Some("DE89370400440532013000"),
        "and saved with the customer, as SEP-12 would"
    );

    let kyc = f.withdrawal_form(&tx).await.expect("the KYC form");
    assert_eq!(names(&kyc), ["first_name", "last_name", "email_address"]);
    InteractiveFlow::after_form_validation(
        &f.anchor,
        &mut tx,
        &kyc,
        &values(&[
            ("first_name", "Dave"),
            ("last_name", "D"),
            ("email_address", "dave@example.com"),
        ]),
        Lang::En,
    )
    .await
    .expect("KYC step");
    assert_eq!(f.withdrawal_form(&tx).await, None);
}

#[tokio::test]
async fn a_bad_bank_account_is_refused_in_the_users_language_and_nothing_changes() {
    let f = fixture();
    let erin = user(8);
    let mut tx = f.transaction(Kind::Withdrawal, erin);
    priced(&mut tx, "20", "0.55");
    let bank = f.withdrawal_form(&tx).await.expect("the bank account form");
    for bad in ["12", "DE89-3704", "x".repeat(35).as_str()] {
        let refused = InteractiveFlow::after_form_validation(
            &f.anchor,
            &mut tx,
            &bank,
            &values(&[("bank_account_number", bad)]),
            Lang::Es,
        )
        .await;
        assert!(
            matches!(&refused, Err(IntegrationError::Invalid(m)) if m.starts_with("Introduzca")),
            "{bad}: {refused:?}"
        );
    }
    assert_eq!(tx.to, None);
    assert_eq!(tx.payout_account, None);
    assert!(f.customer_fields(&erin).await.is_empty());
}

#[tokio::test]
async fn forms_speak_the_users_language() {
    let f = fixture();
    let tx = f.transaction(Kind::Deposit, user(9));
    let form = InteractiveFlow::form_for_transaction(&f.anchor, f.context(&tx, Lang::Es))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(form.fields[0].label, "Importe");
    assert_eq!(
        form.fields[0].help.as_deref(),
        Some("Entre 1 y 10000 USDC.")
    );
    let mut priced_tx = tx.clone();
    priced(&mut priced_tx, "10", "1.05");
    let kyc = InteractiveFlow::form_for_transaction(&f.anchor, f.context(&priced_tx, Lang::Es))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kyc.fields[0].label, "Nombre");
    let content = InteractiveFlow::content_for_template(
        &f.anchor,
        Page::Form,
        Some(&kyc),
        f.context(&priced_tx, Lang::Es),
    );
    assert!(content.guidance.is_some_and(|g| g.starts_with("Antes")));
}

#[tokio::test]
async fn document_fields_are_left_to_sep12() {
    let mut settings = KycSettings::default();
    settings.required.insert(
        "default".into(),
        vec![
            "first_name".into(),
            "photo_id_front".into(),
            "birth_date".into(),
        ],
    );
    let f = fixture_with(settings);
    let mut tx = f.transaction(Kind::Deposit, user(10));
    priced(&mut tx, "10", "1.05");
    let kyc = f.deposit_form(&tx).await.expect("the KYC form");
    assert_eq!(names(&kyc), ["first_name", "birth_date"]);
    assert_eq!(kyc.fields[1].kind, FieldKind::Date);
}

#[tokio::test]
async fn sep9_fields_sent_with_the_request_are_saved_through_the_kyc_code() {
    let f = fixture();
    let frank = user(11);
    InteractiveFlow::save_sep9_fields(
        &f.anchor,
        Operation::Withdraw,
        &frank,
        &BTreeMap::new(),
        Lang::En,
    )
    .await
    .expect("nothing to save");
    assert!(
        f.store.find_by_user(&frank).await.unwrap().is_none(),
        "no empty customer"
    );

    let refused = InteractiveFlow::save_sep9_fields(
        &f.anchor,
        Operation::Withdraw,
        &frank,
        &values(&[("first_name", "Frank"), ("favourite_colour", "blue")]),
        Lang::En,
    )
    .await;
    assert!(matches!(refused, Err(IntegrationError::Invalid(_))));
    assert!(f.store.find_by_user(&frank).await.unwrap().is_none());

    InteractiveFlow::save_sep9_fields(
        &f.anchor,
        Operation::Withdraw,
        &frank,
        &values(&[("first_name", "Frank"), ("mobile_number", "+14155550100")]),
        Lang::En,
    )
    .await
    .expect("saved");
    let customer = f.store.find_by_user(&frank).await.unwrap().unwrap();
    assert_eq!(customer.fields["first_name"], "Frank");
    assert!(customer.pending_verifications.contains_key("mobile_number"));
}

#[tokio::test]
async fn fees_are_the_configured_fixed_plus_percent() {
    let f = fixture();
    let fee = |operation, amount: &str| {
        let request = FeeRequest {
            operation,
            fee_type: None,
            asset: &f.asset,
            amount: amount.parse().unwrap(),
            user: None,
        };
        let anchor = &f.anchor;
        async move { anchor.fee(&request).await.map(|fee| fee.to_string()) }
    };
    assert_eq!(fee(Operation::Deposit, "100").await.unwrap(), "1.5");
    assert_eq!(fee(Operation::Deposit, "33.33").await.unwrap(), "1.16665");
    assert_eq!(fee(Operation::Withdraw, "100").await.unwrap(), "0.75");
}
