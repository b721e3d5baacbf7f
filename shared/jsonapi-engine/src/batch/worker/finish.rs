//! An operation marked running, and a chunk's end counted into its operation's record.

use jsonapi_store::{Condition, Item, Key, Store, Write};
use serde_json::Map;

use super::FINISH_ATTEMPTS;
use super::chunk::Chunk;
use super::lease::Pace;
use crate::batch::layout;
use crate::batch::operation::{Counts, Record, Status};
use crate::batch::reads::now_ms;
use crate::engine::Engine;
use crate::error::{ApiError, ApiResult};
use crate::values;

impl<S: Store> Engine<S> {
    /// Marks a new operation running (a record no longer new is left alone: its counters may
    /// already hold chunks).
    pub(super) async fn mark_running(&self, id: u64) -> ApiResult<()> {
        match self.load_record(id).await? {
            Some(record) => self.mark_record_running(record).await,
            None => Ok(()),
        }
    }

    /// As [`Self::mark_running`], with the operation's record in hand.
    pub(super) async fn mark_record_running(&self, mut record: Record) -> ApiResult<()> {
        if record.status != Status::New {
            return Ok(());
        }
        record.status = Status::Running;
        record.started_ms = Some(now_ms());
        record.updated_at = values::format_datetime(time::OffsetDateTime::now_utc());
        let put = Write::Put {
            item: record.to_item(),
            condition: Some(Condition::Equals {
                name: "status".into(),
                value: "new".into(),
            }),
        };
        match self.store.transact(vec![put]).await {
            Err(jsonapi_store::StoreError::ConditionFailed { .. }) | Ok(()) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Marks a chunk done and adds its counters to the operation's in one transaction, under
    /// the conditions that the chunk was not done yet and that the record is the one read
    /// (two workers finishing chunks of one operation at once both count); the last chunk
    /// also ends the operation, always durably (the client is told); the others at `pace`.
    pub(super) async fn finish_chunk(
        &self,
        id: u64,
        key: Key,
        chunk: &Chunk,
        counts: Counts,
        given_up: bool,
        pace: Pace,
    ) -> ApiResult<()> {
        let mut attrs = Map::new();
        attrs.insert("state".into(), "done".into());
        attrs.insert("summary".into(), counts.to_json());
        attrs.insert(layout::EXPIRES_AT.into(), chunk.expires_at.into());
        let chunk_done = Write::Put {
            item: Item {
                key: key.clone(),
                attrs,
            },
            condition: Some(Condition::Equals {
                name: "state".into(),
                value: "pending".into(),
            }),
        };
        for _ in 0..FINISH_ATTEMPTS {
            let Some(mut record) = self.load_record(id).await? else {
                // Expired, and deleted with its counters meanwhile: nothing is left to count.
                return Ok(());
            };
            let read = record.done_chunks;
            record.done_chunks += 1;
            record.given_up += usize::from(given_up);
            record.counts.add(counts);
            let now = time::OffsetDateTime::now_utc();
            record.updated_at = values::format_datetime(now);
            let last = record.done_chunks >= record.chunks;
            if last {
                // Items with problems of their own leave a `success` (the model's rule); an
                // operation that wrote nothing because chunks were given up, or because its
                // atomic batch was refused, `failed`.
                let wrote_nothing = record.counts.write == 0;
                record.status = if wrote_nothing && (record.given_up > 0 || chunk.atomic) {
                    Status::Failed
                } else {
                    Status::Success
                };
                record.finished_ms = Some(now_ms());
            }
            let mut writes = vec![
                chunk_done.clone(),
                Write::Put {
                    item: record.to_item(),
                    condition: Some(Condition::Equals {
                        name: "doneChunks".into(),
                        value: read.into(),
                    }),
                },
            ];
            if last {
                writes.push(Write::Delete {
                    key: layout::pending_key(id),
                    condition: None,
                });
            }
            let pace = if last { Pace::Synced } else { pace };
            match pace.transact(&*self.store, writes).await {
                Ok(()) => return Ok(()),
                Err(jsonapi_store::StoreError::ConditionFailed { .. }) => {
                    // Done by another run meanwhile, or the record moved on: look again.
                    let state = self.store.get(&key).await?;
                    if state.is_some_and(|i| i.attrs.get("state") != Some(&"pending".into())) {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::internal(&"the batch operation is being updated by another worker").into())
    }
}
