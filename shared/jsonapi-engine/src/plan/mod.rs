//! The query planner: answers a filtered, sorted page from one index's key ranges, never by
//! scanning a type without a key condition.
//!
//! Every indexed predicate is a candidate: the listing (for `id`) or a field's index, with the
//! key ranges that hold its matches. The planner picks, in order of preference:
//! 1. an index on the first sort field that also serves a predicate: the ranges come out in
//!    the requested order, so a page costs one range read plus one batch read of the items;
//! 2. an equality on one value when sorting by id: within one value the index is in id order;
//! 3. a selective predicate (an equality, a list) whose index is not in the requested order:
//!    every match is read and sorted in memory (bounded by [`MAX_SORTED_IN_MEMORY`]);
//! 4. the sort field's index, whole: items are read in order and the predicates are checked on
//!    them until the page is full.
//!
//! Every predicate is checked on the fetched items in all plans, so index keys only ever need
//! to hold a superset of the matches. Where an index key was cut from a long value, the
//! entries sharing it are read together and ordered by their stored values in memory.
//!
//! A page ends at a [`Position`]: the last resource's sort keys and id key, whatever the plan.
//! Cursors carry it, and the next page starts strictly after it in the sort order, so a walk
//! sees every resource present throughout exactly once while others come and go.

mod execute;
mod keys;
mod pick;

use std::cmp::Ordering;
use std::ops::Bound;

use jsonapi_config::{ResourceType, Schema};
use jsonapi_store::RangeQuery;
use serde_json::Value;

use crate::filter::{Field, Predicate};
use crate::query::SortKey;
use crate::resource::{Resource, id_key};
use crate::values;
pub(crate) use keys::KeyOrder;
pub(crate) use pick::plan;

/// Most matches sorted in memory when no index is in the requested order (and most entries
/// sharing one cut value key).
pub(crate) const MAX_SORTED_IN_MEMORY: usize = 10_000;

/// One key range of an index.
pub(crate) type KeyRange = (Bound<String>, Bound<String>);

/// One index and the ranges of it to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    pub(crate) pk: String,
    /// How many shards `pk` is spread over (see [`crate::shards`]).
    pub(crate) shards: u32,
    /// Ascending, non-overlapping.
    pub(crate) ranges: Vec<KeyRange>,
}

impl Scan {
    /// A forward read of one of its ranges.
    pub(crate) fn range_query(
        &self,
        lo: &Bound<String>,
        hi: &Bound<String>,
        limit: usize,
    ) -> RangeQuery {
        RangeQuery {
            pk: self.pk.clone(),
            from: lo.clone(),
            to: hi.clone(),
            reverse: false,
            limit,
            after: None,
        }
    }
}

/// How a collection is read.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) scan: Scan,
    /// How the scan's entries are keyed when it yields the requested order (reading it
    /// backwards when `reverse`); `None`: the matches are sorted in memory.
    pub(crate) order: Option<KeyOrder>,
    pub(crate) reverse: bool,
    /// Checked on every fetched resource.
    pub(crate) predicates: Vec<Predicate>,
    pub(crate) sort: Vec<SortKey>,
    /// The ranges hold exactly the matches, so the store can count them.
    pub(crate) exact: bool,
    /// For an in-memory plan: the ordered plan to use instead when its ranges hold more than
    /// [`PROBE_LIMIT`] ids (reading them all would cost more than scanning the sort index).
    pub(crate) fallback: Option<Box<Plan>>,
}

/// The most matches an in-memory plan reads when an ordered plan is available.
pub(crate) const PROBE_LIMIT: usize = 200;

/// Where a resource stands in a sort: the key of each sort field, then its id key (keys order
/// like the values, see [`crate::values`]). It names the same place whichever plan reads the
/// collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position(pub(crate) Vec<String>);

impl Position {
    /// The position of a resource under `sort`.
    pub(crate) fn of(schema: &Schema, ty: &ResourceType, sort: &[SortKey], r: &Resource) -> Self {
        Self(
            sort.iter()
                .map(|(field, _)| sort_key(schema, ty, field, r))
                .chain(std::iter::once(id_key(ty, &r.id)))
                .collect(),
        )
    }

    fn id_key(&self) -> &str {
        self.0.last().map_or("", String::as_str)
    }
}

/// The order of two positions under `sort`, ties by id in the direction of the first key.
pub(crate) fn compare(sort: &[SortKey], a: &Position, b: &Position) -> Ordering {
    for (i, (_, desc)) in sort.iter().enumerate() {
        let o = a.0[i].cmp(&b.0[i]);
        if o != Ordering::Equal {
            return if *desc { o.reverse() } else { o };
        }
    }
    let o = a.id_key().cmp(b.id_key());
    if sort.first().is_some_and(|(_, d)| *d) {
        o.reverse()
    } else {
        o
    }
}

/// One page of a plan's results.
#[derive(Debug)]
pub(crate) struct PlanPage {
    pub(crate) resources: Vec<Resource>,
    /// Positions of the first and last resource (for cursors).
    pub(crate) first: Option<Position>,
    pub(crate) last: Option<Position>,
    /// More matches follow the page (in the reading direction).
    pub(crate) more: bool,
}

/// Which slice of the results is wanted.
#[derive(Debug, Clone)]
pub(crate) enum Window {
    /// Skip this many, take `limit`.
    Offset { skip: usize, limit: usize },
    /// `limit` strictly after (or, `backwards`, before) a position.
    Cursor {
        from: Option<Position>,
        backwards: bool,
        limit: usize,
    },
}

fn sort_key(schema: &Schema, ty: &ResourceType, field: &Field, r: &Resource) -> String {
    match field {
        Field::Id => id_key(ty, &r.id),
        Field::Attribute(name, dt) => {
            values::sort_keys(*dt, r.attributes.get(name).unwrap_or(&Value::Null))
                .into_iter()
                .next()
                .unwrap_or_default()
        }
        Field::Relationship(name, _) => match (r.related(name), schema.related(ty, name)) {
            (Some(id), Some(target)) => format!("1{}", id_key(target, id)),
            _ => "0".to_owned(),
        },
    }
}
