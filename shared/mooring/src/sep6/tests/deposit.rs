//! `GET /deposit` when the hook is ready (digest 6.2, 6.5).

use super::*;
use crate::model::{Kind, Protocol};
use crate::time::Timestamp;

#[tokio::test]
async fn a_ready_deposit_answers_how_instructions_id_and_limits_and_stores_the_transaction() {
    let anchor = anchor();
    let jane = token(&g(7));
    let answer = anchor
        .request(
            "deposit",
            &jane,
            &[
                ("asset_code", "USDC"),
                ("account", &g(8)),
                ("funding_method", "SEPA"),
                ("amount", "100"),
                ("memo_type", "id"),
                ("memo", "42"),
                ("lang", "es-AR"),
                ("on_change_callback", "https://wallet.example/cb"),
                ("claimable_balance_supported", "true"),
                ("country_code", "USA"),
                ("wallet_name", "W"),
            ],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/json");
    let id = answer.id();
    assert_eq!(
        answer.body,
        json!({
            "how": BANK_HOW,
            "instructions": bank_instructions_json(),
            "id": id,
            "min_amount": 1,
            "max_amount": 1000,
            "fee_fixed": 1,
            "fee_percent": 0.5
        })
    );
    assert!(answer.body["fee_percent"].is_f64(), "limits are numbers");

    let stored = anchor.stored(&id).await;
    assert_eq!(stored.protocol, Protocol::Sep6);
    assert_eq!(stored.kind, Kind::Deposit);
    assert_eq!(stored.status, TransactionStatus::PendingUserTransferStart);
    assert_eq!(
        stored.user_action_required_by,
        Some(Timestamp::from_secs(NOW + 86_400)),
        "the funds are due within a day"
    );
    assert_eq!(stored.user, user(7, None));
    assert_eq!(stored.asset, usdc());
    assert_eq!(stored.to, Some(g(8)));
    assert_eq!(stored.from, None);
    assert_eq!(
        (
            stored.deposit_memo.as_deref(),
            stored.deposit_memo_type.as_deref()
        ),
        (Some("42"), Some("id"))
    );
    assert_eq!(stored.funding_method.as_deref(), Some("SEPA"));
    assert_eq!(stored.amount_in, Some("100".parse().expect("amount")));
    assert_eq!(stored.amount_out, Some("98.5".parse().expect("amount")));
    let fee = stored.fee_details.as_ref().expect("fee");
    assert_eq!(
        (fee.total, fee.asset.as_str()),
        ("1.5".parse().expect("amount"), usdc().sep38_id().as_str())
    );
    assert_eq!(
        fee.breakdown,
        [FeeItem {
            name: "Service fee".into(),
            description: Some("SEPA".into()),
            amount: "1.5".parse().expect("amount"),
        }],
        "the fee integration's breakdown"
    );
    assert_eq!(stored.amount_in_asset, Some(usdc().sep38_id()));
    assert_eq!(stored.instructions, Some(bank_instructions_json()));
    assert_eq!(stored.required_info_message, None);
    assert_eq!(stored.lang.as_deref(), Some("es"));
    assert_eq!(
        stored.callback_url.as_deref(),
        Some("https://wallet.example/cb")
    );
    assert!(stored.claimable_balance_supported);
    assert_eq!(stored.started_at, Timestamp::from_secs(NOW));

    // The hook was asked once, with the request's parameters; the fee was told the method.
    let calls = anchor.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].operation, Operation::Deposit);
    assert_eq!(calls[0].transaction_id, id);
    assert_eq!(calls[0].params["funding_method"], "SEPA");
    assert_eq!(calls[0].params["wallet_name"], "W");
    assert_eq!(
        *anchor.transfer.integration.fee_types.lock().expect("lock"),
        [Some("SEPA".to_owned())]
    );
    // The wallet hears of the new transaction once, from the table's stream.
    let heard = anchor.callbacks();
    assert_eq!(heard.len(), 1);
    assert_eq!(heard[0].url, "https://wallet.example/cb");
    assert_eq!(
        anchor.heard_statuses(),
        [anchor.stored(&id).await.status.as_str()]
    );
}

#[tokio::test]
async fn a_deposit_without_account_goes_to_the_caller_and_a_shared_account_user_gets_its_memo() {
    let anchor = anchor();
    let plain = ("asset_code", "EURC");
    let id = anchor.deposit_with(&token(&g(7)), &[plain], ready()).await;
    let t = anchor.stored(&id).await;
    assert_eq!((t.to, t.deposit_memo), (Some(g(7)), None));
    // No amount: the amounts wait for the funds.
    assert_eq!(
        (t.amount_in, t.amount_out, t.fee_details),
        (None, None, None)
    );

    let id = anchor
        .deposit_with(&token(&shared(7, 9)), &[plain], ready())
        .await;
    let t = anchor.stored(&id).await;
    assert_eq!(t.user, user(7, Some(9)));
    assert_eq!(
        (
            t.to.as_deref(),
            t.deposit_memo.as_deref(),
            t.deposit_memo_type.as_deref()
        ),
        (Some(g(7).as_str()), Some("9"), Some("id"))
    );

    let id = anchor
        .deposit_with(&token(&m(7, 8)), &[plain], ready())
        .await;
    let t = anchor.stored(&id).await;
    assert_eq!(t.user, user(7, Some(8)));
    assert!(t.muxed);
    assert_eq!((t.to, t.deposit_memo), (Some(m(7, 8)), None));

    // Another account, with a hash memo.
    let hash = hash_memo(7);
    let id = anchor
        .deposit_with(
            &token(&shared(7, 9)),
            &[
                plain,
                ("account", &g(8)),
                ("memo_type", "hash"),
                ("memo", &hash),
            ],
            ready(),
        )
        .await;
    let t = anchor.stored(&id).await;
    assert_eq!(t.to, Some(g(8)));
    assert_eq!(
        (t.deposit_memo.as_deref(), t.deposit_memo_type.as_deref()),
        (Some(hash.as_str()), Some("hash"))
    );
}

#[tokio::test]
async fn type_is_accepted_as_the_old_name_of_funding_method() {
    let anchor = anchor();
    let jane = token(&g(7));
    let id = anchor
        .deposit_with(
            &jane,
            &[("asset_code", "USDC"), ("type", "SWIFT"), ("amount", "10")],
            ready(),
        )
        .await;
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.funding_method.as_deref(), Some("SWIFT"));
    assert_eq!(stored.status, TransactionStatus::PendingUserTransferStart);
    let answer = anchor
        .request(
            "deposit",
            &jane,
            &[("asset_code", "USDC"), ("type", "cash")],
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({"error": "'funding_method' must be one of SEPA, SWIFT for USDC"})
    );
    assert_eq!(anchor.count().await, 1);
    // An older wallet's free-form `type` means the one method of a direction that has one.
    let id = anchor
        .deposit_with(
            &jane,
            &[("asset_code", "EURC"), ("type", "bank_account")],
            ready(),
        )
        .await;
    assert_eq!(
        anchor.stored(&id).await.funding_method.as_deref(),
        Some("SEPA")
    );
}

#[tokio::test]
async fn funding_method_is_optional_for_one_method_and_required_for_several() {
    let anchor = anchor();
    let jane = token(&g(7));
    // EURC deposits have one method: it is implied.
    let id = anchor
        .deposit_with(&jane, &[("asset_code", "EURC")], ready())
        .await;
    assert_eq!(
        anchor.stored(&id).await.funding_method.as_deref(),
        Some("SEPA")
    );
    // USDC deposits have two.
    for (pairs, message) in [
        (
            vec![("asset_code", "USDC")],
            "'funding_method' is required: one of SEPA, SWIFT",
        ),
        (
            vec![("asset_code", "USDC"), ("funding_method", "cash")],
            "'funding_method' must be one of SEPA, SWIFT for USDC",
        ),
        (
            vec![("asset_code", "EURC"), ("funding_method", "SWIFT")],
            "'funding_method' must be one of SEPA for EURC",
        ),
    ] {
        let answer = anchor.request("deposit", &jane, &pairs).await;
        assert_eq!(answer.status, 400, "{pairs:?}: {}", answer.body);
        assert_eq!(answer.body, json!({ "error": message }), "{pairs:?}");
    }
    assert_eq!(anchor.count().await, 1, "only the EURC deposit");
    assert_eq!(
        anchor.calls().len(),
        1,
        "the hook is not asked about refusals"
    );
}

#[tokio::test]
async fn a_ready_answers_how_message_and_eta_are_passed_on() {
    let anchor = anchor();
    let jane = token(&g(7));
    let answer = Sep6Answer::Ready(Sep6Ready {
        instructions: bank_instructions(),
        how: Some("Wire the funds to Demo Bank".into()),
        message: Some("Deposits arrive within a day".into()),
        eta: Some(86_400),
    });
    anchor.script([answer]);
    let answer = anchor
        .request("deposit", &jane, &[("asset_code", "EURC")])
        .await;
    let id = answer.id();
    assert_eq!(
        answer.body,
        json!({
            "how": "Wire the funds to Demo Bank",
            "instructions": bank_instructions_json(),
            "id": id,
            "eta": 86_400,
            "extra_info": {"message": "Deposits arrive within a day"}
        })
    );
    assert_eq!(anchor.stored(&id).await.status_eta, Some(86_400));

    // Ready without instructions: a generic `how`, no `instructions`.
    anchor.script([Sep6Answer::Ready(Sep6Ready::default())]);
    let answer = anchor
        .request("deposit", &jane, &[("asset_code", "EURC")])
        .await;
    let id = answer.id();
    assert_eq!(
        answer.body,
        json!({
            "how": "Send the funds as agreed with the anchor; this transaction's id identifies \
                    them.",
            "id": id
        })
    );
    assert_eq!(anchor.stored(&id).await.instructions, None);
}
