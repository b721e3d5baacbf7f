//! A change too large for one store transaction, written in steps that stay all or nothing.
//!
//! A synchronous batch of a hundred products needs several hundred writes (each product's
//! item, its listing and index entries, its unique values); DynamoDB takes 100 per
//! transaction. Such a change is written as an *intent*:
//!
//! - the change is cut into steps of whole resources (a resource's item and its derived items
//!   are always written together), each one transaction;
//! - the first step's transaction also puts the intent's header (`state: writing`, a lease);
//!   every later step renews the lease, on condition that the header is still `writing`;
//! - every step's transaction also puts the step's undo record: each resource as it was before
//!   and as the step writes it, so the undo records are exactly what was committed;
//! - one last transaction deletes the header and the undo records: the commit point.
//!
//! A step that fails rolls back the steps before it, last first, and the request fails. A
//! process that died mid-way leaves the header behind: its change is rolled back (not rolled
//! forward: the plan of the steps not yet written was never stored, and the client that sent
//! it got no answer, so it retries) by the next start of the local server, or by whoever meets
//! the header once its lease is over (`Engine::recover_commits`). A rollback first sets the
//! header to `rolling-back`, so that a committer still running fails its next step instead of
//! writing on. It restores each resource under the condition that it is still at the version
//! the step wrote: a resource a concurrent writer changed meanwhile keeps that writer's change
//! (logged), never overwritten. Restored resources get a version of their own, so that a tag
//! read while the batch was visible does not match them.
//!
//! A committer asked to stop ([`Steps::stop`]) looks before each step: it rolls back the
//! steps it wrote and fails, the stop honoured (`crate::stop`). A change may carry records
//! that say it was made (a batch chunk's unit record): they are written by the commit point,
//! so the change and its record are there together or not at all.
//!
//! While the steps run, readers see the resources of the steps committed so far; a rollback
//! takes them back. docs/batch.md says so.

use std::collections::HashSet;
use std::time::Duration;

use jsonapi_store::limits::{self, LimitError, MAX_TRANSACTION_WRITES};
use jsonapi_store::{Condition, Item, Key, RangeQuery, Store, StoreError, Write};
use serde_json::{Map, Value, json};

use crate::commit::{CommitError, Steps, conflict};
use crate::engine::Engine;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::extension::{Change, ChangeSet};
use crate::failpoint::{Failpoint, failpoint};
use crate::membership;
use crate::resource::{Origin, Resource, resource_key};

/// The partition of the intents' headers.
const INTENTS: &str = "meta#intents";
/// How long a committer owns its intent after its last step; past it, anyone may roll the
/// change back. Each step renews it, so only a committer that stopped writing loses it.
const LEASE: Duration = Duration::from_secs(60);

fn header_key(id: &str) -> Key {
    Key::new(INTENTS, id)
}

fn undo_partition(id: &str) -> String {
    format!("meta#intent#{id}")
}

fn undo_key(id: &str, step: usize) -> Key {
    Key::new(undo_partition(id), format!("step#{step:06}"))
}

fn now_ms() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// One step's transaction, and the origin of each of its writes that belongs to the change.
struct Step {
    writes: Vec<Write>,
    origins: Vec<Origin>,
}

/// A step as planned, with the transaction that rolls it back: both must fit the store's
/// limits before the step is taken.
struct Candidate {
    step: Step,
    undo: Vec<Write>,
}

impl Candidate {
    /// The step, or the limit that it or its rollback breaks.
    fn fitting(self) -> Result<Step, LimitError> {
        limits::check_transaction(&self.undo)?;
        limits::check_transaction(&self.step.writes)?;
        Ok(self.step)
    }
}

/// The answer when a rollback took the intent over: the commit outlived its lease.
fn taken_over() -> CommitError {
    CommitError::Rejected(
        ApiError::new(
            ErrorKind::Unavailable,
            "The change took too long and was undone; retry the request later.",
        )
        .into(),
    )
}

/// An undo entry: a resource as it was (`null`: absent) and as the step writes it.
fn undo_entry(change: &Change) -> Value {
    let item = |r: &Option<Resource>| {
        r.as_ref()
            .map_or(Value::Null, |r| Value::Object(r.to_item().attrs))
    };
    let any = change.after.as_ref().or(change.before.as_ref());
    json!({
        "type": any.map(|r| r.ty.name()),
        "before": item(&change.before),
        "after": item(&change.after),
    })
}

/// An undo record: its entries as one JSON text (stored as written, every digit kept, and one
/// attribute for the store to convert), and how many are left to roll back.
fn undo_attrs(entries: &[Value]) -> Map<String, Value> {
    let text = Value::Array(entries.to_vec()).to_string();
    attrs(json!({ "changes": text, "left": entries.len() }))
}

fn attrs(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl<S: Store> Engine<S> {
    /// Writes finalized changes in steps under an intent, with `records` at the commit point
    /// (see the module's documentation).
    pub(crate) async fn commit_in_steps(
        &self,
        staged: &ChangeSet,
        records: &[Write],
        how: &Steps,
    ) -> Result<(), CommitError> {
        let id = how
            .intent
            .clone()
            .unwrap_or_else(|| ulid::Ulid::new().to_string());
        let steps = self.plan_steps(&id, staged)?;
        let count = steps.len();
        for (n, step) in steps.into_iter().enumerate() {
            if how.stop.asked() {
                // Nothing to undo before the first step.
                if n > 0 {
                    self.roll_back(&id).await?;
                }
                return Err(CommitError::Rejected(how.stop.honour()));
            }
            self.write_step(&id, (n, count), step).await?;
            match failpoint() {
                Failpoint::CrashAfterStep(k) if k == n => std::process::abort(),
                // A request's own write (its intent unnamed), not a worker's.
                Failpoint::StopAfterStep(k) if k == n && how.intent.is_none() => how.stop.ask(),
                _ => {}
            }
        }
        self.reach_commit_point(&id, count, records).await
    }

    /// Writes step `n` of `count` in one transaction, renewing the intent's lease; a step
    /// that fails rolls back the steps before it.
    async fn write_step(
        &self,
        id: &str,
        (n, count): (usize, usize),
        mut step: Step,
    ) -> Result<(), CommitError> {
        // The lease runs from this step, not from the first: a long change stays owned
        // while its steps keep coming.
        if let Some(header) = step.writes.last_mut() {
            *header = lease_header(id, n);
        }
        let keys: Vec<Key> = step.writes.iter().map(|w| w.key().clone()).collect();
        let outcome = if failpoint() == Failpoint::FailLastStep && n + 1 == count {
            // As when a concurrent writer took a unique value the step claims.
            let index = step
                .origins
                .iter()
                .position(|o| matches!(o, Origin::Unique { .. }))
                .unwrap_or(0);
            Err(StoreError::ConditionFailed { index })
        } else {
            self.store.transact(step.writes).await
        };
        let Err(e) = outcome else {
            return Ok(());
        };
        self.undo_after_failure(id).await;
        Err(match e {
            StoreError::ConditionFailed { index } if index < step.origins.len() => {
                conflict(step.origins[index].clone(), keys[index].clone())
            }
            StoreError::ConditionFailed { .. } => taken_over(),
            StoreError::Conflict => CommitError::Stale(None),
            e => CommitError::Rejected(ApiError::from(e).into()),
        })
    }

    /// The commit point of an intent of `count` steps: its header goes, with `records` and as
    /// many undo records as fit; the undo records left are deleted after it.
    async fn reach_commit_point(
        &self,
        id: &str,
        count: usize,
        records: &[Write],
    ) -> Result<(), CommitError> {
        let mut undo = (0..count).map(|n| Write::Delete {
            key: undo_key(id, n),
            condition: None,
        });
        let mut clear = vec![Write::Delete {
            key: header_key(id),
            condition: Some(writing()),
        }];
        clear.extend_from_slice(records);
        let room = MAX_TRANSACTION_WRITES.saturating_sub(clear.len());
        clear.extend(undo.by_ref().take(room));
        if let Err(e) = self.store.transact(clear).await {
            self.undo_after_failure(id).await;
            return Err(match e {
                StoreError::ConditionFailed { .. } => taken_over(),
                e => CommitError::Rejected(ApiError::from(e).into()),
            });
        }
        // Undo records of a committed change are never read again; a crash here leaves them
        // unread.
        let rest: Vec<Write> = undo.collect();
        for chunk in rest.chunks(MAX_TRANSACTION_WRITES) {
            if let Err(e) = self.store.transact(chunk.to_vec()).await {
                tracing::warn!(error = %e, "undo records of a committed change were left");
            }
        }
        Ok(())
    }

    /// Rolls back every intent whose id starts with `prefix`: the runs of a writer that names
    /// its runs ([`Steps::intent`]), before it runs again. A run still writing (a duplicate
    /// delivery) fails its next step.
    pub(crate) async fn roll_back_named(&self, prefix: &str) -> ApiResult<()> {
        let query = RangeQuery::prefix(INTENTS, prefix, 100);
        for header in self.store.query(&query).await?.items {
            self.roll_back(&header.key.sk).await?;
        }
        Ok(())
    }

    /// Rolls back what a failed commit wrote; a rollback that fails too is left to recovery.
    async fn undo_after_failure(&self, id: &str) {
        if let Err(e) = self.roll_back(id).await {
            tracing::warn!(error = ?e, intent = id, "a failed change is rolled back later");
        }
    }

    /// Cuts finalized changes into steps that each fit one transaction with their undo record
    /// and the intent's header.
    fn plan_steps(&self, id: &str, staged: &ChangeSet) -> Result<Vec<Step>, CommitError> {
        let joined: HashSet<(String, String)> =
            staged.changes().flat_map(membership::joined).collect();
        let mut changes: Vec<&Change> = staged.changes().collect();
        // Resources the change makes others point at go first, so that the steps linking to
        // them find them (their stamps check that they exist).
        changes.sort_by_key(|c| {
            let r = c.after.as_ref().or(c.before.as_ref());
            !r.is_some_and(|r| joined.contains(&(r.ty.to_string(), r.id.clone())))
        });
        let mut steps = Vec::new();
        let mut first = 0;
        while first < changes.len() {
            // The longest run of changes from `first` that fits (at least one, or the limit
            // error of that one).
            let mut end = first + 1;
            let mut step = self
                .step(
                    id,
                    steps.len(),
                    &changes[first..end],
                    &changes[end..],
                    staged,
                )?
                .fitting()
                .map_err(|e| CommitError::Rejected(ApiError::from(StoreError::from(e)).into()))?;
            while end < changes.len() {
                let (run, later) = (&changes[first..=end], &changes[end + 1..]);
                match self.step(id, steps.len(), run, later, staged)?.fitting() {
                    Ok(bigger) => {
                        step = bigger;
                        end += 1;
                    }
                    Err(_) => break,
                }
            }
            steps.push(step);
            first = end;
        }
        Ok(steps)
    }

    /// The transaction of step `n` writing `changes` (before the `later` ones), and its
    /// rollback's.
    fn step(
        &self,
        id: &str,
        n: usize,
        changes: &[&Change],
        later: &[&Change],
        staged: &ChangeSet,
    ) -> Result<Candidate, CommitError> {
        let mut set = ChangeSet::default();
        if n == 0 {
            // The stamps the request read are checked once, with its first step.
            for (key, stamp) in staged.members_read() {
                set.record_members(key.clone(), stamp.clone());
            }
        }
        for change in changes {
            match &change.after {
                Some(after) => set.put(change.before.clone(), after.clone()),
                None => set.delete(change.before.clone().expect("a deletion has a before")),
            }
        }
        let (mut writes, mut origins) = self.transaction_writes(&set, &[], &[])?;
        // A resource a later step of the same change writes is not there yet (two new
        // resources that point at each other): that step writes it, under its own condition.
        let written_later: HashSet<Key> = later
            .iter()
            .filter_map(|c| c.after.as_ref())
            .map(|r| resource_key(&r.ty, &r.id))
            .collect();
        let mut n_write = 0;
        writes.retain(|w| {
            let keep = !matches!(w, Write::Check { key, condition: Condition::Present } if written_later.contains(key));
            if !keep {
                origins.remove(n_write);
            } else {
                n_write += 1;
            }
            keep
        });
        let entries: Vec<Value> = changes.iter().map(|c| undo_entry(c)).collect();
        writes.push(Write::Put {
            item: Item {
                key: undo_key(id, n),
                attrs: undo_attrs(&entries),
            },
            condition: Some(Condition::Absent),
        });
        // Last, so that the step's run can renew it (`commit_in_steps`).
        writes.push(lease_header(id, n));
        // Its rollback must fit one transaction too, with the undo record's removal (a deleted
        // resource loses its membership stamp as well: the writes differ).
        let undo_set = reversed(changes.iter().map(|c| (c.before.clone(), c.after.clone())));
        let (mut undo_writes, _) = self.transaction_writes(&undo_set, &[], &[])?;
        undo_writes.push(Write::Delete {
            key: undo_key(id, n),
            condition: Some(Condition::Present),
        });
        // The undo record and the header have no origin: a failed condition there is not
        // the client's (`commit_in_steps`).
        Ok(Candidate {
            step: Step { writes, origins },
            undo: undo_writes,
        })
    }

    /// Rolls back the steps of an intent that were committed, last first, and removes it.
    async fn roll_back(&self, id: &str) -> ApiResult<()> {
        let mark = Write::Put {
            item: Item {
                key: header_key(id),
                attrs: attrs(json!({ "state": "rolling-back", "leaseUntil": now_ms() })),
            },
            condition: Some(Condition::Present),
        };
        match self.store.transact(vec![mark]).await {
            Ok(()) => {}
            // No header: the first step never committed, or another rollback finished.
            Err(StoreError::ConditionFailed { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let mut query = RangeQuery::partition(undo_partition(id), 16);
        query.reverse = true;
        loop {
            let page = self.store.query(&query).await?;
            for item in &page.items {
                self.roll_back_step(item).await?;
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        self.store
            .transact(vec![Write::Delete {
                key: header_key(id),
                condition: None,
            }])
            .await?;
        Ok(())
    }

    /// Rolls back one step from its undo record: in one transaction with the record's removal,
    /// or, when a resource changed since, one resource at a time, skipping the changed ones.
    async fn roll_back_step(&self, undo: &Item) -> ApiResult<()> {
        let entries: Vec<Value> = undo
            .attrs
            .get("changes")
            .and_then(Value::as_str)
            .and_then(|text| serde_json::from_str(text).ok())
            .ok_or_else(|| ApiError::internal(&"an undo record is unreadable"))?;
        let left = |n: usize| Condition::Equals {
            name: "left".into(),
            value: n.into(),
        };
        let (mut writes, _) = self
            .transaction_writes(&self.reverse(&entries)?, &[], &[])
            .map_err(CommitError::into_errors)?;
        writes.push(Write::Delete {
            key: undo.key.clone(),
            condition: Some(left(entries.len())),
        });
        let last = writes.len() - 1;
        match self.store.transact(writes).await {
            Ok(()) => return Ok(()),
            // Another rollback of this intent took this step.
            Err(StoreError::ConditionFailed { index }) if index == last => return Ok(()),
            Err(StoreError::ConditionFailed { .. } | StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        for k in (0..entries.len()).rev() {
            let record = Write::Put {
                item: Item {
                    key: undo.key.clone(),
                    attrs: undo_attrs(&entries[..k]),
                },
                condition: Some(left(k + 1)),
            };
            let (mut writes, _) = self
                .transaction_writes(&self.reverse(&entries[k..=k])?, &[], &[])
                .map_err(CommitError::into_errors)?;
            writes.push(record.clone());
            let last = writes.len() - 1;
            match self.store.transact(writes).await {
                Ok(()) => continue,
                Err(StoreError::ConditionFailed { index }) if index == last => return Ok(()),
                Err(StoreError::ConditionFailed { .. }) => {
                    tracing::warn!(
                        entry = %entries[k]["type"],
                        "a resource changed after a failed batch wrote it keeps that change"
                    );
                }
                Err(e) => return Err(e.into()),
            }
            match self.store.transact(vec![record]).await {
                Ok(()) | Err(StoreError::ConditionFailed { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.store
            .transact(vec![Write::Delete {
                key: undo.key.clone(),
                condition: Some(left(0)),
            }])
            .await
            .or_else(|e| match e {
                StoreError::ConditionFailed { .. } => Ok(()),
                e => Err(e),
            })?;
        Ok(())
    }

    /// The changes that take undo entries back: each resource from the state the step wrote
    /// (guarded by its version) to the state before, under a version of its own.
    fn reverse(&self, entries: &[Value]) -> ApiResult<ChangeSet> {
        let mut pairs = Vec::new();
        for entry in entries {
            let unreadable = || ApiError::internal(&"an undo record is unreadable");
            let ty = entry["type"]
                .as_str()
                .and_then(|t| self.schema.resource_type(t))
                .ok_or_else(unreadable)?;
            let read = |name: &str| -> ApiResult<Option<Resource>> {
                match &entry[name] {
                    Value::Object(attrs) => {
                        let mut item = Item {
                            key: resource_key(&ty.name, attrs["id"].as_str().unwrap_or_default()),
                            attrs: attrs.clone(),
                        };
                        Resource::from_item(ty, &mut item)
                            .map(Some)
                            .ok_or_else(|| unreadable().into())
                    }
                    _ => Ok(None),
                }
            };
            pairs.push((read("before")?, read("after")?));
        }
        Ok(reversed(pairs))
    }

    /// Rolls back the changes left unfinished by a process that stopped mid-way: every intent
    /// when `everything` (the caller knows no other process writes to the store: the embedded
    /// store at open), else those whose lease is over or whose rollback had begun. Returns how
    /// long until the lease of the next intent still running is over.
    ///
    /// # Errors
    /// When the store fails (what was not rolled back is found again next time).
    pub async fn recover_commits(&self, everything: bool) -> ApiResult<Option<Duration>> {
        let mut query = RangeQuery::partition(INTENTS, 100);
        let mut next: Option<u64> = None;
        loop {
            let page = self.store.query(&query).await?;
            let now = now_ms();
            for header in page.items {
                let lease = header
                    .attrs
                    .get("leaseUntil")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let running = header.attrs.get("state") == Some(&Value::from("writing"));
                if everything || !running || lease <= now {
                    tracing::warn!(intent = %header.key.sk, "rolling back a change left unfinished");
                    self.roll_back(&header.key.sk).await?;
                } else {
                    next = Some(next.map_or(lease - now, |n| n.min(lease - now)));
                }
            }
            match page.next {
                Some(after) => query.after = Some(after),
                None => return Ok(next.map(Duration::from_millis)),
            }
        }
    }
}

/// The changes that take resources from `after` back to `before` (pairs of `(before, after)`),
/// each guarded by the version `after` has, restored under a version of its own.
fn reversed(pairs: impl IntoIterator<Item = (Option<Resource>, Option<Resource>)>) -> ChangeSet {
    let mut set = ChangeSet::default();
    for (before, after) in pairs {
        let version = after.as_ref().or(before.as_ref()).map_or(0, |r| r.version) + 1;
        match (before, after) {
            (Some(mut before), after) => {
                before.version = version;
                set.put(after, before);
            }
            (None, Some(after)) => set.delete(after),
            (None, None) => {}
        }
    }
    set
}

/// The condition that the intent is still being written.
/// Step `n`'s write of the intent's header: it is put by the first step and renewed by each
/// later one while it is still `writing` (a rollback that took it over makes that step fail).
fn lease_header(id: &str, n: usize) -> Write {
    let lease_until = now_ms() + u64::try_from(LEASE.as_millis()).unwrap_or(u64::MAX);
    Write::Put {
        item: Item {
            key: header_key(id),
            attrs: attrs(json!({ "state": "writing", "leaseUntil": lease_until })),
        },
        condition: Some(if n == 0 { Condition::Absent } else { writing() }),
    }
}

fn writing() -> Condition {
    Condition::Equals {
        name: "state".into(),
        value: "writing".into(),
    }
}
