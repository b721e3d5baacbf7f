//! Items as DynamoDB attribute maps, and JSON values as attribute values, losslessly.
//!
//! | JSON | DynamoDB |
//! |---|---|
//! | string | `S` |
//! | integer | `N` (plain digits) |
//! | float with a fraction, `1e-130 <= |x| < 1e126` | `N` (read back as a float: it keeps its `.`/exponent) |
//! | any other float (`1.0`, `-0.0`, `1e300`, `5e-324`) | `B` holding its JSON text |
//! | bool / null | `BOOL` / `NULL` |
//! | array / object | `L` / `M` |
//!
//! DynamoDB normalises numbers (`1.0` is stored as `1`) and refuses magnitudes outside
//! 1e-130..1e126, so the floats it would turn into integers or refuse travel as `B`, which no
//! other JSON value uses; the conversion is deterministic, so an equality condition compares
//! like with like (an integer `1` never equals a float `1.0`, as in the embedded backend).
//!
//! Attribute names: the key attributes `pk`/`sk` and DynamoDB's ban on empty names would collide
//! with item attributes of those names, so a name that is `pk` or `sk` (top level only), empty,
//! or starts with `~` is stored with one more `~` in front, and read back without it.
//! Objects read back with their keys in ascending order (DynamoDB keeps no order).

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use jsonapi_store::{Attrs, Item, Key, StoreError, StoreResult};
use serde_json::{Map, Number, Value};

use crate::table::{PARTITION_KEY, SORT_KEY};

/// An item's (or a key's) DynamoDB representation.
pub type AttrMap = HashMap<String, AttributeValue>;

const ESCAPE: char = '~';

/// The stored name of an attribute (`top`: a top-level attribute of an item).
pub fn escape_name(name: &str, top: bool) -> String {
    let reserved = name.is_empty()
        || name.starts_with(ESCAPE)
        || (top && (name == PARTITION_KEY || name == SORT_KEY));
    if reserved {
        format!("{ESCAPE}{name}")
    } else {
        name.to_owned()
    }
}

fn unescape_name(stored: &str) -> &str {
    stored.strip_prefix(ESCAPE).unwrap_or(stored)
}

/// Whether DynamoDB's `N` would give this float back as a float of the same value.
fn float_fits_number(f: f64) -> bool {
    let magnitude = f.abs();
    f.is_finite() && f.fract() != 0.0 && (1e-130..1e126).contains(&magnitude)
}

/// A JSON value as an attribute value.
pub fn to_attribute(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && !float_fits_number(f) => {
                AttributeValue::B(Blob::new(n.to_string()))
            }
            _ => AttributeValue::N(n.to_string()),
        },
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(values) => AttributeValue::L(values.iter().map(to_attribute).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| (escape_name(k, false), to_attribute(v)))
                .collect(),
        ),
    }
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("unexpected stored value: {what}"))
}

fn float(text: &str) -> StoreResult<Value> {
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| corrupt(format!("number {text}")))
}

fn number(text: &str) -> StoreResult<Value> {
    if text.contains(['.', 'e', 'E']) {
        return float(text);
    }
    let int = if text.starts_with('-') {
        text.parse::<i64>().ok().map(Number::from)
    } else {
        text.parse::<u64>().ok().map(Number::from)
    };
    // An integer beyond 64 bits was not written by this store; read it as serde_json would.
    int.map_or_else(|| float(text), |n| Ok(Value::Number(n)))
}

/// An attribute value as a JSON value.
pub fn from_attribute(value: &AttributeValue) -> StoreResult<Value> {
    Ok(match value {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(text) => number(text)?,
        AttributeValue::B(blob) => {
            let text =
                std::str::from_utf8(blob.as_ref()).map_err(|_| corrupt("binary attribute"))?;
            float(text)?
        }
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::L(values) => Value::Array(
            values
                .iter()
                .map(from_attribute)
                .collect::<StoreResult<_>>()?,
        ),
        AttributeValue::M(map) => Value::Object(from_map(map, false)?),
        other => return Err(corrupt(format!("{other:?}"))),
    })
}

/// Attributes read back with their names unescaped, in ascending name order.
fn from_map(map: &AttrMap, top: bool) -> StoreResult<Map<String, Value>> {
    let mut entries: Vec<(&str, &AttributeValue)> = map
        .iter()
        .filter(|(name, _)| !(top && (name.as_str() == PARTITION_KEY || name.as_str() == SORT_KEY)))
        .map(|(name, value)| (unescape_name(name), value))
        .collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries
        .into_iter()
        .map(|(name, value)| Ok((name.to_owned(), from_attribute(value)?)))
        .collect()
}

/// The key attributes of `key`.
pub fn key_map(pk: &str, sk: &str) -> AttrMap {
    HashMap::from([
        (PARTITION_KEY.to_owned(), AttributeValue::S(pk.to_owned())),
        (SORT_KEY.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

/// An item's attribute map: its key and its escaped attributes.
pub fn item_map(item: &Item) -> AttrMap {
    let mut map = key_map(&item.key.pk, &item.key.sk);
    map.extend(
        item.attrs
            .iter()
            .map(|(name, value)| (escape_name(name, true), to_attribute(value))),
    );
    map
}

fn key_part<'a>(map: &'a AttrMap, name: &str) -> StoreResult<&'a str> {
    match map.get(name) {
        Some(AttributeValue::S(s)) => Ok(s),
        _ => Err(corrupt(format!("item without a string {name}"))),
    }
}

/// The key of a stored item.
pub fn key_of(map: &AttrMap) -> StoreResult<Key> {
    Ok(Key::new(
        key_part(map, PARTITION_KEY)?,
        key_part(map, SORT_KEY)?,
    ))
}

/// A stored item.
pub fn item_from(map: &AttrMap) -> StoreResult<Item> {
    Ok(Item {
        key: key_of(map)?,
        attrs: attrs_from(map)?,
    })
}

/// A stored item's attributes.
pub fn attrs_from(map: &AttrMap) -> StoreResult<Attrs> {
    from_map(map, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(value: &Value) -> Value {
        from_attribute(&to_attribute(value)).unwrap()
    }

    #[test]
    fn numbers_keep_their_kind() {
        for v in [
            json!(0),
            json!(-1),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1.5),
            json!(-2.25e-7),
        ] {
            assert_eq!(round_trip(&v), v);
            assert!(matches!(to_attribute(&v), AttributeValue::N(_)), "{v}");
        }
        for v in [
            json!(1.0),
            json!(-0.0),
            json!(1e300),
            json!(5e-324),
            json!(1e126),
            json!(123456789.0),
        ] {
            let back = round_trip(&v);
            assert_eq!(back, v);
            assert!(back.is_f64());
            assert!(matches!(to_attribute(&v), AttributeValue::B(_)), "{v}");
        }
        // What DynamoDB gives back for numbers it normalised.
        assert_eq!(
            from_attribute(&AttributeValue::N("0.00000015".into())).unwrap(),
            json!(1.5e-7)
        );
        assert_eq!(
            from_attribute(&AttributeValue::N("1.5E-7".into())).unwrap(),
            json!(1.5e-7)
        );
        assert_eq!(
            from_attribute(&AttributeValue::N("-12".into())).unwrap(),
            json!(-12)
        );
    }

    #[test]
    fn names_that_collide_are_escaped_reversibly() {
        for (name, top, stored) in [
            ("pk", true, "~pk"),
            ("sk", true, "~sk"),
            ("pk", false, "pk"),
            ("", true, "~"),
            ("", false, "~"),
            ("~x", true, "~~x"),
            ("x~", true, "x~"),
            ("next", true, "next"),
        ] {
            assert_eq!(escape_name(name, top), stored);
            assert_eq!(unescape_name(stored), name);
        }
    }

    #[test]
    fn items_round_trip() {
        let attrs = json!({
            "pk": "mine", "sk": 2, "": null, "~": [true, {"": 1, "~a": {"pk": []}}],
            "s": "", "o": {}, "l": [], "f": 0.5
        });
        let item = Item {
            key: Key::new("p", "s"),
            attrs: attrs.as_object().unwrap().clone(),
        };
        let back = item_from(&item_map(&item)).unwrap();
        assert_eq!(back, item);
        let names: Vec<&String> = back.attrs.keys().collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }
}
