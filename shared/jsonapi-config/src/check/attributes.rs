//! One attribute: which of its settings apply to its data type, and its default.

use serde_json::Value;

use super::names::check_description;
use super::problem::{Checked, Problem, problem};
use crate::raw::RawAttribute;
use crate::schema::{Attribute, DataType};

pub(super) fn check_attribute(path: &[&str], name: &str, raw: &RawAttribute) -> Checked<Attribute> {
    let (min, max) = check_bounds(path, raw)?;
    let values = check_values(path, raw)?;
    check_kind_settings(path, raw)?;
    check_default(path, name, raw, &values)?;
    Ok(Attribute {
        name: name.to_owned(),
        data_type: raw.data_type,
        description: check_description(path, raw.description.as_ref())?,
        required: raw.required,
        nullable: raw.nullable.unwrap_or(!raw.required),
        max_length: raw.max_length,
        min_length: raw.min_length,
        min,
        max,
        values,
        format: raw.format,
        unique: raw.unique,
        default: raw.default.clone(),
        read_only: raw.read_only,
        direction: raw.direction,
        timestamp: raw.timestamp,
        localizable: raw.localizable,
        money: raw.money,
    })
}

/// A problem with the setting `k` of the attribute at `path`.
fn fail(path: &[&str], k: &str, message: impl Into<String>) -> Problem {
    let mut key = path.to_vec();
    key.push(k);
    problem(&key, message)
}

/// Length bounds on strings, `min` and `max` on numbers; returns `min` and `max` as the
/// decimal text they are compared by.
fn check_bounds(path: &[&str], raw: &RawAttribute) -> Checked<(Option<String>, Option<String>)> {
    let dt = raw.data_type;
    let is_string = matches!(dt, DataType::String | DataType::Text);
    let is_number = matches!(
        dt,
        DataType::Integer | DataType::Bigint | DataType::Decimal | DataType::Float
    );
    if (raw.max_length.is_some() || raw.min_length.is_some()) && !is_string {
        return Err(fail(
            path,
            "maxLength",
            "maxLength and minLength apply to string and text attributes only",
        ));
    }
    let bound = |k: &str, v: &Option<Value>| -> Checked<Option<String>> {
        match v {
            None => Ok(None),
            Some(_) if !is_number => Err(fail(
                path,
                k,
                "min and max apply to numeric attributes only",
            )),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::String(s)) if s.parse::<f64>().is_ok() => Ok(Some(s.clone())),
            Some(_) => Err(fail(path, k, "must be a number")),
        }
    };
    Ok((bound("min", &raw.min)?, bound("max", &raw.max)?))
}

/// An enum's values: required for enums, and for nothing else.
fn check_values(path: &[&str], raw: &RawAttribute) -> Checked<Vec<String>> {
    match (&raw.values, raw.data_type) {
        (Some(v), DataType::Enum) if !v.is_empty() => Ok(v.clone()),
        (_, DataType::Enum) => Err(fail(
            path,
            "values",
            "an enum attribute needs a non-empty list of values",
        )),
        (Some(_), _) => Err(fail(path, "values", "values apply to enum attributes only")),
        (None, _) => Ok(Vec::new()),
    }
}

/// `format`, `unique` and `timestamp`, each of which only some data types can have.
fn check_kind_settings(path: &[&str], raw: &RawAttribute) -> Checked<()> {
    let dt = raw.data_type;
    if raw.format.is_some() && dt != DataType::String {
        return Err(fail(
            path,
            "format",
            "format applies to string attributes only",
        ));
    }
    if raw.unique && !matches!(dt, DataType::String | DataType::Integer | DataType::Bigint) {
        return Err(fail(
            path,
            "unique",
            "unique applies to string, integer and bigint attributes",
        ));
    }
    if raw.timestamp.is_some() && dt != DataType::Datetime {
        return Err(fail(
            path,
            "timestamp",
            "timestamp applies to datetime attributes only",
        ));
    }
    Ok(())
}

/// The default, if any, must be a value of the attribute's data type (one of `values` for an
/// enum).
fn check_default(path: &[&str], name: &str, raw: &RawAttribute, values: &[String]) -> Checked<()> {
    let Some(default) = &raw.default else {
        return Ok(());
    };
    let fits = match raw.data_type {
        DataType::Boolean => default.is_boolean(),
        DataType::Integer | DataType::Float => default.is_number(),
        DataType::Bigint | DataType::Decimal => default.is_number() || default.is_string(),
        DataType::Enum => default
            .as_str()
            .is_some_and(|s| values.iter().any(|v| v == s)),
        DataType::Strings => default
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        DataType::Json => default.is_object(),
        _ => default.is_string(),
    };
    if fits {
        Ok(())
    } else {
        Err(fail(
            path,
            "default",
            format!("the default does not fit the data type of \"{name}\""),
        ))
    }
}
