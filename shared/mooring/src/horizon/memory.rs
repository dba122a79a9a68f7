use std::collections::HashMap;
use std::sync::Mutex;

use super::{AccountRecord, Horizon, HorizonError};
use crate::stellar::AccountId;

/// Accounts held in memory, for unit tests.
#[derive(Debug, Default)]
pub struct InMemoryHorizon {
    accounts: Mutex<HashMap<AccountId, AccountRecord>>,
    unavailable: std::sync::atomic::AtomicBool,
}

impl InMemoryHorizon {
    pub fn insert(&self, account: AccountRecord) {
        self.lock().insert(account.account_id, account);
    }

    /// Makes every later call fail as if Horizon were down.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable
            .store(unavailable, std::sync::atomic::Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AccountId, AccountRecord>> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Horizon for InMemoryHorizon {
    async fn account(&self, id: &AccountId) -> Result<Option<AccountRecord>, HorizonError> {
        if self.unavailable.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(HorizonError::Unreachable(
                "in-memory Horizon is down".into(),
            ));
        }
        Ok(self.lock().get(id).cloned())
    }
}
