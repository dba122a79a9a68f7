//! `GET|POST /sep24/interactive/form` and `GET /sep24/interactive/return`: the integration's
//! forms step by step (or its external flow), each submission checked and stored with a
//! conditional write; the end of the flow (instructions, or the account and memo to pay), written
//! with the wallet's `callback` URL for the callback sender to post.

use std::collections::BTreeMap;

use http::StatusCode;

use super::fee::AmountRefusal;
use super::messages::{fill, messages};
use super::validate::{parse_amount, validate_form, FieldErrors};
use super::{
    flow_query, lang_of, more_info_location, operation_of, pages, CallbackTarget, FlowCallback,
    FlowError, Interactive, Reply,
};
use crate::config::AssetConfig;
use crate::http::body::Params;
use crate::i18n::Lang;
use crate::integrations::{
    DepositIntegration, FeeIntegration, FieldKind, FlowContext, Form, IntegrationError, Page,
    WithdrawalIntegration,
};
use crate::model::{Transaction, TransactionStatus};
use crate::sep24::token::Session;
use crate::store::{ChallengeStore, StoreError, TransactionStore};
use crate::transfer::set_withdrawal_destination;

/// The step name of the confirmation page Mooring shows when the integration has no form left
/// but the transaction is still `incomplete` (nothing changes on a `GET`).
pub const CONFIRM_STEP: &str = "mooring-confirm";

impl<I, S> Interactive<I, S>
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + ChallengeStore,
{
    /// The form page of `transaction` with `form`.
    #[allow(clippy::too_many_arguments)]
    async fn form_page(
        &self,
        status: StatusCode,
        transaction: &Transaction,
        form: &Form,
        confirm: bool,
        session: &Session,
        submitted: Option<&Params>,
        errors: FieldErrors,
        form_error: Option<String>,
    ) -> Result<Reply, FlowError> {
        let asset = self.asset_of(transaction)?;
        let lang = lang_of(transaction);
        let m = messages(lang);
        let context = FlowContext {
            transaction,
            asset,
            lang,
        };
        let content = self.content(Page::Form, Some(form), context);
        let limits = operation_of(transaction).limits(asset);
        let code = transaction.asset.code();
        let amount_help = limits.and_then(|l| match (l.min_amount, l.max_amount) {
            (Some(min), Some(max)) => Some(fill(
                m.amount_range_help,
                &[
                    ("min", &min.to_string()),
                    ("max", &max.to_string()),
                    ("asset", code),
                ],
            )),
            (Some(min), None) => Some(fill(
                m.amount_min_help,
                &[("min", &min.to_string()), ("asset", code)],
            )),
            (None, Some(max)) => Some(fill(
                m.amount_max_help,
                &[("max", &max.to_string()), ("asset", code)],
            )),
            (None, None) => None,
        });
        // The fee of the amount shown, for pages rendered without JavaScript.
        let mut fee = None;
        if let Some(field) = form.fields.iter().find(|f| f.kind == FieldKind::Amount) {
            let shown = match submitted {
                Some(params) => params.get(&field.name).map(str::to_owned),
                None => field.value.clone(),
            };
            if let Some(amount) =
                shown.and_then(|s| parse_amount(&s, asset.significant_decimals, limits).ok())
            {
                if let Ok((f, out)) = self.fee_for(transaction, asset, amount, m).await {
                    fee = Some((f.total.to_string(), out.to_string()));
                }
            }
        }
        Ok(pages::form(
            status,
            pages::FormView {
                lang,
                transaction,
                form,
                content,
                csrf_token: session.csrf_token(),
                submitted,
                errors: &errors,
                form_error,
                fee,
                amount_help,
                confirm,
            },
        ))
    }

    /// The current page of an `incomplete` transaction: an external flow, the next form, or the
    /// confirmation when nothing is left to ask.
    async fn current_page(
        &self,
        status: StatusCode,
        transaction: &Transaction,
        session: &Session,
        callback: &FlowCallback,
        form_error: Option<String>,
    ) -> Result<Reply, FlowError> {
        if transaction.status != TransactionStatus::Incomplete {
            return Ok(Reply::redirect(more_info_location(
                &transaction.id,
                callback,
            )));
        }
        let asset = self.asset_of(transaction)?;
        let context = FlowContext {
            transaction,
            asset,
            lang: lang_of(transaction),
        };
        if let Some(url) = self.external_url(context) {
            return Ok(Reply::redirect(url));
        }
        let (form, confirm) = match self.next_form(context).await? {
            Some(form) => (form, false),
            None => (confirm_form(), true),
        };
        self.form_page(
            status,
            transaction,
            &form,
            confirm,
            session,
            None,
            FieldErrors::new(),
            form_error,
        )
        .await
    }

    /// After a lost race: the current state (more-info if the transaction moved on, else the
    /// current form with a note). Nothing is applied twice.
    async fn after_conflict(
        &self,
        id: &str,
        session: &Session,
        callback: &FlowCallback,
    ) -> Result<Reply, FlowError> {
        let current = self
            .sep24_transaction(id)
            .await?
            .ok_or(FlowError::NotFound)?;
        let note = messages(lang_of(&current)).concurrent_change.to_owned();
        self.current_page(
            StatusCode::CONFLICT,
            &current,
            session,
            callback,
            Some(note),
        )
        .await
    }

    /// `GET /sep24/interactive/form`.
    pub async fn show_form(&self, params: &Params, cookie: Option<&str>) -> Reply {
        let lang = Lang::from_tag(params.get("lang"));
        match self.session_transaction(params, cookie).await {
            Err(e) => e.page(lang),
            Ok((session, transaction)) => {
                let lang = lang_of(&transaction);
                let result = match FlowCallback::of(params) {
                    Ok(callback) => {
                        self.current_page(StatusCode::OK, &transaction, &session, &callback, None)
                            .await
                    }
                    Err(e) => Err(e),
                };
                result.unwrap_or_else(|e| e.page(lang))
            }
        }
    }

    /// `POST /sep24/interactive/form`: `submitted` are the body's fields.
    pub async fn submit_form(
        &self,
        params: &Params,
        submitted: Result<Params, FlowError>,
        cookie: Option<&str>,
    ) -> Reply {
        let lang = Lang::from_tag(params.get("lang"));
        match self.session_transaction(params, cookie).await {
            Err(e) => e.page(lang),
            Ok((session, transaction)) => {
                let lang = lang_of(&transaction);
                self.try_submit(params, submitted, session, transaction)
                    .await
                    .unwrap_or_else(|e| e.page(lang))
            }
        }
    }

    async fn try_submit(
        &self,
        params: &Params,
        submitted: Result<Params, FlowError>,
        session: Session,
        transaction: Transaction,
    ) -> Result<Reply, FlowError> {
        let submitted = submitted?;
        if !submitted
            .get("csrf_token")
            .is_some_and(|token| session.accepts_csrf(token))
        {
            return Err(FlowError::Csrf);
        }
        let callback = FlowCallback::of(params)?;
        if transaction.status != TransactionStatus::Incomplete {
            return Ok(Reply::redirect(more_info_location(
                &transaction.id,
                &callback,
            )));
        }
        let asset = self.asset_of(&transaction)?;
        let lang = lang_of(&transaction);
        let m = messages(lang);
        let context = FlowContext {
            transaction: &transaction,
            asset,
            lang,
        };
        if self.external_url(context).is_some() {
            // The user belongs on the external flow, which the form page sends them to.
            return Ok(Reply::redirect(format!(
                "form?{}",
                flow_query(&transaction.id, &callback)
            )));
        }
        let (form, confirm) = match self.next_form(context).await? {
            Some(form) => (form, false),
            None => (confirm_form(), true),
        };
        if submitted.get("step") != Some(form.step.as_str()) {
            tracing::info!(transaction_id = %transaction.id, "a stale step was submitted");
            return self
                .form_page(
                    StatusCode::CONFLICT,
                    &transaction,
                    &form,
                    confirm,
                    &session,
                    None,
                    FieldErrors::new(),
                    Some(m.stale_step.to_owned()),
                )
                .await;
        }
        let limits = operation_of(&transaction).limits(asset);
        let invalid = |errors: FieldErrors, form_error: Option<String>| {
            self.form_page(
                StatusCode::BAD_REQUEST,
                &transaction,
                &form,
                confirm,
                &session,
                Some(&submitted),
                errors,
                form_error,
            )
        };
        let values = match validate_form(&form, &submitted, asset.significant_decimals, limits, m) {
            Ok(values) => values,
            Err(errors) => return invalid(errors, None).await,
        };

        let mut updated = transaction.clone();
        if let Some(field) = form.fields.iter().find(|f| f.kind == FieldKind::Amount) {
            if let Some(amount) = values.get(&field.name).and_then(|v| v.parse().ok()) {
                let (fee, out) = match self.fee_for(&transaction, asset, amount, m).await {
                    Ok(fee) => fee,
                    Err(AmountRefusal::Field(message)) => {
                        let errors = FieldErrors::from([(field.name.clone(), message)]);
                        return invalid(errors, None).await;
                    }
                    Err(AmountRefusal::Flow(error)) => return Err(error),
                };
                let asset_id = transaction.asset.sep38_id();
                updated.amount_in = Some(amount);
                updated.amount_in_asset = Some(asset_id.clone());
                updated.fee_details = Some(fee.details(asset_id.clone()));
                updated.amount_out = Some(out);
                updated.amount_out_asset = Some(asset_id);
            }
        }
        if !confirm {
            match self
                .after_validation(&mut updated, &form, &values, lang)
                .await
            {
                Ok(()) => {}
                Err(IntegrationError::Invalid(message)) => {
                    return invalid(FieldErrors::new(), Some(message)).await;
                }
                Err(other) => return Err(other.into()),
            }
        }
        self.keep_identity(&mut updated, &transaction);

        // What comes next is decided on the updated transaction, so that finishing the flow
        // is one conditional write with the form's changes.
        let finished = updated.status == TransactionStatus::Incomplete && {
            let context = FlowContext {
                transaction: &updated,
                asset,
                lang,
            };
            self.external_url(context).is_none() && self.next_form(context).await?.is_none()
        };
        if finished {
            self.finalize(&mut updated, asset, lang).await?;
        }
        remember_flow_callback(&mut updated, &callback);
        self.stamp_deadline(&mut updated);
        match self
            .store
            .update(&mut updated, TransactionStatus::Incomplete)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                tracing::info!(transaction_id = %transaction.id, "the form lost a race; showing the current state");
                return self
                    .after_conflict(&transaction.id, &session, &callback)
                    .await;
            }
            Err(other) => return Err(other.into()),
        }
        if updated.status == TransactionStatus::Incomplete {
            return Ok(Reply::redirect(format!(
                "form?{}",
                flow_query(&updated.id, &callback)
            )));
        }
        tracing::info!(
            transaction_id = %updated.id,
            status = %updated.status,
            "the interactive flow is complete"
        );
        Ok(Reply::redirect(more_info_location(&updated.id, &callback)))
    }

    /// The integration changes the transaction's data, never what identifies it; a status it
    /// sets is stamped with the time.
    fn keep_identity(&self, updated: &mut Transaction, read: &Transaction) {
        updated.id.clone_from(&read.id);
        updated.version = read.version;
        updated.protocol = read.protocol;
        updated.kind = read.kind;
        updated.user = read.user;
        updated.asset = read.asset.clone();
        updated.started_at = read.started_at;
        if updated.status != read.status {
            updated.updated_at = self.now();
        }
    }

    /// The deadline of the status the flow leaves the transaction in (read `incomplete`): the
    /// wait for the user's transfer once the flow is done.
    fn stamp_deadline(&self, updated: &mut Transaction) {
        self.config
            .anchor
            .expiry
            .stamp(updated, Some(TransactionStatus::Incomplete));
    }

    /// The end of the flow: a deposit gets its instructions, a withdrawal the account and memo
    /// to pay with; both wait for the user's transfer.
    async fn finalize(
        &self,
        transaction: &mut Transaction,
        asset: &AssetConfig,
        lang: Lang,
    ) -> Result<(), FlowError> {
        if transaction.kind.is_deposit() {
            let context = FlowContext {
                transaction,
                asset,
                lang,
            };
            let instructions = self.integration.instructions(context).await?;
            transaction.instructions = Some(
                serde_json::to_value(&instructions)
                    .map_err(|e| FlowError::Internal(format!("instructions: {e}")))?,
            );
        } else {
            set_withdrawal_destination(transaction, asset).map_err(FlowError::Internal)?;
        }
        transaction.status = TransactionStatus::PendingUserTransferStart;
        transaction.updated_at = self.now();
        Ok(())
    }

    /// `GET /sep24/interactive/return`: back from the integration's external flow.
    pub async fn return_from_external(&self, params: &Params, cookie: Option<&str>) -> Reply {
        let lang = Lang::from_tag(params.get("lang"));
        match self.session_transaction(params, cookie).await {
            Err(e) => e.page(lang),
            Ok((_, transaction)) => {
                let lang = lang_of(&transaction);
                self.try_return(params, transaction)
                    .await
                    .unwrap_or_else(|e| e.page(lang))
            }
        }
    }

    async fn try_return(
        &self,
        params: &Params,
        transaction: Transaction,
    ) -> Result<Reply, FlowError> {
        let callback = FlowCallback::of(params)?;
        let form = format!("form?{}", flow_query(&transaction.id, &callback));
        if transaction.status != TransactionStatus::Incomplete {
            return Ok(Reply::redirect(more_info_location(
                &transaction.id,
                &callback,
            )));
        }
        let query: BTreeMap<String, String> = params
            .names()
            .filter_map(|name| Some((name.to_owned(), params.get(name)?.to_owned())))
            .collect();
        let mut updated = transaction.clone();
        self.after_external(&mut updated, &query).await?;
        self.keep_identity(&mut updated, &transaction);
        if updated == transaction {
            return Ok(Reply::redirect(form));
        }
        remember_flow_callback(&mut updated, &callback);
        self.stamp_deadline(&mut updated);
        match self
            .store
            .update(&mut updated, TransactionStatus::Incomplete)
            .await
        {
            Ok(()) if updated.status != TransactionStatus::Incomplete => {
                Ok(Reply::redirect(more_info_location(&updated.id, &callback)))
            }
            // The form page shows whatever state won.
            Ok(()) | Err(StoreError::Conflict) => Ok(Reply::redirect(form)),
            Err(other) => Err(other.into()),
        }
    }
}

/// The write that ends the flow carries the wallet's `callback` URL: the callback sender posts
/// the transaction to it once (`status_callbacks::dispatch`), as it posts every status change.
fn remember_flow_callback(updated: &mut Transaction, callback: &FlowCallback) {
    if updated.status == TransactionStatus::Incomplete {
        return;
    }
    if let Some(CallbackTarget::Url(url)) = &callback.target {
        updated.flow_callback_url = Some(url.to_string());
    }
}

/// The confirmation step: no fields, one button.
fn confirm_form() -> Form {
    Form {
        step: CONFIRM_STEP.into(),
        fields: Vec::new(),
    }
}
