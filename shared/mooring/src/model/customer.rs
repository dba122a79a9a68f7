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
            callback_url: None,
            created_at: now,
            updated_at: now,
        }
    }
}
