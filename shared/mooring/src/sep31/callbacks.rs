//! Callbacks to sending anchors (digest 7.5): once a sending anchor gave a URL with
//! `PUT /transactions/:id/callback`, every status change after `pending_sender` is POSTed to it
//! as the `GET /transactions/:id` body, signed (digest 5.6) with `SIGNING_SEED`. The API's own
//! changes (`PATCH`) and the workers' (the payment watcher, the outgoing-payments worker, the
//! payout poller, SEP-12's release, expiry: through [`StatusListener`]) go through
//! [`SendingAnchorCallbacks`]. A failed post is logged, never retried (SEP-31 does not oblige
//! the receiving anchor to retry).

use std::sync::Arc;

use super::view::{Envelope, TransactionView};
use crate::clock::Clock;
use crate::model::{Protocol, Transaction};
use crate::stellar::Keypair;
use crate::transfer::callback::{
    post_to_callback_url, Announcement, CallbackSender, StatusListener,
};

/// Posts SEP-31 transactions to their sending anchor's callback URL, signed by `signer`
/// (`None`: nothing is sent, and a transaction with a URL logs that).
pub struct SendingAnchorCallbacks<C> {
    sender: C,
    signer: Option<Keypair>,
    clock: Arc<dyn Clock>,
}

impl<C: CallbackSender> SendingAnchorCallbacks<C> {
    pub fn new(sender: C, signer: Option<Keypair>, clock: Arc<dyn Clock>) -> Self {
        Self {
            sender,
            signer,
            clock,
        }
    }

    /// Posts the transaction as it is now, if it is a SEP-31 transaction with a callback URL.
    pub async fn notify(&self, transaction: &Transaction) {
        if transaction.protocol != Protocol::Sep31 {
            return;
        }
        let view = Envelope(TransactionView::new(transaction));
        post_to_callback_url(
            &self.sender,
            self.signer.as_ref(),
            transaction,
            &view,
            self.clock.now(),
        )
        .await;
    }
}

impl<C: CallbackSender> StatusListener for SendingAnchorCallbacks<C> {
    fn status_changed<'a>(&'a self, transaction: &'a Transaction) -> Announcement<'a> {
        Box::pin(self.notify(transaction))
    }
}
