//! The SEP-24 transaction object (digest 5.9), as `GET /transaction(s)`, the more-info page and
//! wallet callbacks show it. Fields a SEP lists without "optional" but that are only known later
//! (`amount_in`, `fee_details`, `stellar_transaction_id`, `from`/`to`, `withdraw_*`) are sent as
//! `null` until known; truly optional ones are left out.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::model::{Kind, Transaction};
use crate::transfer::view::common_fields;
pub use crate::transfer::view::Envelope;

/// The `more_info_url` of a transaction: the public page of the `sep24-interactive` function.
pub fn more_info_url(public_url: &str, transaction_id: &str) -> String {
    format!("{public_url}/sep24/more-info?id={transaction_id}")
}

/// A transaction rendered as SEP-24's transaction object.
pub struct TransactionView<'a> {
    pub transaction: &'a Transaction,
    /// The anchor's public base URL (for `more_info_url`).
    pub public_url: &'a str,
}

impl<'a> TransactionView<'a> {
    pub fn new(transaction: &'a Transaction, public_url: &'a str) -> Self {
        Self {
            transaction,
            public_url,
        }
    }
}

/// The body of a status callback: the `GET` body of the transaction, `{"transaction": ...}`
/// (`status_callbacks::Bodies`; `public_url` is the anchor's, for links).
pub fn callback_body(
    transaction: &Transaction,
    public_url: &str,
) -> Result<String, serde_json::Error> {
    serde_json::to_string(&Envelope(TransactionView::new(transaction, public_url)))
}

impl Serialize for TransactionView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let t = self.transaction;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &t.id)?;
        // SEP-24 knows two kinds; the exchange variants are SEP-6 only.
        let kind = if t.kind.is_deposit() {
            Kind::Deposit
        } else {
            Kind::Withdrawal
        };
        map.serialize_entry("kind", kind.as_str())?;
        map.serialize_entry("status", t.status.as_str())?;
        if let Some(eta) = t.status_eta {
            map.serialize_entry("status_eta", &eta)?;
        }
        if let Some(verified) = t.kyc_verified {
            map.serialize_entry("kyc_verified", &verified)?;
        }
        map.serialize_entry("more_info_url", &more_info_url(self.public_url, &t.id))?;
        common_fields(&mut map, t, "breakdown")?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::model::{FeeDetails, Protocol, TransactionStatus, UserKey};
    use crate::stellar::{AccountId, Asset};
    use crate::time::Timestamp;

    const G: &str = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ";

    fn transaction(kind: Kind) -> Transaction {
        let account: AccountId = G.parse().expect("account");
        let user = UserKey {
            account,
            memo: None,
        };
        let asset = Asset::credit("USDC", account).expect("asset");
        let mut t = Transaction::new(
            Protocol::Sep24,
            kind,
            TransactionStatus::Incomplete,
            user,
            asset,
            Timestamp::from_secs(1_700_000_000),
        );
        t.id = "tx-1".into();
        t
    }

    fn render(t: &Transaction) -> Value {
        serde_json::to_value(Envelope(TransactionView::new(t, "https://anchor.example")))
            .expect("json")
    }

    #[test]
    fn a_new_deposit_has_every_required_key_with_null_for_the_unknown() {
        let mut t = transaction(Kind::Deposit);
        t.to = Some(G.into());
        let body = render(&t);
        assert_eq!(
            body,
            json!({"transaction": {
                "id": "tx-1",
                "kind": "deposit",
                "status": "incomplete",
                "more_info_url": "https://anchor.example/sep24/more-info?id=tx-1",
                "amount_in": null,
                "amount_out": null,
                "amount_fee": null,
                "fee_details": null,
                "started_at": "2023-11-14T22:13:20.000Z",
                "updated_at": "2023-11-14T22:13:20.000Z",
                "stellar_transaction_id": null,
                "from": null,
                "to": G,
            }})
        );
    }

    #[test]
    fn a_withdrawal_shows_where_and_with_which_memo_to_pay() {
        let mut t = transaction(Kind::Withdrawal);
        t.status = TransactionStatus::PendingUserTransferStart;
        t.from = Some(G.into());
        t.receiving_account = Some(G.parse().expect("account"));
        t.receiving_memo = Some("AAAA".into());
        t.receiving_memo_type = Some("hash".into());
        t.amount_in = Some("100".parse().expect("amount"));
        t.amount_out = Some("98.5".parse().expect("amount"));
        t.amount_in_asset = Some(t.asset.sep38_id());
        t.amount_out_asset = Some(t.asset.sep38_id());
        t.fee_details = Some(FeeDetails {
            total: "1.5".parse().expect("amount"),
            asset: t.asset.sep38_id(),
            breakdown: Vec::new(),
        });
        let body = render(&t);
        let tx = &body["transaction"];
        assert_eq!(tx["kind"], "withdrawal");
        assert_eq!(tx["withdraw_anchor_account"], G);
        assert_eq!(tx["withdraw_memo"], "AAAA");
        assert_eq!(tx["withdraw_memo_type"], "hash");
        assert_eq!(tx["amount_in"], "100");
        assert_eq!(tx["amount_fee"], "1.5");
        assert_eq!(tx["amount_out"], "98.5");
        assert_eq!(
            tx["fee_details"],
            json!({"total": "1.5", "asset": t.asset.sep38_id()})
        );
        assert_eq!(tx["amount_fee_asset"], t.asset.sep38_id());
        assert!(tx.get("deposit_memo").is_none());
    }

    #[test]
    fn the_whole_payout_account_is_never_shown_only_the_masked_to() {
        let mut t = transaction(Kind::Withdrawal);
        t.to = Some("****3000".into());
        t.payout_account = Some("DE89370400440532013000".into());
        let body = render(&t);
        assert_eq!(body["transaction"]["to"], "****3000");
        assert!(
            !body.to_string().contains("0532013000"),
            "the account leaks: {body}"
        );
    }

    #[test]
    fn a_refunded_withdrawal_shows_its_refunds_and_fee_breakdown_but_not_the_refund_under_way() {
        use crate::model::{FeeItem, PendingRefund, RefundPayment, Refunds};
        let amount = |s: &str| s.parse().expect("amount");
        let mut t = transaction(Kind::Withdrawal);
        t.status = TransactionStatus::Refunded;
        t.amount_in = Some(amount("15"));
        t.completed_at = Some(Timestamp::from_secs(1_700_000_600));
        t.fee_details = Some(FeeDetails {
            total: amount("1.5"),
            asset: t.asset.sep38_id(),
            breakdown: vec![FeeItem {
                name: "Service fee".into(),
                description: Some("fixed".into()),
                amount: amount("1.5"),
            }],
        });
        t.refunds = Some(Refunds {
            amount_refunded: amount("15"),
            amount_fee: amount("0"),
            payments: vec![
                RefundPayment {
                    id: "ab".repeat(32),
                    id_type: "stellar".into(),
                    amount: amount("5"),
                    fee: amount("0"),
                },
                RefundPayment {
                    id: "cd".repeat(32),
                    id_type: "stellar".into(),
                    amount: amount("10"),
                    fee: amount("0"),
                },
            ],
        });
        let body = render(&t);
        let tx = &body["transaction"];
        assert_eq!(tx["status"], "refunded");
        assert_eq!(tx["completed_at"], "2023-11-14T22:23:20.000Z");
        assert_eq!(
            tx["refunds"],
            json!({"amount_refunded": "15", "amount_fee": "0", "payments": [
                {"id": "ab".repeat(32), "id_type": "stellar", "amount": "5", "fee": "0"},
                {"id": "cd".repeat(32), "id_type": "stellar", "amount": "10", "fee": "0"}
            ]})
        );
        assert_eq!(
            tx["fee_details"]["breakdown"],
            json!([{"name": "Service fee", "description": "fixed", "amount": "1.5"}])
        );

        // While a refund is under way, only its status and message show.
        t.status = TransactionStatus::PendingStellar;
        t.status_message = Some("The payment is being refunded.".into());
        t.pending_refund = Some(PendingRefund {
            amount: amount("15"),
            stellar: None,
            full: true,
            from: TransactionStatus::OnHold,
            requested_by: "operator:alice".into(),
            requested_at: Timestamp::from_secs(1_700_000_500),
            reason: "compliance review REF-77".into(),
            started_at: None,
        });
        let body = render(&t);
        assert_eq!(body["transaction"]["status"], "pending_stellar");
        assert_eq!(
            body["transaction"]["message"],
            "The payment is being refunded."
        );
        let text = body.to_string();
        assert!(
            !text.contains("operator:alice") && !text.contains("REF-77"),
            "{text}"
        );
    }
}
