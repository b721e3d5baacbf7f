//! An atomic chunk: a synchronous batch gone on as an operation, written all or nothing.

use std::collections::HashMap;

use jsonapi_store::Store;

use super::chunk::Chunk;
use super::errors::ErrorPlace;
use super::lease::Pace;
use super::told_to_stop;
use crate::batch::layout;
use crate::batch::operation::Counts;
use crate::commit::Steps;
use crate::document::Batch;
use crate::engine::Engine;
use crate::error::ApiResult;
use crate::stop::{Stop, stopping_at};

impl<S: Store> Engine<S> {
    /// Run `attempt` of an atomic chunk: the batch as one unit, every item or nothing. What
    /// an earlier run that died wrote is rolled back first (its intent is named after the
    /// run); a worker told to stop stops the write before its next transaction, rolls it back
    /// and leaves the chunk to its next run (`false`).
    pub(super) async fn apply_atomic(
        &self,
        id: u64,
        (n, attempt): (usize, u64),
        chunk: &Chunk,
        batch: &Batch,
        done: &HashMap<usize, Counts>,
        stopped: Option<&tokio::sync::watch::Receiver<bool>>,
    ) -> ApiResult<bool> {
        let counts = match done.get(&0) {
            Some(counts) => *counts,
            None => {
                let runs = format!("batch-{id}-{n}-");
                self.roll_back_named(&runs).await?;
                let steps = Steps {
                    intent: Some(format!("{runs}{attempt}")),
                    stop: Stop::default(),
                };
                let place = ErrorPlace {
                    op: id,
                    chunk: n,
                    unit: 0,
                    before: 0,
                    expires_at: chunk.expires_at,
                };
                let (data, included) = (&batch.primary, &batch.included);
                let run = self.run_unit(&place, chunk, data, included, Some(&steps));
                let counts = stopping_at(&steps.stop, told_to_stop(stopped), run).await;
                if steps.stop.honoured() {
                    return Ok(false);
                }
                counts?
            }
        };
        // An atomic chunk is its operation's only one: its end is durable at any pace.
        let key = layout::chunk_key(id, n);
        self.finish_chunk(id, key, chunk, counts, false, Pace::Synced)
            .await?;
        Ok(true)
    }
}
