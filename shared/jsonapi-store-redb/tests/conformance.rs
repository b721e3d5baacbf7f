//! The storage conformance suite against the embedded backend.

use jsonapi_store_redb::RedbStore;

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
    use jsonapi_store::{Condition, Item, Key, Store, StoreError, Write};
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
