//! KYC: the current style (a wallet that sends `funding_method` gets 200 and the transaction
//! waits in `pending_customer_info_update`, moved on by the KYC loop as it is read) and the
//! deprecated 403s (digest 6.5, 6.8).

use super::*;
use crate::integrations::KycReview;
use crate::time::Timestamp;

fn info_needed() -> Sep6Answer {
    Sep6Answer::CustomerInfoNeeded {
        fields: vec!["family_name".into(), "email_address".into()],
    }
}

fn review(status: KycReview, eta: Option<u64>) -> Sep6Answer {
    Sep6Answer::CustomerInfoStatus { status, eta }
}

const KYC_MESSAGE: &str = "Send your KYC information through SEP-12 (PUT /customer with this \
                           transaction_id): family_name, email_address";

/// A USDC deposit by a current wallet: `funding_method` sent, with a callback URL.
const CURRENT: &[(&str, &str)] = &[
    ("asset_code", "USDC"),
    ("funding_method", "SEPA"),
    ("on_change_callback", "https://wallet.example/cb"),
];

#[tokio::test]
async fn kyc_needed_with_funding_method_stores_the_deposit_in_pending_customer_info_update() {
    let anchor = anchor();
    let jane = token(&g(7));
    anchor.script([info_needed()]);
    let answer = anchor.request("deposit", &jane, CURRENT).await;
    let id = answer.id();
    assert_eq!(
        answer.body,
        json!({
            "how": format!(
                "Complete your KYC information through SEP-12 (GET /customer?transaction_id={id}); \
                 the instructions follow on GET /transaction."
            ),
            "id": id,
            "min_amount": 1,
            "max_amount": 1000,
            "fee_fixed": 1,
            "fee_percent": 0.5,
            "extra_info": {"message": KYC_MESSAGE}
        }),
        "no instructions yet"
    );
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.status, TransactionStatus::PendingCustomerInfoUpdate);
    assert_eq!(stored.required_info_message.as_deref(), Some(KYC_MESSAGE));
    assert_eq!(stored.instructions, None);
    assert_eq!(
        stored.user_action_required_by, None,
        "not a status the sweeper ends"
    );

    // GET /transaction shows it waiting (the hook, asked again, still needs the fields).
    anchor.script([info_needed()]);
    let read = anchor.transaction(&id, &jane).await;
    assert_eq!(read.status, 200, "{}", read.body);
    let tx = &read.body["transaction"];
    assert_eq!(tx["status"], "pending_customer_info_update");
    assert_eq!(tx["required_info_message"], KYC_MESSAGE);
    assert!(tx.get("instructions").is_none());
    assert!(tx.get("required_info_updates").is_none());
    assert_eq!(anchor.stored(&id).await, stored, "nothing changed");
    assert_eq!(
        anchor.heard_statuses(),
        ["pending_customer_info_update"],
        "heard once created; a read that changes nothing posts nothing"
    );
}

#[tokio::test]
async fn the_kyc_loop_moves_the_deposit_on_once_the_hook_is_ready_and_posts_a_signed_callback() {
    let anchor = anchor();
    let jane = token(&g(7));
    anchor.script([info_needed(), info_needed(), ready()]);
    let id = anchor.request("deposit", &jane, CURRENT).await.id();
    let waiting = anchor.transaction(&id, &jane).await;
    assert_eq!(
        waiting.body["transaction"]["status"],
        "pending_customer_info_update"
    );

    anchor.clock.set(NOW + 60);
    let read = anchor.transaction(&id, &jane).await;
    assert_eq!(read.status, 200, "{}", read.body);
    let tx = &read.body["transaction"];
    assert_eq!(tx["status"], "pending_user_transfer_start");
    assert_eq!(tx["instructions"], bank_instructions_json());
    assert!(tx.get("required_info_message").is_none());
    assert_eq!(tx["updated_at"], "2023-11-14T22:14:20.000Z");

    // One conditional write (the version moved by one), which the wallet hears of once.
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.status, TransactionStatus::PendingUserTransferStart);
    assert_eq!(
        stored.user_action_required_by,
        Some(Timestamp::from_secs(NOW + 60 + 86_400)),
        "due a day after it became ready"
    );
    assert_eq!(tx["user_action_required_by"], "2023-11-15T22:14:20.000Z");
    assert_eq!(stored.version, 1);
    assert_eq!(stored.instructions, Some(bank_instructions_json()));
    let sent = anchor.callbacks();
    assert_eq!(
        anchor.heard_statuses(),
        [
            "pending_customer_info_update",
            "pending_user_transfer_start"
        ]
    );
    assert_eq!(sent[1].url, "https://wallet.example/cb");
    let posted: Value = serde_json::from_str(&sent[1].body).expect("json");
    assert_eq!(posted, read.body, "the body of GET /transaction");

    // The hook was asked again without request parameters.
    let calls = anchor.calls();
    assert_eq!(calls.len(), 3);
    assert!(calls[1..].iter().all(|c| c.params.is_empty()));
    // Once moved on, a read asks nothing and sends nothing.
    let again = anchor.transaction(&id, &jane).await;
    assert_eq!(again.body, read.body);
    assert_eq!((anchor.calls().len(), anchor.callbacks().len()), (3, 2));
}

#[tokio::test]
async fn the_kyc_loop_also_runs_when_the_transactions_are_listed() {
    let anchor = anchor();
    let jane = token(&g(7));
    anchor.script([info_needed()]);
    let id = anchor.request("deposit", &jane, CURRENT).await.id();
    let list = anchor.get("/transactions?asset_code=USDC", &jane).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(ids(&list), std::slice::from_ref(&id));
    assert_eq!(
        list.body["transactions"][0]["status"],
        "pending_user_transfer_start"
    );
    assert_eq!(
        anchor.stored(&id).await.status,
        TransactionStatus::PendingUserTransferStart
    );
    assert_eq!(
        anchor.heard_statuses(),
        [
            "pending_customer_info_update",
            "pending_user_transfer_start"
        ]
    );
}

#[tokio::test]
async fn a_kyc_loop_write_that_loses_a_race_answers_the_stored_transaction_and_posts_nothing() {
    let anchor = anchor();
    let jane = token(&g(7));
    anchor.script([info_needed()]);
    let id = anchor.request("deposit", &jane, CURRENT).await.id();
    anchor.race_next_hook();
    let read = anchor.transaction(&id, &jane).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["transaction"]["status"], "error", "the winner's");
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.status, TransactionStatus::Error);
    assert_eq!(stored.version, 1, "only the concurrent write landed");
    assert_eq!(stored.instructions, None);
    assert_eq!(
        anchor.heard_statuses(),
        ["pending_customer_info_update", "error"],
        "the winner's change is heard, the loser's never was"
    );
}

#[tokio::test]
async fn a_customer_denied_during_the_kyc_loop_ends_the_transaction_in_error() {
    let anchor = anchor();
    let jane = token(&g(7));
    anchor.script([info_needed(), review(KycReview::Denied, None)]);
    let id = anchor.request("deposit", &jane, CURRENT).await.id();
    let read = anchor.transaction(&id, &jane).await;
    let tx = &read.body["transaction"];
    assert_eq!(tx["status"], "error");
    assert_eq!(
        tx["message"],
        "The anchor cannot accept the customer's KYC information."
    );
    assert_eq!(anchor.stored(&id).await.status, TransactionStatus::Error);
    assert_eq!(
        anchor.heard_statuses(),
        ["pending_customer_info_update", "error"]
    );
}

#[tokio::test]
async fn a_pending_review_with_funding_method_stores_pending_customer_info_update() {
    let anchor = anchor();
    let jane = token(&g(7));
    anchor.script([review(KycReview::Pending, Some(3600))]);
    let answer = anchor.request("deposit", &jane, CURRENT).await;
    let id = answer.id();
    assert_eq!(
        answer.body["extra_info"],
        json!({"message": "Your KYC information is being reviewed."})
    );
    assert!(answer.body.get("instructions").is_none());
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.status, TransactionStatus::PendingCustomerInfoUpdate);
    assert_eq!(stored.status_eta, Some(3600));

    anchor.script([review(KycReview::Pending, Some(3600))]);
    let read = anchor.transaction(&id, &jane).await;
    let tx = &read.body["transaction"];
    assert_eq!(tx["status"], "pending_customer_info_update");
    assert_eq!(tx["status_eta"], 3600);
    assert_eq!(
        tx["required_info_message"],
        "Your KYC information is being reviewed."
    );
}

#[tokio::test]
async fn a_withdrawal_waiting_for_kyc_gets_the_anchors_account_once_ready() {
    let anchor = anchor();
    let jane = token(&g(7));
    anchor.script([info_needed()]);
    let answer = anchor
        .request(
            "withdraw",
            &jane,
            &[("asset_code", "USDC"), ("funding_method", "bank_account")],
        )
        .await;
    let id = answer.id();
    assert_eq!(
        answer.keys(),
        [
            "extra_info",
            "fee_percent",
            "id",
            "max_amount",
            "min_amount"
        ],
        "no account_id or memo yet"
    );
    let read = anchor.transaction(&id, &jane).await;
    let tx = &read.body["transaction"];
    assert_eq!(tx["status"], "pending_user_transfer_start");
    assert_eq!(tx["withdraw_anchor_account"], distribution());
    assert_eq!(tx["withdraw_memo_type"], "hash");
    assert_eq!(
        tx["withdraw_memo"],
        crate::model::withdraw_memo(&id).as_str()
    );
}

#[tokio::test]
async fn kyc_needed_without_funding_method_is_the_deprecated_403_and_stores_nothing() {
    let anchor = anchor();
    let jane = token(&g(7));
    for (endpoint, pairs) in [
        ("deposit", vec![("asset_code", "EURC")]),
        // `type`, the old name, is an old wallet too.
        ("deposit", vec![("asset_code", "USDC"), ("type", "SEPA")]),
        ("withdraw", vec![("asset_code", "USDC")]),
    ] {
        anchor.script([info_needed()]);
        let answer = anchor.request(endpoint, &jane, &pairs).await;
        assert_eq!(answer.status, 403, "{endpoint} {pairs:?}: {}", answer.body);
        assert_eq!(
            answer.body,
            json!({"type": "non_interactive_customer_info_needed",
                   "fields": ["family_name", "email_address"]}),
            "{endpoint} {pairs:?}"
        );
    }
    assert_eq!(anchor.calls().len(), 3);
    assert_eq!(anchor.count().await, 0, "nothing stored");
}

#[tokio::test]
async fn a_pending_review_without_funding_method_is_403_customer_info_status_with_more_info_url() {
    let anchor = anchor();
    let jane = token(&g(7));
    anchor.script([review(KycReview::Pending, Some(3600))]);
    let answer = anchor
        .request("deposit", &jane, &[("asset_code", "EURC"), ("lang", "es")])
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({
            "type": "customer_info_status",
            "status": "pending",
            "more_info_url": format!("{PUBLIC_URL}/kyc/status?account={}&lang=es", g(7)),
            "eta": 3600
        })
    );
    assert_eq!(anchor.count().await, 0, "nothing stored");
}

#[tokio::test]
async fn a_denied_customer_is_403_customer_info_status_denied_in_both_styles_and_stores_nothing() {
    let anchor = anchor();
    let jane = token(&g(7));
    // Without `lang` the page is the integration's as is.
    let more_info_url = format!("{PUBLIC_URL}/kyc/status?account={}", g(7));
    for (endpoint, pairs) in [
        ("deposit", vec![("asset_code", "EURC")]),
        (
            "deposit",
            vec![("asset_code", "EURC"), ("funding_method", "SEPA")],
        ),
        ("withdraw", vec![("asset_code", "USDC")]),
        (
            "withdraw",
            vec![("asset_code", "USDC"), ("funding_method", "bank_account")],
        ),
    ] {
        anchor.script([review(KycReview::Denied, None)]);
        let answer = anchor.request(endpoint, &jane, &pairs).await;
        assert_eq!(answer.status, 403, "{endpoint} {pairs:?}: {}", answer.body);
        assert_eq!(
            answer.body,
            json!({"type": "customer_info_status", "status": "denied",
                   "more_info_url": more_info_url}),
            "{endpoint} {pairs:?}"
        );
    }
    assert_eq!(anchor.count().await, 0, "nothing stored");
}
