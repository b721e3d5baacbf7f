//! The step that makes a new operation visible and starts its work, once every chunk of it is
//! stored: its record, its entry in the list of unfinished operations and the first of its
//! chunks' releases, in one transaction (`layout` says why in this order); the rest of the
//! releases come from the work itself ([`Engine::release_successor`]).

use jsonapi_store::{Condition, Item, Store, StoreError, Write, limits};
use serde_json::Map;

use super::layout;
use super::operation::Record;
use crate::engine::Engine;
use crate::error::ApiResult;

/// How many releases an operation's record's transaction holds (beside the record and its
/// list entry). The release of chunk `n` releases chunk `n + FIRST_RELEASES`, so an
/// operation of more chunks runs as this many chains, each started by the record.
pub(crate) const FIRST_RELEASES: usize = limits::MAX_TRANSACTION_WRITES - 2;

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
        match self
            .store
            .transact(vec![release(record.id, next, record.expires_at)])
            .await
        {
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The release of chunk `n`: its key names the chunk, and it expires with its operation.
/// Written without a condition: writing it again is a change, not an INSERT, so it starts
/// nothing twice.
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
