//! The reference rail's payment hooks against a tiny local HTTP server standing for the demo
//! bank (its answers as `infra/demo_bank` gives them).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mooring::clock::FixedClock;
use mooring::integrations::{
    DepositIntegration, InteractiveFlow, WithdrawalIntegration, WithdrawalOutcome,
};
use mooring::model::{Kind, Protocol, Transaction, TransactionStatus, UserKey};
use mooring::stellar::{Amount, Asset, Keypair};
use mooring::store::InMemoryStore;
use mooring::time::Timestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::reference::{Anchor, KycSettings};

const ISSUER: &str = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";

pub(crate) type Route = dyn Fn(&str, &str, &str) -> (u16, String) + Send + Sync;

/// A bank answering each request with `route(method, path_and_query, body)`; records
/// `METHOD path body` of every request.
pub(crate) async fn bank(route: Arc<Route>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let route = route.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                let (head, body) = loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .and_then(|v| v.trim().parse::<usize>().ok())
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length || n == 0 {
                            break (text[..end].to_owned(), text[end + 4..].to_owned());
                        }
                    }
                    if n == 0 {
                        return;
                    }
                };
                let mut first = head.lines().next().unwrap_or("").split(' ');
                let method = first.next().unwrap_or("").to_owned();
                let path = first.next().unwrap_or("").to_owned();
                log.lock().unwrap().push(format!("{method} {path} {body}"));
                let (status, answer) = route(&method, &path, &body);
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

fn anchor(url: Option<&str>) -> Anchor<InMemoryStore> {
    let bank = url.map(|url| DemoBank::new(url, Duration::from_secs(2)).unwrap());
    Anchor::new(
        Arc::new(InMemoryStore::default()),
        KycSettings::default(),
        Arc::new(FixedClock::at(1_700_000_000)),
    )
    .with_bank(bank)
}

fn transaction(kind: Kind, id: &str) -> Transaction {
    let mut transaction = Transaction::new(
        Protocol::Sep24,
        kind,
        TransactionStatus::PendingUserTransferStart,
        UserKey {
            account: Keypair::from_seed_bytes([7; 32]).account_id(),
            memo: None,
        },
        Asset::credit("USDC", ISSUER.parse().unwrap()).unwrap(),
        Timestamp::from_secs(1_700_000_000),
    );
    transaction.id = id.to_owned();
    transaction
}

fn deposit(id: &str) -> Transaction {
    let mut deposit = transaction(Kind::Deposit, id);
    deposit.amount_in = Some("100".parse().unwrap());
    deposit.instructions = Some(serde_json::json!({
        "organization.reference": {"value": crate::reference::rail::deposit_reference(id), "description": "Reference"}
    }));
    deposit
}

fn withdrawal(id: &str) -> Transaction {
    let mut withdrawal = transaction(Kind::Withdrawal, id);
    withdrawal.status = TransactionStatus::PendingAnchor;
    withdrawal.amount_in = Some("30".parse().unwrap());
    withdrawal.amount_out = Some("29.425".parse().unwrap());
    withdrawal.to = Some("****3000".into());
    withdrawal.payout_account = Some("DE89370400440532013000".into());
    withdrawal
}

fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

#[tokio::test]
async fn deposits_whose_transfer_arrived_are_returned_with_the_amount_received() {
    let (url, seen) = bank(Arc::new(|_, path: &str, _| {
        if path == "/transfers?reference=MOOR-AAAA1111" {
            (
                200,
                r#"{"transfers": [{"id": 7, "reference": "MOOR-AAAA1111", "amount": "99.5", "currency": "USD", "created_at": "x"},
                                  {"id": 9, "reference": "MOOR-AAAA1111", "amount": "5", "currency": "USD", "created_at": "x"}]}"#
                    .into(),
            )
        } else {
            (200, r#"{"transfers": []}"#.into())
        }
    }))
    .await;
    let anchor = anchor(Some(&url));
    let pending = [
        deposit("aaaa1111-0000-4000-8000-000000000000"),
        deposit("bbbb2222-0000-4000-8000-000000000000"),
    ];
    let received = anchor.poll_pending_deposits(&pending).await.unwrap();
    assert_eq!(
        received,
        [ReceivedDeposit {
            transaction_id: pending[0].id.clone(),
            amount_in: amount("99.5"),
            amount_fee: None,
            external_transaction_id: Some("7".into()),
        }]
    );
    let mut requests = seen.lock().unwrap().clone();
    requests.sort();
    assert_eq!(
        requests,
        [
            "GET /transfers?reference=MOOR-AAAA1111 ",
            "GET /transfers?reference=MOOR-BBBB2222 "
        ]
    );
}

use mooring::integrations::ReceivedDeposit;

#[tokio::test]
async fn the_reference_falls_back_to_the_rule_and_bad_amounts_are_ignored() {
    let (url, _) = bank(Arc::new(|_, path: &str, _| {
        if path.ends_with("MOOR-CCCC3333") {
            (
                200,
                r#"{"transfers": [{"id": 1, "reference": "MOOR-CCCC3333", "amount": "lots"}]}"#
                    .into(),
            )
        } else {
            (
                200,
                r#"{"transfers": [{"id": 2, "reference": "MOOR-DDDD4444", "amount": "12.25"}]}"#
                    .into(),
            )
        }
    }))
    .await;
    let anchor = anchor(Some(&url));
    let mut without_instructions = deposit("dddd4444-0000-4000-8000-000000000000");
    without_instructions.instructions = None;
    let pending = [
        deposit("cccc3333-0000-4000-8000-000000000000"),
        without_instructions,
    ];
    let received = anchor.poll_pending_deposits(&pending).await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].transaction_id, pending[1].id);
    assert_eq!(received[0].amount_in, amount("12.25"));
}

#[tokio::test]
async fn a_bank_that_cannot_be_read_is_an_error_for_the_poller() {
    let (url, _) = bank(Arc::new(|_, _: &str, _| (500, "{}".into()))).await;
    let anchor = anchor(Some(&url));
    let error = anchor
        .poll_pending_deposits(&[deposit("eeee5555-0000-4000-8000-000000000000")])
        .await
        .unwrap_err();
    assert!(
        matches!(error, IntegrationError::Unavailable(_)),
        "{error:?}"
    );
    // Nothing pending: nothing asked, nothing to fail.
    assert!(anchor.poll_pending_deposits(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_withdrawal_is_paid_out_once_by_its_transaction_id() {
    let (url, seen) = bank(Arc::new(|method: &str, path: &str, body: &str| {
        assert_eq!((method, path), ("POST", "/payouts"));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        (
            201,
            serde_json::json!({"id": 42, "reference": body["reference"], "amount": body["amount"],
                               "currency": "USD", "account": body["account"], "created_at": "x"})
            .to_string(),
        )
    }))
    .await;
    let anchor = anchor(Some(&url));
    let withdrawal = withdrawal("ffff6666-0000-4000-8000-000000000000");
    let outcome = anchor.process_withdrawal(&withdrawal).await.unwrap();
    assert_eq!(
        outcome,
        WithdrawalOutcome::Completed {
            external_transaction_id: Some("42".into())
        }
    );
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let body: serde_json::Value =
        serde_json::from_str(requests[0].trim_start_matches("POST /payouts ")).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"reference": withdrawal.id, "amount": "29.425", "account": "DE89370400440532013000"}),
        "paid to the whole account, never to the masked `to`"
    );
}

/// A bank that pays every payout (201) and records the requests.
async fn paying_bank() -> (String, Arc<Mutex<Vec<String>>>) {
    bank(Arc::new(|method: &str, path: &str, body: &str| {
        assert_eq!((method, path), ("POST", "/payouts"));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        (
            201,
            serde_json::json!({"id": 42, "reference": body["reference"], "amount": body["amount"],
                               "currency": "USD", "account": body["account"], "created_at": "x"})
            .to_string(),
        )
    }))
    .await
}

/// The accounts of the payouts the bank was asked for, in order.
fn paid_accounts(seen: &Mutex<Vec<String>>) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|request| {
            let body: serde_json::Value =
                serde_json::from_str(request.trim_start_matches("POST /payouts ")).unwrap();
            body["account"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_payout_goes_to_the_whole_account_typed_in_the_form_while_to_stays_masked() {
    use mooring::i18n::Lang;
    use mooring::integrations::{FieldKind, Form, FormField};

    let (url, seen) = paying_bank().await;
    let anchor = anchor(Some(&url));
    let form = Form {
        step: crate::reference::rail::STEP_BANK_ACCOUNT.into(),
        fields: vec![FormField::new(
            "bank_account_number",
            "IBAN",
            FieldKind::Text { max_len: 42 },
        )],
    };
    // Two withdrawals of one user to two accounts ending in the same four digits, the second
    // typed before the first is paid out.
    let mut first = withdrawal("abab1212-0000-4000-8000-000000000000");
    let mut second = withdrawal("cdcd3434-0000-4000-8000-000000000000");
    for (tx, typed) in [
        (&mut first, "de89 3704 0044 0532 0130 00"),
        (&mut second, "GB29 NWBK 6016 1331 3000"),
    ] {
        tx.to = None;
        tx.payout_account = None;
        let values = [("bank_account_number".to_owned(), typed.to_owned())].into();
        InteractiveFlow::after_form_validation(&anchor, tx, &form, &values, Lang::En)
            .await
            .unwrap();
    }
    assert_eq!(first.to.as_deref(), Some("****3000"), "shown masked");
    assert_eq!(second.to.as_deref(), Some("****3000"), "shown masked");

    for tx in [&first, &second] {
        assert!(matches!(
            anchor.process_withdrawal(tx).await.unwrap(),
            WithdrawalOutcome::Completed { .. }
        ));
    }
    assert_eq!(
        paid_accounts(&seen),
        ["DE89370400440532013000", "GB29NWBK601613313000"],
        "each withdrawal is paid to the account typed for it, in full"
    );
}

#[tokio::test]
async fn a_withdrawal_without_its_whole_account_is_left_to_the_operator_unpaid() {
    let (url, seen) = paying_bank().await;
    let anchor = anchor(Some(&url));
    let mut masked_only = withdrawal("efef5656-0000-4000-8000-000000000000");
    masked_only.payout_account = None;
    assert_eq!(
        anchor.process_withdrawal(&masked_only).await.unwrap(),
        WithdrawalOutcome::PendingExternal {
            external_transaction_id: None
        }
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing is paid to a masked account"
    );
}

#[tokio::test]
async fn a_payout_conflict_or_a_missing_amount_is_an_error() {
    let (url, _) = bank(Arc::new(|_, _: &str, _| {
        (
            409,
            r#"{"error": "exists", "payout": {"id": 1, "reference": "x"}}"#.into(),
        )
    }))
    .await;
    let anchor = anchor(Some(&url));
    let error = anchor
        .process_withdrawal(&withdrawal("1111aaaa-0000-4000-8000-000000000000"))
        .await
        .unwrap_err();
    assert!(matches!(error, IntegrationError::Internal(_)), "{error:?}");
    let mut no_amount = withdrawal("2222bbbb-0000-4000-8000-000000000000");
    no_amount.amount_out = None;
    assert!(anchor.process_withdrawal(&no_amount).await.is_err());
    let (down, _) = bank(Arc::new(|_, _: &str, _| (503, "{}".into()))).await;
    let error = self::anchor(Some(&down))
        .process_withdrawal(&withdrawal("3333cccc-0000-4000-8000-000000000000"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, IntegrationError::Unavailable(_)),
        "{error:?}"
    );
}

/// The bank's refusal of a closed account.
const CLOSED: &str =
    r#"{"error": "account DE89370400440532013000 is closed", "code": "account_closed"}"#;

#[tokio::test]
async fn a_withdrawal_to_an_account_the_bank_refuses_fails_with_the_reason_masked() {
    let (url, seen) = bank(Arc::new(|_, _: &str, _| (422, CLOSED.into()))).await;
    let anchor = anchor(Some(&url));
    let error = anchor
        .process_withdrawal(&withdrawal("abcd0000-0000-4000-8000-000000000000"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        IntegrationError::Invalid(
            "the bank refused the payout account ****3000: account ****3000 is closed".into()
        )
    );
    assert_eq!(seen.lock().unwrap().len(), 1);

    // The client itself tells the refusal apart, with the bank's reason (or a default one).
    let bank = DemoBank::new(&url, Duration::from_secs(2)).unwrap();
    assert_eq!(
        bank.pay_out("r", amount("1"), "DE89370400440532013000")
            .await,
        Err(PayoutError::AccountRejected(
            "account DE89370400440532013000 is closed".into()
        ))
    );
    let (odd, _) = self::bank(Arc::new(|_, _: &str, _| (422, "closed\n".into()))).await;
    let bank = DemoBank::new(&odd, Duration::from_secs(2)).unwrap();
    assert_eq!(
        bank.pay_out("r", amount("1"), "GB29NWBK60161331926819")
            .await,
        Err(PayoutError::AccountRejected(
            "account GB29NWBK60161331926819 refused".into()
        ))
    );
}

#[tokio::test]
async fn pending_payouts_the_bank_made_are_completed() {
    let (url, _) = bank(Arc::new(|_, path: &str, _| {
        if path == "/payouts?reference=4444dddd-0000-4000-8000-000000000000" {
            (
                200,
                r#"{"payouts": [{"id": 5, "reference": "4444dddd-0000-4000-8000-000000000000"}]}"#
                    .into(),
            )
        } else {
            (200, r#"{"payouts": []}"#.into())
        }
    }))
    .await;
    let anchor = anchor(Some(&url));
    let pending = [
        withdrawal("4444dddd-0000-4000-8000-000000000000"),
        withdrawal("5555eeee-0000-4000-8000-000000000000"),
    ];
    let completed = anchor.poll_outgoing_transactions(&pending).await.unwrap();
    assert_eq!(
        completed,
        [mooring::integrations::CompletedPayout {
            transaction_id: pending[0].id.clone(),
            external_transaction_id: Some("5".into()),
        }]
    );
}

#[tokio::test]
async fn without_a_bank_no_deposit_arrives_and_withdrawals_wait_for_the_operator() {
    let anchor = anchor(None);
    assert!(anchor
        .poll_pending_deposits(&[deposit("6666ffff-0000-4000-8000-000000000000")])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        anchor
            .process_withdrawal(&withdrawal("7777aaaa-0000-4000-8000-000000000000"))
            .await
            .unwrap(),
        WithdrawalOutcome::PendingExternal {
            external_transaction_id: None
        }
    );
    assert!(anchor
        .poll_outgoing_transactions(&[withdrawal("8888bbbb-0000-4000-8000-000000000000")])
        .await
        .unwrap()
        .is_empty());
    assert!(anchor
        .after_deposit(&deposit("9999cccc-0000-4000-8000-000000000000"))
        .await
        .is_ok());
}

#[test]
fn settings_read_the_url_and_timeout() {
    let settings = BankSettings::from_source(&[
        ("DEMO_BANK_URL", "http://127.0.0.1:8002/"),
        ("DEMO_BANK_TIMEOUT_MS", "1500"),
    ])
    .unwrap();
    assert_eq!(settings.url.as_deref(), Some("http://127.0.0.1:8002"));
    assert_eq!(settings.timeout, Duration::from_millis(1500));
    assert_eq!(
        BankSettings::from_source(&[("DEMO_BANK_URL", "")])
            .unwrap()
            .url,
        None
    );
    assert!(BankSettings::from_source(&[("DEMO_BANK_URL", "ftp://x")]).is_err());
    assert!(BankSettings::from_source(&[("DEMO_BANK_TIMEOUT_MS", "0")]).is_err());
}

/// The feed of incoming money: every transfer after the cursor, with what the rail can tell of
/// it; a reference's first transfer is looked up once per page.
#[tokio::test]
async fn the_feed_tells_which_transfers_may_pay_a_deposit() {
    use mooring::integrations::{IncomingTransfer, TransferClaim};
    let (url, seen) = bank(Arc::new(|_, path: &str, _| {
        let body = match path {
            "/transfers?since=0&limit=200" => {
                r#"{"transfers": [
                    {"id": 7, "reference": "MOOR-AAAA1111", "amount": "99.5", "currency": "USD", "created_at": "2023-11-14T22:00:00Z"},
                    {"id": 9, "reference": "MOOR-AAAA1111", "amount": "5", "currency": "USD", "sender": "DE89370400440532013000", "created_at": "2023-11-14T22:05:00Z"},
                    {"id": 10, "reference": "rent for May", "amount": "700", "currency": "USD", "created_at": "2023-11-14T22:06:00Z"},
                    {"id": 11, "reference": "MOOR-bbbb2222", "amount": "1", "currency": "USD"},
                    {"id": 12, "reference": "MOOR-CCCC3333", "amount": "12", "currency": "USD", "created_at": "2023-11-14T22:07:00Z"}]}"#
            }
            "/transfers?reference=MOOR-AAAA1111" => {
                r#"{"transfers": [{"id": 7, "reference": "MOOR-AAAA1111", "amount": "99.5"},
                                  {"id": 9, "reference": "MOOR-AAAA1111", "amount": "5"}]}"#
            }
            "/transfers?reference=MOOR-CCCC3333" => {
                r#"{"transfers": [{"id": 12, "reference": "MOOR-CCCC3333", "amount": "12"}]}"#
            }
            _ => r#"{"transfers": []}"#,
        };
        (200, body.into())
    }))
    .await;
    let rail = anchor(Some(&url));
    let feed: Vec<IncomingTransfer> = rail.incoming_transfers(None).await.unwrap();
    let claims: Vec<(&str, &str, TransferClaim)> = feed
        .iter()
        .map(|t| (t.transfer.id.as_str(), t.cursor.as_str(), t.claim.clone()))
        .collect();
    assert_eq!(
        claims,
        [
            ("7", "7", TransferClaim::MayPayDeposit),
            ("9", "9", TransferClaim::Repeats { first: "7".into() }),
            ("10", "10", TransferClaim::NamesNoDeposit),
            // Lower case: not the deposits' form, which the bank matches exactly.
            ("11", "11", TransferClaim::NamesNoDeposit),
            ("12", "12", TransferClaim::MayPayDeposit),
        ]
    );
    let repeat = &feed[1];
    assert_eq!(repeat.transfer.amount, amount("5"));
    assert_eq!(repeat.transfer.currency.as_deref(), Some("USD"));
    assert_eq!(
        repeat.transfer.sender.as_deref(),
        Some("DE89370400440532013000")
    );
    assert_eq!(
        repeat.received_at,
        Timestamp::parse_rfc3339("2023-11-14T22:05:00Z").unwrap()
    );
    // No readable time: it counts as arriving now (the anchor's clock).
    assert_eq!(feed[3].received_at, Timestamp::from_secs(1_700_000_000));
    let requests = seen.lock().unwrap().clone();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.contains("reference=MOOR-AAAA1111"))
            .count(),
        1,
        "{requests:?}"
    );

    // The next call goes on after the cursor; nothing new there.
    assert!(rail
        .incoming_transfers(Some("12"))
        .await
        .unwrap()
        .is_empty());
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .any(|r| r.starts_with("GET /transfers?since=12&limit=200 ")));
    // Without a bank, no feed.
    assert!(anchor(None)
        .incoming_transfers(None)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_deposit_is_refunded_once_to_the_account_its_transfer_came_from() {
    let (url, seen) = bank(Arc::new(|method, path: &str, body| {
        match (method, path) {
            ("GET", "/transfers?reference=MOOR-CCCC3333") => (
                200,
                r#"{"transfers": [{"id": 11, "reference": "MOOR-CCCC3333", "amount": "100", "currency": "USD", "sender": "GB29NWBK60161331926819", "created_at": "x"}]}"#
                    .into(),
            ),
            ("POST", "/payouts") => {
                let sent: serde_json::Value = serde_json::from_str(body).unwrap();
                (
                    201,
                    serde_json::json!({"id": 21, "reference": sent["reference"], "amount": sent["amount"], "account": sent["account"]})
                        .to_string(),
                )
            }
            _ => (404, r#"{"error": "not found"}"#.into()),
        }
    }))
    .await;
    let anchor = anchor(Some(&url));
    let deposit = deposit("cccc3333-0000-4000-8000-000000000000");
    let reference = anchor.refund_deposit(&deposit, amount("99.5")).await;
    assert_eq!(reference, Ok(Some("21".into())));
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let payout: serde_json::Value =
        serde_json::from_str(requests[1].trim_start_matches("POST /payouts ")).unwrap();
    assert_eq!(
        payout,
        serde_json::json!({
            "reference": "refund-cccc3333-0000-4000-8000-000000000000",
            "amount": "99.5",
            "account": "GB29NWBK60161331926819"
        })
    );
}

#[tokio::test]
async fn a_deposit_whose_sender_is_unknown_or_refused_is_not_refunded() {
    let (url, _) = bank(Arc::new(|method, path: &str, _| match (method, path) {
        ("GET", "/transfers?reference=MOOR-DDDD4444") => (
            200,
            r#"{"transfers": [{"id": 12, "reference": "MOOR-DDDD4444", "amount": "5", "currency": "USD", "created_at": "x"}]}"#
                .into(),
        ),
        ("GET", _) => (
            200,
            r#"{"transfers": [{"id": 13, "reference": "MOOR-EEEE5555", "amount": "5", "currency": "USD", "sender": "DE89370400440532013000", "created_at": "x"}]}"#
                .into(),
        ),
        _ => (422, CLOSED.into()),
    }))
    .await;
    let anchor = anchor(Some(&url));
    let unknown = anchor
        .refund_deposit(
            &deposit("dddd4444-0000-4000-8000-000000000000"),
            amount("5"),
        )
        .await;
    assert!(
        matches!(unknown, Err(IntegrationError::Invalid(_))),
        "{unknown:?}"
    );
    let refused = anchor
        .refund_deposit(
            &deposit("eeee5555-0000-4000-8000-000000000000"),
            amount("5"),
        )
        .await;
    assert_eq!(
        refused,
        Err(IntegrationError::Invalid(
            "the bank refused the refund to account ****3000: account ****3000 is closed".into()
        ))
    );
    let without_bank = self::anchor(None)
        .refund_deposit(
            &deposit("eeee5555-0000-4000-8000-000000000000"),
            amount("5"),
        )
        .await;
    assert!(matches!(without_bank, Err(IntegrationError::Invalid(_))));
}
