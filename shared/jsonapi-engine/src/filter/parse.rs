//! Parsing one `filter[...]` parameter: the declared filter it names, its operator, and its
//! value(s) parsed by the field's data type.

use jsonapi_config::{DataType, Filter, FilterTarget, IdStrategy, Operator, ResourceType, Schema};
use serde_json::Value;

use super::{Field, Operand, PathPredicate, Predicate};
use crate::error::{ApiError, ErrorKind};
use crate::numbers::{canonical_integer, canonical_ulid};
use crate::periods::{Kind, Period};
use crate::values;

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
            // Read as the URL's id is (`engine::check_id`): a lower-case ULID is no id.
            IdStrategy::Ulid => canonical_ulid(s)
                .then(|| Value::String(s.to_owned()))
                .ok_or_else(|| expected("ULID")),
            IdStrategy::Client => Ok(Value::String(s.to_owned())),
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
