//! `GET /sep24/interactive/fee`, and the fee of an amount as the form pages show it.

use http::StatusCode;

use super::messages::{fill, messages, Messages};
use super::validate::parse_amount;
use super::{lang_of, operation_of, FlowError, Interactive, Reply};
use crate::config::AssetConfig;
use crate::http::body::Params;
use crate::i18n::Lang;
use crate::integrations::{
    DepositIntegration, Fee, FeeIntegration, FeeRequest, IntegrationError, WithdrawalIntegration,
};
use crate::model::Transaction;
use crate::stellar::Amount;
use crate::store::{ChallengeStore, TransactionStore};

/// An amount that does not pay its fee, or a fee the integration refused.
pub(super) enum AmountRefusal {
    /// Shown under the amount field.
    Field(String),
    Flow(FlowError),
}

impl<I, S> Interactive<I, S>
where
    I: DepositIntegration + WithdrawalIntegration + FeeIntegration,
    S: TransactionStore + ChallengeStore,
{
    /// The fee (with its breakdown) and amount out of `amount`.
    pub(super) async fn fee_for(
        &self,
        transaction: &Transaction,
        asset: &AssetConfig,
        amount: Amount,
        m: &Messages,
    ) -> Result<(Fee, Amount), AmountRefusal> {
        let request = FeeRequest {
            operation: operation_of(transaction),
            fee_type: None,
            asset,
            amount,
            user: Some(&transaction.user),
        };
        let fee = match self.integration.fee_details(&request).await {
            Ok(fee) => fee,
            Err(IntegrationError::Invalid(message)) => return Err(AmountRefusal::Field(message)),
            Err(other) => return Err(AmountRefusal::Flow(other.into())),
        };
        match amount.checked_sub(fee.total) {
            Some(out) if out > Amount::ZERO && fee.total >= Amount::ZERO => Ok((fee, out)),
            _ => Err(AmountRefusal::Field(fill(
                m.amount_below_fee,
                &[("fee", &fee.total.to_string())],
            ))),
        }
    }

    /// `GET /sep24/interactive/fee`: `{"fee", "amount_out"}` of an amount.
    pub async fn fee(&self, params: &Params, cookie: Option<&str>) -> Reply {
        let lang = Lang::from_tag(params.get("lang"));
        match self.session_transaction(params, cookie).await {
            Err(e) => e.json(lang),
            Ok((_, transaction)) => {
                let lang = lang_of(&transaction);
                self.try_fee(params, &transaction)
                    .await
                    .unwrap_or_else(|e| e.json(lang))
            }
        }
    }

    async fn try_fee(
        &self,
        params: &Params,
        transaction: &Transaction,
    ) -> Result<Reply, FlowError> {
        let asset = self.asset_of(transaction)?;
        let m = messages(lang_of(transaction));
        let limits = operation_of(transaction).limits(asset);
        let amount = parse_amount(
            params.get("amount").unwrap_or_default(),
            asset.significant_decimals,
            limits,
        )
        .map_err(|problem| FlowError::BadRequest(problem.message(m)))?;
        match self.fee_for(transaction, asset, amount, m).await {
            Ok((fee, out)) => Ok(Reply::Json {
                status: StatusCode::OK,
                body: serde_json::json!({"fee": fee.total.to_string(), "amount_out": out.to_string()}),
            }),
            Err(AmountRefusal::Field(message)) => Err(FlowError::BadRequest(message)),
            Err(AmountRefusal::Flow(error)) => Err(error),
        }
    }
}
