//! Filters: `filter[field]=v` and `filter[field][op]=v` checked against the declared filters,
//! values parsed by data type, and predicates that can both be matched against a resource and
//! turned into key ranges of the field's index.

mod parse;
mod ranges;

use jsonapi_config::{DataType, IdStrategy, Operator, Relationship, ResourceType};
use serde_json::Value;

use crate::resource::Resource;
use crate::values;
pub(crate) use parse::parse;
pub(crate) use ranges::KeyRanges;

/// The field a predicate tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    /// The resource id.
    Id,
    /// An attribute.
    Attribute(String, DataType),
    /// A relationship, by related id (`many`: to-many).
    Relationship(String, bool),
}

impl Field {
    /// The index partition field name (`None` for the id, which uses the listing).
    pub(crate) fn name(&self) -> Option<&str> {
        match self {
            Self::Id => None,
            Self::Attribute(n, _) | Self::Relationship(n, _) => Some(n),
        }
    }
}

/// The operand of a predicate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// One value (stored form; a related id for relationships).
    One(Value),
    /// `a,b`: any of them.
    List(Vec<Value>),
    /// `a..b`, inclusive.
    Range(Value, Value),
    /// `exists` and `empty` take a boolean.
    Flag(bool),
}

/// One checked filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Predicate {
    /// The query parameter it came from.
    pub(crate) parameter: String,
    pub(crate) field: Field,
    pub(crate) op: Operator,
    pub(crate) operand: Operand,
}

/// A dotted filter (`filter[category.name]`): a predicate on a related type, applied through a
/// relationship.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PathPredicate {
    /// The relationships walked, from the primary type.
    pub(crate) path: Vec<Relationship>,
    /// The predicate on the last type of the path.
    pub(crate) predicate: Predicate,
}

/// The value of a field on a resource, as the index sees it: a list (to-many and arrays) or
/// one value (`Null` when absent).
fn field_values(field: &Field, r: &Resource, to_many: &dyn Fn(&str) -> Vec<String>) -> Vec<Value> {
    match field {
        Field::Id => vec![Value::String(r.id.clone())],
        Field::Attribute(name, DataType::Strings) => match r.attributes.get(name) {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        },
        Field::Attribute(name, _) => vec![r.attributes.get(name).cloned().unwrap_or(Value::Null)],
        Field::Relationship(name, false) => vec![
            r.related(name)
                .map_or(Value::Null, |id| Value::String(id.to_owned())),
        ],
        Field::Relationship(name, true) => to_many(name).into_iter().map(Value::String).collect(),
    }
}

impl Predicate {
    fn is_multi(&self) -> bool {
        matches!(
            self.field,
            Field::Relationship(_, true) | Field::Attribute(_, DataType::Strings)
        )
    }

    /// Whether a resource passes; `to_many` gives the ids of a to-many relationship.
    pub(crate) fn matches(
        &self,
        ty: &ResourceType,
        r: &Resource,
        to_many: &dyn Fn(&str) -> Vec<String>,
    ) -> bool {
        let values = field_values(&self.field, r, to_many);
        let cmp = |a: &Value, b: &Value| compare(&self.field, ty, a, b);
        let eq_any = |v: &Value| match &self.operand {
            Operand::One(x) => cmp(v, x) == Some(std::cmp::Ordering::Equal),
            Operand::List(xs) => xs
                .iter()
                .any(|x| cmp(v, x) == Some(std::cmp::Ordering::Equal)),
            Operand::Range(lo, hi) => {
                cmp(v, lo).is_some_and(std::cmp::Ordering::is_ge)
                    && cmp(v, hi).is_some_and(std::cmp::Ordering::is_le)
            }
            Operand::Flag(_) => false,
        };
        let text = |f: &dyn Fn(&str, &str) -> bool| {
            let needles: Vec<&str> = match &self.operand {
                Operand::One(Value::String(s)) => vec![s.as_str()],
                Operand::List(xs) => xs.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            values
                .iter()
                .filter_map(Value::as_str)
                .any(|v| needles.iter().any(|n| f(v, n)))
        };
        let present: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
        let multi = self.is_multi();
        let holds = |x: &Value| {
            present
                .iter()
                .any(|v| cmp(v, x) == Some(std::cmp::Ordering::Equal))
        };
        let holds_all = |operand: &Operand| match operand {
            Operand::One(x) => holds(x),
            Operand::List(xs) => xs.iter().all(holds),
            _ => false,
        };
        match self.op {
            Operator::Eq => present.iter().any(|v| eq_any(v)),
            Operator::Neq => !present.is_empty() && !present.iter().any(|v| eq_any(v)),
            Operator::NeqOrNull => !present.iter().any(|v| eq_any(v)),
            Operator::Exists => matches!(self.operand, Operand::Flag(f) if f != present.is_empty()),
            Operator::Empty => {
                let empty = present.is_empty() || present.iter().all(|v| values::is_blank(v));
                matches!(self.operand, Operand::Flag(f) if f == empty)
            }
            Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => match &self.operand {
                Operand::One(x) => present
                    .iter()
                    .any(|v| cmp(v, x).is_some_and(|o| comparison_holds(&self.op, o))),
                _ => false,
            },
            // On to-many relationships and arrays, `contains` means "holds all the values".
            Operator::Contains if multi => holds_all(&self.operand),
            Operator::NotContains if multi => {
                matches!(self.operand, Operand::One(_) | Operand::List(_))
                    && !holds_all(&self.operand)
            }
            Operator::Contains => text(&|v, n| v.contains(n)),
            Operator::NotContains => !text(&|v, n| v.contains(n)),
            Operator::StartsWith => text(&|v, n| v.starts_with(n)),
            Operator::NotStartsWith => !text(&|v, n| v.starts_with(n)),
            Operator::EndsWith => text(&|v, n| v.ends_with(n)),
            Operator::NotEndsWith => !text(&|v, n| v.ends_with(n)),
        }
    }
}

/// Whether `lt`, `lte`, `gt` or `gte` holds of a value ordered `o` against the operand.
fn comparison_holds(op: &Operator, o: std::cmp::Ordering) -> bool {
    match op {
        Operator::Lt => o.is_lt(),
        Operator::Lte => o.is_le(),
        Operator::Gt => o.is_gt(),
        _ => o.is_ge(),
    }
}

/// Orders two values of a field the way its index does.
fn compare(field: &Field, ty: &ResourceType, a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match field {
        Field::Id | Field::Relationship(..) => match ty.id {
            // Relationship ids are compared as strings; ids of sequence types numerically (a
            // filter may name any integer, `0` and negative ones included).
            IdStrategy::Sequence if matches!(field, Field::Id) => Some(
                a.as_str()?
                    .parse::<i64>()
                    .ok()?
                    .cmp(&b.as_str()?.parse::<i64>().ok()?),
            ),
            _ => Some(a.as_str()?.cmp(b.as_str()?)),
        },
        Field::Attribute(_, DataType::Strings) => Some(a.as_str()?.cmp(b.as_str()?)),
        Field::Attribute(_, dt) => {
            let ka = values::sort_keys(*dt, a).into_iter().next()?;
            let kb = values::sort_keys(*dt, b).into_iter().next()?;
            Some(ka.cmp(&kb))
        }
    }
}
