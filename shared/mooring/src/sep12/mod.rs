//! SEP-12 KYC API: customers are kept and judged by the anchor's [`CustomerIntegration`];
//! Mooring authenticates, applies SEP-12's identity rules, checks field names against SEP-9,
//! stores uploaded files, and moves SEP-31 transactions on once their customers are complete.
//!
//! [`Kyc`] is the domain service; [`routes`] is its HTTP glue.

mod identity;
pub mod routes;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use identity::{resolve_user, subject, ACCOUNT_MISMATCH, MEMO_MISMATCH};

use crate::auth::Authenticator;
use crate::clock::Clock;
use crate::config::AssetConfig;
use crate::error::ApiError;
use crate::http::body::MAX_TEXT_BYTES;
use crate::http::multipart::Upload;
use crate::integrations::{
    CustomerCallback, CustomerInfo, CustomerIntegration, CustomerQuery, CustomerUpdate,
    CustomerVerification, IntegrationError, ProgrammaticIntegration,
};
use crate::lifecycle::expiry::ExpiryConfig;
use crate::model::UserKey;
use crate::queue::Queue;
use crate::sep10::WebAuthUser;
use crate::sep9;
use crate::store::files::{FileStore, StoredFile};
use crate::store::{StoreError, TransactionStore};
use crate::time::Timestamp;
use crate::transfer::kyc_loop::KycLoop;
use crate::transfer::receive_release::ReceiveRelease;

/// The KYC types SEP-31 uses for a transaction's sender and receiver.
pub use crate::integrations::{
    RECEIVER_TYPE as SEP31_RECEIVER_TYPE, SENDER_TYPE as SEP31_SENDER_TYPE,
};

/// Parameters that are not SEP-9 fields.
const RESERVED: [&str; 7] = [
    "id",
    "account",
    "memo",
    "memo_type",
    "type",
    "transaction_id",
    "lang",
];

/// The SEP-12 service, built once per cold start.
pub struct Kyc<I, T, F, Q> {
    integration: I,
    auth: Authenticator,
    transactions: Arc<T>,
    files: Arc<F>,
    /// Where SEP-31 transactions go once their customers are complete.
    outgoing: Arc<Q>,
    clock: Arc<dyn Clock>,
    /// The SEP-6 assets: their transactions waiting for the customer move on when it changes.
    transfer_assets: Vec<AssetConfig>,
    /// The deadlines of the statuses they move to.
    expiry: ExpiryConfig,
}

impl<I, T, F, Q> Kyc<I, T, F, Q>
where
    I: CustomerIntegration + ProgrammaticIntegration,
    T: TransactionStore,
    F: FileStore,
    Q: Queue,
{
    pub fn new(
        integration: I,
        auth: Authenticator,
        transactions: Arc<T>,
        files: Arc<F>,
        outgoing: Arc<Q>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            integration,
            auth,
            transactions,
            files,
            outgoing,
            clock,
            transfer_assets: Vec::new(),
            expiry: ExpiryConfig::default(),
        }
    }

    /// The service moving the user's SEP-6 transactions that wait for their customer
    /// (`pending_customer_info_update`) on once a PUT completes it (the anchor's assets).
    pub fn with_transfer_assets(mut self, assets: Vec<AssetConfig>) -> Self {
        self.transfer_assets = assets;
        self
    }

    /// How long the transactions it moves may wait on their users (the anchor's
    /// [`ExpiryConfig`]; default: the defaults).
    pub fn with_expiry(mut self, expiry: ExpiryConfig) -> Self {
        self.expiry = expiry;
        self
    }

    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_secs(self.clock.now())
    }

    /// `GET /customer`.
    pub async fn get(
        &self,
        auth: &WebAuthUser,
        params: &BTreeMap<String, String>,
    ) -> Result<CustomerInfo, ApiError> {
        let user = requested_user(auth, params)?;
        let query = CustomerQuery {
            user,
            id: param(params, "id"),
            kyc_type: param(params, "type"),
            transaction_id: transaction_id(params)?,
            lang: param(params, "lang").unwrap_or_else(|| "en".into()),
        };
        Ok(self.integration.get(&query).await?)
    }

    /// `PUT /customer`: checks every field name and size, stores uploaded files, then hands the
    /// fields to the integration; returns the customer id. Nothing is stored when the request
    /// is refused.
    pub async fn put(
        &self,
        auth: &WebAuthUser,
        params: &BTreeMap<String, String>,
        uploads: Vec<Upload>,
    ) -> Result<String, ApiError> {
        let user = requested_user(auth, params)?;
        let mut update = CustomerUpdate {
            user,
            id: param(params, "id"),
            kyc_type: param(params, "type"),
            transaction_id: transaction_id(params)?,
            fields: BTreeMap::new(),
            verifications: BTreeMap::new(),
        };
        let referenced = sort_params(params, &mut update)?;
        let owner = subject(auth);
        for (field, file_id) in &referenced {
            let file = self.files.get(file_id).await.map_err(store_error)?;
            if !file.is_some_and(|f| f.user == owner) {
                return Err(ApiError::bad_request(format!(
                    "{field}_file_id does not name a file you uploaded"
                )));
            }
        }
        for upload in &uploads {
            if !sep9::is_binary(&upload.field) {
                return Err(ApiError::bad_request(format!(
                    "{} is not a binary SEP-9 field",
                    upload.field
                )));
            }
            if referenced.iter().any(|(field, _)| *field == upload.field) {
                return Err(ApiError::bad_request(format!(
                    "{0} was given twice (as a file and as {0}_file_id)",
                    upload.field
                )));
            }
        }

        // Everything is checked: store the files, then the customer.
        let mut stored = Vec::new();
        for upload in &uploads {
            let file = StoredFile::new(owner, &upload.content_type, upload.bytes.len(), self.now());
            if let Err(e) = self.files.put(&file, &upload.bytes).await {
                self.discard(&stored).await;
                return Err(store_error(e));
            }
            update.fields.insert(upload.field.clone(), file.id.clone());
            stored.push(file.id);
        }
        for (field, file_id) in &referenced {
            update.fields.insert(field.clone(), file_id.clone());
        }
        let id = match self.integration.put(&update).await {
            Ok(id) => id,
            Err(e) => {
                self.discard(&stored).await;
                return Err(e.into());
            }
        };
        for file_id in stored.iter().chain(referenced.iter().map(|(_, f)| f)) {
            if let Err(e) = self.files.attach(file_id, &id).await {
                tracing::warn!(error = %e, file_id, customer_id = %id, "attaching a file");
            }
        }
        self.release_transactions(&id).await;
        self.advance_transfers(&update.user).await;
        Ok(id)
    }

    /// Erases files stored for a request that was then refused.
    async fn discard(&self, file_ids: &[String]) {
        for file_id in file_ids {
            if let Err(e) = self.files.delete(file_id).await {
                tracing::warn!(error = %e, file_id, "discarding an uploaded file");
            }
        }
    }

    /// `PUT /customer/verification`.
    pub async fn verify(
        &self,
        auth: &WebAuthUser,
        params: &BTreeMap<String, String>,
    ) -> Result<CustomerInfo, ApiError> {
        let user = requested_user(auth, params)?;
        let id = param(params, "id").ok_or_else(|| ApiError::bad_request("'id' is required"))?;
        let mut codes = BTreeMap::new();
        for (name, value) in params {
            if RESERVED.contains(&name.as_str()) {
                continue;
            }
            let field = sep9_prefix(name, "_verification").ok_or_else(|| {
                ApiError::bad_request(format!(
                    "'{}' is not a <SEP-9 field>_verification parameter",
                    name.chars().take(64).collect::<String>()
                ))
            })?;
            codes.insert(field.to_owned(), value.clone());
        }
        if codes.is_empty() {
            return Err(ApiError::bad_request(
                "send at least one <field>_verification code",
            ));
        }
        let verification = CustomerVerification { user, id, codes };
        let info = self.integration.put_verification(&verification).await?;
        self.release_transactions(&verification.id).await;
        self.advance_transfers(&verification.user).await;
        Ok(info)
    }

    /// `DELETE /customer/{account}`: the customer and its files.
    pub async fn delete(
        &self,
        auth: &WebAuthUser,
        account: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        let user = resolve_user(
            auth,
            Some(account),
            params.get("memo").map(String::as_str),
            params.get("memo_type").map(String::as_str),
        )?;
        // Which customer is erased (an id naming another user's customer is a 404).
        let query = CustomerQuery {
            user,
            id: param(params, "id"),
            kyc_type: None,
            transaction_id: None,
            lang: "en".into(),
        };
        let customer_id = match self.integration.get(&query).await {
            Ok(info) => info.id,
            Err(IntegrationError::NotFound) => return Err(IntegrationError::NotFound.into()),
            // The type or anything else the integration objects to does not matter here.
            Err(IntegrationError::Invalid(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let deleted = match self.integration.delete(&user).await {
            Ok(()) => true,
            Err(IntegrationError::NotFound) => false,
            Err(e) => return Err(e.into()),
        };
        let mut files = 0;
        if let Some(customer_id) = &customer_id {
            for file in self
                .files
                .list_for_customer(customer_id)
                .await
                .map_err(store_error)?
            {
                files += usize::from(self.files.delete(&file.id).await.map_err(store_error)?);
            }
        }
        if user == subject(auth) {
            // Uploads this user never referenced.
            files += self
                .files
                .delete_for_user(&user)
                .await
                .map_err(store_error)?;
        }
        if !deleted && files == 0 {
            return Err(IntegrationError::NotFound.into());
        }
        Ok(())
    }

    /// `PUT /customer/callback`.
    pub async fn callback(
        &self,
        auth: &WebAuthUser,
        params: &BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        let user = requested_user(auth, params)?;
        let url = params
            .get("url")
            .ok_or_else(|| ApiError::bad_request("'url' is required"))?;
        let parsed = url::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
            .filter(|_| url.len() <= crate::limits::MAX_URL_BYTES)
            .ok_or_else(|| ApiError::bad_request("'url' must be an absolute http(s) URL"))?;
        let callback = CustomerCallback {
            user,
            id: param(params, "id"),
            url: parsed.to_string(),
        };
        Ok(self.integration.callback(&callback).await?)
    }

    /// `POST /customer/files`: stores one file for the authenticated user.
    pub async fn upload(
        &self,
        auth: &WebAuthUser,
        upload: &Upload,
    ) -> Result<StoredFile, ApiError> {
        let file = StoredFile::new(
            subject(auth),
            &upload.content_type,
            upload.bytes.len(),
            self.now(),
        );
        self.files
            .put(&file, &upload.bytes)
            .await
            .map_err(store_error)?;
        Ok(file)
    }

    /// `GET /customer/files`: by `file_id` or `customer_id`; only what the user may see.
    pub async fn files(
        &self,
        auth: &WebAuthUser,
        params: &BTreeMap<String, String>,
    ) -> Result<Vec<StoredFile>, ApiError> {
        match (param(params, "file_id"), param(params, "customer_id")) {
            (Some(file_id), None) => {
                let file = self.files.get(&file_id).await.map_err(store_error)?;
                Ok(file
                    .filter(|f| f.user == subject(auth))
                    .into_iter()
                    .collect())
            }
            (None, Some(customer_id)) => {
                let user = requested_user(auth, params)?;
                let query = CustomerQuery {
                    user,
                    id: Some(customer_id.clone()),
                    kyc_type: None,
                    transaction_id: None,
                    lang: "en".into(),
                };
                match self.integration.get(&query).await {
                    Ok(_) | Err(IntegrationError::Invalid(_)) => {}
                    Err(IntegrationError::NotFound) => return Ok(Vec::new()),
                    Err(e) => return Err(e.into()),
                }
                self.files
                    .list_for_customer(&customer_id)
                    .await
                    .map_err(store_error)
            }
            _ => Err(ApiError::bad_request(
                "send exactly one of 'file_id' and 'customer_id'",
            )),
        }
    }

    /// The SEP-6 KYC loop ([`KycLoop::advance_user`]): the user's transactions waiting for
    /// their customer move on if the anchor's hook now says they can (each one conditional
    /// write; failures are logged and retried when the wallet reads the transaction).
    async fn advance_transfers(&self, user: &UserKey) {
        if self.transfer_assets.is_empty() {
            return;
        }
        let kyc_loop = KycLoop {
            integration: &self.integration,
            store: &*self.transactions,
            assets: &self.transfer_assets,
            expiry: &self.expiry,
            now: self.now(),
        };
        kyc_loop.advance_user(user).await;
    }

    /// SEP-31 transactions waiting for this customer's information
    /// (`pending_customer_info_update`) move to `pending_receiver` once all their customers are
    /// ACCEPTED ([`ReceiveRelease`]).
    async fn release_transactions(&self, customer_id: &str) {
        let release = ReceiveRelease {
            integration: &self.integration,
            store: &*self.transactions,
            outgoing: &*self.outgoing,
            now: self.now(),
        };
        if let Err(e) = release.release_customer(customer_id).await {
            tracing::warn!(error = %e, customer_id, "listing transactions waiting for KYC");
        }
    }
}

/// The user a request names with its `account`, `memo` and `memo_type` parameters.
fn requested_user(
    auth: &WebAuthUser,
    params: &BTreeMap<String, String>,
) -> Result<UserKey, ApiError> {
    let get = |name: &str| params.get(name).map(String::as_str);
    resolve_user(auth, get("account"), get("memo"), get("memo_type"))
}

/// Sorts `PUT /customer` parameters into `update` (SEP-9 text fields, verification codes) and
/// returns the `<field>_file_id` references; anything else is refused.
fn sort_params(
    params: &BTreeMap<String, String>,
    update: &mut CustomerUpdate,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut referenced = Vec::new();
    for (name, value) in params {
        if RESERVED.contains(&name.as_str()) {
            continue;
        }
        if let Some(field) = sep9_prefix(name, "_verification") {
            update.verifications.insert(field.to_owned(), value.clone());
        } else if let Some(field) = sep9_prefix(name, "_file_id") {
            if !sep9::is_binary(field) {
                return Err(ApiError::bad_request(format!(
                    "{field} is not a binary field: send its value, not a file"
                )));
            }
            referenced.push((field.to_owned(), value.clone()));
        } else if sep9::lookup(name).is_some() {
            if sep9::is_binary(name) {
                return Err(ApiError::bad_request(format!(
                    "{name} is binary: upload it in a multipart/form-data body or with \
                     POST /customer/files and send {name}_file_id"
                )));
            }
            if value.len() > MAX_TEXT_BYTES {
                return Err(ApiError::bad_request(format!(
                    "{name} is longer than {MAX_TEXT_BYTES} bytes"
                )));
            }
            update.fields.insert(name.clone(), value.clone());
        } else {
            return Err(ApiError::bad_request(format!(
                "'{}' is not a SEP-9 field",
                name.chars().take(64).collect::<String>()
            )));
        }
    }
    Ok(referenced)
}

fn param(params: &BTreeMap<String, String>, name: &str) -> Option<String> {
    params.get(name).cloned()
}

fn transaction_id(params: &BTreeMap<String, String>) -> Result<Option<String>, ApiError> {
    let id = param(params, "transaction_id");
    if id.is_some() && !params.contains_key("type") {
        return Err(ApiError::bad_request(
            "'type' is required with 'transaction_id'",
        ));
    }
    Ok(id)
}

/// `<field><suffix>` where `<field>` is a SEP-9 name: the field.
fn sep9_prefix<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    name.strip_suffix(suffix)
        .filter(|field| sep9::lookup(field).is_some())
}

fn store_error(error: StoreError) -> ApiError {
    IntegrationError::from(error).into()
}

#[cfg(test)]
mod tests;
