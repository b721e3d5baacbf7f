//! Sort-key order: keys across ASCII, control characters and every UTF-8 length must order
//! byte-wise, forwards, backwards and within a range across scripts.

use std::ops::Bound;

use super::ranges::expected;
use super::support::{Suite, ok};
use crate::{Key, RangeQuery, Store};

/// Sort keys around the boundaries of each UTF-8 encoding length, in no particular order.
const ORDER_SKS: [&str; 35] = [
    "a",
    "a\u{1}",
    "a\u{1}b",
    "a\u{1}\u{1}",
    "a\u{1}\u{2}",
    "a\u{2}",
    "a b",
    "a~",
    "a\u{7f}",
    "aé",
    "a\u{7ff}",
    "a\u{800}",
    "a日本",
    "a\u{D7FF}",
    "a\u{E000}",
    "a\u{FF5E}",
    "a\u{FFFD}",
    "a\u{10000}",
    "a😀",
    "a\u{10FFFF}",
    "A",
    "Z",
    "_",
    "ä",
    "z",
    "0",
    "9",
    "#",
    "~",
    "\u{1}",
    "\u{7f}",
    "é\u{1}",
    "é",
    "日",
    "😀",
];

impl<S: Store> Suite<'_, S> {
    pub(super) async fn byte_order(&self) {
        let pk = self.pk("order");
        self.put_key_only("order setup", &pk, &ORDER_SKS).await;
        for sk in ORDER_SKS {
            assert!(
                self.get(&Key::new(pk.clone(), sk)).await.is_some(),
                "unicode key {sk:?} is missing"
            );
        }
        let mut want: Vec<String> = ORDER_SKS.iter().map(|s| (*s).to_owned()).collect();
        want.sort(); // byte-wise, as UTF-8
        let query = RangeQuery::partition(pk.clone(), 7);
        assert_eq!(
            self.read_all(&query).await,
            want,
            "sort keys must order byte-wise (UTF-8)"
        );
        let mut reversed = want.clone();
        reversed.reverse();
        assert_eq!(
            self.read_all(&RangeQuery {
                reverse: true,
                ..query.clone()
            })
            .await,
            reversed
        );
        let between = RangeQuery {
            from: Bound::Excluded("a\u{1}".to_owned()),
            to: Bound::Included("a\u{10000}".to_owned()),
            ..query.clone()
        };
        assert_eq!(
            self.read_all(&between).await,
            expected(&ORDER_SKS, &between),
            "a range across scripts"
        );
        assert_eq!(
            ok("count", self.store.count(&between).await),
            expected(&ORDER_SKS, &between).len() as u64
        );
    }
}
