use std::time::Duration;

use super::records::{base_fee_from_fee_stats, payments_from_horizon_json, rejection_from_problem};
use super::{
    AccountRecord, Horizon, HorizonError, PaymentRecord, Submission, TransactionRecord,
    MAX_PAGE_LIMIT,
};
use crate::stellar::AccountId;

/// Largest Horizon response read; an account with many trustlines, or a page of 200 payments
/// with their transactions, stays well below it.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// How long a submission may wait for its ledger: Horizon's own timeout (30 s, then a 504) and a
/// margin. Reaching it gives [`Submission::Unknown`].
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(35);

/// Horizon over HTTPS (rustls), with explicit timeouts. Build once at cold start.
#[derive(Debug, Clone)]
pub struct HttpHorizon {
    base_url: String,
    client: reqwest::Client,
    submit_timeout: Duration,
}

/// A response read to its end (within [`MAX_BODY`]).
struct Answer {
    status: reqwest::StatusCode,
    body: Vec<u8>,
}

impl HttpHorizon {
    pub fn new(base_url: &str) -> Result<Self, HorizonError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("mooring/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HorizonError::Unreachable(e.to_string()))?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client,
            submit_timeout: SUBMIT_TIMEOUT,
        })
    }

    /// How long `submit` waits (default 35 s); the Lambda's timeout must be longer.
    pub fn with_submit_timeout(mut self, timeout: Duration) -> Self {
        self.submit_timeout = timeout;
        self
    }

    async fn read(mut response: reqwest::Response) -> Result<Answer, HorizonError> {
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| HorizonError::Unreachable(e.to_string()))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HorizonError::Malformed("response too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { status, body })
    }

    /// GETs `path_and_query`; `None` on 404, an error on any other non-success status.
    async fn get(&self, path_and_query: &str) -> Result<Option<Vec<u8>>, HorizonError> {
        let url = format!("{}{path_and_query}", self.base_url);
        let response = self
            .client
            .get(&url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| HorizonError::Unreachable(e.to_string()))?;
        let answer = Self::read(response).await?;
        if answer.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !answer.status.is_success() {
            return Err(status_error(&answer));
        }
        Ok(Some(answer.body))
    }

    async fn payments_page(
        &self,
        account: &AccountId,
        cursor: Option<&str>,
        order: &str,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, HorizonError> {
        let query = {
            let mut query = form_urlencoded::Serializer::new(String::new());
            if let Some(cursor) = cursor {
                query.append_pair("cursor", cursor);
            }
            query
                .append_pair("order", order)
                .append_pair("limit", &limit.clamp(1, MAX_PAGE_LIMIT).to_string())
                .append_pair("join", "transactions")
                .finish()
        };
        let path = format!("/accounts/{account}/payments?{query}");
        match self.get(&path).await? {
            None => Ok(Vec::new()),
            Some(body) => payments_from_horizon_json(&body),
        }
    }
}

fn status_error(answer: &Answer) -> HorizonError {
    HorizonError::Status {
        status: answer.status.as_u16(),
        detail: String::from_utf8_lossy(&answer.body)
            .chars()
            .take(300)
            .collect(),
    }
}

impl Horizon for HttpHorizon {
    async fn account(&self, id: &AccountId) -> Result<Option<AccountRecord>, HorizonError> {
        match self.get(&format!("/accounts/{id}")).await? {
            None => Ok(None),
            Some(body) => AccountRecord::from_horizon_json(&body).map(Some),
        }
    }

    async fn submit(&self, envelope_xdr: &str) -> Result<Submission, HorizonError> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("tx", envelope_xdr)
            .finish();
        let sent = self
            .client
            .post(format!("{}/transactions", self.base_url))
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .timeout(self.submit_timeout)
            .body(form)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            // Nothing reached Horizon: safe to say so.
            Err(e) if e.is_connect() => return Err(HorizonError::Unreachable(e.to_string())),
            // Sent, then timed out or cut off: it may land.
            Err(e) => {
                tracing::warn!(error = %e, "transaction submission ended without an answer");
                return Ok(Submission::Unknown);
            }
        };
        let answer = match Self::read(response).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(error = %e, "transaction submission answer could not be read");
                return Ok(Submission::Unknown);
            }
        };
        if answer.status.is_success() {
            let record = TransactionRecord::from_horizon_json(&answer.body)?;
            return Ok(Submission::Applied {
                hash: record.hash,
                ledger: record.ledger,
            });
        }
        if answer.status.is_server_error() {
            tracing::warn!(
                status = answer.status.as_u16(),
                "transaction submission answered a server error"
            );
            return Ok(Submission::Unknown);
        }
        if answer.status == reqwest::StatusCode::BAD_REQUEST {
            if let Some(rejection) = rejection_from_problem(&answer.body) {
                return Ok(rejection);
            }
        }
        Err(status_error(&answer))
    }

    async fn transaction(&self, hash: &str) -> Result<Option<TransactionRecord>, HorizonError> {
        if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(HorizonError::Malformed(
                "a transaction hash is hexadecimal".into(),
            ));
        }
        match self.get(&format!("/transactions/{hash}")).await? {
            None => Ok(None),
            Some(body) => TransactionRecord::from_horizon_json(&body).map(Some),
        }
    }

    async fn payments(
        &self,
        account: &AccountId,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PaymentRecord>, HorizonError> {
        self.payments_page(account, cursor, "asc", limit).await
    }

    async fn latest_payment_cursor(
        &self,
        account: &AccountId,
    ) -> Result<Option<String>, HorizonError> {
        let newest = self.payments_page(account, None, "desc", 1).await?;
        Ok(newest.into_iter().next().map(|p| p.paging_token))
    }

    async fn base_fee(&self) -> Result<u32, HorizonError> {
        match self.get("/fee_stats").await? {
            None => Err(HorizonError::Status {
                status: 404,
                detail: "no /fee_stats".into(),
            }),
            Some(body) => base_fee_from_fee_stats(&body),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    const USER: &str = "GD44HN4DO447A5ZF337HOUEL7RVMPVVNYA5N2ARNUKQUANHN6A5XMYJ2";

    /// A one-route-per-call HTTP server: answers each connection with the next canned
    /// `(status, body)` (or stays silent for `None`), recording each request's head and body.
    async fn server(
        answers: Vec<Option<(u16, &'static str)>>,
    ) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            for answer in answers {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head, then as much body as Content-Length says.
                loop {
                    let n = socket.read(&mut buf).await.unwrap();
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length || n == 0 {
                            break;
                        }
                    }
                    if n == 0 {
                        break;
                    }
                }
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&request).to_string());
                match answer {
                    None => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    Some((status, body)) => {
                        let response = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        socket.write_all(response.as_bytes()).await.unwrap();
                        socket.shutdown().await.ok();
                    }
                }
            }
        });
        (url, seen)
    }

    const FAILED: &str = r#"{"type":"https://stellar.org/horizon-errors/transaction_failed","title":"Transaction Failed","status":400,"extras":{"result_codes":{"transaction":"tx_failed","operations":["op_underfunded"]}}}"#;

    #[tokio::test]
    async fn submissions_map_every_answer() {
        let (url, seen) = server(vec![
            Some((200, r#"{"hash":"ab12","ledger":42,"successful":true,"created_at":"2024-01-01T00:00:00Z"}"#)),
            Some((400, FAILED)),
            Some((504, r#"{"type":"https://stellar.org/horizon-errors/timeout","status":504}"#)),
            Some((503, "unavailable")),
            Some((400, r#"{"type":"https://stellar.org/horizon-errors/bad_request","status":400}"#)),
            Some((429, "slow down")),
            None,
        ])
        .await;
        let horizon = HttpHorizon::new(&url)
            .unwrap()
            .with_submit_timeout(Duration::from_millis(500));
        assert_eq!(
            horizon.submit("AAAA+/==").await.unwrap(),
            Submission::Applied {
                hash: "ab12".into(),
                ledger: 42
            }
        );
        let request = seen.lock().unwrap()[0].clone();
        assert!(
            request.starts_with("POST /transactions HTTP/1.1"),
            "{request}"
        );
        assert!(
            request.ends_with("\r\n\r\ntx=AAAA%2B%2F%3D%3D"),
            "{request}"
        );
        assert_eq!(
            horizon.submit("x").await.unwrap(),
            Submission::Rejected {
                transaction: "tx_failed".into(),
                operations: vec!["op_underfunded".into()]
            }
        );
        assert_eq!(horizon.submit("x").await.unwrap(), Submission::Unknown);
        assert_eq!(horizon.submit("x").await.unwrap(), Submission::Unknown);
        assert!(matches!(
            horizon.submit("x").await,
            Err(HorizonError::Status { status: 400, .. })
        ));
        assert!(matches!(
            horizon.submit("x").await,
            Err(HorizonError::Status { status: 429, .. })
        ));
        // No answer within the submit timeout: it may land.
        assert_eq!(horizon.submit("x").await.unwrap(), Submission::Unknown);
        // Nothing listening: nothing was sent.
        let closed = HttpHorizon::new("http://127.0.0.1:9").unwrap();
        assert!(matches!(
            closed.submit("x").await,
            Err(HorizonError::Unreachable(_))
        ));
    }

    #[tokio::test]
    async fn reads_transactions_payments_and_fees() {
        let page = r#"{"_embedded":{"records":[{"id":"12","paging_token":"12","type":"payment","transaction_successful":true,"transaction_hash":"ff","created_at":"2024-01-01T00:00:00Z","from":"GD44HN4DO447A5ZF337HOUEL7RVMPVVNYA5N2ARNUKQUANHN6A5XMYJ2","to":"GD44HN4DO447A5ZF337HOUEL7RVMPVVNYA5N2ARNUKQUANHN6A5XMYJ2","asset_type":"native","amount":"1.0000000","transaction":{"memo_type":"id","memo":"3"}}]}}"#;
        let (url, seen) = server(vec![
            Some((200, r#"{"hash":"ab","ledger":7,"successful":false,"created_at":"2024-01-01T00:00:00Z"}"#)),
            Some((404, r#"{"status":404}"#)),
            Some((200, page)),
            Some((404, r#"{"status":404}"#)),
            Some((200, page)),
            Some((200, r#"{"last_ledger_base_fee":"100","fee_charged":{"p50":"150"}}"#)),
            Some((500, "boom")),
        ])
        .await;
        let horizon = HttpHorizon::new(&url).unwrap();
        let user: AccountId = USER.parse().unwrap();
        let tx = horizon.transaction("ab").await.unwrap().unwrap();
        assert_eq!((tx.successful, tx.ledger), (false, 7));
        assert_eq!(horizon.transaction("cd").await.unwrap(), None);
        assert!(horizon.transaction("../accounts").await.is_err());
        let payments = horizon.payments(&user, Some("12 3&x"), 500).await.unwrap();
        assert_eq!(payments.len(), 1);
        assert_eq!(payments[0].memo, crate::stellar::Memo::Id(3));
        assert!(horizon.payments(&user, None, 10).await.unwrap().is_empty());
        assert_eq!(
            horizon.latest_payment_cursor(&user).await.unwrap(),
            Some("12".into())
        );
        assert_eq!(horizon.base_fee().await.unwrap(), 150);
        assert!(matches!(
            horizon.base_fee().await,
            Err(HorizonError::Status { status: 500, .. })
        ));
        let seen = seen.lock().unwrap();
        let first_line = |i: usize| seen[i].lines().next().unwrap().to_owned();
        assert_eq!(first_line(0), "GET /transactions/ab HTTP/1.1");
        assert_eq!(
            first_line(2),
            format!("GET /accounts/{USER}/payments?cursor=12+3%26x&order=asc&limit=200&join=transactions HTTP/1.1")
        );
        assert_eq!(
            first_line(3),
            format!("GET /accounts/{USER}/payments?order=asc&limit=10&join=transactions HTTP/1.1")
        );
        assert_eq!(
            first_line(4),
            format!("GET /accounts/{USER}/payments?order=desc&limit=1&join=transactions HTTP/1.1")
        );
        assert_eq!(first_line(5), "GET /fee_stats HTTP/1.1");
    }
}
