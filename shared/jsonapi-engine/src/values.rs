//! Attribute values: checking input against the data type and constraints, the stored form,
//! the output form, and sort keys that order like the values.

use std::str::FromStr;

use jsonapi_config::{Attribute, DataType, Format};
use jsonapi_store::limits::MAX_SORT_KEY_BYTES;
use rust_decimal::Decimal;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::error::{ApiError, ErrorKind};
use crate::numbers::Exact;

/// A datetime as the API writes it: UTC, seconds, `Z`.
pub(crate) fn format_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&f).expect("every UTC datetime formats")
}

fn form_error(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::Form, detail)
}

/// Parses a datetime in any RFC 3339 form, or without an offset (taken as UTC).
pub(crate) fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    PrimitiveDateTime::parse(s, &f)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

pub(crate) fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
}

/// Why a value is not a decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotDecimal {
    /// Not a number, nor a string holding one.
    Malformed,
    /// A number with more digits than [`Decimal`] keeps: refused rather than rounded.
    TooPrecise,
}

/// What a decimal can hold, for the detail of [`NotDecimal::TooPrecise`].
pub(crate) const DECIMAL_LIMIT: &str = "A decimal keeps at most 28 significant digits (28 of them at most after the point); this value has more, and is not rounded.";

/// A decimal given as a JSON number or as a string holding one (`"12.50"`, `"1.5e3"`), exactly
/// as written: a value with more digits than a decimal keeps is refused, never rounded.
pub(crate) fn parse_decimal(v: &Value) -> Result<Decimal, NotDecimal> {
    let text = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return Err(NotDecimal::Malformed),
    };
    let written = Exact::parse(&text).ok_or(NotDecimal::Malformed)?;
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(&text)
    } else {
        Decimal::from_str(&text)
    };
    match parsed {
        Ok(d) if Exact::parse(&d.to_string()).as_ref() == Some(&written) => Ok(d),
        _ => Err(NotDecimal::TooPrecise),
    }
}

/// A value is blank for `required`: null, an empty or whitespace-only string, an empty array.
pub(crate) fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Checks a value sent for `attr` and returns its stored form. `null` is left to the caller.
pub(crate) fn accept(attr: &Attribute, v: &Value) -> Result<Value, ApiError> {
    let stored = match attr.data_type {
        DataType::String | DataType::Text => accept_string(attr, v)?,
        DataType::Enum => accept_enum(attr, v)?,
        DataType::Integer => {
            let n = whole_number(v).ok_or_else(|| expected("integer"))?;
            check_range(attr, Decimal::from(n))?;
            Value::from(n)
        }
        DataType::Bigint => accept_bigint(attr, v)?,
        DataType::Decimal => accept_decimal(attr, v)?,
        DataType::Float => accept_float(attr, v)?,
        DataType::Boolean => Value::Bool(v.as_bool().ok_or_else(|| expected("boolean"))?),
        DataType::Date => {
            let d = v
                .as_str()
                .and_then(parse_date)
                .ok_or_else(|| form_error("This value is not a valid date; use YYYY-MM-DD."))?;
            Value::String(d.to_string())
        }
        DataType::Datetime => {
            let t = v.as_str().and_then(parse_datetime).ok_or_else(|| {
                form_error("This value is not a valid datetime; use YYYY-MM-DDTHH:MM:SSZ.")
            })?;
            Value::String(format_datetime(t))
        }
        DataType::Strings => {
            let items = v.as_array().ok_or_else(|| expected("array of strings"))?;
            if !items.iter().all(Value::is_string) {
                return Err(expected("array of strings"));
            }
            v.clone()
        }
        DataType::Json => {
            if !v.is_object() {
                return Err(expected("object"));
            }
            v.clone()
        }
    };
    Ok(stored)
}

fn expected(what: &str) -> ApiError {
    form_error(format!("This value should be of type {what}."))
}

/// A string or text within its length (and its format, for an email).
fn accept_string(attr: &Attribute, v: &Value) -> Result<Value, ApiError> {
    let s = v.as_str().ok_or_else(|| expected("string"))?;
    check_length(attr, s)?;
    if attr.format == Some(Format::Email) && !email_address::EmailAddress::is_valid(s) {
        return Err(ApiError::new(
            ErrorKind::Email,
            "This value is not a valid email address.",
        ));
    }
    Ok(Value::String(s.to_owned()))
}

/// One of the attribute's choices.
fn accept_enum(attr: &Attribute, v: &Value) -> Result<Value, ApiError> {
    let s = v.as_str().ok_or_else(|| expected("string"))?;
    if !attr.values.iter().any(|x| x == s) {
        return Err(ApiError::new(
            ErrorKind::Choice,
            format!(
                "The value you selected is not a valid choice. Valid choices: {}.",
                attr.values.join(", ")
            ),
        ));
    }
    Ok(Value::String(s.to_owned()))
}

/// A 64-bit integer, as a number or a string of digits; stored as a string (JSON readers
/// would round it).
fn accept_bigint(attr: &Attribute, v: &Value) -> Result<Value, ApiError> {
    let n = match v {
        Value::Number(_) => whole_number(v),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| expected("bigint (an integer, or a string of digits)"))?;
    check_range(attr, Decimal::from(n))?;
    Ok(Value::String(n.to_string()))
}

/// A decimal, as a number or a string; stored as a string with its digits kept.
fn accept_decimal(attr: &Attribute, v: &Value) -> Result<Value, ApiError> {
    let d = parse_decimal(v).map_err(|e| match e {
        NotDecimal::Malformed => expected("decimal (a number or a string like \"12.50\")"),
        NotDecimal::TooPrecise => form_error(DECIMAL_LIMIT),
    })?;
    check_range(attr, d)?;
    Ok(Value::String(d.to_string()))
}

/// A float within the attribute's range.
fn accept_float(attr: &Attribute, v: &Value) -> Result<Value, ApiError> {
    // A string holds a number whose digits a JSON number would have lost on the way
    // (the request document keeps those as written); it is a float all the same.
    let f = match v {
        Value::String(s) if Exact::parse(s.trim()).is_some() => s.trim().parse().ok(),
        _ => v.as_f64(),
    }
    .ok_or_else(|| expected("float"))?;
    if let Ok(d) = Decimal::try_from(f) {
        check_range(attr, d)?;
    }
    Ok(Value::from(f))
}

/// A JSON number that is a whole number within 64 bits, however written: `3`, `3.0`, `3e0`,
/// and `-0` (which is 0). Numbers whose digits serde_json could not keep never get here as
/// numbers (the request document keeps them as written, as strings).
fn whole_number(v: &Value) -> Option<i64> {
    // 2^63: `as` would saturate at and beyond it.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && (-LIMIT..LIMIT).contains(f))
            .map(|f| f as i64)
    })
}

fn check_length(attr: &Attribute, s: &str) -> Result<(), ApiError> {
    let len = s.chars().count();
    if let Some(max) = attr.max_length.filter(|m| len > *m) {
        return Err(ApiError::new(
            ErrorKind::Length,
            format!("This value is too long. It should have {max} characters or less."),
        ));
    }
    if let Some(min) = attr.min_length.filter(|m| len < *m) {
        return Err(ApiError::new(
            ErrorKind::Length,
            format!("This value is too short. It should have {min} characters or more."),
        ));
    }
    Ok(())
}

fn check_range(attr: &Attribute, n: Decimal) -> Result<(), ApiError> {
    let bound = |b: &Option<String>| b.as_deref().and_then(|s| Decimal::from_str(s).ok());
    if let Some(min) = bound(&attr.min).filter(|m| n < *m) {
        return Err(ApiError::new(
            ErrorKind::Range,
            format!("This value should be {min} or more."),
        ));
    }
    if let Some(max) = bound(&attr.max).filter(|m| n > *m) {
        return Err(ApiError::new(
            ErrorKind::Range,
            format!("This value should be {max} or less."),
        ));
    }
    Ok(())
}

/// A not-null violation.
pub(crate) fn not_null() -> ApiError {
    ApiError::new(ErrorKind::NotNull, "This value should not be null.")
}

/// A not-blank violation.
pub(crate) fn not_blank() -> ApiError {
    ApiError::new(ErrorKind::NotBlank, "This value should not be blank.")
}

/// The sort key of a stored value: keys order like the values, and `null` sorts first.
/// Arrays index each element separately, so they have one key per element.
pub(crate) fn sort_keys(data_type: DataType, v: &Value) -> Vec<String> {
    match (data_type, v) {
        (_, Value::Null) => vec!["0".to_owned()],
        (DataType::Strings, Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| format!("1{}", escape(s)))
            .collect(),
        (DataType::Json, _) => Vec::new(),
        (dt, v) => scalar_key(dt, v)
            .map(|k| format!("1{k}"))
            .into_iter()
            .collect(),
    }
}

fn scalar_key(data_type: DataType, v: &Value) -> Option<String> {
    Some(match data_type {
        DataType::String
        | DataType::Text
        | DataType::Enum
        | DataType::Date
        | DataType::Datetime => escape(v.as_str()?),
        DataType::Integer => int_key(v.as_i64()?),
        DataType::Bigint => int_key(v.as_str()?.parse().ok()?),
        DataType::Decimal => decimal_key(Decimal::from_str(v.as_str()?).ok()?),
        DataType::Float => float_key(v.as_f64()?),
        DataType::Boolean => if v.as_bool()? { "1" } else { "0" }.to_owned(),
        DataType::Strings | DataType::Json => return None,
    })
}

/// Flipping the sign bit makes two's complement order like unsigned order.
pub(crate) fn int_key(n: i64) -> String {
    format!("{:016x}", (n as u64) ^ (1 << 63))
}

fn float_key(f: f64) -> String {
    let bits = f.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    format!("{ordered:016x}")
}

/// Fixed-point digits (29 integer, 28 fraction, the range of `Decimal`); negative numbers
/// take the nines' complement so that a larger magnitude sorts lower.
fn decimal_key(d: Decimal) -> String {
    let abs = d.abs();
    let int = abs.trunc().to_string();
    let frac = (abs.fract()).to_string();
    let frac = frac.strip_prefix("0.").unwrap_or("");
    let digits = format!("{int:0>29}{frac:0<28}");
    if d.is_sign_negative() && !d.is_zero() {
        let complement: String = digits
            .chars()
            .map(|c| char::from(b'9' - (c as u8 - b'0') + b'0'))
            .collect();
        format!("n{complement}")
    } else {
        format!("p{digits}")
    }
}

/// The most bytes of an id key (a client id's length limit; sequence and ULID keys are
/// shorter).
pub(crate) const MAX_ID_KEY_BYTES: usize = 255;

/// The most bytes of a value key kept whole when it is the only value in an index entry's sort
/// key (`{value key}\u{1}{id key}`): what the sort key leaves beside the longest id key and the
/// separator, less the 4 bytes a cut key may end past its budget (764).
pub(crate) const VALUE_KEY_BYTES: usize =
    MAX_SORT_KEY_BYTES - MAX_ID_KEY_BYTES - SEPARATOR.len_utf8() - CUT_MARK.len_utf8();

/// The same for each of the two value keys of a composite index entry
/// (`{first}\u{1}{second}\u{1}{id key}`) (379).
pub(crate) const PAIRED_VALUE_KEY_BYTES: usize =
    (MAX_SORT_KEY_BYTES - MAX_ID_KEY_BYTES - 2 * SEPARATOR.len_utf8()) / 2 - CUT_MARK.len_utf8();

/// Ends a cut key: the greatest character, so a cut key sorts after every whole key that
/// shares its prefix.
const CUT_MARK: char = char::MAX;

/// The key an index entry holds for a value key: the key itself when it has at most `budget`
/// bytes; otherwise its longest prefix of whole characters within `budget`, followed by
/// [`CUT_MARK`].
///
/// Cutting keeps the order (`a <= b` gives `index_key(a) <= index_key(b)`): two keys that
/// differ within the kept prefix compare there; a key whose next character does not fit is
/// cut where every greater key sharing the prefix is cut too (UTF-8 lengths grow with code
/// points). A cut key is longer than `budget` and a whole one is not, so the values that share
/// a cut key (a "group") are exactly the entries holding it: readers re-check the stored
/// value and order a group in memory.
pub(crate) fn index_key(key: &str, budget: usize) -> String {
    if key.len() <= budget {
        return key.to_owned();
    }
    let mut end = budget;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = String::with_capacity(end + CUT_MARK.len_utf8());
    cut.push_str(&key[..end]);
    cut.push(CUT_MARK);
    cut
}

/// Whether an index key (as [`index_key`] gives it) was cut from a longer value key.
pub(crate) fn is_cut(index_key: &str, budget: usize) -> bool {
    index_key.len() > budget
}

/// The separator between the parts of an index sort key. Values escape the characters up to
/// it, so that the separator sorts below any character a value can hold and `"a"` sorts
/// before `"ab"`.
pub(crate) const SEPARATOR: char = '\u{1}';

pub(crate) fn escape(s: &str) -> String {
    if !s.chars().any(|c| c <= '\u{2}') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if c <= '\u{2}' {
            out.push('\u{2}');
            out.push(char::from(c as u8 + b'0'));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_keys_order_like_numbers() {
        let ints = [-5_i64, -1, 0, 1, 7, 10, 1_000_000];
        let keys: Vec<_> = ints.iter().map(|n| int_key(*n)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        let decs = [
            "-100.5", "-2", "-1.99", "0", "0.001", "1", "1.5", "10", "100.25",
        ];
        let keys: Vec<_> = decs
            .iter()
            .map(|s| decimal_key(Decimal::from_str(s).unwrap()))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        let floats = [-3.5, -0.1, 0.0, 0.1, 2.0, 1e10];
        let keys: Vec<_> = floats.iter().map(|f| float_key(*f)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    }

    #[test]
    fn string_keys_order_like_strings_and_null_first() {
        let mut keys: Vec<String> = ["b", "a", "ab", ""]
            .iter()
            .map(|s| format!("{}{SEPARATOR}", escape(s)))
            .collect();
        keys.sort();
        assert_eq!(keys[0], format!("{SEPARATOR}"));
        assert_eq!(keys[1], format!("a{SEPARATOR}"));
        assert_eq!(keys[2], format!("ab{SEPARATOR}"));
        assert!(
            sort_keys(DataType::String, &Value::Null)[0]
                < sort_keys(DataType::String, &"".into())[0]
        );
    }

    /// Every string of up to four characters from an alphabet of 1- to 4-byte characters (and
    /// the characters that are escaped or end cut keys), cut to every budget around their
    /// lengths: cut keys order like the keys, and a cut key is never a whole one.
    #[test]
    fn cut_keys_keep_the_order_of_the_keys() {
        let alphabet = ["\u{1}", "a", "z", "é", "€", "\u{FFFF}", "𝄞", "\u{10FFFF}"];
        let mut level = vec![String::new()];
        let mut strings = level.clone();
        for _ in 0..4 {
            level = level
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(level.iter().cloned());
        }
        let mut keys: Vec<String> = strings.iter().map(|s| format!("1{}", escape(s))).collect();
        keys.sort();
        keys.dedup();
        for budget in 4..=10 {
            let cut: Vec<String> = keys.iter().map(|k| index_key(k, budget)).collect();
            for (k, c) in keys.iter().zip(&cut) {
                assert_eq!(is_cut(c, budget), k.len() > budget, "{k:?} → {c:?}");
                assert!(c.len() <= budget + 4, "{c:?}");
                if !is_cut(c, budget) {
                    assert_eq!(c, k);
                }
            }
            // Sorted keys give sorted cut keys, also as entries followed by a separator.
            for (w, k) in cut.windows(2).zip(keys.windows(2)) {
                assert!(w[0] <= w[1], "budget {budget}: {k:?} → {w:?}");
                assert!(
                    format!("{}{SEPARATOR}", w[0]) <= format!("{}{SEPARATOR}", w[1]),
                    "budget {budget}: {k:?} → {w:?}"
                );
            }
        }
    }

    #[test]
    fn datetimes_are_normalised_to_utc() {
        let t = parse_datetime("2024-03-11T19:41:17+02:00").unwrap();
        assert_eq!(format_datetime(t), "2024-03-11T17:41:17Z");
    }
}
