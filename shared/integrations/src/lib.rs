//! The anchor's business logic: THE one place an operator plugs in.
//!
//! Mooring does the SEP plumbing and calls the traits of `mooring::integrations` at the right
//! moments; this crate implements them for your anchor. Every trait method has a default, so
//! [`Anchor`] only overrides what your business needs. The functions in `functions/` use
//! `anchor_integrations::Anchor`; change the code here, rebuild, redeploy.

use mooring::config::AnchorConfig;
use mooring::integrations::TomlIntegration;

/// Your anchor. Implement the integration traits for it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Anchor;

impl TomlIntegration for Anchor {
    /// Add fields to stellar.toml that configuration does not cover, e.g. `[[PRINCIPALS]]`.
    fn extend_toml(&self, toml: &mut toml::Table, anchor: &AnchorConfig) {
        let _ = (toml, anchor);
    }
}
