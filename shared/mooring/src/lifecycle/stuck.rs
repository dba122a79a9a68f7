//! Transactions stuck past their status's expected time, counted per status for an alarm (the
//! `StuckTransactions` metric, written by the expiry sweeper each run).
//!
//! The expected time of a status:
//! - a status the sweeper ends (`incomplete`, `pending_user_transfer_start`, `pending_sender`,
//!   `pending_trust`): its deadline ([`ExpiryConfig::due_at`]) plus `STUCK_AFTER_SECONDS`: past
//!   that, the sweeper (or the payment watcher it waits for) is not doing its work;
//! - a status the anchor's own workers move on (`pending_anchor`, `pending_stellar`,
//!   `pending_external`, SEP-31 `pending_receiver`): `STUCK_AFTER_SECONDS` after it entered.
//!
//! Statuses that wait on a person (`pending_user`, `pending_customer_info_update`, `on_hold`,
//! ...) have no expected time and are not counted.
//!
//! Bounded: each listing is read oldest first (by start) and only while its transactions could be
//! stuck, at most [`MAX_PAGES`] pages, so a count above `MAX_PAGES * PAGE_SIZE` per listing
//! is a lower bound (still far above any alarm's threshold).

use std::sync::Arc;
use std::time::Duration;

use super::expiry::{status_since, ExpiryConfig, SWEPT};
use crate::clock::Clock;
use crate::config::{invalid, ConfigError, Source};
use crate::metrics::Metric;
use crate::model::{Kind, Transaction, TransactionStatus};
use crate::store::{StoreError, TransactionStore};
use crate::time::Timestamp;

/// How long past its expected time a transaction counts as stuck (`STUCK_AFTER_SECONDS`).
pub const STUCK_AFTER_VAR: &str = "STUCK_AFTER_SECONDS";
pub const PAGE_SIZE: usize = 100;
pub const MAX_PAGES: usize = 5;

/// The statuses the anchor's workers move on, and the kinds that pass through them.
const WORKED: [(TransactionStatus, &[Kind]); 4] = [
    (TransactionStatus::PendingAnchor, &ALL_KINDS),
    (TransactionStatus::PendingStellar, &ALL_KINDS),
    (TransactionStatus::PendingExternal, &ALL_KINDS),
    (TransactionStatus::PendingReceiver, &[Kind::Receive]),
];

const ALL_KINDS: [Kind; 5] = [
    Kind::Deposit,
    Kind::Withdrawal,
    Kind::DepositExchange,
    Kind::WithdrawalExchange,
    Kind::Receive,
];

/// The statuses counted, in the order reported.
pub const WATCHED: [TransactionStatus; 8] = [
    TransactionStatus::Incomplete,
    TransactionStatus::PendingUserTransferStart,
    TransactionStatus::PendingSender,
    TransactionStatus::PendingTrust,
    TransactionStatus::PendingAnchor,
    TransactionStatus::PendingStellar,
    TransactionStatus::PendingExternal,
    TransactionStatus::PendingReceiver,
];

/// The grace after the expected time (`STUCK_AFTER_SECONDS`, default an hour, 1 minute to 30
/// days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StuckConfig {
    pub after: Duration,
}

impl Default for StuckConfig {
    fn default() -> Self {
        Self {
            after: Duration::from_secs(3_600),
        }
    }
}

impl StuckConfig {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let Some(value) = src.get(STUCK_AFTER_VAR) else {
            return Ok(Self::default());
        };
        match value.trim().parse::<u64>() {
            Ok(secs) if (60..=30 * 86_400).contains(&secs) => Ok(Self {
                after: Duration::from_secs(secs),
            }),
            _ => Err(invalid(
                STUCK_AFTER_VAR,
                "a number of seconds from 60 to 2592000 (30 days)",
            )),
        }
    }
}

/// Counts stuck transactions.
pub struct StuckCheck<S> {
    store: Arc<S>,
    expiry: ExpiryConfig,
    config: StuckConfig,
    clock: Arc<dyn Clock>,
}

impl<S: TransactionStore> StuckCheck<S> {
    pub fn new(
        store: Arc<S>,
        expiry: ExpiryConfig,
        config: StuckConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            expiry,
            config,
            clock,
        }
    }

    /// The number of stuck transactions per watched status (every one of [`WATCHED`], zeros
    /// included, so that an alarm always has data).
    pub async fn count(&self) -> Result<Vec<(TransactionStatus, usize)>, StoreError> {
        let now = Timestamp::from_secs(self.clock.now());
        let mut counts: Vec<(TransactionStatus, usize)> =
            WATCHED.iter().map(|status| (*status, 0)).collect();
        let listings = SWEPT.iter().copied().chain(
            WORKED
                .iter()
                .flat_map(|(status, kinds)| kinds.iter().map(move |kind| (*kind, *status))),
        );
        for (kind, status) in listings {
            let stuck = self.count_listing(kind, status, now).await?;
            if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == status) {
                slot.1 += stuck;
            }
        }
        Ok(counts)
    }

    /// Counts and records the `StuckTransactions` metric per status.
    pub async fn report(&self) -> Result<usize, StoreError> {
        let counts = self.count().await?;
        for (status, stuck) in &counts {
            crate::metrics::record(
                Metric::StuckTransactions,
                &[("Status", status.as_str())],
                *stuck as f64,
            );
            if *stuck > 0 {
                tracing::warn!(
                    status = status.as_str(),
                    stuck,
                    "transactions stuck past their expected time"
                );
            }
        }
        Ok(counts.iter().map(|(_, stuck)| stuck).sum())
    }

    async fn count_listing(
        &self,
        kind: Kind,
        status: TransactionStatus,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut stuck = 0;
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .store
                .list_by_status(kind, status, PAGE_SIZE, cursor.as_deref())
                .await?;
            for transaction in &page.items {
                // Oldest start first: one that started too recently to be stuck ends the
                // listing's count (a status entered, or a deadline, comes after the start).
                if self.grace_after(transaction.started_at) > now {
                    return Ok(stuck);
                }
                if self.expected_by(transaction) < now {
                    stuck += 1;
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(stuck)
    }

    fn grace_after(&self, at: Timestamp) -> Timestamp {
        let grace = i64::try_from(self.config.after.as_millis()).unwrap_or(i64::MAX);
        Timestamp::from_millis(at.millis().saturating_add(grace))
    }

    /// When the transaction counts as stuck: its deadline (or entering its status) plus the
    /// grace.
    fn expected_by(&self, transaction: &Transaction) -> Timestamp {
        let expected = self
            .expiry
            .due_at(transaction)
            .unwrap_or_else(|| status_since(transaction));
        self.grace_after(expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::model::{Protocol, UserKey};
    use crate::stellar::{Asset, Keypair};
    use crate::store::InMemoryStore;
    use std::collections::BTreeMap;

    const NOW: u64 = 1_800_000_000;

    fn transaction(kind: Kind, status: TransactionStatus, started: u64) -> Transaction {
        let user = UserKey {
            account: Keypair::from_seed_bytes([2; 32]).account_id(),
            memo: None,
        };
        Transaction::new(
            Protocol::Sep24,
            kind,
            status,
            user,
            Asset::Native,
            Timestamp::from_secs(started),
        )
    }

    #[tokio::test]
    async fn transactions_past_their_expected_time_are_counted_per_status() {
        let store = Arc::new(InMemoryStore::default());
        let hour = 3_600;
        let day = 86_400;
        let stuck = [
            // Two hours in pending_anchor: past the hour.
            transaction(
                Kind::Deposit,
                TransactionStatus::PendingAnchor,
                NOW - 2 * hour,
            ),
            transaction(
                Kind::Withdrawal,
                TransactionStatus::PendingAnchor,
                NOW - 3 * hour,
            ),
            transaction(
                Kind::Receive,
                TransactionStatus::PendingReceiver,
                NOW - 2 * hour,
            ),
            // incomplete ends after an hour; two and a half hours: past its deadline + an hour.
            transaction(
                Kind::Deposit,
                TransactionStatus::Incomplete,
                NOW - 5 * hour / 2,
            ),
        ];
        let fine = [
            transaction(
                Kind::Deposit,
                TransactionStatus::PendingAnchor,
                NOW - hour / 2,
            ),
            transaction(Kind::Deposit, TransactionStatus::PendingStellar, NOW - 10),
            // Past its deadline, but within the hour after it: the sweeper's to end.
            transaction(
                Kind::Deposit,
                TransactionStatus::Incomplete,
                NOW - 3 * hour / 2,
            ),
            transaction(
                Kind::Deposit,
                TransactionStatus::PendingUserTransferStart,
                NOW - hour,
            ),
            // Waits on a person: never counted.
            transaction(
                Kind::Deposit,
                TransactionStatus::PendingCustomerInfoUpdate,
                NOW - 9 * day,
            ),
            transaction(Kind::Deposit, TransactionStatus::Completed, NOW - 9 * day),
        ];
        for t in stuck.iter().chain(&fine) {
            store.insert(t).await.expect("insert");
        }
        let config = StuckConfig::from_source(&BTreeMap::new()).expect("config");
        let check = StuckCheck::new(
            store,
            ExpiryConfig::default(),
            config,
            Arc::new(FixedClock::at(NOW)),
        );
        let counts = check.count().await.expect("count");
        let of = |status| {
            counts
                .iter()
                .find(|(s, _)| *s == status)
                .map(|(_, n)| *n)
                .expect("watched")
        };
        assert_eq!(counts.len(), WATCHED.len());
        assert_eq!(of(TransactionStatus::PendingAnchor), 2);
        assert_eq!(of(TransactionStatus::PendingReceiver), 1);
        assert_eq!(of(TransactionStatus::Incomplete), 1);
        assert_eq!(of(TransactionStatus::PendingStellar), 0);
        assert_eq!(of(TransactionStatus::PendingUserTransferStart), 0);

        let metrics = crate::metrics::Recording::start();
        assert_eq!(check.report().await.expect("report"), 4);
        assert_eq!(metrics.recorded().len(), WATCHED.len(), "zeros too");
        assert_eq!(
            metrics.total(Metric::StuckTransactions, &[("Status", "pending_anchor")]),
            2.0
        );
    }

    #[test]
    fn the_grace_is_a_bounded_number_of_seconds() {
        let source = |value: &str| BTreeMap::from([(STUCK_AFTER_VAR.to_owned(), value.to_owned())]);
        assert_eq!(
            StuckConfig::from_source(&source("600")).expect("ok").after,
            Duration::from_secs(600)
        );
        for bad in ["0", "59", "abc", "-5", "99999999"] {
            let error = StuckConfig::from_source(&source(bad)).expect_err(bad);
            assert!(error.to_string().contains(STUCK_AFTER_VAR), "{error}");
        }
    }
}
