//! [`ChallengeStore`]: used SEP-10 challenges and interactive links, consumed once.

use aws_sdk_dynamodb::types::AttributeValue;

use super::codec::{s, EXPIRES_AT, HASH};
use super::{failure, DynamoStore};
use crate::store::{ChallengeStore, StoreError};
use crate::time::Timestamp;

impl ChallengeStore for DynamoStore {
    async fn consume(&self, hash: &str, expires_at: Timestamp) -> Result<bool, StoreError> {
        // Rounded up, so that the challenge never counts as expired before `expires_at`; `now`
        // rounded down for the same reason.
        let expires_secs = (expires_at.millis() + 999).div_euclid(1000);
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.challenges)
            .item(HASH, s(hash))
            .item(EXPIRES_AT, AttributeValue::N(expires_secs.to_string()))
            .condition_expression("attribute_not_exists(#hash) OR #expires <= :now")
            .expression_attribute_names("#hash", HASH)
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(
                ":now",
                AttributeValue::N(Timestamp::now().secs().to_string()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match failure("PutItem", e, |e| e.is_conditional_check_failed_exception()) {
                StoreError::Conflict => Ok(false),
                other => Err(other),
            },
        }
    }
}
