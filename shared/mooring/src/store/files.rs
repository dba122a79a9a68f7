//! Files a customer uploads (SEP-12 binary SEP-9 fields, `POST /customer/files`): the port, its
//! in-memory adapter, and the conformance checks every adapter must pass.
//!
//! A file belongs to the user (account + memo) who uploaded it; once a customer references it
//! (`photo_id_front_file_id`, or a binary field sent in a multipart `PUT /customer`) it is
//! attached to that customer and no longer expires.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use super::StoreError;
use crate::clock::{Clock, SystemClock};
use crate::model::UserKey;
use crate::time::Timestamp;

/// How long an uploaded file that no customer references is kept.
pub const UNATTACHED_FILE_TTL_SECONDS: u64 = 24 * 3600;

/// A stored file's metadata; the bytes are read with [`FileStore::content`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredFile {
    #[serde(rename = "file_id")]
    pub id: String,
    /// Who uploaded it: only this user sees it.
    #[serde(skip)]
    pub user: UserKey,
    pub customer_id: Option<String>,
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    #[serde(skip)]
    pub created_at: Timestamp,
    /// When the file is discarded if no customer references it (none once one does).
    pub expires_at: Option<Timestamp>,
}

impl StoredFile {
    /// A new, unattached file of `size` bytes with a fresh id.
    pub fn new(user: UserKey, content_type: &str, size: usize, now: Timestamp) -> Self {
        let ttl_millis = UNATTACHED_FILE_TTL_SECONDS as i64 * 1000;
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            user,
            customer_id: None,
            content_type: content_type.to_owned(),
            size: size as u64,
            created_at: now,
            expires_at: Some(Timestamp::from_millis(now.millis() + ttl_millis)),
        }
    }

    fn expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

pub trait FileStore: Send + Sync {
    /// Stores a new file and its bytes; `Conflict` if its id exists.
    fn put(
        &self,
        file: &StoredFile,
        content: &[u8],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A file's metadata (`None` when missing or expired).
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<StoredFile>, StoreError>> + Send;

    /// A file's bytes (`None` when missing or expired).
    fn content(&self, id: &str)
        -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// The files attached to a customer, oldest first.
    fn list_for_customer(
        &self,
        customer_id: &str,
    ) -> impl Future<Output = Result<Vec<StoredFile>, StoreError>> + Send;

    /// Attaches a file to a customer (it no longer expires) and returns it; `Conflict` when the
    /// file is gone or attached to another customer. Attaching twice to one customer is fine.
    fn attach(
        &self,
        id: &str,
        customer_id: &str,
    ) -> impl Future<Output = Result<StoredFile, StoreError>> + Send;

    /// Erases a file; false when there was none.
    fn delete(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Erases every file a user uploaded; returns how many there were.
    fn delete_for_user(
        &self,
        user: &UserKey,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// The in-memory adapter (tests, the local gateway). Expired files are dropped as DynamoDB's or
/// S3's expiry would drop them, by the clock it is given (the system clock by default).
pub struct InMemoryFileStore {
    files: Mutex<HashMap<String, (StoredFile, Vec<u8>)>>,
    clock: Arc<dyn Clock>,
}

impl Default for InMemoryFileStore {
    fn default() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }
}

impl fmt::Debug for InMemoryFileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InMemoryFileStore({} files)", self.len())
    }
}

impl InMemoryFileStore {
    /// A store whose files expire by `clock` (the clock the services use in tests).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            files: Mutex::default(),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (StoredFile, Vec<u8>)>> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let now = Timestamp::from_secs(self.clock.now());
        files.retain(|_, (file, _)| !file.expired(now));
        files
    }

    /// How many files are stored (for tests: "nothing was stored").
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FileStore for InMemoryFileStore {
    async fn put(&self, file: &StoredFile, content: &[u8]) -> Result<(), StoreError> {
        let mut files = self.lock();
        if files.contains_key(&file.id) {
            return Err(StoreError::Conflict);
        }
        files.insert(file.id.clone(), (file.clone(), content.to_vec()));
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<StoredFile>, StoreError> {
        Ok(self.lock().get(id).map(|(file, _)| file.clone()))
    }

    async fn content(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().get(id).map(|(_, content)| content.clone()))
    }

    async fn list_for_customer(&self, customer_id: &str) -> Result<Vec<StoredFile>, StoreError> {
        let mut found: Vec<StoredFile> = self
            .lock()
            .values()
            .filter(|(file, _)| file.customer_id.as_deref() == Some(customer_id))
            .map(|(file, _)| file.clone())
            .collect();
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    async fn attach(&self, id: &str, customer_id: &str) -> Result<StoredFile, StoreError> {
        let mut files = self.lock();
        let (file, _) = files.get_mut(id).ok_or(StoreError::Conflict)?;
        match file.customer_id.as_deref() {
            Some(other) if other != customer_id => Err(StoreError::Conflict),
            _ => {
                file.customer_id = Some(customer_id.to_owned());
                file.expires_at = None;
                Ok(file.clone())
            }
        }
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().remove(id).is_some())
    }

    async fn delete_for_user(&self, user: &UserKey) -> Result<usize, StoreError> {
        let mut files = self.lock();
        let before = files.len();
        files.retain(|_, (file, _)| file.user != *user);
        Ok(before - files.len())
    }
}

/// The checks every [`FileStore`] adapter must pass (run by each adapter's tests).
#[cfg(any(test, feature = "testing"))]
pub async fn conformance(store: &impl FileStore) {
    let alice = UserKey {
        account: crate::stellar::Keypair::from_seed_bytes([7; 32]).account_id(),
        memo: None,
    };
    let alice_7 = UserKey {
        memo: Some(7),
        ..alice
    };
    let now = Timestamp::now();

    let a = StoredFile::new(alice, "image/png", 3, now);
    store.put(&a, b"abc").await.unwrap();
    assert_eq!(store.put(&a, b"abc").await, Err(StoreError::Conflict));
    assert_eq!(store.get(&a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(
        store.content(&a.id).await.unwrap().as_deref(),
        Some(&b"abc"[..])
    );
    assert_eq!(store.get("missing").await.unwrap(), None);
    assert_eq!(store.content("missing").await.unwrap(), None);

    // Attaching: once to a customer, again to the same one, never to another.
    let attached = store.attach(&a.id, "customer-1").await.unwrap();
    assert_eq!(attached.customer_id.as_deref(), Some("customer-1"));
    assert_eq!(attached.expires_at, None);
    assert_eq!(store.attach(&a.id, "customer-1").await.unwrap(), attached);
    assert_eq!(
        store.attach(&a.id, "customer-2").await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        store.attach("missing", "customer-1").await,
        Err(StoreError::Conflict)
    );

    let b = StoredFile::new(
        alice,
        "application/pdf",
        1,
        Timestamp::from_millis(now.millis() + 1),
    );
    store.put(&b, b"x").await.unwrap();
    store.attach(&b.id, "customer-1").await.unwrap();
    let other = StoredFile::new(alice_7, "image/jpeg", 1, now);
    store.put(&other, b"y").await.unwrap();
    let listed: Vec<String> = store
        .list_for_customer("customer-1")
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(listed, [a.id.clone(), b.id.clone()]);
    assert!(store
        .list_for_customer("customer-2")
        .await
        .unwrap()
        .is_empty());

    // An expired, unattached file is gone.
    let mut stale = StoredFile::new(
        UserKey {
            memo: Some(8),
            ..alice
        },
        "image/png",
        1,
        now,
    );
    stale.expires_at = Some(Timestamp::from_millis(now.millis() - 60_000));
    store.put(&stale, b"z").await.unwrap();
    assert_eq!(store.get(&stale.id).await.unwrap(), None);

    // Erasing: one file, then everything of one user (another memo of the account stays).
    assert!(store.delete(&b.id).await.unwrap());
    assert!(!store.delete(&b.id).await.unwrap());
    assert_eq!(store.delete_for_user(&alice).await.unwrap(), 1);
    assert_eq!(store.get(&a.id).await.unwrap(), None);
    assert_eq!(store.get(&other.id).await.unwrap().as_ref(), Some(&other));
    assert_eq!(store.delete_for_user(&alice_7).await.unwrap(), 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_memory_adapter_passes_the_conformance_checks() {
        conformance(&InMemoryFileStore::default()).await;
    }

    #[tokio::test]
    async fn unattached_files_expire_by_the_clock() {
        let clock = Arc::new(crate::clock::FixedClock::at(1_000));
        let store = InMemoryFileStore::with_clock(clock.clone());
        let user = UserKey {
            account: crate::stellar::Keypair::from_seed_bytes([7; 32]).account_id(),
            memo: None,
        };
        let loose = StoredFile::new(user, "image/png", 1, Timestamp::from_secs(1_000));
        let kept = StoredFile::new(user, "image/png", 1, Timestamp::from_secs(1_000));
        store.put(&loose, b"a").await.unwrap();
        store.put(&kept, b"b").await.unwrap();
        store.attach(&kept.id, "customer").await.unwrap();
        clock.set(1_000 + UNATTACHED_FILE_TTL_SECONDS - 1);
        assert_eq!(store.len(), 2);
        clock.set(1_000 + UNATTACHED_FILE_TTL_SECONDS);
        assert_eq!(store.get(&loose.id).await.unwrap(), None);
        assert!(store.get(&kept.id).await.unwrap().is_some());
    }

    #[test]
    fn renders_the_sep12_file_object() {
        let user = UserKey {
            account: crate::stellar::Keypair::from_seed_bytes([7; 32]).account_id(),
            memo: None,
        };
        let mut file = StoredFile::new(user, "image/png", 10, Timestamp::from_secs(0));
        file.id = "f".into();
        assert_eq!(
            serde_json::to_value(&file).unwrap(),
            serde_json::json!({"file_id": "f", "customer_id": null, "content_type": "image/png",
                "size": 10, "expires_at": "1970-01-02T00:00:00.000Z"})
        );
    }
}
