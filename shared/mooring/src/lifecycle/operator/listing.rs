//! What the console lists: transactions by status, kind, user and age (through the store's
//! indexes: kind+status, user), and the incoming payments that need the operator.

use super::OperatorError;
use crate::model::{IncomingPayment, Kind, Transaction, TransactionStatus, UserKey};
use crate::store::{IncomingPayments, Position, TransactionQuery, TransactionStore};
use crate::time::Timestamp;

/// Every kind, in the order listings go through them.
pub const ALL_KINDS: [Kind; 5] = [
    Kind::Deposit,
    Kind::DepositExchange,
    Kind::Withdrawal,
    Kind::WithdrawalExchange,
    Kind::Receive,
];

/// Items read per store page.
const PAGE: usize = 100;
/// Items read per listing partition (a kind and status, or a user) at most: a listing stays
/// bounded however many transactions pile up, and says when it stopped early.
pub const MAX_SCAN: usize = 10_000;

/// Which transactions to list. Ages are on `started_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFilter {
    /// Empty: every status that is not final.
    pub statuses: Vec<TransactionStatus>,
    /// Empty: every kind.
    pub kinds: Vec<Kind>,
    pub user: Option<UserKey>,
    /// Only transactions started before this time.
    pub started_before: Option<Timestamp>,
    /// Only transactions started at or after this time.
    pub started_since: Option<Timestamp>,
    pub limit: usize,
}

impl ListFilter {
    fn statuses(&self) -> Vec<TransactionStatus> {
        if self.statuses.is_empty() {
            TransactionStatus::ALL
                .into_iter()
                .filter(|s| !s.is_final())
                .collect()
        } else {
            self.statuses.clone()
        }
    }

    fn kinds(&self) -> Vec<Kind> {
        if self.kinds.is_empty() {
            ALL_KINDS.to_vec()
        } else {
            self.kinds.clone()
        }
    }

    fn keeps_age(&self, t: &Transaction) -> bool {
        self.started_before.is_none_or(|b| t.started_at < b)
            && self.started_since.is_none_or(|s| t.started_at >= s)
    }
}

/// A listing, oldest first (the longest waiting on top).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub transactions: Vec<Transaction>,
    /// More transactions match than are listed (raise the limit or narrow the filter).
    pub more: bool,
}

/// The transactions `filter` selects, oldest first, at most `filter.limit`. With a user, from
/// the user index; otherwise from the kind+status index, one partition per kind and status.
pub async fn list_transactions<S: TransactionStore>(
    store: &S,
    filter: &ListFilter,
) -> Result<Listing, OperatorError> {
    let limit = filter.limit.max(1);
    let (mut found, mut more) = match filter.user {
        Some(user) => by_user(store, filter, user).await?,
        None => {
            let mut found = Vec::new();
            let mut more = false;
            for kind in filter.kinds() {
                for status in filter.statuses() {
                    let (part, part_more) = by_status(store, filter, kind, status, limit).await?;
                    found.extend(part);
                    more |= part_more;
                }
            }
            (found, more)
        }
    };
    found.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
    if found.len() > limit {
        found.truncate(limit);
        more = true;
    }
    Ok(Listing {
        transactions: found,
        more,
    })
}

/// The oldest `limit` transactions of one kind+status partition that pass the age filter, and
/// whether more do. The index is read oldest first, so `started_before` ends the read.
async fn by_status<S: TransactionStore>(
    store: &S,
    filter: &ListFilter,
    kind: Kind,
    status: TransactionStatus,
    limit: usize,
) -> Result<(Vec<Transaction>, bool), OperatorError> {
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    let mut scanned = 0;
    loop {
        let page = store
            .list_by_status(kind, status, PAGE, cursor.as_deref())
            .await?;
        for t in page.items {
            scanned += 1;
            if filter.started_before.is_some_and(|b| t.started_at >= b) {
                return Ok((found, false));
            }
            if !filter.keeps_age(&t) {
                continue;
            }
            if found.len() == limit {
                return Ok((found, true));
            }
            found.push(t);
        }
        match page.next {
            // Stopped early: more may match.
            Some(_) if scanned >= MAX_SCAN => return Ok((found, true)),
            Some(next) => cursor = Some(next),
            None => return Ok((found, false)),
        }
    }
}

/// Every transaction of the user that passes the filter (at most [`MAX_SCAN`] read), and
/// whether the read stopped early.
async fn by_user<S: TransactionStore>(
    store: &S,
    filter: &ListFilter,
    user: UserKey,
) -> Result<(Vec<Transaction>, bool), OperatorError> {
    let statuses = filter.statuses();
    let mut query = TransactionQuery {
        user,
        protocol: None,
        asset_code: None,
        kinds: filter.kinds.clone(),
        no_older_than: filter.started_since,
        limit: PAGE,
        cursor: None,
        // Strictly older than the bound: no id sorts before "".
        before: filter.started_before.map(|started_at| Position {
            started_at,
            id: String::new(),
        }),
    };
    let mut found = Vec::new();
    let mut scanned = 0;
    loop {
        let page = store.list_for_user(&query).await?;
        scanned += page.items.len();
        found.extend(
            page.items
                .into_iter()
                .filter(|t| statuses.contains(&t.status) && filter.keeps_age(t)),
        );
        match page.next {
            Some(_) if scanned >= MAX_SCAN => return Ok((found, true)),
            Some(next) => query.cursor = Some(next),
            None => return Ok((found, false)),
        }
    }
}

/// The incoming payments that need the operator (unmatched, duplicate, wrong asset or amount),
/// oldest first, at most `limit`; and whether more do.
pub async fn incoming_payments<S: IncomingPayments>(
    store: &S,
    limit: usize,
) -> Result<(Vec<IncomingPayment>, bool), OperatorError> {
    let limit = limit.max(1);
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_needing_attention(PAGE.min(limit + 1), cursor.as_deref())
            .await?;
        found.extend(page.items);
        if found.len() > limit {
            found.truncate(limit);
            return Ok((found, true));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok((found, false)),
        }
    }
}
