//! Mooring's shared crate: the SEP logic, the Stellar core, the ports (Horizon, ...) with their
//! adapters, configuration, and the integration traits an anchor implements.
//!
//! Nothing here names a Lambda or AWS type: the functions in `functions/` are thin glue.

#![forbid(unsafe_code)]

pub mod auth;
#[cfg(any(
    feature = "dynamodb",
    feature = "sqs",
    feature = "kms",
    feature = "secrets"
))]
pub mod aws;
pub mod clock;
pub mod config;
pub mod decimal;
pub mod error;
pub mod horizon;
pub mod http;
pub mod i18n;
pub mod integrations;
pub mod lifecycle;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod outbound;
pub mod payments;
pub mod pricing;
pub mod queue;
pub mod secrets;
pub mod sep1;
pub mod sep10;
pub mod sep12;
pub mod sep24;
pub mod sep31;
pub mod sep38;
pub mod sep6;
pub mod sep9;
pub mod startup;
pub mod status_callbacks;
pub mod stellar;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod transfer;
