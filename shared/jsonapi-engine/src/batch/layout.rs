//! Where an asynchronous operation lives in the store. One partition per operation holds:
//!
//! - `op`: the operation's record (status, owner, counters, `expiresAt`: the epoch second
//!   after which it is deleted, DynamoDB's TTL attribute in the cloud);
//! - `chunk#{n}`: the items of one chunk as the request wrote them, with their places in the
//!   request, and `state` (`pending` until the chunk's counters are added to the record, in
//!   the same transaction, under the condition that it was still `pending`);
//! - `unit#{n}#{u}`: written in the same transaction as the resources of one unit of work
//!   (the items linked to each other), absent before: a unit is applied once however often
//!   its chunk is run;
//! - `error#{n}#{u}#{k}`: the errors of a unit that could not be applied;
//! - `body#{n}#{k}`: part `k` of the body of chunk `n` when it is too large for one item
//!   (the chunk then holds `parts`, their count, instead of its body; `super::body`).
//!
//! An import delivered by an event (an S3 object's) has a claim of its own, outside the
//! operations' partitions: `meta#import-delivery#{digest}` names the operation that imported
//! the object, so that a second delivery of the same event imports nothing.
//!
//! Unfinished operations are also listed in one partition of their own, so that a worker that
//! starts resumes them.
//!
//! In the cloud, storing a chunk is what starts its work: the table's stream delivers the
//! chunk's INSERT to the `batch-worker` function, whose event filter matches the chunk keys by
//! [`PARTITION`] and [`CHUNK_PREFIX`] (the template is generated from both). Every item of an
//! operation carries [`EXPIRES_AT`], the table's TTL attribute.

use jsonapi_store::Key;

/// The start of the partition key of every item of the operations (their partitions, the
/// list of unfinished ones, the counter of their ids): what a function's permissions name.
pub const OPERATIONS_KEY_PREFIX: &str = "meta#asyncoperation";
/// The start of every operation's partition key.
pub const PARTITION: &str = "meta#asyncoperation#";
/// The start of every chunk's sort key.
pub const CHUNK_PREFIX: &str = "chunk#";
/// The attribute holding the epoch second after which an item of an operation is deleted
/// (the table's TTL attribute in the cloud, the worker's sweep on the embedded store).
pub use jsonapi_store::EXPIRES_AT;
const PENDING: &str = "meta#asyncoperations-pending";

/// The partition of an operation.
pub(crate) fn partition(op: u64) -> String {
    format!("{PARTITION}{op}")
}

/// The operation's record.
pub(crate) fn record_key(op: u64) -> Key {
    Key::new(partition(op), "op")
}

/// One chunk of the operation.
pub(crate) fn chunk_key(op: u64, chunk: usize) -> Key {
    Key::new(partition(op), format!("{CHUNK_PREFIX}{chunk:06}"))
}

/// The operation and chunk number of a chunk's key (`None`: not a chunk's key).
pub(crate) fn chunk_of(key: &Key) -> Option<(u64, usize)> {
    let op = key.pk.strip_prefix(PARTITION)?.parse().ok()?;
    let chunk = key.sk.strip_prefix(CHUNK_PREFIX)?.parse().ok()?;
    Some((op, chunk))
}

/// The sort-key prefix of the parts of a chunk's body.
pub(crate) fn body_prefix(chunk: usize) -> String {
    format!("body#{chunk:06}#")
}

/// Part `k` of the body of chunk `n`.
pub(crate) fn body_key(op: u64, chunk: usize, k: usize) -> Key {
    Key::new(partition(op), format!("{}{k:04}", body_prefix(chunk)))
}

/// The sort-key prefix of the unit records of a chunk.
pub(crate) fn units_prefix(chunk: usize) -> String {
    format!("unit#{chunk:06}#")
}

/// The record that a unit of a chunk was processed.
pub(crate) fn unit_key(op: u64, chunk: usize, unit: usize) -> Key {
    Key::new(partition(op), format!("{}{unit:06}", units_prefix(chunk)))
}

/// The sort-key prefix of every error of the operation, in chunk and unit order.
pub(crate) const ERRORS_PREFIX: &str = "error#";

/// One error of a unit.
pub(crate) fn error_key(op: u64, chunk: usize, unit: usize, k: usize) -> Key {
    Key::new(
        partition(op),
        format!("{ERRORS_PREFIX}{chunk:06}#{unit:06}#{k:06}"),
    )
}

/// The partition listing unfinished operations.
pub(crate) fn pending_partition() -> &'static str {
    PENDING
}

/// An unfinished operation's entry in that list (ids sort numerically).
pub(crate) fn pending_key(op: u64) -> Key {
    Key::new(PENDING, format!("{op:020}"))
}

/// The start of the partition key of a delivered import's claim (one partition each).
pub const DELIVERY_PARTITION: &str = "meta#import-delivery#";

/// The claim of a delivered import, by the digest of what names the delivered object.
pub(crate) fn delivery_key(digest: &str) -> Key {
    Key::new(format!("{DELIVERY_PARTITION}{digest}"), "claim")
}

/// The counter operation ids are allocated from.
pub(crate) fn sequence_key() -> Key {
    Key::new("meta#asyncoperation-seq", "#")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_key_reads_back_as_its_operation_and_number() {
        assert_eq!(chunk_of(&chunk_key(42, 7)), Some((42, 7)));
        assert_eq!(chunk_of(&record_key(42)), None);
        assert_eq!(chunk_of(&unit_key(42, 7, 1)), None);
        assert_eq!(chunk_of(&Key::new("products#1", "chunk#000001")), None);
    }

    #[test]
    fn every_partition_of_the_operations_starts_with_their_prefix() {
        for pk in [
            partition(42),
            pending_partition().to_owned(),
            sequence_key().pk,
        ] {
            assert!(pk.starts_with(OPERATIONS_KEY_PREFIX), "{pk}");
        }
        assert!(!delivery_key("d").pk.starts_with(OPERATIONS_KEY_PREFIX));
    }
}
