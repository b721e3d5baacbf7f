//! Paging through a partition, and items large enough to cross a backend's page size.

use std::ops::Bound;

use serde_json::{Value, json};

use super::support::{Suite, attrs, ok, put};
use crate::{Key, RangeQuery, Store, Write};

impl<S: Store> Suite<'_, S> {
    pub(super) async fn paging(&self) {
        let pk = self.pk("paging");
        let sks: Vec<String> = (0..12).map(|i| format!("item{i:02}")).collect();
        let writes: Vec<Write> = sks
            .iter()
            .map(|sk| put(&Key::new(pk.clone(), sk.as_str()), json!({"sk": sk})))
            .collect();
        self.write("paging setup", writes).await;
        for limit in [1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 100] {
            for reverse in [false, true] {
                let query = RangeQuery {
                    reverse,
                    ..RangeQuery::partition(pk.clone(), limit)
                };
                let mut want = sks.clone();
                if reverse {
                    want.reverse();
                }
                let mut got = Vec::new();
                let mut pages = 0;
                let mut page_query = query.clone();
                loop {
                    let page = ok("page", self.store.query(&page_query).await);
                    pages += 1;
                    for item in &page.items {
                        assert_eq!(
                            item.attrs,
                            attrs(json!({"sk": item.key.sk})),
                            "a page mixed up attributes"
                        );
                    }
                    got.extend(page.items.iter().map(|i| i.key.sk.clone()));
                    match page.next {
                        Some(next) => page_query.after = Some(next),
                        None => break,
                    }
                    assert!(pages <= sks.len(), "paging does not end");
                }
                assert_eq!(
                    got, want,
                    "pages of {limit} (reverse: {reverse}) must yield every item once, in order"
                );
                assert_eq!(
                    pages,
                    sks.len().div_ceil(limit),
                    "{} items in pages of {limit} take {} pages, not {pages} (no empty last page)",
                    sks.len(),
                    sks.len().div_ceil(limit)
                );
                assert_eq!(self.read_all(&query).await, want);
                assert_eq!(
                    ok("count", self.store.count(&query).await),
                    sks.len() as u64
                );
                let after = RangeQuery {
                    after: Some(want[4].clone()),
                    ..query.clone()
                };
                assert_eq!(
                    ok("count after", self.store.count(&after).await),
                    (sks.len() - 5) as u64,
                    "count after a cursor"
                );
            }
        }
    }

    /// Items large enough that a read crosses DynamoDB's 1 MB page.
    pub(super) async fn large_items(&self) {
        let pk = self.pk("large");
        let big = "x".repeat(300 * 1024);
        for i in 0..5 {
            self.write(
                "large item",
                vec![put(
                    &Key::new(pk.clone(), format!("{i}")),
                    json!({"data": big, "i": i}),
                )],
            )
            .await;
        }
        let query = RangeQuery::partition(pk.clone(), 4);
        assert_eq!(self.read_all(&query).await, vec!["0", "1", "2", "3", "4"]);
        let page = ok("large page", self.store.query(&query).await);
        assert_eq!(page.items.len(), 4, "a page of large items came back short");
        assert_eq!(page.next.as_deref(), Some("3"));
        assert!(
            page.items
                .iter()
                .all(|i| i.attrs.get("data").and_then(Value::as_str) == Some(big.as_str()))
        );
        assert_eq!(
            ok("count of large items", self.store.count(&query).await),
            5
        );
        let reverse = RangeQuery {
            reverse: true,
            from: Bound::Excluded("0".to_owned()),
            ..query.clone()
        };
        assert_eq!(self.read_all(&reverse).await, vec!["4", "3", "2", "1"]);
        assert_eq!(
            ok("count of large items", self.store.count(&reverse).await),
            4
        );
    }
}
