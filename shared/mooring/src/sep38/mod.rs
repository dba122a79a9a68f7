//! SEP-38 (Anchor RFQ API): indicative prices and firm quotes.
//!
//! - [`config`]: the assets quoted (Stellar ones from `ASSETS`, off-chain ones from
//!   `OFFCHAIN_ASSETS`);
//! - [`service`]: the endpoints as a domain service over the anchor's `QuoteIntegration` and a
//!   quote store; the arithmetic is [`crate::pricing`]'s;
//! - [`view`]: the JSON bodies; [`routes`]: the HTTP glue.

pub mod config;
pub mod routes;
pub mod service;
pub mod view;

pub use config::{DeliveryMethod, Sep38Asset, Sep38Config};
pub use service::{QuoteSettings, Quotes};
