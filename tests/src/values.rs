//! Reading values out of documents: ids, attributes, decimals, datetimes, links.

use serde_json::Value;

/// The `id` of a resource object.
///
/// # Panics
/// When the resource has no string id.
pub fn id_of(resource: &Value) -> &str {
    match resource.get("id").and_then(Value::as_str) {
        Some(id) => id,
        None => panic!("no string id in {resource}"),
    }
}

/// The attribute `name` of a resource object (`Value::Null` when absent).
pub fn attr<'a>(resource: &'a Value, name: &str) -> &'a Value {
    resource
        .get("attributes")
        .and_then(|a| a.get(name))
        .unwrap_or(&Value::Null)
}

/// Whether the resource object has the attribute `name` at all.
pub fn has_attr(resource: &Value, name: &str) -> bool {
    resource
        .get("attributes")
        .and_then(|a| a.get(name))
        .is_some()
}

/// The linkage (`relationships.{name}.data`) of a resource object.
///
/// # Panics
/// When the relationship or its `data` is absent.
pub fn linkage<'a>(resource: &'a Value, name: &str) -> &'a Value {
    match resource
        .get("relationships")
        .and_then(|r| r.get(name))
        .and_then(|r| r.get("data"))
    {
        Some(data) => data,
        None => panic!("no relationships.{name}.data in {resource}"),
    }
}

/// The id of a to-one linkage, `None` for `null`.
///
/// # Panics
/// When the linkage is not a resource identifier or null.
pub fn to_one_id<'a>(resource: &'a Value, name: &str) -> Option<&'a str> {
    match linkage(resource, name) {
        Value::Null => None,
        Value::Object(o) => Some(
            o.get("id")
                .and_then(Value::as_str)
                .expect("a string id in the linkage"),
        ),
        other => panic!("relationships.{name}.data is not to-one: {other}"),
    }
}

/// The ids of a to-many linkage, in order.
///
/// # Panics
/// When the linkage is not an array.
pub fn to_many_ids(resource: &Value, name: &str) -> Vec<String> {
    match linkage(resource, name) {
        Value::Array(items) => items.iter().map(|i| id_of(i).to_owned()).collect(),
        other => panic!("relationships.{name}.data is not to-many: {other}"),
    }
}

/// A decimal written as text, normalised: no sign on zero, no leading zeros, no trailing zeros
/// after the point, no trailing point (`"012.500"` → `"12.5"`, `"-0.00"` → `"0"`).
///
/// # Panics
/// When `text` is not a plain decimal number.
pub fn normalize_decimal(text: &str) -> String {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(
        !(int.is_empty() && frac.is_empty())
            && int.chars().all(|c| c.is_ascii_digit())
            && frac.chars().all(|c| c.is_ascii_digit()),
        "{text:?} is not a decimal"
    );
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let magnitude = if frac.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    };
    if negative && magnitude != "0" {
        format!("-{magnitude}")
    } else {
        magnitude
    }
}

/// Asserts that `value` is a JSON string holding the decimal `expected` (in any scale).
///
/// # Panics
/// When `value` is not a string or holds another number.
pub fn assert_decimal(value: &Value, expected: &str) {
    let Some(text) = value.as_str() else {
        panic!("expected the decimal {expected:?} as a JSON string, got {value}");
    };
    assert_eq!(
        normalize_decimal(text),
        normalize_decimal(expected),
        "expected the decimal {expected}, got {text:?}"
    );
}

/// Formats an amount in hundredths (`1234` → `"12.34"`).
pub fn cents_to_decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// Whether `text` is a datetime in the API's format, `YYYY-MM-DDTHH:MM:SSZ`.
pub fn is_api_datetime(text: &str) -> bool {
    parse_api_datetime(text).is_some()
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` exactly.
pub fn parse_api_datetime(text: &str) -> Option<time::OffsetDateTime> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 20
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::PrimitiveDateTime::parse(text, &format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// Whether `text` is a ULID (26 characters of Crockford base32).
pub fn is_ulid(text: &str) -> bool {
    text.len() == 26
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || (c.is_ascii_alphabetic() && !"ILOUilou".contains(c)))
}

/// A link URL split into its path (everything before `?`) and its decoded query pairs.
pub fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (path.to_owned(), pairs)
}

/// The decoded query pairs of `url`, sorted (for order-insensitive comparison).
pub fn sorted_query(url: &str) -> Vec<(String, String)> {
    let mut pairs = split_url(url).1;
    pairs.sort();
    pairs
}

/// Every `links` member anywhere in `value` (their paths, like `/data/0/relationships/x/links`).
pub fn links_members(value: &Value) -> Vec<String> {
    fn walk(value: &Value, path: &str, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let child = format!("{path}/{k}");
                    if k == "links" {
                        out.push(child.clone());
                    }
                    // Attribute values are user data; a `links` key inside them is not a link.
                    if k != "attributes" {
                        walk(v, &child, out);
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{path}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, "", &mut out);
    out
}

/// Every link URL anywhere in `value` (strings and link objects' `href` under `links` members).
pub fn link_urls(value: &Value) -> Vec<String> {
    fn walk(value: &Value, in_links: bool, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if in_links {
                    for link in map.values() {
                        if let Some(href) = crate::conformance::link_href(link) {
                            out.push(href.to_owned());
                        }
                    }
                    return;
                }
                for (k, v) in map {
                    if k != "attributes" {
                        walk(v, k == "links", out);
                    }
                }
            }
            Value::Array(items) => {
                for v in items {
                    walk(v, false, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, false, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_normalise_to_one_spelling() {
        assert_eq!(normalize_decimal("012.500"), "12.5");
        assert_eq!(normalize_decimal("12"), "12");
        assert_eq!(normalize_decimal("12.00"), "12");
        assert_eq!(normalize_decimal("-0.00"), "0");
        assert_eq!(normalize_decimal(".5"), "0.5");
        assert_eq!(cents_to_decimal(2797), "27.97");
        assert_eq!(cents_to_decimal(5), "0.05");
    }

    #[test]
    fn api_datetimes_are_recognised_exactly() {
        assert!(is_api_datetime("2010-10-01T10:11:12Z"));
        assert!(!is_api_datetime("2010-10-01T10:11:12+00:00"));
        assert!(!is_api_datetime("2010-10-01T10:11:12.5Z"));
        assert!(!is_api_datetime("2010-13-01T10:11:12Z"));
    }

    #[test]
    fn urls_split_into_decoded_pairs() {
        let (path, pairs) = split_url("http://h/api/p?page%5Bsize%5D=5&page[number]=2");
        assert_eq!(path, "http://h/api/p");
        assert_eq!(
            pairs,
            vec![
                ("page[size]".to_owned(), "5".to_owned()),
                ("page[number]".to_owned(), "2".to_owned())
            ]
        );
    }
}
