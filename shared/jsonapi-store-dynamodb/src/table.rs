//! The one table, described once: [`DynamoStore::create_table`] builds its request from these
//! constants (and waits for the table to be active), and a check of `template.yaml` can compare
//! the template's `AWS::DynamoDB::Table` against [`cloudformation_properties`]. The table has
//! no secondary index: every access pattern is a key or a key range of the table itself.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TableStatus,
};
use jsonapi_store::{EXPIRES_AT, StoreError, StoreResult};
use serde_json::{Value, json};

use crate::client::DynamoStore;
use crate::errors::sdk_error;

/// The partition key attribute (type S).
pub const PARTITION_KEY: &str = "pk";
/// The sort key attribute (type S); DynamoDB orders a partition's items by it, byte-wise.
pub const SORT_KEY: &str = "sk";
/// Attribute definitions: name and scalar type. Only the key attributes are declared.
pub const ATTRIBUTE_DEFINITIONS: [(&str, &str); 2] = [(PARTITION_KEY, "S"), (SORT_KEY, "S")];
/// Key schema: attribute name and key type.
pub const KEY_SCHEMA: [(&str, &str); 2] = [(PARTITION_KEY, "HASH"), (SORT_KEY, "RANGE")];
/// On-demand capacity: nothing to provision.
pub const BILLING_MODE: &str = "PAY_PER_REQUEST";
/// Streams carry both images of every change (for later consumers: search, webhooks, audit).
pub const STREAM_VIEW_TYPE: &str = "NEW_AND_OLD_IMAGES";

/// The `Properties` of the `AWS::DynamoDB::Table` resource that holds the store, except
/// `TableName` (SAM names the table). A template check compares its table against this.
pub fn cloudformation_properties() -> Value {
    json!({
        "BillingMode": BILLING_MODE,
        "AttributeDefinitions": ATTRIBUTE_DEFINITIONS
            .iter()
            .map(|(name, ty)| json!({"AttributeName": name, "AttributeType": ty}))
            .collect::<Vec<_>>(),
        "KeySchema": KEY_SCHEMA
            .iter()
            .map(|(name, ty)| json!({"AttributeName": name, "KeyType": ty}))
            .collect::<Vec<_>>(),
        "StreamSpecification": {"StreamViewType": STREAM_VIEW_TYPE},
        // Items carrying it are deleted by DynamoDB some time after it passed (the batch
        // API's operations); CreateTable cannot set it, so local tables have no TTL.
        "TimeToLiveSpecification": {"AttributeName": EXPIRES_AT, "Enabled": true},
    })
}

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("cannot build the table description: {e}"))
}

/// The CreateTable request for a table named `name`.
fn create_table_request(client: &Client, name: &str) -> StoreResult<CreateTableFluentBuilder> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(BILLING_MODE))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(STREAM_VIEW_TYPE))
                .build()
                .map_err(build_error)?,
        );
    for (name, ty) in ATTRIBUTE_DEFINITIONS {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::from(ty))
                .build()
                .map_err(build_error)?,
        );
    }
    for (name, ty) in KEY_SCHEMA {
        request = request.key_schema(
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(ty))
                .build()
                .map_err(build_error)?,
        );
    }
    Ok(request)
}

impl DynamoStore {
    /// Creates the table as this module describes it, unless it exists, and waits until it is
    /// active.
    ///
    /// # Errors
    /// The table cannot be created, or does not become active within five minutes.
    pub async fn create_table(&self) -> StoreResult<()> {
        match create_table_request(&self.client, &self.table)?
            .send()
            .await
        {
            Ok(_) => tracing::info!(table = %self.table, "created the DynamoDB table"),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(e) => return Err(sdk_error("CreateTable", &e)),
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
        loop {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeTable", &e))?;
            let status = described.table().and_then(|t| t.table_status());
            if status == Some(&TableStatus::Active) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(StoreError::Unavailable {
                    detail: format!("table {} is still {status:?} after 5 minutes", self.table),
                    retry_after: 60,
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Deletes the table (for tests that made their own).
    ///
    /// # Errors
    /// The request fails (a missing table is fine).
    pub async fn delete_table(&self) -> StoreResult<()> {
        match self
            .client
            .delete_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_error("DeleteTable", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constants_are_known_sdk_values() {
        assert!(BillingMode::values().contains(&BILLING_MODE));
        assert!(StreamViewType::values().contains(&STREAM_VIEW_TYPE));
        for (_, ty) in ATTRIBUTE_DEFINITIONS {
            assert!(ScalarAttributeType::values().contains(&ty));
        }
        for (_, ty) in KEY_SCHEMA {
            assert!(KeyType::values().contains(&ty));
        }
    }

    #[test]
    fn cloudformation_properties_describe_the_keys() {
        let props = cloudformation_properties();
        assert_eq!(
            props["KeySchema"][0],
            json!({"AttributeName": "pk", "KeyType": "HASH"})
        );
        assert_eq!(
            props["KeySchema"][1],
            json!({"AttributeName": "sk", "KeyType": "RANGE"})
        );
        assert_eq!(props["BillingMode"], "PAY_PER_REQUEST");
        assert_eq!(
            props["StreamSpecification"]["StreamViewType"],
            "NEW_AND_OLD_IMAGES"
        );
    }
}
