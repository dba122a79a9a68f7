//! `GET /transactions` (digest 6.6) and SEP-6's transaction object (6.7).

use super::super::view::TransactionView;
use super::*;
use crate::model::{FeeDetails, FeeItem, Kind};
use crate::time::Timestamp;

/// Jane's USDC transactions one minute apart, oldest first: a deposit, a withdrawal, a
/// deposit (through the API), a withdrawal-exchange and a deposit-exchange (stored as they
/// would be). Returns their ids oldest first.
async fn history(anchor: &Anchor, jane: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..5u64 {
        anchor.clock.set(NOW + i * 60);
        let id = match i {
            0 | 2 => {
                anchor
                    .request(
                        "deposit",
                        jane,
                        &[("asset_code", "USDC"), ("funding_method", "SEPA")],
                    )
                    .await
            }
            1 => {
                anchor
                    .request("withdraw", jane, &[("asset_code", "USDC")])
                    .await
            }
            _ => {
                let kind = if i == 3 {
                    Kind::WithdrawalExchange
                } else {
                    Kind::DepositExchange
                };
                let mut t = transaction(
                    user(7, None),
                    kind,
                    TransactionStatus::PendingUserTransferStart,
                );
                t.started_at = Timestamp::from_secs(NOW + i * 60);
                anchor.store.insert(&t).await.expect("insert");
                ids.push(t.id);
                continue;
            }
        }
        .id();
        ids.push(id);
    }
    anchor.clock.set(NOW + 600);
    ids
}

/// The ids `indexes` of `all`, in that order.
fn pick(all: &[String], indexes: &[usize]) -> Vec<String> {
    indexes.iter().map(|i| all[*i].clone()).collect()
}

#[tokio::test]
async fn transactions_filter_by_a_kind_list_paging_id_limit_and_no_older_than() {
    let anchor = anchor();
    let jane = token(&g(7));
    let mine = history(&anchor, &jane).await;
    // Another user's, and an EURC deposit of Jane's.
    anchor
        .deposit_with(&token(&g(8)), &[("asset_code", "EURC")], ready())
        .await;
    anchor
        .deposit_with(&jane, &[("asset_code", "EURC")], ready())
        .await;

    for (query, expected) in [
        ("", vec![4, 3, 2, 1, 0]),
        ("&kind=deposit&kind=withdrawal", vec![2, 1, 0]),
        ("&kind=deposit", vec![2, 0]),
        ("&kind=withdrawal", vec![1]),
        (
            "&kind=deposit-exchange&kind=withdrawal-exchange",
            vec![4, 3],
        ),
        ("&kind=deposit,deposit-exchange", vec![4, 2, 0]),
        ("&limit=2", vec![4, 3]),
        (&format!("&paging_id={}", mine[3]), vec![2, 1, 0]),
        (&format!("&paging_id={}&limit=1", mine[3]), vec![2]),
        (&format!("&paging_id={}&kind=deposit", mine[3]), vec![2, 0]),
        // Inclusive: started at or after.
        ("&no_older_than=2023-11-14T22:15:20Z", vec![4, 3, 2]),
        ("&no_older_than=2023-11-14T22:15:20Z&limit=1", vec![4]),
    ] {
        let answer = anchor
            .get(&format!("/transactions?asset_code=USDC{query}"), &jane)
            .await;
        assert_eq!(answer.status, 200, "{query}: {}", answer.body);
        assert_eq!(ids(&answer), pick(&mine, &expected), "{query}");
    }
    let eurc = anchor.get("/transactions?asset_code=EURC", &jane).await;
    assert_eq!(ids(&eurc).len(), 1);

    for (query, message) in [
        ("", "'asset_code' is required"),
        (
            "asset_code=BTC",
            "This anchor doesn't support the given currency code: BTC",
        ),
        (
            "asset_code=USDC&limit=0",
            "'limit' must be a positive integer",
        ),
        (
            "asset_code=USDC&no_older_than=yesterday",
            "'no_older_than' must be an RFC 3339 time, e.g. 2024-01-31T12:00:00Z",
        ),
        (
            "asset_code=USDC&paging_id=nope",
            "'paging_id' is not one of your transactions",
        ),
    ] {
        let answer = anchor.get(&format!("/transactions?{query}"), &jane).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
        assert_eq!(answer.body, json!({ "error": message }), "{query}");
    }
}

#[tokio::test]
async fn a_kind_that_is_not_a_sep6_kind_is_400() {
    let anchor = anchor();
    let jane = token(&g(7));
    for kind in ["withdraw", "receive", "deposit,swap"] {
        let answer = anchor
            .get(&format!("/transactions?asset_code=USDC&kind={kind}"), &jane)
            .await;
        assert_eq!(answer.status, 400, "{kind}: {}", answer.body);
        let bad = kind.rsplit(',').next().expect("kind");
        assert_eq!(
            answer.body,
            json!({ "error": format!(
                "'kind' must be deposit, deposit-exchange, withdrawal or withdrawal-exchange, \
                 not {bad}"
            ) }),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn the_transaction_object_has_fee_details_details_from_to_and_sep6_fields() {
    let anchor = anchor();
    let jane = token(&g(7));
    let amount = |text: &str| -> Amount { text.parse().expect("amount") };
    let mut t = transaction(
        user(7, None),
        Kind::Deposit,
        TransactionStatus::PendingUserTransferStart,
    );
    t.status_eta = Some(3600);
    t.amount_in = Some(amount("100"));
    t.amount_in_asset = Some("iso4217:USD".into());
    t.amount_out = Some(amount("98.5"));
    t.amount_out_asset = Some(usdc().sep38_id());
    t.fee_details = Some(FeeDetails {
        total: amount("1.5"),
        asset: "iso4217:USD".into(),
        breakdown: vec![
            FeeItem {
                name: "Service fee".into(),
                description: None,
                amount: amount("1"),
            },
            FeeItem {
                name: "Bank fee".into(),
                description: Some("SEPA".into()),
                amount: amount("0.5"),
            },
        ],
    });
    t.to = Some(g(7));
    t.deposit_memo = Some("42".into());
    t.deposit_memo_type = Some("id".into());
    t.external_extra = Some("121122676".into());
    t.external_extra_text = Some("Demo Bank".into());
    t.instructions = Some(bank_instructions_json());
    t.funding_method = Some("SEPA".into());
    anchor.store.insert(&t).await.expect("insert");

    let answer = anchor.transaction(&t.id, &jane).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({"transaction": {
            "id": t.id,
            "kind": "deposit",
            "status": "pending_user_transfer_start",
            "status_eta": 3600,
            "amount_in": "100",
            "amount_in_asset": "iso4217:USD",
            "amount_out": "98.5",
            "amount_out_asset": usdc().sep38_id(),
            "amount_fee": "1.5",
            "amount_fee_asset": "iso4217:USD",
            "fee_details": {"total": "1.5", "asset": "iso4217:USD", "details": [
                {"name": "Service fee", "amount": "1"},
                {"name": "Bank fee", "description": "SEPA", "amount": "0.5"}
            ]},
            "started_at": STARTED,
            "updated_at": STARTED,
            "stellar_transaction_id": null,
            "from": null,
            "to": g(7),
            "deposit_memo": "42",
            "deposit_memo_type": "id",
            "external_extra": "121122676",
            "external_extra_text": "Demo Bank",
            "instructions": bank_instructions_json()
        }})
    );
    let list = anchor.get("/transactions?asset_code=USDC", &jane).await;
    assert_eq!(list.body["transactions"][0], answer.body["transaction"]);
}

#[tokio::test]
async fn instructions_show_outside_pending_customer_info_update_and_updates_only_when_pending() {
    use TransactionStatus::*;
    for kind in [Kind::Deposit, Kind::Withdrawal] {
        for status in [
            PendingCustomerInfoUpdate,
            PendingTransactionInfoUpdate,
            PendingUserTransferStart,
            PendingAnchor,
            Completed,
        ] {
            let mut t = transaction(user(7, None), kind, status);
            t.instructions = Some(bank_instructions_json());
            t.required_info_updates = Some(json!({"dest": {"description": "account"}}));
            let view = serde_json::to_value(TransactionView::new(&t)).expect("json");
            let what = format!("{kind:?} {status}");
            assert_eq!(
                view.get("instructions").is_some(),
                kind == Kind::Deposit && status != PendingCustomerInfoUpdate,
                "instructions: {what}"
            );
            assert_eq!(
                view.get("required_info_updates").is_some(),
                status == PendingTransactionInfoUpdate,
                "required_info_updates: {what}"
            );
            // Never SEP-24's fields.
            for key in ["kyc_verified", "more_info_url"] {
                assert!(view.get(key).is_none(), "{key}: {what}");
            }
        }
    }
}

#[tokio::test]
async fn a_transaction_is_found_by_any_of_its_ids_and_sep24_ones_are_not_shown() {
    let anchor = anchor();
    let jane = token(&g(7));
    let mut t = transaction(user(7, None), Kind::Deposit, TransactionStatus::Completed);
    t.stellar_transaction_id = Some("ab".repeat(32));
    t.external_transaction_id = Some("bank-ref-1".into());
    anchor.store.insert(&t).await.expect("insert");
    let mut sep24 = transaction(user(7, None), Kind::Deposit, TransactionStatus::Completed);
    sep24.protocol = crate::model::Protocol::Sep24;
    anchor.store.insert(&sep24).await.expect("insert");

    let hash = "ab".repeat(32);
    for query in [
        format!("id={}", t.id),
        format!("stellar_transaction_id={hash}"),
        "external_transaction_id=bank-ref-1".to_owned(),
        format!("id={}&external_transaction_id=bank-ref-1", t.id),
    ] {
        let answer = anchor.get(&format!("/transaction?{query}"), &jane).await;
        assert_eq!(answer.status, 200, "{query}: {}", answer.body);
        assert_eq!(answer.body["transaction"]["id"], t.id.as_str(), "{query}");
        assert_eq!(answer.body["transaction"]["stellar_transaction_id"], hash);
        assert_eq!(
            answer.body["transaction"]["external_transaction_id"],
            "bank-ref-1"
        );
    }
    let bob = token(&g(8));
    for query in [
        format!("id={}", t.id),
        format!("stellar_transaction_id={hash}"),
        "external_transaction_id=bank-ref-1".to_owned(),
    ] {
        let answer = anchor.get(&format!("/transaction?{query}"), &bob).await;
        assert_eq!(answer.status, 404, "bob: {query}");
    }
    let mismatch = anchor
        .get(
            &format!("/transaction?id={}&external_transaction_id=other", t.id),
            &jane,
        )
        .await;
    assert_eq!(mismatch.status, 404);
    // SEP-24's transactions belong to the other API.
    assert_eq!(anchor.transaction(&sep24.id, &jane).await.status, 404);
    let list = anchor.get("/transactions?asset_code=USDC", &jane).await;
    assert_eq!(ids(&list), [t.id.clone()]);
}

#[tokio::test]
async fn a_refunded_deposit_shows_its_refunds_and_completed_at() {
    use crate::model::{RefundPayment, Refunds};
    let anchor = anchor();
    let jane = token(&g(7));
    let amount = |text: &str| -> Amount { text.parse().expect("amount") };
    let mut t = transaction(user(7, None), Kind::Deposit, TransactionStatus::Refunded);
    t.amount_in = Some(amount("100"));
    t.completed_at = Some(t.updated_at);
    t.refunds = Some(Refunds {
        amount_refunded: amount("100"),
        amount_fee: amount("0"),
        payments: vec![RefundPayment {
            id: "BANK-REFUND-1".into(),
            id_type: "external".into(),
            amount: amount("100"),
            fee: amount("0"),
        }],
    });
    anchor.store.insert(&t).await.expect("insert");
    let answer = anchor.transaction(&t.id, &jane).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let shown = &answer.body["transaction"];
    assert_eq!(shown["status"], "refunded");
    assert_eq!(shown["completed_at"], STARTED);
    assert_eq!(
        shown["refunds"],
        json!({"amount_refunded": "100", "amount_fee": "0", "payments": [
            {"id": "BANK-REFUND-1", "id_type": "external", "amount": "100", "fee": "0"}
        ]})
    );
}
