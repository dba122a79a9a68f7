//! [`CustomerStore`] on the customers table: each customer with its user's guard item.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};

use super::codec::{
    customer_item, decode_doc, guard_id, n, s, string_attribute, CUSTOMER_ID, GUARD_PREFIX, ID,
    USER, VERSION,
};
use super::{direct, request_error, transaction_failure, DynamoStore};
use crate::model::{Customer, UserKey};
use crate::store::{CustomerStore, StoreError};

/// Attempts of `delete` against concurrent updates of the same customer.
const DELETE_ATTEMPTS: usize = 5;

impl DynamoStore {
    async fn get_customer(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        // Guard items share the table; they are not customers.
        if id.starts_with(GUARD_PREFIX) {
            return Ok(None);
        }
        self.get_item(&self.tables.customers, ID, id)
            .await?
            .map(|item| decode_doc(&item, "customer"))
            .transpose()
    }

    /// Deletes the customer as read; `Conflict` if it changed meanwhile.
    async fn delete_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let record = Delete::builder()
            .table_name(&self.tables.customers)
            .key(ID, s(&customer.id))
            .condition_expression("#version = :read")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":read", n(customer.version))
            .build()
            .map_err(|e| request_error("Delete", e))?;
        // Never another customer's guard; a missing one (which no write leaves) does not keep
        // the customer from being erased.
        let guard = Delete::builder()
            .table_name(&self.tables.customers)
            .key(ID, s(guard_id(&customer.user)))
            .condition_expression("attribute_not_exists(#id) OR #customer = :id")
            .expression_attribute_names("#id", ID)
            .expression_attribute_names("#customer", CUSTOMER_ID)
            .expression_attribute_values(":id", s(&customer.id))
            .build()
            .map_err(|e| request_error("Delete", e))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(record).build())
            .transact_items(TransactWriteItem::builder().delete(guard).build())
            .send()
            .await
            .map_err(transaction_failure)?;
        Ok(())
    }
}

impl CustomerStore for DynamoStore {
    async fn insert(&self, customer: &Customer) -> Result<(), StoreError> {
        let record = Put::builder()
            .table_name(&self.tables.customers)
            .set_item(Some(customer_item(customer)?))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", ID)
            .build()
            .map_err(|e| request_error("Put", e))?;
        let guard = Put::builder()
            .table_name(&self.tables.customers)
            .item(ID, s(guard_id(&customer.user)))
            .item(CUSTOMER_ID, s(&customer.id))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", ID)
            .build()
            .map_err(|e| request_error("Put", e))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(record).build())
            .transact_items(TransactWriteItem::builder().put(guard).build())
            .send()
            .await
            .map_err(transaction_failure)?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        self.get_customer(id).await
    }

    async fn find_by_user(&self, user: &UserKey) -> Result<Option<Customer>, StoreError> {
        let Some(guard) = self
            .get_item(&self.tables.customers, ID, &guard_id(user))
            .await?
        else {
            return Ok(None);
        };
        let id = string_attribute(&guard, CUSTOMER_ID)?;
        // Guard and customer are written and deleted together, so a guard without its customer
        // is only a delete between the two reads: no customer.
        let customer = self.get_customer(id).await?;
        if customer.as_ref().is_some_and(|c| c.user != *user) {
            return Err(StoreError::Corrupt(format!(
                "the guard of {user} names customer {id}, which belongs to another user"
            )));
        }
        Ok(customer)
    }

    async fn update(&self, customer: &mut Customer) -> Result<(), StoreError> {
        let mut written = customer.clone();
        written.version += 1;
        // The user is part of the condition: the guard item is keyed by it, so a customer
        // cannot move to another user (the in-memory adapter refuses that too).
        self.put(direct::Put {
            table: &self.tables.customers,
            item: customer_item(&written)?,
            condition: "#version = :read AND #user = :user",
            names: &[("#version", VERSION), ("#user", USER)],
            values: &[
                (":read", n(customer.version)),
                (":user", s(customer.user.to_string())),
            ],
        })
        .await?;
        customer.version = written.version;
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        // The guard's key is the customer's user, so the customer is read first; a concurrent
        // update between that read and the delete makes the delete re-read.
        for _ in 0..DELETE_ATTEMPTS {
            let Some(customer) = self.get_customer(id).await? else {
                return Ok(false);
            };
            match self.delete_customer(&customer).await {
                Ok(()) => return Ok(true),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }
}
