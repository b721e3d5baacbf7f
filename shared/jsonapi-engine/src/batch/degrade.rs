//! A synchronous batch past its wait (the type's `syncWait`, the model's
//! `sync_processing_wait_timeout`, 25 s): the request is answered as an asynchronous batch is
//! (`202`, `Content-Location`, an `asyncoperations` resource, `running`), and the batch goes
//! on in the background, still all or nothing, as one chunk. When it ends, its operation
//! ends: `success` with the counters of every item written, or `failed` with the batch's
//! errors (pointers into the request, as the synchronous answer would have had) and nothing
//! written. The written resources are not shown by the operation (as in the model: ask
//! again, or use a larger wait); the client polls the operation like any other.
//!
//! Only an engine that is [`Engine::shared`] degrades (`jsonapi-local`); a process that
//! stops before the batch ends leaves its change to the intent's recovery (rolled back) and
//! the operation `running` until it expires.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonapi_config::ResourceType;
use jsonapi_store::{Condition, Store, Write};
use tokio::task::JoinHandle;

use super::layout;
use super::operation::{Counts, Record, Status, expires_at};
use super::reads::now_ms;
use super::submit::accepted;
use super::worker::ErrorPlace;
use crate::actions::compound::BatchWritten;
use crate::document::Batch;
use crate::engine::{Ctx, Engine};
use crate::error::{ApiError, ApiErrors, ApiResult};
use crate::query::QueryParams;
use crate::request::ApiResponse;
use crate::values;

/// How often the end of a degraded batch is tried against a failing store.
const END_ATTEMPTS: u32 = 5;

/// The batch being written in the background.
type Writing = JoinHandle<ApiResult<BatchWritten>>;

impl<S: Store> Engine<S> {
    /// Writes a checked batch all or nothing and answers 200 with what was stored, or 202 with
    /// an operation when it is not done within the type's wait.
    pub(crate) async fn run_sync(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        q: &QueryParams,
        batch: Batch,
    ) -> ApiResult<ApiResponse> {
        let Some(engine) = self.me.upgrade() else {
            let written = self.write_sync(ctx, &batch).await?;
            return self.answer_sync(ctx, q, &batch, &written).await;
        };
        let started = (Instant::now(), now_ms());
        let batch = Arc::new(batch);
        let mut writing: Writing = tokio::spawn({
            let (ctx, batch) = (ctx.clone(), Arc::clone(&batch));
            async move { engine.write_sync(&ctx, &batch).await }
        });
        let written = match tokio::time::timeout(ty.batch.sync_wait, &mut writing).await {
            Ok(joined) => joined.unwrap_or_else(|e| Err(panicked(&e).into()))?,
            Err(_) => match self.degrade(ctx, ty, &batch, started, writing).await {
                Ok(response) => return Ok(response),
                // No operation could be stored: the client waits for the batch after all.
                Err(writing) => writing.await.unwrap_or_else(|e| Err(panicked(&e).into()))?,
            },
        };
        self.answer_sync(ctx, q, &batch, &written).await
    }

    /// Stores the operation the batch goes on as, hands the batch's end to it, and answers
    /// 202; the batch back when the operation could not be stored.
    async fn degrade(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        batch: &Batch,
        (started, started_ms): (Instant, i64),
        writing: Writing,
    ) -> Result<ApiResponse, Writing> {
        let now = time::OffsetDateTime::now_utc();
        let stamp = values::format_datetime(now);
        let stored = async {
            let id = self.store.allocate(&layout::sequence_key(), 1).await?;
            let record = Record {
                id,
                status: Status::Running,
                entity_type: ty.name.clone(),
                owner: ctx.access.caller().map(str::to_owned),
                created_at: stamp.clone(),
                updated_at: stamp,
                started_ms: Some(started_ms),
                finished_ms: None,
                chunks: 1,
                done_chunks: 0,
                given_up: 0,
                counts: Counts::default(),
                expires_at: expires_at(&self.schema, now),
            };
            let put = Write::Put {
                item: record.to_item(),
                condition: Some(Condition::Absent),
            };
            self.store.transact(vec![put]).await?;
            Ok::<_, jsonapi_store::StoreError>(record)
        };
        let (record, engine) = match (stored.await, self.me.upgrade()) {
            (Ok(record), Some(engine)) => (record, engine),
            (Err(e), _) => {
                tracing::warn!(error = %e, "a synchronous batch past its wait is waited for");
                return Err(writing);
            }
            (Ok(_), None) => return Err(writing),
        };
        let response = accepted(ctx, &record);
        let read = batch.primary.len();
        tokio::spawn(async move { engine.end_degraded(record, read, started, writing).await });
        Ok(response)
    }

    /// Ends the operation of a degraded batch with the batch's outcome.
    async fn end_degraded(
        &self,
        mut record: Record,
        read: usize,
        started: Instant,
        writing: Writing,
    ) {
        let outcome = writing.await.unwrap_or_else(|e| Err(panicked(&e).into()));
        let read_count = read as u64;
        let aggregate_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        record.counts = match &outcome {
            Ok(written) => {
                let created = written.items.iter().take(read).filter(|i| i.2).count() as u64;
                Counts {
                    read: read_count,
                    write: read_count,
                    create: created,
                    update: read_count - created,
                    error: 0,
                    aggregate_ms,
                }
            }
            Err(errors) => Counts {
                read: read_count,
                error: errors.0.len() as u64,
                aggregate_ms,
                ..Counts::default()
            },
        };
        record.status = match outcome {
            Ok(_) => Status::Success,
            Err(_) => Status::Failed,
        };
        record.done_chunks = 1;
        record.finished_ms = Some(now_ms());
        record.updated_at = values::format_datetime(time::OffsetDateTime::now_utc());
        // Errors first, so that an operation seen ended has them all; both writes may be
        // repeated, so a store that fails is tried again a few times.
        for attempt in 1..=END_ATTEMPTS {
            match self.store_end(&record, outcome.as_ref().err()).await {
                Ok(()) => return,
                Err(e) if attempt == END_ATTEMPTS => {
                    tracing::error!(error = ?e, op = record.id, "a degraded batch's operation was not ended");
                }
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    }

    /// Stores the errors of a degraded batch, then its ended operation.
    async fn store_end(&self, record: &Record, errors: Option<&ApiErrors>) -> ApiResult<()> {
        if let Some(errors) = errors {
            let place = ErrorPlace {
                op: record.id,
                chunk: 0,
                unit: 0,
                before: 0,
                expires_at: record.expires_at,
            };
            self.store_errors(&place, errors).await?;
        }
        let put = Write::Put {
            item: record.to_item(),
            condition: None,
        };
        Ok(self.store.transact(vec![put]).await?)
    }
}

/// The error of a batch whose task panicked.
fn panicked(e: &tokio::task::JoinError) -> ApiError {
    ApiError::internal(&format!("a synchronous batch failed: {e}"))
}
