//! What the workers announce reaches the sending anchor: a SEP-31 transaction with a callback
//! URL is posted as `GET /transactions/:id` shows it, signed; nothing else is posted.

use super::*;
use crate::model::Protocol;
use crate::sep31::callbacks::SendingAnchorCallbacks;
use crate::sep31::view::{Envelope, TransactionView};
use crate::time::Timestamp;
use crate::transfer::callback::StatusListener;

fn transaction(protocol: Protocol, kind: Kind, url: Option<&str>) -> Transaction {
    let mut tx = Transaction::new(
        protocol,
        kind,
        TransactionStatus::PendingReceiver,
        user(ALICE),
        Asset::Native,
        Timestamp::from_secs(NOW),
    );
    tx.callback_url = url.map(str::to_owned);
    tx
}

fn listener(
    signer: Option<Keypair>,
) -> (
    SendingAnchorCallbacks<Arc<RecordingCallbacks>>,
    Arc<RecordingCallbacks>,
) {
    let sent = Arc::new(RecordingCallbacks::default());
    let callbacks =
        SendingAnchorCallbacks::new(sent.clone(), signer, Arc::new(FixedClock::at(NOW)));
    (callbacks, sent)
}

#[tokio::test]
async fn an_announced_sep31_transaction_is_posted_signed_to_its_url() {
    let (callbacks, sent) = listener(Some(Keypair::from_seed_bytes([SIGNING_SEED; 32])));
    let tx = transaction(
        Protocol::Sep31,
        Kind::Receive,
        Some("https://sender.example:8443/cb"),
    );
    callbacks.status_changed(&tx).await;
    let posted = sent.sent();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].url.as_str(), "https://sender.example:8443/cb");
    let shown = serde_json::to_string(&Envelope(TransactionView::new(&tx))).expect("view");
    assert_eq!(posted[0].body, shown, "the GET /transactions/:id body");
    assert_signed(&posted[0], "sender.example", NOW);
}

#[tokio::test]
async fn nothing_is_posted_without_a_url_a_signer_or_for_another_sep() {
    let signer = || Some(Keypair::from_seed_bytes([SIGNING_SEED; 32]));
    let url = Some("https://sender.example/cb");
    for (signer, tx) in [
        (signer(), transaction(Protocol::Sep31, Kind::Receive, None)),
        (signer(), transaction(Protocol::Sep6, Kind::Withdrawal, url)),
        (signer(), transaction(Protocol::Sep24, Kind::Deposit, url)),
        (None, transaction(Protocol::Sep31, Kind::Receive, url)),
    ] {
        let (callbacks, sent) = listener(signer);
        callbacks.status_changed(&tx).await;
        assert!(
            sent.sent().is_empty(),
            "{:?} {:?}",
            tx.protocol,
            tx.callback_url
        );
    }
}
