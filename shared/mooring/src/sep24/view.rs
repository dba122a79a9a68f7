//! The SEP-24 transaction object (digest 5.9), as `GET /transaction(s)`, the more-info page and
//! wallet callbacks show it. Fields a SEP lists without "optional" but that are only known later
//! (`amount_in`, `fee_details`, `stellar_transaction_id`, `from`/`to`, `withdraw_*`) are sent as
//! `null` until known; truly optional ones are left out.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::model::{Kind, Transaction};

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

/// `{"transaction": {...}}`, the body of `GET /transaction` and of wallet callbacks.
pub struct TransactionEnvelope<'a>(pub TransactionView<'a>);

impl Serialize for TransactionEnvelope<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("transaction", &self.0)?;
        map.end()
    }
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
        map.serialize_entry("amount_in", &t.amount_in)?;
        if let Some(asset) = &t.amount_in_asset {
            map.serialize_entry("amount_in_asset", asset)?;
        }
        map.serialize_entry("amount_out", &t.amount_out)?;
        if let Some(asset) = &t.amount_out_asset {
            map.serialize_entry("amount_out_asset", asset)?;
        }
        // Deprecated in favour of fee_details, still read by many wallets.
        map.serialize_entry("amount_fee", &t.fee_details.as_ref().map(|f| f.total))?;
        if let Some(fee) = &t.fee_details {
            map.serialize_entry("amount_fee_asset", &fee.asset)?;
        }
        map.serialize_entry("fee_details", &t.fee_details)?;
        if let Some(quote) = &t.quote_id {
            map.serialize_entry("quote_id", quote)?;
        }
        map.serialize_entry("started_at", &t.started_at)?;
        map.serialize_entry("updated_at", &t.updated_at)?;
        if let Some(completed) = &t.completed_at {
            map.serialize_entry("completed_at", completed)?;
        }
        if let Some(deadline) = &t.user_action_required_by {
            map.serialize_entry("user_action_required_by", deadline)?;
        }
        map.serialize_entry("stellar_transaction_id", &t.stellar_transaction_id)?;
        if let Some(external) = &t.external_transaction_id {
            map.serialize_entry("external_transaction_id", external)?;
        }
        if let Some(message) = &t.status_message {
            map.serialize_entry("message", message)?;
        }
        if let Some(refunds) = &t.refunds {
            map.serialize_entry("refunds", refunds)?;
        }
        map.serialize_entry("from", &t.from)?;
        map.serialize_entry("to", &t.to)?;
        if t.kind.is_deposit() {
            if let Some(memo) = &t.deposit_memo {
                map.serialize_entry("deposit_memo", memo)?;
            }
            if let Some(memo_type) = &t.deposit_memo_type {
                map.serialize_entry("deposit_memo_type", memo_type)?;
            }
            if let Some(balance) = &t.claimable_balance_id {
                map.serialize_entry("claimable_balance_id", balance)?;
            }
        } else {
            map.serialize_entry("withdraw_anchor_account", &t.receiving_account)?;
            map.serialize_entry("withdraw_memo", &t.receiving_memo)?;
            map.serialize_entry("withdraw_memo_type", &t.receiving_memo_type)?;
        }
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
        serde_json::to_value(TransactionEnvelope(TransactionView::new(
            t,
            "https://anchor.example",
        )))
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
}
