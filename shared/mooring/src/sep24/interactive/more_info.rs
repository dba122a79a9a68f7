//! `GET /sep24/more-info`: the public page of a transaction (status and details), which posts
//! the transaction to the wallet's window when asked to.

use super::pages;
use super::{lang_of, CallbackTarget, FlowError, Interactive, Reply};
use crate::http::body::Params;
use crate::i18n::Lang;
use crate::integrations::{
    DepositIntegration, FeeIntegration, FlowContext, Page, PageContent, WithdrawalIntegration,
};
use crate::sep24::view::{Envelope, TransactionView};
use crate::store::{ChallengeStore, TransactionStore};

impl<I, S> Interactive<I, S>
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + ChallengeStore,
{
    /// `GET /sep24/more-info`: the public page of a transaction.
    pub async fn more_info(&self, params: &Params) -> Reply {
        let lang = Lang::from_tag(params.get("lang"));
        self.try_more_info(params)
            .await
            .unwrap_or_else(|e| e.page(lang))
    }

    async fn try_more_info(&self, params: &Params) -> Result<Reply, FlowError> {
        let id = params.get("id").ok_or(FlowError::NotFound)?;
        let transaction = self
            .sep24_transaction(id)
            .await?
            .ok_or(FlowError::NotFound)?;
        let lang = match params.get("lang") {
            Some(tag) => Lang::from_tag(Some(tag)),
            None => lang_of(&transaction),
        };
        let content = match self.asset_of(&transaction) {
            Ok(asset) => self.content(
                Page::MoreInfo,
                None,
                FlowContext {
                    transaction: &transaction,
                    asset,
                    lang,
                },
            ),
            Err(_) => PageContent::default(),
        };
        let post_message = match params.get("callback").map(CallbackTarget::parse) {
            Some(Ok(CallbackTarget::PostMessage)) => {
                let envelope = Envelope(TransactionView::new(
                    &transaction,
                    &self.config.anchor.public_url,
                ));
                let value = serde_json::to_value(&envelope)
                    .map_err(|e| FlowError::Internal(format!("serializing: {e}")))?;
                Some(pages::script_json(&value))
            }
            _ => None,
        };
        Ok(pages::more_info(lang, &transaction, content, post_message))
    }
}
