//! One unit written with its record, or its errors stored in its place.

use std::time::Instant;

use jsonapi_store::{Condition, Item, Store, Write};
use serde_json::{Map, Value};

use super::chunk::Chunk;
use super::errors::ErrorPlace;
use super::worker_ctx;
use crate::batch::layout;
use crate::batch::operation::Counts;
use crate::commit::Steps;
use crate::document::ResourceObject;
use crate::engine::Engine;
use crate::error::{ApiErrors, ApiResult, Source};

impl<S: Store> Engine<S> {
    /// Applies the unit at `place`, or stores why it cannot be; its counters. An atomic
    /// chunk's unit is written in `steps` when it needs more than one transaction.
    pub(super) async fn run_unit(
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
}

/// What a unit's record holds: its place and counters.
pub(super) fn unit_attrs(unit: usize, counts: &Counts, expires_at: i64) -> Map<String, Value> {
    let mut attrs = Map::new();
    attrs.insert("unit".into(), unit.into());
    attrs.insert("summary".into(), counts.to_json());
    attrs.insert(layout::EXPIRES_AT.into(), expires_at.into());
    attrs
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
