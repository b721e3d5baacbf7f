//! A predicate as key ranges of its field's index: the ranges that hold every match, and
//! whether they hold exactly the matches (so the store can count them).

use std::cell::Cell;
use std::ops::Bound;

use jsonapi_config::{DataType, Operator, ResourceType};
use serde_json::Value;

use super::{Field, Operand, Predicate};
use crate::resource::id_key;
use crate::values::{self, SEPARATOR, index_key, is_cut};

impl Predicate {
    /// The ranges of an equality on a list of value keys (or of a `contains` on an array or a
    /// to-many relationship: "holds all", so any one value's range holds every match).
    fn list_ranges(
        &self,
        mut keys: Vec<String>,
        exact: bool,
    ) -> Vec<(Bound<String>, Bound<String>)> {
        keys.sort();
        keys.dedup();
        if self.op == Operator::Contains {
            keys.truncate(1);
        }
        keys.into_iter()
            .map(|k| {
                if exact {
                    (Bound::Included(k.clone()), Bound::Included(k))
                } else {
                    prefix_range(&format!("{k}{SEPARATOR}"))
                }
            })
            .collect()
    }

    /// The range of `lt`, `lte`, `gt` or `gte` against value key `k` (`widen`: `k` was cut,
    /// so its whole group is in range).
    fn comparison_range(
        &self,
        k: String,
        exact: bool,
        widen: bool,
    ) -> (Bound<String>, Bound<String>) {
        // Present values start at "1"; nulls ("0…") never match a comparison.
        let floor = if exact {
            Bound::Unbounded
        } else {
            Bound::Included("1".to_owned())
        };
        match self.op {
            Operator::Lt if !widen => (floor, Bound::Excluded(k)),
            Operator::Lt | Operator::Lte => (floor, upper_inclusive(&k, exact)),
            Operator::Gt if exact => (Bound::Excluded(k), Bound::Unbounded),
            Operator::Gt if !widen => (
                Bound::Included(format!(
                    "{k}{}",
                    char::from_u32(SEPARATOR as u32 + 1).expect("valid")
                )),
                Bound::Unbounded,
            ),
            _ => (Bound::Included(k), Bound::Unbounded),
        }
    }

    /// For an equality on one value: the value's key in an index that keeps `budget` bytes of
    /// it (what leads the entries of a composite index).
    pub(crate) fn point_key(
        &self,
        ty: &ResourceType,
        target: Option<&ResourceType>,
        budget: usize,
    ) -> Option<String> {
        match (&self.op, &self.operand, &self.field) {
            (
                Operator::Eq,
                Operand::One(v),
                Field::Attribute(..) | Field::Relationship(_, false),
            ) => Some(index_key(&value_key(&self.field, ty, target, v)?, budget)),
            _ => None,
        }
    }

    /// The key ranges of an index of the field keeping `budget` bytes of a value key (see
    /// [`values::index_key`]) that hold every match, in ascending order; `None` when the
    /// operator cannot be served by ranges (the predicate is then checked on items).
    ///
    /// A bound cut from a long value is widened to the whole group of values sharing its
    /// cut key, whose stored values are re-checked on the items.
    pub(crate) fn ranges(
        &self,
        ty: &ResourceType,
        target: Option<&ResourceType>,
        budget: usize,
    ) -> Option<KeyRanges> {
        let cut = Cell::new(false);
        let key = |v: &Value| {
            let k = index_key(&value_key(&self.field, ty, target, v)?, budget);
            cut.set(cut.get() || is_cut(&k, budget));
            Some(k)
        };
        let point = |v: &Value| -> Option<(Bound<String>, Bound<String>)> {
            let k = key(v)?;
            Some(prefix_range(&format!("{k}{SEPARATOR}")))
        };
        // The listing holds id keys alone, never cut: a cut bound is just beyond every id.
        let exact = matches!(self.field, Field::Id);
        let ranges = match (&self.op, &self.operand) {
            (Operator::Eq, Operand::One(v)) if exact => {
                vec![(Bound::Included(key(v)?), Bound::Included(key(v)?))]
            }
            (Operator::Eq, Operand::One(v)) => vec![point(v)?],
            (Operator::Eq | Operator::Contains, Operand::List(vs))
                if self.op == Operator::Eq || self.is_multi() =>
            {
                let keys: Vec<String> = vs.iter().map(key).collect::<Option<_>>()?;
                self.list_ranges(keys, exact)
            }
            (Operator::Contains, Operand::One(v)) if self.is_multi() => vec![point(v)?],
            (Operator::Eq, Operand::Range(lo, hi)) => {
                let (lo, hi) = (key(lo)?, key(hi)?);
                vec![(Bound::Included(lo), upper_inclusive(&hi, exact))]
            }
            (Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte, Operand::One(v)) => {
                let k = key(v)?;
                let widen = !exact && is_cut(&k, budget);
                vec![self.comparison_range(k, exact, widen)]
            }
            (Operator::StartsWith, Operand::One(Value::String(s)))
                if !exact && matches!(self.field, Field::Attribute(..)) =>
            {
                let prefix = format!("1{}", values::escape(s));
                if prefix.len() > budget {
                    // Every value with this long prefix is cut to the prefix's own cut key.
                    let k = index_key(&prefix, budget);
                    cut.set(true);
                    vec![prefix_range(&format!("{k}{SEPARATOR}"))]
                } else {
                    vec![prefix_range(&prefix)]
                }
            }
            (Operator::Exists, Operand::Flag(true)) if !exact => vec![prefix_range("1")],
            (Operator::Exists, Operand::Flag(false)) if !exact => vec![prefix_range("0")],
            _ => return None,
        };
        // An array or a to-many relationship has one entry per value, so a resource may hold
        // several entries of these ranges unless they are one value's.
        let one_entry_each = !self.is_multi()
            || matches!(
                (&self.op, &self.operand),
                (Operator::Eq | Operator::Contains, Operand::One(_))
            );
        Some(KeyRanges {
            ranges,
            exact: one_entry_each && !cut.get(),
        })
    }
}

/// Key ranges of an index that hold every match of a predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRanges {
    /// Ascending, non-overlapping.
    pub(crate) ranges: Vec<(Bound<String>, Bound<String>)>,
    /// The ranges hold exactly the matches, one entry each, so counting keys counts matches.
    pub(crate) exact: bool,
}

/// Everything up to the key that holds `hi` and all ids after it.
fn upper_inclusive(hi: &str, exact: bool) -> Bound<String> {
    if exact {
        Bound::Included(hi.to_owned())
    } else {
        Bound::Excluded(format!(
            "{hi}{}",
            char::from_u32(SEPARATOR as u32 + 1).expect("valid")
        ))
    }
}

fn prefix_range(prefix: &str) -> (Bound<String>, Bound<String>) {
    (
        Bound::Included(prefix.to_owned()),
        jsonapi_store::prefix_end(prefix).map_or(Bound::Unbounded, Bound::Excluded),
    )
}

/// The index key of a filter value (without the id part): the listing's id key for ids.
fn value_key(
    field: &Field,
    ty: &ResourceType,
    target: Option<&ResourceType>,
    v: &Value,
) -> Option<String> {
    match field {
        Field::Id => Some(id_key(ty, v.as_str()?)),
        Field::Relationship(..) => Some(format!("1{}", id_key(target?, v.as_str()?))),
        Field::Attribute(_, DataType::Strings) => Some(format!("1{}", values::escape(v.as_str()?))),
        Field::Attribute(_, dt) => values::sort_keys(*dt, v).into_iter().next(),
    }
}
