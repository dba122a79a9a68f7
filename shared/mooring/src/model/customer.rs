use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::UserKey;
use crate::time::Timestamp;

/// SEP-12 customer statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CustomerStatus {
    Accepted,
    Processing,
    NeedsInfo,
    Rejected,
}

/// Why the anchor refused the value a field holds (e.g. the bank refused the account number a
/// SEP-31 payout was sent to). The customer needs a new value for the field: the integration
/// shows it `REJECTED` (SEP-12 `provided_fields`) and asks for it again until it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldRejection {
    /// Why, in words the customer (or the sending anchor) can act on: SEP-12's `error`.
    pub reason: String,
    /// The transaction whose processing found the value bad, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

/// A customer: the SEP-9 fields received for one user (account + memo), per KYC type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub user: UserKey,
    pub version: u64,
    /// SEP-9 field name -> value (binary fields hold a file id).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Fields whose verification code is still expected, with the code (never returned).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending_verifications: BTreeMap<String, String>,
    /// KYC type -> status, for types whose status the integration decided.
    #[serde(default)]
    pub statuses: BTreeMap<String, CustomerStatus>,
    /// SEP-9 field name -> why its current value was refused (until a new value is given).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rejected_fields: BTreeMap<String, FieldRejection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Customer {
    pub fn new(user: UserKey, now: Timestamp) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            user,
            version: 0,
            fields: BTreeMap::new(),
            pending_verifications: BTreeMap::new(),
            statuses: BTreeMap::new(),
            rejected_fields: BTreeMap::new(),
            callback_url: None,
            created_at: now,
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stellar::Keypair;

    fn customer() -> Customer {
        let user = UserKey {
            account: Keypair::from_seed_bytes([3; 32]).account_id(),
            memo: Some(9),
        };
        Customer::new(user, Timestamp::from_secs(1_700_000_000))
    }

    #[test]
    fn rejected_fields_round_trip_and_are_left_out_when_empty() {
        let mut c = customer();
        let plain = serde_json::to_value(&c).expect("encodes");
        assert!(
            plain.get("rejected_fields").is_none(),
            "nothing written when empty: {plain}"
        );
        // A document written before the field existed decodes with none.
        assert_eq!(
            serde_json::from_value::<Customer>(plain)
                .expect("decodes")
                .rejected_fields,
            BTreeMap::new()
        );
        c.rejected_fields.insert(
            "bank_account_number".into(),
            FieldRejection {
                reason: "account DE89 is closed".into(),
                transaction_id: Some("t-1".into()),
            },
        );
        c.rejected_fields.insert(
            "bank_number".into(),
            FieldRejection {
                reason: "unknown bank".into(),
                transaction_id: None,
            },
        );
        let doc = serde_json::to_string(&c).expect("encodes");
        assert_eq!(serde_json::from_str::<Customer>(&doc).expect("decodes"), c);
        let value: serde_json::Value = serde_json::from_str(&doc).expect("json");
        assert_eq!(
            value["rejected_fields"]["bank_number"],
            serde_json::json!({"reason": "unknown bank"})
        );
    }
}
