//! Prefix queries: sort keys sharing a prefix, with the lowest and highest characters right
//! after it, read forwards and backwards in pages of several sizes and counted.

use super::support::{Suite, ok};
use crate::{RangeQuery, Store};

/// The stored sort keys, in no particular order.
const PREFIX_SKS: [&str; 10] = [
    "ab",
    "ab\u{1}x",
    "ab\u{1}y",
    "abc",
    "ab\u{10FFFF}",
    "a",
    "ac",
    "b",
    "aa\u{10FFFF}",
    "ab\u{1}\u{1}",
];

/// Every stored sort key in byte-wise (UTF-8) order: each prefix case below returns a run of it.
const ORDERED_SKS: [&str; 10] = [
    "a",
    "aa\u{10FFFF}",
    "ab",
    "ab\u{1}\u{1}",
    "ab\u{1}x",
    "ab\u{1}y",
    "abc",
    "ab\u{10FFFF}",
    "ac",
    "b",
];

/// Each prefix queried, with the sort keys it must return in order.
fn prefix_cases() -> [(&'static str, &'static [&'static str]); 7] {
    [
        ("ab", &ORDERED_SKS[2..8]),
        ("ab\u{1}", &ORDERED_SKS[3..6]),
        ("a", &ORDERED_SKS[..9]),
        ("aa", &ORDERED_SKS[1..2]),
        ("abc", &ORDERED_SKS[6..7]),
        ("abd", &[]),
        ("", &ORDERED_SKS),
    ]
}

impl<S: Store> Suite<'_, S> {
    pub(super) async fn prefix_queries(&self) {
        let pk = self.pk("prefix");
        self.put_key_only("prefix setup", &pk, &PREFIX_SKS).await;
        for (prefix, want) in prefix_cases() {
            for limit in [1, 2, 100] {
                let mut query = RangeQuery::prefix(pk.clone(), prefix, limit);
                assert_eq!(
                    self.read_all(&query).await,
                    want,
                    "prefix {prefix:?}, limit {limit}"
                );
                assert_eq!(
                    ok("count", self.store.count(&query).await),
                    want.len() as u64,
                    "count of prefix {prefix:?}"
                );
                query.reverse = true;
                let mut reversed = want.to_vec();
                reversed.reverse();
                assert_eq!(
                    self.read_all(&query).await,
                    reversed,
                    "reverse prefix {prefix:?}, limit {limit}"
                );
            }
        }
    }
}
