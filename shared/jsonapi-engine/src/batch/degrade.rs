//! A synchronous batch past its wait (the type's `syncWait`, the model's
//! `sync_processing_wait_timeout`, 25 s) is answered as an asynchronous batch is (`202`,
//! `Content-Location`, an `asyncoperations` resource, `running`) and goes on as an operation,
//! still all or nothing.
//!
//! At the wait the write is asked to stop (`crate::stop`): it stops before its next store
//! transaction, never in the middle of one, and rolls back the steps it wrote through its
//! intent's own rollback (`crate::intent`). The batch is then stored as an operation of ONE
//! *atomic* chunk (the whole request as one unit of work), released to the worker as any
//! chunk is: the in-process worker of `jsonapi-local`, the cloud's `batch-worker` function from
//! the table's stream. The worker writes an atomic chunk as the synchronous request would
//! have (every item or nothing, in steps when it needs them) and its operation ends `success`
//! with the counters, or `failed` with the batch's errors (pointers into the request, as the
//! synchronous answer would have had) and nothing written.
//!
//! Nothing runs after the answer in the process that answered, so a Lambda function (frozen
//! once it has answered) degrades as `jsonapi-local` does, and a process that stops never
//! leaves an acknowledged batch behind: the operation is stored with its chunk, and a worker
//! that stops or dies in the middle of it leaves the chunk to its next run (which rolls back
//! what the dead run wrote first). A write that ends before it notices the stop answers as
//! usual: `200` with what it stored, or its errors.

use std::sync::Arc;
use std::time::Instant;

use jsonapi_config::ResourceType;
use jsonapi_store::Store;

use super::layout;
use super::operation::{Record, Status, expires_at};
use super::reads::now_ms;
use super::submit::{chunk_item, raw_items};
use super::units::Unit;
use super::worker::ATOMIC;
use crate::commit::Steps;
use crate::document::Batch;
use crate::engine::{Ctx, Engine};
use crate::error::ApiResult;
use crate::query::QueryParams;
use crate::request::ApiResponse;
use crate::stop::stopping_at;

impl<S: Store> Engine<S> {
    /// Writes a checked batch all or nothing and answers 200 with what was stored, or 202 with
    /// an operation that writes it when it is not done within the type's wait.
    pub(crate) async fn run_sync(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        q: &QueryParams,
        body: &[u8],
        batch: &Batch,
    ) -> ApiResult<ApiResponse> {
        let started = (Instant::now(), now_ms());
        let steps = Steps::default();
        let wait = tokio::time::sleep(ty.batch.sync_wait);
        let written = stopping_at(&steps.stop, wait, self.write_sync(ctx, batch, &steps)).await;
        match written {
            Ok(written) => self.answer_sync(ctx, q, batch, &written).await,
            Err(_) if steps.stop.honoured() => {
                tracing::info!(
                    waited_ms = started.0.elapsed().as_millis(),
                    "a synchronous batch past its wait goes on as an operation"
                );
                self.degrade(ctx, ty, body, batch, started.1).await
            }
            Err(errors) => Err(errors),
        }
    }

    /// Stores a batch stopped at its wait (nothing of it written) as a running operation of
    /// one atomic chunk, through the path every operation's chunks and record take, and
    /// answers 202.
    async fn degrade(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        body: &[u8],
        batch: &Batch,
        started_ms: i64,
    ) -> ApiResult<ApiResponse> {
        let (data, included) = raw_items(body)?;
        let id = self.store.allocate(&layout::sequence_key(), 1).await?;
        let now = time::OffsetDateTime::now_utc();
        let expires_at = expires_at(&self.schema, now);
        let whole = Unit {
            data: (0..batch.primary.len()).collect(),
            included: (0..batch.included.len()).collect(),
        };
        let mut item = chunk_item(
            id,
            0,
            &[whole],
            &|i| data[i].get(),
            &|i| included[i].get(),
            expires_at,
        );
        item.attrs.insert(ATOMIC.into(), true.into());
        self.store_chunk(item).await?;
        let owner = ctx.access.caller().map(str::to_owned);
        let mut record = Record::new(id, &ty.name, owner, 1, now, expires_at);
        record.status = Status::Running;
        record.started_ms = Some(started_ms);
        let record = self.store_operation(record).await?;
        Ok(self.accepted(ctx, &record))
    }
}
