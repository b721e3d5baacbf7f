//! How a sort-key range becomes one DynamoDB Query.
//!
//! A key condition holds one sort-key test (`=`, `<`, `<=`, `>`, `>=`, `BETWEEN` (inclusive),
//! `begins_with`), so an exclusive bound beside another bound needs help:
//! - the exclusive bound where the read starts (the lower one ascending, the upper one
//!   descending) becomes the `ExclusiveStartKey`, with the inclusive test in the condition;
//! - an exclusive bound where the read ends, beside an exclusive start, becomes the strict test;
//! - an exclusive end beside an inclusive start is read inclusively and its one item (the last
//!   in reading order) is dropped; a count reads the other way round instead, so it never drops.
//!
//! A prefix range (`[p, prefix_end(p))`) is `begins_with`.
//! DynamoDB sort keys are never empty, so `""` as a lower bound is no bound, and a range that
//! holds no key is answered without a request (DynamoDB refuses an inverted `BETWEEN`).

use std::ops::Bound;

/// The sort-key test of the key condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SkTest {
    /// No test: the whole partition.
    Any,
    /// `sk >= v`.
    Ge(String),
    /// `sk > v`.
    Gt(String),
    /// `sk <= v`.
    Le(String),
    /// `sk < v`.
    Lt(String),
    /// `sk BETWEEN a AND b`, both included.
    Between(String, String),
    /// `begins_with(sk, p)`.
    BeginsWith(String),
}

/// One Query (then its follow-up pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The sort-key test.
    pub(crate) test: SkTest,
    /// Ascending when `true` (`ScanIndexForward`).
    pub(crate) forward: bool,
    /// The sort key of the `ExclusiveStartKey` of the first request.
    pub(crate) start_after: Option<String>,
    /// The last item in reading order is dropped when it has this sort key.
    pub(crate) drop_last: Option<String>,
}

fn value<'a>(bound: &Bound<&'a str>) -> Option<&'a str> {
    match bound {
        Bound::Included(v) | Bound::Excluded(v) => Some(v),
        Bound::Unbounded => None,
    }
}

/// Whether `[start, end)` is exactly the set of strings starting with `start`: `end` is `start`
/// with its last char replaced by the next one (what `prefix_end` gives in the common case).
fn is_prefix_range(start: &str, end: &str) -> bool {
    let mut chars = start.chars();
    let Some(last) = chars.next_back() else {
        return false;
    };
    let Some(next) = char::from_u32(u32::from(last) + 1) else {
        return false;
    };
    end.strip_prefix(chars.as_str())
        .is_some_and(|rest| rest.len() == next.len_utf8() && rest.starts_with(next))
}

/// The Query for the sort keys within `(from, to)`, read in the given direction; `None` when
/// no sort key can be in the range.
pub(crate) fn plan(from: Bound<&str>, to: Bound<&str>, forward: bool) -> Option<Plan> {
    // No sort key is empty: "" below everything is no bound, "" above everything leaves nothing.
    let from = match from {
        Bound::Included("") | Bound::Excluded("") => Bound::Unbounded,
        other => other,
    };
    if matches!(to, Bound::Included("") | Bound::Excluded("")) {
        return None;
    }
    if let (Some(a), Some(b)) = (value(&from), value(&to)) {
        let touching =
            a == b && (matches!(from, Bound::Excluded(_)) || matches!(to, Bound::Excluded(_)));
        if a > b || touching {
            return None;
        }
    }
    let simple = |test| Plan {
        test,
        forward,
        start_after: None,
        drop_last: None,
    };
    Some(match (from, to) {
        (Bound::Unbounded, Bound::Unbounded) => simple(SkTest::Any),
        (Bound::Included(a), Bound::Unbounded) => simple(SkTest::Ge(a.to_owned())),
        (Bound::Excluded(a), Bound::Unbounded) => simple(SkTest::Gt(a.to_owned())),
        (Bound::Unbounded, Bound::Included(b)) => simple(SkTest::Le(b.to_owned())),
        (Bound::Unbounded, Bound::Excluded(b)) => simple(SkTest::Lt(b.to_owned())),
        (Bound::Included(a), Bound::Excluded(b)) if is_prefix_range(a, b) => {
            simple(SkTest::BeginsWith(a.to_owned()))
        }
        (lower, upper) => {
            let (a, b) = (
                value(&lower).unwrap_or_default(),
                value(&upper).unwrap_or_default(),
            );
            let (start, end) = if forward {
                (lower, upper)
            } else {
                (upper, lower)
            };
            let between = SkTest::Between(a.to_owned(), b.to_owned());
            match (start, end) {
                (Bound::Excluded(s), Bound::Excluded(_)) => Plan {
                    test: if forward {
                        SkTest::Lt(b.to_owned())
                    } else {
                        SkTest::Gt(a.to_owned())
                    },
                    forward,
                    start_after: Some(s.to_owned()),
                    drop_last: None,
                },
                (Bound::Excluded(s), _) => Plan {
                    test: between,
                    forward,
                    start_after: Some(s.to_owned()),
                    drop_last: None,
                },
                (_, Bound::Excluded(e)) => Plan {
                    test: between,
                    forward,
                    start_after: None,
                    drop_last: Some(e.to_owned()),
                },
                _ => simple(between),
            }
        }
    })
}

/// The Query that counts the range: the direction that needs no dropped item.
pub(crate) fn count_plan(from: Bound<&str>, to: Bound<&str>) -> Option<Plan> {
    let forward = plan(from, to, true)?;
    if forward.drop_last.is_none() {
        Some(forward)
    } else {
        plan(from, to, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Bound::{Excluded as X, Included as I, Unbounded as U};

    fn p(
        test: SkTest,
        forward: bool,
        start_after: Option<&str>,
        drop_last: Option<&str>,
    ) -> Option<Plan> {
        Some(Plan {
            test,
            forward,
            start_after: start_after.map(str::to_owned),
            drop_last: drop_last.map(str::to_owned),
        })
    }

    fn s(v: &str) -> String {
        v.to_owned()
    }

    #[test]
    fn single_bounds_use_one_operator() {
        assert_eq!(plan(U, U, true), p(SkTest::Any, true, None, None));
        assert_eq!(
            plan(I("a"), U, false),
            p(SkTest::Ge(s("a")), false, None, None)
        );
        assert_eq!(
            plan(X("a"), U, true),
            p(SkTest::Gt(s("a")), true, None, None)
        );
        assert_eq!(
            plan(U, I("b"), true),
            p(SkTest::Le(s("b")), true, None, None)
        );
        assert_eq!(
            plan(U, X("b"), false),
            p(SkTest::Lt(s("b")), false, None, None)
        );
        assert_eq!(
            plan(I(""), X("b"), true),
            p(SkTest::Lt(s("b")), true, None, None)
        );
    }

    #[test]
    fn two_bounds() {
        let between = || SkTest::Between(s("a"), s("c"));
        assert_eq!(plan(I("a"), I("c"), true), p(between(), true, None, None));
        assert_eq!(
            plan(X("a"), I("c"), true),
            p(between(), true, Some("a"), None)
        );
        assert_eq!(
            plan(X("a"), I("c"), false),
            p(between(), false, None, Some("a"))
        );
        assert_eq!(
            plan(I("a"), X("c"), true),
            p(between(), true, None, Some("c"))
        );
        assert_eq!(
            plan(I("a"), X("c"), false),
            p(between(), false, Some("c"), None)
        );
        assert_eq!(
            plan(X("a"), X("c"), true),
            p(SkTest::Lt(s("c")), true, Some("a"), None)
        );
        assert_eq!(
            plan(X("a"), X("c"), false),
            p(SkTest::Gt(s("a")), false, Some("c"), None)
        );
    }

    #[test]
    fn counts_never_drop() {
        assert_eq!(
            count_plan(I("a"), X("c")),
            p(SkTest::Between(s("a"), s("c")), false, Some("c"), None)
        );
        assert_eq!(
            count_plan(X("a"), I("c")),
            p(SkTest::Between(s("a"), s("c")), true, Some("a"), None)
        );
    }

    #[test]
    fn prefixes_use_begins_with() {
        assert_eq!(
            plan(I("ab"), X("ac"), false),
            p(SkTest::BeginsWith(s("ab")), false, None, None)
        );
        assert_eq!(
            plan(I("a\u{1}"), X("a\u{2}"), true),
            p(SkTest::BeginsWith(s("a\u{1}")), true, None, None)
        );
        // prefix_end skips the surrogate gap; that range is wider than the prefix.
        assert!(!is_prefix_range("a\u{D7FF}", "b"));
        assert!(!is_prefix_range("ab", "ac\u{1}"));
        assert!(!is_prefix_range("", "a"));
        assert!(is_prefix_range("日", "旦"));
    }

    #[test]
    fn empty_ranges_need_no_request() {
        assert_eq!(plan(I("b"), I("a"), true), None);
        assert_eq!(plan(I("a"), X("a"), true), None);
        assert_eq!(plan(X("a"), I("a"), false), None);
        assert_eq!(plan(U, X(""), true), None);
        assert_eq!(plan(U, I(""), true), None);
        assert!(plan(I("a"), I("a"), true).is_some());
    }
}
