//! Range queries: every combination of bounds, directions and cursors, checked against the
//! expected keys, read in pages and counted.

use std::ops::Bound;

use serde_json::json;

use super::support::{Suite, attrs, ok, put};
use crate::{Key, QueryPage, RangeQuery, Store, Write};

/// The sort keys the bounds are queried over, including neighbours of the bound values.
const RANGE_SKS: [&str; 7] = ["a", "b", "c", "d", "e", "ba", "b\u{1}z"];

/// The sort keys of `all` (any order) that `query` covers, in the order it must return them.
pub(super) fn expected(all: &[&str], query: &RangeQuery) -> Vec<String> {
    let (from, to) = query.remaining_bounds();
    let mut keys: Vec<String> = all
        .iter()
        .filter(|sk| {
            let above = match from {
                Bound::Included(a) => **sk >= a,
                Bound::Excluded(a) => **sk > a,
                Bound::Unbounded => true,
            };
            let below = match to {
                Bound::Included(b) => **sk <= b,
                Bound::Excluded(b) => **sk < b,
                Bound::Unbounded => true,
            };
            above && below
        })
        .map(|sk| (*sk).to_owned())
        .collect();
    keys.sort();
    if query.reverse {
        keys.reverse();
    }
    keys
}

/// Every bound of the range tests: unbounded, and each value included and excluded.
fn range_bounds() -> Vec<Bound<String>> {
    let values = ["", "a", "b", "b\u{1}", "bb", "e", "f"];
    std::iter::once(Bound::Unbounded)
        .chain(values.iter().flat_map(|v| {
            [
                Bound::Included((*v).to_owned()),
                Bound::Excluded((*v).to_owned()),
            ]
        }))
        .collect()
}

impl<S: Store> Suite<'_, S> {
    /// Reads a whole range page by page, checking the paging contract on the way, and returns
    /// the sort keys in the order read.
    pub(super) async fn read_all(&self, query: &RangeQuery) -> Vec<String> {
        let mut query = query.clone();
        let mut keys = Vec::new();
        let mut pages = 0;
        loop {
            let QueryPage { items, next } =
                ok(&format!("query {query:?}"), self.store.query(&query).await);
            pages += 1;
            assert!(pages < 10_000, "query {query:?}: paging does not end");
            assert!(
                items.len() <= query.limit,
                "query {query:?}: {} items over the limit",
                items.len()
            );
            if let Some(after) = query.after.as_ref().filter(|_| pages > 1) {
                assert!(
                    !items.is_empty(),
                    "query {query:?}: next = {after:?} was returned but no item follows it"
                );
            }
            for item in &items {
                assert_eq!(
                    item.key.pk, query.pk,
                    "query {query:?}: an item of another partition"
                );
            }
            keys.extend(items.iter().map(|i| i.key.sk.clone()));
            match next {
                None => return keys,
                Some(next) => {
                    assert_eq!(
                        items.len(),
                        query.limit,
                        "query {query:?}: a short page that has a next page"
                    );
                    assert_eq!(
                        Some(&next),
                        items.last().map(|i| &i.key.sk),
                        "query {query:?}: the cursor is not the last sort key of the page"
                    );
                    query.after = Some(next);
                }
            }
        }
    }

    pub(super) async fn query_bounds(&self) {
        let pk = self.pk("range");
        let writes: Vec<Write> = RANGE_SKS
            .iter()
            .enumerate()
            .map(|(i, sk)| put(&Key::new(pk.clone(), *sk), json!({"n": i})))
            .collect();
        self.write("range setup", writes).await;
        // Neighbouring partitions that must never show up.
        self.write(
            "neighbours",
            vec![
                put(&self.key("rang", "b"), json!({})),
                put(&self.key("range2", "b"), json!({})),
                put(&self.key("range#", "b"), json!({})),
            ],
        )
        .await;

        let bounds = range_bounds();
        for from in &bounds {
            for to in &bounds {
                for reverse in [false, true] {
                    let query = RangeQuery {
                        pk: pk.clone(),
                        from: from.clone(),
                        to: to.clone(),
                        reverse,
                        limit: 2,
                        after: None,
                    };
                    self.check_range(&query).await;
                }
            }
        }
        self.empty_partition().await;
    }

    /// One range of `RANGE_SKS`: read in pages and in one page, counted, and resumed from
    /// cursors that are no stored key.
    async fn check_range(&self, query: &RangeQuery) {
        let want = expected(&RANGE_SKS, query);
        assert_eq!(
            self.read_all(query).await,
            want,
            "query {query:?} in pages of 2"
        );
        let whole = ok(
            "query",
            self.store
                .query(&RangeQuery {
                    limit: 100,
                    ..query.clone()
                })
                .await,
        );
        let got: Vec<&str> = whole.items.iter().map(|i| i.key.sk.as_str()).collect();
        assert_eq!(got, want, "query {query:?} in one page");
        assert_eq!(whole.next, None, "query {query:?}: next on the only page");
        for item in &whole.items {
            let n = RANGE_SKS
                .iter()
                .position(|sk| *sk == item.key.sk)
                .unwrap_or_default();
            assert_eq!(
                item.attrs,
                attrs(json!({"n": n})),
                "query returned other attributes"
            );
        }
        let count = ok("count", self.store.count(query).await);
        assert_eq!(count, want.len() as u64, "count of {query:?}");
        // A cursor that is no stored key, inside and outside the range.
        for after in ["bz", "0", "z"] {
            let resumed = RangeQuery {
                after: Some(after.to_owned()),
                ..query.clone()
            };
            let want = expected(&RANGE_SKS, &resumed);
            assert_eq!(self.read_all(&resumed).await, want, "query {resumed:?}");
            assert_eq!(
                ok("count", self.store.count(&resumed).await),
                want.len() as u64,
                "count of {resumed:?}"
            );
        }
    }

    async fn empty_partition(&self) {
        let empty = RangeQuery::partition(self.pk("no such partition"), 10);
        assert_eq!(
            ok(
                "query of an empty partition",
                self.store.query(&empty).await
            ),
            QueryPage::default()
        );
        assert_eq!(
            ok(
                "count of an empty partition",
                self.store.count(&empty).await
            ),
            0
        );
    }
}
