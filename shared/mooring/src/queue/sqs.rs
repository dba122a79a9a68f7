//! The SQS adapter of the [`Queue`] port (feature `sqs`).

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::Client;

use super::{BodyQueue, Queue, QueueError, QueueMessage, Redelivery};
use crate::config::{ConfigError, Source};

/// One SQS queue, by URL. Cheap to clone (the client is shared).
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// The queue whose URL is in `variable` (template.yaml sets it with `!Ref TheQueue`), with a
    /// client built once from the standard AWS settings (`AWS_ENDPOINT_URL` for an emulator).
    pub async fn from_env(
        settings: &impl Source,
        variable: &'static str,
    ) -> Result<Self, ConfigError> {
        let url = settings
            .get(variable)
            .ok_or(ConfigError::Missing(variable))?;
        let sdk = crate::aws::config_loader()?.load().await;
        Ok(Self::new(crate::aws::sqs_client(&sdk), url))
    }

    /// As [`from_env`](Self::from_env), on an SDK configuration shared by the function's adapters.
    pub fn from_env_with(
        sdk: &aws_config::SdkConfig,
        settings: &impl Source,
        variable: &'static str,
    ) -> Result<Self, ConfigError> {
        let url = settings
            .get(variable)
            .ok_or(ConfigError::Missing(variable))?;
        Ok(Self::new(crate::aws::sqs_client(sdk), url))
    }
}

impl SqsQueue {
    async fn send_message(&self, body: String) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable(&e))
    }
}

/// The SDK's error, with its context, cut to a loggable length.
fn unavailable(error: &(impl std::error::Error + 'static)) -> QueueError {
    QueueError::Unavailable(
        DisplayErrorContext(error)
            .to_string()
            .chars()
            .take(300)
            .collect(),
    )
}

impl Queue for SqsQueue {
    async fn send(&self, message: &QueueMessage) -> Result<(), QueueError> {
        self.send_message(message.to_json()).await
    }
}

impl BodyQueue for SqsQueue {
    async fn send_body(&self, body: &str) -> Result<(), QueueError> {
        self.send_message(body.to_owned()).await
    }
}

impl Redelivery for SqsQueue {
    async fn redeliver_after(&self, receipt_handle: &str, seconds: u32) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(seconds).unwrap_or(i32::MAX))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable(&e))
    }
}
