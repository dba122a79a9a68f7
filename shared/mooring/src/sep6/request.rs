//! SEP-6 `GET /deposit`, `GET /withdraw` and their exchange variants `GET /deposit-exchange`,
//! `GET /withdraw-exchange` (digest 6.2-6.5): check the request, build the transaction, ask
//! the direction's [`ProgrammaticIntegration`] hook what it needs, store the transaction and
//! answer (or answer one of SEP-6's 403s and store nothing).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::info::funding_method;
use super::service::Transfer;
use crate::config::{AssetConfig, Sep, TransferLimits};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::integrations::{
    CustomerIntegration, FeeIntegration, FeeRequest, Instructions, KycReview, Operation,
    ProgrammaticIntegration, Sep6Request,
};
use crate::model::{Kind, Protocol, QuoteContext, Transaction, TransactionStatus};
use crate::stellar::{Amount, Memo};
use crate::store::{QuoteStore, TransactionStore};
use crate::transfer::callback::parse_callback_url;
use crate::transfer::kyc_loop::{apply_answer, Applied, KycRefusal, KycStyle};
use crate::transfer::limits::number;
use crate::transfer::quote::{bind_quote, quote_for, use_quote, QuoteRequest};
use crate::transfer::{
    claimable_balance_supported, deposit_destination, enabled, find_asset, param, parse_account,
    parse_amount, refund_memo, refuse_other_users, set_amounts, store_error, Caller,
};

/// Which of the four request endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Deposit,
    DepositExchange,
    Withdraw,
    WithdrawExchange,
}

impl Direction {
    pub fn operation(self) -> Operation {
        match self {
            Direction::Deposit | Direction::DepositExchange => Operation::Deposit,
            Direction::Withdraw | Direction::WithdrawExchange => Operation::Withdraw,
        }
    }

    fn kind(self) -> Kind {
        match self {
            Direction::Deposit => Kind::Deposit,
            Direction::DepositExchange => Kind::DepositExchange,
            Direction::Withdraw => Kind::Withdrawal,
            Direction::WithdrawExchange => Kind::WithdrawalExchange,
        }
    }

    fn is_exchange(self) -> bool {
        matches!(
            self,
            Direction::DepositExchange | Direction::WithdrawExchange
        )
    }

    /// The parameter naming the on-chain asset's code.
    fn asset_param(self) -> &'static str {
        match self {
            Direction::Deposit | Direction::Withdraw => "asset_code",
            Direction::DepositExchange => "destination_asset",
            Direction::WithdrawExchange => "source_asset",
        }
    }

    /// The exchange's parameter naming the off-chain asset (a SEP-38 id).
    fn offchain_param(self) -> &'static str {
        match self.operation() {
            Operation::Deposit => "source_asset",
            Operation::Withdraw => "destination_asset",
        }
    }
}

/// What a request endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Sep6Response {
    /// 200: a deposit was opened.
    Deposit(DepositAnswer),
    /// 200: a withdrawal was opened.
    Withdraw(WithdrawAnswer),
    /// 403 `non_interactive_customer_info_needed` (deprecated KYC style): nothing stored.
    CustomerInfoNeeded { fields: Vec<String> },
    /// 403 `customer_info_status`: nothing stored.
    CustomerInfoStatus {
        status: KycReview,
        more_info_url: Option<String>,
        eta: Option<u64>,
    },
}

/// `{"message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtraInfo {
    pub message: String,
}

/// The 200 body of `/deposit(-exchange)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepositAnswer {
    /// Deprecated free text, still required by the validator.
    pub how: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<Instructions>,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<u64>,
    #[serde(flatten)]
    pub limits: LimitsAnswer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_info: Option<ExtraInfo>,
}

/// The 200 body of `/withdraw(-exchange)` (the validator allows exactly these keys).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WithdrawAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<u64>,
    #[serde(flatten)]
    pub limits: LimitsAnswer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_info: Option<ExtraInfo>,
}

/// `min_amount`, `max_amount`, `fee_fixed`, `fee_percent` as JSON numbers, where configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LimitsAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_amount: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee_fixed: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee_percent: Option<Value>,
}

impl LimitsAnswer {
    fn of(limits: &TransferLimits) -> Self {
        Self {
            min_amount: limits.min_amount.map(number),
            max_amount: limits.max_amount.map(number),
            fee_fixed: limits.fee_fixed.map(number),
            fee_percent: limits.fee_percent.map(number),
        }
    }
}

/// ISO 3166-1 codes are 2 (alpha-2) or 3 (alpha-3, what SEP-6 names) letters.
fn check_country(params: &BTreeMap<String, String>) -> Result<(), ApiError> {
    match param(params, "country_code") {
        Some(code)
            if !(2..=3).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_alphabetic()) =>
        {
            Err(ApiError::bad_request(
                "'country_code' must be an ISO 3166-1 alpha-3 code, e.g. USA",
            ))
        }
        _ => Ok(()),
    }
}

impl<I, S> Transfer<I, S>
where
    I: ProgrammaticIntegration + FeeIntegration + CustomerIntegration,
    S: TransactionStore + QuoteStore,
{
    /// One of the four request endpoints.
    ///
    /// Deposit (`account` G/M, default the caller's; `memo`/`memo_type` of the deposit payment;
    /// `claimable_balance_supported`), withdrawal (`account`: the paying account, default the
    /// caller's; `refund_memo`/`refund_memo_type`); both: `funding_method` (or its old name
    /// `type`; optional when the direction has one), `amount` (within limits; required for an
    /// exchange, where it is the quote's `sell_amount`), `on_change_callback`, `lang`,
    /// `country_code`. An exchange needs `quote_id`: Mooring exchanges at firm SEP-38 quotes
    /// only (made with context `sep6`), whose assets, amount and delivery method must be the
    /// request's.
    pub async fn request(
        &self,
        caller: &Caller,
        direction: Direction,
        params: &BTreeMap<String, String>,
    ) -> Result<Sep6Response, ApiError> {
        let operation = direction.operation();
        let asset = find_asset(
            &self.anchor.assets,
            Sep::Sep6,
            param(params, direction.asset_param()),
            param(params, "asset_issuer"),
        )
        .map_err(
            |error| match (&error, param(params, direction.asset_param())) {
                (ApiError::BadRequest(_), None) => {
                    ApiError::bad_request(format!("'{}' is required", direction.asset_param()))
                }
                _ => error,
            },
        )?;
        let limits = enabled(operation, asset)?;
        let method = funding_method(
            limits,
            asset,
            param(params, "funding_method"),
            param(params, "type"),
        )?;
        // A wallet that sends `funding_method` follows SEP-6 v4.2+, where KYC is asked for
        // through the transaction; older wallets (and the validator) expect the 403s.
        let style = if param(params, "funding_method").is_some() {
            KycStyle::Transaction
        } else {
            KycStyle::Deprecated
        };
        let lang = Lang::from_tag(param(params, "lang"));
        check_country(params)?;
        let callback_url = param(params, "on_change_callback")
            .map(|value| {
                parse_callback_url(value).ok_or_else(|| {
                    ApiError::bad_request("'on_change_callback' must be an absolute http(s) URL")
                })
            })
            .transpose()?;
        let user = caller.key();

        let mut transaction = Transaction::new(
            Protocol::Sep6,
            direction.kind(),
            TransactionStatus::PendingUserTransferStart,
            user,
            asset.asset.0.clone(),
            self.now(),
        );
        transaction.muxed = caller.user.muxed;
        transaction.client_domain = caller.client_domain.clone();
        transaction.lang = Some(lang.code().to_owned());
        transaction.funding_method = Some(method.to_owned());
        transaction.callback_url = callback_url.map(|url| url.to_string());
        match operation {
            Operation::Deposit => {
                let (destination, memo) = deposit_destination(caller, params)?;
                refuse_other_users(caller, &destination, &memo)?;
                transaction.to = Some(destination.to_string());
                if let Some(value) = memo.value() {
                    transaction.deposit_memo = Some(value);
                    transaction.deposit_memo_type = Some(memo.type_name().to_owned());
                }
                transaction.claimable_balance_supported = claimable_balance_supported(params)?;
            }
            Operation::Withdraw => {
                let source = match param(params, "account") {
                    Some(account) => parse_account(account)?,
                    None => caller.address(),
                };
                refuse_other_users(caller, &source, &Memo::None)?;
                transaction.from = Some(source.to_string());
                if let Some(memo) = refund_memo(params)? {
                    transaction.refund_memo = memo.value();
                    transaction.refund_memo_type = Some(memo.type_name().to_owned());
                }
            }
        }

        let quote = if direction.is_exchange() {
            let offchain = direction.offchain_param();
            if param(params, offchain).is_none() {
                return Err(ApiError::bad_request(format!("'{offchain}' is required")));
            }
            if param(params, "amount").is_none() {
                return Err(ApiError::bad_request("'amount' is required"));
            }
            let id = param(params, "quote_id").ok_or_else(|| {
                ApiError::bad_request(
                    "'quote_id' is required: this anchor exchanges at firm SEP-38 quotes \
                     (POST /sep38/quote with context sep6)",
                )
            })?;
            let request = QuoteRequest {
                context: QuoteContext::Sep6,
                operation,
                asset,
                limits,
                params,
            };
            let quote = quote_for(&*self.store, &user, id, self.now(), request).await?;
            let quoted_method = match operation {
                Operation::Deposit => quote.sell_delivery_method.as_deref(),
                Operation::Withdraw => quote.buy_delivery_method.as_deref(),
            };
            if quoted_method.is_some_and(|quoted| quoted != method) {
                return Err(ApiError::bad_request(
                    "'quote_id': the quote's delivery method is not the 'funding_method'",
                ));
            }
            bind_quote(&mut transaction, &quote)?;
            Some(quote)
        } else {
            if param(params, "quote_id").is_some() {
                return Err(ApiError::bad_request(format!(
                    "'quote_id' belongs to /{}-exchange",
                    operation.as_str()
                )));
            }
            if let Some(amount) = param(params, "amount") {
                let amount = parse_amount(amount, asset, limits)?;
                self.price(&mut transaction, operation, method, asset, amount)
                    .await?;
            }
            None
        };

        let request = Sep6Request {
            operation,
            asset,
            lang,
            params,
        };
        let answer = match operation {
            Operation::Deposit => {
                self.integration
                    .process_sep6_deposit(request, &mut transaction)
                    .await?
            }
            Operation::Withdraw => {
                self.integration
                    .process_sep6_withdrawal(request, &mut transaction)
                    .await?
            }
        };
        let ready = match apply_answer(&mut transaction, answer, asset, style)? {
            Applied::Stored(ready) => ready,
            Applied::Refused(KycRefusal::InfoNeeded(fields)) => {
                return Ok(Sep6Response::CustomerInfoNeeded { fields })
            }
            Applied::Refused(KycRefusal::Status(status, eta)) => {
                let more_info_url = self.more_info_url(caller, param(params, "lang")).await;
                return Ok(Sep6Response::CustomerInfoStatus {
                    status,
                    more_info_url,
                    eta,
                });
            }
        };

        self.anchor.expiry.stamp(&mut transaction, None);
        if let Some(quote) = &quote {
            use_quote(&*self.store, quote, &transaction.id).await?;
        }
        self.store.insert(&transaction).await.map_err(store_error)?;
        crate::telemetry::record_transaction_id(&transaction.id);
        tracing::info!(
            transaction_id = %transaction.id,
            kind = transaction.kind.as_str(),
            status = transaction.status.as_str(),
            asset = %transaction.asset,
            "SEP-6 transaction opened"
        );
        let extra_info = ready
            .as_ref()
            .and_then(|ready| ready.message.clone())
            .or_else(|| transaction.required_info_message.clone())
            .map(|message| ExtraInfo { message });
        let eta = ready.as_ref().and_then(|ready| ready.eta);
        let limits = LimitsAnswer::of(limits);
        Ok(match operation {
            Operation::Deposit => {
                let instructions = ready.as_ref().and_then(|ready| {
                    (!ready.instructions.is_empty()).then(|| ready.instructions.clone())
                });
                let how = match (&ready, &instructions) {
                    (Some(ready), _) if ready.how.is_some() => {
                        ready.how.clone().unwrap_or_default()
                    }
                    (Some(_), Some(instructions)) => how_from(instructions),
                    (Some(_), None) => "Send the funds as agreed with the anchor; this \
                                        transaction's id identifies them."
                        .to_owned(),
                    (None, _) => waiting_how(&transaction),
                };
                Sep6Response::Deposit(DepositAnswer {
                    how,
                    instructions,
                    id: transaction.id,
                    eta,
                    limits,
                    extra_info,
                })
            }
            Operation::Withdraw => Sep6Response::Withdraw(WithdrawAnswer {
                account_id: transaction.receiving_account.map(|a| a.to_string()),
                memo_type: transaction.receiving_memo_type,
                memo: transaction.receiving_memo,
                id: transaction.id,
                eta,
                limits,
                extra_info,
            }),
        })
    }

    /// Sets `amount_in`, the fee (the anchor's [`FeeIntegration`], told the funding method as
    /// the fee `type`) and `amount_out` of an amount the wallet sent.
    async fn price(
        &self,
        transaction: &mut Transaction,
        operation: Operation,
        method: &str,
        asset: &AssetConfig,
        amount: Amount,
    ) -> Result<(), ApiError> {
        let request = FeeRequest {
            operation,
            fee_type: Some(method),
            asset,
            amount,
            user: Some(&transaction.user),
        };
        let fee = self.integration.fee_details(&request).await?;
        set_amounts(transaction, asset, amount, fee)
    }

    /// The customer's status page ([`CustomerIntegration::more_info_url`]), with the request's
    /// `lang` appended if it sent one; none when the integration has none or fails (logged).
    async fn more_info_url(&self, caller: &Caller, lang: Option<&str>) -> Option<String> {
        match self.integration.more_info_url(&caller.key()).await {
            Ok(Some(url)) => Some(match (lang, url::Url::parse(&url)) {
                (Some(lang), Ok(mut parsed)) => {
                    parsed.query_pairs_mut().append_pair("lang", lang);
                    parsed.to_string()
                }
                _ => url,
            }),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, "more_info_url");
                None
            }
        }
    }
}

/// `how` from the instructions: each `description: value`.
fn how_from(instructions: &Instructions) -> String {
    let lines: Vec<String> = instructions
        .values()
        .map(|i| format!("{}: {}", i.description, i.value))
        .collect();
    lines.join("; ")
}

/// `how` of a deposit that waits for the KYC loop or a PATCH.
fn waiting_how(transaction: &Transaction) -> String {
    match transaction.status {
        TransactionStatus::PendingTransactionInfoUpdate => format!(
            "Update the transaction (PATCH /transactions/{}) with the fields it lists; the \
             instructions follow on GET /transaction.",
            transaction.id
        ),
        _ => format!(
            "Complete your KYC information through SEP-12 (GET /customer?transaction_id={}); \
             the instructions follow on GET /transaction.",
            transaction.id
        ),
    }
}
