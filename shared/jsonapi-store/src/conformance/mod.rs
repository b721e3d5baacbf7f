//! The storage conformance suite: what every backend of the port must do, written once and run
//! by each backend's tests (feature `conformance`).
//!
//! ```ignore
//! jsonapi_store::conformance::run_all(&store, "run-42").await;
//! ```
//!
//! Every check panics with a message naming what went wrong. Data lives under partition keys
//! that start with `prefix`, so several runs can share one store. The checks are grouped by
//! topic: single items, conditions, transactions, range queries, prefixes and paging, sort-key
//! order and counters; `support` holds what they share.

mod conditions;
mod counters;
mod items;
mod ordering;
mod pages;
mod prefixes;
mod ranges;
mod support;
mod transactions;

use crate::Store;
use support::Suite;

/// Runs every check against `store`, keeping its data under partition keys starting with `prefix`.
pub async fn run_all<S: Store>(store: &S, prefix: &str) {
    let t = Suite { store, prefix };
    t.put_get_delete().await;
    t.values_round_trip().await;
    t.batch_get().await;
    t.conditions().await;
    t.failed_transactions_write_nothing().await;
    t.check_writes().await;
    t.empty_transaction().await;
    t.query_bounds().await;
    t.prefix_queries().await;
    t.paging().await;
    t.large_items().await;
    t.allocate().await;
    t.concurrent_allocate().await;
    t.byte_order().await;
}
