//! SEP-31 `GET /info` (digest 7.1), served without a token: per SEP-31 asset code, how
//! receivers are paid (`funding_methods`), the receive limits and fees (JSON numbers), whether
//! SEP-38 quotes are supported (the asset is also quoted through SEP-38; never required), and
//! the SEP-12 types of senders and receivers from [`ReceiveIntegration::info`].

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::service::Receive;
use crate::config::{AssetConfig, Sep, TransferLimits};
use crate::i18n::Lang;
use crate::integrations::ReceiveIntegration;
use crate::queue::Queue;
use crate::store::{QuoteStore, TransactionStore};
use crate::transfer::limits::entry;

/// The receive limits of a SEP-31 asset, if it receives.
pub fn receive_limits(asset: &AssetConfig) -> Option<&TransferLimits> {
    asset.receive.as_ref().filter(|limits| limits.enabled)
}

/// `{<type>: {"description": ...}}`.
fn types(types: &BTreeMap<String, String>) -> Value {
    types
        .iter()
        .map(|(name, description)| (name.clone(), json!({ "description": description })))
        .collect::<Map<String, Value>>()
        .into()
}

impl<I, S, Q> Receive<I, S, Q>
where
    I: ReceiveIntegration,
    S: TransactionStore + QuoteStore,
    Q: Queue,
{
    /// `GET /info` in `lang`. Assets are keyed by code; should two SEP-31 assets share a code,
    /// the first configured is shown.
    pub fn info(&self, lang: Lang) -> Value {
        let mut receive = Map::new();
        for asset in self.anchor.assets.iter().filter(|a| a.offers(Sep::Sep31)) {
            let code = asset.asset.code();
            let Some(limits) = receive_limits(asset) else {
                continue;
            };
            if receive.contains_key(code) {
                continue;
            }
            // The limits and fees as SEP-6/24 show them, less what SEP-31 does not name.
            let Value::Object(mut entry) = entry(Some(limits)) else {
                continue;
            };
            entry.remove("enabled");
            entry.remove("fee_minimum");
            entry.insert("funding_methods".into(), json!(limits.funding_methods));
            entry.insert("quotes_supported".into(), asset.offers(Sep::Sep38).into());
            entry.insert("quotes_required".into(), false.into());
            let extras = self.integration.info(asset, lang);
            entry.insert(
                "sep12".into(),
                json!({
                    "sender": { "types": types(&extras.sender_types) },
                    "receiver": { "types": types(&extras.receiver_types) },
                }),
            );
            receive.insert(code.to_owned(), Value::Object(entry));
        }
        json!({ "receive": receive })
    }
}
