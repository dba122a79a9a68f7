//! The integration traits: where an anchor's own business logic plugs into Mooring.
//! Operators implement them in `shared/integrations` (crate `anchor-integrations`); every
//! method has a sensible default, so an implementation only overrides what it needs.

use crate::config::AnchorConfig;

/// Adds to or changes the generated stellar.toml (SEP-1).
pub trait TomlIntegration: Send + Sync {
    /// Called once per cold start with the table Mooring generated from configuration; the
    /// result is served for the life of the function instance.
    fn extend_toml(&self, toml: &mut toml::Table, anchor: &AnchorConfig) {
        let _ = (toml, anchor);
    }
}
