//! What each request cost, for the logs.

use aws_sdk_dynamodb::types::ConsumedCapacity;

/// Logs the capacity a request consumed, at debug level (`RUST_LOG=jsonapi_store_dynamodb=debug`).
pub(crate) fn log_capacity<'a>(
    operation: &str,
    consumed: impl Iterator<Item = &'a ConsumedCapacity>,
) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        let units: f64 = consumed.filter_map(ConsumedCapacity::capacity_units).sum();
        tracing::debug!(operation, capacity_units = units, "DynamoDB request");
    }
}
