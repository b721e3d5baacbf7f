//! A chunk run unit by unit (in groups where it can), skipping the units an earlier run applied.

use std::collections::HashMap;

use jsonapi_store::{Item, RangeQuery, Store};
use serde_json::Value;

use super::errors::ErrorPlace;
use super::group::{WRITES_PER_ITEM, group_end};
use super::lease::Pace;
use crate::batch::layout;
use crate::batch::operation::Counts;
use crate::document::{ResourceObject, parse_chunk};
use crate::engine::Engine;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::failpoint::{Failpoint, failpoint};

impl<S: Store> Engine<S> {
    /// Run `attempt` of chunk `n` (see [`Self::run_chunk`]).
    pub(super) async fn apply_chunk(
        &self,
        id: u64,
        (n, attempt): (usize, u64),
        item: &Item,
        stopped: Option<&tokio::sync::watch::Receiver<bool>>,
        pace: Pace,
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
        let batch = parse_chunk(chunk.body.as_bytes())?;
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
        self.finish_chunk(id, key, &chunk, counts, false, pace)
            .await?;
        Ok(true)
    }

    /// The counters of the units of a chunk already applied (or failed), by unit.
    pub(super) async fn units_done(
        &self,
        op: u64,
        chunk: usize,
    ) -> ApiResult<HashMap<usize, Counts>> {
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
}
