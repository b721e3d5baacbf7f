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
//! to hold a superset of the matches.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::ops::Bound;

use jsonapi_config::{Operator, ResourceType, Schema};
use jsonapi_store::{RangeQuery, Store};
use serde_json::Value;

use crate::engine::Engine;
use crate::error::{ApiError, ApiResult, title};
use crate::filter::{Field, Operand, Predicate};
use crate::query::SortKey;
use crate::resource::{self, Resource, id_key, indexed_fields};
use crate::values;

/// Most matches sorted in memory when no index is in the requested order.
pub(crate) const MAX_SORTED_IN_MEMORY: usize = 10_000;

/// One index and the ranges of it to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    pub(crate) pk: String,
    /// Ascending, non-overlapping.
    pub(crate) ranges: Vec<(Bound<String>, Bound<String>)>,
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
    /// The scan yields the requested order (reading it backwards when `reverse`).
    pub(crate) ordered: bool,
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

/// A position in a plan's results, carried by cursors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Position {
    /// After (or before) this index key, in range `range`.
    Key { range: usize, key: String },
    /// An offset into the in-memory order.
    Offset(usize),
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
    /// `limit` after (or, `backwards`, before) a position.
    Cursor {
        from: Option<Position>,
        backwards: bool,
        limit: usize,
    },
}

fn selectivity(p: &Predicate) -> u8 {
    match (&p.op, &p.operand) {
        (Operator::Eq, Operand::One(_)) => 3,
        (Operator::Eq | Operator::Contains, Operand::List(_))
        | (Operator::Contains, Operand::One(_)) => 2,
        (Operator::Exists, Operand::Flag(false)) => 2,
        _ => 1,
    }
}

/// Plans a read of `ty` resources matching every predicate, in `sort` order (empty = by id).
pub(crate) fn plan(
    schema: &Schema,
    ty: &ResourceType,
    predicates: Vec<Predicate>,
    sort: Vec<SortKey>,
) -> Plan {
    let sort = if sort.is_empty() {
        vec![(Field::Id, false)]
    } else {
        sort
    };
    let indexed = indexed_fields(ty);
    let index_of = |field: &Field| -> Option<String> {
        match field {
            Field::Id => Some(resource::listing_pk(&ty.name)),
            f => f
                .name()
                .filter(|n| indexed.contains(n))
                .map(|n| resource::index_pk(&ty.name, n)),
        }
    };
    let target_of = |field: &Field| match field {
        Field::Relationship(rel, _) => schema
            .resource_type(&ty.relationships[rel].target)
            .map(|t| &**t),
        _ => None,
    };
    let (first_field, desc) = sort[0].clone();
    // A second sort key other than id (in the same direction) cannot come from one index.
    let single_key = sort.len() == 1 || (sort.len() == 2 && sort[1] == (Field::Id, desc));
    let candidates: Vec<(usize, Scan, u8)> = predicates
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let pk = index_of(&p.field)?;
            let ranges = p.ranges(ty, target_of(&p.field))?;
            Some((i, Scan { pk, ranges }, selectivity(p)))
        })
        .collect();
    let whole_sort_index = Scan {
        pk: index_of(&first_field).unwrap_or_else(|| resource::listing_pk(&ty.name)),
        ranges: vec![(Bound::Unbounded, Bound::Unbounded)],
    };
    // Only a lone predicate can be served exactly (a count of keys); a "holds all" list
    // reads the range of one of its values.
    let exact_if = |i: usize| {
        predicates.len() == 1
            && i == 0
            && !matches!(predicates[0].operand, Operand::List(_) if predicates[0].op == Operator::Contains)
    };
    let best = candidates.iter().max_by_key(|(_, _, s)| *s);
    // (scan, in the requested order, exact, the ordered scan to fall back on)
    let (scan, ordered, exact, fallback) = if let Some(scan) = single_key
        .then(|| composite_scan(ty, &predicates, &first_field, &target_of))
        .flatten()
    {
        // 0. a composite index: an equality on its first field, sorted by its second.
        (scan, true, false, None)
    } else if let Some((i, scan, _)) = candidates
        .iter()
        .filter(|(i, _, _)| single_key && predicates[*i].field == first_field)
        .max_by_key(|(_, _, s)| *s)
    {
        // 1. the sort field's index serves a predicate.
        (scan.clone(), true, exact_if(*i), None)
    } else if let Some((i, scan, 3)) = best
        && single_key
        && first_field == Field::Id
        && scan.ranges.len() == 1
    {
        // 2. one value's range is in id order.
        (scan.clone(), true, exact_if(*i), None)
    } else if let Some((i, scan, s)) = best
        && (*s >= 2 || !single_key)
    {
        // 3. a selective predicate, sorted in memory; when it matches many, step 4 instead.
        let fallback = single_key.then(|| whole_sort_index.clone());
        (scan.clone(), false, exact_if(*i), fallback)
    } else if single_key {
        // 4. the sort field's index, whole (the listing when sorting by id).
        let exact = predicates.is_empty();
        (whole_sort_index, true, exact, None)
    } else {
        // Several sort keys and no usable predicate: every resource, sorted in memory.
        let exact = predicates.is_empty();
        (whole_sort_index, false, exact, None)
    };
    let fallback = fallback.map(|scan| {
        Box::new(Plan {
            scan,
            ordered: true,
            reverse: desc,
            predicates: predicates.clone(),
            sort: sort.clone(),
            exact: false,
            fallback: None,
        })
    });
    Plan {
        scan,
        ordered,
        reverse: ordered && desc,
        predicates,
        sort,
        exact,
        fallback,
    }
}

/// The range of a composite index `[lead, second]` when an equality on `lead` is given and
/// the sort is by `second` (narrowed by a range on `second` when one is given).
fn composite_scan<'a>(
    ty: &ResourceType,
    predicates: &[Predicate],
    sort_field: &Field,
    target_of: &dyn Fn(&Field) -> Option<&'a ResourceType>,
) -> Option<Scan> {
    ty.indexes.iter().find_map(|[lead, second]| {
        if sort_field.name() != Some(second.as_str()) {
            return None;
        }
        let prefix = predicates
            .iter()
            .find(|p| p.field.name() == Some(lead.as_str()))
            .and_then(|p| p.point_key(ty, target_of(&p.field)))?;
        let prefix = format!("{prefix}{}", crate::values::SEPARATOR);
        let within = |b: &Bound<String>, end: bool| match b {
            Bound::Included(k) => Bound::Included(format!("{prefix}{k}")),
            Bound::Excluded(k) => Bound::Excluded(format!("{prefix}{k}")),
            Bound::Unbounded if end => {
                jsonapi_store::prefix_end(&prefix).map_or(Bound::Unbounded, Bound::Excluded)
            }
            Bound::Unbounded => Bound::Included(prefix.clone()),
        };
        let ranges = predicates
            .iter()
            .find(|p| p.field == *sort_field)
            .and_then(|p| p.ranges(ty, target_of(&p.field)))
            .unwrap_or_else(|| vec![(Bound::Unbounded, Bound::Unbounded)])
            .iter()
            .map(|(lo, hi)| (within(lo, false), within(hi, true)))
            .collect();
        Some(Scan {
            pk: resource::composite_pk(&ty.name, lead, second),
            ranges,
        })
    })
}

impl Plan {
    /// A short description of the plan, bound into cursors so they only work for this query.
    pub(crate) fn fingerprint(&self) -> String {
        format!(
            "{:?}|{:?}|{}|{:?}|{:?}",
            self.scan, self.sort, self.ordered, self.predicates, self.reverse
        )
    }
}

/// The order of two resources under `sort`, ties by id in the direction of the first key.
fn compare(
    schema: &Schema,
    ty: &ResourceType,
    sort: &[SortKey],
    a: &Resource,
    b: &Resource,
) -> Ordering {
    for (field, desc) in sort {
        let ka = sort_key(schema, ty, field, a);
        let kb = sort_key(schema, ty, field, b);
        let o = ka.cmp(&kb);
        if o != Ordering::Equal {
            return if *desc { o.reverse() } else { o };
        }
    }
    let o = id_key(ty, &a.id).cmp(&id_key(ty, &b.id));
    if sort.first().is_some_and(|(_, d)| *d) {
        o.reverse()
    } else {
        o
    }
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
        Field::Relationship(name, _) => match r.related(name) {
            Some(id) => {
                let target = schema
                    .resource_type(&ty.relationships[name].target)
                    .expect("checked target");
                format!("1{}", id_key(target, id))
            }
            None => "0".to_owned(),
        },
    }
}

impl<S: Store> Engine<S> {
    /// The plan to run: an in-memory plan whose ranges hold too many ids gives way to its
    /// ordered fallback (one probing range read decides).
    pub(crate) async fn choose(&self, plan: Plan) -> ApiResult<Plan> {
        let Some(fallback) = &plan.fallback else {
            return Ok(plan);
        };
        let mut total = 0;
        for (lo, hi) in &plan.scan.ranges {
            let query = plan.scan.range_query(lo, hi, PROBE_LIMIT + 1);
            let (ids, more) = self.range_ids(query, 0, PROBE_LIMIT + 1 - total).await?;
            total += ids.len();
            if more || total > PROBE_LIMIT {
                return Ok((**fallback).clone());
            }
        }
        Ok(plan)
    }

    /// Whether a resource passes every predicate of a plan.
    async fn passes(&self, ty: &ResourceType, plan: &Plan, r: &Resource) -> ApiResult<bool> {
        for p in &plan.predicates {
            let many = match &p.field {
                Field::Relationship(name, true) => Some(self.to_many_ids(ty, r, name).await?),
                _ => None,
            };
            let lookup = |_: &str| many.clone().unwrap_or_default();
            if !p.matches(ty, r, &lookup) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Every id of a to-many relationship (owned or inverse), for filtering.
    async fn to_many_ids(
        &self,
        ty: &ResourceType,
        r: &Resource,
        rel: &str,
    ) -> ApiResult<Vec<String>> {
        Ok(match &ty.relationships[rel].storage {
            jsonapi_config::RelationshipStorage::Owned => {
                r.to_many.get(rel).cloned().unwrap_or_default()
            }
            jsonapi_config::RelationshipStorage::InverseOf { field } => {
                let target = self.target_of(ty, rel);
                self.inverse_ids(ty, &r.id, target, field, 0, self.schema.api.max_related)
                    .await?
                    .0
            }
        })
    }

    /// Reads one page of a plan.
    pub(crate) async fn execute(
        &self,
        ty: &ResourceType,
        plan: &Plan,
        window: Window,
    ) -> ApiResult<PlanPage> {
        if plan.ordered {
            self.execute_ordered(ty, plan, window).await
        } else {
            self.execute_in_memory(ty, plan, window).await
        }
    }

    async fn execute_ordered(
        &self,
        ty: &ResourceType,
        plan: &Plan,
        window: Window,
    ) -> ApiResult<PlanPage> {
        let (skip, limit, from, backwards) = match window {
            Window::Offset { skip, limit } => (skip, limit, None, false),
            Window::Cursor {
                from,
                backwards,
                limit,
            } => (0, limit, from, backwards),
        };
        if limit == 0 {
            return Ok(PlanPage {
                resources: Vec::new(),
                first: None,
                last: None,
                more: false,
            });
        }
        let reverse = plan.reverse != backwards;
        let (mut range, mut after) = match from {
            Some(Position::Key { range, key }) => (range, Some(key)),
            _ => (
                if reverse {
                    plan.scan.ranges.len().saturating_sub(1)
                } else {
                    0
                },
                None,
            ),
        };
        let mut found: Vec<(Resource, Position)> = Vec::new();
        let mut seen = HashSet::new();
        let mut skipped = 0;
        while let Some((lo, hi)) = plan.scan.ranges.get(range) {
            let needed = skip - skipped + limit + 1 - found.len();
            // When items may fail the predicates, read ahead: a batch read of a hundred items
            // costs one round trip, like a batch read of ten.
            let want = if plan.exact { needed } else { needed.max(100) }.clamp(1, 1000);
            let query = RangeQuery {
                pk: plan.scan.pk.clone(),
                from: lo.clone(),
                to: hi.clone(),
                reverse,
                limit: want,
                after: after.clone(),
            };
            let page = self.store.query(&query).await?;
            let entries: Vec<(String, String)> = page
                .items
                .iter()
                .filter_map(|i| Some((i.key.sk.clone(), i.attrs.get("id")?.as_str()?.to_owned())))
                .collect();
            let ids: Vec<String> = entries
                .iter()
                .map(|(_, id)| id.clone())
                .filter(|id| !seen.contains(id))
                .collect();
            let loaded = self.load_many(ty, &ids).await?;
            for (key, id) in &entries {
                if !seen.insert(id.clone()) {
                    continue;
                }
                let Some(r) = loaded.iter().find(|r| &r.id == id) else {
                    continue;
                };
                if !self.passes(ty, plan, r).await? {
                    continue;
                }
                if skipped < skip {
                    skipped += 1;
                    continue;
                }
                found.push((
                    r.clone(),
                    Position::Key {
                        range,
                        key: key.clone(),
                    },
                ));
                if found.len() > limit {
                    break;
                }
            }
            if found.len() > limit {
                break;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => {
                    after = None;
                    if reverse {
                        if range == 0 {
                            break;
                        }
                        range -= 1;
                    } else {
                        range += 1;
                    }
                }
            }
        }
        let more = found.len() > limit;
        found.truncate(limit);
        if backwards {
            found.reverse();
        }
        Ok(PlanPage {
            first: found.first().map(|(_, p)| p.clone()),
            last: found.last().map(|(_, p)| p.clone()),
            resources: found.into_iter().map(|(r, _)| r).collect(),
            more,
        })
    }

    async fn execute_in_memory(
        &self,
        ty: &ResourceType,
        plan: &Plan,
        window: Window,
    ) -> ApiResult<PlanPage> {
        let mut ids = Vec::new();
        let mut seen = HashSet::new();
        for (lo, hi) in &plan.scan.ranges {
            let query = plan.scan.range_query(lo, hi, 1000);
            let (range_ids, more) = self
                .range_ids(query, 0, MAX_SORTED_IN_MEMORY + 1 - ids.len())
                .await?;
            ids.extend(range_ids.into_iter().filter(|id| seen.insert(id.clone())));
            if more || ids.len() > MAX_SORTED_IN_MEMORY {
                return Err(ApiError::bad_request(
                    title::SORT,
                    format!(
                        "More than {MAX_SORTED_IN_MEMORY} resources match and no index serves this filter with this sort; narrow the filter, or sort by the filtered field or by id."
                    ),
                )
                .param("sort")
                .into());
            }
        }
        let mut matches = Vec::new();
        for r in self.load_many(ty, &ids).await? {
            if self.passes(ty, plan, &r).await? {
                matches.push(r);
            }
        }
        matches.sort_by(|a, b| compare(&self.schema, ty, &plan.sort, a, b));
        let total = matches.len();
        let (start, end, more) = match window {
            Window::Offset { skip, limit } => (
                skip.min(total),
                skip.saturating_add(limit).min(total),
                skip.saturating_add(limit) < total,
            ),
            Window::Cursor {
                from,
                backwards: false,
                limit,
            } => {
                let start = match from {
                    Some(Position::Offset(o)) => o + 1,
                    _ => 0,
                }
                .min(total);
                (start, (start + limit).min(total), start + limit < total)
            }
            Window::Cursor {
                from,
                backwards: true,
                limit,
            } => {
                let end = match from {
                    Some(Position::Offset(o)) => o.min(total),
                    _ => total,
                };
                let start = end.saturating_sub(limit);
                (start, end, start > 0)
            }
        };
        let resources: Vec<Resource> = matches.drain(start..end).collect();
        Ok(PlanPage {
            first: (!resources.is_empty()).then_some(Position::Offset(start)),
            last: (!resources.is_empty()).then(|| Position::Offset(end - 1)),
            resources,
            more,
        })
    }

    /// How many resources match a plan: counted by the store when the ranges are exact,
    /// otherwise by reading the matches.
    pub(crate) async fn count(&self, ty: &ResourceType, plan: &Plan) -> ApiResult<u64> {
        if plan.exact {
            let mut total = 0;
            for (lo, hi) in &plan.scan.ranges {
                let query = plan.scan.range_query(lo, hi, 1);
                total += self.store.count(&query).await?;
            }
            return Ok(total);
        }
        let mut unbounded = plan.clone();
        unbounded.ordered = true;
        unbounded.reverse = false;
        let page = self
            .execute_ordered(
                ty,
                &unbounded,
                Window::Offset {
                    skip: 0,
                    limit: usize::MAX / 4,
                },
            )
            .await?;
        Ok(page.resources.len() as u64)
    }
}
