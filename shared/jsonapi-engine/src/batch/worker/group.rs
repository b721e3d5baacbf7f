//! Units written many to a transaction, each with its record.

use std::collections::HashMap;
use std::time::Instant;

use jsonapi_store::{Condition, Item, Store, Write, limits};

use super::chunk::Chunk;
use super::unit::unit_attrs;
use super::worker_ctx;
use crate::batch::layout;
use crate::batch::operation::Counts;
use crate::document::{Batch, ResourceObject};
use crate::engine::Engine;

/// About how many store writes an item of a group of units needs: a product of the example
/// domain is about 14 (itself, its unique value, its list and index entries), and its unit's
/// record one more. A group that needs more than its transaction holds is written unit by
/// unit.
pub(super) const WRITES_PER_ITEM: usize = 16;

impl<S: Store> Engine<S> {
    /// Writes a group of units in one transaction with their records; their counters, or
    /// `None` when the group must be written unit by unit instead (an item with problems, too
    /// many writes for one transaction, a unit of it applied already, a store failure: each
    /// unit then gets its own transaction, or its errors).
    pub(super) async fn run_group(
        &self,
        op: u64,
        chunk_n: usize,
        group: &std::ops::Range<usize>,
        chunk: &Chunk,
        batch: &Batch,
    ) -> Option<Vec<Counts>> {
        if group.len() < 2 {
            return None;
        }
        let started = Instant::now();
        let units = &chunk.units[group.clone()];
        let data: Vec<ResourceObject> = units
            .iter()
            .flat_map(|(d, _)| d.iter().map(|&i| batch.primary[i].clone()))
            .collect();
        let included: Vec<ResourceObject> = units
            .iter()
            .flat_map(|(_, inc)| inc.iter().map(|&i| batch.included[i].clone()))
            .collect();
        // Each unit's counters from which `data` items were created (in unit order).
        let counts_of = |created: &[bool]| -> Vec<Counts> {
            // The group's time shared out; the first unit takes what does not divide (a
            // group of 100 products takes less than 100 ms, which would all round to 0).
            let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let share = elapsed / group.len() as u64;
            let rest = elapsed - share * group.len() as u64;
            let mut at = 0;
            units
                .iter()
                .enumerate()
                .map(|(k, (d, _))| {
                    let read = d.len() as u64;
                    let create = (at..at + d.len())
                        .filter(|&i| created.get(i).copied().unwrap_or(false))
                        .count() as u64;
                    at += d.len();
                    Counts {
                        read,
                        write: read,
                        create,
                        update: read - create,
                        error: 0,
                        aggregate_ms: if k == 0 { share + rest } else { share },
                    }
                })
                .collect()
        };
        let records = |created: &[bool]| -> Vec<Write> {
            counts_of(created)
                .iter()
                .zip(group.clone())
                .map(|(c, u)| Write::Put {
                    item: Item {
                        key: layout::unit_key(op, chunk_n, u),
                        attrs: unit_attrs(u, c, chunk.expires_at),
                    },
                    condition: Some(Condition::Absent),
                })
                .collect()
        };
        let written = self
            .write_batch(&worker_ctx(), &data, &included, Some(&records), None)
            .await;
        match written {
            Ok(Some(written)) => {
                let created: Vec<bool> = written.items.iter().map(|i| i.2).collect();
                Some(counts_of(&created))
            }
            Ok(None) => None,
            Err(errors) => {
                tracing::debug!(?errors, "a group of batch units is written unit by unit");
                None
            }
        }
    }
}

/// The end of the group of units starting at `start`: the units after it not applied yet, up
/// to `max_items` items (a unit larger than that is a group of its own). In a group past the
/// common transaction limit only units of one item are grouped (each resource's writes are
/// held to the common limit when such a group is written): a unit of more is a group of its
/// own, refused on every store alike when it needs more than one transaction.
pub(super) fn group_end(
    units: &[(Vec<usize>, Vec<usize>)],
    done: &HashMap<usize, Counts>,
    start: usize,
    max_items: usize,
) -> usize {
    let past_common = max_items > limits::MAX_TRANSACTION_WRITES / WRITES_PER_ITEM;
    let mut items = 0;
    let mut end = start;
    while let Some((d, i)) = units.get(end) {
        let size = d.len() + i.len();
        let alone = past_common && size > 1;
        if done.contains_key(&end) || (end > start && (alone || items + size > max_items)) {
            break;
        }
        items += size;
        end += 1;
        if alone {
            break;
        }
    }
    end
}
