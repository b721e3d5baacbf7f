//! A chunk's runs: each counted before it starts, and the chunk given up once they are spent.

use jsonapi_store::{Condition, Item, Key, Store, Write};
use serde_json::Value;

use super::errors::ErrorPlace;
use super::lease::Pace;
use super::{CHUNK_ATTEMPTS, FINISH_ATTEMPTS};
use crate::batch::layout;
use crate::batch::operation::Counts;
use crate::engine::Engine;
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind};

impl<S: Store> Engine<S> {
    /// Runs chunk `n` of an operation unless it is done, and adds its counters to the
    /// operation's; `false` when told to stop before its end (its units applied so far are
    /// kept, and not applied again).
    pub(super) async fn run_chunk(
        &self,
        id: u64,
        n: usize,
        stopped: Option<&tokio::sync::watch::Receiver<bool>>,
        pace: Pace,
    ) -> ApiResult<bool> {
        let key = layout::chunk_key(id, n);
        let Some((item, attempt)) = self.count_attempt(&key, pace).await? else {
            // Done, or expired and deleted with its operation.
            return Ok(true);
        };
        if attempt > CHUNK_ATTEMPTS {
            // The run before was cut short (a timeout, a crash) with no budget left.
            self.give_up(id, n, &item).await?;
            return Ok(true);
        }
        match self
            .apply_chunk(id, (n, attempt), &item, stopped, pace)
            .await
        {
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
    /// `None` when the chunk is done or gone. Durable unless the run is leased (`lease`).
    async fn count_attempt(&self, key: &Key, pace: Pace) -> ApiResult<Option<(Item, u64)>> {
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
            match pace.transact(&*self.store, vec![put]).await {
                Ok(()) => return Ok(Some((item, attempt))),
                Err(jsonapi_store::StoreError::ConditionFailed { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::internal(&"a batch chunk is being run by many workers at once").into())
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
        self.finish_chunk(id, item.key.clone(), &chunk, counts, true, Pace::Synced)
            .await
    }
}
