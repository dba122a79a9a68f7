//! SEP-31 cross-border payments, receiving side (digest section 7): a sending anchor (a
//! configured partner, authenticated through SEP-10) asks this anchor to pay one of its
//! receivers off-chain, and pays the Stellar asset to the anchor's account with a memo unique
//! to the transaction.
//!
//! - `/info` ([`info`]): per asset, the funding methods, limits, fees, quote support and the
//!   SEP-12 types of senders and receivers;
//! - `POST /transactions` ([`request`]): the request is checked (asset, amount, funding
//!   method, firm SEP-38 quote), the anchor's `ReceiveIntegration` asked, and the transaction
//!   stored in `pending_sender` with `stellar_account_id` / `stellar_memo`;
//! - `GET /transactions/:id`, the deprecated `PATCH /transactions/:id` and
//!   `PUT /transactions/:id/callback` ([`transactions`]), in SEP-31's transaction object
//!   ([`view`]);
//! - who may call ([`config`], [`service`]);
//! - the callback URL: every status change after it is set, the API's and the workers', is
//!   posted to the sending anchor by the callback sender ([`crate::status_callbacks`]).
//!
//! Its HTTP glue is [`routes`]. What it shares with SEP-6/24 (the caller, assets and amounts,
//! quotes, callbacks) lives in [`crate::transfer`]; the money path afterwards (the payment
//! watcher, the outgoing-payments worker) is [`crate::payments`]'.
//!
//! `required_info_updates` of a transaction in `pending_transaction_info_update` is stored
//! as SEP-6 stores it, a flat `{<field>: {"description", "optional"?}}` map, and shown in
//! SEP-31's shape, `{"transaction": {...}}`.

pub mod config;
pub mod info;
pub mod request;
pub mod routes;
pub mod service;
#[cfg(test)]
mod tests;
pub mod transactions;
pub mod view;

pub use config::{Partners, Sep31Config};
pub use request::{Created, PostResponse};
pub use service::{Receive, ReceiveSettings};
