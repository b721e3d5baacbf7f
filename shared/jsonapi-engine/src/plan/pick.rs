//! Which index a read uses: the planner's choice among the predicates' key ranges and the
//! sort field's index (see the module overview for the order of preference).

use std::ops::Bound;

use jsonapi_config::{Operator, ResourceType, Schema};
use jsonapi_store::prefix_end;

use super::{KeyOrder, Plan, Scan};
use crate::filter::{Field, KeyRanges, Operand, Predicate};
use crate::query::SortKey;
use crate::resource::{self, indexed_fields};
use crate::values::{PAIRED_VALUE_KEY_BYTES, SEPARATOR, VALUE_KEY_BYTES};

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
    let desc = sort[0].1;
    let planner = Planner::new(schema, ty, &predicates, &sort);
    let (scan, order, exact, fallback) = planner.choose();
    let fallback = fallback.map(|scan| {
        Box::new(Plan {
            scan,
            order: Some(planner.sort_order()),
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

/// A predicate's index and ranges: (its place among the predicates, the scan, its
/// selectivity, whether the ranges hold exactly its matches).
type Candidate = (usize, Scan, u8, bool);

/// The planner's choice: the scan, how it is keyed when in the requested order (`None`: sorted
/// in memory), whether it is exact, and the ordered scan to fall back on.
type Chosen = (Scan, Option<KeyOrder>, bool, Option<Scan>);

/// What a plan is chosen from: the type's indexes, the predicates and the first sort key.
struct Planner<'a> {
    schema: &'a Schema,
    ty: &'a ResourceType,
    indexed: Vec<&'a str>,
    predicates: &'a [Predicate],
    first_field: &'a Field,
    /// The index of the first sort field (the listing for `id`), when it has one.
    sort_index: Option<String>,
    /// The requested order can come from one index: a first sort key with an index, and no
    /// second one other than id (in the same direction).
    single_key: bool,
}

impl<'a> Planner<'a> {
    fn new(
        schema: &'a Schema,
        ty: &'a ResourceType,
        predicates: &'a [Predicate],
        sort: &'a [SortKey],
    ) -> Self {
        let (first_field, desc) = &sort[0];
        let mut planner = Self {
            schema,
            ty,
            indexed: indexed_fields(ty),
            predicates,
            first_field,
            sort_index: None,
            single_key: false,
        };
        planner.sort_index = planner.index_of(first_field);
        // A second sort key other than id (in the same direction), or a first one without an
        // index (a text attribute), cannot come from one index.
        planner.single_key = planner.sort_index.is_some()
            && (sort.len() == 1 || (sort.len() == 2 && sort[1] == (Field::Id, *desc)));
        planner
    }

    /// The index holding a field's values (the listing for `id`), if it has one.
    fn index_of(&self, field: &Field) -> Option<String> {
        match field {
            Field::Id => Some(resource::listing_pk(&self.ty.name)),
            f => f
                .name()
                .filter(|n| self.indexed.contains(n))
                .map(|n| resource::index_pk(&self.ty.name, n)),
        }
    }

    /// The related type of a relationship field.
    fn target_of(&self, field: &Field) -> Option<&'a ResourceType> {
        match field {
            Field::Relationship(rel, _) => self.schema.related(self.ty, rel).map(|t| &**t),
            _ => None,
        }
    }

    /// How the sort field's own index (or the listing) is keyed.
    fn sort_order(&self) -> KeyOrder {
        if *self.first_field == Field::Id {
            KeyOrder::Id {
                prefix: String::new(),
            }
        } else {
            KeyOrder::Value {
                prefix: String::new(),
                budget: VALUE_KEY_BYTES,
            }
        }
    }

    /// Every predicate an index serves, with its ranges.
    fn candidates(&self) -> Vec<Candidate> {
        self.predicates
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let pk = self.index_of(&p.field)?;
                let KeyRanges { ranges, exact } =
                    p.ranges(self.ty, self.target_of(&p.field), VALUE_KEY_BYTES)?;
                let scan = Scan {
                    pk,
                    shards: self.ty.shards,
                    ranges,
                };
                Some((i, scan, selectivity(p), exact))
            })
            .collect()
    }

    /// The whole of an index: the sort field's (`None`: the listing).
    fn whole(&self, pk: Option<String>) -> Scan {
        Scan {
            pk: pk.unwrap_or_else(|| resource::listing_pk(&self.ty.name)),
            shards: self.ty.shards,
            ranges: vec![(Bound::Unbounded, Bound::Unbounded)],
        }
    }

    /// The scan, in the planner's order of preference.
    fn choose(&self) -> Chosen {
        let (predicates, first_field, single_key) =
            (self.predicates, self.first_field, self.single_key);
        let candidates = self.candidates();
        let whole_sort_index = self.whole(self.sort_index.clone());
        // Only a lone predicate can be served exactly (a count of keys).
        let exact_if = |exact: bool| predicates.len() == 1 && exact;
        let best = candidates.iter().max_by_key(|(_, _, s, _)| *s);
        if let Some((scan, prefix)) = single_key
            .then(|| composite_scan(self.ty, predicates, first_field, &|f| self.target_of(f)))
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
            .filter(|(i, _, _, _)| single_key && predicates[*i].field == *first_field)
            .max_by_key(|(_, _, s, _)| *s)
        {
            // 1. the sort field's index serves a predicate.
            (
                scan.clone(),
                Some(self.sort_order()),
                exact_if(*exact),
                None,
            )
        } else if let Some((_, scan, 3, exact)) = best
            && single_key
            && *first_field == Field::Id
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
            (whole_sort_index, Some(self.sort_order()), exact, None)
        } else {
            // Several sort keys (or an unindexed one) and no usable predicate: every resource,
            // sorted in memory.
            let exact = predicates.is_empty();
            (self.whole(None), None, exact, None)
        }
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
