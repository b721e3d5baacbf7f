//! The in-process worker's leases: one durable write per [`WINDOW`] chunks instead of two per
//! chunk.
//!
//! Every run of a chunk is counted before it starts (so that a chunk whose runs keep killing
//! the process is given up, `attempts`), and its end is counted into the operation's record
//! (`finish`). Run [`Pace::Synced`] (the cloud's worker, one chunk per delivery), both are
//! durable writes: on the embedded store each waits for a sync of the file, which made most
//! of an import's time. The in-process worker runs an operation's chunks in order, so it
//! instead writes, durably, a *lease* on the next [`WINDOW`] chunks (its operation's `lease`
//! item: where the window ends) before their first starts, then counts their runs and ends
//! them with deferred writes (`Store::transact_deferred`), which the next lease syncs. The
//! operation's last chunk end is always durable: it tells the client the operation ended.
//!
//! A crash then loses deferred writes, never doubles them: they are lost whole and in commit
//! order, so a chunk end survives only with the units it counts, and a chunk whose end is
//! lost is run again and applies only the units whose records are gone (counters stay exact).
//! What a crash can also lose is the count of the run that died. So a run that finds a lease
//! (the embedded store is served by one process: a lease found when an operation's run starts
//! was left by a run that died or was stopped) runs every chunk before that lease's end
//! synced, each run counted durably before it starts, and takes leases again only past it. A
//! chunk whose runs kill the process is counted from its second run on: it is given up after
//! at most one run more than [`super::CHUNK_ATTEMPTS`]. On DynamoDB (where `jsonapi-local`
//! may share the table with another worker) deferred writes are plain ones, and a lease
//! another process holds only makes this one run synced.

use jsonapi_store::{Item, Store, StoreResult, Write};
use serde_json::{Map, Value};

use crate::batch::layout;
use crate::engine::Engine;
use crate::error::ApiResult;

/// How many chunks one lease covers: a sync per 3,200 items of 100-item chunks; a crash
/// redoes at most this many chunks' ends.
const WINDOW: usize = 32;

/// How a run of a chunk is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pace {
    /// Its count before it starts and its end are durable writes.
    Synced,
    /// Both are deferred writes, made durable by the next lease (see the module's notes).
    Leased,
}

impl Pace {
    /// Commits `writes` at this pace.
    pub(super) async fn transact<S: Store>(self, store: &S, writes: Vec<Write>) -> StoreResult<()> {
        match self {
            Self::Synced => store.transact(writes).await,
            Self::Leased => store.transact_deferred(writes).await,
        }
    }
}

impl<S: Store> Engine<S> {
    /// Where the lease an earlier run of operation `id` left ends (0 when none): the chunks
    /// before it are run synced.
    pub(super) async fn synced_until(&self, id: u64) -> ApiResult<usize> {
        Ok(self
            .store
            .get(&layout::lease_key(id))
            .await?
            .and_then(|i| i.attrs.get("end").and_then(Value::as_u64))
            .and_then(|end| usize::try_from(end).ok())
            .unwrap_or(0))
    }

    /// The pace of chunk `n` of operation `id`: synced before `synced_until`, leased past it,
    /// once the lease of the window `n` starts is durable.
    pub(super) async fn pace_of(
        &self,
        id: u64,
        n: usize,
        synced_until: usize,
        expires_at: i64,
    ) -> ApiResult<Pace> {
        if n < synced_until {
            return Ok(Pace::Synced);
        }
        if (n - synced_until).is_multiple_of(WINDOW) {
            let mut attrs = Map::new();
            attrs.insert("end".into(), (n + WINDOW).into());
            attrs.insert(layout::EXPIRES_AT.into(), expires_at.into());
            let item = Item {
                key: layout::lease_key(id),
                attrs,
            };
            let put = Write::Put {
                item,
                condition: None,
            };
            self.store.transact(vec![put]).await?;
        }
        Ok(Pace::Leased)
    }
}
