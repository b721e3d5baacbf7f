//! Writing a change set: extensions at `pre_flush_data`, timestamps and versions, membership
//! stamps, the store's limits, one conditional transaction (or a dry run), conflicts mapped
//! back to what the client did, and retries within a time budget; sequence ids reserved in
//! blocks.

use std::ops::Range;
use std::time::Duration;

use jsonapi_config::Operation;
use jsonapi_store::limits::{self, LimitError};
use jsonapi_store::{Key, Store, StoreError, Write};

use crate::engine::Engine;
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind};
use crate::extension::{ChangeSet, FlushContext};
use crate::membership;
use crate::resource::{self, Origin, Resource};
use crate::stop::Stop;
use crate::turns::Turn;
use crate::values;

/// The longest pause between two attempts, in milliseconds. Pauses are random up to a ceiling
/// that doubles from 1 ms, so writers that collided spread out instead of colliding again in
/// lockstep.
const MAX_PAUSE_MS: u64 = 64;

/// How many sequence ids one store round trip reserves, at least.
pub const SEQUENCE_BLOCK: u64 = 16;
/// A reservation takes this many times the ids asked for (when that is more than
/// [`SEQUENCE_BLOCK`]): a batch worker's group of 100 creates then reserves for the next seven
/// groups too. On the embedded store a reservation waits behind the commit being written, so
/// one per group kept the worker from planning a group while the store wrote the one before
/// (an import ran at the speed of the two in turn, not of the slower one).
const RESERVE_AHEAD: u64 = 8;

/// How a change too large for one transaction is written: under which intent, and whether
/// it may be asked to stop.
#[derive(Debug, Clone, Default)]
pub(crate) struct Steps {
    /// The intent's id; a new one when `None`. A writer that may be run again after it died
    /// names its runs, so that the next run rolls back the one before (`Engine::roll_back_named`).
    pub(crate) intent: Option<String>,
    /// Looked at before each step.
    pub(crate) stop: Stop,
}

impl<S: Store> Engine<S> {
    /// The next id of a sequence. Ids are reserved from the store in blocks, so most creates
    /// cost no extra round trip; ids a process reserved but did not use are skipped (gaps, as
    /// database sequences have), never handed out twice.
    pub(crate) async fn next_sequence(&self, ty: &str) -> ApiResult<u64> {
        Ok(self.next_sequences(ty, 1).await?.start)
    }

    /// The next `n` ids of a sequence, in one reservation at most: a batch of 100 creates
    /// takes one round trip, not one per block, and most take none ([`RESERVE_AHEAD`]). What
    /// was left of the block before is skipped.
    pub(crate) async fn next_sequences(&self, ty: &str, n: u64) -> ApiResult<Range<u64>> {
        // Held across the reservation, so concurrent creates share one block instead of each
        // reserving (and wasting) their own.
        let mut seqs = self.sequences.lock().await;
        if let Some(slot) = seqs.get_mut(ty)
            && slot.1 - slot.0 >= n
        {
            slot.0 += n;
            return Ok(slot.0 - n..slot.0);
        }
        let block = n.saturating_mul(RESERVE_AHEAD).max(SEQUENCE_BLOCK);
        let first = self
            .store
            .allocate(&resource::sequence_key(ty), block)
            .await?;
        seqs.insert(ty.to_owned(), (first + n, first + block));
        Ok(first..first + n)
    }

    /// How many store writes a change set needs (before extensions add theirs).
    pub(crate) fn count_writes(&self, changes: &ChangeSet) -> usize {
        changes
            .changes()
            .map(|c| resource::writes_for(&self.schema, c.before.as_ref(), c.after.as_ref()).len())
            .sum()
    }

    /// Runs the extensions and writes a change set in one transaction. Timestamps and versions
    /// are set here, so every staged change gets them.
    pub(crate) async fn commit(
        &self,
        action: Operation,
        changes: ChangeSet,
    ) -> Result<ChangeSet, CommitError> {
        self.commit_as(action, changes, false, None).await
    }

    /// As [`Self::commit`]; a `dry_run` (`meta.validate`) checks every condition by reading
    /// instead of writing, so it reports what the write would, and changes nothing. A batch's
    /// change too large for one transaction is written in steps (`crate::intent`) when `steps`
    /// says how; one that was asked to stop writes nothing.
    pub(crate) async fn commit_as(
        &self,
        action: Operation,
        mut changes: ChangeSet,
        dry_run: bool,
        steps: Option<&Steps>,
    ) -> Result<ChangeSet, CommitError> {
        if let Some(steps) = steps.filter(|s| s.stop.asked()) {
            return Err(CommitError::Rejected(steps.stop.honour()));
        }
        for ext in &self.extensions {
            let mut ctx = FlushContext::new(action, &mut changes, self);
            ext.pre_flush(&mut ctx)
                .await
                .map_err(CommitError::Rejected)?;
        }
        let guarded = changes.guarded().to_vec();
        let records = changes.records().to_vec();
        let staged = self.finalize(changes);
        let Planned {
            writes,
            mut origins,
            largest_change,
        } = self.planned(&staged, &guarded, &records)?;
        if writes.is_empty() {
            return Ok(staged);
        }
        let max_writes = self.max_writes(records.len(), largest_change);
        match limits::check_transaction_of(&writes, max_writes) {
            Ok(()) => {}
            // A change too large for one transaction is written in steps (module `intent`):
            // an atomic batch (a synchronous one, or its chunk when it went on as an
            // operation), or a single request whose resource has many others to unlink or
            // relink (a category deleted with its products, a to-many replaced). Nothing is
            // checked beside it (an `If-Match` would hold for the first step only), and a
            // batch unit's records are written by the commit point. A dry run checks the
            // same conditions as for a small change.
            Err(LimitError::TooManyWrites(_) | LimitError::TransactionTooLarge(_))
                if guarded.is_empty() && (records.is_empty() || steps.is_some()) =>
            {
                if !dry_run {
                    let single = Steps::default();
                    self.commit_in_steps(&staged, &records, steps.unwrap_or(&single))
                        .await?;
                    for ext in &self.extensions {
                        ext.post_save(action, &staged);
                    }
                    return Ok(staged);
                }
            }
            Err(e) => {
                return Err(CommitError::Rejected(
                    ApiError::from(StoreError::from(e)).into(),
                ));
            }
        }
        // Only a write with a condition can fail; its key names the conflict (the writes
        // themselves go to the store, and most of a batch's have none).
        let conditional: Vec<(usize, Key)> = writes
            .iter()
            .enumerate()
            .filter(|(_, w)| w.condition().is_some())
            .map(|(i, w)| (i, w.key().clone()))
            .collect();
        let outcome = if dry_run {
            self.check_conditions(&writes).await
        } else if records.is_empty() {
            self.store.transact(writes).await
        } else {
            // A batch unit's writes come with its record: until its chunk's end says the chunk
            // is done (committed after them, and durable before the operation ends), a crash
            // that lost them lost the record too, and the chunk's next run writes the unit
            // again. So they need not be synced now.
            self.store.transact_deferred(writes).await
        };
        match outcome {
            Ok(()) if dry_run => Ok(staged),
            Ok(()) => {
                for ext in &self.extensions {
                    ext.post_save(action, &staged);
                }
                Ok(staged)
            }
            Err(StoreError::ConditionFailed { index }) => {
                let key = conditional
                    .into_iter()
                    .find_map(|(i, key)| (i == index).then_some(key))
                    .ok_or_else(|| ApiError::internal(&"a write without a condition failed one"))?;
                Err(conflict(origins.swap_remove(index), key))
            }
            Err(StoreError::Conflict) => Err(CommitError::Stale(None)),
            Err(e) => Err(CommitError::Rejected(e.into())),
        }
    }

    /// How many writes one transaction of `units` batch units may take. A group of units (one
    /// record each) may pass the common limit on a store that takes more: no request made it,
    /// and it is written unit by unit when it fails. A single unit, or a group holding a
    /// resource that alone needs the common limit, is held to it, so that every store refuses
    /// the same units.
    fn max_writes(&self, units: usize, largest_change: usize) -> usize {
        if units > 1 && largest_change < limits::MAX_TRANSACTION_WRITES {
            self.store.max_grouped_writes()
        } else {
            limits::MAX_TRANSACTION_WRITES
        }
    }

    /// The changes as they are written: versions bumped and timestamps set on every resource
    /// that changes; changes that leave a resource as it was are dropped.
    fn finalize(&self, changes: ChangeSet) -> ChangeSet {
        let now = values::format_datetime(time::OffsetDateTime::now_utc());
        let mut staged = ChangeSet::default();
        for (key, stamp) in changes.members_read() {
            staged.record_members(key.clone(), stamp.clone());
        }
        for change in changes.into_changes() {
            let after = change.after.map(|mut a| {
                if change.before.as_ref() != Some(&a) {
                    a.version = change.before.as_ref().map_or(1, |b| b.version + 1);
                    let ty = a.ty.declaration();
                    for attr in ty.attributes.values() {
                        use jsonapi_config::Timestamp;
                        match attr.timestamp {
                            Some(Timestamp::Updated) => {
                                a.attributes.insert(attr.name.clone(), now.clone().into());
                            }
                            Some(Timestamp::Created) if change.before.is_none() => {
                                a.attributes.insert(attr.name.clone(), now.clone().into());
                            }
                            _ => {}
                        }
                    }
                }
                a
            });
            if change.before.is_some() && change.before == after {
                continue;
            }
            match after {
                Some(a) => staged.put(change.before, a),
                None => staged.delete(change.before.expect("a deletion has a before")),
            }
        }
        staged
    }

    /// The store writes of finalized changes: each resource's item and derived items, the
    /// membership stamps, `records`, and a version check of every `guarded` resource; with
    /// the origin of each write, to explain a failed condition.
    pub(crate) fn transaction_writes(
        &self,
        staged: &ChangeSet,
        guarded: &[Resource],
        records: &[Write],
    ) -> Result<(Vec<Write>, Vec<Origin>), CommitError> {
        self.planned(staged, guarded, records)
            .map(|p| (p.writes, p.origins))
    }

    /// [`Self::transaction_writes`], with the size of the largest resource's own writes.
    fn planned(
        &self,
        staged: &ChangeSet,
        guarded: &[Resource],
        records: &[Write],
    ) -> Result<Planned, CommitError> {
        let mut writes = Vec::new();
        let mut origins = Vec::new();
        let mut largest_change = 0;
        for change in staged.changes() {
            let own =
                resource::writes_for(&self.schema, change.before.as_ref(), change.after.as_ref());
            largest_change = largest_change.max(own.len());
            for (w, o) in own {
                writes.push(w);
                origins.push(o);
            }
        }
        for (w, o) in membership::stamp_writes(&self.schema, staged) {
            writes.push(w);
            origins.push(o);
        }
        for w in records {
            writes.push(w.clone());
            origins.push(Origin::Derived);
        }
        for r in guarded {
            let key = resource::resource_key(&r.ty, &r.id);
            let held = resource::at_version(r.version);
            match writes.iter_mut().find(|w| *w.key() == key) {
                // A join's check that the resource exists: its version says more.
                Some(Write::Check { condition, .. }) => *condition = held,
                // Rewritten or deleted under the version read already.
                Some(_) => {}
                None => {
                    writes.push(Write::Check {
                        key,
                        condition: held,
                    });
                    origins.push(Origin::Derived);
                }
            }
        }
        merge_unique_items(&mut writes, &mut origins)?;
        Ok(Planned {
            writes,
            origins,
            largest_change,
        })
    }

    /// The store writes that would commit `changes`, without writing anything: for tools
    /// that model the store's load (`infra/bench`'s hot-partition simulation). `None` when
    /// the change set claims one unique value twice.
    pub fn planned_writes(&self, changes: &ChangeSet) -> Option<Vec<Write>> {
        self.transaction_writes(changes, &[], &[])
            .ok()
            .map(|(writes, _)| writes)
    }

    /// The first condition of a transaction that does not hold now, as the store would report
    /// it (one read per condition).
    async fn check_conditions(&self, writes: &[jsonapi_store::Write]) -> Result<(), StoreError> {
        for (index, write) in writes.iter().enumerate() {
            if let Some(condition) = write.condition() {
                let current = self.store.get(write.key()).await?;
                if !condition.holds(current.as_ref().map(|i| &i.attrs)) {
                    return Err(StoreError::ConditionFailed { index });
                }
            }
        }
        Ok(())
    }

    /// The id the next `n`-th new resource of a sequence would get, without reserving it.
    pub(crate) async fn peek_sequence(&self, ty: &str) -> ApiResult<u64> {
        if let Some((next, end)) = self.sequences.lock().await.get(ty)
            && next < end
        {
            return Ok(*next);
        }
        let item = self.store.get(&resource::sequence_key(ty)).await?;
        Ok(item
            .and_then(|i| i.attrs.get("next").and_then(serde_json::Value::as_u64))
            .unwrap_or(1))
    }

    /// How long a write may keep re-running while concurrent writes change what it read
    /// (default `engine::RETRY_BUDGET`); a write still in conflict then is answered 503 with
    /// `Retry-After`. A server that waits longer than a Lambda function may (the local server)
    /// gives it more.
    #[must_use]
    pub fn with_retry_budget(mut self, budget: Duration) -> Self {
        self.retry_budget = budget;
        self
    }

    /// Runs a write until it commits without a concurrency conflict, re-reading what it needs
    /// on every attempt, within the retry budget; then 503 (the response carries
    /// `Retry-After`). A write that changes one known resource (`resource`) takes its turn on
    /// it first, so that this process's writers of one resource go one at a time instead of
    /// racing; a write whose condition failed on an item waits for its turn on that item
    /// (`crate::turns`); one the store reported a conflict for without naming the item pauses
    /// at random.
    pub(crate) async fn with_retries<T, F, Fut>(
        &self,
        resource: Option<Key>,
        mut attempt: F,
    ) -> ApiResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CommitError>>,
    {
        let deadline = tokio::time::Instant::now() + self.retry_budget;
        let mut ceiling_ms = 1;
        let mut turn = match resource {
            Some(key) => Some(self.turn_on(key, deadline).await?),
            None => None,
        };
        loop {
            let contended = match attempt().await {
                Err(CommitError::Stale(contended)) => contended,
                Err(CommitError::Rejected(e)) => return Err(e),
                Err(CommitError::Exists { .. }) => return Err(ApiError::exists("/data").into()),
                Err(CommitError::Unique { field, .. }) => {
                    return Err(ApiError::value_used("/data", &field).into());
                }
                Ok(v) => return Ok(v),
            };
            match contended {
                // Already this item's turn: a newcomer won the race; go again at once.
                Some(key) if turn.as_ref().is_some_and(|t: &Turn<'_>| *t.key() == key) => {}
                Some(key) => {
                    // One turn at a time, so that two writers never wait for each other.
                    drop(turn.take());
                    turn = Some(self.turn_on(key, deadline).await?);
                }
                None => {
                    let jitter = (ulid::Ulid::new().random() as u64) % (ceiling_ms * 1000);
                    ceiling_ms = (ceiling_ms * 2).min(MAX_PAUSE_MS);
                    let pause = tokio::time::Instant::now() + Duration::from_micros(jitter);
                    tokio::time::sleep_until(pause.min(deadline)).await;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(busy().into());
            }
        }
    }

    /// Waits for a turn on an item, until the deadline.
    async fn turn_on(&self, key: Key, deadline: tokio::time::Instant) -> ApiResult<Turn<'_>> {
        tokio::time::timeout_at(deadline, self.turns.take(key))
            .await
            .map_err(|_| busy().into())
    }
}

/// The answer to a write still in conflict when its retry budget is spent.
fn busy() -> ApiError {
    ApiError::new(
        ErrorKind::Unavailable,
        "The resource is being changed by many requests at once; retry the request later.",
    )
}

/// What a failed condition on a write of `origin` (at `key`) means.
pub(crate) fn conflict(origin: Origin, key: Key) -> CommitError {
    match origin {
        Origin::Resource {
            created: true,
            ty,
            id,
        } => CommitError::Exists { ty, id, key },
        Origin::Unique { ty, id, field } => CommitError::Unique { ty, id, field, key },
        Origin::Resource { .. } | Origin::Derived => CommitError::Stale(Some(key)),
    }
}

/// Unique-value items two resources of one transaction both touch (the store takes one action
/// per item): a value one releases and another claims (they trade it, or one takes over what
/// the other gives up) is one put, which the releasing resource's version condition makes
/// safe; a value two resources claim is taken for the later one.
fn merge_unique_items(
    writes: &mut Vec<Write>,
    origins: &mut Vec<Origin>,
) -> Result<(), CommitError> {
    let releases =
        |w: &Write, o: &Origin| matches!((w, o), (Write::Delete { .. }, Origin::Derived));
    // Keys borrowed, not cloned: a batch's transaction holds ~1,500 writes.
    let mut first: foldhash::HashMap<&Key, usize> =
        foldhash::HashMapExt::with_capacity(writes.len());
    let mut dropped = Vec::new();
    let mut claims = Vec::new();
    for (i, write) in writes.iter().enumerate() {
        let key = write.key();
        let Some(&j) = first.get(key) else {
            first.insert(key, i);
            continue;
        };
        let claim = match (&origins[j], &origins[i]) {
            (Origin::Unique { .. }, Origin::Unique { ty, id, field }) => {
                return Err(CommitError::Unique {
                    ty: ty.clone(),
                    id: id.clone(),
                    field: field.clone(),
                    key: key.clone(),
                });
            }
            (Origin::Unique { .. }, o) if releases(write, o) => {
                dropped.push(i);
                j
            }
            (o, Origin::Unique { .. }) if releases(&writes[j], o) => {
                dropped.push(j);
                first.insert(key, i);
                i
            }
            _ => continue,
        };
        claims.push(claim);
    }
    for claim in claims {
        if let Write::Put { condition, .. } = &mut writes[claim] {
            *condition = None;
        }
    }
    dropped.sort_unstable();
    for i in dropped.into_iter().rev() {
        writes.remove(i);
        origins.remove(i);
    }
    Ok(())
}

/// Why a change set was not written.
#[derive(Debug)]
pub(crate) enum CommitError {
    /// What the request read changed meanwhile (at this item, when the store says); re-run it.
    Stale(Option<Key>),
    /// A resource to be created exists already (its item).
    Exists { ty: String, id: String, key: Key },
    /// A unique value is taken (its item).
    Unique {
        ty: String,
        id: String,
        field: String,
        key: Key,
    },
    /// Refused (by an extension, a limit or the store).
    Rejected(ApiErrors),
}

impl From<ApiErrors> for CommitError {
    fn from(e: ApiErrors) -> Self {
        Self::Rejected(e)
    }
}

impl CommitError {
    /// The errors of a refusal made before anything was written (staging, not committing).
    pub(crate) fn into_errors(self) -> ApiErrors {
        match self {
            Self::Rejected(e) => e,
            Self::Stale(_) | Self::Exists { .. } | Self::Unique { .. } => {
                ApiError::internal(&"a staging step reported a commit conflict").into()
            }
        }
    }
}

impl From<ApiError> for CommitError {
    fn from(e: ApiError) -> Self {
        Self::Rejected(e.into())
    }
}

/// The writes of a change set, as [`Engine::planned`] builds them.
struct Planned {
    writes: Vec<Write>,
    origins: Vec<Origin>,
    /// How many writes the largest resource's own change takes: a group of batch units
    /// where each would fit one transaction of the common limit alone holds no unit that a
    /// store keeping the group would refuse.
    largest_change: usize,
}
