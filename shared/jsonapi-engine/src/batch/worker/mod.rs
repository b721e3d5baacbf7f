//! The worker: runs the unfinished operations, chunk by chunk and unit by unit, in this
//! process (`jsonapi-local` runs it beside the server; a restart resumes what was left).
//!
//! A unit's resources are written in one transaction together with the unit's record, which
//! must be absent: a unit is applied once, however often its chunk is run (after a crash, or
//! by two workers). A unit that cannot be applied leaves its errors instead, pointing into
//! the original request. A chunk's counters are added to the operation's in one transaction
//! that also marks the chunk done, under the condition that it was not: counters are exact.
//!
//! - this module: the loop (`Engine::run_batch_worker`), which resumes the unfinished
//!   operations and runs each new one chunk after chunk, and the cloud's entry
//!   (`Engine::run_released_chunk`);
//! - `chunk`: a chunk as stored, and its items' pointers into the original request;
//! - `attempts`: a chunk's runs counted before they start, and the chunk given up when its
//!   runs are spent;
//! - `apply`: a chunk run unit by unit, `group` its units written many to a transaction,
//!   `unit` one unit written (or, through `errors`, its errors stored), `atomic` a chunk
//!   written all or nothing;
//! - `finish`: a chunk's counters added to its operation's, which the last chunk ends;
//! - `lease`: the in-process worker's leases on windows of chunks, so that their counts and
//!   ends need no sync each;
//! - `sweep`: expired operations deleted.

mod apply;
mod atomic;
mod attempts;
mod chunk;
mod errors;
mod finish;
mod group;
mod lease;
mod sweep;
mod unit;

pub(crate) use chunk::{ATOMIC, Chunk};
pub(crate) use errors::ErrorPlace;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use jsonapi_store::{Key, RangeQuery, Store, Write};
use serde_json::Value;

use super::layout;
use super::operation::Record;
use crate::auth::access::Access;
use crate::engine::{Ctx, Engine};
use crate::error::ApiResult;
use crate::precondition::Preconditions;
use lease::Pace;

/// How often the worker deletes expired operations, and looks for work it was not told of.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// How long the worker waits before retrying an operation the store failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often a chunk's end is tried against a record other workers keep changing.
const FINISH_ATTEMPTS: usize = 20;
/// How many chunks of one operation the in-process worker runs at once: enough that one is
/// always ready to be planned while the store writes another, although each chunk's run also
/// waits for small writes (its count, its end) queued behind the others' large ones.
pub const CHUNKS_AT_ONCE: usize = 4;

/// How many runs of a chunk may fail before it is given up: its items not applied are
/// reported as errors and the chunk counts as done, so that its operation ends. The cloud's
/// stream retries a record twice this many times (the template's `MaximumRetryAttempts`):
/// a failure before a run is counted (a throttled read of the operation) spends a delivery
/// too, and the chunk must still be given up by a delivery, never left to the on-failure
/// queue; the in-process worker keeps the same budget.
pub const CHUNK_ATTEMPTS: u64 = 10;

impl<S: Store> Engine<S> {
    /// Runs the batch worker until `stop` completes: resumes the unfinished operations, then
    /// runs each new one as it is submitted, and deletes expired operations every hour. A
    /// stop takes effect between two units of work, so that nothing the worker started is
    /// still running when it returns (the embedded store closes after it).
    pub async fn run_batch_worker(self: Arc<Self>, stop: impl Future<Output = ()>) {
        let (stopping, stopped) = tokio::sync::watch::channel(false);
        let signal = async move {
            stop.await;
            let _ = stopping.send(true);
        };
        tokio::join!(signal, self.work(stopped));
    }

    async fn work(&self, mut stopped: tokio::sync::watch::Receiver<bool>) {
        let mut next_sweep = tokio::time::Instant::now();
        while !*stopped.borrow() {
            // Registered before looking, so that a batch stored meanwhile wakes the next wait.
            let woken = self.batch_queue.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if tokio::time::Instant::now() >= next_sweep {
                if let Err(e) = self.sweep_expired().await {
                    tracing::warn!(error = ?e, "sweeping expired batch operations failed");
                }
                next_sweep = tokio::time::Instant::now() + SWEEP_EVERY;
            }
            let pause = match self.run_pending(&stopped).await {
                Ok(()) => SWEEP_EVERY,
                Err(e) => {
                    tracing::warn!(error = ?e, "a batch operation will be retried");
                    RETRY_AFTER
                }
            };
            tokio::select! {
                _ = stopped.changed() => {}
                () = &mut woken => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Runs every unfinished operation, oldest first, until told to stop.
    async fn run_pending(&self, stopped: &tokio::sync::watch::Receiver<bool>) -> ApiResult<()> {
        let query = RangeQuery::partition(layout::pending_partition(), 100);
        let page = self.store.query(&query).await?;
        for item in page.items {
            let Some(id) = item.attrs.get("id").and_then(Value::as_u64) else {
                continue;
            };
            self.run_operation(id, stopped).await?;
        }
        Ok(())
    }

    /// Runs one operation to its end, or until told to stop.
    async fn run_operation(
        &self,
        id: u64,
        stopped: &tokio::sync::watch::Receiver<bool>,
    ) -> ApiResult<()> {
        let Some(record) = self.load_record(id).await? else {
            // Swept, or its record never stored: nothing is left to run.
            return self.finish_pending(id, Vec::new()).await;
        };
        // A chunk already done (by an earlier run, or by another worker) is skipped. Chunks
        // run [`CHUNKS_AT_ONCE`] at a time, in order: one is checked and planned while the
        // store writes another (the embedded store writes on a thread of its own), as several
        // workers would run them (their ends count all; an item of a later one that needs an
        // earlier one's writes, an upsert of the same unique value, is retried alone and finds
        // them).
        // Leased past the end of a lease an earlier run left, synced before it (`lease`).
        let synced_until = self.synced_until(id).await?;
        let (expires_at, chunks) = (record.expires_at, record.chunks);
        // Marked running here, once, not by each of the chunks that start at once (each
        // would try, and all but one would fail a durable write).
        self.mark_record_running(record).await?;
        let mut runs = futures_util::stream::iter(0..chunks)
            .map(|n| async move {
                let pace = self.pace_of(id, n, synced_until, expires_at).await?;
                self.run_chunk(id, n, Some(stopped), pace).await
            })
            .buffered(CHUNKS_AT_ONCE);
        while let Some(ran) = runs.next().await {
            if !ran? {
                return Ok(());
            }
        }
        // The last chunk's transaction ended the operation; this only tidies a list entry
        // left by a run that ended before that transaction existed.
        self.finish_pending(id, Vec::new()).await
    }

    /// Applies the chunk a release names (the `batch-worker` function's work: the table's
    /// stream delivers each release as it is stored), exactly as the in-process worker would:
    /// a chunk already done is left alone, and a chunk interrupted is completed. A key that is
    /// not a release's is ignored, and so is a release whose operation is gone (expired:
    /// releases are written after their operation's record, so a missing one never comes).
    /// First it releases the chunk [`super::release::FIRST_RELEASES`] further on, if any.
    ///
    /// # Errors
    /// The chunk could not be applied now (the store failed): it should be delivered again;
    /// what it applied so far is kept and not applied again.
    pub async fn run_released_chunk(&self, key: &Key) -> ApiResult<()> {
        let Some((id, n)) = layout::released_chunk(key) else {
            return Ok(());
        };
        let Some(record) = self.load_record(id).await? else {
            tracing::info!(
                op = id,
                chunk = n,
                "a released chunk's operation has expired"
            );
            return Ok(());
        };
        self.release_successor(&record, n).await?;
        self.run_chunk(id, n, None, Pace::Synced).await.map(|_| ())
    }

    /// The operation's record, if stored.
    pub(in crate::batch) async fn load_record(&self, id: u64) -> ApiResult<Option<Record>> {
        Ok(self
            .store
            .get(&layout::record_key(id))
            .await?
            .and_then(|i| Record::from_item(&i)))
    }

    /// Removes an operation from the unfinished ones, with `writes`.
    async fn finish_pending(&self, id: u64, mut writes: Vec<Write>) -> ApiResult<()> {
        writes.push(Write::Delete {
            key: layout::pending_key(id),
            condition: None,
        });
        Ok(self.store.transact(writes).await?)
    }
}

/// Completes once the worker is told to stop (never without a worker: a function's run).
async fn told_to_stop(stopped: Option<&tokio::sync::watch::Receiver<bool>>) {
    if let Some(stopped) = stopped
        && stopped.clone().wait_for(|stop| *stop).await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

/// The worker writes with the permissions the request was checked for when it was accepted.
fn worker_ctx() -> Ctx {
    Ctx {
        api_url: String::new(),
        hateoas: false,
        total_count: false,
        deleted_count: false,
        access: Arc::new(Access::Everything),
        preconditions: Preconditions::default(),
        query: Vec::new(),
        storefront: crate::storefront::Storefront::default(),
        addressed_as: None,
        variant: crate::precondition::Variant::default(),
    }
}
