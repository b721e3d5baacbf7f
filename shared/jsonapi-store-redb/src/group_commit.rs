//! Group commit: every write goes through one writer thread, which applies the writes that
//! arrived while the previous commit was syncing in one redb transaction, and syncs once for
//! all of them.
//!
//! redb serialises write transactions and syncs the file on every commit, so with one
//! transaction per request the store answers at most one write per fsync, however many
//! clients wait. Here each request still sees its own conditions checked against everything
//! committed or applied before it (in arrival order, inside the shared transaction), a request
//! whose condition fails writes nothing (conditions are checked before its first write), and
//! no request is answered before the commit that holds its writes is durable.
//!
//! A group is made durable by its record in the write-ahead log (module `wal`: one append
//! and one `fdatasync`), then committed to redb without a sync; checkpoints (durable redb
//! commits) empty the log. A deferred request (`Store::transact_deferred`) is answered once
//! its group is committed, before any sync: its group is durable with the next one that
//! syncs, or at the next checkpoint, or when the store closes. A crash loses such groups
//! whole, in commit order.

use std::ops::Bound;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use jsonapi_store::{Attrs, Key, StoreError, StoreResult, Write};
use redb::{CursorError, Database, Durability, ReadableTable, Table};
use tokio::sync::oneshot;

use crate::wal::{Commit, Entry, Wal};
use crate::{ITEMS, TupleKey, decode, encode, internal};

/// A group never grows past this many requests, so one commit's latency stays bounded under
/// any load.
const MAX_GROUP: usize = 256;

/// A request of this many writes or more has them applied in key order (see [`key_order`]).
const KEY_ORDER_FROM: usize = 32;

/// A writer with no job for this long checkpoints what the log holds.
const IDLE_CHECKPOINT: Duration = Duration::from_millis(100);

/// One request to the writer.
enum Job {
    Transact {
        writes: Vec<Write>,
        /// The order they are applied in ([`key_order`]).
        order: Option<Vec<usize>>,
        /// Answered only once durable (not for a deferred request).
        durable: bool,
        reply: oneshot::Sender<StoreResult<()>>,
    },
    Allocate {
        key: Key,
        n: u64,
        reply: oneshot::Sender<StoreResult<u64>>,
    },
}

/// What a job's application produced, answered once the group is committed.
enum Outcome {
    Transact(StoreResult<()>),
    Allocate(StoreResult<u64>),
}

/// The writer thread and the way to it. Dropping the last handle closes the queue and waits
/// for the thread, so that the data file is released when the store is dropped (a process
/// may reopen the folder at once).
#[derive(Debug)]
pub(crate) struct Writer {
    queue: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread for `db`, logging to `wal`.
    pub(crate) fn start(db: Arc<Database>, mut wal: Wal) -> std::io::Result<Self> {
        let (queue, jobs) = channel();
        let thread = std::thread::Builder::new()
            .name("redb-writer".to_owned())
            .spawn(move || run(&db, &mut wal, &jobs))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Applies `writes` atomically; answers once they are durable, or, unless `durable`, once
    /// they are committed (durable with the next group that is).
    pub(crate) async fn transact(&self, writes: Vec<Write>, durable: bool) -> StoreResult<()> {
        let (reply, answer) = oneshot::channel();
        // Sorted here, on the requester's thread: the writer's time is every request's.
        let order = key_order(&writes);
        self.send(Job::Transact {
            writes,
            order,
            durable,
            reply,
        })?;
        answer.await.map_err(internal)?
    }

    /// Takes `n` values from the counter at `key`; answers once the new value is committed
    /// (see [`Job::durable`]).
    pub(crate) async fn allocate(&self, key: Key, n: u64) -> StoreResult<u64> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Allocate { key, n, reply })?;
        answer.await.map_err(internal)?
    }

    fn send(&self, job: Job) -> StoreResult<()> {
        self.queue
            .as_ref()
            .and_then(|q| q.send(job).ok())
            .ok_or_else(|| internal("the store's writer has stopped"))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            // A panicked writer has already failed its requests; nothing is left to do.
            let _ = thread.join();
        }
    }
}

/// The writer's loop: waits for a job, takes whatever else is queued, commits them together;
/// checkpoints when it has been idle a moment, and once the queue closes.
fn run(db: &Database, wal: &mut Wal, jobs: &Receiver<Job>) {
    loop {
        let first = if wal.pending() {
            match jobs.recv_timeout(IDLE_CHECKPOINT) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    checkpoint(db, wal);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match jobs.recv() {
                Ok(job) => job,
                Err(_) => break,
            }
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let durable = group.iter().any(Job::durable);
        commit_group(db, wal, group, durable);
    }
    // Nobody waits for this any more: if it fails, what is logged is applied at the next
    // open, and deferred groups not logged are lost as a crash would lose them.
    if wal.pending() {
        checkpoint(db, wal);
    }
}

/// An empty durable commit: redb then holds every commit before it durably, and the log
/// empties.
fn checkpoint(db: &Database, wal: &mut Wal) {
    let done = db
        .begin_write()
        .map_err(internal)
        .and_then(|txn| txn.commit().map_err(internal))
        .map(|()| wal.checkpointed());
    if let Err(e) = done {
        tracing::warn!(error = %e, "the store's checkpoint failed; the next one retries");
    }
}

impl Job {
    /// How many keys the job may write.
    fn writes(&self) -> usize {
        match self {
            Self::Transact { writes, .. } => writes.len(),
            Self::Allocate { .. } => 1,
        }
    }

    /// Whether the job's group must be durable before it is answered. An allocation need not
    /// be: its values reach the world only in writes committed after it, and a commit that
    /// survives a crash brings every commit before it along, so a value is taken again after
    /// a crash only if nothing that used it survived.
    fn durable(&self) -> bool {
        match self {
            Self::Transact { durable, .. } => *durable,
            Self::Allocate { .. } => false,
        }
    }
}

/// Applies every job of `group` in one transaction and answers them after its commit (durable
/// when `durable`). A storage failure fails the whole group (nothing of it is committed).
fn commit_group(db: &Database, wal: &mut Wal, group: Vec<Job>, durable: bool) {
    match apply_all(db, wal, &group, durable) {
        Ok(outcomes) => {
            for (job, outcome) in group.into_iter().zip(outcomes) {
                // A requester that went away (its request was cancelled) needs no answer.
                match (job, outcome) {
                    (Job::Transact { reply, .. }, Outcome::Transact(r)) => drop(reply.send(r)),
                    (Job::Allocate { reply, .. }, Outcome::Allocate(r)) => drop(reply.send(r)),
                    _ => unreachable!("each outcome is its job's kind"),
                }
            }
        }
        Err(e) => {
            // Only storage failures get here; each requester gets its own copy.
            let failed = || StoreError::Internal(e.to_string());
            for job in group {
                match job {
                    Job::Transact { reply, .. } => drop(reply.send(Err(failed()))),
                    Job::Allocate { reply, .. } => drop(reply.send(Err(failed()))),
                }
            }
        }
    }
}

/// The outcome of each job, once all of them are committed as the log's plan says.
fn apply_all(
    db: &Database,
    wal: &mut Wal,
    group: &[Job],
    durable: bool,
) -> StoreResult<Vec<Outcome>> {
    let mut txn = db.begin_write().map_err(internal)?;
    let mut commit = wal.plan(durable);
    let (outcomes, logged) = {
        let mut table = txn.open_table(ITEMS).map_err(internal)?;
        let outcomes = group
            .iter()
            .map(|job| apply(&mut table, job))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut logged = None;
        if let Commit::Logged { sync } = commit {
            // Counted before the keys are gathered: a bulk chunk's thousand would be sorted
            // for nothing.
            let writes = group.iter().map(Job::writes).sum();
            if sync || wal.worth_logging(writes) {
                logged = Some(entries(&table, changed_keys(group, &outcomes))?);
            } else {
                commit = Commit::Unlogged;
            }
        }
        (outcomes, logged)
    };
    // Returning early drops the transaction, which aborts it.
    if commit != Commit::Checkpoint {
        txn.set_durability(Durability::None).map_err(internal)?;
    }
    if let (Commit::Logged { sync }, Some(entries)) = (commit, &logged) {
        let seq = wal.stamp(&txn).map_err(internal)?;
        wal.append(seq, entries, sync).map_err(internal)?;
    }
    if let Err(e) = txn.commit() {
        if let Some(entries) = &logged
            && let Err(undo) = wal.take_back(entries)
        {
            // The record stays: a restart would apply a group its writers were told failed.
            tracing::error!(error = %undo, "cannot take back the log record of a failed commit");
        }
        return Err(internal(e));
    }
    if commit == Commit::Checkpoint {
        wal.checkpointed();
    }
    Ok(outcomes)
}

/// Each key the group's applied jobs wrote, once.
fn changed_keys<'g>(group: &'g [Job], outcomes: &[Outcome]) -> Vec<&'g Key> {
    let mut keys: Vec<&Key> = Vec::new();
    for (job, outcome) in group.iter().zip(outcomes) {
        match (job, outcome) {
            (Job::Transact { writes, .. }, Outcome::Transact(Ok(()))) => keys.extend(
                writes
                    .iter()
                    .filter(|w| !matches!(w, Write::Check { .. }))
                    .map(Write::key),
            ),
            (Job::Allocate { key, .. }, Outcome::Allocate(Ok(_))) => keys.push(key),
            _ => {}
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Each of `keys` with what it holds now: a group's log record.
fn entries(table: &Table<'_, TupleKey<'_>, &[u8]>, keys: Vec<&Key>) -> StoreResult<Vec<Entry>> {
    keys.into_iter()
        .map(|key| {
            let value = table
                .get((key.pk.as_str(), key.sk.as_str()))
                .map_err(internal)?
                .map(|v| v.value().to_vec());
            Ok(((key.pk.clone(), key.sk.clone()), value))
        })
        .collect()
}

/// Applies one job; `Err` only for a storage failure, which aborts the group (a failed
/// condition is the job's own outcome).
fn apply(table: &mut Table<'_, TupleKey<'_>, &[u8]>, job: &Job) -> StoreResult<Outcome> {
    Ok(match job {
        Job::Transact { writes, order, .. } => Outcome::Transact(match check(table, writes)? {
            Some(index) => Err(StoreError::ConditionFailed { index }),
            None => match order {
                Some(order) => write_in_runs(table, writes, order).map(Ok)?,
                None => write_all(table, writes).map(Ok)?,
            },
        }),
        Job::Allocate { key, n, .. } => Outcome::Allocate(Ok(take(table, key, *n)?)),
    })
}

/// The index of the first write whose condition does not hold, checked before any write, as
/// DynamoDB does.
fn check(table: &Table<'_, TupleKey<'_>, &[u8]>, writes: &[Write]) -> StoreResult<Option<usize>> {
    for (index, write) in writes.iter().enumerate() {
        if let Some(condition) = write.condition() {
            let key = write.key();
            let current = table
                .get((key.pk.as_str(), key.sk.as_str()))
                .map_err(internal)?
                .map(|v| decode(v.value()))
                .transpose()?;
            if !condition.holds(current.as_ref()) {
                return Ok(Some(index));
            }
        }
    }
    Ok(None)
}

fn write_all(table: &mut Table<'_, TupleKey<'_>, &[u8]>, writes: &[Write]) -> StoreResult<()> {
    let mut value = Vec::new();
    for write in writes {
        write_one(table, write, &mut value)?;
    }
    Ok(())
}

/// Applies one write; `value` is a buffer for the encoded attributes.
fn write_one(
    table: &mut Table<'_, TupleKey<'_>, &[u8]>,
    write: &Write,
    value: &mut Vec<u8>,
) -> StoreResult<()> {
    match write {
        Write::Put { item, .. } => {
            encode_into(&item.attrs, value)?;
            table
                .insert(
                    (item.key.pk.as_str(), item.key.sk.as_str()),
                    value.as_slice(),
                )
                .map_err(internal)?;
        }
        Write::Delete { key, .. } => {
            table
                .remove((key.pk.as_str(), key.sk.as_str()))
                .map_err(internal)?;
        }
        Write::Check { .. } => {}
    }
    Ok(())
}

fn encode_into(attrs: &Attrs, value: &mut Vec<u8>) -> StoreResult<()> {
    value.clear();
    serde_json::to_writer(value, attrs).map_err(internal)
}

/// The order a large request's writes are applied in: by key, and only the last write of
/// each key (the state a key is left in is its last write's, and conditions are checked on
/// the request's writes as given, before any). `None` for a small request: applied as given.
fn key_order(writes: &[Write]) -> Option<Vec<usize>> {
    if writes.len() < KEY_ORDER_FROM {
        return None;
    }
    let mut order: Vec<usize> = (0..writes.len())
        .filter(|&i| !matches!(writes[i], Write::Check { .. }))
        .collect();
    let key = |i: usize| writes[i].key();
    // Stable: of equal keys, the last one given stays last.
    order.sort_by(|&a, &b| key(a).cmp(key(b)));
    let mut last_of_key = Vec::with_capacity(order.len());
    for (k, &i) in order.iter().enumerate() {
        if order.get(k + 1).is_none_or(|&next| key(next) != key(i)) {
            last_of_key.push(i);
        }
    }
    Some(last_of_key)
}

/// Applies `writes` in `order` ([`key_order`]). Puts that fall between the same two stored
/// keys (a batch's entries appended to the end of a listing or of an index value's range)
/// go in through one cursor, which packs them into full pages in one pass instead of
/// descending the tree for each and splitting pages as they fill: an import writes and
/// syncs a smaller file, sooner.
fn write_in_runs(
    table: &mut Table<'_, TupleKey<'_>, &[u8]>,
    writes: &[Write],
    order: &[usize],
) -> StoreResult<()> {
    let mut value = Vec::new();
    let mut writes = order.iter().map(|&i| &writes[i]).peekable();
    while let Some(write) = writes.next() {
        write_one(table, write, &mut value)?;
        let Write::Put { item, .. } = write else {
            continue;
        };
        // A run is worth opening only for a next put in the same partition.
        let same_partition =
            |w: &&Write| matches!(w, Write::Put { item: next, .. } if next.key.pk == item.key.pk);
        if !writes.peek().is_some_and(same_partition) {
            continue;
        }
        let key = (item.key.pk.as_str(), item.key.sk.as_str());
        let mut cursor = table
            .upper_bound_mut(Bound::Included(key))
            .map_err(internal)?;
        // The stored key after the gap: the run takes the puts that sort before it.
        let end = cursor.peek_next().map_err(internal)?.map(|(k, _)| {
            let (pk, sk) = k.value();
            (pk.to_owned(), sk.to_owned())
        });
        while let Some(Write::Put { item, .. }) = writes.peek() {
            let key = (item.key.pk.as_str(), item.key.sk.as_str());
            if end
                .as_ref()
                .is_some_and(|(pk, sk)| key >= (pk.as_str(), sk.as_str()))
            {
                break;
            }
            encode_into(&item.attrs, &mut value)?;
            match cursor.insert_before(key, value.as_slice()) {
                Ok(()) => {}
                Err(CursorError::UnorderedKey) => break,
                Err(e) => return Err(internal(e)),
            }
            writes.next();
        }
        cursor.close().map_err(internal)?;
    }
    Ok(())
}

/// Advances the counter at `key` by `n`; the first value taken.
fn take(table: &mut Table<'_, TupleKey<'_>, &[u8]>, key: &Key, n: u64) -> StoreResult<u64> {
    let k = (key.pk.as_str(), key.sk.as_str());
    let current = match table.get(k).map_err(internal)? {
        Some(v) => decode(v.value())?,
        None => Attrs::new(),
    };
    let next = current
        .get("next")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(1);
    let mut attrs = Attrs::new();
    attrs.insert("next".to_owned(), (next + n).into());
    table
        .insert(k, encode(&attrs)?.as_slice())
        .map_err(internal)?;
    Ok(next)
}
