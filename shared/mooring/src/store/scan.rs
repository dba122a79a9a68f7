//! Bounded, fair reads of a status listing for the scheduled workers (the deposit poller, the
//! trustline re-check, the payout poller, the expiry sweeper).
//!
//! A run reads at most `head_pages + rotation_pages` pages of its listing, so its work stays
//! bounded however many transactions wait; and it is fair, so a backlog of old transactions
//! never hides a new one:
//!
//! * the **head**: the first pages from one end of the listing, every run. The pollers look at
//!   the newest end (a transaction that just arrived is seen on the next run, whatever waits
//!   behind it); the sweeper at the oldest (the ones due first);
//! * the **rotation**: the next pages oldest first, from where the previous run stopped (a
//!   cursor saved between runs with [`Cursors`]), wrapping around at the end, so every
//!   transaction is reached within one lap of the listing.
//!
//! Each completed lap records when it started, [`covered_since`]: every transaction that was in
//! the listing from then until the lap ended was returned by some run. (A run whose head reached
//! the end of the listing completes a lap by itself.) The deposit poller relies on it to decide
//! that money no waiting deposit took matches none.
//!
//! Store cursors are positions (see [`TransactionStore::list_by_status`]): a rotation resumes
//! after transactions left the status without skipping any. Overlapping runs are harmless: the
//! rotation is saved conditionally, and the loser's save is dropped (it read the same pages).

use serde::{Deserialize, Serialize};

use super::{Cursors, Page, StoreError, TransactionStore};
use crate::model::{Kind, Transaction, TransactionStatus};
use crate::time::Timestamp;

/// Which end of the listing a run reads first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// The newest transactions (the pollers: something new is waiting for them).
    Newest,
    /// The oldest (the sweeper: they are due first).
    Oldest,
}

/// How much one run reads of one listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanPlan {
    pub page_size: usize,
    pub head: Head,
    /// Pages read from the head each run.
    pub head_pages: usize,
    /// Pages of the rotation read each run.
    pub rotation_pages: usize,
}

impl ScanPlan {
    /// The pollers' plan: the newest page and two pages of the rotation, of `page_size` each.
    pub const fn newest_first(page_size: usize) -> Self {
        Self {
            page_size,
            head: Head::Newest,
            head_pages: 1,
            rotation_pages: 2,
        }
    }

    /// At most how many transactions a run returns.
    pub fn bound(&self) -> usize {
        self.page_size
            .max(1)
            .saturating_mul(self.head_pages.saturating_add(self.rotation_pages))
    }
}

/// The name a scan's rotation is saved under: `scan:<worker>:<kind>:<status>`.
pub fn scan_name(worker: &str, kind: Kind, status: TransactionStatus) -> String {
    format!("scan:{worker}:{}:{}", kind.as_str(), status.as_str())
}

/// The rotation's state between runs (JSON in the stored cursor's value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Rotation {
    /// Where the next run resumes (a store cursor); `None`: from the oldest, a new lap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    /// When the lap under way started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lap_started_at: Option<Timestamp>,
    /// When the last completed lap started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    covered_since: Option<Timestamp>,
}

/// One run over a listing: the head, then the rotation's next pages (each transaction once),
/// the rotation saved for the next run under `name`. A transaction read here may have moved
/// on since: the callers' writes are conditional.
pub async fn scan_status<S>(
    store: &S,
    name: &str,
    kind: Kind,
    status: TransactionStatus,
    plan: &ScanPlan,
    now: Timestamp,
) -> Result<Vec<Transaction>, StoreError>
where
    S: TransactionStore + Cursors,
{
    let page_size = plan.page_size.max(1);
    let mut found: Vec<Transaction> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut whole_listing = false;
    for _ in 0..plan.head_pages {
        let page = match plan.head {
            Head::Newest => {
                store
                    .list_by_status_newest_first(kind, status, page_size, cursor.as_deref())
                    .await?
            }
            Head::Oldest => {
                store
                    .list_by_status(kind, status, page_size, cursor.as_deref())
                    .await?
            }
        };
        keep_new(&mut found, page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => {
                whole_listing = true;
                break;
            }
        }
    }

    let stored = store.cursor(name).await?;
    let mut rotation = match &stored {
        None => Rotation::default(),
        Some(stored) => serde_json::from_str(&stored.value).unwrap_or_else(|error| {
            tracing::warn!(name, %error, "unreadable scan rotation; starting a new lap");
            Rotation::default()
        }),
    };
    if whole_listing {
        // Everything in the listing now was read by this run: a lap of its own.
        rotation = Rotation {
            next: None,
            lap_started_at: None,
            covered_since: Some(now),
        };
    } else {
        for _ in 0..plan.rotation_pages {
            if rotation.next.is_none() {
                rotation.lap_started_at = Some(now);
            }
            let page = match rotation_page(store, kind, status, page_size, &rotation).await? {
                Some(page) => page,
                None => {
                    // The saved position is no longer valid: a new lap from the oldest.
                    rotation.next = None;
                    rotation.lap_started_at = Some(now);
                    store.list_by_status(kind, status, page_size, None).await?
                }
            };
            keep_new(&mut found, page.items);
            rotation.next = page.next;
            if rotation.next.is_none() {
                rotation.covered_since = rotation.lap_started_at.take();
                break;
            }
        }
    }
    let value = serde_json::to_string(&rotation)
        .map_err(|e| StoreError::Corrupt(format!("scan rotation: {e}")))?;
    match store
        .save_cursor(name, &value, stored.map(|s| s.version))
        .await
    {
        Ok(_) => {}
        // Another run saved first; it read the same pages.
        Err(StoreError::Conflict) => tracing::debug!(name, "scan rotation saved by another run"),
        Err(error) => return Err(error),
    }
    Ok(found)
}

/// The next page of the rotation; `None` when its saved position is not a valid cursor.
async fn rotation_page<S: TransactionStore>(
    store: &S,
    kind: Kind,
    status: TransactionStatus,
    page_size: usize,
    rotation: &Rotation,
) -> Result<Option<Page<Transaction>>, StoreError> {
    match store
        .list_by_status(kind, status, page_size, rotation.next.as_deref())
        .await
    {
        Ok(page) => Ok(Some(page)),
        Err(StoreError::InvalidCursor) if rotation.next.is_some() => Ok(None),
        Err(error) => Err(error),
    }
}

fn keep_new(found: &mut Vec<Transaction>, items: Vec<Transaction>) {
    for item in items {
        if !found.iter().any(|seen| seen.id == item.id) {
            found.push(item);
        }
    }
}

/// When the last completed lap of the scan `name` started (see the module documentation);
/// `None` before a first lap completed.
pub async fn covered_since<S: Cursors>(
    store: &S,
    name: &str,
) -> Result<Option<Timestamp>, StoreError> {
    let Some(stored) = store.cursor(name).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_str::<Rotation>(&stored.value)
        .ok()
        .and_then(|rotation| rotation.covered_since))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Protocol, UserKey};
    use crate::stellar::{Asset, Keypair};
    use crate::store::InMemoryStore;

    fn deposit(started_secs: u64) -> Transaction {
        Transaction::new(
            Protocol::Sep24,
            Kind::Deposit,
            TransactionStatus::PendingUserTransferStart,
            UserKey {
                account: Keypair::from_seed_bytes([7; 32]).account_id(),
                memo: None,
            },
            Asset::Native,
            Timestamp::from_secs(started_secs),
        )
    }

    const PLAN: ScanPlan = ScanPlan {
        page_size: 3,
        head: Head::Newest,
        head_pages: 1,
        rotation_pages: 1,
    };
    const NAME: &str = "scan:test:deposit:pending_user_transfer_start";

    async fn run(store: &InMemoryStore, now: u64) -> Vec<String> {
        scan_status(
            store,
            NAME,
            Kind::Deposit,
            TransactionStatus::PendingUserTransferStart,
            &PLAN,
            Timestamp::from_secs(now),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect()
    }

    #[tokio::test]
    async fn a_run_reads_the_newest_page_and_the_next_page_of_the_rotation() {
        let store = InMemoryStore::default();
        let all: Vec<Transaction> = (0..10).map(|i| deposit(1_000 + i)).collect();
        for t in &all {
            store.insert(t).await.unwrap();
        }
        let ids = |range: std::ops::Range<usize>| -> Vec<String> {
            all[range].iter().map(|t| t.id.clone()).collect()
        };
        let newest: Vec<String> = ids(7..10).into_iter().rev().collect();

        let first = run(&store, 2_000).await;
        assert_eq!(first, [newest.clone(), ids(0..3)].concat());
        let second = run(&store, 2_060).await;
        assert_eq!(second, [newest.clone(), ids(3..6)].concat());
        // The third page of the rotation holds the newest three, read already: nothing twice.
        let third = run(&store, 2_120).await;
        assert_eq!(third, [newest.clone(), ids(6..7)].concat());
        assert_eq!(covered_since(&store, NAME).await.unwrap(), None);
        let fourth = run(&store, 2_180).await;
        assert_eq!(fourth, newest, "the end of the listing");
        assert_eq!(
            covered_since(&store, NAME).await.unwrap(),
            Some(Timestamp::from_secs(2_000)),
            "the lap that started with the first run is complete"
        );
        assert_eq!(
            run(&store, 2_240).await,
            [newest, ids(0..3)].concat(),
            "and the next lap starts from the oldest"
        );
    }

    #[tokio::test]
    async fn a_small_listing_is_read_whole_by_every_run() {
        let store = InMemoryStore::default();
        let a = deposit(1_000);
        store.insert(&a).await.unwrap();
        assert_eq!(run(&store, 5_000).await, vec![a.id.clone()]);
        assert_eq!(
            covered_since(&store, NAME).await.unwrap(),
            Some(Timestamp::from_secs(5_000))
        );
        // An empty listing is covered too.
        let mut gone = store.get(&a.id).await.unwrap().unwrap();
        gone.status = TransactionStatus::Expired;
        store
            .update(&mut gone, TransactionStatus::PendingUserTransferStart)
            .await
            .unwrap();
        assert!(run(&store, 5_060).await.is_empty());
        assert_eq!(
            covered_since(&store, NAME).await.unwrap(),
            Some(Timestamp::from_secs(5_060))
        );
    }

    #[tokio::test]
    async fn an_unreadable_saved_rotation_starts_a_new_lap() {
        let store = InMemoryStore::default();
        for i in 0..8 {
            store.insert(&deposit(1_000 + i)).await.unwrap();
        }
        store.save_cursor(NAME, "not json", None).await.unwrap();
        assert_eq!(run(&store, 2_000).await.len(), 6);
        let stored = store.cursor(NAME).await.unwrap().unwrap();
        let rotation: Rotation = serde_json::from_str(&stored.value).unwrap();
        assert_eq!(rotation.lap_started_at, Some(Timestamp::from_secs(2_000)));
        assert!(rotation.next.is_some());
    }
}
