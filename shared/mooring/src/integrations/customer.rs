//! SEP-12 customers: the KYC integration and the types of its requests and answers.

use std::collections::BTreeMap;
use std::future::Future;

use serde::Serialize;

use super::IntegrationError;
use crate::model::{CustomerStatus, UserKey};
use crate::sep9::{self, FieldType};

/// The status of one field in `provided_fields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FieldStatus {
    Accepted,
    Processing,
    Rejected,
    /// E.g. a code was sent to `mobile_number`; the client must send it back.
    VerificationRequired,
}

/// A field spec of `fields` and `provided_fields` in a `GET /customer` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// `provided_fields` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<FieldStatus>,
    /// `provided_fields` only: why the field was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FieldSpec {
    /// The spec SEP-9 gives a field (type, description, choices); `None` for a non-SEP-9 name.
    pub fn sep9(name: &str) -> Option<Self> {
        sep9::lookup(name).map(|field| Self {
            field_type: field.field_type,
            description: field.description.to_owned(),
            choices: field.choices.iter().map(|c| (*c).to_owned()).collect(),
            optional: false,
            status: None,
            error: None,
        })
    }
}

/// The `GET /customer` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerInfo {
    /// Present once the customer exists.
    pub id: Option<String>,
    pub status: CustomerStatus,
    /// What is still needed (SEP-9 name -> spec); always sent for `NEEDS_INFO`.
    pub fields: BTreeMap<String, FieldSpec>,
    /// What was received, with each field's status.
    pub provided_fields: BTreeMap<String, FieldSpec>,
    /// Human-readable state; required for `REJECTED`.
    pub message: Option<String>,
}

impl Serialize for CustomerInfo {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if let Some(id) = &self.id {
            map.serialize_entry("id", id)?;
        }
        map.serialize_entry("status", &self.status)?;
        if !self.fields.is_empty() || self.status == CustomerStatus::NeedsInfo {
            map.serialize_entry("fields", &self.fields)?;
        }
        if !self.provided_fields.is_empty() {
            map.serialize_entry("provided_fields", &self.provided_fields)?;
        }
        if let Some(message) = &self.message {
            map.serialize_entry("message", message)?;
        }
        map.end()
    }
}

/// `GET /customer`: which customer, for which KYC type. `user` is the authenticated user with
/// SEP-12's identity rules applied (account and memo checked against the JWT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerQuery {
    pub user: UserKey,
    pub id: Option<String>,
    /// `type`, e.g. `sep31-receiver`; `None` for the anchor's default.
    pub kyc_type: Option<String>,
    pub transaction_id: Option<String>,
    /// ISO 639-1, default `en`.
    pub lang: String,
}

/// `PUT /customer`: create or update the user's customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerUpdate {
    pub user: UserKey,
    pub id: Option<String>,
    pub kyc_type: Option<String>,
    pub transaction_id: Option<String>,
    /// SEP-9 name -> value. Only SEP-9 names reach here; a binary field's value is the id of
    /// the file Mooring stored (see `mooring::store::files`).
    pub fields: BTreeMap<String, String>,
    /// `<field>_verification` codes, by field name.
    pub verifications: BTreeMap<String, String>,
}

/// `PUT /customer/verification`: codes for fields of an existing customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerVerification {
    pub user: UserKey,
    pub id: String,
    /// Field name -> code (from `<field>_verification`).
    pub codes: BTreeMap<String, String>,
}

/// `PUT /customer/callback`: where to POST the customer's status changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCallback {
    pub user: UserKey,
    pub id: Option<String>,
    /// An absolute http(s) URL (checked by Mooring).
    pub url: String,
}

/// SEP-12 customers: where the anchor keeps and judges KYC information (Polaris's
/// `CustomerIntegration`). Mooring has authenticated the user, applied SEP-12's identity rules
/// and checked that every field name is a SEP-9 name before calling.
///
/// Contract for every method taking a `user`: a customer `id` that does not exist OR belongs to
/// another user is [`IntegrationError::NotFound`] (wallets must not learn which ids exist), and
/// customers of one account with different memos are different customers.
pub trait CustomerIntegration: Send + Sync {
    /// The customer's status and the fields still needed for `kyc_type`. With no `id` and no
    /// customer for the user yet: `NEEDS_INFO` with the fields needed to register, and no id.
    /// An unknown `kyc_type` is `Invalid`.
    fn get(
        &self,
        query: &CustomerQuery,
    ) -> impl Future<Output = Result<CustomerInfo, IntegrationError>> + Send;

    /// Creates or updates the customer and returns its id (the same id when one was sent).
    /// Invalid values or verification codes are `Invalid`, and then nothing is stored.
    fn put(
        &self,
        update: &CustomerUpdate,
    ) -> impl Future<Output = Result<String, IntegrationError>> + Send;

    /// Erases everything stored about the user's customer; `NotFound` when there is none.
    fn delete(&self, user: &UserKey) -> impl Future<Output = Result<(), IntegrationError>> + Send;

    /// The status of customer `id` for a KYC type, asked by Mooring itself (no wallet involved),
    /// e.g. to decide whether a SEP-31 transaction may proceed. `NotFound` when there is none.
    fn customer_status(
        &self,
        id: &str,
        kyc_type: &str,
        transaction_id: Option<&str>,
    ) -> impl Future<Output = Result<CustomerStatus, IntegrationError>> + Send;

    /// Checks verification codes and answers as [`get`](Self::get) would.
    fn put_verification(
        &self,
        verification: &CustomerVerification,
    ) -> impl Future<Output = Result<CustomerInfo, IntegrationError>> + Send {
        let _ = verification;
        async { Err(IntegrationError::invalid("verification is not supported")) }
    }

    /// Records the callback URL of the user's customer (replacing any earlier one).
    fn callback(
        &self,
        callback: &CustomerCallback,
    ) -> impl Future<Output = Result<(), IntegrationError>> + Send {
        let _ = callback;
        async { Err(IntegrationError::invalid("callbacks are not supported")) }
    }

    /// A page where the user can see their status with the anchor (SEP-6's `more_info_url`).
    fn more_info_url(
        &self,
        user: &UserKey,
    ) -> impl Future<Output = Result<Option<String>, IntegrationError>> + Send {
        let _ = user;
        async { Ok(None) }
    }
}
