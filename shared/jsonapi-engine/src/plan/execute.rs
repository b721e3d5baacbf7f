//! Running a plan: one page read in the requested order from an ordered scan, or every match
//! read and sorted in memory; and counting a plan's matches.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::ops::Bound;

use jsonapi_config::ResourceType;
use jsonapi_store::limits::MAX_BATCH_GET;
use jsonapi_store::{QueryPage, RangeQuery, Store};

use super::keys::{from_start, group_end, is_empty, past_group, tighter};
use super::{
    KeyOrder, KeyRange, MAX_SORTED_IN_MEMORY, PROBE_LIMIT, Plan, PlanPage, Position, Window,
    compare,
};
use crate::engine::Engine;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::filter::Field;
use crate::query::SortKey;
use crate::resource::Resource;
use crate::shards;

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
        // When items may fail the predicates, read ahead: twice what is still wanted, doubled
        // at each further read of the scan, so that a page whose matches are sparse takes few
        // round trips and one whose matches are dense reads and decodes little more than
        // the page.
        let mut ahead = if plan.exact { 1 } else { 2 };
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
                let want = fill.wanted().saturating_mul(ahead).clamp(1, 1000);
                if !plan.exact {
                    ahead = ahead.saturating_mul(2);
                }
                let query = RangeQuery {
                    pk: plan.scan.pk.clone(),
                    from,
                    to,
                    reverse,
                    limit: want,
                    after: None,
                };
                let page = shards::query(&*self.store, plan.scan.shards, &query).await?;
                let (entries, open_group) = page_entries(order, &page);
                // A group of cut value keys at the end of the page may go on past it: it is
                // read whole on its own (reading resumes past it); the rest is in hand.
                let in_hand = match &open_group {
                    Some(group) => {
                        let open = entries.iter().take_while(|(k, _)| !k.starts_with(group));
                        &entries[..open.count()]
                    }
                    None => &entries[..],
                };
                if self
                    .take_in_hand(ty, plan, order, in_hand, &mut seen, &mut fill)
                    .await?
                {
                    break 'ranges;
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

    /// Takes the resources of entries read in order into the page, those of one group of cut
    /// value keys ordered by their stored values; `true` once the page is full.
    async fn take_in_hand(
        &self,
        ty: &ResourceType,
        plan: &Plan,
        order: &KeyOrder,
        in_hand: &[(String, String)],
        seen: &mut HashSet<String>,
        fill: &mut Fill<'_>,
    ) -> ApiResult<bool> {
        let ids: Vec<String> = in_hand
            .iter()
            .map(|(_, id)| id.clone())
            .filter(|id| !seen.contains(id))
            .collect();
        let mut loaded: HashMap<String, Resource> = self
            .load_many(ty, &ids)
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        for run in
            in_hand.chunk_by(|(a, _), (b, _)| order.group_of(a).is_some_and(|g| b.starts_with(&g)))
        {
            let mut members = Vec::new();
            for (key, id) in run {
                let Some(r) = loaded.get(id) else {
                    continue;
                };
                let position = Position::of(&self.schema, ty, &plan.sort, r);
                // Left out: an entry the resource has moved away from since it was
                // read (its current entry is elsewhere: that one may follow in the run),
                // or a resource already seen.
                if order.entry_key(&position) != *key
                    || !seen.insert(id.clone())
                    || !self.passes(ty, plan, r).await?
                {
                    continue;
                }
                if let Some(r) = loaded.remove(id) {
                    members.push((r, position));
                }
            }
            // A run of one group's entries: ordered by the stored values.
            if run.len() > 1 && order.group_of(&run[0].0).is_some() {
                sort_in_reading_order(&plan.sort, &mut members, fill.backwards);
            }
            for (r, position) in members {
                if fill.take(r, position) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
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

/// A page's entries (sort key, id), and the group of cut value keys it ends in when more
/// entries follow (that group may go on past the page).
fn page_entries(order: &KeyOrder, page: &QueryPage) -> (Vec<(String, String)>, Option<String>) {
    let entries: Vec<(String, String)> = page
        .items
        .iter()
        .filter_map(|i| Some((i.key.sk.clone(), i.attrs.get("id")?.as_str()?.to_owned())))
        .collect();
    let open_group = match (entries.last(), &page.next) {
        (Some((key, _)), Some(_)) => order.group_of(key),
        _ => None,
    };
    (entries, open_group)
}
