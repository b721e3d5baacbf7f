//! The step that makes a new operation visible and starts its work, once every chunk of it is
//! stored: its record, its entry in the list of unfinished operations and its chunks' releases
//! (`layout` says why in this order).

use jsonapi_store::{Condition, Item, Store, Write, limits};
use serde_json::Map;

use super::layout;
use super::operation::Record;
use crate::engine::Engine;
use crate::error::ApiResult;

impl<S: Store> Engine<S> {
    /// Stores the record of a new operation (its chunks stored), lists it among the
    /// unfinished ones, releases its chunks and wakes the worker; the record.
    ///
    /// The record, its list entry and the first 98 releases are one transaction; an operation
    /// of more chunks has its other releases written in the transactions after it. The
    /// in-process worker needs none of them (it runs what the list holds); in the cloud, a
    /// process stopped between those transactions leaves the chunks not released yet unrun,
    /// their operation `running` until it expires.
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
        writes.extend((0..chunks).map(|n| release(id, n, expires_at)));
        self.transact_in_turn(writes).await?;
        self.batch_queue.notify_one();
        Ok(record)
    }

    /// Writes `writes` in order, in as few transactions as the store's common limit allows
    /// (each one whole; a failure stops before the next).
    pub(crate) async fn transact_in_turn(&self, writes: Vec<Write>) -> ApiResult<()> {
        let mut writes = writes.into_iter().peekable();
        while writes.peek().is_some() {
            let batch: Vec<Write> = writes
                .by_ref()
                .take(limits::MAX_TRANSACTION_WRITES)
                .collect();
            self.store.transact(batch).await?;
        }
        Ok(())
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
        condition: None,
    }
}
