//! The step that makes a new operation visible and starts its work, once every chunk of it is
//! stored: its record, its entry in the list of unfinished operations and the first of its
//! chunks' releases, in one transaction (`layout` says why in this order); the rest of the
//! releases come from the work itself ([`Engine::release_successor`]). Releases the stream
//! gave up on are written again by [`Engine::release_stalled`].

use std::time::Duration;

use jsonapi_store::{Condition, Item, Key, RangeQuery, Store, StoreError, Write, limits};
use serde_json::{Map, Value};

use super::layout;
use super::operation::{Record, Status};
use crate::engine::Engine;
use crate::error::ApiResult;
use crate::values;

/// How many releases an operation's record's transaction holds (beside the record and its
/// list entry). The release of chunk `n` releases chunk `n + FIRST_RELEASES`, so an
/// operation of more chunks runs as this many chains, each started by the record.
pub(crate) const FIRST_RELEASES: usize = limits::MAX_TRANSACTION_WRITES - 2;

/// How long an unfinished operation may go without a chunk ending before the cloud's hourly
/// sweep ([`Engine::release_stalled`]) releases its pending chunks again.
pub const STALL_AFTER: Duration = Duration::from_secs(3600);

/// How many chunks the sweep reads at once: a pending chunk holds its body (up to an item's
/// 400 KB), and one read answers at most 16 MB.
const CHUNKS_READ_AT_ONCE: usize = 25;

impl<S: Store> Engine<S> {
    /// Stores the record of a new operation (its chunks stored), lists it among the
    /// unfinished ones, releases its first chunks and wakes the worker; the record.
    ///
    /// One transaction: an operation is stored whole or not at all, whatever its size, so a
    /// store failure here leaves nothing to recover (an import that failed may be run again).
    /// The in-process worker needs no release (it runs what the list holds); in the cloud,
    /// each release's delivery writes the release [`FIRST_RELEASES`] chunks further on.
    pub(crate) async fn store_operation(&self, record: Record) -> ApiResult<Record> {
        let (id, chunks, expires_at) = (record.id, record.chunks, record.expires_at);
        let mut pending = Map::new();
        pending.insert("id".into(), id.into());
        pending.insert(layout::EXPIRES_AT.into(), expires_at.into());
        let mut writes = vec![
            Write::Put {
                item: record.to_item(),
                condition: Some(Condition::Absent),
            },
            Write::Put {
                item: Item {
                    key: layout::pending_key(id),
                    attrs: pending,
                },
                condition: None,
            },
        ];
        writes.extend((0..chunks.min(FIRST_RELEASES)).map(|n| release(id, n, expires_at)));
        self.store.transact(writes).await?;
        self.batch_queue.notify_one();
        Ok(record)
    }

    /// Releases the chunk [`FIRST_RELEASES`] after chunk `n` of `record`'s operation, if it
    /// has one: what the delivery of chunk `n`'s release does first, before its chunk runs,
    /// so that a chunk that fails or is given up still passes the work on. A delivery repeated
    /// finds that release written and writes nothing (a second INSERT would run it twice).
    ///
    /// # Errors
    /// The store failed: the delivery should be repeated.
    pub(crate) async fn release_successor(&self, record: &Record, n: usize) -> ApiResult<()> {
        let next = n + FIRST_RELEASES;
        if next >= record.chunks {
            return Ok(());
        }
        self.write_release(record.id, next, record.expires_at).await
    }

    /// Writes the release of chunk `n` where it is absent; one there already (written by
    /// another delivery) is released all the same.
    async fn write_release(&self, op: u64, n: usize, expires_at: i64) -> ApiResult<()> {
        match self.store.transact(vec![release(op, n, expires_at)]).await {
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Releases again, as new INSERTs, the pending chunks of every unfinished operation
    /// whose record has not changed for `idle_for`: the cloud's scheduled sweep. The stream
    /// gives a release up when its record ages past a day or its retries are spent (the
    /// table failing throughout, the worker broken by a deployment); its chunk, and the
    /// chunks its delivery would have released, then stay pending, and the operation
    /// `running`, until this sweep. A release written again is deleted first (rewriting it
    /// would be a MODIFY, which the worker's filter does not pass). A chunk still queued in
    /// the stream is then delivered twice, which applies it once. The number of chunks
    /// released again.
    ///
    /// # Errors
    /// The store failed; a sweep repeated later does the rest.
    pub async fn release_stalled(&self, idle_for: Duration) -> ApiResult<usize> {
        let before = time::OffsetDateTime::now_utc() - idle_for;
        let mut released = 0;
        let mut query = RangeQuery::partition(layout::pending_partition(), 100);
        loop {
            let page = self.store.query(&query).await?;
            for item in &page.items {
                let Some(id) = item.attrs.get("id").and_then(Value::as_u64) else {
                    continue;
                };
                let Some(record) = self.load_record(id).await? else {
                    continue;
                };
                let idle = values::parse_datetime(&record.updated_at).is_some_and(|t| t <= before);
                if idle && matches!(record.status, Status::New | Status::Running) {
                    released += self.release_pending_chunks(&record).await?;
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(released),
            }
        }
    }

    /// Writes again the releases of `record`'s operation whose chunks are pending; how many.
    async fn release_pending_chunks(&self, record: &Record) -> ApiResult<usize> {
        let mut released = 0;
        let mut query = RangeQuery::prefix(
            layout::partition(record.id),
            layout::RELEASE_PREFIX,
            limits::MAX_BATCH_GET,
        );
        loop {
            let page = self.store.query(&query).await?;
            for releases in page.items.chunks(CHUNKS_READ_AT_ONCE) {
                let chunks: Vec<Key> = releases
                    .iter()
                    .filter_map(|r| layout::released_chunk(&r.key))
                    .map(|(op, n)| layout::chunk_key(op, n))
                    .collect();
                for chunk in self.store.batch_get(&chunks).await? {
                    let pending = chunk.attrs.get("state") == Some(&Value::from("pending"));
                    if let Some((op, n)) = layout::chunk_of(&chunk.key).filter(|_| pending) {
                        self.release_again(op, n, record.expires_at).await?;
                        released += 1;
                    }
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(released),
            }
        }
    }

    /// Deletes the release of chunk `n` and writes it anew: an INSERT for the stream.
    async fn release_again(&self, op: u64, n: usize, expires_at: i64) -> ApiResult<()> {
        let delete = Write::Delete {
            key: layout::release_key(op, n),
            condition: None,
        };
        self.store.transact(vec![delete]).await?;
        self.write_release(op, n, expires_at).await
    }
}

/// The release of chunk `n`: its key names the chunk, and it expires with its operation.
/// Written only where absent: written again in place it would be a MODIFY, which starts
/// nothing, and a second INSERT would start its chunk twice.
fn release(op: u64, n: usize, expires_at: i64) -> Write {
    let mut attrs = Map::new();
    attrs.insert(layout::EXPIRES_AT.into(), expires_at.into());
    Write::Put {
        item: Item {
            key: layout::release_key(op, n),
            attrs,
        },
        condition: Some(Condition::Absent),
    }
}
