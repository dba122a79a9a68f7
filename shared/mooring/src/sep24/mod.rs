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

pub mod token;
pub mod view;
