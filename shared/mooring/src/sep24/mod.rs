//! SEP-24 hosted deposit and withdrawal (digest section 5).
//!
//! - the transfer API (`sep24-transfer`): `/info`, `/fee`, the two `POST .../interactive`
//!   endpoints that open a transaction and answer the interactive URL, and the wallet's
//!   `/transaction(s)` listings;
//! - the interactive flow ([`interactive`], `sep24-interactive`): the pages the user fills in,
//!   driven by the anchor's `DepositIntegration` / `WithdrawalIntegration`, and the public
//!   more-info page;
//! - shared by both: the link/session credentials ([`token`]) and the SEP-24 transaction object
//!   ([`view`]).

pub mod interactive;
pub mod token;
pub mod view;

// The transfer API (`sep24-transfer`): the service, one module per endpoint, its HTTP glue.
pub mod deposit;
pub mod fee;
pub mod info;
pub mod routes;
pub mod service;
#[cfg(test)]
mod tests;
pub mod transactions;
pub mod withdraw;

pub use service::{Caller, InteractiveResponse, Transfer, TransferSettings};
