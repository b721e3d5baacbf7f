//! JSON Schemas of attribute values, by data type and constraints, as the engine reads them
//! in requests and writes them in responses, and example values that pass them.

use jsonapi_config::{Attribute, DataType, Format, IdStrategy, Timestamp};
use serde_json::{Map, Number, Value, json};

/// `{"$ref": "#/components/schemas/{name}"}`
pub(crate) fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The schema of a value of `attr` in a response (`input: false`) or in a request.
pub(crate) fn attribute(attr: &Attribute, input: bool) -> Value {
    let mut schema = data_type(attr, input);
    let nullable = if input {
        // A required attribute cannot be blanked; others may be cleared when nullable.
        attr.nullable && !attr.required
    } else {
        // Rendered as null when the resource has no value: nullable ones, and those that are
        // neither required, defaulted nor kept by the engine.
        attr.nullable || !(attr.required || attr.default.is_some() || attr.timestamp.is_some())
    };
    if input && attr.required {
        not_blank(&mut schema, attr.data_type);
    }
    if let Some(default) = &attr.default {
        schema.insert("default".into(), default.clone());
    }
    let notes = notes(attr);
    if !notes.is_empty() {
        schema.insert("description".into(), notes.join(" ").into());
    }
    if !attr.writable() {
        schema.insert("readOnly".into(), true.into());
    }
    if !attr.readable() {
        schema.insert("writeOnly".into(), true.into());
    }
    let schema = Value::Object(schema);
    if nullable { or_null(schema) } else { schema }
}

/// What a reader of the documentation should know about an attribute beyond its schema.
fn notes(attr: &Attribute) -> Vec<String> {
    let mut notes: Vec<String> = attr.description.iter().cloned().collect();
    if attr.unique {
        notes.push("Unique across the type.".to_owned());
    }
    match attr.timestamp {
        Some(Timestamp::Created) => notes.push("Set by the server on create.".to_owned()),
        Some(Timestamp::Updated) => {
            notes.push("Set by the server on create and on every change.".to_owned());
        }
        None if attr.read_only => notes.push("Read-only: ignored when sent.".to_owned()),
        None => {}
    }
    if attr.direction == jsonapi_config::Direction::OutputOnly {
        notes.push("Output only: sending it is an error.".to_owned());
    }
    if attr.direction == jsonapi_config::Direction::InputOnly {
        notes.push("Input only: never returned.".to_owned());
    }
    if attr.data_type == DataType::Decimal && (attr.min.is_some() || attr.max.is_some()) {
        notes.push(format!(
            "Between {} and {}.",
            attr.min.as_deref().unwrap_or("any"),
            attr.max.as_deref().unwrap_or("any")
        ));
    }
    notes
}

/// A decimal as the engine writes it.
pub(crate) const DECIMAL: &str = r"^-?[0-9]+(\.[0-9]+)?$";
/// A 64-bit integer written as a string.
const BIGINT: &str = r"^-?[0-9]{1,18}$";

fn data_type(attr: &Attribute, input: bool) -> Map<String, Value> {
    let mut out = Map::new();
    let mut set = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    match attr.data_type {
        DataType::String | DataType::Text => out.extend(string_type(attr)),
        DataType::Integer | DataType::Float => out.extend(number_type(attr)),
        DataType::Bigint if input => {
            set(
                "anyOf",
                json!([
                    {"type": "integer", "format": "int64"},
                    {"type": "string", "pattern": BIGINT},
                ]),
            );
        }
        DataType::Bigint => {
            set("type", "string".into());
            set("pattern", BIGINT.into());
        }
        DataType::Decimal if input => set("anyOf", decimal_input(attr)),
        DataType::Decimal => {
            set("type", "string".into());
            set("pattern", DECIMAL.into());
        }
        DataType::Boolean => set("type", "boolean".into()),
        DataType::Date => {
            set("type", "string".into());
            set("format", "date".into());
        }
        DataType::Datetime => {
            set("type", "string".into());
            set("format", "date-time".into());
        }
        DataType::Enum => {
            set("type", "string".into());
            set("enum", attr.values.clone().into());
        }
        DataType::Strings => {
            set("type", "array".into());
            set("items", json!({"type": "string"}));
        }
        DataType::Json => set("type", "object".into()),
    }
    out
}

fn number(s: &str) -> Option<Value> {
    let n: Number = s.parse().ok()?;
    Some(Value::Number(n))
}

/// A string or text: its length bounds and format.
fn string_type(attr: &Attribute) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("type".into(), "string".into());
    if let Some(n) = attr.max_length {
        out.insert("maxLength".into(), n.into());
    }
    if let Some(n) = attr.min_length {
        out.insert("minLength".into(), n.into());
    }
    if attr.format == Some(Format::Email) {
        out.insert("format".into(), "email".into());
    }
    out
}

/// An integer (within 64 bits) or a float, within the attribute's bounds.
fn number_type(attr: &Attribute) -> Map<String, Value> {
    let integer = attr.data_type == DataType::Integer;
    let mut out = Map::new();
    out.insert(
        "type".into(),
        if integer { "integer" } else { "number" }.into(),
    );
    out.insert(
        "format".into(),
        if integer { "int64" } else { "double" }.into(),
    );
    let (lo, hi) = if integer {
        (Some(json!(i64::MIN)), Some(json!(i64::MAX)))
    } else {
        (None, None)
    };
    if let Some(min) = attr.min.as_deref().and_then(number).or(lo) {
        out.insert("minimum".into(), min);
    }
    if let Some(max) = attr.max.as_deref().and_then(number).or(hi) {
        out.insert("maximum".into(), max);
    }
    out
}

/// A decimal sent: a string of digits, or a number within the attribute's bounds.
fn decimal_input(attr: &Attribute) -> Value {
    let mut n = json!({"type": "number"});
    if let Some(min) = attr.min.as_deref().and_then(number) {
        n["minimum"] = min;
    }
    if let Some(max) = attr.max.as_deref().and_then(number) {
        n["maximum"] = max;
    }
    json!([{"type": "string", "pattern": DECIMAL, "examples": ["12.50"]}, n])
}

/// `required` means "not blank": a string with something besides white space, a non-empty
/// array.
fn not_blank(schema: &mut Map<String, Value>, dt: DataType) {
    match dt {
        DataType::String | DataType::Text => {
            schema.insert("pattern".into(), r"\S".into());
        }
        DataType::Strings => {
            schema.insert("minItems".into(), 1.into());
        }
        _ => {}
    }
}

/// `schema` or `null`.
pub(crate) fn or_null(schema: Value) -> Value {
    let mut o = Map::new();
    o.insert(
        "anyOf".into(),
        Value::Array(vec![schema, json!({"type": "null"})]),
    );
    Value::Object(o)
}

/// An id of a type with this id strategy.
pub(crate) fn id(strategy: IdStrategy) -> Value {
    match strategy {
        IdStrategy::Sequence => json!({
            "type": "string",
            "pattern": SEQUENCE_ID,
            "examples": ["1"],
        }),
        IdStrategy::Ulid => json!({
            "type": "string",
            "pattern": ULID,
            "examples": ["01J0000000000000000000000A"],
        }),
        IdStrategy::Client => json!({
            "type": "string",
            "minLength": 1,
            "maxLength": 255,
            "pattern": CLIENT_ID,
            "description": "Chosen by the client: at most 255 bytes of UTF-8, no control characters.",
        }),
    }
}

/// A sequence id: a positive integer without leading zeros.
pub(crate) const SEQUENCE_ID: &str = "^[1-9][0-9]{0,18}$";
/// A ULID (Crockford's base 32, either case).
const ULID: &str = "^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$";
/// A client-chosen id: no control characters.
const CLIENT_ID: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$";

/// A value that passes [`attribute`] for a request, to pre-fill the sandbox's bodies.
pub(crate) fn example(attr: &Attribute) -> Value {
    let number = |s: &Option<String>| s.as_deref().and_then(|s| s.parse::<f64>().ok());
    let within = |fallback: f64| {
        let lo = number(&attr.min).unwrap_or(f64::MIN);
        let hi = number(&attr.max).unwrap_or(f64::MAX);
        fallback.clamp(lo, hi)
    };
    match attr.data_type {
        DataType::String | DataType::Text => {
            let text = if attr.format == Some(Format::Email) {
                "someone@example.com".to_owned()
            } else {
                format!("{} example", attr.name)
            };
            let min = attr.min_length.unwrap_or(0);
            let max = attr.max_length.unwrap_or(usize::MAX);
            let mut text: String = text.chars().take(max).collect();
            while text.chars().count() < min {
                text.push('x');
            }
            text.into()
        }
        DataType::Integer | DataType::Bigint => {
            let n = within(1.0).ceil() as i64;
            if attr.data_type == DataType::Integer {
                n.into()
            } else {
                n.to_string().into()
            }
        }
        DataType::Decimal => format!("{:.2}", within(12.5)).into(),
        DataType::Float => within(1.5).into(),
        DataType::Boolean => true.into(),
        DataType::Date => "2025-01-31".into(),
        DataType::Datetime => "2025-01-31T12:00:00Z".into(),
        DataType::Enum => attr.values.first().cloned().unwrap_or_default().into(),
        DataType::Strings => json!(["example"]),
        DataType::Json => json!({}),
    }
}
