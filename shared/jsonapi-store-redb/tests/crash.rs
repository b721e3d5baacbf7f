//! A process that dies without closing its store (an abort, as `kill -9` would) loses no
//! write it was answered for: the write-ahead log's records are applied at the next open.
//!
//! The test runs itself again as a child process (`CRASH_DIR` set), which writes and then
//! aborts at once, before any checkpoint (one is due only after a second, or 100 ms idle):
//! the answered writes are then in the log alone.

use jsonapi_store::{Attrs, Item, Key, Store, Write};
use jsonapi_store_redb::RedbStore;

/// Answered writes the child makes before it aborts.
const WRITES: usize = 300;

fn key(n: usize) -> Key {
    Key::new("crash", format!("{n:05}"))
}

fn put(n: usize, generation: u64) -> Write {
    let mut attrs = Attrs::new();
    attrs.insert("generation".to_owned(), generation.into());
    Write::Put {
        item: Item { key: key(n), attrs },
        condition: None,
    }
}

/// The child: every item written once, then half of them again and a few deleted, each
/// write answered (durable) before the next; then an abort.
async fn write_then_abort(dir: &std::path::Path) -> ! {
    let store = RedbStore::open(dir).expect("the store opens");
    for n in 0..WRITES {
        store.transact(vec![put(n, 1)]).await.expect("written");
    }
    for n in (0..WRITES).step_by(2) {
        store.transact(vec![put(n, 2)]).await.expect("written");
    }
    for n in (1..WRITES).step_by(10) {
        store
            .transact(vec![Write::Delete {
                key: key(n),
                condition: None,
            }])
            .await
            .expect("deleted");
    }
    std::process::abort()
}

#[tokio::test]
async fn an_abort_loses_no_answered_write() {
    if let Some(dir) = std::env::var_os("CRASH_DIR") {
        write_then_abort(std::path::Path::new(&dir)).await;
    }
    let dir = tempfile::tempdir().expect("a folder");
    let status = std::process::Command::new(std::env::current_exe().expect("this test"))
        .args(["an_abort_loses_no_answered_write", "--exact", "--nocapture"])
        .env("CRASH_DIR", dir.path())
        .status()
        .expect("the child runs");
    assert!(!status.success(), "the child aborts");
    let log = dir.path().join("jsonapi.redb.wal");
    assert!(
        std::fs::metadata(&log).expect("the log").len() > 0,
        "the answered writes are in the log"
    );

    let store = RedbStore::open(dir.path()).expect("the store opens again");
    for n in 0..WRITES {
        let found = store.get(&key(n)).await.expect("read");
        let expected = if n % 10 == 1 {
            None
        } else if n % 2 == 0 {
            Some(2)
        } else {
            Some(1)
        };
        assert_eq!(
            found.map(|item| item.attrs["generation"].as_u64().expect("a number")),
            expected,
            "item {n}"
        );
    }
    assert_eq!(
        std::fs::metadata(&log).expect("the log").len(),
        0,
        "applied, then emptied"
    );
}
