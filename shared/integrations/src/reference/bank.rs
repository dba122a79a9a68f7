//! The demo bank's HTTP API (`infra/demo_bank`), as the reference rail uses it: incoming
//! transfers by reference (the deposits' off-chain leg) and payouts by reference (the
//! withdrawals' and the SEP-31 receivers'). JSON over HTTP with short timeouts; every answer is
//! checked before use.
//!
//! * `GET /transfers?reference=R` -> `{"transfers": [{"id", "reference", "amount", "currency", ...}]}`,
//!   oldest first; `GET /transfers?since=N&limit=L`: every transfer after id `N` (the feed of
//!   incoming money, [`feed`]);
//! * `POST /payouts {"reference", "amount", "account"}` -> 201 (new) or 200 (the same payout again:
//!   the bank pays a reference once), 409 when the reference was paid with other details, 422
//!   `{"error": "account <x> is closed", "code": "account_closed"}` when the bank refuses the
//!   account (nothing is recorded: the reference can be paid later to another account;
//!   [`PayoutError::AccountRejected`]), 400 for a malformed request;
//! * `GET /payouts?reference=R` -> `{"payouts": [...]}`.
//!
//! The bank's operator side, which the rail never calls: `POST /accounts/closed {"account"}`
//! closes an account (`python -m infra.demo_bank close-account <ACCOUNT>`), `GET
//! /accounts/closed` lists the closed ones.

use std::time::Duration;

use mooring::config::{ConfigError, Source};
use mooring::integrations::IntegrationError;
use mooring::stellar::Amount;
use serde::Deserialize;

/// Largest answer read from the bank (a page of 200 records is far below it).
const MAX_BODY: usize = 1024 * 1024;

/// Where the reference rail's bank is (`DEMO_BANK_URL`; none: no deposit ever arrives and
/// withdrawals wait in `pending_external` for the operator) and how long a call may take
/// (`DEMO_BANK_TIMEOUT_MS`, default 3000).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankSettings {
    pub url: Option<String>,
    pub timeout: Duration,
}

impl Default for BankSettings {
    fn default() -> Self {
        Self {
            url: None,
            timeout: Duration::from_millis(3000),
        }
    }
}

impl BankSettings {
    pub fn from_source(src: &impl Source) -> Result<Self, ConfigError> {
        let mut settings = Self::default();
        if let Some(url) = src.get("DEMO_BANK_URL") {
            let parsed = url::Url::parse(url.trim()).map_err(|e| ConfigError::Invalid {
                name: "DEMO_BANK_URL",
                reason: e.to_string(),
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ConfigError::Invalid {
                    name: "DEMO_BANK_URL",
                    reason: "an http(s) URL is required".into(),
                });
            }
            settings.url = Some(url.trim().trim_end_matches('/').to_owned());
        }
        if let Some(ms) = src.get("DEMO_BANK_TIMEOUT_MS") {
            let ms: u64 = ms
                .trim()
                .parse()
                .ok()
                .filter(|ms| (1..=60_000).contains(ms))
                .ok_or_else(|| ConfigError::Invalid {
                    name: "DEMO_BANK_TIMEOUT_MS",
                    reason: "milliseconds between 1 and 60000".into(),
                })?;
            settings.timeout = Duration::from_millis(ms);
        }
        Ok(settings)
    }
}

/// Money that arrived at the bank with a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: String,
    pub reference: String,
    pub amount: Amount,
    pub currency: Option<String>,
    /// The account it came from, when the bank knows it (where a refund goes).
    pub sender: Option<String>,
    /// When the bank received it (`created_at`), when readable.
    pub received_at: Option<mooring::time::Timestamp>,
}

/// Money the bank paid out for a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    pub id: String,
    pub reference: String,
}

/// A client of the demo bank. Build once per cold start.
#[derive(Debug, Clone)]
pub struct DemoBank {
    url: String,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct RawRecord {
    id: serde_json::Value,
    reference: String,
    #[serde(default)]
    amount: Option<serde_json::Value>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    sender: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

impl RawRecord {
    fn id(&self) -> String {
        match &self.id {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct Transfers {
    transfers: Vec<RawRecord>,
}

#[derive(Deserialize)]
struct Payouts {
    payouts: Vec<RawRecord>,
}

/// Why a payout was not made ([`DemoBank::pay_out`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutError {
    /// The bank refused the account (e.g. it is closed), with the bank's reason: nothing was
    /// paid or recorded, so the same reference can be paid to another account.
    AccountRejected(String),
    /// Any other failure, as the integration reports it: `Unavailable` when the bank could not
    /// be reached or answered oddly (nothing was paid; retry), `Internal` when it refused the
    /// payout (another payout of the reference, a malformed request).
    Failed(IntegrationError),
}

impl std::fmt::Display for PayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayoutError::AccountRejected(reason) => {
                write!(f, "the bank refused the account: {reason}")
            }
            PayoutError::Failed(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for PayoutError {}

impl From<IntegrationError> for PayoutError {
    fn from(error: IntegrationError) -> Self {
        PayoutError::Failed(error)
    }
}

/// The bank's reason of a refusal (`{"error": ...}`), printable and short.
fn refusal_reason(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Refusal {
        error: String,
    }
    let refusal: Refusal = serde_json::from_slice(body).ok()?;
    let reason: String = refusal
        .error
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let reason = reason.trim();
    (!reason.is_empty()).then(|| reason.to_owned())
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> IntegrationError {
    IntegrationError::Unavailable(format!("demo bank, {what}: {e}"))
}

impl DemoBank {
    pub fn new(url: &str, timeout: Duration) -> Result<Self, IntegrationError> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .timeout(timeout)
            .user_agent(concat!(
                "mooring-reference-rail/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| IntegrationError::Internal(format!("demo bank client: {e}")))?;
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            client,
        })
    }

    /// The client for the settings, `None` when no bank is configured.
    pub fn from_settings(settings: &BankSettings) -> Result<Option<Self>, IntegrationError> {
        settings
            .url
            .as_deref()
            .map(|url| Self::new(url, settings.timeout))
            .transpose()
    }

    async fn read(
        response: reqwest::Response,
        what: &str,
    ) -> Result<(u16, Vec<u8>), IntegrationError> {
        let status = response.status().as_u16();
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(what, e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(unavailable(what, "answer too large"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }

    async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Vec<u8>, IntegrationError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        let response = self
            .client
            .get(format!("{}{path}?{query}", self.url))
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| unavailable(what, e))?;
        let (status, body) = Self::read(response, what).await?;
        if !(200..300).contains(&status) {
            return Err(unavailable(what, format!("HTTP {status}")));
        }
        Ok(body)
    }

    /// The transfers that arrived with `reference`, oldest first.
    pub async fn transfers(&self, reference: &str) -> Result<Vec<Transfer>, IntegrationError> {
        let body = self
            .get("/transfers", &[("reference", reference)], "transfers")
            .await?;
        Ok(read_transfers(&body)?
            .into_iter()
            .filter(|transfer| transfer.reference == reference)
            .collect())
    }

    /// The transfers that arrived after the one with id `since` (0: from the first), oldest
    /// first, at most `limit`.
    pub async fn transfers_after(
        &self,
        since: u64,
        limit: u32,
    ) -> Result<Vec<Transfer>, IntegrationError> {
        let (since, limit) = (since.to_string(), limit.to_string());
        let query = [("since", since.as_str()), ("limit", limit.as_str())];
        let body = self.get("/transfers", &query, "transfers").await?;
        read_transfers(&body)
    }

    /// The payout made for `reference`, if any.
    pub async fn payout(&self, reference: &str) -> Result<Option<Payout>, IntegrationError> {
        let body = self
            .get("/payouts", &[("reference", reference)], "payouts")
            .await?;
        let listed: Payouts =
            serde_json::from_slice(&body).map_err(|e| unavailable("payouts", e))?;
        Ok(listed
            .payouts
            .into_iter()
            .find(|record| record.reference == reference)
            .map(|record| Payout {
                id: record.id(),
                reference: record.reference,
            }))
    }

    /// Pays `amount` out to `account` for `reference`, once: the same call again answers the
    /// payout already made. A payout of the reference with other details is an error; an
    /// account the bank refuses is [`PayoutError::AccountRejected`] (nothing paid).
    pub async fn pay_out(
        &self,
        reference: &str,
        amount: Amount,
        account: &str,
    ) -> Result<Payout, PayoutError> {
        let body = serde_json::json!({
            "reference": reference,
            "amount": amount.to_string(),
            "account": account,
        });
        let response = self
            .client
            .post(format!("{}/payouts", self.url))
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| unavailable("payout", e))?;
        let (status, body) = Self::read(response, "payout").await?;
        match status {
            200 | 201 => {
                let record: RawRecord =
                    serde_json::from_slice(&body).map_err(|e| unavailable("payout", e))?;
                Ok(Payout {
                    id: record.id(),
                    reference: record.reference,
                })
            }
            409 => Err(PayoutError::Failed(IntegrationError::Internal(format!(
                "the demo bank already paid reference {reference} with another amount or account"
            )))),
            422 => Err(PayoutError::AccountRejected(
                refusal_reason(&body).unwrap_or_else(|| format!("account {account} refused")),
            )),
            400 => Err(PayoutError::Failed(IntegrationError::Internal(format!(
                "the demo bank refused the payout: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            )))),
            status => Err(unavailable("payout", format!("HTTP {status}")).into()),
        }
    }
}

/// The transfers of a `{"transfers": [...]}` answer; one with an unreadable amount is left out
/// (logged).
fn read_transfers(body: &[u8]) -> Result<Vec<Transfer>, IntegrationError> {
    let listed: Transfers =
        serde_json::from_slice(body).map_err(|e| unavailable("transfers", e))?;
    let mut transfers = Vec::new();
    for record in listed.transfers {
        let amount = match &record.amount {
            Some(serde_json::Value::String(s)) => s.parse::<Amount>().ok(),
            Some(serde_json::Value::Number(n)) => n.to_string().parse::<Amount>().ok(),
            _ => None,
        };
        let Some(amount) = amount else {
            tracing::warn!(
                transfer = %record.id(),
                "demo bank transfer with an unreadable amount, ignored"
            );
            continue;
        };
        transfers.push(Transfer {
            id: record.id(),
            received_at: record
                .created_at
                .as_deref()
                .and_then(mooring::time::Timestamp::parse_rfc3339),
            reference: record.reference,
            amount,
            currency: record.currency,
            sender: record.sender.filter(|s| !s.trim().is_empty()),
        });
    }
    Ok(transfers)
}

/// The bank reference of a deposit's refund: `refund-<transaction id>`.
pub fn refund_reference(transaction_id: &str) -> String {
    format!("refund-{transaction_id}")
}

/// How many deposits are looked up at the bank at once.
const LOOKUPS_IN_PARALLEL: usize = 8;

/// The reference a deposit's transfer carries: the one stored with its instructions
/// (`organization.reference`), else the rule that made it.
pub fn reference_of(transaction: &mooring::model::Transaction) -> String {
    transaction
        .instructions
        .as_ref()
        .and_then(|instructions| instructions.get("organization.reference"))
        .and_then(|entry| entry.get("value"))
        .and_then(|value| value.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| crate::reference::rail::deposit_reference(&transaction.id))
}

impl<S> crate::reference::Anchor<S> {
    /// The bank, or `None` after logging (once) that there is none.
    pub(crate) fn bank(&self) -> Option<&DemoBank> {
        if self.bank.is_none()
            && !self
                .bank_missing_logged
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!(
                "DEMO_BANK_URL is not set: no deposit funds arrive, and withdrawals and SEP-31 \
                 payouts wait in pending_external for the operator"
            );
        }
        self.bank.as_ref()
    }

    pub(crate) async fn received_deposits(
        &self,
        pending: &[mooring::model::Transaction],
    ) -> Result<Vec<mooring::integrations::ReceivedDeposit>, IntegrationError> {
        let Some(bank) = self.bank() else {
            return Ok(Vec::new());
        };
        let jobs: Vec<(String, String)> = pending
            .iter()
            .filter(|t| t.kind.is_deposit())
            .map(|t| (t.id.clone(), reference_of(t)))
            .collect();
        let mut lookups = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(LOOKUPS_IN_PARALLEL) {
            let calls: Vec<_> = chunk
                .iter()
                .map(|(id, reference)| transfers_of(bank.clone(), id.clone(), reference.clone()))
                .collect();
            lookups.extend(futures_util::future::join_all(calls).await);
        }
        let mut received = Vec::new();
        let mut first_error = None;
        let mut failures = 0usize;
        for (transaction_id, transfers) in lookups {
            match transfers {
                Ok(transfers) => {
                    let Some(first) = transfers.first() else {
                        continue;
                    };
                    if transfers.len() > 1 {
                        tracing::warn!(
                            transaction_id = %transaction_id,
                            transfers = transfers.len(),
                            "several bank transfers carry this deposit's reference; the first counts, the operator refunds the others"
                        );
                    }
                    received.push(mooring::integrations::ReceivedDeposit {
                        transaction_id: transaction_id.clone(),
                        amount_in: first.amount,
                        amount_fee: None,
                        external_transaction_id: Some(first.id.clone()),
                    });
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(transaction_id = %transaction_id, error = %e, "demo bank lookup failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            // Nothing could be read: tell the poller (it retries on its next run).
            Some(e) if received.is_empty() && failures == jobs.len() => Err(e),
            _ => Ok(received),
        }
    }

    pub(crate) async fn pay_out(
        &self,
        transaction: &mooring::model::Transaction,
    ) -> Result<mooring::integrations::WithdrawalOutcome, IntegrationError> {
        use mooring::integrations::WithdrawalOutcome;

        let Some(bank) = self.bank() else {
            return Ok(WithdrawalOutcome::PendingExternal {
                external_transaction_id: None,
            });
        };
        let amount = transaction
            .amount_out
            .filter(|amount| *amount > Amount::ZERO)
            .ok_or_else(|| IntegrationError::Internal("the withdrawal has no amount_out".into()))?;
        // The whole account the user typed; `to` holds it masked, which no bank can pay.
        let Some(account) = transaction
            .payout_account
            .as_deref()
            .filter(|account| !account.is_empty())
        else {
            tracing::warn!(
                transaction_id = %transaction.id,
                to = transaction.to.as_deref().unwrap_or(""),
                "process_withdrawal: no payout account kept with the withdrawal; left in \
                 pending_external for the operator (pay it at the bank with the transaction id \
                 as the reference; the payout poller then completes it)"
            );
            return Ok(WithdrawalOutcome::PendingExternal {
                external_transaction_id: None,
            });
        };
        let payout = match bank.pay_out(&transaction.id, amount, account).await {
            Ok(payout) => payout,
            // Nothing was paid; the withdrawal ends in `error` with the bank's reason (the
            // operator refunds it), the account masked in it as everywhere the user looks.
            Err(PayoutError::AccountRejected(reason)) => {
                let masked = crate::reference::rail::mask_account(account);
                return Err(IntegrationError::Invalid(format!(
                    "the bank refused the payout account {masked}: {}",
                    reason.replace(account, &masked)
                )));
            }
            Err(PayoutError::Failed(error)) => return Err(error),
        };
        tracing::info!(
            transaction_id = %transaction.id,
            payout = %payout.id,
            amount = %amount,
            "process_withdrawal: paid out at the demo bank"
        );
        Ok(WithdrawalOutcome::Completed {
            external_transaction_id: Some(payout.id),
        })
    }

    /// Pays `amount` of a deposit back to the account its (first) transfer came from, once per
    /// deposit (reference `refund-<id>`); answers the bank's payout id.
    pub(crate) async fn refund_transfer(
        &self,
        transaction: &mooring::model::Transaction,
        amount: Amount,
    ) -> Result<Option<String>, IntegrationError> {
        let Some(bank) = self.bank() else {
            return Err(IntegrationError::invalid(
                "no bank is configured (DEMO_BANK_URL) to refund the deposit through",
            ));
        };
        let transfers = bank.transfers(&reference_of(transaction)).await?;
        let Some(sender) = transfers.first().and_then(|t| t.sender.clone()) else {
            return Err(IntegrationError::invalid(
                "the bank does not say which account the deposit came from",
            ));
        };
        let reference = refund_reference(&transaction.id);
        let payout = match bank.pay_out(&reference, amount, &sender).await {
            Ok(payout) => payout,
            Err(PayoutError::AccountRejected(reason)) => {
                let masked = crate::reference::rail::mask_account(&sender);
                return Err(IntegrationError::Invalid(format!(
                    "the bank refused the refund to account {masked}: {}",
                    reason.replace(&sender, &masked)
                )));
            }
            Err(PayoutError::Failed(error)) => return Err(error),
        };
        tracing::info!(transaction_id = %transaction.id, payout = %payout.id, %amount,
            "refund_deposit: refunded at the demo bank");
        Ok(Some(payout.id))
    }

    pub(crate) async fn completed_payouts(
        &self,
        pending: &[mooring::model::Transaction],
    ) -> Result<Vec<mooring::integrations::CompletedPayout>, IntegrationError> {
        let Some(bank) = self.bank() else {
            return Ok(Vec::new());
        };
        let ids: Vec<String> = pending.iter().map(|t| t.id.clone()).collect();
        let mut lookups = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(LOOKUPS_IN_PARALLEL) {
            let calls: Vec<_> = chunk
                .iter()
                .map(|id| payout_of(bank.clone(), id.clone()))
                .collect();
            lookups.extend(futures_util::future::join_all(calls).await);
        }
        let mut completed = Vec::new();
        let mut first_error = None;
        for (transaction_id, payout) in lookups {
            match payout {
                Ok(Some(payout)) => completed.push(mooring::integrations::CompletedPayout {
                    transaction_id: transaction_id.clone(),
                    external_transaction_id: Some(payout.id),
                }),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(transaction_id = %transaction_id, error = %e, "demo bank lookup failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if completed.is_empty() => Err(e),
            _ => Ok(completed),
        }
    }
}

async fn transfers_of(
    bank: DemoBank,
    transaction_id: String,
    reference: String,
) -> (String, Result<Vec<Transfer>, IntegrationError>) {
    let transfers = bank.transfers(&reference).await;
    (transaction_id, transfers)
}

async fn payout_of(
    bank: DemoBank,
    transaction_id: String,
) -> (String, Result<Option<Payout>, IntegrationError>) {
    let payout = bank.payout(&transaction_id).await;
    (transaction_id, payout)
}

pub(crate) mod feed;
#[cfg(test)]
pub(crate) mod tests;
