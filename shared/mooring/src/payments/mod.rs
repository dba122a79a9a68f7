//! Money movement (issue 6): the workers that move deposits and withdrawals across the Stellar
//! network, as plain structs generic over the ports (store, Horizon, queue, integration) with the
//! clock injected. No AWS types: the Lambdas in `functions/` are thin glue around them.
//!
//! Deposits: [`DepositPoller`] (off-chain funds arrived → `pending_anchor` → submissions queue)
//! → [`Submitter`] (one Stellar transaction per deposit from a leased channel account, the
//! signed envelope stored before it is submitted, in the write that moves the deposit to
//! `pending_stellar`) → `completed`; [`TrustlineRecheck`] sends `pending_trust` deposits back
//! once their account trusts the asset.
//!
//! The submitter's bookkeeping on [`Transaction`](crate::model::Transaction):
//! `submission = Signed` with `envelope_xdr`/`envelope_hash` (status `pending_stellar`) means
//! "this envelope may be on the network": nothing new is built for the deposit until Horizon
//! shows the envelope landed, or proves it never can (its channel's sequence number was used by
//! another transaction, or its time bounds passed), and only then is it cleared
//! (`NotSubmitted`, still `pending_stellar` with a `status_message`) with a conditional write.
//!
//! Withdrawals: the [`watcher`] matches the user's Stellar payment (`pending_anchor`, withdrawals
//! queue) → [`withdrawals::WithdrawalProcessor`] pays out once → `completed` or
//! `pending_external` (completed by the payout poller); a payout the rail refuses for good is
//! refunded ([`refund`]: `pending_stellar`, the [`Submitter`] sends it back → `refunded`). SEP-31 payments received: the
//! [`watcher`] matches the sending anchor's payment (`pending_receiver`, outgoing queue; it also
//! expires the unpaid ones) → [`outgoing::OutgoingProcessor`] pays the receiver once → the same
//! endings, or back to the sending anchor for SEP-12 / transaction fields.

mod claim;
pub mod config;
pub mod deposit_poller;
pub mod offchain;
pub mod outgoing;
pub mod refund;
pub mod submitter;
pub mod trustlines;
pub mod watcher;
pub mod withdrawals;

#[cfg(test)]
mod tests;

use crate::config::AssetConfig;
use crate::horizon::HorizonError;
use crate::integrations::IntegrationError;
use crate::queue::QueueError;
use crate::stellar::Asset;
use crate::store::StoreError;

pub use config::{
    channel_accounts, channel_keypair, public_accounts, KeyLocation, PaymentsConfig,
    SignerSettings, Signers,
};
pub use deposit_poller::{DepositPoller, PollReport};
pub use outgoing::{OutgoingProcessed, OutgoingProcessor};
pub use submitter::{SubmitOutcome, Submitter};
pub use trustlines::{RecheckReport, TrustlineRecheck};

/// Why a worker could not finish its job; for a queue consumer, an `Err` means "retry the
/// message later" (the Lambda reports it as a batch item failure).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("horizon: {0}")]
    Horizon(#[from] HorizonError),
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    #[error("integration: {0}")]
    Integration(#[from] IntegrationError),
    #[error("configuration: {0}")]
    Config(String),
    /// A key service (KMS) could not sign: retry later; nothing was submitted.
    #[error("signing: {0}")]
    Signer(#[from] crate::stellar::SignerError),
    /// Every channel account is leased: retry later.
    #[error("every channel account is leased")]
    ChannelsBusy,
    /// The work is not finished and cannot be decided yet (e.g. a submission whose outcome is
    /// unknown): retry later.
    #[error("not finished yet: {0}")]
    Pending(String),
}

/// The configured asset of a transaction's asset (code and issuer).
pub fn asset_config<'a>(assets: &'a [AssetConfig], asset: &Asset) -> Option<&'a AssetConfig> {
    assets.iter().find(|a| &a.asset.0 == asset)
}
