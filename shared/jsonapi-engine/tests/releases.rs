//! The order in which an asynchronous operation is stored, seen from the store: its chunks
//! first, then its record, with the releases of its first chunks in the record's transaction,
//! never before (in the cloud a release is what starts a chunk's work, and the worker must
//! find the operation's record). An operation of more chunks than one transaction holds has
//! the rest released by the deliveries of the first ones; a refused import releases nothing
//! and leaves nothing. Batch requests and imports take the same path. Then how the in-process
//! worker makes its runs durable: a sync per lease on a window of chunks, not two per chunk,
//! and every chunk synced up to the end of a lease an earlier run left.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method, StatusCode, header};
use jsonapi_engine::{
    ApiRequest, BATCH_CHUNKS_AT_ONCE as CHUNKS_AT_ONCE, BATCH_PARTITION, BATCH_RELEASE_PREFIX,
    BATCH_STALL_AFTER, Engine, ImportFormat,
};
use jsonapi_store::counting::{Counting, RoundTrips};
use jsonapi_store::{Item, Key, RangeQuery, Store, Write};
use jsonapi_store_redb::RedbStore;
use serde_json::{Value, json};

/// The example domain with one product a chunk, on a store that keeps the keys each
/// transaction wrote; its round trips (the journal), and the store under it.
fn engine(dir: &std::path::Path) -> (Engine<Counting<RedbStore>>, Arc<RoundTrips>, RedbStore) {
    let text = jsonapi_config::EXAMPLE_DOMAIN;
    let at = text.find("\napi:\n").expect("an api section") + "\napi:\n".len();
    let text = format!(
        "{}  batch: {{ chunkSize: 1 }}\n{}",
        &text[..at],
        &text[at..]
    );
    let schema = jsonapi_config::parse("releases.yaml", &text).expect("a valid configuration");
    let inner = RedbStore::open(dir).unwrap();
    let (store, trips) = Counting::new(inner.clone());
    (jsonapi_example::engine(schema, store), trips, inner)
}

fn products(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({"type": "products", "attributes": {"sku": format!("{prefix}-{i}"),
                "name": format!("Product {i}"), "price": "1.00"}})
        })
        .collect()
}

/// Imports `n` products (NDJSON, skus `{prefix}-{i}`); the operation's id.
async fn import_products<S: Store>(engine: &Engine<S>, prefix: &str, n: usize) -> u64 {
    let lines: Vec<String> = products(prefix, n).iter().map(Value::to_string).collect();
    let file = std::io::Cursor::new(lines.join("\n").into_bytes());
    engine
        .import("products", None, ImportFormat::Ndjson, file, &|_| {})
        .await
        .expect("imported")
        .operation
}

/// The transaction of operation `op`'s record in the journal, and the chunks whose releases
/// were written, each with its transaction (a write of a release that is there already
/// counts too).
fn releases(journal: &[Vec<Key>], op: u64) -> (usize, Vec<(usize, usize)>) {
    let partition = format!("{BATCH_PARTITION}{op}");
    let ours = |k: &&Key| k.pk == partition;
    let record = journal
        .iter()
        .position(|t| t.iter().filter(ours).any(|k| k.sk == "op"))
        .expect("the operation's record is stored");
    let released = journal
        .iter()
        .enumerate()
        .flat_map(|(at, t)| t.iter().filter(ours).map(move |k| (at, k)))
        .filter_map(|(at, k)| {
            let n = k.sk.strip_prefix(BATCH_RELEASE_PREFIX)?;
            Some((at, n.parse::<usize>().expect("a chunk number")))
        })
        .collect();
    (record, released)
}

/// Asserts the order of operation `op`'s items in the journal, no worker having run: every
/// chunk stored before the transaction of its record, chunks `0..chunks` released once each,
/// in that transaction (as many as it holds) or after it. How many releases the record's
/// transaction held.
fn assert_released_after_the_record(journal: &[Vec<Key>], op: u64, chunks: usize) -> usize {
    let partition = format!("{BATCH_PARTITION}{op}");
    let (record, _) = releases(journal, op);
    for (at, transaction) in journal.iter().enumerate() {
        for key in transaction.iter().filter(|k| k.pk == partition) {
            // No worker runs here: nothing writes a chunk once it is released.
            assert!(
                !key.sk.starts_with("chunk#") || at < record,
                "{} stored after its operation's record",
                key.sk
            );
        }
    }
    assert_released_once(journal, op, chunks)
}

/// Asserts that chunks `0..chunks` of operation `op` were each released once, in its record's
/// transaction or after it; how many releases that transaction held.
fn assert_released_once(journal: &[Vec<Key>], op: u64, chunks: usize) -> usize {
    let (record, released) = releases(journal, op);
    for (at, n) in &released {
        assert!(
            *at >= record,
            "chunk {n} released before its operation's record"
        );
    }
    let mut chunks_released: Vec<usize> = released.iter().map(|(_, n)| *n).collect();
    chunks_released.sort_unstable();
    assert_eq!(chunks_released, (0..chunks).collect::<Vec<_>>());
    released.iter().filter(|(at, _)| *at == record).count()
}

/// The stream's part, as the cloud's `batch-worker` plays it: every release not delivered yet
/// is delivered (run through `run_released_chunk`) until a round finds none; how many were.
async fn deliver_releases<S: Store>(engine: &Engine<S>, store: &RedbStore, op: u64) -> usize {
    let mut delivered = std::collections::HashSet::new();
    loop {
        let range =
            RangeQuery::prefix(format!("{BATCH_PARTITION}{op}"), BATCH_RELEASE_PREFIX, 1000);
        let released = store.query(&range).await.unwrap().items;
        let new: Vec<Key> = released
            .into_iter()
            .map(|i| i.key)
            .filter(|k| delivered.insert(k.clone()))
            .collect();
        if new.is_empty() {
            return delivered.len();
        }
        for key in new {
            engine.run_released_chunk(&key).await.expect("applied");
        }
    }
}

#[tokio::test]
async fn an_import_of_more_chunks_than_a_transaction_holds_is_released_by_its_own_work() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, journal, store) = engine(dir.path());

    let op = import_products(&engine, "IMP", 250).await;

    // One transaction: the record, its entry among the unfinished operations, 98 releases;
    // nothing else is released yet.
    let stored = journal.written();
    let in_record = assert_released_after_the_record(&stored, op, 98);
    assert_eq!(in_record, 98);
    // Each delivery releases the chunk 98 further on before its own runs: every chunk is
    // released once, after the record, and the operation ends with every product.
    assert_eq!(deliver_releases(&engine, &store, op).await, 250);
    assert_released_once(&journal.written(), op, 250);
    let report = engine.operation_report(op, 0).await.unwrap().unwrap();
    let attributes = &report.operation["attributes"];
    assert_eq!(attributes["status"], "success", "{attributes}");
    assert_eq!(attributes["summary"]["createCount"], 250, "{attributes}");
    // A delivery repeated (at least once, the stream's promise) writes no release again.
    let first = Key::new(
        format!("{BATCH_PARTITION}{op}"),
        format!("{BATCH_RELEASE_PREFIX}000000"),
    );
    engine
        .run_released_chunk(&first)
        .await
        .expect("acknowledged");
    let releases = RangeQuery::prefix(format!("{BATCH_PARTITION}{op}"), BATCH_RELEASE_PREFIX, 1000);
    assert_eq!(store.query(&releases).await.unwrap().items.len(), 250);
}

#[tokio::test]
async fn the_sweep_releases_again_the_pending_chunks_the_stream_gave_up_on() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, journal, store) = engine(dir.path());
    let op = import_products(&engine, "LOST", 110).await;
    let release = |n: usize| {
        Key::new(
            format!("{BATCH_PARTITION}{op}"),
            format!("{BATCH_RELEASE_PREFIX}{n:06}"),
        )
    };
    // The stream delivers every release but chunk 5's (given up: its retries spent), so
    // chunk 5 stays pending, and chunk 103, which its delivery would have released, too.
    for n in (0..110).filter(|&n| n != 5 && n != 103) {
        engine
            .run_released_chunk(&release(n))
            .await
            .expect("applied");
    }
    let status = async |engine: &Engine<_>| {
        let report = engine.operation_report(op, 0).await.unwrap().unwrap();
        report.operation["attributes"].clone()
    };
    let attributes = status(&engine).await;
    assert_eq!(attributes["status"], "running", "{attributes}");
    assert_eq!(attributes["progress"], 108.0 / 110.0, "{attributes}");

    // Not idle long enough: nothing is released again.
    assert_eq!(engine.release_stalled(BATCH_STALL_AFTER).await.unwrap(), 0);
    // Idle: chunk 5's release is deleted and written again (a new INSERT for the stream),
    // and no other (the done chunks' releases are left alone, 103 has none yet).
    let before = journal.written().len();
    assert_eq!(engine.release_stalled(Duration::ZERO).await.unwrap(), 1);
    assert_eq!(
        journal.written()[before..],
        [vec![release(5)], vec![release(5)]]
    );
    assert!(store.get(&release(5)).await.unwrap().is_some());

    // Its delivery releases chunk 103, whose delivery ends the operation with every product.
    engine
        .run_released_chunk(&release(5))
        .await
        .expect("applied");
    assert!(store.get(&release(103)).await.unwrap().is_some());
    engine
        .run_released_chunk(&release(103))
        .await
        .expect("applied");
    let attributes = status(&engine).await;
    assert_eq!(attributes["status"], "success", "{attributes}");
    assert_eq!(attributes["summary"]["createCount"], 110, "{attributes}");
    // A finished operation is not swept.
    assert_eq!(engine.release_stalled(Duration::ZERO).await.unwrap(), 0);
}

#[tokio::test]
async fn a_batch_request_is_stored_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, journal, _) = engine(dir.path());
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        jsonapi_engine::MEDIA_TYPE.parse().unwrap(),
    );
    let request = ApiRequest {
        method: Method::PATCH,
        path: "/api/products".to_owned(),
        query: None,
        headers,
        body: json!({ "data": products("REQ", 3) }).to_string().into(),
        base_url: "http://test".to_owned(),
    };

    let response = engine.handle_as_system(request).await;

    assert_eq!(response.status, StatusCode::ACCEPTED);
    let doc: Value = serde_json::from_slice(&response.body).unwrap();
    let op = doc["data"]["id"].as_str().unwrap().parse().unwrap();
    let journal = journal.written();
    assert_eq!(assert_released_after_the_record(&journal, op, 3), 3);
}

#[tokio::test]
async fn a_file_refused_after_chunks_were_stored_releases_nothing_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, journal, store) = engine(dir.path());
    let mut items = products("REF", 120);
    items[110]["type"] = "categories".into();
    let lines: Vec<String> = items.iter().map(Value::to_string).collect();
    let file = std::io::Cursor::new(lines.join("\n").into_bytes());

    let refused = engine
        .import("products", None, ImportFormat::Ndjson, file, &|_| {})
        .await
        .expect_err("an item of another type");

    assert_eq!(refused.0[0].status(), StatusCode::BAD_REQUEST);
    let written: Vec<Key> = journal.written().concat();
    assert!(
        written.iter().any(|k| k.sk.starts_with("chunk#")),
        "chunks were stored first"
    );
    assert!(
        !written
            .iter()
            .any(|k| k.sk == "op" || k.sk.starts_with(BATCH_RELEASE_PREFIX)),
        "no record, no release"
    );
    let partition = written
        .iter()
        .find(|k| k.pk.starts_with(BATCH_PARTITION))
        .map(|k| k.pk.clone())
        .expect("the operation's partition");
    let left = store
        .query(&RangeQuery::partition(partition, 100))
        .await
        .unwrap();
    assert_eq!(left.items.len(), 0, "the chunks stored were deleted");
}

/// Imports `n` products (a chunk each) and runs the in-process worker until the operation
/// ends, `lease_end` first stored as the lease a run that died left (when given); the keys
/// of the durable transactions of the worker's run.
async fn run_import(n: usize, lease_end: Option<usize>) -> Vec<Vec<Key>> {
    let dir = tempfile::tempdir().unwrap();
    let (engine, journal, store) = engine(dir.path());
    let op = import_products(&engine, "RUN", n).await;
    if let Some(end) = lease_end {
        let mut attrs = serde_json::Map::new();
        attrs.insert("end".into(), end.into());
        let item = Item {
            key: Key::new(format!("{BATCH_PARTITION}{op}"), "lease"),
            attrs,
        };
        let put = Write::Put {
            item,
            condition: None,
        };
        store.transact(vec![put]).await.unwrap();
    }
    let before = journal.synced().len();
    let engine = Arc::new(engine);
    let watcher = Arc::clone(&engine);
    let ended = async move {
        while !watcher
            .operation_report(op, 0)
            .await
            .unwrap()
            .unwrap()
            .finished()
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    Arc::clone(&engine).run_batch_worker(ended).await;
    let report = engine.operation_report(op, 0).await.unwrap().unwrap();
    let summary = &report.operation["attributes"]["summary"];
    assert_eq!(summary["createCount"], n, "{summary}");
    journal.synced().split_off(before)
}

/// The chunks whose items the transactions of `synced` wrote.
fn synced_chunks(synced: &[Vec<Key>]) -> Vec<usize> {
    let mut chunks: Vec<usize> = synced
        .iter()
        .flatten()
        .filter_map(|k| k.sk.strip_prefix("chunk#")?.parse().ok())
        .collect();
    chunks.sort_unstable();
    chunks.dedup();
    chunks
}

/// How many transactions of `synced` wrote a lease.
fn leases(synced: &[Vec<Key>]) -> usize {
    synced
        .iter()
        .filter(|t| t.iter().any(|k| k.sk == "lease"))
        .count()
}

#[tokio::test]
async fn the_in_process_worker_syncs_once_a_window_of_chunks_not_twice_a_chunk() {
    let synced = run_import(100, None).await;

    // A lease per 32 chunks (4), the operation marked running, its last chunk's end, and the
    // tidying of its entry among the unfinished ones: 7, where a sync per run counted and per
    // chunk ended made 200.
    assert_eq!(leases(&synced), 4, "{synced:?}");
    assert!(synced.len() <= 8, "{} syncs: {synced:?}", synced.len());
    // The end that ends the operation: one of the last chunks' (several run at once).
    let chunks = synced_chunks(&synced);
    assert!(
        chunks.len() == 1 && chunks[0] >= 100 - CHUNKS_AT_ONCE,
        "only the last end is synced: {chunks:?}"
    );
}

#[tokio::test]
async fn a_run_that_finds_a_lease_runs_every_chunk_before_its_end_synced() {
    // As a run that died in the window ending at chunk 40 would have left it.
    let synced = run_import(60, Some(40)).await;

    // Each chunk before 40 is counted durably before it starts, and ended durably; past it
    // the worker takes leases again, and only the last end is synced.
    let chunks = synced_chunks(&synced);
    assert_eq!(chunks[..40], (0..40).collect::<Vec<_>>());
    assert!(
        chunks.len() == 41 && chunks[40] >= 60 - CHUNKS_AT_ONCE,
        "{chunks:?}"
    );
    for n in 0..40 {
        let key = format!("chunk#{n:06}");
        let of_chunk = synced.iter().filter(|t| t.iter().any(|k| k.sk == key));
        // An end is tried again when the other chunk's end changed the record first.
        assert!(of_chunk.count() >= 2, "chunk {n}: its count and its end");
    }
    assert_eq!(leases(&synced), 1, "one lease, from chunk 40 on");
}
