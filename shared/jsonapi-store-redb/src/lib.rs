//! The embedded backend: the storage port on [redb], one crash-safe, transactional file in a
//! data folder.
//!
//! Items live in one redb table keyed by `(pk, sk)`; a tuple of strings orders exactly as
//! DynamoDB orders a partition's sort keys (byte-wise), so range reads agree between the
//! backends. Values are the item's attributes as JSON. Every write is durable when it returns
//! (its group's record synced in the write-ahead log, [`wal`], before the group is committed),
//! and all writes go through one writer thread ([`group_commit`]), so a condition checked for
//! one cannot be raced; the writes that queue while a group syncs are committed together,
//! with one sync.
//!
//! redb is synchronous. Writes go to the writer thread, so a commit's fsync never stalls the
//! request threads. Short reads (one item, a batch, a page) run on the request's own thread:
//! a read transaction is an MVCC snapshot that waits for nobody, and handing a read of a few
//! microseconds to tokio's blocking pool cost more (two thread wake-ups) than the read itself.
//! Reads that may walk a long range (counts, large pages) still go to the blocking pool.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jsonapi_store::{
    Attrs, Item, Key, QueryPage, RangeQuery, Store, StoreError, StoreResult, Write,
};
use redb::{Database, ReadableDatabase, TableDefinition};

use group_commit::Writer;

mod group_commit;
mod wal;

/// `(pk, sk)`
type TupleKey<'a> = (&'a str, &'a str);

const ITEMS: TableDefinition<'_, TupleKey<'_>, &[u8]> = TableDefinition::new("items");

/// The file inside the data folder.
pub const DATA_FILE: &str = "jsonapi.redb";

/// See [`Store::max_grouped_writes`].
const MAX_GROUPED_WRITES: usize = 2000;
/// A serving store's page cache (redb's own default): reads of a working set up to this
/// size never touch the file.
const SERVING_CACHE_BYTES: usize = 1 << 30;

/// Why a data folder could not be opened; each says in one sentence what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process holds the folder's file (redb takes an exclusive lock).
    #[error(
        "the data folder {} is in use by another process (a server already serving it?): stop that process or use another folder",
        .0.display()
    )]
    InUse(PathBuf),
    /// [`RedbStore::open_existing`] found no store there.
    #[error("the data folder {} holds no store (nothing was ever served from it)", .0.display())]
    Missing(PathBuf),
    /// The folder or file cannot be created, read or written.
    #[error("cannot open the data folder {}: {cause}", .path.display())]
    Unusable {
        /// The folder.
        path: PathBuf,
        /// Why.
        cause: String,
    },
}

/// The embedded store.
#[derive(Debug, Clone)]
pub struct RedbStore {
    db: Arc<Database>,
    writer: Arc<Writer>,
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

impl RedbStore {
    /// Opens (or creates) the store in `dir`, creating the folder when needed.
    ///
    /// # Errors
    /// The folder is in use by another process, or cannot be created or opened.
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        Self::open_with_cache(dir, SERVING_CACHE_BYTES)
    }

    /// As [`Self::open`], with a page cache of `cache_bytes`: the memory the store keeps of
    /// what it read and wrote. A bulk write that reads little back (an import) runs as fast
    /// with a small one, and its memory then stays flat however much it writes.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_with_cache(dir: &Path, cache_bytes: usize) -> Result<Self, OpenError> {
        let unusable = |cause: &dyn std::fmt::Display| OpenError::Unusable {
            path: dir.to_owned(),
            cause: cause.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| unusable(&e))?;
        let db = redb::Builder::new()
            .set_cache_size(cache_bytes)
            .create(dir.join(DATA_FILE))
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => OpenError::InUse(dir.to_owned()),
                e => unusable(&e),
            })?;
        let txn = db.begin_write().map_err(|e| unusable(&e))?;
        txn.open_table(ITEMS).map_err(|e| unusable(&e))?;
        txn.commit().map_err(|e| unusable(&e))?;
        let wal = wal::Wal::open(dir, &db).map_err(|e| unusable(&e))?;
        let db = Arc::new(db);
        let writer = Writer::start(Arc::clone(&db), wal).map_err(|e| unusable(&e))?;
        Ok(Self {
            db,
            writer: Arc::new(writer),
        })
    }

    /// Opens the store in `dir` only if one is there: commands that read must not leave an
    /// empty store behind a mistyped folder name.
    ///
    /// # Errors
    /// As [`Self::open`], and [`OpenError::Missing`].
    pub fn open_existing(dir: &Path) -> Result<Self, OpenError> {
        if !dir.join(DATA_FILE).is_file() {
            return Err(OpenError::Missing(dir.to_owned()));
        }
        Self::open(dir)
    }

    /// A read that may walk a long range, on tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(internal)?
    }
}

fn decode(bytes: &[u8]) -> StoreResult<Attrs> {
    serde_json::from_slice(bytes).map_err(|e| internal(format!("corrupt item: {e}")))
}

fn encode(attrs: &Attrs) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(attrs).map_err(internal)
}

/// The most items a range read runs on the request's thread (see the module's notes).
const INLINE_READ_LIMIT: usize = 100;

/// The tuple-key bounds of one partition's sort-key range.
fn tuple_bounds<'a>(
    pk: &'a str,
    (from, to): (Bound<&'a str>, Bound<&'a str>),
) -> (Bound<TupleKey<'a>>, Bound<TupleKey<'a>>) {
    let lower = match from {
        Bound::Included(s) => Bound::Included((pk, s)),
        Bound::Excluded(s) => Bound::Excluded((pk, s)),
        Bound::Unbounded => Bound::Included((pk, "")),
    };
    let upper = match to {
        Bound::Included(s) => Bound::Included((pk, s)),
        Bound::Excluded(s) => Bound::Excluded((pk, s)),
        // Every sort key of `pk` sorts below the first key of the next partition; the
        // partition key followed by the largest char is past all of them.
        Bound::Unbounded => Bound::Included((pk, "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}")),
    };
    (lower, upper)
}

fn read_range(
    db: &Database,
    query: &RangeQuery,
    keys_only: bool,
) -> StoreResult<(Vec<Item>, bool)> {
    let txn = db.begin_read().map_err(internal)?;
    let table = txn.open_table(ITEMS).map_err(internal)?;
    let bounds = tuple_bounds(&query.pk, query.remaining_bounds());
    let range = table.range::<TupleKey<'_>>(bounds).map_err(internal)?;
    let entries: Box<dyn Iterator<Item = _>> = if query.reverse {
        Box::new(range.rev())
    } else {
        Box::new(range)
    };
    let mut items = Vec::new();
    let mut more = false;
    for entry in entries {
        let (k, v) = entry.map_err(internal)?;
        if items.len() == query.limit {
            more = true;
            break;
        }
        let (pk, sk) = k.value();
        let attrs = if keys_only {
            Attrs::new()
        } else {
            decode(v.value())?
        };
        items.push(Item {
            key: Key::new(pk, sk),
            attrs,
        });
    }
    Ok((items, more))
}

/// One page of a range read.
fn page(db: &Database, query: &RangeQuery) -> StoreResult<QueryPage> {
    let (items, more) = read_range(db, query, false)?;
    let next = if more {
        items.last().map(|i| i.key.sk.clone())
    } else {
        None
    };
    Ok(QueryPage { items, next })
}

impl Store for RedbStore {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        let txn = self.db.begin_read().map_err(internal)?;
        let table = txn.open_table(ITEMS).map_err(internal)?;
        let found = table
            .get((key.pk.as_str(), key.sk.as_str()))
            .map_err(internal)?;
        found
            .map(|v| {
                decode(v.value()).map(|attrs| Item {
                    key: key.clone(),
                    attrs,
                })
            })
            .transpose()
    }

    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        let txn = self.db.begin_read().map_err(internal)?;
        let table = txn.open_table(ITEMS).map_err(internal)?;
        let mut items = Vec::with_capacity(keys.len());
        for key in keys {
            let found = table
                .get((key.pk.as_str(), key.sk.as_str()))
                .map_err(internal)?;
            if let Some(v) = found {
                items.push(Item {
                    attrs: decode(v.value())?,
                    key: key.clone(),
                });
            }
        }
        Ok(items)
    }

    async fn query(&self, query: &RangeQuery) -> StoreResult<QueryPage> {
        if query.limit <= INLINE_READ_LIMIT {
            return page(&self.db, query);
        }
        let query = query.clone();
        self.blocking(move |db| page(db, &query)).await
    }

    async fn count(&self, query: &RangeQuery) -> StoreResult<u64> {
        let mut query = query.clone();
        query.limit = usize::MAX - 1;
        self.blocking(move |db| Ok(read_range(db, &query, true)?.0.len() as u64))
            .await
    }

    async fn allocate(&self, key: &Key, n: u64) -> StoreResult<u64> {
        self.writer.allocate(key.clone(), n).await
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.writer.transact(writes, true).await
    }

    async fn transact_deferred(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.writer.transact(writes, false).await
    }

    /// redb has no limit of its own; this one keeps a commit short for the requests queued
    /// behind it (a chunk of 100 products, ~1,500 writes, is one group).
    fn max_grouped_writes(&self) -> usize {
        MAX_GROUPED_WRITES
    }
}
