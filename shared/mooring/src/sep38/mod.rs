//! SEP-38 (Anchor RFQ API): indicative prices and firm quotes.
//!
//! - [`pricing`]: from the anchor's terms and the client's amount to the SEP's numbers.

pub mod pricing;
