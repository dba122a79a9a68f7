use std::time::Duration;

use super::{AccountRecord, Horizon, HorizonError};
use crate::stellar::AccountId;

/// Largest Horizon response read; an account with many trustlines stays well below it.
const MAX_BODY: usize = 2 * 1024 * 1024;

/// Horizon over HTTPS (rustls), with explicit timeouts. Build once at cold start.
#[derive(Debug, Clone)]
pub struct HttpHorizon {
    base_url: String,
    client: reqwest::Client,
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
        })
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, HorizonError> {
        let url = format!("{}{path}", self.base_url);
        let mut response = self
            .client
            .get(&url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| HorizonError::Unreachable(e.to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
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
        if !status.is_success() {
            let detail = String::from_utf8_lossy(&body).chars().take(300).collect();
            return Err(HorizonError::Status {
                status: status.as_u16(),
                detail,
            });
        }
        Ok(Some(body))
    }
}

impl Horizon for HttpHorizon {
    async fn account(&self, id: &AccountId) -> Result<Option<AccountRecord>, HorizonError> {
        match self.get(&format!("/accounts/{id}")).await? {
            None => Ok(None),
            Some(body) => AccountRecord::from_horizon_json(&body).map(Some),
        }
    }
}
