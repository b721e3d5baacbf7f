//! The storage conformance suite against the embedded backend.

use jsonapi_store::{Condition, Item, Key, Store, Write};
use jsonapi_store_redb::RedbStore;

/// A put of the item at `pk`/`sk` whose attribute `n` is `n`.
fn put_n(pk: &str, sk: String, n: u64, condition: Option<Condition>) -> Write {
    let mut attrs = serde_json::Map::new();
    attrs.insert("n".into(), n.into());
    Write::Put {
        item: Item {
            key: Key::new(pk, sk),
            attrs,
        },
        condition,
    }
}

/// The attribute `n` of the stored item at `pk`/`sk`.
async fn n_at(store: &RedbStore, pk: &str, sk: &str) -> u64 {
    store
        .get(&Key::new(pk, sk))
        .await
        .expect("a read")
        .expect("the item")
        .attrs["n"]
        .as_u64()
        .expect("a number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_passes_the_storage_conformance_suite() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = RedbStore::open(dir.path()).expect("the store opens");
    jsonapi_store::conformance::run_all(&store, "conformance").await;
}

/// Deferred writes are visible at once and, however many of them follow one another, kept
/// when the store is closed and opened again (closing syncs them) and when a durable write
/// followed them; their conditions hold as a transaction's do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_writes_are_visible_and_kept_across_a_reopen() {
    use jsonapi_store::StoreError;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let put = |sk: String| Write::Put {
        item: Item {
            key: Key::new("p", sk),
            attrs: serde_json::Map::new(),
        },
        condition: Some(Condition::Absent),
    };
    {
        let store = RedbStore::open(dir.path()).expect("the store opens");
        for n in 0..50 {
            store
                .transact_deferred(vec![put(format!("{n:03}"))])
                .await
                .expect("a deferred write");
        }
        assert!(
            store
                .get(&Key::new("p", "049"))
                .await
                .expect("a read")
                .is_some()
        );
        let again = store.transact_deferred(vec![put("007".into())]).await;
        assert!(matches!(
            again,
            Err(StoreError::ConditionFailed { index: 0 })
        ));
        let first = store
            .allocate(&Key::new("c", "seq"), 10)
            .await
            .expect("taken");
        assert_eq!(first, 1);
    }
    let store = RedbStore::open(dir.path()).expect("the store opens again");
    let page = store
        .query(&jsonapi_store::RangeQuery::partition("p", 100))
        .await
        .expect("a query");
    assert_eq!(page.items.len(), 50);
    let next = store
        .allocate(&Key::new("c", "seq"), 1)
        .await
        .expect("taken");
    assert_eq!(next, 11, "the counter's values are not handed out again");
}

/// A transaction large enough to be applied in key order, through runs of inserts between
/// stored keys, leaves the store as its writes applied one after another would: new keys
/// before, between and after stored ones, in several partitions, stored keys overwritten and
/// deleted, items larger than a page, and a key written twice in one transaction keeping its
/// last write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_transactions_apply_as_their_writes_in_order() {
    use std::collections::BTreeMap;

    use jsonapi_store::RangeQuery;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = RedbStore::open(dir.path()).expect("the store opens");
    // A fixed linear congruential sequence: the same cases on every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |below: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % below
    };
    let mut model: BTreeMap<(String, String), u64> = BTreeMap::new();
    for round in 0..40_u64 {
        let mut writes = Vec::new();
        for _ in 0..(32 + next(200)) {
            let pk = ["a", "b", "c"][usize::try_from(next(3)).expect("small")];
            // Ascending runs (a batch appending) mixed with scattered keys.
            let sk = if next(2) == 0 {
                format!("{:05}", round * 1000 + next(1000))
            } else {
                format!("{:05}", next(100_000))
            };
            let key = (pk.to_owned(), sk.clone());
            if next(5) == 0 {
                model.remove(&key);
                writes.push(Write::Delete {
                    key: Key::new(pk, sk),
                    condition: None,
                });
            } else {
                let value = next(1_000_000);
                model.insert(key, value);
                let mut attrs = serde_json::Map::new();
                attrs.insert("v".into(), value.into());
                // Now and then an item larger than a page, which takes pages of its own.
                if next(20) == 0 {
                    let len = usize::try_from(4_000 + next(20_000)).expect("small");
                    attrs.insert("text".into(), "x".repeat(len).into());
                }
                writes.push(Write::Put {
                    item: Item {
                        key: Key::new(pk, sk),
                        attrs,
                    },
                    condition: None,
                });
            }
        }
        store.transact(writes).await.expect("the transaction");
        let mut stored = BTreeMap::new();
        for pk in ["a", "b", "c"] {
            let page = store
                .query(&RangeQuery::partition(pk, 100_000))
                .await
                .expect("a read");
            for item in page.items {
                let v = item.attrs["v"].as_u64().expect("a number");
                stored.insert((item.key.pk, item.key.sk), v);
            }
        }
        assert_eq!(stored, model, "round {round}");
    }
}

/// Requests committed in one group see each other's writes in their conditions, in arrival
/// order: of many writers racing to claim one key, one wins and the others write nothing of
/// theirs; writers that each add one to a counter under the condition that it holds what they
/// read lose no increment, whether or not their group holds the write they read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_of_one_group_see_each_others_writes() {
    use std::sync::Arc;

    use jsonapi_store::{RangeQuery, StoreError};
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = Arc::new(RedbStore::open(dir.path()).expect("the store opens"));
    // A large write keeps the writer busy while the claims queue behind it, so that they are
    // committed in one group.
    let busy = {
        let store = Arc::clone(&store);
        // Scattered keys: each insert descends the tree on its own.
        let writes = (0..50_000_u64)
            .map(|n| {
                let sk = format!("{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                put_n("busy", sk, n, None)
            })
            .collect();
        tokio::spawn(async move { store.transact(writes).await })
    };
    tokio::task::yield_now().await;
    let claims: Vec<_> = (0..64_u64)
        .map(|w| {
            let store = Arc::clone(&store);
            // Each claimant's own entries sort on both sides of the claimed key.
            let writes = vec![
                put_n("a", format!("{w:03}"), w, None),
                put_n("claim", "k".into(), w, Some(Condition::Absent)),
                put_n("z", format!("{w:03}"), w, None),
            ];
            tokio::spawn(async move { store.transact(writes).await })
        })
        .collect();
    let mut won = 0;
    for claim in claims {
        match claim.await.expect("the task") {
            Ok(()) => won += 1,
            Err(StoreError::ConditionFailed { index: 1 }) => {}
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    busy.await.expect("the task").expect("the large write");
    assert_eq!(won, 1);
    let winner = n_at(&store, "claim", "k").await;
    for pk in ["a", "z"] {
        let page = store
            .query(&RangeQuery::partition(pk, 100))
            .await
            .expect("a read");
        let keys: Vec<String> = page.items.into_iter().map(|i| i.key.sk).collect();
        assert_eq!(
            keys,
            vec![format!("{winner:03}")],
            "only the winner wrote {pk}"
        );
    }

    store
        .transact(vec![put_n("counter", "c".into(), 0, None)])
        .await
        .expect("the counter");
    let adders: Vec<_> = (0..32)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                loop {
                    let read = n_at(&store, "counter", "c").await;
                    let condition = Condition::Equals {
                        name: "n".into(),
                        value: read.into(),
                    };
                    let add = put_n("counter", "c".into(), read + 1, Some(condition));
                    match store.transact(vec![add]).await {
                        Ok(()) => return,
                        Err(StoreError::ConditionFailed { .. }) => {}
                        Err(e) => panic!("unexpected: {e:?}"),
                    }
                }
            })
        })
        .collect();
    for adder in adders {
        adder.await.expect("the task");
    }
    assert_eq!(n_at(&store, "counter", "c").await, 32);
}
