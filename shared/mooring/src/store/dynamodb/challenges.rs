//! [`ChallengeStore`]: used SEP-10 challenges and interactive links, consumed once.

use aws_sdk_dynamodb::types::AttributeValue;

use super::codec::{s, Item, EXPIRES_AT, HASH};
use super::direct::Put;
use super::DynamoStore;
use crate::store::{ChallengeStore, StoreError};
use crate::time::Timestamp;

impl ChallengeStore for DynamoStore {
    async fn consume(&self, hash: &str, expires_at: Timestamp) -> Result<bool, StoreError> {
        // Rounded up, so that the challenge never counts as expired before `expires_at`; `now`
        // rounded down for the same reason.
        let expires_secs = (expires_at.millis() + 999).div_euclid(1000);
        let now = Timestamp::now().secs().to_string();
        let written = self
            .put(Put {
                table: &self.tables.challenges,
                item: Item::from([
                    (HASH.to_owned(), s(hash)),
                    (
                        EXPIRES_AT.to_owned(),
                        AttributeValue::N(expires_secs.to_string()),
                    ),
                ]),
                condition: "attribute_not_exists(#hash) OR #expires <= :now",
                names: &[("#hash", HASH), ("#expires", EXPIRES_AT)],
                values: &[(":now", AttributeValue::N(now))],
            })
            .await;
        match written {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }
}
