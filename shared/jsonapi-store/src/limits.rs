//! The limits of the strictest backend, DynamoDB, enforced for every backend so that an API
//! behaves the same locally and in the cloud.

use foldhash::{HashSet, HashSetExt};

use crate::{Item, Write};

/// Most actions in one transaction.
pub const MAX_TRANSACTION_WRITES: usize = 100;
/// Most bytes in one transaction.
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;
/// Most bytes in one item.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// Most keys in one batch get.
pub const MAX_BATCH_GET: usize = 100;
/// Most bytes in a partition key.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// Most bytes in a sort key.
pub const MAX_SORT_KEY_BYTES: usize = 1024;

/// A request that a store would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// Too many actions in one transaction.
    #[error(
        "the change needs {0} store writes; one transaction holds at most {MAX_TRANSACTION_WRITES}"
    )]
    TooManyWrites(usize),
    /// The transaction is too large.
    #[error("the change is {0} bytes; one transaction holds at most {MAX_TRANSACTION_BYTES} bytes")]
    TransactionTooLarge(usize),
    /// One item is too large.
    #[error("a stored item would be {0} bytes; an item holds at most {MAX_ITEM_BYTES} bytes")]
    ItemTooLarge(usize),
    /// A key is longer than a store takes.
    #[error(
        "a stored key would be {0} bytes; a partition key holds at most {MAX_PARTITION_KEY_BYTES} bytes and a sort key {MAX_SORT_KEY_BYTES}"
    )]
    KeyTooLong(usize),
    /// Two actions touch one item (DynamoDB refuses that).
    #[error("two writes of one transaction touch the same item ({0})")]
    DuplicateKey(String),
}

/// The size of an item as DynamoDB counts it, closely enough: names and values (as JSON).
pub fn item_size(item: &Item) -> usize {
    let mut bytes = ByteCount(0);
    for (name, value) in &item.attrs {
        bytes.0 += name.len();
        // Counting never fails, and a value that cannot be written as JSON is not stored.
        let _ = serde_json::to_writer(&mut bytes, value);
    }
    "pk".len() + item.key.pk.len() + "sk".len() + item.key.sk.len() + bytes.0
}

/// Counts what is written to it: an item's size without building its JSON (every write of
/// every transaction is measured).
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Checks a transaction against every limit.
///
/// # Errors
/// The first limit it breaks.
pub fn check_transaction(writes: &[Write]) -> Result<(), LimitError> {
    check_transaction_of(writes, MAX_TRANSACTION_WRITES)
}

/// As [`check_transaction`], with up to `max_writes` actions: a store's own limit
/// ([`crate::Store::max_grouped_writes`]) for writes the engine groups itself.
///
/// # Errors
/// The first limit it breaks.
pub fn check_transaction_of(writes: &[Write], max_writes: usize) -> Result<(), LimitError> {
    if writes.len() > max_writes {
        return Err(LimitError::TooManyWrites(writes.len()));
    }
    let mut keys = HashSet::with_capacity(writes.len());
    let mut total = 0;
    for write in writes {
        let key = write.key();
        if key.pk.len() > MAX_PARTITION_KEY_BYTES {
            return Err(LimitError::KeyTooLong(key.pk.len()));
        }
        if key.sk.len() > MAX_SORT_KEY_BYTES {
            return Err(LimitError::KeyTooLong(key.sk.len()));
        }
        if !keys.insert(key) {
            return Err(LimitError::DuplicateKey(format!("{} / {}", key.pk, key.sk)));
        }
        let size = match write {
            Write::Put { item, .. } => item_size(item),
            Write::Delete { key, .. } | Write::Check { key, .. } => key.pk.len() + key.sk.len(),
        };
        if size > MAX_ITEM_BYTES {
            return Err(LimitError::ItemTooLarge(size));
        }
        total += size;
    }
    if total > MAX_TRANSACTION_BYTES {
        return Err(LimitError::TransactionTooLarge(total));
    }
    Ok(())
}
