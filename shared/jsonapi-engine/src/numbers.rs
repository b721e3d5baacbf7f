//! Numbers as written: the exact value of a decimal numeral (`-12.50`, `1.5e3`), so that a
//! conversion that would drop digits (to a double, or to a 28-digit decimal) is told apart from
//! one that keeps them.

/// The exact value of a numeral: sign, significant digits and the power of ten of the last
/// digit. Equal values are equal whatever their form (`1.50`, `15e-1`, `0.15E1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exact {
    negative: bool,
    /// Significant digits, without leading or trailing zeros (empty for zero).
    digits: String,
    /// The power of ten of the last digit.
    exponent: i64,
}

impl Exact {
    /// Reads a numeral in JSON's syntax, leading zeros allowed (`-?\d+(\.\d+)?([eE][+-]?\d+)?`);
    /// `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
            Some((m, e)) => {
                let e = e.strip_prefix('+').unwrap_or(e);
                let digits = e.strip_prefix('-').unwrap_or(e);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                // Beyond this, no decimal or double holds the value anyway.
                (m, e.parse::<i64>().ok().filter(|e| e.abs() < 100_000)?)
            }
            None => (unsigned, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !all_digits(int) || !all_digits(frac) || mantissa.ends_with('.') {
            return None;
        }
        let joined = format!("{int}{frac}");
        let significant = joined.trim_start_matches('0');
        let trimmed = significant.trim_end_matches('0');
        let exponent = exponent - frac.len() as i64 + (significant.len() - trimmed.len()) as i64;
        Some(if trimmed.is_empty() {
            Self {
                negative: false,
                digits: String::new(),
                exponent: 0,
            }
        } else {
            Self {
                negative,
                digits: trimmed.to_owned(),
                exponent,
            }
        })
    }
}

/// An integer written the one way it prints (`-?[1-9]\d*` or `0`, within 64 bits), as the
/// model system reads integers in URLs: `007`, `+1`, `-0` and `1e2` are other strings, not
/// other spellings of a number.
pub(crate) fn canonical_integer(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().filter(|n| n.to_string() == text)
}

/// Whether a JSON number keeps its value as serde_json read it (into a double, unless it is a
/// whole number that fits 64 bits): false when digits were lost on the way (`0.1000000000000000001`
/// reads as `0.1`).
pub(crate) fn survives(literal: &str, read: &serde_json::Number) -> bool {
    match (Exact::parse(literal), Exact::parse(&read.to_string())) {
        (Some(written), Some(kept)) => written == kept,
        _ => false,
    }
}

/// A ULID as the API writes it: 26 upper-case Crockford base-32 characters within 128 bits
/// (the first at most `7`).
pub(crate) fn canonical_ulid(id: &str) -> bool {
    id.len() == 26
        && id.as_bytes()[0] <= b'7'
        && !id.bytes().any(|b| b.is_ascii_lowercase())
        && ulid::Ulid::from_string(id).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(s: &str) -> Exact {
        Exact::parse(s).unwrap_or_else(|| panic!("{s} is a numeral"))
    }

    #[test]
    fn equal_values_are_equal_whatever_their_form() {
        assert_eq!(exact("1.50"), exact("15e-1"));
        assert_eq!(exact("0.15E1"), exact("1.5"));
        assert_eq!(exact("100"), exact("1e2"));
        assert_eq!(exact("0"), exact("-0.000"));
        assert_eq!(exact("007"), exact("7"));
        assert_ne!(exact("1.5"), exact("-1.5"));
        assert_ne!(exact("0.1"), exact("0.1000000000000000001"));
        for bad in [
            "", "-", "1.", ".5", "1e", "1e+", "+1", "1x", "0x10", "1e999999", "1_0",
        ] {
            assert!(Exact::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn integers_in_urls_are_read_in_their_printed_form_only() {
        assert_eq!(canonical_integer("0"), Some(0));
        assert_eq!(canonical_integer("-1"), Some(-1));
        assert_eq!(canonical_integer("9223372036854775807"), Some(i64::MAX));
        for other in [
            "007",
            "+1",
            "-0",
            "1e2",
            "1.0",
            " 1",
            "9223372036854775808",
            "",
        ] {
            assert_eq!(canonical_integer(other), None, "{other}");
        }
    }

    #[test]
    fn lost_digits_are_noticed() {
        let read = |s: &str| match serde_json::from_str::<serde_json::Value>(s).unwrap() {
            serde_json::Value::Number(n) => n,
            other => panic!("{other}"),
        };
        for kept in [
            "0.1",
            "1e2",
            "-0",
            "12.50",
            "9007199254740993",
            "1.7976931348623157e308",
        ] {
            assert!(survives(kept, &read(kept)), "{kept}");
        }
        for lost in [
            "0.1000000000000000001",
            "1234567890123456789012345678901234567890",
            "9007199254740993.0",
        ] {
            assert!(!survives(lost, &read(lost)), "{lost}");
        }
    }
}
