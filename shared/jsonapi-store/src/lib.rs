//! The storage port: one logical table of items with a partition key and a sort key, as a
//! DynamoDB single-table design has, and the small trait every backend implements.
//!
//! # Layout
//! - [`Key`], [`Item`], [`Write`], [`Condition`], [`RangeQuery`]: the vocabulary.
//! - [`Store`]: get, batch get, key-range query, counter allocation, transactional write.
//! - [`limits`]: the limits of the strictest backend (DynamoDB), checked above the trait so that
//!   every backend refuses the same requests.
//! - [`counting`]: a wrapper that counts round trips, for tests and benchmarks.
//!
//! What the items mean (resources, index entries, unique values…) is decided by the engine;
//! backends store items and never look inside them.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod counting;
pub mod limits;

use std::future::Future;
use std::ops::Bound;

use serde_json::{Map, Value};

/// The attributes of an item.
pub type Attrs = Map<String, Value>;

/// The attribute holding the epoch second after which an item may be deleted: the DynamoDB
/// table's TTL attribute (items without it are kept). The batch API's operations carry it.
pub const EXPIRES_AT: &str = "expiresAt";

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// Partition key.
    pub pk: String,
    /// Sort key; items of one partition are ordered by it, byte-wise.
    pub sk: String,
}

impl Key {
    /// A key from its two parts.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// One stored item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its key.
    pub key: Key,
    /// Its attributes (empty for key-only items such as index entries).
    pub attrs: Attrs,
}

/// A condition on the current state of an item, checked atomically with the write it guards.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The item does not exist.
    Absent,
    /// The item exists.
    Present,
    /// The item exists and its attribute `name` equals `value`.
    Equals {
        /// The attribute.
        name: String,
        /// Its expected value.
        value: Value,
    },
}

impl Condition {
    /// Whether an item in this state (`None` = absent) meets the condition.
    pub fn holds(&self, current: Option<&Attrs>) -> bool {
        match (self, current) {
            (Self::Absent, current) => current.is_none(),
            (Self::Present, current) => current.is_some(),
            (Self::Equals { name, value }, Some(attrs)) => attrs.get(name) == Some(value),
            (Self::Equals { .. }, None) => false,
        }
    }
}

/// One action of a transactional write.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Create or replace an item.
    Put {
        /// The new item.
        item: Item,
        /// Checked before writing.
        condition: Option<Condition>,
    },
    /// Remove an item (absent items are fine unless the condition says otherwise).
    Delete {
        /// The item's key.
        key: Key,
        /// Checked before deleting.
        condition: Option<Condition>,
    },
    /// Write nothing; only check a condition.
    Check {
        /// The item's key.
        key: Key,
        /// The condition.
        condition: Condition,
    },
}

impl Write {
    /// The key this action touches.
    pub fn key(&self) -> &Key {
        match self {
            Self::Put { item, .. } => &item.key,
            Self::Delete { key, .. } | Self::Check { key, .. } => key,
        }
    }

    /// The condition this action carries.
    pub fn condition(&self) -> Option<&Condition> {
        match self {
            Self::Put { condition, .. } | Self::Delete { condition, .. } => condition.as_ref(),
            Self::Check { condition, .. } => Some(condition),
        }
    }
}

/// A read of one partition's sort-key range, in either direction, a page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeQuery {
    /// The partition.
    pub pk: String,
    /// Lower sort-key bound.
    pub from: Bound<String>,
    /// Upper sort-key bound.
    pub to: Bound<String>,
    /// Descending order when `true`.
    pub reverse: bool,
    /// At most this many items (at least 1).
    pub limit: usize,
    /// Continue after this sort key (exclusive), as returned in [`QueryPage::next`].
    pub after: Option<String>,
}

impl RangeQuery {
    /// Every item of a partition, ascending, `limit` at a time.
    pub fn partition(pk: impl Into<String>, limit: usize) -> Self {
        Self {
            pk: pk.into(),
            from: Bound::Unbounded,
            to: Bound::Unbounded,
            reverse: false,
            limit,
            after: None,
        }
    }

    /// Items whose sort key starts with `prefix`.
    pub fn prefix(pk: impl Into<String>, prefix: &str, limit: usize) -> Self {
        Self {
            pk: pk.into(),
            from: Bound::Included(prefix.to_owned()),
            to: prefix_end(prefix).map_or(Bound::Unbounded, Bound::Excluded),
            reverse: false,
            limit,
            after: None,
        }
    }

    /// The bounds of the range still to read, after the cursor.
    pub fn remaining_bounds(&self) -> (Bound<&str>, Bound<&str>) {
        let (mut from, mut to) = (
            self.from.as_ref().map(String::as_str),
            self.to.as_ref().map(String::as_str),
        );
        if let Some(after) = &self.after {
            if self.reverse {
                to = Bound::Excluded(after.as_str());
            } else {
                from = Bound::Excluded(after.as_str());
            }
        }
        (from, to)
    }
}

/// The smallest string greater than every string that starts with `prefix`.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// One page of a [`RangeQuery`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryPage {
    /// The items, in the requested order.
    pub items: Vec<Item>,
    /// The sort key to continue after, when more items may follow.
    pub next: Option<String>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The condition of the write at this index did not hold; nothing was written.
    #[error("the condition of write {index} did not hold")]
    ConditionFailed {
        /// Index into the transaction's writes.
        index: usize,
    },
    /// Another transaction touched the same items at the same time; nothing was written.
    #[error("a concurrent transaction conflicted")]
    Conflict,
    /// The request exceeds a store limit; nothing was done.
    #[error("{0}")]
    Limit(#[from] limits::LimitError),
    /// The store could not answer now (throttled, unreachable); retrying later may work.
    #[error("the store is unavailable: {detail}")]
    Unavailable {
        /// What happened, for the logs.
        detail: String,
        /// Seconds a client should wait.
        retry_after: u64,
    },
    /// Anything else: a bug, corruption or an I/O failure.
    #[error("storage failure: {0}")]
    Internal(String),
}

/// A result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// The storage port. Implementations keep items and apply writes atomically; they do not check
/// [`limits`], which the engine does above them.
pub trait Store: Send + Sync + 'static {
    /// One item.
    fn get(&self, key: &Key) -> impl Future<Output = StoreResult<Option<Item>>> + Send;

    /// Several items in one round trip (at most [`limits::MAX_BATCH_GET`] keys), in any order;
    /// absent keys are left out.
    fn batch_get(&self, keys: &[Key]) -> impl Future<Output = StoreResult<Vec<Item>>> + Send;

    /// One page of a partition's sort-key range.
    fn query(&self, query: &RangeQuery) -> impl Future<Output = StoreResult<QueryPage>> + Send;

    /// How many items a range holds (after the cursor), counted by the store.
    fn count(&self, query: &RangeQuery) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Reserves `n` consecutive values of the counter at `key` and returns the first.
    /// Counters start at 1 and never hand out a value twice, whatever runs concurrently; a
    /// store may hand out again, after a crash, values that no durable write used.
    fn allocate(&self, key: &Key, n: u64) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Applies every write or none: if any condition fails, nothing is written.
    fn transact(&self, writes: Vec<Write>) -> impl Future<Output = StoreResult<()>> + Send;

    /// As [`Store::transact`], but the store may answer before the writes are durable: they
    /// are visible at once, and durable no later than the next [`Store::transact`] answered
    /// (anyone's). A crash before that loses them whole, with every deferred write after
    /// them, never part of one. For writes that something durable written later vouches for
    /// (a batch unit with its record, made good by its chunk's end): a store that syncs each
    /// commit answers many of them per sync. By default the same as [`Store::transact`].
    fn transact_deferred(
        &self,
        writes: Vec<Write>,
    ) -> impl Future<Output = StoreResult<()>> + Send {
        self.transact(writes)
    }

    /// How many actions a transaction may hold when the engine groups writes that no request
    /// made together (a batch worker's units, each also writable alone): the common limit
    /// ([`limits::MAX_TRANSACTION_WRITES`]) unless the store takes more. Bigger groups cost
    /// fewer commits; what a request writes is always held to the common limits.
    fn max_grouped_writes(&self) -> usize {
        limits::MAX_TRANSACTION_WRITES
    }
}
