//! SEP-12 customers, the reference way: kept through mooring's `CustomerStore` port, judged by
//! configurable rules.
//!
//! - Each KYC `type` requires a list of SEP-9 fields ([`KycSettings::required`]); no type means
//!   [`DEFAULT_TYPE`]. A customer is `NEEDS_INFO` (with `fields` listing what is missing) until
//!   every required field is given and verified, then `ACCEPTED`, or `PROCESSING` for
//!   [`KycSettings::processing`] after its last change when a review delay is configured.
//! - Fields in [`KycSettings::verified`] (email and phone by default) get a 6-digit code from
//!   the OS CSPRNG whenever their value changes. The code is logged at info level ("verification
//!   code for <field> of customer <id>: <code>"; replace the log line with your email/SMS sender)
//!   and never returned. Until the client sends it back (`<field>_verification`), the field is
//!   `VERIFICATION_REQUIRED`; after [`CODE_ATTEMPTS`] wrong codes a new code is issued.
//! - Values of fields whose format SEP-9 fixes are checked (`mooring::sep9::validate`).
//! - An operator marks a customer `REJECTED` for a type by storing that status in its
//!   `statuses` map.
//! - A field whose value the anchor refused later (the bank refused the account a SEP-31 payout
//!   was sent to: [`Anchor::reject_field`], kept in the customer's `rejected_fields` with the
//!   reason) is asked for again: it is listed in `fields`, shown `REJECTED` with the reason as
//!   `error` in `provided_fields`, and the customer is `NEEDS_INFO` (for every type) until a
//!   `PUT` gives the field a different value; the same value again keeps the rejection.
//! - `transaction_id` (`GET /customer` and Mooring's own `customer_status`): what a transaction
//!   needs is its type's fields plus every rejected field. A rejection is recorded with the
//!   transaction whose processing found it, but it applies to every transaction and to a query
//!   without one: a closed bank account is bad for any payout. The message says when the
//!   rejection came from the transaction asked about. The reference KYC has no per-transaction
//!   rules of its own (e.g. amount-dependent ones) and does not check that the transaction
//!   exists or concerns the customer: that would need the transaction store, which a KYC
//!   integration does not have.

use std::collections::BTreeMap;
use std::time::Duration;

use mooring::config::{ConfigError, Env, Source};
use mooring::integrations::{
    CustomerCallback, CustomerInfo, CustomerIntegration, CustomerQuery, CustomerUpdate,
    CustomerVerification, FieldSpec, FieldStatus, IntegrationError,
};
use mooring::model::{Customer, CustomerStatus, FieldRejection, UserKey};
use mooring::sep9::{self, FieldType};
use mooring::store::{CustomerStore, StoreError};
use mooring::time::Timestamp;

use crate::reference::Anchor;

/// The KYC type of requests that name none.
pub const DEFAULT_TYPE: &str = "default";
/// Wrong codes accepted before a field's code is replaced by a new one.
pub const CODE_ATTEMPTS: u32 = 5;
/// Writes tried when recording a field's rejection races other changes of the customer.
const REJECTION_ATTEMPTS: usize = 4;

/// What [`Anchor::reject_field`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// The rejection is stored with the customer.
    Recorded,
    /// The field no longer holds the value refused (the customer changed it meanwhile): nothing
    /// recorded; the new value deserves a try.
    ValueChanged,
}

/// The KYC rules, read once at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycSettings {
    /// KYC type -> the SEP-9 fields it requires.
    pub required: BTreeMap<String, Vec<String>>,
    /// Fields verified with a code sent to them.
    pub verified: Vec<String>,
    /// How long a complete customer stays `PROCESSING` after its last change (0: never).
    pub processing: Duration,
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for KycSettings {
    fn default() -> Self {
        let person = ["first_name", "last_name", "email_address"];
        let receiver = [&person[..], &["bank_account_number", "bank_number"]].concat();
        Self {
            required: BTreeMap::from([
                (DEFAULT_TYPE.to_owned(), names(&person)),
                ("sep31-sender".to_owned(), names(&person)),
                ("sep31-receiver".to_owned(), names(&receiver)),
            ]),
            verified: names(&["email_address", "mobile_number"]),
            processing: Duration::ZERO,
        }
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

impl KycSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    /// The defaults, changed by:
    /// - `KYC_REQUIRED_FIELDS`: a JSON object, KYC type -> array of SEP-9 field names; each
    ///   type listed replaces or adds to the defaults (`default`, `sep31-sender`,
    ///   `sep31-receiver`);
    /// - `KYC_VERIFIED_FIELDS`: comma-separated text fields verified with a code (default
    ///   `email_address,mobile_number`; `none` for none);
    /// - `KYC_PROCESSING_SECONDS`: the review delay (default 0).
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let mut settings = Self::default();
        if let Some(json) = src.get("KYC_REQUIRED_FIELDS") {
            let types: BTreeMap<String, Vec<String>> = serde_json::from_str(&json).map_err(|e| {
                invalid(
                    "KYC_REQUIRED_FIELDS",
                    format!("expected a JSON object of KYC type -> array of SEP-9 field names ({e})"),
                )
            })?;
            for (kyc_type, fields) in types {
                if kyc_type.trim().is_empty() {
                    return Err(invalid("KYC_REQUIRED_FIELDS", "a KYC type is empty"));
                }
                if let Some(field) = fields.iter().find(|f| sep9::lookup(f).is_none()) {
                    return Err(invalid(
                        "KYC_REQUIRED_FIELDS",
                        format!("type {kyc_type}: '{field}' is not a SEP-9 field"),
                    ));
                }
                let mut unique = Vec::new();
                for field in fields {
                    if !unique.contains(&field) {
                        unique.push(field);
                    }
                }
                settings.required.insert(kyc_type, unique);
            }
        }
        if let Some(list) = src.get("KYC_VERIFIED_FIELDS") {
            settings.verified = Vec::new();
            for field in list.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                if field == "none" {
                    continue;
                }
                match sep9::lookup(field) {
                    Some(spec) if spec.field_type != FieldType::Binary => {
                        settings.verified.push(field.to_owned())
                    }
                    _ => {
                        return Err(invalid(
                            "KYC_VERIFIED_FIELDS",
                            format!("'{field}' is not a SEP-9 text field"),
                        ))
                    }
                }
            }
        }
        if let Some(seconds) = src.get("KYC_PROCESSING_SECONDS") {
            let seconds: u64 = seconds
                .trim()
                .parse()
                .map_err(|_| invalid("KYC_PROCESSING_SECONDS", "expected whole seconds"))?;
            settings.processing = Duration::from_secs(seconds);
        }
        Ok(settings)
    }
}

/// A pending verification as stored: `<code>` or `<code>/<wrong attempts>`.
struct Pending<'a> {
    code: &'a str,
    failures: u32,
}

impl<'a> Pending<'a> {
    fn parse(stored: &'a str) -> Self {
        match stored.split_once('/') {
            Some((code, failures)) => Self {
                code,
                failures: failures.parse().unwrap_or(CODE_ATTEMPTS),
            },
            None => Self {
                code: stored,
                failures: 0,
            },
        }
    }
}

/// A uniformly random 6-digit code from the OS CSPRNG.
fn new_code() -> Result<String, IntegrationError> {
    loop {
        let mut bytes = [0u8; 4];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| IntegrationError::Internal(format!("the OS CSPRNG failed: {e}")))?;
        let n = u32::from_le_bytes(bytes);
        // 4_294_000_000 is a multiple of 10^6: below it, n % 10^6 is uniform.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

fn same_code(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn announce(customer_id: &str, field: &str, code: &str) {
    tracing::info!("verification code for {field} of customer {customer_id}: {code}");
}

impl<S: CustomerStore> Anchor<S> {
    fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.clock.now())
    }

    /// The type's name in the settings; an unknown type is refused.
    pub(super) fn type_key<'a>(
        &'a self,
        kyc_type: Option<&'a str>,
    ) -> Result<&'a str, IntegrationError> {
        let kyc_type = kyc_type.unwrap_or(DEFAULT_TYPE);
        if self.kyc.required.contains_key(kyc_type) {
            return Ok(kyc_type);
        }
        let known: Vec<&str> = self.kyc.required.keys().map(String::as_str).collect();
        Err(IntegrationError::invalid(format!(
            "unknown KYC type '{}'; known types: {}",
            kyc_type.chars().take(40).collect::<String>(),
            known.join(", ")
        )))
    }

    /// The user's customer of this id: another user's is "not found" too. A caller without a
    /// memo owns every memo of its account (SEP-12: a shared account's owner, e.g. a SEP-31
    /// sending anchor, registers each person under a memo and may then name them by id alone).
    async fn owned(&self, id: &str, user: &UserKey) -> Result<Customer, IntegrationError> {
        self.customers
            .get(id)
            .await?
            .filter(|c| c.user == *user || (user.memo.is_none() && c.user.account == user.account))
            .ok_or(IntegrationError::NotFound)
    }

    async fn find(
        &self,
        id: Option<&str>,
        user: &UserKey,
    ) -> Result<Option<Customer>, IntegrationError> {
        match id {
            Some(id) => self.owned(id, user).await.map(Some),
            None => Ok(self.customers.find_by_user(user).await?),
        }
    }

    /// Checks `codes` (field -> code) against the codes pending on `customer` and removes the
    /// matched ones. A wrong code is counted on the stored record (`stored`) and refused.
    async fn check_codes(
        &self,
        stored: Option<&Customer>,
        customer: &mut Customer,
        codes: &BTreeMap<String, String>,
    ) -> Result<(), IntegrationError> {
        for (field, code) in codes {
            let pending = customer.pending_verifications.get(field).ok_or_else(|| {
                IntegrationError::invalid(format!("{field} has no verification pending"))
            })?;
            if !same_code(Pending::parse(pending).code, code.trim()) {
                if let Some(stored) = stored {
                    self.count_failure(stored.clone(), field).await;
                }
                return Err(IntegrationError::invalid(format!(
                    "the verification code for {field} is not correct"
                )));
            }
        }
        for field in codes.keys() {
            customer.pending_verifications.remove(field);
        }
        Ok(())
    }

    /// Records a wrong code; after [`CODE_ATTEMPTS`] of them the field gets a new code.
    async fn count_failure(&self, mut customer: Customer, field: &str) {
        let Some(pending) = customer.pending_verifications.get(field) else {
            return;
        };
        let pending = Pending::parse(pending);
        let (value, issued) = if pending.failures + 1 >= CODE_ATTEMPTS {
            match new_code() {
                Ok(code) => (code.clone(), Some(code)),
                Err(e) => {
                    tracing::error!(error = %e, "issuing a verification code");
                    return;
                }
            }
        } else {
            (format!("{}/{}", pending.code, pending.failures + 1), None)
        };
        customer
            .pending_verifications
            .insert(field.to_owned(), value);
        match self.customers.update(&mut customer).await {
            Ok(()) => {
                if let Some(code) = issued {
                    announce(&customer.id, field, &code);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, customer_id = %customer.id, "counting a wrong code")
            }
        }
    }

    /// The seconds left of the customer's review delay ([`KycSettings::processing`] after its
    /// last change); `None` when it is not in review.
    pub(super) fn review_remaining(&self, customer: &Customer) -> Option<u64> {
        if self.kyc.processing.is_zero() {
            return None;
        }
        let review_ends = customer.updated_at.secs() + self.kyc.processing.as_secs() as i64;
        u64::try_from(review_ends - self.now().secs())
            .ok()
            .filter(|&left| left > 0)
    }

    fn in_review(&self, customer: &Customer) -> bool {
        self.review_remaining(customer).is_some()
    }

    /// The `GET /customer` answer for a customer (or none yet), a known type and the transaction
    /// asked about, if any (see the module documentation).
    pub(super) fn info(
        &self,
        customer: Option<&Customer>,
        type_key: &str,
        transaction_id: Option<&str>,
    ) -> CustomerInfo {
        let required = self
            .kyc
            .required
            .get(type_key)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let spec = |name: &String| FieldSpec::sep9(name).map(|spec| (name.clone(), spec));
        let Some(customer) = customer else {
            return CustomerInfo {
                id: None,
                status: CustomerStatus::NeedsInfo,
                fields: required.iter().filter_map(spec).collect(),
                provided_fields: BTreeMap::new(),
                message: Some("Provide the fields listed to register.".into()),
            };
        };
        let rejected = &customer.rejected_fields;
        // What is missing, and what was rejected (a rejection applies to every type).
        let fields: BTreeMap<String, FieldSpec> = required
            .iter()
            .filter(|name| !customer.fields.contains_key(*name))
            .chain(rejected.keys())
            .filter_map(spec)
            .collect();
        let unverified = required
            .iter()
            .any(|name| customer.pending_verifications.contains_key(name));
        let status = if customer.statuses.get(type_key) == Some(&CustomerStatus::Rejected) {
            CustomerStatus::Rejected
        } else if !fields.is_empty() || unverified {
            CustomerStatus::NeedsInfo
        } else if self.in_review(customer) {
            CustomerStatus::Processing
        } else {
            CustomerStatus::Accepted
        };
        let provided_fields = customer
            .fields
            .keys()
            .filter_map(spec)
            .map(|(name, mut spec)| {
                if let Some(rejection) = rejected.get(&name) {
                    spec.status = Some(FieldStatus::Rejected);
                    spec.error = Some(rejection.reason.clone());
                    return (name, spec);
                }
                spec.status = Some(if customer.pending_verifications.contains_key(&name) {
                    FieldStatus::VerificationRequired
                } else if status == CustomerStatus::Processing {
                    FieldStatus::Processing
                } else {
                    FieldStatus::Accepted
                });
                (name, spec)
            })
            .collect();
        let message = match status {
            CustomerStatus::NeedsInfo if !rejected.is_empty() => {
                rejection_message(customer, transaction_id, unverified)
            }
            CustomerStatus::NeedsInfo if unverified => {
                "Provide the missing fields and the verification codes sent to the fields marked VERIFICATION_REQUIRED.".to_owned()
            }
            CustomerStatus::NeedsInfo => "Provide the missing fields.".to_owned(),
            CustomerStatus::Processing => "Your information is being reviewed.".to_owned(),
            CustomerStatus::Rejected => "Your information was rejected.".to_owned(),
            CustomerStatus::Accepted => "Your information was accepted.".to_owned(),
        };
        CustomerInfo {
            id: Some(customer.id.clone()),
            status,
            fields,
            provided_fields,
            message: Some(message),
        }
    }
}

/// The `NEEDS_INFO` message of a customer with rejected fields: which ones, and why.
fn rejection_message(
    customer: &Customer,
    transaction_id: Option<&str>,
    unverified: bool,
) -> String {
    let rejected: Vec<String> = customer
        .rejected_fields
        .iter()
        .map(|(name, rejection)| {
            let found_here =
                transaction_id.is_some() && rejection.transaction_id.as_deref() == transaction_id;
            let scope = if found_here {
                " for this transaction"
            } else {
                ""
            };
            format!("{name} was rejected{scope}: {}", rejection.reason)
        })
        .collect();
    let mut message = format!(
        "{}. Provide a new value for each field marked REJECTED",
        rejected.join("; ")
    );
    message.push_str(if unverified {
        ", the missing fields and the verification codes sent to the fields marked VERIFICATION_REQUIRED."
    } else {
        " and any missing field."
    });
    message
}

impl<S: CustomerStore> Anchor<S> {
    /// Records that customer `customer_id`'s `field` was refused (e.g. by the bank paying to it),
    /// with the reason and the transaction that found it: SEP-12 then asks for the field again
    /// until a `PUT` changes it (see the module documentation). `still_refused` tells whether the
    /// field's current value is still the one refused; when it is not (the customer changed it
    /// meanwhile) nothing is recorded. The write is conditional on the customer's version and
    /// retried a few times when the customer changes concurrently (then `Unavailable`).
    pub async fn reject_field(
        &self,
        customer_id: &str,
        field: &str,
        still_refused: impl Fn(Option<&str>) -> bool,
        reason: &str,
        transaction_id: Option<&str>,
    ) -> Result<Rejected, IntegrationError> {
        let rejection = FieldRejection {
            reason: reason.to_owned(),
            transaction_id: transaction_id.map(str::to_owned),
        };
        for _ in 0..REJECTION_ATTEMPTS {
            let mut customer = self
                .customers
                .get(customer_id)
                .await?
                .ok_or(IntegrationError::NotFound)?;
            if !still_refused(customer.fields.get(field).map(String::as_str)) {
                return Ok(Rejected::ValueChanged);
            }
            if customer.rejected_fields.contains_key(field) {
                // Rejected already (by an earlier transaction): the first reason stands.
                return Ok(Rejected::Recorded);
            }
            customer
                .rejected_fields
                .insert(field.to_owned(), rejection.clone());
            // `updated_at` stays: the review delay runs from the customer's own changes.
            match self.customers.update(&mut customer).await {
                Ok(()) => {
                    tracing::info!(
                        customer_id,
                        field,
                        reason,
                        transaction_id = transaction_id.unwrap_or(""),
                        "customer field rejected: SEP-12 asks for it again"
                    );
                    return Ok(Rejected::Recorded);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(IntegrationError::Unavailable(format!(
            "customer {customer_id} kept changing while its {field} was being rejected"
        )))
    }
}

impl<S: CustomerStore> CustomerIntegration for Anchor<S> {
    async fn get(&self, query: &CustomerQuery) -> Result<CustomerInfo, IntegrationError> {
        let type_key = self.type_key(query.kyc_type.as_deref())?;
        let customer = self.find(query.id.as_deref(), &query.user).await?;
        Ok(self.info(customer.as_ref(), type_key, query.transaction_id.as_deref()))
    }

    async fn put(&self, update: &CustomerUpdate) -> Result<String, IntegrationError> {
        self.type_key(update.kyc_type.as_deref())?;
        sep9::validate(&update.fields).map_err(IntegrationError::Invalid)?;
        let stored = self.find(update.id.as_deref(), &update.user).await?;
        let now = self.now();
        let mut customer = stored
            .clone()
            .unwrap_or_else(|| Customer::new(update.user, now));
        self.check_codes(stored.as_ref(), &mut customer, &update.verifications)
            .await?;
        let mut issued = Vec::new();
        for (name, value) in &update.fields {
            if customer.fields.get(name) == Some(value) {
                continue;
            }
            customer.fields.insert(name.clone(), value.clone());
            // A new value of a rejected field deserves a new try.
            customer.rejected_fields.remove(name);
            if self.kyc.verified.contains(name) {
                let code = new_code()?;
                customer
                    .pending_verifications
                    .insert(name.clone(), code.clone());
                issued.push((name, code));
            }
        }
        match stored {
            Some(stored) if stored == customer => return Ok(customer.id),
            Some(_) => {
                customer.updated_at = now;
                self.customers.update(&mut customer).await?;
            }
            None => self.customers.insert(&customer).await?,
        }
        for (field, code) in issued {
            announce(&customer.id, field, &code);
        }
        Ok(customer.id)
    }

    async fn delete(&self, user: &UserKey) -> Result<(), IntegrationError> {
        let customer = self
            .customers
            .find_by_user(user)
            .await?
            .ok_or(IntegrationError::NotFound)?;
        if self.customers.delete(&customer.id).await? {
            Ok(())
        } else {
            Err(IntegrationError::NotFound)
        }
    }

    async fn customer_status(
        &self,
        id: &str,
        kyc_type: &str,
        transaction_id: Option<&str>,
    ) -> Result<CustomerStatus, IntegrationError> {
        let type_key = self.type_key(Some(kyc_type))?;
        let customer = self
            .customers
            .get(id)
            .await?
            .ok_or(IntegrationError::NotFound)?;
        Ok(self.info(Some(&customer), type_key, transaction_id).status)
    }

    async fn put_verification(
        &self,
        verification: &CustomerVerification,
    ) -> Result<CustomerInfo, IntegrationError> {
        let stored = self.owned(&verification.id, &verification.user).await?;
        let mut customer = stored.clone();
        self.check_codes(Some(&stored), &mut customer, &verification.codes)
            .await?;
        customer.updated_at = self.now();
        self.customers.update(&mut customer).await?;
        Ok(self.info(Some(&customer), DEFAULT_TYPE, None))
    }

    async fn callback(&self, callback: &CustomerCallback) -> Result<(), IntegrationError> {
        let mut customer = self
            .find(callback.id.as_deref(), &callback.user)
            .await?
            .ok_or(IntegrationError::NotFound)?;
        customer.callback_url = Some(callback.url.clone());
        // `updated_at` stays: the review delay runs from the last change of KYC data.
        self.customers.update(&mut customer).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
