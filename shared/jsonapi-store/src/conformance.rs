//! The storage conformance suite: what every backend of the port must do, written once and run
//! by each backend's tests (feature `conformance`).
//!
//! ```ignore
//! jsonapi_store::conformance::run_all(&store, "run-42").await;
//! ```
//!
//! Every check panics with a message naming what went wrong. Data lives under partition keys
//! that start with `prefix`, so several runs can share one store.

use std::future::Future;
use std::ops::Bound;
use std::pin::Pin;
use std::task::Poll;

use serde_json::{Value, json};

use crate::{
    Attrs, Condition, Item, Key, QueryPage, RangeQuery, Store, StoreError, StoreResult, Write,
};

/// Runs every check against `store`, keeping its data under partition keys starting with `prefix`.
pub async fn run_all<S: Store>(store: &S, prefix: &str) {
    let t = Suite { store, prefix };
    t.put_get_delete().await;
    t.values_round_trip().await;
    t.batch_get().await;
    t.conditions().await;
    t.failed_transactions_write_nothing().await;
    t.check_writes().await;
    t.empty_transaction().await;
    t.query_bounds().await;
    t.prefix_queries().await;
    t.paging().await;
    t.large_items().await;
    t.allocate().await;
    t.concurrent_allocate().await;
    t.byte_order().await;
}

struct Suite<'a, S> {
    store: &'a S,
    prefix: &'a str,
}

fn attrs(value: Value) -> Attrs {
    match value {
        Value::Object(map) => map,
        other => panic!("test attributes must be an object, not {other}"),
    }
}

fn put(key: &Key, value: Value) -> Write {
    Write::Put {
        item: Item {
            key: key.clone(),
            attrs: attrs(value),
        },
        condition: None,
    }
}

fn put_if(key: &Key, value: Value, condition: Condition) -> Write {
    Write::Put {
        item: Item {
            key: key.clone(),
            attrs: attrs(value),
        },
        condition: Some(condition),
    }
}

fn delete_if(key: &Key, condition: Option<Condition>) -> Write {
    Write::Delete {
        key: key.clone(),
        condition,
    }
}

fn check(key: &Key, condition: Condition) -> Write {
    Write::Check {
        key: key.clone(),
        condition,
    }
}

fn equals(name: &str, value: Value) -> Condition {
    Condition::Equals {
        name: name.to_owned(),
        value,
    }
}

fn ok<T>(what: &str, result: StoreResult<T>) -> T {
    result.unwrap_or_else(|e| panic!("{what}: unexpected error {e:?}"))
}

fn sorted_keys(items: &[Item]) -> Vec<Key> {
    let mut keys: Vec<Key> = items.iter().map(|i| i.key.clone()).collect();
    keys.sort();
    keys
}

/// Polls every future to completion concurrently (a small `join_all`).
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// The sort keys of `all` (any order) that `query` covers, in the order it must return them.
fn expected(all: &[&str], query: &RangeQuery) -> Vec<String> {
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

impl<S: Store> Suite<'_, S> {
    fn key(&self, partition: &str, sk: &str) -> Key {
        Key::new(format!("{}/{partition}", self.prefix), sk)
    }

    fn pk(&self, partition: &str) -> String {
        format!("{}/{partition}", self.prefix)
    }

    async fn get(&self, key: &Key) -> Option<Attrs> {
        let found = ok(&format!("get {key:?}"), self.store.get(key).await);
        if let Some(item) = &found {
            assert_eq!(&item.key, key, "get returned another item's key");
        }
        found.map(|i| i.attrs)
    }

    async fn write(&self, what: &str, writes: Vec<Write>) {
        ok(what, self.store.transact(writes).await);
    }

    async fn must_fail_at(&self, what: &str, writes: Vec<Write>, index: usize) {
        match self.store.transact(writes).await {
            Err(StoreError::ConditionFailed { index: i }) => {
                assert_eq!(
                    i, index,
                    "{what}: the failure names write {i}, not the first failing write {index}"
                );
            }
            other => panic!("{what}: expected ConditionFailed {{ index: {index} }}, got {other:?}"),
        }
    }

    /// Reads a whole range page by page, checking the paging contract on the way, and returns
    /// the sort keys in the order read.
    async fn read_all(&self, query: &RangeQuery) -> Vec<String> {
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

    async fn put_get_delete(&self) {
        let a = self.key("crud", "#");
        let b = self.key("crud", "b");
        assert_eq!(self.get(&a).await, None, "a fresh store holds the item");
        self.write(
            "put",
            vec![
                put(&a, json!({"name": "one", "version": 1})),
                put(&b, json!({})),
            ],
        )
        .await;
        assert_eq!(
            self.get(&a).await,
            Some(attrs(json!({"name": "one", "version": 1})))
        );
        assert_eq!(
            self.get(&b).await,
            Some(Attrs::new()),
            "a key-only item reads back empty"
        );
        assert_eq!(
            self.get(&self.key("crud", "#x")).await,
            None,
            "a neighbouring key is found"
        );
        assert_eq!(
            self.get(&self.key("crud2", "#")).await,
            None,
            "a neighbouring partition is found"
        );

        self.write("replace", vec![put(&a, json!({"other": true}))])
            .await;
        assert_eq!(
            self.get(&a).await,
            Some(attrs(json!({"other": true}))),
            "a put replaces every attribute"
        );

        self.write("delete", vec![delete_if(&a, None)]).await;
        assert_eq!(self.get(&a).await, None, "a deleted item is still there");
        self.write("delete of an absent item", vec![delete_if(&a, None)])
            .await;
        assert_eq!(
            self.get(&b).await,
            Some(Attrs::new()),
            "delete removed another item"
        );
    }

    async fn values_round_trip(&self) {
        let key = self.key("values", "#");
        let value = json!({
            "string": "héllo wörld ✓ 日本語 😀",
            "empty": "",
            "zero": 0,
            "int": 42,
            "negative": -7,
            "big": u64::MAX,
            "small": i64::MIN,
            "float": 2.5,
            "tiny": 1.5e-7,
            "integral float": 1.0,
            "negative float": -3.0,
            "huge float": 1e300,
            "smallest float": 5e-324,
            "true": true,
            "false": false,
            "null": null,
            "list": [1, "two", 3.5, 4.0, null, false, [], {}],
            "empty list": [],
            "object": {"a": {"b": {"c": [1, {"d": "e"}]}}, "pk": "nested", "": 1, "~": 2},
            "empty object": {},
            "pk": "an attribute named like the partition key",
            "sk": 7,
            "next": 3,
            "~tilde": "x",
            "": "an empty name",
            "with space": 1,
            "quote\"d": 1,
            "unicode ключ": 1,
        });
        self.write("put every kind of value", vec![put(&key, value.clone())])
            .await;
        let back = self
            .get(&key)
            .await
            .unwrap_or_else(|| panic!("the item of every value kind is missing"));
        for (name, expected) in attrs(value.clone()) {
            let got = back.get(&name);
            assert_eq!(
                got,
                Some(&expected),
                "attribute {name:?} does not read back as written"
            );
            if let (Some(Value::Number(got)), Value::Number(expected)) = (got, &expected) {
                assert_eq!(
                    (got.is_u64(), got.is_i64(), got.is_f64()),
                    (expected.is_u64(), expected.is_i64(), expected.is_f64()),
                    "attribute {name:?}: the number {expected} comes back as another kind of number ({got})"
                );
            }
        }
        assert_eq!(back, attrs(value), "the attributes differ");
        let items = ok(
            "batch_get values",
            self.store.batch_get(std::slice::from_ref(&key)).await,
        );
        assert_eq!(items.len(), 1);
        assert_eq!(
            Some(&items[0].attrs),
            Some(&back),
            "batch_get reads other values than get"
        );
    }

    async fn batch_get(&self) {
        let present: Vec<Key> = (0..60)
            .map(|i| self.key(&format!("batch{}", i % 3), &format!("{i:03}")))
            .collect();
        let absent: Vec<Key> = (0..40)
            .map(|i| self.key(&format!("batch{}", i % 4), &format!("absent{i}")))
            .collect();
        let writes: Vec<Write> = present
            .iter()
            .map(|k| put(k, json!({"sk": k.sk})))
            .collect();
        self.write("batch setup", writes).await;

        let mut keys: Vec<Key> = present.iter().chain(&absent).cloned().collect();
        keys.reverse();
        assert_eq!(keys.len(), crate::limits::MAX_BATCH_GET);
        let items = ok("batch_get of 100 keys", self.store.batch_get(&keys).await);
        assert_eq!(
            sorted_keys(&items),
            {
                let mut p = present.clone();
                p.sort();
                p
            },
            "batch_get must return exactly the present keys"
        );
        for item in &items {
            assert_eq!(
                item.attrs,
                attrs(json!({"sk": item.key.sk})),
                "batch_get mixed up attributes"
            );
        }

        let few = vec![absent[0].clone(), present[5].clone(), absent[1].clone()];
        let items = ok("batch_get of 3 keys", self.store.batch_get(&few).await);
        assert_eq!(sorted_keys(&items), vec![present[5].clone()]);
        assert!(ok("batch_get of no key", self.store.batch_get(&[]).await).is_empty());
        assert!(
            ok(
                "batch_get of absent keys",
                self.store.batch_get(&absent[..3]).await
            )
            .is_empty()
        );
    }

    async fn conditions(&self) {
        let item = self.key("cond", "#");
        let other = self.key("cond", "other");
        let never = self.key("cond", "never");
        let base = json!({
            "version": 3, "name": "x", "flag": true, "nothing": null,
            "obj": {"a": [1, 2], "b": "c"}, "list": ["p", 1], "f": 1.5, "whole": 2.0
        });

        // Absent.
        self.write(
            "put if absent on a new item",
            vec![put_if(&item, base.clone(), Condition::Absent)],
        )
        .await;
        self.must_fail_at(
            "put if absent on an existing item",
            vec![put_if(&item, json!({"v": 0}), Condition::Absent)],
            0,
        )
        .await;
        assert_eq!(
            self.get(&item).await,
            Some(attrs(base.clone())),
            "a failed put if absent wrote"
        );

        // Present.
        self.must_fail_at(
            "put if present on an absent item",
            vec![put_if(&never, json!({}), Condition::Present)],
            0,
        )
        .await;
        assert_eq!(
            self.get(&never).await,
            None,
            "a failed put if present wrote"
        );
        self.write(
            "put if present on an existing item",
            vec![put_if(&item, base.clone(), Condition::Present)],
        )
        .await;

        // Equals, passing, for each kind of value.
        for (name, value) in attrs(base.clone()) {
            self.write(
                &format!("put if {name} equals its value"),
                vec![put_if(&item, base.clone(), equals(&name, value))],
            )
            .await;
        }
        // Equals, failing.
        let failing = [
            ("version", json!(4), "another number"),
            ("version", json!(3.0), "the same number as a float"),
            ("version", json!("3"), "the number as a string"),
            ("name", json!("y"), "another string"),
            ("flag", json!(false), "another bool"),
            ("flag", json!(null), "null for a bool"),
            ("nothing", json!(false), "false for null"),
            ("obj", json!({"a": [1, 2]}), "an object missing a member"),
            (
                "obj",
                json!({"a": [2, 1], "b": "c"}),
                "an object with a list in another order",
            ),
            ("list", json!([1, "p"]), "a list in another order"),
            ("f", json!(1.25), "another float"),
            ("whole", json!(2), "the integer for an integral float"),
            ("missing", json!(null), "null for a missing attribute"),
            ("missing", json!(1), "a value for a missing attribute"),
        ];
        for (name, value, what) in failing {
            self.must_fail_at(
                &format!("put if {name} equals {what}"),
                vec![put_if(&item, json!({"changed": true}), equals(name, value))],
                0,
            )
            .await;
        }
        assert_eq!(
            self.get(&item).await,
            Some(attrs(base.clone())),
            "a failed put if equals wrote"
        );
        self.must_fail_at(
            "equals on an absent item",
            vec![put_if(&never, json!({}), equals("version", json!(3)))],
            0,
        )
        .await;
        self.must_fail_at(
            "equals null on an absent item",
            vec![put_if(&never, json!({}), equals("a", json!(null)))],
            0,
        )
        .await;
        assert_eq!(self.get(&never).await, None);

        // Conditional deletes.
        self.write(
            "delete if absent on an absent item",
            vec![delete_if(&never, Some(Condition::Absent))],
        )
        .await;
        self.must_fail_at(
            "delete if present on an absent item",
            vec![delete_if(&never, Some(Condition::Present))],
            0,
        )
        .await;
        self.must_fail_at(
            "delete if absent on an existing item",
            vec![delete_if(&item, Some(Condition::Absent))],
            0,
        )
        .await;
        self.must_fail_at(
            "delete if version differs",
            vec![delete_if(&item, Some(equals("version", json!(2))))],
            0,
        )
        .await;
        assert_eq!(
            self.get(&item).await,
            Some(attrs(base.clone())),
            "a failed conditional delete deleted"
        );
        self.write("put other", vec![put(&other, json!({"version": 1}))])
            .await;
        self.write(
            "delete if present",
            vec![delete_if(&other, Some(Condition::Present))],
        )
        .await;
        assert_eq!(
            self.get(&other).await,
            None,
            "delete if present did not delete"
        );
        self.write(
            "delete if version matches",
            vec![delete_if(&item, Some(equals("version", json!(3))))],
        )
        .await;
        assert_eq!(
            self.get(&item).await,
            None,
            "delete if version matches did not delete"
        );

        // Conditions on attributes named like the key attributes.
        self.write(
            "put pk attribute",
            vec![put(&item, json!({"pk": "mine", "sk": 1}))],
        )
        .await;
        self.write(
            "equals on pk attribute",
            vec![put_if(
                &item,
                json!({"pk": "mine", "sk": 2}),
                equals("pk", json!("mine")),
            )],
        )
        .await;
        self.must_fail_at(
            "equals on sk attribute",
            vec![put_if(&item, json!({}), equals("sk", json!(1)))],
            0,
        )
        .await;
        assert_eq!(
            self.get(&item).await,
            Some(attrs(json!({"pk": "mine", "sk": 2})))
        );
    }

    async fn failed_transactions_write_nothing(&self) {
        let a = self.key("atomic", "a");
        let b = self.key("atomic", "b");
        let c = self.key("atomic", "c");
        let d = self.key("atomic2", "d");
        self.write(
            "setup",
            vec![
                put(&b, json!({"v": "b"})),
                put(&c, json!({"v": "c", "version": 1})),
            ],
        )
        .await;

        self.must_fail_at(
            "a failing last write",
            vec![
                put(&a, json!({"v": "a"})),
                delete_if(&b, None),
                put(&d, json!({"v": "d"})),
                put_if(&c, json!({"v": "c2"}), Condition::Absent),
            ],
            3,
        )
        .await;
        assert_eq!(
            self.get(&a).await,
            None,
            "an earlier put of a failed transaction was written"
        );
        assert_eq!(
            self.get(&b).await,
            Some(attrs(json!({"v": "b"}))),
            "an earlier delete of a failed transaction was applied"
        );
        assert_eq!(
            self.get(&d).await,
            None,
            "a put in another partition of a failed transaction was written"
        );
        assert_eq!(
            self.get(&c).await,
            Some(attrs(json!({"v": "c", "version": 1})))
        );

        self.must_fail_at(
            "a failing first write",
            vec![
                put_if(&a, json!({}), Condition::Present),
                put(&d, json!({})),
            ],
            0,
        )
        .await;
        self.must_fail_at(
            "two failing writes",
            vec![
                put(&a, json!({})),
                put_if(&c, json!({}), equals("version", json!(2))),
                delete_if(&b, Some(Condition::Absent)),
            ],
            1,
        )
        .await;
        self.must_fail_at(
            "a failing middle write",
            vec![
                put_if(&a, json!({}), Condition::Absent),
                delete_if(&d, Some(Condition::Present)),
                put_if(&c, json!({"version": 2}), equals("version", json!(1))),
            ],
            1,
        )
        .await;
        assert_eq!(self.get(&a).await, None);
        assert_eq!(self.get(&d).await, None);
        assert_eq!(
            self.get(&c).await,
            Some(attrs(json!({"v": "c", "version": 1})))
        );

        self.write(
            "a passing transaction of many kinds",
            vec![
                put_if(&a, json!({"v": "a"}), Condition::Absent),
                delete_if(&b, Some(Condition::Present)),
                put_if(&c, json!({"version": 2}), equals("version", json!(1))),
                put(&d, json!({"v": "d"})),
            ],
        )
        .await;
        assert_eq!(self.get(&a).await, Some(attrs(json!({"v": "a"}))));
        assert_eq!(self.get(&b).await, None);
        assert_eq!(self.get(&c).await, Some(attrs(json!({"version": 2}))));
        assert_eq!(self.get(&d).await, Some(attrs(json!({"v": "d"}))));
    }

    async fn check_writes(&self) {
        let guard = self.key("check", "guard");
        let x = self.key("check", "x");
        let y = self.key("check", "y");
        self.write("setup", vec![put(&guard, json!({"version": 5}))])
            .await;

        self.write(
            "passing checks",
            vec![
                check(&guard, Condition::Present),
                check(&y, Condition::Absent),
                check(&self.key("check", "z"), Condition::Absent),
                put(&x, json!({"v": 1})),
            ],
        )
        .await;
        assert_eq!(
            self.get(&x).await,
            Some(attrs(json!({"v": 1}))),
            "a put beside passing checks was not written"
        );
        assert_eq!(
            self.get(&guard).await,
            Some(attrs(json!({"version": 5}))),
            "a check changed its item"
        );
        assert_eq!(self.get(&y).await, None, "a check created its item");

        self.write(
            "equals check",
            vec![
                check(&guard, equals("version", json!(5))),
                put(&y, json!({})),
            ],
        )
        .await;
        assert_eq!(self.get(&y).await, Some(Attrs::new()));

        for (what, condition) in [
            ("check absent on an existing item", Condition::Absent),
            (
                "check equals on a stale version",
                equals("version", json!(4)),
            ),
        ] {
            self.must_fail_at(
                what,
                vec![put(&x, json!({"v": 2})), check(&guard, condition)],
                1,
            )
            .await;
        }
        self.must_fail_at(
            "check present on an absent item",
            vec![
                check(&self.key("check", "z"), Condition::Present),
                delete_if(&x, None),
            ],
            0,
        )
        .await;
        assert_eq!(
            self.get(&x).await,
            Some(attrs(json!({"v": 1}))),
            "a failed check let a write through"
        );
        assert_eq!(self.get(&guard).await, Some(attrs(json!({"version": 5}))));
    }

    async fn empty_transaction(&self) {
        self.write("an empty transaction", Vec::new()).await;
    }

    async fn query_bounds(&self) {
        let sks = ["a", "b", "c", "d", "e", "ba", "b\u{1}z"];
        let pk = self.pk("range");
        let writes: Vec<Write> = sks
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

        let values = ["", "a", "b", "b\u{1}", "bb", "e", "f"];
        let bounds: Vec<Bound<String>> = std::iter::once(Bound::Unbounded)
            .chain(values.iter().flat_map(|v| {
                [
                    Bound::Included((*v).to_owned()),
                    Bound::Excluded((*v).to_owned()),
                ]
            }))
            .collect();
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
                    let want = expected(&sks, &query);
                    assert_eq!(
                        self.read_all(&query).await,
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
                        let n = sks
                            .iter()
                            .position(|sk| *sk == item.key.sk)
                            .unwrap_or_default();
                        assert_eq!(
                            item.attrs,
                            attrs(json!({"n": n})),
                            "query returned other attributes"
                        );
                    }
                    let count = ok("count", self.store.count(&query).await);
                    assert_eq!(count, want.len() as u64, "count of {query:?}");
                    // A cursor that is no stored key, inside and outside the range.
                    for after in ["bz", "0", "z"] {
                        let resumed = RangeQuery {
                            after: Some(after.to_owned()),
                            ..query.clone()
                        };
                        let want = expected(&sks, &resumed);
                        assert_eq!(self.read_all(&resumed).await, want, "query {resumed:?}");
                        assert_eq!(
                            ok("count", self.store.count(&resumed).await),
                            want.len() as u64,
                            "count of {resumed:?}"
                        );
                    }
                }
            }
        }
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

    async fn prefix_queries(&self) {
        let pk = self.pk("prefix");
        let sks = [
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
        let writes: Vec<Write> = sks
            .iter()
            .map(|sk| put(&Key::new(pk.clone(), *sk), json!({})))
            .collect();
        self.write("prefix setup", writes).await;
        for (prefix, want) in [
            (
                "ab",
                vec![
                    "ab",
                    "ab\u{1}\u{1}",
                    "ab\u{1}x",
                    "ab\u{1}y",
                    "abc",
                    "ab\u{10FFFF}",
                ],
            ),
            ("ab\u{1}", vec!["ab\u{1}\u{1}", "ab\u{1}x", "ab\u{1}y"]),
            (
                "a",
                vec![
                    "a",
                    "aa\u{10FFFF}",
                    "ab",
                    "ab\u{1}\u{1}",
                    "ab\u{1}x",
                    "ab\u{1}y",
                    "abc",
                    "ab\u{10FFFF}",
                    "ac",
                ],
            ),
            ("aa", vec!["aa\u{10FFFF}"]),
            ("abc", vec!["abc"]),
            ("abd", vec![]),
            (
                "",
                vec![
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
                ],
            ),
        ] {
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
                let mut reversed = want.clone();
                reversed.reverse();
                assert_eq!(
                    self.read_all(&query).await,
                    reversed,
                    "reverse prefix {prefix:?}, limit {limit}"
                );
            }
        }
    }

    async fn paging(&self) {
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
    async fn large_items(&self) {
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

    async fn allocate(&self) {
        let key = self.key("seq", "#");
        assert_eq!(
            ok("allocate", self.store.allocate(&key, 1).await),
            1,
            "a counter starts at 1"
        );
        assert_eq!(ok("allocate", self.store.allocate(&key, 5).await), 2);
        assert_eq!(ok("allocate", self.store.allocate(&key, 1).await), 7);
        assert_eq!(ok("allocate", self.store.allocate(&key, 100).await), 8);
        assert_eq!(
            self.get(&key).await.and_then(|a| a.get("next").cloned()),
            Some(json!(108)),
            "the counter item holds `next`, the next value to hand out"
        );
        let fresh = self.key("seq", "block");
        assert_eq!(
            ok(
                "allocate a block first",
                self.store.allocate(&fresh, 10).await
            ),
            1
        );
        assert_eq!(ok("allocate", self.store.allocate(&fresh, 1).await), 11);
        assert_eq!(
            ok(
                "allocate",
                self.store.allocate(&self.key("seq2", "#"), 3).await
            ),
            1,
            "counters are per key"
        );
    }

    async fn concurrent_allocate(&self) {
        let key = self.key("seq-concurrent", "#");
        let sizes: Vec<u64> = (0..20).map(|i| i % 4 + 1).collect();
        let firsts = join_all(
            sizes
                .iter()
                .map(|n| self.store.allocate(&key, *n))
                .collect(),
        )
        .await;
        let mut blocks: Vec<(u64, u64)> = firsts
            .into_iter()
            .zip(&sizes)
            .map(|(first, n)| (ok("concurrent allocate", first), *n))
            .collect();
        blocks.sort_unstable();
        let mut expected_first = 1;
        for (first, n) in &blocks {
            assert_eq!(
                *first, expected_first,
                "concurrent blocks overlap or leave gaps: {blocks:?}"
            );
            expected_first += n;
        }
        assert_eq!(
            ok("allocate after", self.store.allocate(&key, 1).await),
            expected_first
        );
    }

    async fn byte_order(&self) {
        let pk = self.pk("order");
        let sks = [
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
        let writes: Vec<Write> = sks
            .iter()
            .map(|sk| put(&Key::new(pk.clone(), *sk), json!({})))
            .collect();
        self.write("order setup", writes).await;
        for sk in sks {
            assert!(
                self.get(&Key::new(pk.clone(), sk)).await.is_some(),
                "unicode key {sk:?} is missing"
            );
        }
        let mut want: Vec<String> = sks.iter().map(|s| (*s).to_owned()).collect();
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
            expected(&sks, &between),
            "a range across scripts"
        );
        assert_eq!(
            ok("count", self.store.count(&between).await),
            expected(&sks, &between).len() as u64
        );
    }
}
