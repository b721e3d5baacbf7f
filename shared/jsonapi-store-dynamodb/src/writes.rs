//! The writes of the port: the counter's UpdateItem and TransactWriteItems, each write's
//! condition spelled as a condition expression.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnConsumedCapacity, ReturnValue,
    TransactWriteItem,
};
use jsonapi_store::{Condition, Key, StoreError, StoreResult, Write};

use crate::capacity::log_capacity;
use crate::client::DynamoStore;
use crate::codec::{AttrMap, escape_name, item_map, key_map, to_attribute};
use crate::errors::{build_error, cancelled, describe, sdk_error};
use crate::table::PARTITION_KEY;

/// A condition as a condition expression with its names and values.
struct Expression {
    text: &'static str,
    names: HashMap<String, String>,
    values: Option<AttrMap>,
}

fn expression(condition: &Condition) -> Expression {
    let key_name = || HashMap::from([("#pk".to_owned(), PARTITION_KEY.to_owned())]);
    match condition {
        Condition::Absent => Expression {
            text: "attribute_not_exists(#pk)",
            names: key_name(),
            values: None,
        },
        Condition::Present => Expression {
            text: "attribute_exists(#pk)",
            names: key_name(),
            values: None,
        },
        Condition::Equals { name, value } => Expression {
            // `attribute_exists` is implied on DynamoDB; spelled out, emulators agree too (moto
            // takes a missing attribute as equal to NULL).
            text: "attribute_exists(#a) AND #a = :v",
            names: HashMap::from([("#a".to_owned(), escape_name(name, true))]),
            values: Some(HashMap::from([(":v".to_owned(), to_attribute(value))])),
        },
    }
}

/// One action of TransactWriteItems.
fn transact_item(table: &str, write: &Write) -> StoreResult<TransactWriteItem> {
    let condition = write.condition().map(expression);
    let (text, names, values) = match condition {
        Some(e) => (Some(e.text.to_owned()), Some(e.names), e.values),
        None => (None, None, None),
    };
    let item = match write {
        Write::Put { item, .. } => TransactWriteItem::builder().put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item_map(item)))
                .set_condition_expression(text)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .map_err(build_error)?,
        ),
        Write::Delete { key, .. } => TransactWriteItem::builder().delete(
            Delete::builder()
                .table_name(table)
                .set_key(Some(key_map(&key.pk, &key.sk)))
                .set_condition_expression(text)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .map_err(build_error)?,
        ),
        Write::Check { key, .. } => TransactWriteItem::builder().condition_check(
            ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key_map(&key.pk, &key.sk)))
                .set_condition_expression(text)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .map_err(build_error)?,
        ),
    };
    Ok(item.build())
}

impl DynamoStore {
    /// `allocate`: UpdateItem adding `n` to the counter, which starts at 1.
    pub(crate) async fn update_counter(&self, key: &Key, n: u64) -> StoreResult<u64> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(&key.pk, &key.sk)))
            .update_expression("SET #next = if_not_exists(#next, :one) + :n")
            .expression_attribute_names("#next", "next")
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem", &e))?;
        let next = updated
            .attributes()
            .and_then(|a| a.get("next"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| {
                StoreError::Internal(format!(
                    "the counter {} / {} is not a number",
                    key.pk, key.sk
                ))
            })?;
        next.checked_sub(n).ok_or_else(|| {
            StoreError::Internal(format!(
                "the counter {} / {} went backwards",
                key.pk, key.sk
            ))
        })
    }

    /// `transact`: one TransactWriteItems, all or nothing.
    pub(crate) async fn transact_write_items(&self, writes: Vec<Write>) -> StoreResult<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let items = writes
            .iter()
            .map(|w| transact_item(&self.table, w))
            .collect::<StoreResult<Vec<_>>>()?;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
        {
            Ok(out) => {
                log_capacity("TransactWriteItems", out.consumed_capacity().iter());
                Ok(())
            }
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel)) => {
                    Err(cancelled(
                        cancel.cancellation_reasons(),
                        describe("TransactWriteItems", &e),
                    ))
                }
                _ => Err(sdk_error("TransactWriteItems", &e)),
            },
        }
    }
}
