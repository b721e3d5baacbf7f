//! The write-ahead log: what lets a group of writes be answered after one small sequential
//! append and its `fdatasync` instead of a durable redb commit (which writes and syncs every
//! B-tree page the group changed, ~50 scattered pages for a dozen creates).
//!
//! A logged group is appended here (synced when the group must be durable), then committed
//! to redb without a sync (`Durability::None`). A checkpoint (a durable redb commit, every
//! [`CHECKPOINT_AFTER`], past [`CHECKPOINT_BYTES`] of log, when the writer is idle, and when
//! the store closes) makes every commit before it durable in redb itself, and empties the log.
//! After a crash redb opens at its last durable commit, and the log's records after it are
//! applied again ([`Wal::open`]) before anything else runs.
//!
//! - A record holds each key a group left changed and its final value (or its deletion): a
//!   redo that does not depend on the state it is applied to. Each has a sequence number; the
//!   redb transaction of a logged group stores it (table `wal`), so a record redb already has
//!   is skipped, and a record from before an emptying that was not yet on disk (a crash just
//!   after a checkpoint) is never applied over newer values.
//! - Records are checked (length, CRC-32, consecutive numbers) and applied in order up to the
//!   first that fails: a record torn by a crash was never synced, so never answered, and
//!   every record after it was appended later.
//! - A checkpoint does not shrink the file: the next records are written over the old ones
//!   from its start (the old ones after them have lower numbers, so reading stops there).
//!   Writing over blocks the file already has lets `fdatasync` write the data alone, not
//!   the file's size and block map as well (a third of the commit cycle on ext4).
//! - The log holds a prefix of the commits since the last checkpoint: a group not logged (a
//!   deferred group too large to be worth logging, an import's chunk) marks the log as
//!   incomplete, and every later group is then committed without it until the next
//!   checkpoint; a durable group in that state is itself the checkpoint. So what a crash
//!   loses is always the last commits, in commit order, as the deferred writers require.

use std::fs::{File, OpenOptions};
use std::io::Read as _;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};

use crate::{ITEMS, TupleKey};

/// The log's file, beside the store's.
pub(crate) const WAL_FILE: &str = "jsonapi.redb.wal";

/// Where a logged commit's sequence number is kept in redb.
const APPLIED: TableDefinition<'_, &str, u64> = TableDefinition::new("wal");
const APPLIED_KEY: &str = "applied";

/// A checkpoint at least this often under load.
const CHECKPOINT_AFTER: Duration = Duration::from_secs(1);
/// ... and when the log grows past this.
const CHECKPOINT_BYTES: u64 = 64 << 20;
/// A group that need not be durable is logged only when it has at most this many writes
/// (an allocation, a few small writes): a bulk chunk would be written twice for nothing (its
/// writer waits for no sync).
const LOG_DEFERRED_KEYS: usize = 64;

/// A key a group changed and what it holds after it (`None`: deleted).
pub(crate) type Entry = ((String, String), Option<Vec<u8>>);

/// A record read back: its number and entries.
type Record = (u64, Vec<Entry>);

/// How a group is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    /// A durable redb commit, then the log emptied.
    Checkpoint,
    /// Appended to the log (and synced when `sync`), then committed without a sync.
    Logged { sync: bool },
    /// Committed without a sync and without the log (lost if a crash comes before the next
    /// checkpoint).
    Unlogged,
}

/// The open log.
#[derive(Debug)]
pub(crate) struct Wal {
    file: File,
    /// Where the next record goes: the bytes of the records since the last checkpoint.
    len: u64,
    next_seq: u64,
    last_checkpoint: Instant,
    /// A commit since the last checkpoint is not in the log.
    incomplete: bool,
}

impl Wal {
    /// Opens the log of the store in `dir`, applies to `db` what it holds that redb lacks,
    /// and empties it.
    pub(crate) fn open(dir: &Path, db: &Database) -> std::io::Result<Self> {
        let path = dir.join(WAL_FILE);
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        if !existed {
            // The file's name must survive a crash as its records will.
            File::open(dir)?.sync_all()?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let txn = db.begin_write().map_err(std::io::Error::other)?;
        let applied = applied(&txn)?;
        let mut last = applied;
        {
            let mut items = txn.open_table(ITEMS).map_err(std::io::Error::other)?;
            for (seq, entries) in records(&bytes) {
                if seq <= applied {
                    continue;
                }
                for ((pk, sk), value) in entries {
                    let key: TupleKey<'_> = (&pk, &sk);
                    match value {
                        Some(v) => items.insert(key, v.as_slice()).map(drop),
                        None => items.remove(key).map(drop),
                    }
                    .map_err(std::io::Error::other)?;
                }
                last = seq;
            }
        }
        if last > applied {
            tracing::warn!(
                commits = last - applied,
                "applied the logged commits an unclean stop left out of the store file"
            );
            set_applied(&txn, last)?;
        }
        txn.commit().map_err(std::io::Error::other)?;
        file.set_len(0)?;
        file.sync_all()?;
        Ok(Self {
            file,
            len: 0,
            next_seq: last + 1,
            last_checkpoint: Instant::now(),
            incomplete: false,
        })
    }

    /// How the next group is committed: `durable` when it must be before it is answered.
    /// A group planned `Logged { sync: false }` is then [`Self::worth_logging`] or not.
    pub(crate) fn plan(&self, durable: bool) -> Commit {
        if self.len >= CHECKPOINT_BYTES || self.last_checkpoint.elapsed() >= CHECKPOINT_AFTER {
            return Commit::Checkpoint;
        }
        match (self.incomplete, durable) {
            (true, true) => Commit::Checkpoint,
            (true, false) => Commit::Unlogged,
            (false, sync) => Commit::Logged { sync },
        }
    }

    /// Whether a group that need not be durable, of `writes` writes, is logged; when not,
    /// the log stops being complete until the next checkpoint.
    pub(crate) fn worth_logging(&mut self, writes: usize) -> bool {
        self.incomplete = writes > LOG_DEFERRED_KEYS;
        !self.incomplete
    }

    /// Whether anything since the last checkpoint is not yet in redb durably.
    pub(crate) fn pending(&self) -> bool {
        self.len > 0 || self.incomplete
    }

    /// Stores in a logged group's `txn` the number its record will have; the number.
    pub(crate) fn stamp(&self, txn: &WriteTransaction) -> std::io::Result<u64> {
        set_applied(txn, self.next_seq)?;
        Ok(self.next_seq)
    }

    /// Appends the record of `entries` as number `seq`, synced when `sync`; on failure the
    /// log is left as it was (or the error says it could not be).
    pub(crate) fn append(
        &mut self,
        seq: u64,
        entries: &[Entry],
        sync: bool,
    ) -> std::io::Result<()> {
        let record = encode(seq, entries);
        let written = self
            .file
            .write_all_at(&record, self.len)
            .and_then(|()| if sync { self.file.sync_data() } else { Ok(()) });
        match written {
            Ok(()) => {
                self.len += record.len() as u64;
                self.next_seq = seq + 1;
                Ok(())
            }
            Err(e) => {
                self.rewind()?;
                Err(e)
            }
        }
    }

    /// Makes what follows the records counted unreadable as a record (a record written
    /// there whose commit failed), synced.
    fn rewind(&mut self) -> std::io::Result<()> {
        self.file.write_all_at(&[0; 8], self.len)?;
        self.file.sync_data()
    }

    /// Takes back the record of `entries` appended last: its redb commit failed, and a
    /// restart must not apply it.
    pub(crate) fn take_back(&mut self, entries: &[Entry]) -> std::io::Result<()> {
        self.len -= record_size(entries) as u64;
        self.next_seq -= 1;
        self.rewind()
    }

    /// After a durable redb commit: the log is empty again, its next record written at the
    /// start. The records left in the file are ones redb has (skipped by their numbers).
    pub(crate) fn checkpointed(&mut self) {
        self.last_checkpoint = Instant::now();
        self.incomplete = false;
        self.len = 0;
    }
}

/// Bytes of the record of `entries`.
pub(crate) fn record_size(entries: &[Entry]) -> usize {
    8 + 12
        + entries
            .iter()
            .map(|((pk, sk), v)| 9 + pk.len() + sk.len() + v.as_ref().map_or(0, |v| 4 + v.len()))
            .sum::<usize>()
}

fn applied(txn: &WriteTransaction) -> std::io::Result<u64> {
    let table = txn.open_table(APPLIED).map_err(std::io::Error::other)?;
    Ok(table
        .get(APPLIED_KEY)
        .map_err(std::io::Error::other)?
        .map_or(0, |v| v.value()))
}

fn set_applied(txn: &WriteTransaction, seq: u64) -> std::io::Result<()> {
    let mut table = txn.open_table(APPLIED).map_err(std::io::Error::other)?;
    table
        .insert(APPLIED_KEY, seq)
        .map(drop)
        .map_err(std::io::Error::other)
}

/// `[body length u32][CRC-32 of the body u32]`, then the body: `[seq u64][entries u32]` and
/// each entry `[pk length u32][pk][sk length u32][sk][0 | 1][value length u32][value]`
/// (the value only after a 1), little-endian.
fn encode(seq: u64, entries: &[Entry]) -> Vec<u8> {
    let mut body = Vec::with_capacity(record_size(entries));
    body.extend_from_slice(&seq.to_le_bytes());
    body.extend_from_slice(&len32(entries.len()));
    for ((pk, sk), value) in entries {
        for part in [pk, sk] {
            body.extend_from_slice(&len32(part.len()));
            body.extend_from_slice(part.as_bytes());
        }
        match value {
            None => body.push(0),
            Some(v) => {
                body.push(1);
                body.extend_from_slice(&len32(v.len()));
                body.extend_from_slice(v);
            }
        }
    }
    let mut record = Vec::with_capacity(8 + body.len());
    record.extend_from_slice(&len32(body.len()));
    record.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    record.extend_from_slice(&body);
    record
}

fn len32(n: usize) -> [u8; 4] {
    u32::try_from(n)
        .expect("a record part is far below 4 GiB")
        .to_le_bytes()
}

/// The records of a log's bytes, in order, up to the first that is torn, fails its check or
/// does not follow the one before.
fn records(bytes: &[u8]) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    let mut rest = bytes;
    while let Some((record, after)) = next_record(rest) {
        if out.last().is_some_and(|(prev, _)| record.0 != prev + 1) {
            break;
        }
        out.push(record);
        rest = after;
    }
    out
}

fn next_record(bytes: &[u8]) -> Option<(Record, &[u8])> {
    let mut r = Reader(bytes);
    let len = r.u32()? as usize;
    let crc = r.u32()?;
    let body = r.take(len)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let after = r.0;
    let mut b = Reader(body);
    let seq = u64::from_le_bytes(b.take(8)?.try_into().ok()?);
    let count = b.u32()?;
    let mut entries = Vec::new();
    for _ in 0..count {
        let pk = b.string()?;
        let sk = b.string()?;
        let value = match b.take(1)?[0] {
            0 => None,
            _ => {
                let n = b.u32()? as usize;
                Some(b.take(n)?.to_vec())
            }
        };
        entries.push(((pk, sk), value));
    }
    Some(((seq, entries), after))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn string(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use redb::ReadableDatabase;

    use super::*;

    fn value(db: &Database, sk: &str) -> Option<String> {
        let txn = db.begin_read().expect("a read");
        let table = txn.open_table(ITEMS).expect("the items");
        table
            .get(("p", sk))
            .expect("read")
            .map(|v| String::from_utf8(v.value().to_vec()).expect("UTF-8"))
    }

    /// What a crash leaves (redb at its last durable commit, the log's records after it) is
    /// applied at the next open, once: a record redb has, or one older than a newer record
    /// applied, changes nothing.
    #[test]
    fn opening_applies_the_records_redb_lacks_and_empties_the_log() {
        let dir = tempfile::tempdir().expect("a folder");
        let db = Database::create(dir.path().join("db")).expect("a database");
        let txn = db.begin_write().expect("a write");
        txn.open_table(ITEMS).expect("the items");
        txn.commit().expect("committed");
        let log = dir.path().join(WAL_FILE);
        let mut bytes = encode(1, &[entry("a", Some("1")), entry("b", Some("1"))]);
        bytes.extend(encode(2, &[entry("a", Some("2")), entry("b", None)]));
        std::fs::write(&log, &bytes).expect("written");
        let wal = Wal::open(dir.path(), &db).expect("opened");
        assert_eq!(value(&db, "a").as_deref(), Some("2"));
        assert_eq!(value(&db, "b"), None);
        assert_eq!(wal.next_seq, 3);
        assert_eq!(std::fs::metadata(&log).expect("the log").len(), 0);
        drop(wal);
        // The same records again (an emptying lost by a crash): redb has them; skipped, so
        // `a` keeps a value written after them.
        let txn = db.begin_write().expect("a write");
        txn.open_table(ITEMS)
            .expect("the items")
            .insert(("p", "a"), b"3".as_slice())
            .expect("put");
        txn.commit().expect("committed");
        std::fs::write(&log, &bytes).expect("written");
        let wal = Wal::open(dir.path(), &db).expect("opened");
        assert_eq!(value(&db, "a").as_deref(), Some("3"));
        assert_eq!(wal.next_seq, 3);
    }

    fn entry(sk: &str, value: Option<&str>) -> Entry {
        (
            ("p".to_owned(), sk.to_owned()),
            value.map(|v| v.as_bytes().to_vec()),
        )
    }

    #[test]
    fn records_read_back_up_to_the_first_torn_or_out_of_sequence_one() {
        let mut log = encode(7, &[entry("a", Some("1")), entry("b", None)]);
        assert_eq!(
            log.len(),
            record_size(&[entry("a", Some("1")), entry("b", None)])
        );
        log.extend(encode(8, &[entry("a", Some("2"))]));
        let whole = log.clone();
        assert_eq!(
            records(&whole),
            vec![
                (7, vec![entry("a", Some("1")), entry("b", None)]),
                (8, vec![entry("a", Some("2"))])
            ]
        );
        // Torn: the last record cut short is not read.
        assert_eq!(records(&whole[..whole.len() - 1]).len(), 1);
        // A flipped byte fails the check.
        let mut flipped = whole.clone();
        let at = flipped.len() - 2;
        flipped[at] ^= 1;
        assert_eq!(records(&flipped).len(), 1);
        // An older record after newer ones (bytes left from before an emptying) ends it.
        let mut stale = whole;
        stale.extend(encode(3, &[entry("a", Some("old"))]));
        assert_eq!(records(&stale).len(), 2);
    }
}
