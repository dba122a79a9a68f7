//! `GET /deposit-exchange` and `GET /withdraw-exchange` at SEP-38 firm quotes (digest 6.4).

use super::*;
use crate::decimal::Decimal;
use crate::model::{Kind, Quote, QuoteContext, QuoteFee};
use crate::store::QuoteStore;
use crate::time::Timestamp;

/// A firm quote of `owner` made for `context`, expiring `expires_in` seconds from now. A
/// deposit quote sells 100.50 `iso4217:EUR` by SEPA for 99 USDC (fee 1.50 EUR); a withdrawal
/// quote sells 100 USDC for 98.50 `iso4217:EUR` paid to a bank account (fee 1.50 USDC).
async fn quote(
    anchor: &Anchor,
    owner: UserKey,
    context: QuoteContext,
    deposit: bool,
    expires_in: i64,
) -> String {
    let d = |text| Decimal::parse(text, 24).expect("decimal");
    let eur = "iso4217:EUR".to_owned();
    let (sell, sell_amount, sell_method, buy, buy_amount, buy_method) = if deposit {
        (
            eur.clone(),
            "100.5",
            Some("SEPA"),
            usdc().sep38_id(),
            "99",
            None,
        )
    } else {
        let bank = Some("bank_account");
        (usdc().sep38_id(), "100", None, eur, "98.5", bank)
    };
    let quote = Quote {
        id: uuid::Uuid::new_v4().to_string(),
        user: owner,
        context,
        fee: QuoteFee {
            total: d("1.5"),
            asset: sell.clone(),
            details: Vec::new(),
        },
        sell_asset: sell,
        sell_amount: d(sell_amount),
        sell_delivery_method: sell_method.map(str::to_owned),
        buy_asset: buy,
        buy_amount: d(buy_amount),
        buy_delivery_method: buy_method.map(str::to_owned),
        country_code: None,
        price: d("1"),
        total_price: d("1.01515151515151515152"),
        expires_at: Timestamp::from_secs(NOW.saturating_add_signed(expires_in)),
        created_at: Timestamp::from_secs(NOW),
        transaction_id: None,
    };
    anchor.store.insert_quote(&quote).await.expect("quote");
    quote.id
}

/// The transaction a quote was used for.
async fn used_by(anchor: &Anchor, quote_id: &str) -> Option<String> {
    anchor
        .store
        .get_quote(quote_id)
        .await
        .expect("get")
        .expect("quote")
        .transaction_id
}

/// `/deposit-exchange` at `quote_id`, matching the quote, with `changes` applied (an empty
/// value removes the parameter).
async fn deposit_exchange(
    anchor: &Anchor,
    token: &str,
    quote_id: &str,
    changes: &[(&str, &str)],
) -> Answer {
    let mut params: BTreeMap<&str, &str> = [
        ("destination_asset", "USDC"),
        ("source_asset", "iso4217:EUR"),
        ("amount", "100.50"),
        ("funding_method", "SEPA"),
        ("quote_id", quote_id),
    ]
    .into_iter()
    .collect();
    params.extend(changes.iter().copied());
    params.retain(|_, value| !value.is_empty());
    let pairs: Vec<(&str, &str)> = params.into_iter().collect();
    anchor.request("deposit-exchange", token, &pairs).await
}

/// Expects a 400 starting with `message`, nothing stored and the quote unused.
async fn assert_refused(anchor: &Anchor, answer: &Answer, message: &str, quote_id: &str) {
    assert_eq!(answer.status, 400, "{message}: {}", answer.body);
    assert!(
        answer.error().starts_with(message),
        "{message}: {}",
        answer.error()
    );
    assert_eq!(anchor.count().await, 0, "{message}: nothing stored");
    assert_eq!(used_by(anchor, quote_id).await, None, "{message}");
}

#[tokio::test]
async fn deposit_exchange_at_a_firm_quote_takes_its_amounts_and_uses_the_quote_once() {
    let anchor = anchor();
    let jane = token(&g(7));
    let quote_id = quote(&anchor, user(7, None), QuoteContext::Sep6, true, 600).await;
    let answer = deposit_exchange(&anchor, &jane, &quote_id, &[]).await;
    let id = answer.id();
    assert_eq!(answer.body["instructions"], bank_instructions_json());
    assert_eq!(answer.body["how"], BANK_HOW);

    let stored = anchor.stored(&id).await;
    assert_eq!(stored.kind, Kind::DepositExchange);
    assert_eq!(stored.status, TransactionStatus::PendingUserTransferStart);
    assert_eq!(stored.to, Some(g(7)));
    assert_eq!(stored.quote_id.as_deref(), Some(quote_id.as_str()));
    assert_eq!(
        stored.user_action_required_by,
        Some(Timestamp::from_secs(NOW + 600))
    );
    assert_eq!(used_by(&anchor, &quote_id).await, Some(id.clone()));
    assert_eq!(anchor.calls()[0].operation, Operation::Deposit);

    let read = anchor.transaction(&id, &jane).await;
    let tx = &read.body["transaction"];
    assert_eq!(tx["kind"], "deposit-exchange");
    assert_eq!(tx["quote_id"], quote_id.as_str());
    assert_eq!(
        (&tx["amount_in"], &tx["amount_in_asset"]),
        (&json!("100.5"), &json!("iso4217:EUR"))
    );
    assert_eq!(
        (&tx["amount_out"], &tx["amount_out_asset"]),
        (&json!("99"), &json!(usdc().sep38_id()))
    );
    assert_eq!(
        tx["fee_details"],
        json!({"total": "1.5", "asset": "iso4217:EUR"})
    );
    assert_eq!(tx["amount_fee"], "1.5");

    // One quote, one transaction.
    let again = deposit_exchange(&anchor, &jane, &quote_id, &[]).await;
    assert_eq!(
        (again.status, again.error()),
        (400, "'quote_id': the quote was used already")
    );
    assert_eq!(anchor.count().await, 1);
}

#[tokio::test]
async fn deposit_exchange_without_quote_id_or_another_required_parameter_is_400() {
    let anchor = anchor();
    let jane = token(&g(7));
    let quote_id = quote(&anchor, user(7, None), QuoteContext::Sep6, true, 600).await;
    for (missing, message) in [
        (
            "quote_id",
            "'quote_id' is required: this anchor exchanges at firm SEP-38 quotes \
             (POST /sep38/quote with context sep6)",
        ),
        ("source_asset", "'source_asset' is required"),
        ("amount", "'amount' is required"),
        ("destination_asset", "'destination_asset' is required"),
    ] {
        let answer = deposit_exchange(&anchor, &jane, &quote_id, &[(missing, "")]).await;
        assert_eq!(answer.body, json!({ "error": message }), "{missing}");
        assert_refused(&anchor, &answer, message, &quote_id).await;
    }
}

#[tokio::test]
async fn deposit_exchange_at_an_expired_quote_is_400() {
    let anchor = anchor();
    let jane = token(&g(7));
    let expired = quote(&anchor, user(7, None), QuoteContext::Sep6, true, 0).await;
    let answer = deposit_exchange(&anchor, &jane, &expired, &[]).await;
    assert_refused(
        &anchor,
        &answer,
        "'quote_id': the quote has expired",
        &expired,
    )
    .await;
}

#[tokio::test]
async fn deposit_exchange_at_another_users_quote_is_400() {
    let anchor = anchor();
    let jane = token(&g(7));
    for owner in [user(8, None), user(7, Some(9))] {
        let foreign = quote(&anchor, owner, QuoteContext::Sep6, true, 600).await;
        let answer = deposit_exchange(&anchor, &jane, &foreign, &[]).await;
        assert_refused(&anchor, &answer, "'quote_id': no such quote", &foreign).await;
    }
    let answer = deposit_exchange(&anchor, &jane, "not-a-quote", &[]).await;
    assert_eq!(answer.error(), "'quote_id': no such quote");
}

#[tokio::test]
async fn deposit_exchange_whose_amount_asset_or_method_differs_from_the_quote_is_400() {
    let anchor = anchor();
    let jane = token(&g(7));
    let quote_id = quote(&anchor, user(7, None), QuoteContext::Sep6, true, 600).await;
    for (change, message) in [
        (
            ("amount", "100"),
            "'quote_id': 'amount' differs from the quote's sell_amount",
        ),
        (
            ("source_asset", "iso4217:USD"),
            "'quote_id': 'source_asset' differs from the quote's",
        ),
        (
            ("funding_method", "SWIFT"),
            "'quote_id': the quote's delivery method is not the 'funding_method'",
        ),
    ] {
        let answer = deposit_exchange(&anchor, &jane, &quote_id, &[change]).await;
        assert_eq!(answer.body, json!({ "error": message }), "{change:?}");
        assert_refused(&anchor, &answer, message, &quote_id).await;
    }
    // The same amount written differently is the quote's.
    let answer = deposit_exchange(&anchor, &jane, &quote_id, &[("amount", "100.5")]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn deposit_exchange_at_a_sep24_quote_is_400() {
    let anchor = anchor();
    let jane = token(&g(7));
    let sep24 = quote(&anchor, user(7, None), QuoteContext::Sep24, true, 600).await;
    let answer = deposit_exchange(&anchor, &jane, &sep24, &[]).await;
    assert_refused(
        &anchor,
        &answer,
        "'quote_id': the quote was not made for this SEP (context sep6)",
        &sep24,
    )
    .await;
}

#[tokio::test]
async fn withdraw_exchange_at_a_firm_quote_sells_the_stellar_asset() {
    let anchor = anchor();
    let jane = token(&g(7));
    let quote_id = quote(&anchor, user(7, None), QuoteContext::Sep6, false, 600).await;
    let answer = anchor
        .request(
            "withdraw-exchange",
            &jane,
            &[
                ("source_asset", "USDC"),
                ("destination_asset", "iso4217:EUR"),
                ("amount", "100"),
                ("quote_id", &quote_id),
            ],
        )
        .await;
    let id = answer.id();
    assert_eq!(answer.body["account_id"], distribution());
    assert_eq!(answer.body["memo_type"], "hash");
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.kind, Kind::WithdrawalExchange);
    assert_eq!(stored.from, Some(g(7)));
    assert_eq!(stored.funding_method.as_deref(), Some("bank_account"));
    assert_eq!(stored.amount_in, Some("100".parse().expect("amount")));
    assert_eq!(stored.amount_in_asset, Some(usdc().sep38_id()));
    assert_eq!(stored.amount_out, Some("98.5".parse().expect("amount")));
    assert_eq!(stored.amount_out_asset.as_deref(), Some("iso4217:EUR"));
    assert_eq!(used_by(&anchor, &quote_id).await, Some(id.clone()));
    assert_eq!(anchor.calls()[0].operation, Operation::Withdraw);
    let read = anchor.transaction(&id, &jane).await;
    assert_eq!(read.body["transaction"]["kind"], "withdrawal-exchange");
}

#[tokio::test]
async fn withdraw_exchange_at_a_deposit_quote_is_400() {
    let anchor = anchor();
    let jane = token(&g(7));
    let deposit_quote = quote(&anchor, user(7, None), QuoteContext::Sep6, true, 600).await;
    let answer = anchor
        .request(
            "withdraw-exchange",
            &jane,
            &[
                ("source_asset", "USDC"),
                ("destination_asset", "iso4217:EUR"),
                ("amount", "100.5"),
                ("quote_id", &deposit_quote),
            ],
        )
        .await;
    assert_refused(
        &anchor,
        &answer,
        "'quote_id': the quote is not for a withdraw of stellar:USDC:",
        &deposit_quote,
    )
    .await;
}

#[tokio::test]
async fn quote_id_on_a_plain_deposit_or_withdrawal_is_400() {
    let anchor = anchor();
    let jane = token(&g(7));
    let quote_id = quote(&anchor, user(7, None), QuoteContext::Sep6, true, 600).await;
    let answer = anchor
        .request(
            "deposit",
            &jane,
            &[
                ("asset_code", "USDC"),
                ("funding_method", "SEPA"),
                ("quote_id", &quote_id),
            ],
        )
        .await;
    assert_eq!(
        answer.body,
        json!({"error": "'quote_id' belongs to /deposit-exchange"})
    );
    assert_refused(&anchor, &answer, "'quote_id' belongs", &quote_id).await;
    let answer = anchor
        .request(
            "withdraw",
            &jane,
            &[("asset_code", "USDC"), ("quote_id", &quote_id)],
        )
        .await;
    assert_refused(
        &anchor,
        &answer,
        "'quote_id' belongs to /withdraw-exchange",
        &quote_id,
    )
    .await;
}

#[tokio::test]
async fn a_deprecated_kyc_403_leaves_the_quote_unused() {
    let anchor = anchor();
    let jane = token(&g(7));
    let quote_id = quote(&anchor, user(7, None), QuoteContext::Sep6, false, 600).await;
    anchor.script([Sep6Answer::CustomerInfoNeeded {
        fields: vec!["family_name".into()],
    }]);
    // No funding_method: an older wallet, answered with the deprecated 403.
    let answer = anchor
        .request(
            "withdraw-exchange",
            &jane,
            &[
                ("source_asset", "USDC"),
                ("destination_asset", "iso4217:EUR"),
                ("amount", "100"),
                ("quote_id", &quote_id),
            ],
        )
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.body["type"], "non_interactive_customer_info_needed");
    assert_eq!(anchor.count().await, 0);
    assert_eq!(used_by(&anchor, &quote_id).await, None);
}
