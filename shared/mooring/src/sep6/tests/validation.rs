//! Bad input is 4xx `{"error": ...}` and stores nothing; a user acts and reads only as itself
//! (account AND memo).

use super::*;

/// A contract address (refused: Mooring neither pays nor watches them).
const CONTRACT: &str = "CA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQGAXE";

#[tokio::test]
async fn bad_deposit_input_is_400_with_an_error_and_stores_nothing() {
    let anchor = anchor();
    let jane = token(&g(7));
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("asset_code", "BTC")],
            "This anchor doesn't support the given currency code: BTC",
        ),
        // Offered through SEP-24 only.
        (
            &[("asset_code", "SRT")],
            "This anchor doesn't support the given currency code: SRT",
        ),
        (&[("asset_code", "")], "'asset_code' is required"),
        (
            &[("amount", "0.5")],
            "the amount is below the minimum of 1 USDC",
        ),
        (
            &[("amount", "1000.01")],
            "the amount is above the maximum of 1000 USDC",
        ),
        (
            &[("amount", "10.001")],
            "USDC amounts have at most 2 decimal places",
        ),
        (
            &[("amount", "ten")],
            "'amount': 'ten' is not a decimal amount with at most 7 decimal places",
        ),
        (&[("amount", "0")], "'amount' must be positive"),
        (
            &[("account", "GABC")],
            "'account' is not a valid Stellar account",
        ),
        (
            &[("account", CONTRACT)],
            "contract (C...) accounts are not supported: send a G... or M... account",
        ),
        (
            &[("memo_type", "bogus"), ("memo", "1")],
            "memo: memo_type must be one of text, id or hash",
        ),
        (
            &[("memo_type", "id"), ("memo", "abc")],
            "memo: an id memo must be a decimal unsigned 64-bit integer",
        ),
        (
            &[("memo_type", "hash")],
            "memo: memo_type was given without a memo",
        ),
        (
            &[("on_change_callback", "not a url")],
            "'on_change_callback' must be an absolute http(s) URL",
        ),
        (
            &[("on_change_callback", "ftp://wallet.example/cb")],
            "'on_change_callback' must be an absolute http(s) URL",
        ),
        (
            &[("country_code", "US1")],
            "'country_code' must be an ISO 3166-1 alpha-3 code, e.g. USA",
        ),
        (
            &[("country_code", "USAA")],
            "'country_code' must be an ISO 3166-1 alpha-3 code, e.g. USA",
        ),
        (
            &[("claimable_balance_supported", "yes")],
            "'claimable_balance_supported' must be true or false",
        ),
    ];
    for (changes, message) in cases {
        // A valid request with the case's parameters replacing (or, empty, removing) its own.
        let mut pairs = vec![("asset_code", "USDC"), ("funding_method", "SEPA")];
        for (name, value) in changes.iter() {
            pairs.retain(|(n, _)| n != name);
            if !value.is_empty() {
                pairs.push((name, value));
            }
        }
        let answer = anchor.request("deposit", &jane, &pairs).await;
        assert_eq!(answer.status, 400, "{pairs:?}: {}", answer.body);
        assert_eq!(answer.body, json!({ "error": message }), "{pairs:?}");
    }
    for (query, name) in [
        (
            "asset_code=USDC&funding_method=SEPA&amount=10&amount=20",
            "amount",
        ),
        (
            "asset_code=USDC&asset_code=USDC&funding_method=SEPA",
            "asset_code",
        ),
        (
            "asset_code=USDC&funding_method=SEPA&funding_method=SWIFT",
            "funding_method",
        ),
    ] {
        let answer = anchor.get(&format!("/deposit?{query}"), &jane).await;
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(
            answer.body,
            json!({ "error": format!("parameter '{name}' was given more than once") })
        );
    }
    assert_eq!(anchor.count().await, 0, "nothing stored");
    assert!(anchor.calls().is_empty(), "the hook was never asked");
}

#[tokio::test]
async fn bad_withdrawal_input_is_400_with_an_error_and_stores_nothing() {
    let anchor = anchor();
    let jane = token(&g(7));
    for (pairs, message) in [
        (
            vec![("funding_method", "bank_account")],
            "'asset_code' is required",
        ),
        (
            vec![("asset_code", "USDC"), ("amount", "4")],
            "the amount is below the minimum of 5 USDC",
        ),
        (
            vec![("asset_code", "USDC"), ("amount", "501")],
            "the amount is above the maximum of 500 USDC",
        ),
        (
            vec![("asset_code", "USDC"), ("account", "M123")],
            "'account' is not a valid Stellar account",
        ),
        (
            vec![("asset_code", "USDC"), ("funding_method", "SEPA")],
            "'funding_method' must be one of bank_account for USDC",
        ),
    ] {
        let answer = anchor.request("withdraw", &jane, &pairs).await;
        assert_eq!(answer.status, 400, "{pairs:?}: {}", answer.body);
        assert_eq!(answer.body, json!({ "error": message }), "{pairs:?}");
    }
    assert_eq!(anchor.count().await, 0, "nothing stored");
}

#[tokio::test]
async fn an_account_and_memo_naming_another_user_of_the_callers_shared_account_are_refused() {
    let anchor = anchor();
    let refused = "'account' and 'memo' name another user of your account";
    for (sub, endpoint, pairs) in [
        (
            shared(7, 9),
            "deposit",
            vec![("account", g(7)), ("memo", "8".into())],
        ),
        (shared(7, 9), "deposit", vec![("account", m(7, 8))]),
        (
            shared(7, 9),
            "deposit",
            vec![
                ("account", g(7)),
                ("memo_type", "text".into()),
                ("memo", "9".into()),
            ],
        ),
        (shared(7, 9), "withdraw", vec![("account", m(7, 8))]),
        (
            m(7, 9),
            "deposit",
            vec![("account", g(7)), ("memo", "8".into())],
        ),
    ] {
        let mut pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        pairs.push((
            "asset_code",
            if endpoint == "deposit" {
                "EURC"
            } else {
                "USDC"
            },
        ));
        let answer = anchor.request(endpoint, &token(&sub), &pairs).await;
        assert_eq!(
            answer.status, 400,
            "{sub} {endpoint} {pairs:?}: {}",
            answer.body
        );
        assert_eq!(answer.body, json!({ "error": refused }), "{sub} {pairs:?}");
    }
    assert_eq!(anchor.count().await, 0);

    // Its own memo, its own M address, or another account altogether are fine.
    let nine = token(&shared(7, 9));
    for pairs in [
        vec![("account", g(7)), ("memo", "9".to_owned())],
        vec![("account", m(7, 9))],
        vec![("account", g(8)), ("memo", "8".to_owned())],
    ] {
        let mut pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        pairs.push(("asset_code", "EURC"));
        let answer = anchor.request("deposit", &nine, &pairs).await;
        assert_eq!(answer.status, 200, "{pairs:?}: {}", answer.body);
    }
    assert_eq!(anchor.count().await, 3);
}

#[tokio::test]
async fn users_see_only_their_own_transactions_by_account_and_memo() {
    let anchor = anchor();
    let eurc = [("asset_code", "EURC")];
    let subjects = [g(7), shared(7, 9), g(8)];
    let mut mine = Vec::new();
    for sub in &subjects {
        mine.push(anchor.deposit_with(&token(sub), &eurc, ready()).await);
    }
    for (who, sub) in subjects.iter().enumerate() {
        let caller = token(sub);
        for (whose, id) in mine.iter().enumerate() {
            let answer = anchor.transaction(id, &caller).await;
            if who == whose {
                assert_eq!(answer.status, 200, "{sub}: {}", answer.body);
            } else {
                assert_eq!(answer.status, 404, "{sub} reads {whose}");
                assert_eq!(answer.body, json!({"error": "transaction not found"}));
            }
        }
        let list = anchor.get("/transactions?asset_code=EURC", &caller).await;
        assert_eq!(ids(&list), [mine[who].clone()], "{sub}");
    }
    // G...:9 and M... with id 9 are the same user.
    let muxed = token(&m(7, 9));
    assert_eq!(anchor.transaction(&mine[1], &muxed).await.status, 200);
    // Unknown ids are 404 as well; no id at all is 400.
    let jane = token(&g(7));
    let unknown = anchor
        .transaction("1b4e28ba-2fa1-11d2-883f-0016d3cca427", &jane)
        .await;
    assert_eq!(unknown.status, 404);
    let none = anchor.get("/transaction", &jane).await;
    assert_eq!(
        none.body,
        json!({"error": "one of 'id', 'stellar_transaction_id' or 'external_transaction_id' is required"})
    );
}
