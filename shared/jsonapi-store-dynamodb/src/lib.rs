//! The cloud backend: the storage port on one DynamoDB table.
//!
//! Items are stored as they are: the key in the table's `pk`/`sk` (both `S`), each attribute as
//! one top-level attribute (see [`codec`] for the JSON mapping). DynamoDB orders the sort keys of
//! a partition byte-wise, as the embedded backend does, so both answer every range alike.
//!
//! | port | DynamoDB |
//! |---|---|
//! | `get` | GetItem, consistent read |
//! | `batch_get` | BatchGetItem, consistent read, `UnprocessedKeys` retried with backoff |
//! | `query` | Query with a key condition on `sk` (module `plan`), `ScanIndexForward`, `Limit`, `ExclusiveStartKey` |
//! | `count` | Query with `Select=COUNT`, paged |
//! | `allocate` | UpdateItem `SET next = if_not_exists(next, 1) + n`, `UPDATED_NEW` |
//! | `transact` | TransactWriteItems (Put / Delete / ConditionCheck with condition expressions) |
//!
//! Every name and value travels as an expression attribute name or value. Throttling and
//! transient failures are retried by the SDK (standard mode); when retries run out they become
//! [`StoreError::Unavailable`](jsonapi_store::StoreError::Unavailable). The table is described
//! once, in [`table`].
//!
//! # Layout
//! - `client`: [`Config`], the SDK client built and checked once ([`ConnectError`]), the
//!   [`DynamoStore`] that holds it.
//! - [`table`]: the table's description, its creation and deletion.
//! - [`codec`]: items and JSON values as attribute maps and values.
//! - `reads`: GetItem, BatchGetItem, Query (pages and counts), with `plan`: a sort-key range as
//!   one Query's key condition.
//! - `writes`: the counter's UpdateItem and TransactWriteItems with condition expressions.
//! - `errors`: a failed request as a [`StoreError`](jsonapi_store::StoreError); `capacity`: what
//!   a request consumed, logged.
//! - `tls`: the HTTPS client (rustls only).

mod capacity;
mod client;
pub mod codec;
mod errors;
mod plan;
mod reads;
pub mod table;
mod tls;
mod writes;

pub use client::{Config, ConnectError, DynamoStore, MAX_ATTEMPTS, Unchecked};
use jsonapi_store::{Item, Key, QueryPage, RangeQuery, Store, StoreResult, Write};

/// The port, one request each (the table above): the reads in `reads`, the writes in `writes`.
impl Store for DynamoStore {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        self.get_item(key).await
    }

    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        self.batch_get_item(keys).await
    }

    async fn query(&self, query: &RangeQuery) -> StoreResult<QueryPage> {
        self.query_range(query).await
    }

    async fn count(&self, query: &RangeQuery) -> StoreResult<u64> {
        self.count_range(query).await
    }

    async fn allocate(&self, key: &Key, n: u64) -> StoreResult<u64> {
        self.update_counter(key, n).await
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.transact_write_items(writes).await
    }
}
