//! Writers that lost a race for one item take turns, in this process, instead of racing again.
//!
//! Every write is optimistic: it reads, then commits a transaction conditioned on what it read,
//! and is re-run when a concurrent write changed that. With many writers on one item (forty
//! adds to one user's roles, line items moved into one order) each round of re-runs has one
//! winner, and every loser's reads and transaction are wasted work for the store, which slows
//! the next round down. So a write whose condition failed on an item waits for its turn on that
//! item before it runs again: the losers of this process go one at a time (a newcomer can still
//! win a race against the one whose turn it is, which then simply goes again). Other processes
//! (other Lambda instances) are not queued; their writes stay correct through the conditions
//! and back off at random.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonapi_store::Key;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// The queues of the items writers conflicted on; an item's queue exists while someone holds
/// or waits for a turn on it.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    queues: Mutex<HashMap<Key, Arc<AsyncMutex<()>>>>,
}

/// A turn on an item: writers that conflicted on it wait until it is dropped.
#[derive(Debug)]
pub(crate) struct Turn<'t> {
    turns: &'t Turns,
    key: Key,
    _guard: OwnedMutexGuard<()>,
}

impl Turns {
    /// Waits for a turn on `key`.
    pub(crate) async fn take(&self, key: Key) -> Turn<'_> {
        let queue = Arc::clone(
            self.queues
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(key.clone())
                .or_default(),
        );
        Turn {
            turns: self,
            key,
            _guard: queue.lock_owned().await,
        }
    }

    /// How many items have a queue (for tests: queues do not outlive their writers).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.queues.lock().map_or(0, |q| q.len())
    }
}

impl Turn<'_> {
    /// The item this turn is on.
    pub(crate) fn key(&self) -> &Key {
        &self.key
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut queues = self
            .turns
            .queues
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Held by the map and by this turn's guard only: nobody waits, the queue goes. Queues
        // are cloned under this same lock, so nobody can start waiting in between.
        if queues
            .get(&self.key)
            .is_some_and(|q| Arc::strong_count(q) <= 2)
        {
            queues.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_writer_at_a_time_per_item_and_no_queue_left_behind() {
        let turns = Arc::new(Turns::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (turns, inside, most) = (turns.clone(), inside.clone(), most.clone());
            tasks.spawn(async move {
                let _turn = turns.take(Key::new("orders#1", "#")).await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(1)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            });
        }
        // Another item is not held up by the first one's queue.
        let other = turns.take(Key::new("orders#2", "#")).await;
        assert_eq!(other.key(), &Key::new("orders#2", "#"));
        drop(other);
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert_eq!(turns.len(), 0);
    }
}
