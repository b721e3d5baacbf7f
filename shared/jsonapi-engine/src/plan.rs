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

use std::cmp::Ordering;
use std::collections::HashSet;
use std::ops::Bound;

use jsonapi_config::{Operator, ResourceType, Schema};
use jsonapi_store::limits::MAX_BATCH_GET;
use jsonapi_store::{RangeQuery, Store, prefix_end};
use serde_json::Value;

use crate::engine::Engine;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::filter::{Field, KeyRanges, Operand, Predicate};
use crate::query::SortKey;
use crate::resource::{self, Resource, id_key, indexed_fields};
use crate::shards;
use crate::values::{self, PAIRED_VALUE_KEY_BYTES, SEPARATOR, VALUE_KEY_BYTES, index_key, is_cut};

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

/// How the entries of a scan that is in the requested order are keyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyOrder {
    /// `{prefix}{id key}`: the listing (empty prefix), or one value's entries of an index.
    Id { prefix: String },
    /// `{prefix}{cut value key of the first sort field}\u{1}{id key}`: a field's index (empty
    /// prefix), or a composite index within one value of its first field.
    Value { prefix: String, budget: usize },
}

impl KeyOrder {
    /// The sort key of the index entry of a resource at `position`.
    fn entry_key(&self, position: &Position) -> String {
        match self {
            Self::Id { prefix } => format!("{prefix}{}", position.id_key()),
            Self::Value { prefix, budget } => format!(
                "{prefix}{}{SEPARATOR}{}",
                index_key(&position.0[0], *budget),
                position.id_key()
            ),
        }
    }

    /// For an entry whose value key was cut: the prefix every entry of its group starts with.
    fn group_of(&self, entry_key: &str) -> Option<String> {
        let Self::Value { prefix, budget } = self else {
            return None;
        };
        let value = entry_key
            .strip_prefix(prefix.as_str())?
            .split(SEPARATOR)
            .next()?;
        is_cut(value, *budget).then(|| format!("{prefix}{value}{SEPARATOR}"))
    }

    /// Where reading resumes after `position` (in the reading direction): just past its entry,
    /// or at the start of its group when its value key was cut (the group is then ordered in
    /// memory and what precedes the position is dropped).
    fn resume_at(&self, position: &Position, reverse: bool) -> Bound<String> {
        let entry = self.entry_key(position);
        match (self.group_of(&entry), reverse) {
            (None, _) => Bound::Excluded(entry),
            (Some(group), false) => Bound::Included(group),
            (Some(group), true) => group_end(&group),
        }
    }
}

/// The upper bound of a group's entries.
fn group_end(group: &str) -> Bound<String> {
    prefix_end(group).map_or(Bound::Unbounded, Bound::Excluded)
}

/// Where reading resumes once a group is read: past it in the reading direction.
fn past_group(group: &str, reverse: bool) -> Bound<String> {
    if reverse {
        Bound::Excluded(group.to_owned())
    } else {
        match group_end(group) {
            Bound::Excluded(end) => Bound::Included(end),
            other => other,
        }
    }
}

/// Of two lower bounds the higher (`keep` = `Greater`), of two upper bounds the lower (`Less`).
fn tighter(a: Bound<String>, b: Bound<String>, keep: Ordering) -> Bound<String> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            match x.cmp(y) {
                Ordering::Equal if matches!(a, Bound::Excluded(_)) => a,
                Ordering::Equal => b,
                o if o == keep => a,
                _ => b,
            }
        }
    }
}

/// The part of `range` from `start` on, in the reading direction.
fn from_start(range: &KeyRange, start: Option<&Bound<String>>, reverse: bool) -> KeyRange {
    let (lo, hi) = range.clone();
    match start {
        None => (lo, hi),
        Some(s) if reverse => (lo, tighter(hi, s.clone(), Ordering::Less)),
        Some(s) => (tighter(lo, s.clone(), Ordering::Greater), hi),
    }
}

/// Whether no key lies within a range.
fn is_empty((lo, hi): &KeyRange) -> bool {
    match (lo, hi) {
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            a > b || (a == b && !matches!((lo, hi), (Bound::Included(_), Bound::Included(_))))
        }
        _ => false,
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

/// A page being filled, in the reading direction.
struct Fill<'a> {
    sort: &'a [SortKey],
    skip: usize,
    limit: usize,
    from: Option<Position>,
    backwards: bool,
    skipped: usize,
    found: Vec<(Resource, Position)>,
}

impl<'a> Fill<'a> {
    fn new(sort: &'a [SortKey], window: Window) -> Self {
        let (skip, limit, from, backwards) = match window {
            Window::Offset { skip, limit } => (skip, limit, None, false),
            Window::Cursor {
                from,
                backwards,
                limit,
            } => (0, limit, from, backwards),
        };
        Self {
            sort,
            skip,
            limit,
            from,
            backwards,
            skipped: 0,
            found: Vec::new(),
        }
    }

    /// Entries still wanted: the rest of the page and one more (to know whether more follow).
    fn wanted(&self) -> usize {
        (self.skip - self.skipped)
            .saturating_add(self.limit)
            .saturating_add(1)
            .saturating_sub(self.found.len())
    }

    /// Takes the next resource in the reading direction; `true` once the page and one more
    /// are found.
    fn take(&mut self, r: Resource, position: Position) -> bool {
        if let Some(from) = &self.from {
            let o = compare(self.sort, &position, from);
            if !(if self.backwards { o.is_lt() } else { o.is_gt() }) {
                return false;
            }
        }
        if self.skipped < self.skip {
            self.skipped += 1;
            return false;
        }
        self.found.push((r, position));
        self.found.len() > self.limit
    }

    fn finish(mut self) -> PlanPage {
        let more = self.found.len() > self.limit;
        self.found.truncate(self.limit);
        if self.backwards {
            self.found.reverse();
        }
        PlanPage {
            first: self.found.first().map(|(_, p)| p.clone()),
            last: self.found.last().map(|(_, p)| p.clone()),
            resources: self.found.into_iter().map(|(r, _)| r).collect(),
            more,
        }
    }
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
        Field::Relationship(rel, _) => schema.related(ty, rel).map(|t| &**t),
        _ => None,
    };
    let (first_field, desc) = sort[0].clone();
    let sort_index = index_of(&first_field);
    // A second sort key other than id (in the same direction), or a first one without an
    // index (a text attribute), cannot come from one index.
    let single_key = sort_index.is_some()
        && (sort.len() == 1 || (sort.len() == 2 && sort[1] == (Field::Id, desc)));
    // How the sort field's own index (or the listing) is keyed.
    let sort_order = || {
        if first_field == Field::Id {
            KeyOrder::Id {
                prefix: String::new(),
            }
        } else {
            KeyOrder::Value {
                prefix: String::new(),
                budget: VALUE_KEY_BYTES,
            }
        }
    };
    let candidates: Vec<(usize, Scan, u8, bool)> = predicates
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let pk = index_of(&p.field)?;
            let KeyRanges { ranges, exact } = p.ranges(ty, target_of(&p.field), VALUE_KEY_BYTES)?;
            let scan = Scan {
                pk,
                shards: ty.shards,
                ranges,
            };
            Some((i, scan, selectivity(p), exact))
        })
        .collect();
    let whole_sort_index = Scan {
        pk: sort_index.unwrap_or_else(|| resource::listing_pk(&ty.name)),
        shards: ty.shards,
        ranges: vec![(Bound::Unbounded, Bound::Unbounded)],
    };
    // Only a lone predicate can be served exactly (a count of keys).
    let exact_if = |exact: bool| predicates.len() == 1 && exact;
    let best = candidates.iter().max_by_key(|(_, _, s, _)| *s);
    // (scan, how it is keyed when in the requested order, exact, the ordered scan to fall
    // back on)
    let (scan, order, exact, fallback) = if let Some((scan, prefix)) = single_key
        .then(|| composite_scan(ty, &predicates, &first_field, &target_of))
        .flatten()
    {
        // 0. a composite index: an equality on its first field, sorted by its second.
        let order = KeyOrder::Value {
            prefix,
            budget: PAIRED_VALUE_KEY_BYTES,
        };
        (scan, Some(order), false, None)
    } else if let Some((_, scan, _, exact)) = candidates
        .iter()
        .filter(|(i, _, _, _)| single_key && predicates[*i].field == first_field)
        .max_by_key(|(_, _, s, _)| *s)
    {
        // 1. the sort field's index serves a predicate.
        (scan.clone(), Some(sort_order()), exact_if(*exact), None)
    } else if let Some((_, scan, 3, exact)) = best
        && single_key
        && first_field == Field::Id
        && let [(Bound::Included(prefix), _)] = scan.ranges.as_slice()
    {
        // 2. one value's range is in id order.
        let order = KeyOrder::Id {
            prefix: prefix.clone(),
        };
        (scan.clone(), Some(order), exact_if(*exact), None)
    } else if let Some((_, scan, s, exact)) = best
        && (*s >= 2 || !single_key)
    {
        // 3. a selective predicate, sorted in memory; when it matches many, step 4 instead.
        let fallback = single_key.then(|| whole_sort_index.clone());
        (scan.clone(), None, exact_if(*exact), fallback)
    } else if single_key {
        // 4. the sort field's index, whole (the listing when sorting by id).
        let exact = predicates.is_empty();
        (whole_sort_index, Some(sort_order()), exact, None)
    } else {
        // Several sort keys (or an unindexed one) and no usable predicate: every resource,
        // sorted in memory.
        let exact = predicates.is_empty();
        let listing = Scan {
            pk: resource::listing_pk(&ty.name),
            shards: ty.shards,
            ranges: vec![(Bound::Unbounded, Bound::Unbounded)],
        };
        (listing, None, exact, None)
    };
    let fallback = fallback.map(|scan| {
        Box::new(Plan {
            scan,
            order: Some(sort_order()),
            reverse: desc,
            predicates: predicates.clone(),
            sort: sort.clone(),
            exact: false,
            fallback: None,
        })
    });
    Plan {
        scan,
        reverse: order.is_some() && desc,
        order,
        predicates,
        sort,
        exact,
        fallback,
    }
}

/// The range of a composite index `[lead, second]` when an equality on `lead` is given and
/// the sort is by `second` (narrowed by a range on `second` when one is given), and the prefix
/// of its entries (the lead value's key).
fn composite_scan<'a>(
    ty: &ResourceType,
    predicates: &[Predicate],
    sort_field: &Field,
    target_of: &dyn Fn(&Field) -> Option<&'a ResourceType>,
) -> Option<(Scan, String)> {
    ty.indexes.iter().find_map(|[lead, second]| {
        if sort_field.name() != Some(second.as_str()) {
            return None;
        }
        let prefix = predicates
            .iter()
            .find(|p| p.field.name() == Some(lead.as_str()))
            .and_then(|p| p.point_key(ty, target_of(&p.field), PAIRED_VALUE_KEY_BYTES))?;
        let prefix = format!("{prefix}{SEPARATOR}");
        let within = |b: &Bound<String>, end: bool| match b {
            Bound::Included(k) => Bound::Included(format!("{prefix}{k}")),
            Bound::Excluded(k) => Bound::Excluded(format!("{prefix}{k}")),
            Bound::Unbounded if end => {
                prefix_end(&prefix).map_or(Bound::Unbounded, Bound::Excluded)
            }
            Bound::Unbounded => Bound::Included(prefix.clone()),
        };
        let ranges = predicates
            .iter()
            .find(|p| p.field == *sort_field)
            .and_then(|p| p.ranges(ty, target_of(&p.field), PAIRED_VALUE_KEY_BYTES))
            .map_or_else(|| vec![(Bound::Unbounded, Bound::Unbounded)], |r| r.ranges)
            .iter()
            .map(|(lo, hi)| (within(lo, false), within(hi, true)))
            .collect();
        let scan = Scan {
            pk: resource::composite_pk(&ty.name, lead, second),
            shards: ty.shards,
            ranges,
        };
        Some((scan, prefix))
    })
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

/// Orders resources by their positions in the reading direction.
fn sort_in_reading_order(sort: &[SortKey], members: &mut [(Resource, Position)], backwards: bool) {
    members.sort_by(|a, b| {
        let o = compare(sort, &a.1, &b.1);
        if backwards { o.reverse() } else { o }
    });
}

/// More resources to sort in memory than a request may.
fn too_many_to_sort(detail: String) -> ApiError {
    ApiError::new(ErrorKind::Sort, detail).param("sort")
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
            let (ids, more) = self
                .range_ids(query, plan.scan.shards, 0, PROBE_LIMIT + 1 - total)
                .await?;
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
        // A predicate names a relationship of its type (the filter was checked against it).
        let Some(rel) = ty.relationships.get(rel) else {
            return Ok(Vec::new());
        };
        Ok(match &rel.storage {
            jsonapi_config::RelationshipStorage::Owned => {
                r.to_many.get(&rel.name).cloned().unwrap_or_default()
            }
            jsonapi_config::RelationshipStorage::InverseOf { field } => {
                let target = self.schema.target(rel);
                self.inverse_ids(ty, &r.id, target, field, 0, self.schema.api.max_related)
                    .await?
                    .0
            }
        })
    }

    /// The ids in a plan's ranges, each once: at most `limit`, and whether there are more.
    async fn ids_in_ranges(&self, plan: &Plan, limit: usize) -> ApiResult<(Vec<String>, bool)> {
        let mut ids = Vec::new();
        let mut seen = HashSet::new();
        for (lo, hi) in &plan.scan.ranges {
            let query = plan.scan.range_query(lo, hi, 1000);
            let (range_ids, more) = self
                .range_ids(query, plan.scan.shards, 0, limit + 1 - ids.len())
                .await?;
            ids.extend(range_ids.into_iter().filter(|id| seen.insert(id.clone())));
            if more || ids.len() > limit {
                ids.truncate(limit);
                return Ok((ids, true));
            }
        }
        Ok((ids, false))
    }

    /// Reads one page of a plan.
    pub(crate) async fn execute(
        &self,
        ty: &ResourceType,
        plan: &Plan,
        window: Window,
    ) -> ApiResult<PlanPage> {
        match &plan.order {
            Some(order) => self.execute_ordered(ty, plan, order, window).await,
            None => self.execute_in_memory(ty, plan, window).await,
        }
    }

    async fn execute_ordered(
        &self,
        ty: &ResourceType,
        plan: &Plan,
        order: &KeyOrder,
        window: Window,
    ) -> ApiResult<PlanPage> {
        let mut fill = Fill::new(&plan.sort, window);
        if fill.limit == 0 {
            return Ok(fill.finish());
        }
        let reverse = plan.reverse != fill.backwards;
        // Where reading resumes: it only moves on, across the ranges too.
        let mut start = fill.from.as_ref().map(|p| order.resume_at(p, reverse));
        let mut seen = HashSet::new();
        let mut ranges: Vec<&KeyRange> = plan.scan.ranges.iter().collect();
        if reverse {
            ranges.reverse();
        }
        'ranges: for range in ranges {
            loop {
                let (from, to) = from_start(range, start.as_ref(), reverse);
                if is_empty(&(from.clone(), to.clone())) {
                    break;
                }
                // When items may fail the predicates, read ahead: a batch read of a hundred
                // items costs one round trip, like a batch read of ten.
                let wanted = fill.wanted();
                let want = if plan.exact { wanted } else { wanted.max(100) }.clamp(1, 1000);
                let query = RangeQuery {
                    pk: plan.scan.pk.clone(),
                    from,
                    to,
                    reverse,
                    limit: want,
                    after: None,
                };
                let page = shards::query(&*self.store, plan.scan.shards, &query).await?;
                let entries: Vec<(String, String)> = page
                    .items
                    .iter()
                    .filter_map(|i| {
                        Some((i.key.sk.clone(), i.attrs.get("id")?.as_str()?.to_owned()))
                    })
                    .collect();
                // A group of cut value keys at the end of the page may go on past it: it is
                // read whole on its own (reading resumes past it); the rest is in hand.
                let open_group = match (entries.last(), &page.next) {
                    (Some((key, _)), Some(_)) => order.group_of(key),
                    _ => None,
                };
                let in_hand = match &open_group {
                    Some(group) => {
                        let open = entries.iter().take_while(|(k, _)| !k.starts_with(group));
                        &entries[..open.count()]
                    }
                    None => &entries[..],
                };
                let ids: Vec<String> = in_hand
                    .iter()
                    .map(|(_, id)| id.clone())
                    .filter(|id| !seen.contains(id))
                    .collect();
                let loaded = self.load_many(ty, &ids).await?;
                for run in in_hand
                    .chunk_by(|(a, _), (b, _)| order.group_of(a).is_some_and(|g| b.starts_with(&g)))
                {
                    let mut members = Vec::new();
                    for (key, id) in run {
                        let Some(r) = loaded.iter().find(|r| &r.id == id) else {
                            continue;
                        };
                        let position = Position::of(&self.schema, ty, &plan.sort, r);
                        // Left out: an entry the resource has moved away from since it was
                        // read (its current entry is elsewhere), or a resource already seen.
                        if order.entry_key(&position) != *key
                            || !seen.insert(id.clone())
                            || !self.passes(ty, plan, r).await?
                        {
                            continue;
                        }
                        members.push((r.clone(), position));
                    }
                    // A run of one group's entries: ordered by the stored values.
                    if run.len() > 1 && order.group_of(&run[0].0).is_some() {
                        sort_in_reading_order(&plan.sort, &mut members, fill.backwards);
                    }
                    for (r, position) in members {
                        if fill.take(r, position) {
                            break 'ranges;
                        }
                    }
                }
                if let Some(group) = open_group {
                    for (r, position) in self
                        .read_group(ty, plan, order, range, &group, fill.backwards)
                        .await?
                    {
                        if seen.insert(r.id.clone()) && fill.take(r, position) {
                            break 'ranges;
                        }
                    }
                    start = Some(past_group(&group, reverse));
                    continue;
                }
                match page.next {
                    Some(next) => start = Some(Bound::Excluded(next)),
                    // The next range lies wholly beyond `start`.
                    None => break,
                }
            }
        }
        Ok(fill.finish())
    }

    /// The matching resources of a group of entries that share a cut value key, with their
    /// positions, in the reading direction (ordered by their stored values).
    async fn read_group(
        &self,
        ty: &ResourceType,
        plan: &Plan,
        order: &KeyOrder,
        range: &KeyRange,
        group: &str,
        backwards: bool,
    ) -> ApiResult<Vec<(Resource, Position)>> {
        let (lo, hi) = range.clone();
        let lo = tighter(lo, Bound::Included(group.to_owned()), Ordering::Greater);
        let hi = tighter(hi, group_end(group), Ordering::Less);
        let query = plan.scan.range_query(&lo, &hi, 1000);
        let (ids, more) = self
            .range_ids(query, plan.scan.shards, 0, MAX_SORTED_IN_MEMORY)
            .await?;
        if more {
            return Err(too_many_to_sort(format!(
                "More than {MAX_SORTED_IN_MEMORY} resources share the start of their sort value; sort by another field."
            ))
            .into());
        }
        // Left out: resources that have left the group since.
        let in_group = |p: &Position| order.entry_key(p).starts_with(group);
        let mut members = self.positioned(ty, plan, &ids, in_group).await?;
        sort_in_reading_order(&plan.sort, &mut members, backwards);
        Ok(members)
    }

    /// The resources of `ids` that pass a plan's predicates, at positions that pass `keep`.
    async fn positioned(
        &self,
        ty: &ResourceType,
        plan: &Plan,
        ids: &[String],
        keep: impl Fn(&Position) -> bool,
    ) -> ApiResult<Vec<(Resource, Position)>> {
        let mut found = Vec::new();
        for r in self.load_many(ty, ids).await? {
            let position = Position::of(&self.schema, ty, &plan.sort, &r);
            if keep(&position) && self.passes(ty, plan, &r).await? {
                found.push((r, position));
            }
        }
        Ok(found)
    }

    async fn execute_in_memory(
        &self,
        ty: &ResourceType,
        plan: &Plan,
        window: Window,
    ) -> ApiResult<PlanPage> {
        let (ids, more) = self.ids_in_ranges(plan, MAX_SORTED_IN_MEMORY).await?;
        if more {
            return Err(too_many_to_sort(format!(
                "More than {MAX_SORTED_IN_MEMORY} resources match and no index serves this filter with this sort; narrow the filter, or sort by the filtered field or by id."
            ))
            .into());
        }
        let mut matches = self.positioned(ty, plan, &ids, |_| true).await?;
        let mut fill = Fill::new(&plan.sort, window);
        // Reading backwards from a position: the matches before it, nearest first.
        sort_in_reading_order(&plan.sort, &mut matches, fill.backwards);
        for (r, position) in matches {
            if fill.take(r, position) {
                break;
            }
        }
        Ok(fill.finish())
    }

    /// How many resources match a plan: counted by the store when the ranges are exact,
    /// otherwise by reading the matches.
    pub(crate) async fn count(&self, ty: &ResourceType, plan: &Plan) -> ApiResult<u64> {
        let mut total = 0;
        if plan.exact {
            for (lo, hi) in &plan.scan.ranges {
                let query = plan.scan.range_query(lo, hi, 1);
                total += shards::count(&*self.store, plan.scan.shards, &query).await?;
            }
            return Ok(total);
        }
        let (ids, _) = self.ids_in_ranges(plan, usize::MAX / 4).await?;
        for chunk in ids.chunks(MAX_BATCH_GET) {
            for r in self.load_many(ty, chunk).await? {
                if self.passes(ty, plan, &r).await? {
                    total += 1;
                }
            }
        }
        Ok(total)
    }
}
