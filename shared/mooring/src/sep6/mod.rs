//! SEP-6 programmatic deposit and withdrawal (digest section 6), the `sep6-transfer` function:
//!
//! - `/info` ([`info`], with the deprecated `/fee`);
//! - `/deposit`, `/withdraw` and their SEP-38 exchange variants ([`request`]): the request is
//!   checked, the transaction built, and the anchor's `ProgrammaticIntegration` hook asked what
//!   it needs;
//! - the KYC loop and `PATCH /transactions/:id` ([`update`]);
//! - the user's `/transaction(s)` ([`transactions`]) in SEP-6's transaction object ([`view`]).
//!
//! Its HTTP glue is [`routes`]. What SEP-6 shares with SEP-24 (the caller, assets and amounts,
//! quotes, history, callbacks) lives in [`crate::transfer`]; the money path afterwards is the
//! payment workers' ([`crate::payments`]), the same for both.

pub mod info;
pub mod request;
pub mod routes;
pub mod service;
#[cfg(test)]
mod tests;
pub mod transactions;
pub mod update;
pub mod view;

pub use request::{Direction, Sep6Response};
pub use service::{Transfer, TransferSettings};
