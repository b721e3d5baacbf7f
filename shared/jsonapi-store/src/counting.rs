//! A [`Store`] wrapper that counts round trips, so tests and benchmarks can assert how many
//! requests an API call costs, and keeps the keys each transaction wrote (and whether it was
//! durable or deferred), so tests can assert the order in which a change reaches the store
//! and what waits for a sync.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::{Item, Key, QueryPage, RangeQuery, Store, StoreResult, Write};

/// Round trips made through a [`Counting`] store, by kind.
#[derive(Debug, Default)]
pub struct RoundTrips {
    gets: AtomicU64,
    batch_gets: AtomicU64,
    queries: AtomicU64,
    counts: AtomicU64,
    allocations: AtomicU64,
    transactions: AtomicU64,
    items_read: AtomicU64,
    /// Each transaction's keys, and whether it was durable ([`Store::transact`]).
    written: Mutex<Vec<(Vec<Key>, bool)>>,
}

/// A snapshot of [`RoundTrips`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundTripCounts {
    /// Single-item reads.
    pub gets: u64,
    /// Batch reads.
    pub batch_gets: u64,
    /// Range queries.
    pub queries: u64,
    /// Counting queries.
    pub counts: u64,
    /// Counter allocations.
    pub allocations: u64,
    /// Transactions.
    pub transactions: u64,
    /// Items asked for by reads (one per get, one per key of a batch read): not round trips,
    /// but what DynamoDB bills a read by and what the engine decodes.
    pub items_read: u64,
}

impl RoundTripCounts {
    /// Every round trip.
    pub fn total(&self) -> u64 {
        self.gets
            + self.batch_gets
            + self.queries
            + self.counts
            + self.allocations
            + self.transactions
    }
}

impl RoundTrips {
    /// The keys each transaction wrote, in commit order.
    pub fn written(&self) -> Vec<Vec<Key>> {
        self.journal(|_| true)
    }

    /// The keys each durable transaction ([`Store::transact`], not a deferred one) wrote, in
    /// commit order: on a store that syncs, each is a sync.
    pub fn synced(&self) -> Vec<Vec<Key>> {
        self.journal(|durable| durable)
    }

    fn journal(&self, wanted: impl Fn(bool) -> bool) -> Vec<Vec<Key>> {
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, durable)| wanted(*durable))
            .map(|(keys, _)| keys.clone())
            .collect()
    }

    fn transaction(&self, writes: &[Write], durable: bool) {
        bump(&self.transactions);
        let keys = writes.iter().map(|w| w.key().clone()).collect();
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((keys, durable));
    }

    /// The counts so far.
    pub fn snapshot(&self) -> RoundTripCounts {
        RoundTripCounts {
            gets: self.gets.load(Ordering::Relaxed),
            batch_gets: self.batch_gets.load(Ordering::Relaxed),
            queries: self.queries.load(Ordering::Relaxed),
            counts: self.counts.load(Ordering::Relaxed),
            allocations: self.allocations.load(Ordering::Relaxed),
            transactions: self.transactions.load(Ordering::Relaxed),
            items_read: self.items_read.load(Ordering::Relaxed),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Wraps a store and counts what passes through it.
#[derive(Debug)]
pub struct Counting<S> {
    inner: S,
    trips: Arc<RoundTrips>,
}

impl<S> Counting<S> {
    /// Wraps `inner`; the counters are shared with the returned handle.
    pub fn new(inner: S) -> (Self, Arc<RoundTrips>) {
        let trips = Arc::new(RoundTrips::default());
        (
            Self {
                inner,
                trips: Arc::clone(&trips),
            },
            trips,
        )
    }
}

impl<S: Store> Store for Counting<S> {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        bump(&self.trips.gets);
        bump(&self.trips.items_read);
        self.inner.get(key).await
    }

    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        bump(&self.trips.batch_gets);
        self.trips
            .items_read
            .fetch_add(keys.len() as u64, Ordering::Relaxed);
        self.inner.batch_get(keys).await
    }

    async fn query(&self, query: &RangeQuery) -> StoreResult<QueryPage> {
        bump(&self.trips.queries);
        self.inner.query(query).await
    }

    async fn count(&self, query: &RangeQuery) -> StoreResult<u64> {
        bump(&self.trips.counts);
        self.inner.count(query).await
    }

    async fn allocate(&self, key: &Key, n: u64) -> StoreResult<u64> {
        bump(&self.trips.allocations);
        self.inner.allocate(key, n).await
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.trips.transaction(&writes, true);
        self.inner.transact(writes).await
    }

    async fn transact_deferred(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.trips.transaction(&writes, false);
        self.inner.transact_deferred(writes).await
    }

    fn max_grouped_writes(&self) -> usize {
        self.inner.max_grouped_writes()
    }
}
