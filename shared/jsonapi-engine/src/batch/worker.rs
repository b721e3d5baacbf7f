//! The worker: runs the unfinished operations, chunk by chunk and unit by unit, in this
//! process (`jsonapi-local` runs it beside the server; a restart resumes what was left).
//!
//! A unit's resources are written in one transaction together with the unit's record, which
//! must be absent: a unit is applied once, however often its chunk is run (after a crash, or
//! by two workers). A unit that cannot be applied leaves its errors instead, pointing into
//! the original request. A chunk's counters are added to the operation's in one transaction
//! that also marks the chunk done, under the condition that it was not: counters are exact.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use jsonapi_store::{Condition, Item, Key, RangeQuery, Store, Write, limits};
use serde_json::{Map, Value, json};

use super::layout;
use super::operation::{Counts, Record, Status};
use super::reads::now_ms;
use crate::auth::access::Access;
use crate::commit::Steps;
use crate::document::{Batch, ResourceObject, parse_batch};
use crate::engine::{Ctx, Engine};
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind, Source};
use crate::failpoint::{Failpoint, failpoint};
use crate::precondition::Preconditions;
use crate::stop::{Stop, stopping_at};
use crate::values;

/// How often the worker deletes expired operations, and looks for work it was not told of.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// How long the worker waits before retrying an operation the store failed.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often a chunk's end is tried against a record other workers keep changing.
const FINISH_ATTEMPTS: usize = 20;
/// How many chunks of one operation the in-process worker runs at once.
const CHUNKS_AT_ONCE: usize = 2;

/// How many runs of a chunk may fail before it is given up: its items not applied are
/// reported as errors and the chunk counts as done, so that its operation ends. The cloud's
/// stream delivers a record once and retries it this many times (the template's
/// `MaximumRetryAttempts` is this constant), so a chunk is given up by its last delivery,
/// never left to the on-failure queue; the in-process worker keeps the same budget.
pub const CHUNK_ATTEMPTS: u64 = 10;

/// The attribute that marks a chunk *atomic*: a synchronous batch that went on as an
/// operation (`super::degrade`), one unit written all or nothing, in steps when it needs more
/// than one transaction.
pub(crate) const ATOMIC: &str = "atomic";

/// A chunk as stored.
pub(crate) struct Chunk {
    pub(crate) body: String,
    pub(crate) data_index: Vec<usize>,
    pub(crate) included_index: Vec<usize>,
    units: Vec<(Vec<usize>, Vec<usize>)>,
    pub(crate) expires_at: i64,
    atomic: bool,
}

impl Chunk {
    pub(crate) fn of(item: &Item) -> Option<Self> {
        let a = &item.attrs;
        let list = |v: &Value| -> Option<Vec<usize>> {
            v.as_array()?
                .iter()
                .map(|n| n.as_u64().and_then(|n| usize::try_from(n).ok()))
                .collect()
        };
        let units = a
            .get("units")?
            .as_array()?
            .iter()
            .map(|u| Some((list(u.get(0)?)?, list(u.get(1)?)?)))
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            body: a.get("body")?.as_str()?.to_owned(),
            data_index: list(a.get("dataIndex")?)?,
            included_index: list(a.get("includedIndex")?)?,
            units,
            expires_at: a.get(layout::EXPIRES_AT)?.as_i64()?,
            atomic: a.get(ATOMIC).and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// Errors of the chunk's items, their pointers into the original request.
    fn in_request(&self, mut errors: ApiErrors) -> ApiErrors {
        for e in &mut errors.0 {
            if let Some(Source::Pointer(p)) = &e.source {
                e.source = Some(Source::Pointer(self.original_pointer(p)));
            }
        }
        errors
    }

    /// A pointer into the chunk as a pointer into the original request.
    fn original_pointer(&self, pointer: &str) -> String {
        let mut parts = pointer.splitn(4, '/');
        let (_, section, index) = (parts.next(), parts.next(), parts.next());
        let rest = parts.next();
        let index: Option<usize> = index.and_then(|i| i.parse().ok());
        let original = match (section, index) {
            (Some("data"), Some(i)) => self.data_index.get(i),
            (Some("included"), Some(i)) => self.included_index.get(i),
            _ => None,
        };
        match (section, original) {
            (Some(section), Some(i)) => match rest {
                Some(rest) => format!("/{section}/{i}/{rest}"),
                None => format!("/{section}/{i}"),
            },
            _ => pointer.to_owned(),
        }
    }
}

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
        // run two at a time, in order: one is checked and planned while the store writes the
        // other (the embedded store writes on a thread of its own), as two workers would run
        // them (their ends count both; an item of the second that needs the first's writes,
        // an upsert of the same unique value, is retried alone and finds them).
        let mut runs = futures_util::stream::iter(0..record.chunks)
            .map(|n| self.run_chunk(id, n, Some(stopped)))
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
    ///
    /// # Errors
    /// The chunk could not be applied now (the store failed): it should be delivered again;
    /// what it applied so far is kept and not applied again.
    pub async fn run_released_chunk(&self, key: &Key) -> ApiResult<()> {
        let Some((id, n)) = layout::released_chunk(key) else {
            return Ok(());
        };
        if self.load_record(id).await?.is_none() {
            tracing::info!(
                op = id,
                chunk = n,
                "a released chunk's operation has expired"
            );
            return Ok(());
        }
        self.run_chunk(id, n, None).await.map(|_| ())
    }

    /// The operation's record, if stored.
    async fn load_record(&self, id: u64) -> ApiResult<Option<Record>> {
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

    /// Runs chunk `n` of an operation unless it is done, and adds its counters to the
    /// operation's; `false` when told to stop before its end (its units applied so far are
    /// kept, and not applied again).
    async fn run_chunk(
        &self,
        id: u64,
        n: usize,
        stopped: Option<&tokio::sync::watch::Receiver<bool>>,
    ) -> ApiResult<bool> {
        let key = layout::chunk_key(id, n);
        let Some((item, attempt)) = self.count_attempt(&key).await? else {
            // Done, or expired and deleted with its operation.
            return Ok(true);
        };
        if attempt > CHUNK_ATTEMPTS {
            // The run before was cut short (a timeout, a crash) with no budget left.
            self.give_up(id, n, &item).await?;
            return Ok(true);
        }
        match self.apply_chunk(id, (n, attempt), &item, stopped).await {
            Err(errors) if attempt >= CHUNK_ATTEMPTS => {
                tracing::error!(?errors, op = id, chunk = n, "a batch chunk is given up");
                self.give_up(id, n, &item).await?;
                Ok(true)
            }
            outcome => outcome,
        }
    }

    /// Counts a run of a pending chunk before it starts, so that a run cut short counts too
    /// (a conditional write: two runs at once count twice); the chunk and the run's number,
    /// `None` when the chunk is done or gone.
    async fn count_attempt(&self, key: &Key) -> ApiResult<Option<(Item, u64)>> {
        for _ in 0..FINISH_ATTEMPTS {
            let Some(mut item) = self.store.get(key).await? else {
                return Ok(None);
            };
            if item.attrs.get("state") != Some(&Value::from("pending")) {
                return Ok(None);
            }
            let before = item.attrs.get("attempts").cloned();
            let attempt = before.as_ref().and_then(Value::as_u64).unwrap_or(0) + 1;
            item.attrs.insert("attempts".into(), attempt.into());
            // Chunks stored before runs were counted have no count yet.
            let condition = match before {
                Some(value) => Condition::Equals {
                    name: "attempts".into(),
                    value,
                },
                None => Condition::Equals {
                    name: "state".into(),
                    value: "pending".into(),
                },
            };
            let put = Write::Put {
                item: item.clone(),
                condition: Some(condition),
            };
            match self.store.transact(vec![put]).await {
                Ok(()) => return Ok(Some((item, attempt))),
                Err(jsonapi_store::StoreError::ConditionFailed { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::internal(&"a batch chunk is being run by many workers at once").into())
    }

    /// Run `attempt` of chunk `n` (see [`Self::run_chunk`]).
    async fn apply_chunk(
        &self,
        id: u64,
        (n, attempt): (usize, u64),
        item: &Item,
        stopped: Option<&tokio::sync::watch::Receiver<bool>>,
    ) -> ApiResult<bool> {
        if failpoint() == Failpoint::FailChunks {
            return Err(ApiError::new(
                ErrorKind::Unavailable,
                "JSONAPI_TEST_FAILPOINT=fail-chunks",
            )
            .into());
        }
        let key = item.key.clone();
        let chunk = self.load_chunk(item).await?;
        let batch = parse_batch(chunk.body.as_bytes())?;
        let done = self.units_done(id, n).await?;
        self.mark_running(id).await?;
        if chunk.atomic {
            return self
                .apply_atomic(id, (n, attempt), &chunk, &batch, &done, stopped)
                .await;
        }
        let mut counts = Counts::default();
        let mut errors_before = 0;
        let mut u = 0;
        // DynamoDB's 100 writes hold 6 products; the embedded store takes a whole chunk.
        let max_items = self.store.max_grouped_writes() / WRITES_PER_ITEM;
        while u < chunk.units.len() {
            if stopped.is_some_and(|s| *s.borrow()) {
                return Ok(false);
            }
            if let Some(c) = done.get(&u) {
                errors_before += usize::try_from(c.error).unwrap_or(0);
                counts.add(*c);
                u += 1;
                continue;
            }
            let group = u..group_end(&chunk.units, &done, u, max_items);
            u = group.end;
            if let Some(group_counts) = self.run_group(id, n, &group, &chunk, &batch).await {
                group_counts.into_iter().for_each(|c| counts.add(c));
                continue;
            }
            for k in group {
                let (data, included) = &chunk.units[k];
                let data: Vec<ResourceObject> =
                    data.iter().map(|&i| batch.primary[i].clone()).collect();
                let included: Vec<ResourceObject> = included
                    .iter()
                    .map(|&i| batch.included[i].clone())
                    .collect();
                let place = ErrorPlace {
                    op: id,
                    chunk: n,
                    unit: k,
                    before: errors_before,
                    expires_at: chunk.expires_at,
                };
                let unit_counts = self
                    .run_unit(&place, &chunk, &data, &included, None)
                    .await?;
                errors_before += usize::try_from(unit_counts.error).unwrap_or(0);
                counts.add(unit_counts);
            }
        }
        self.finish_chunk(id, key, &chunk, counts, false).await?;
        Ok(true)
    }

    /// Run `attempt` of an atomic chunk: the batch as one unit, every item or nothing. What
    /// an earlier run that died wrote is rolled back first (its intent is named after the
    /// run); a worker told to stop stops the write before its next transaction, rolls it back
    /// and leaves the chunk to its next run (`false`).
    async fn apply_atomic(
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
        self.finish_chunk(id, layout::chunk_key(id, n), chunk, counts, false)
            .await?;
        Ok(true)
    }

    /// Ends a chunk that could not be applied within its attempts: each `data` item of its
    /// units not applied gets an error (500, pointing at it in the request), and the chunk
    /// counts as done with them, so that its operation ends.
    async fn give_up(&self, id: u64, n: usize, item: &Item) -> ApiResult<()> {
        let chunk = self.load_chunk(item).await?;
        let done = self.units_done(id, n).await?;
        let mut counts = Counts::default();
        done.values().for_each(|c| counts.add(*c));
        let before = usize::try_from(counts.error).unwrap_or(0);
        let detail = format!(
            "The item could not be written: its part of the batch failed {CHUNK_ATTEMPTS} times (the log says why). Nothing of the item was saved; send it again."
        );
        let errors: Vec<ApiError> = chunk
            .units
            .iter()
            .enumerate()
            .filter(|(u, _)| !done.contains_key(u))
            .flat_map(|(_, (data, _))| data)
            .map(|&i| {
                ApiError::new(ErrorKind::AsyncOperation, detail.clone()).at(format!("/data/{i}"))
            })
            .collect();
        counts.read += errors.len() as u64;
        counts.error += errors.len() as u64;
        let place = ErrorPlace {
            op: id,
            chunk: n,
            // After every unit's own errors.
            unit: chunk.units.len(),
            before,
            expires_at: chunk.expires_at,
        };
        self.store_errors(&place, &chunk.in_request(ApiErrors(errors)))
            .await?;
        self.finish_chunk(id, item.key.clone(), &chunk, counts, true)
            .await
    }

    /// Marks a new operation running (a record no longer new is left alone: its counters may
    /// already hold chunks).
    async fn mark_running(&self, id: u64) -> ApiResult<()> {
        let Some(mut record) = self.load_record(id).await? else {
            return Ok(());
        };
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
    /// also ends the operation.
    async fn finish_chunk(
        &self,
        id: u64,
        key: Key,
        chunk: &Chunk,
        counts: Counts,
        given_up: bool,
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
            match self.store.transact(writes).await {
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

    /// Writes a group of units in one transaction with their records; their counters, or
    /// `None` when the group must be written unit by unit instead (an item with problems, too
    /// many writes for one transaction, a unit of it applied already, a store failure: each
    /// unit then gets its own transaction, or its errors).
    async fn run_group(
        &self,
        op: u64,
        chunk_n: usize,
        group: &std::ops::Range<usize>,
        chunk: &Chunk,
        batch: &Batch,
    ) -> Option<Vec<Counts>> {
        if group.len() < 2 {
            return None;
        }
        let started = Instant::now();
        let units = &chunk.units[group.clone()];
        let data: Vec<ResourceObject> = units
            .iter()
            .flat_map(|(d, _)| d.iter().map(|&i| batch.primary[i].clone()))
            .collect();
        let included: Vec<ResourceObject> = units
            .iter()
            .flat_map(|(_, inc)| inc.iter().map(|&i| batch.included[i].clone()))
            .collect();
        // Each unit's counters from which `data` items were created (in unit order).
        let counts_of = |created: &[bool]| -> Vec<Counts> {
            // The group's time shared out; the first unit takes what does not divide (a
            // group of 100 products takes less than 100 ms, which would all round to 0).
            let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let share = elapsed / group.len() as u64;
            let rest = elapsed - share * group.len() as u64;
            let mut at = 0;
            units
                .iter()
                .enumerate()
                .map(|(k, (d, _))| {
                    let read = d.len() as u64;
                    let create = (at..at + d.len())
                        .filter(|&i| created.get(i).copied().unwrap_or(false))
                        .count() as u64;
                    at += d.len();
                    Counts {
                        read,
                        write: read,
                        create,
                        update: read - create,
                        error: 0,
                        aggregate_ms: if k == 0 { share + rest } else { share },
                    }
                })
                .collect()
        };
        let records = |created: &[bool]| -> Vec<Write> {
            counts_of(created)
                .iter()
                .zip(group.clone())
                .map(|(c, u)| Write::Put {
                    item: Item {
                        key: layout::unit_key(op, chunk_n, u),
                        attrs: unit_attrs(u, c, chunk.expires_at),
                    },
                    condition: Some(Condition::Absent),
                })
                .collect()
        };
        let written = self
            .write_batch(&worker_ctx(), &data, &included, Some(&records), None)
            .await;
        match written {
            Ok(Some(written)) => {
                let created: Vec<bool> = written.items.iter().map(|i| i.2).collect();
                Some(counts_of(&created))
            }
            Ok(None) => None,
            Err(errors) => {
                tracing::debug!(?errors, "a group of batch units is written unit by unit");
                None
            }
        }
    }

    /// The counters of the units of a chunk already applied (or failed), by unit.
    async fn units_done(&self, op: u64, chunk: usize) -> ApiResult<HashMap<usize, Counts>> {
        let mut query =
            RangeQuery::prefix(layout::partition(op), &layout::units_prefix(chunk), 1000);
        let mut done = HashMap::new();
        loop {
            let page = self.store.query(&query).await?;
            for item in page.items {
                let unit = item.attrs.get("unit").and_then(Value::as_u64);
                if let Some(unit) = unit.and_then(|u| usize::try_from(u).ok()) {
                    let counts =
                        Counts::from_json(item.attrs.get("summary").unwrap_or(&Value::Null));
                    done.insert(unit, counts);
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(done),
            }
        }
    }

    /// Applies the unit at `place`, or stores why it cannot be; its counters. An atomic
    /// chunk's unit is written in `steps` when it needs more than one transaction.
    async fn run_unit(
        &self,
        place: &ErrorPlace,
        chunk: &Chunk,
        data: &[ResourceObject],
        included: &[ResourceObject],
        steps: Option<&Steps>,
    ) -> ApiResult<Counts> {
        let started = Instant::now();
        let ctx = worker_ctx();
        let unit = place.unit;
        let unit_key = layout::unit_key(place.op, place.chunk, unit);
        let read = data.len() as u64;
        let elapsed = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let put = |counts: &Counts| Write::Put {
            item: Item {
                key: unit_key.clone(),
                attrs: unit_attrs(unit, counts, chunk.expires_at),
            },
            condition: Some(Condition::Absent),
        };
        // The counters of a unit applied, from which of its items were created.
        let applied = |created: &[bool]| {
            let create = created.iter().take(data.len()).filter(|c| **c).count() as u64;
            Counts {
                read,
                write: read,
                create,
                update: read.saturating_sub(create),
                error: 0,
                aggregate_ms: elapsed(),
            }
        };
        // Written with the unit's resources.
        let record = |created: &[bool]| vec![put(&applied(created))];
        let outcome = self
            .write_batch(&ctx, data, included, Some(&record), steps)
            .await;
        match outcome {
            Ok(Some(written)) => {
                let created: Vec<bool> = written.items.iter().map(|i| i.2).collect();
                Ok(applied(&created))
            }
            // Applied by an earlier run of the chunk: its record says how.
            Ok(None) => Ok(self
                .store
                .get(&unit_key)
                .await?
                .map(|i| Counts::from_json(i.attrs.get("summary").unwrap_or(&Value::Null)))
                .unwrap_or_default()),
            // A store that fails is tried again later; the items' own problems are reported.
            Err(errors) if errors.0.iter().any(|e| e.status().is_server_error()) => Err(errors),
            Err(mut errors) => {
                point_at_first_item(&mut errors, data);
                let counts = Counts {
                    read,
                    error: errors.0.len() as u64,
                    aggregate_ms: elapsed(),
                    ..Counts::default()
                };
                self.record_refused(place, chunk, errors, put(&counts))
                    .await?;
                Ok(counts)
            }
        }
    }

    /// Stores a refused unit's errors, then its record; another run of the chunk may have
    /// recorded the unit first.
    async fn record_refused(
        &self,
        place: &ErrorPlace,
        chunk: &Chunk,
        errors: ApiErrors,
        record: Write,
    ) -> ApiResult<()> {
        self.store_errors(place, &chunk.in_request(errors)).await?;
        match self.store.transact(vec![record]).await {
            Err(jsonapi_store::StoreError::ConditionFailed { .. }) | Ok(()) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores a unit's errors, their pointers into the original request (keyed by their
    /// place, so storing them again changes nothing).
    pub(crate) async fn store_errors(
        &self,
        place: &ErrorPlace,
        errors: &ApiErrors,
    ) -> ApiResult<()> {
        let writes: Vec<Write> = errors
            .0
            .iter()
            .enumerate()
            .map(|(k, e)| {
                let pointer = match &e.source {
                    Some(Source::Pointer(p)) => Some(p.as_str()),
                    _ => None,
                };
                let attrs = json!({
                    "chunk": place.chunk + 1,
                    "n": place.before + k + 1,
                    "status": e.status().as_u16(),
                    "title": e.title(),
                    "detail": e.detail,
                    "pointer": pointer,
                    "expiresAt": place.expires_at,
                });
                Write::Put {
                    item: Item {
                        key: layout::error_key(place.op, place.chunk, place.unit, k),
                        attrs: match attrs {
                            Value::Object(m) => m,
                            _ => Map::new(),
                        },
                    },
                    condition: None,
                }
            })
            .collect();
        self.transact_in_turn(writes).await
    }

    /// Deletes the operations whose lifetime is over, with everything they left (the cloud's
    /// table also expires them by their `expiresAt` attribute).
    async fn sweep_expired(&self) -> ApiResult<()> {
        let now = now_ms() / 1000;
        // Ids come from one counter: the sweep walks every id it handed out.
        let next = match self.store.get(&layout::sequence_key()).await? {
            Some(item) => item.attrs.get("next").and_then(Value::as_u64).unwrap_or(0),
            None => return Ok(()),
        };
        for id in 0..next {
            let record = self
                .store
                .get(&layout::record_key(id))
                .await?
                .and_then(|i| Record::from_item(&i));
            if record.is_some_and(|r| r.expired(now)) {
                self.delete_partition(&layout::partition(id)).await?;
            }
        }
        Ok(())
    }

    /// Deletes every item of a partition.
    pub(crate) async fn delete_partition(&self, pk: &str) -> ApiResult<()> {
        loop {
            let page = self
                .store
                .query(&RangeQuery::partition(pk, limits::MAX_TRANSACTION_WRITES))
                .await?;
            if page.items.is_empty() {
                return Ok(());
            }
            let deletes: Vec<Write> = page
                .items
                .into_iter()
                .map(|i| Write::Delete {
                    key: i.key,
                    condition: None,
                })
                .collect();
            self.store.transact(deletes).await?;
        }
    }
}

/// About how many store writes an item of a group of units needs: a product of the example
/// domain is about 14 (itself, its unique value, its list and index entries), and its unit's
/// record one more. A group that needs more than its transaction holds is written unit by
/// unit.
const WRITES_PER_ITEM: usize = 16;

/// The end of the group of units starting at `start`: the units after it not applied yet, up
/// to `max_items` items (a unit larger than that is a group of its own). In a group past the
/// common transaction limit only units of one item are grouped (each resource's writes are
/// held to the common limit when such a group is written): a unit of more is a group of its
/// own, refused on every store alike when it needs more than one transaction.
fn group_end(
    units: &[(Vec<usize>, Vec<usize>)],
    done: &HashMap<usize, Counts>,
    start: usize,
    max_items: usize,
) -> usize {
    let past_common = max_items > limits::MAX_TRANSACTION_WRITES / WRITES_PER_ITEM;
    let mut items = 0;
    let mut end = start;
    while let Some((d, i)) = units.get(end) {
        let size = d.len() + i.len();
        let alone = past_common && size > 1;
        if done.contains_key(&end) || (end > start && (alone || items + size > max_items)) {
            break;
        }
        items += size;
        end += 1;
        if alone {
            break;
        }
    }
    end
}

/// Where a unit's errors are stored: their operation, chunk and unit, how many errors the
/// chunk reported before them (they are numbered in their chunk), and when they expire.
pub(crate) struct ErrorPlace {
    pub(crate) op: u64,
    pub(crate) chunk: usize,
    pub(crate) unit: usize,
    pub(crate) before: usize,
    pub(crate) expires_at: i64,
}

/// What a unit's record holds: its place and counters.
fn unit_attrs(unit: usize, counts: &Counts, expires_at: i64) -> Map<String, Value> {
    let mut attrs = Map::new();
    attrs.insert("unit".into(), unit.into());
    attrs.insert("summary".into(), counts.to_json());
    attrs.insert(layout::EXPIRES_AT.into(), expires_at.into());
    attrs
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
    }
}

/// An error that names no place in the unit is its first item's: a unit whose writes exceed
/// one store transaction (100 actions, 4 MB) is refused whole, never cut in parts that could
/// be half applied.
fn point_at_first_item(errors: &mut ApiErrors, data: &[ResourceObject]) {
    if let Some(first) = data.first() {
        for e in errors.0.iter_mut().filter(|e| e.source.is_none()) {
            e.source = Some(Source::Pointer(first.pointer.clone()));
        }
    }
}
