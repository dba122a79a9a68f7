//! `GET /sep24/interactive`: the link's token is exchanged, once, for a session cookie bound
//! to the transaction, and the wallet's preferences are kept on it.

use super::{flow_query, CallbackTarget, FlowCallback, FlowError, Interactive, Reply};
use crate::http::body::Params;
use crate::i18n::Lang;
use crate::integrations::{DepositIntegration, FeeIntegration, WithdrawalIntegration};
use crate::model::Transaction;
use crate::sep24::token::{link_token_hash, session_set_cookie};
use crate::store::{ChallengeStore, StoreError, TransactionStore};
use crate::time::Timestamp;

/// How many times the link exchange retries saving the wallet's preferences after a lost race.
const PREFERENCE_ATTEMPTS: usize = 3;

impl<I, S> Interactive<I, S>
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + ChallengeStore,
{
    /// `GET /sep24/interactive`: exchanges the link's token for a session.
    pub async fn open_link(&self, params: &Params) -> Reply {
        let lang = Lang::from_tag(params.get("lang"));
        self.try_open_link(params)
            .await
            .unwrap_or_else(|e| e.page(lang))
    }

    async fn try_open_link(&self, params: &Params) -> Result<Reply, FlowError> {
        let id = params.get("transaction_id").ok_or(FlowError::LinkInvalid)?;
        let token = params.get("token").ok_or(FlowError::LinkInvalid)?;
        let now = self.clock.now();
        let expires_at = self.keys.verify_link_token(id, token, now)?;
        let callback = FlowCallback::of(params)?;
        let on_change = params
            .get("on_change_callback")
            .map(|raw| CallbackTarget::parse(raw).map(|_| raw.to_owned()))
            .transpose()?;
        let transaction = self
            .sep24_transaction(id)
            .await?
            .ok_or(FlowError::LinkInvalid)?;
        if !self
            .store
            .consume(&link_token_hash(token), Timestamp::from_secs(expires_at))
            .await?
        {
            return Err(FlowError::LinkUsed);
        }
        let lang = params
            .get("lang")
            .map(|tag| Lang::from_tag(Some(tag)).code().to_owned());
        self.save_preferences(transaction, lang, on_change).await;
        let ttl = self.config.sep24.session_ttl.as_secs();
        let session = self.keys.issue_session(id, now.saturating_add(ttl));
        tracing::info!(
            transaction_id = id,
            "interactive link exchanged for a session"
        );
        Ok(Reply::Redirect {
            location: format!("interactive/form?{}", flow_query(id, &callback)),
            set_cookie: Some(session_set_cookie(
                &session.cookie_value,
                ttl,
                self.config.secure_cookie,
            )),
        })
    }

    /// Keeps the wallet's `lang` and `on_change_callback` on the transaction (conditional
    /// write, retried after a lost race; a failure is logged, the flow goes on).
    async fn save_preferences(
        &self,
        mut transaction: Transaction,
        lang: Option<String>,
        on_change: Option<String>,
    ) {
        for _ in 0..PREFERENCE_ATTEMPTS {
            let mut changed = false;
            if lang.is_some() && transaction.lang != lang {
                transaction.lang.clone_from(&lang);
                changed = true;
            }
            if on_change.is_some() && transaction.callback_url != on_change {
                transaction.callback_url.clone_from(&on_change);
                changed = true;
            }
            if !changed {
                return;
            }
            let expected = transaction.status;
            match self.store.update(&mut transaction, expected).await {
                Ok(()) => return,
                Err(StoreError::Conflict) => match self.store.get(&transaction.id).await {
                    Ok(Some(current)) => transaction = current,
                    _ => break,
                },
                Err(error) => {
                    tracing::warn!(transaction_id = %transaction.id, %error, "saving the wallet's preferences");
                    return;
                }
            }
        }
        tracing::warn!(transaction_id = %transaction.id, "the wallet's preferences were not saved: concurrent changes");
    }
}
