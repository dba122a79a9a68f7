//! `POST /transactions` at a SEP-38 firm quote (digest 7.2): the sending anchor's own live,
//! unused quote made for `sep31`, selling `amount` of the Stellar asset for
//! `destination_asset`; the transaction takes the quote's amounts and fee.

use super::*;
use crate::decimal::Decimal;
use crate::model::{FeeDetails, Quote, QuoteContext, QuoteFee};
use crate::store::QuoteStore;
use crate::time::Timestamp;

/// What a test quote is: by default Alice's `sep31` quote selling 100 USDC for 92 EUR paid by
/// SEPA (fee 1.5 USDC), expiring in 10 minutes.
struct Spec {
    owner: u8,
    context: QuoteContext,
    sell_asset: String,
    buy_asset: &'static str,
    buy_method: Option<&'static str>,
    expires_in: i64,
    used_by: Option<&'static str>,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            owner: ALICE,
            context: QuoteContext::Sep31,
            sell_asset: usdc_id(),
            buy_asset: "iso4217:EUR",
            buy_method: Some("SEPA"),
            expires_in: 600,
            used_by: None,
        }
    }
}

fn decimal(text: &str) -> Decimal {
    Decimal::parse(text, 24).expect("decimal")
}

async fn quote(anchor: &Anchor, spec: Spec) -> String {
    let quote = Quote {
        id: uuid::Uuid::new_v4().to_string(),
        user: user(spec.owner),
        context: spec.context,
        fee: QuoteFee {
            total: decimal("1.5"),
            asset: spec.sell_asset.clone(),
            details: Vec::new(),
        },
        sell_asset: spec.sell_asset,
        sell_amount: decimal("100"),
        sell_delivery_method: None,
        buy_asset: spec.buy_asset.to_owned(),
        buy_amount: decimal("92"),
        buy_delivery_method: spec.buy_method.map(str::to_owned),
        country_code: None,
        price: decimal("1.070652"),
        total_price: decimal("1.0869565"),
        expires_at: Timestamp::from_secs(NOW.saturating_add_signed(spec.expires_in)),
        created_at: Timestamp::from_secs(NOW),
        transaction_id: spec.used_by.map(str::to_owned),
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

/// [`usdc_body`] at `quote_id`, to `iso4217:EUR`.
fn quoted(quote_id: &str) -> Value {
    with(
        usdc_body(),
        json!({"quote_id": quote_id, "destination_asset": "iso4217:EUR"}),
    )
}

#[tokio::test]
async fn a_payment_at_a_quote_takes_its_amounts_and_uses_it_once() {
    let anchor = anchor();
    let quote_id = quote(&anchor, Spec::default()).await;
    let answer = anchor.post(ALICE, &quoted(&quote_id)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(
        Answer::keys(&answer.body),
        [
            "id",
            "stellar_account_id",
            "stellar_memo",
            "stellar_memo_type"
        ]
    );
    let id = answer.id();
    let stored = anchor.stored(&id).await;
    assert_eq!(stored.quote_id.as_deref(), Some(quote_id.as_str()));
    assert_eq!(stored.amount_in, Some("100".parse().unwrap()));
    assert_eq!(stored.amount_in_asset, Some(usdc_id()));
    assert_eq!(stored.amount_out, Some("92".parse().unwrap()));
    assert_eq!(stored.amount_out_asset.as_deref(), Some("iso4217:EUR"));
    assert_eq!(
        stored.fee_details,
        Some(FeeDetails {
            total: "1.5".parse().unwrap(),
            asset: usdc_id(),
            breakdown: Vec::new(),
        })
    );
    // The payment must arrive while the quote holds.
    assert_eq!(
        stored.user_action_required_by,
        Some(Timestamp::from_secs(NOW + 600))
    );
    assert_eq!(used_by(&anchor, &quote_id).await, Some(id.clone()));

    let view = anchor.get(&id, ALICE).await;
    assert_eq!(view.body["transaction"]["quote_id"], quote_id.as_str());
    assert_eq!(view.body["transaction"]["amount_out_asset"], "iso4217:EUR");
    assert_eq!(view.body["transaction"]["amount_out"], "92");

    let again = anchor.post(ALICE, &quoted(&quote_id)).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.error(), "'quote_id': the quote was used already");
    assert_eq!(anchor.count().await, 1);
}

#[tokio::test]
async fn destination_asset_may_be_left_to_the_quote() {
    let anchor = anchor();
    let quote_id = quote(&anchor, Spec::default()).await;
    let body = with(usdc_body(), json!({"quote_id": quote_id}));
    let id = anchor.post(ALICE, &body).await.id();
    assert_eq!(
        anchor.stored(&id).await.amount_out_asset.as_deref(),
        Some("iso4217:EUR")
    );
}

#[tokio::test]
async fn a_quote_that_does_not_fit_is_refused_and_stays_unused() {
    let anchor = anchor();
    let default = || Spec::default();
    let cases: Vec<(Spec, Value, &str)> = vec![
        (
            Spec {
                owner: BOB,
                ..default()
            },
            json!({}),
            "'quote_id': no such quote",
        ),
        (
            Spec {
                expires_in: 0,
                ..default()
            },
            json!({}),
            "'quote_id': the quote has expired",
        ),
        (
            Spec {
                used_by: Some("another-transaction"),
                ..default()
            },
            json!({}),
            "'quote_id': the quote was used already",
        ),
        (
            Spec {
                context: QuoteContext::Sep6,
                ..default()
            },
            json!({}),
            "'quote_id': the quote was not made for this SEP (context sep31)",
        ),
        (
            default(),
            json!({"amount": "99"}),
            "'quote_id': 'amount' differs from the quote's sell_amount",
        ),
        (
            default(),
            json!({"destination_asset": "iso4217:USD"}),
            "'quote_id': 'destination_asset' differs from the quote's",
        ),
        (
            default(),
            json!({"funding_method": "SWIFT"}),
            "'quote_id': the quote's delivery method is not the 'funding_method'",
        ),
        (
            Spec {
                sell_asset: Asset::credit("EURC", account(100)).unwrap().sep38_id(),
                ..default()
            },
            json!({}),
            "'quote_id': the quote is not for a withdraw of stellar:USDC:",
        ),
        (
            Spec {
                buy_asset: "stellar:native",
                ..default()
            },
            json!({"destination_asset": null}),
            "'quote_id': the quote does not exchange an off-chain asset",
        ),
    ];
    for (spec, changes, message) in cases {
        let was_used = spec.used_by;
        let quote_id = quote(&anchor, spec).await;
        let body = with(quoted(&quote_id), changes.clone());
        let answer = anchor.post(ALICE, &body).await;
        assert_eq!(answer.status, 400, "{message}: {}", answer.body);
        assert!(
            answer.error().starts_with(message),
            "{message}: {}",
            answer.error()
        );
        assert_eq!(
            used_by(&anchor, &quote_id).await.as_deref(),
            was_used,
            "{message}"
        );
    }
    for unknown in ["abc", "5f0e2bd2-3c8b-4a0e-9d1f-2a8f0c7e1b11"] {
        let answer = anchor.post(ALICE, &quoted(unknown)).await;
        assert_eq!(answer.error(), "'quote_id': no such quote", "{unknown}");
    }
    assert_eq!(anchor.count().await, 0);
    assert!(anchor.posts().is_empty(), "the hook is asked last");
}

#[tokio::test]
async fn a_refused_payment_leaves_its_quote_unused() {
    let anchor = anchor();
    let quote_id = quote(&anchor, Spec::default()).await;
    anchor.script([Ok(PostAnswer::CustomerInfoNeeded {
        kyc_type: "sep31-sender".into(),
    })]);
    let answer = anchor.post(ALICE, &quoted(&quote_id)).await;
    assert_eq!(answer.body["error"], "customer_info_needed");
    assert_eq!(used_by(&anchor, &quote_id).await, None);
    assert_eq!(anchor.count().await, 0);
    // The hook saw the quoted amounts.
    let seen = &anchor.posts()[0].transaction;
    assert_eq!(seen.quote_id.as_deref(), Some(quote_id.as_str()));
    assert_eq!(seen.amount_out_asset.as_deref(), Some("iso4217:EUR"));
    let id = anchor.post(ALICE, &quoted(&quote_id)).await.id();
    assert_eq!(used_by(&anchor, &quote_id).await, Some(id));
}
