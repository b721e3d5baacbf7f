//! Where an asynchronous operation lives in the store. One partition per operation holds:
//!
//! - `op`: the operation's record (status, owner, counters, `expiresAt`: the epoch second
//!   after which it is deleted, DynamoDB's TTL attribute in the cloud);
//! - `chunk#{n}`: the items of one chunk as the request wrote them, with their places in the
//!   request, and `state` (`pending` until the chunk's counters are added to the record, in
//!   the same transaction, under the condition that it was still `pending`);
//! - `ready#{n}`: the release of chunk `n`, which holds nothing but its expiry: its key names
//!   the chunk, and its INSERT is what starts the chunk's work in the cloud (below);
//! - `unit#{n}#{u}`: written in the same transaction as the resources of one unit of work
//!   (the items linked to each other), absent before: a unit is applied once however often
//!   its chunk is run;
//! - `error#{n}#{u}#{k}`: the errors of a unit that could not be applied;
//! - `body#{n}#{k}`: part `k` of the body of chunk `n` when it is too large for one item
//!   (the chunk then holds `parts`, their count, instead of its body; `super::body`);
//! - `lease`: where the window of chunks the in-process worker last took ends
//!   (`super::worker::lease`).
//!
//! An import delivered by an event (an S3 object's) has a claim of its own, outside the
//! operations' partitions: `meta#import-delivery#{digest}` names the operation that imported
//! the object, so that a second delivery of the same event imports nothing.
//!
//! Unfinished operations are also listed in one partition of their own, so that a worker that
//! starts resumes them.
//!
//! Every operation, a batch request's or an import's, is stored in one order: its chunks
//! first, which nothing runs yet; then, in one transaction, its record, its entry in the list
//! of unfinished operations and the releases of its first 98 chunks; the delivery of chunk
//! `n`'s release writes the release of chunk `n + 98` (`super::release`), so no failure
//! between transactions can leave a stored operation with chunks never released. An import
//! refused half-way has stored chunks only, which it deletes: no work starts for a file that
//! is not whole, and no record shows an operation whose chunks are not all there. The record
//! cannot come first: an import learns how many chunks it has at the end of its file, and the
//! in-process worker runs every chunk a listed record counts.
//!
//! In the cloud, a release's INSERT is what starts a chunk's work: the table's stream delivers
//! it to the `batch-worker` function, whose event filter matches the releases' keys by
//! [`PARTITION`] and [`RELEASE_PREFIX`] (the template is generated from both), never the
//! chunks themselves. A release is written after its operation's record, so the worker finds
//! the record of every release it is given, unless the operation has expired. The in-process
//! worker (`jsonapi-local`) finds its work in the list of unfinished operations and reads no
//! release. Every item of an operation carries [`EXPIRES_AT`], the table's TTL attribute.

use jsonapi_store::Key;

/// The start of the partition key of every item of the operations (their partitions, the
/// list of unfinished ones, the counter of their ids): what a function's permissions name.
pub const OPERATIONS_KEY_PREFIX: &str = "meta#asyncoperation";
/// The start of every operation's partition key.
pub const PARTITION: &str = "meta#asyncoperation#";
/// The start of every chunk's sort key.
const CHUNK_PREFIX: &str = "chunk#";
/// The start of every chunk's release's sort key: what the cloud's worker is given.
pub const RELEASE_PREFIX: &str = "ready#";
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

/// The in-process worker's lease on the operation's next chunks.
pub(crate) fn lease_key(op: u64) -> Key {
    Key::new(partition(op), "lease")
}

/// One chunk of the operation.
pub(crate) fn chunk_key(op: u64, chunk: usize) -> Key {
    Key::new(partition(op), format!("{CHUNK_PREFIX}{chunk:06}"))
}

/// The release of one chunk of the operation.
pub(crate) fn release_key(op: u64, chunk: usize) -> Key {
    Key::new(partition(op), format!("{RELEASE_PREFIX}{chunk:06}"))
}

/// The operation and chunk number a release's key names (`None`: not a release's key).
pub(crate) fn released_chunk(key: &Key) -> Option<(u64, usize)> {
    numbered(key, RELEASE_PREFIX)
}

/// The operation and chunk number of a chunk's key (`None`: not a chunk's key).
pub(crate) fn chunk_of(key: &Key) -> Option<(u64, usize)> {
    numbered(key, CHUNK_PREFIX)
}

/// The operation and chunk number of a key of an operation's partition whose sort key is
/// `prefix` and the chunk's number.
fn numbered(key: &Key, prefix: &str) -> Option<(u64, usize)> {
    let op = key.pk.strip_prefix(PARTITION)?.parse().ok()?;
    let chunk = key.sk.strip_prefix(prefix)?.parse().ok()?;
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
    fn a_release_key_names_its_operation_and_chunk_and_no_other_key_does() {
        assert_eq!(released_chunk(&release_key(42, 7)), Some((42, 7)));
        assert_eq!(released_chunk(&chunk_key(42, 7)), None);
        assert_eq!(released_chunk(&record_key(42)), None);
        assert_eq!(released_chunk(&unit_key(42, 7, 1)), None);
        assert_eq!(
            released_chunk(&Key::new("products#1", "ready#000001")),
            None
        );
    }

    #[test]
    fn every_partition_of_the_operations_starts_with_their_prefix() {
        for pk in [
            partition(42),
            release_key(42, 0).pk,
            pending_partition().to_owned(),
            sequence_key().pk,
        ] {
            assert!(pk.starts_with(OPERATIONS_KEY_PREFIX), "{pk}");
        }
        assert!(!delivery_key("d").pk.starts_with(OPERATIONS_KEY_PREFIX));
    }
}
