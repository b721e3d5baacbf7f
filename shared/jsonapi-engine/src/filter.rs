//! Filters: `filter[field]=v` and `filter[field][op]=v` checked against the declared filters,
//! values parsed by data type, and predicates that can both be matched against a resource and
//! turned into key ranges of the field's index.

use std::cell::Cell;
use std::ops::Bound;

use jsonapi_config::{
    DataType, Filter, FilterTarget, IdStrategy, Operator, Relationship, ResourceType, Schema,
};
use serde_json::Value;

use crate::error::{ApiError, ErrorKind};
use crate::numbers::canonical_integer;
use crate::periods::{Kind, Period};
use crate::resource::{Resource, id_key};
use crate::values::{self, SEPARATOR, index_key, is_cut};

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

/// Why a filter value does not fit its field: the detail of the 400 it becomes.
struct BadValue(String);

fn constraint(parameter: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::Filter, detail).param(parameter)
}

/// Parses one `filter[...]` parameter.
///
/// # Errors
/// Unknown filter, unsupported operator, a value of the wrong type, a list or range where not
/// allowed: each a `filter constraint` naming the exact parameter.
pub(crate) fn parse(
    schema: &Schema,
    ty: &ResourceType,
    name: &str,
    value: &str,
) -> Result<PathPredicate, ApiError> {
    let inner = name
        .strip_prefix("filter[")
        .ok_or_else(|| constraint(name, "The filter is not supported."))?;
    let (path, op) = match inner.split_once("][") {
        Some((path, rest)) => (
            path,
            Some(
                rest.strip_suffix(']')
                    .ok_or_else(|| constraint(name, "The filter is not supported."))?,
            ),
        ),
        None => (
            inner
                .strip_suffix(']')
                .ok_or_else(|| constraint(name, "The filter is not supported."))?,
            None,
        ),
    };
    let segments: Vec<&str> = path.split('.').collect();
    let mut current = ty;
    let mut walked = Vec::new();
    for rel in &segments[..segments.len() - 1] {
        let relationship = current
            .relationships
            .get(*rel)
            .ok_or_else(|| constraint(name, "The filter is not supported."))?;
        current = schema.target(relationship);
        walked.push(relationship.clone());
    }
    let field_name = segments[segments.len() - 1];
    let filter = current
        .filters
        .get(field_name)
        .ok_or_else(|| constraint(name, "The filter is not supported."))?;
    let op = match op {
        None => Operator::Eq,
        Some(op) => Operator::ALL
            .into_iter()
            .find(|o| o.name() == op)
            .ok_or_else(|| constraint(name, format!("The operator \"{op}\" is not supported.")))?,
    };
    if !filter.operators.contains(&op) {
        return Err(constraint(
            name,
            format!("The operator \"{}\" is not supported.", op.name()),
        ));
    }
    // A relationship filter's operand is an id of the related type.
    let (field, target) = match filter.target {
        FilterTarget::Id => (Field::Id, current),
        FilterTarget::Attribute(dt) => (Field::Attribute(field_name.to_owned(), dt), current),
        FilterTarget::Relationship { many } => {
            let rel = current
                .relationships
                .get(field_name)
                .ok_or_else(|| constraint(name, "The filter is not supported."))?;
            let field = Field::Relationship(field_name.to_owned(), many);
            (field, schema.target(rel).as_ref())
        }
    };
    let operand =
        operand(filter, &field, target, op, value).map_err(|BadValue(d)| constraint(name, d))?;
    Ok(PathPredicate {
        path: walked,
        predicate: Predicate {
            parameter: name.to_owned(),
            field,
            op,
            operand,
        },
    })
}

fn operand(
    filter: &Filter,
    field: &Field,
    id_type: &ResourceType,
    op: Operator,
    raw: &str,
) -> Result<Operand, BadValue> {
    if matches!(op, Operator::Exists | Operator::Empty) {
        return parse_bool(raw).map(Operand::Flag);
    }
    if let Field::Attribute(_, dt @ (DataType::Date | DataType::Datetime)) = field {
        return time_operand(filter, *dt, op, raw);
    }
    let one = |s: &str| parse_value(field, id_type, s);
    if filter.allow_array && op.takes_list() && raw.contains(',') {
        let values: Result<Vec<Value>, BadValue> = raw.split(',').map(one).collect();
        return values.map(Operand::List);
    }
    if filter.allow_range
        && op.takes_range()
        && let Some((lo, hi)) = raw.split_once("..")
    {
        return Ok(Operand::Range(one(lo)?, one(hi)?));
    }
    one(raw).map(Operand::One)
}

/// The operand of a date or datetime filter. A partial value names a period (`2020`: that
/// year), and each operator takes the bound of it that keeps its meaning: `eq` is within the
/// period, `neq` outside it, `lt` before its start, `lte` up to its end, `gt` after its end,
/// `gte` from its start; a range `a..b` runs from the start of `a` to the end of `b`.
fn time_operand(
    filter: &Filter,
    dt: DataType,
    op: Operator,
    raw: &str,
) -> Result<Operand, BadValue> {
    let period = |s: &str| period(dt, s);
    let list_ops = matches!(op, Operator::Eq | Operator::Neq | Operator::NeqOrNull);
    if filter.allow_array && list_ops && raw.contains(',') {
        let mut values = Vec::new();
        for item in raw.split(',') {
            let p = period(item)?;
            if !p.is_instant() {
                return Err(BadValue(format!(
                    "A list takes whole values; \"{item}\" names a period (filter by it alone, or by a range)."
                )));
            }
            values.push(Value::String(p.first));
        }
        return Ok(Operand::List(values));
    }
    if filter.allow_range
        && list_ops
        && let Some((lo, hi)) = raw.split_once("..")
    {
        return Ok(Operand::Range(
            Value::String(period(lo)?.first),
            Value::String(period(hi)?.last),
        ));
    }
    let p = period(raw)?;
    Ok(match op {
        _ if p.is_instant() => Operand::One(Value::String(p.first)),
        Operator::Eq | Operator::Neq | Operator::NeqOrNull => {
            Operand::Range(Value::String(p.first), Value::String(p.last))
        }
        Operator::Lte | Operator::Gt => Operand::One(Value::String(p.last)),
        _ => Operand::One(Value::String(p.first)),
    })
}

/// The period a date or datetime filter value names.
fn period(dt: DataType, s: &str) -> Result<Period, BadValue> {
    let (kind, what) = if dt == DataType::Date {
        (Kind::Date, "date")
    } else {
        (Kind::Datetime, "datetime")
    };
    Period::parse(kind, s).ok_or_else(|| BadValue(format!("Expected {what} value. Given \"{s}\".")))
}

fn parse_bool(s: &str) -> Result<bool, BadValue> {
    match s {
        "1" | "true" | "True" | "yes" | "Yes" => Ok(true),
        "0" | "false" | "False" | "no" | "No" => Ok(false),
        _ => Err(BadValue(format!("Expected boolean value. Given \"{s}\"."))),
    }
}

/// A filter value in the stored form of the field.
fn parse_value(field: &Field, id_type: &ResourceType, s: &str) -> Result<Value, BadValue> {
    let expected = |what: &str| BadValue(format!("Expected {what} value. Given \"{s}\"."));
    match field {
        Field::Id | Field::Relationship(..) => match id_type.id {
            IdStrategy::Sequence => canonical_integer(s)
                .map(|_| Value::String(s.to_owned()))
                .ok_or_else(|| expected("integer")),
            _ => Ok(Value::String(s.to_owned())),
        },
        Field::Attribute(name, dt) => match dt {
            DataType::Enum => {
                let values = id_type
                    .attributes
                    .get(name)
                    .map(|a| a.values.as_slice())
                    .unwrap_or_default();
                if values.iter().any(|v| v == s) {
                    Ok(Value::String(s.to_owned()))
                } else {
                    Err(BadValue(format!(
                        "Expected one of {}. Given \"{s}\".",
                        values.join(", ")
                    )))
                }
            }
            DataType::String | DataType::Text | DataType::Strings => {
                Ok(Value::String(s.to_owned()))
            }
            DataType::Integer => canonical_integer(s)
                .map(Value::from)
                .ok_or_else(|| expected("integer")),
            DataType::Bigint => canonical_integer(s)
                .map(|n| Value::String(n.to_string()))
                .ok_or_else(|| expected("integer")),
            DataType::Decimal => match values::parse_decimal(&Value::String(s.to_owned())) {
                Ok(d) => Ok(Value::String(d.to_string())),
                Err(values::NotDecimal::Malformed) => Err(expected("decimal")),
                Err(values::NotDecimal::TooPrecise) => {
                    Err(BadValue(values::DECIMAL_LIMIT.to_owned()))
                }
            },
            DataType::Float => s
                .parse::<f64>()
                .map(Value::from)
                .map_err(|_| expected("float")),
            DataType::Boolean => parse_bool(s).map(Value::Bool),
            // The first instant of the period the value names (`time_operand` reads the
            // operands of these fields whole).
            DataType::Date | DataType::Datetime => period(*dt, s).map(|p| Value::String(p.first)),
            DataType::Json => Err(BadValue(
                "This field cannot be filtered by value.".to_owned(),
            )),
        },
    }
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
                Operand::One(x) => present.iter().any(|v| {
                    cmp(v, x).is_some_and(|o| match self.op {
                        Operator::Lt => o.is_lt(),
                        Operator::Lte => o.is_le(),
                        Operator::Gt => o.is_gt(),
                        _ => o.is_ge(),
                    })
                }),
                _ => false,
            },
            // On to-many relationships and arrays, `contains` means "holds all the values".
            Operator::Contains if multi => match &self.operand {
                Operand::One(x) => present
                    .iter()
                    .any(|v| cmp(v, x) == Some(std::cmp::Ordering::Equal)),
                Operand::List(xs) => xs.iter().all(|x| {
                    present
                        .iter()
                        .any(|v| cmp(v, x) == Some(std::cmp::Ordering::Equal))
                }),
                _ => false,
            },
            Operator::NotContains if multi => match &self.operand {
                Operand::One(x) => !present
                    .iter()
                    .any(|v| cmp(v, x) == Some(std::cmp::Ordering::Equal)),
                Operand::List(xs) => !xs.iter().all(|x| {
                    present
                        .iter()
                        .any(|v| cmp(v, x) == Some(std::cmp::Ordering::Equal))
                }),
                _ => false,
            },
            Operator::Contains => text(&|v, n| v.contains(n)),
            Operator::NotContains => !text(&|v, n| v.contains(n)),
            Operator::StartsWith => text(&|v, n| v.starts_with(n)),
            Operator::NotStartsWith => !text(&|v, n| v.starts_with(n)),
            Operator::EndsWith => text(&|v, n| v.ends_with(n)),
            Operator::NotEndsWith => !text(&|v, n| v.ends_with(n)),
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
        let widen = |k: &str| !exact && is_cut(k, budget);
        let ranges = match (&self.op, &self.operand) {
            (Operator::Eq, Operand::One(v)) if exact => {
                vec![(Bound::Included(key(v)?), Bound::Included(key(v)?))]
            }
            (Operator::Eq, Operand::One(v)) => vec![point(v)?],
            (Operator::Eq | Operator::Contains, Operand::List(vs))
                if self.op == Operator::Eq || self.is_multi() =>
            {
                let mut keys: Vec<String> = vs.iter().map(key).collect::<Option<_>>()?;
                keys.sort();
                keys.dedup();
                if self.op == Operator::Contains {
                    // "holds all": any one value's range holds every match.
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
            (Operator::Contains, Operand::One(v)) if self.is_multi() => vec![point(v)?],
            (Operator::Eq, Operand::Range(lo, hi)) => {
                let (lo, hi) = (key(lo)?, key(hi)?);
                vec![(Bound::Included(lo), upper_inclusive(&hi, exact))]
            }
            (Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte, Operand::One(v)) => {
                let k = key(v)?;
                // Present values start at "1"; nulls ("0…") never match a comparison.
                let floor = if exact {
                    Bound::Unbounded
                } else {
                    Bound::Included("1".to_owned())
                };
                vec![match self.op {
                    Operator::Lt if !widen(&k) => (floor, Bound::Excluded(k)),
                    Operator::Lt | Operator::Lte => (floor, upper_inclusive(&k, exact)),
                    Operator::Gt if exact => (Bound::Excluded(k), Bound::Unbounded),
                    Operator::Gt if !widen(&k) => (
                        Bound::Included(format!(
                            "{k}{}",
                            char::from_u32(SEPARATOR as u32 + 1).expect("valid")
                        )),
                        Bound::Unbounded,
                    ),
                    _ => (Bound::Included(k), Bound::Unbounded),
                }]
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
