//! `GET /withdraw` when the hook is ready (digest 6.3, 6.5).

use super::*;
use crate::model::{withdraw_memo, Kind, Protocol};

/// The keys the validator allows in a withdrawal answer.
const ALLOWED: &[&str] = &[
    "account_id",
    "memo_type",
    "memo",
    "id",
    "eta",
    "min_amount",
    "max_amount",
    "fee_fixed",
    "fee_percent",
    "extra_info",
];

#[tokio::test]
async fn a_ready_withdrawal_answers_exactly_the_allowed_keys_and_stores_where_to_pay() {
    let anchor = anchor();
    let jane = token(&g(7));
    let answer = anchor
        .request(
            "withdraw",
            &jane,
            &[
                ("asset_code", "USDC"),
                ("funding_method", "bank_account"),
                ("amount", "100"),
                ("refund_memo", "5"),
                ("refund_memo_type", "id"),
            ],
        )
        .await;
    let id = answer.id();
    assert_eq!(
        answer.body,
        json!({
            "account_id": distribution(),
            "memo_type": "hash",
            "memo": withdraw_memo(&id),
            "id": id,
            "min_amount": 5,
            "max_amount": 500,
            "fee_percent": 1
        })
    );
    assert!(answer.keys().iter().all(|key| ALLOWED.contains(key)));

    let stored = anchor.stored(&id).await;
    assert_eq!(stored.protocol, Protocol::Sep6);
    assert_eq!(stored.kind, Kind::Withdrawal);
    assert_eq!(stored.status, TransactionStatus::PendingUserTransferStart);
    assert_eq!(stored.from, Some(g(7)));
    assert_eq!(stored.to, None);
    assert_eq!(stored.receiving_account, Some(account(102)));
    assert_eq!(stored.receiving_memo, Some(withdraw_memo(&id)));
    assert_eq!(stored.receiving_memo_type.as_deref(), Some("hash"));
    assert_eq!(
        (
            stored.refund_memo.as_deref(),
            stored.refund_memo_type.as_deref()
        ),
        (Some("5"), Some("id"))
    );
    assert_eq!(stored.funding_method.as_deref(), Some("bank_account"));
    // 1 % of 100 is below the 2 minimum.
    assert_eq!(stored.amount_in, Some("100".parse().expect("amount")));
    assert_eq!(stored.amount_out, Some("98".parse().expect("amount")));
    assert_eq!(stored.instructions, None);
    let calls = anchor.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].operation, Operation::Withdraw);

    // The transaction object shows where to pay.
    let read = anchor.transaction(&id, &jane).await;
    let tx = &read.body["transaction"];
    assert_eq!(tx["kind"], "withdrawal");
    assert_eq!(tx["from"], g(7));
    assert_eq!(tx["to"], Value::Null);
    assert_eq!(tx["withdraw_anchor_account"], distribution());
    assert_eq!(tx["withdraw_memo"], withdraw_memo(&id).as_str());
    assert_eq!(tx["withdraw_memo_type"], "hash");
    assert!(tx.get("instructions").is_none());
}

#[tokio::test]
async fn a_withdrawal_from_a_named_account_and_by_a_muxed_user_records_it_as_from() {
    let anchor = anchor();
    let pairs = [("asset_code", "USDC")];
    let id = anchor
        .request("withdraw", &token(&m(7, 8)), &pairs)
        .await
        .id();
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.user, user(7, Some(8)));
    assert_eq!(stored.from, Some(m(7, 8)));
    let id = anchor
        .request(
            "withdraw",
            &token(&g(7)),
            &[("asset_code", "USDC"), ("account", &m(7, 3))],
        )
        .await
        .id();
    assert_eq!(anchor.stored(&id).await.from, Some(m(7, 3)));
}

#[tokio::test]
async fn refund_memo_without_refund_memo_type_is_400() {
    let anchor = anchor();
    let jane = token(&g(7));
    let together = "'refund_memo' and 'refund_memo_type' go together: send both or neither";
    for (pairs, message) in [
        (vec![("refund_memo", "5")], together),
        (vec![("refund_memo_type", "id")], together),
        (
            vec![("refund_memo", "five"), ("refund_memo_type", "id")],
            "refund memo: an id memo must be a decimal unsigned 64-bit integer",
        ),
    ] {
        let mut pairs = pairs;
        pairs.push(("asset_code", "USDC"));
        let answer = anchor.request("withdraw", &jane, &pairs).await;
        assert_eq!(answer.status, 400, "{pairs:?}: {}", answer.body);
        assert_eq!(answer.body, json!({ "error": message }), "{pairs:?}");
    }
    let disabled = anchor
        .request("withdraw", &jane, &[("asset_code", "EURC")])
        .await;
    assert_eq!(
        (disabled.status, disabled.error()),
        (400, "withdraw is not enabled for EURC")
    );
    assert_eq!(anchor.count().await, 0);
    assert!(anchor.calls().is_empty());
}
