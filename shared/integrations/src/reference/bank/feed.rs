//! The reference rail's feed of incoming money (`DepositIntegration::incoming_transfers`): the
//! demo bank's transfers after a cursor (the last transfer id read), each with what the rail can
//! tell of it alone. The deposit poller records, for the operator, the ones that pay no deposit.
//!
//! * a reference not of the deposits' form ([`is_deposit_reference`]) names no deposit;
//! * of the transfers with one reference, the first (oldest) is the one that pays the deposit,
//!   as `poll_pending_deposits` counts ([`Anchor::received_deposits`]): a later one repeats it;
//! * the first may pay the deposit its reference names.

use std::collections::HashMap;

use mooring::integrations::{IncomingTransfer, IntegrationError, TransferClaim};
use mooring::model::OffChainTransfer;
use mooring::time::Timestamp;

use super::Transfer;
use crate::reference::rail::is_deposit_reference;
use crate::reference::Anchor;

/// Transfers read from the bank per call (the bank's largest page).
pub const FEED_PAGE: u32 = 200;

impl<S> Anchor<S> {
    /// The transfers after `after` (a transfer id; `None`: from the first), with their claims.
    /// Without a bank, none.
    pub(crate) async fn transfer_feed(
        &self,
        after: Option<&str>,
    ) -> Result<Vec<IncomingTransfer>, IntegrationError> {
        let Some(bank) = self.bank() else {
            return Ok(Vec::new());
        };
        let since = match after {
            None => 0,
            Some(cursor) => cursor.parse::<u64>().unwrap_or_else(|_| {
                // Re-reading from the start records nothing twice (by transfer id).
                tracing::warn!(
                    cursor,
                    "unreadable demo bank feed position; reading from the start"
                );
                0
            }),
        };
        let page = bank.transfers_after(since, FEED_PAGE).await?;
        // The first transfer of each reference on the page, looked up once.
        let mut firsts: HashMap<String, Option<String>> = HashMap::new();
        let mut feed = Vec::with_capacity(page.len());
        for transfer in page {
            let claim = if !is_deposit_reference(&transfer.reference) {
                TransferClaim::NamesNoDeposit
            } else {
                let first = match firsts.get(&transfer.reference) {
                    Some(first) => first.clone(),
                    None => {
                        let first = bank
                            .transfers(&transfer.reference)
                            .await?
                            .into_iter()
                            .next()
                            .map(|first| first.id);
                        firsts.insert(transfer.reference.clone(), first.clone());
                        first
                    }
                };
                match first {
                    Some(first) if first != transfer.id => TransferClaim::Repeats { first },
                    _ => TransferClaim::MayPayDeposit,
                }
            };
            feed.push(incoming(
                transfer,
                claim,
                Timestamp::from_secs(self.clock.now()),
            ));
        }
        Ok(feed)
    }
}

/// A bank transfer as the feed reports it; without a readable time, it counts as arriving now
/// (the later, the longer the poller waits before calling it unmatched).
fn incoming(transfer: Transfer, claim: TransferClaim, now: Timestamp) -> IncomingTransfer {
    IncomingTransfer {
        cursor: transfer.id.clone(),
        received_at: transfer.received_at.unwrap_or(now),
        transfer: OffChainTransfer {
            id: transfer.id,
            reference: Some(transfer.reference),
            amount: transfer.amount,
            currency: transfer.currency,
            sender: transfer.sender,
        },
        claim,
    }
}
