//! Stellar primitives: keys and accounts, memos, assets, amounts, networks and transaction envelopes.
//!
//! Everything here is parsed at the edge ("parse, don't validate") and then used as a typed value.

mod amount;
mod asset;
mod envelope;
mod keys;
mod memo;
mod network;
pub mod payment;
pub mod signer;

pub use amount::{Amount, AmountError};
pub use asset::{Asset, AssetError};
pub use envelope::{
    decode_envelope, encode_envelope, sign_hash, transaction_hash, verify_decorated,
    verify_own_decorated, EnvelopeError, DECODE_LIMITS,
};
pub use keys::{AccountId, KeyError, Keypair, MuxedAccount, VerifyingAccount};
pub use memo::{Memo, MemoError};
pub use network::Network;
pub use payment::{
    build_signed, build_signed_by, claimable_balance_id, Outgoing, PaymentError, PaymentSpec,
    SignedTransaction,
};

#[cfg(any(test, feature = "testing"))]
pub use signer::FakeKeyService;
pub use signer::{sign_checked, sign_hash_with, KeyLocation, Signer, SignerError};

/// The XDR types, re-exported so callers need no direct dependency on `stellar-xdr`.
pub use stellar_xdr as xdr;
