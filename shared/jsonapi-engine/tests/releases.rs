//! The order in which an asynchronous operation is stored, seen from the store: its chunks
//! first, then its record, with the releases of its chunks in the record's transaction or
//! after it, never before (in the cloud a release is what starts a chunk's work, and the
//! worker must find the operation's record). An operation of more chunks than one transaction
//! holds releases the rest right after; a refused import releases nothing and leaves nothing.
//! Batch requests and imports take the same path.

use std::sync::Arc;

use http::{HeaderMap, Method, StatusCode, header};
use jsonapi_engine::{ApiRequest, BATCH_PARTITION, BATCH_RELEASE_PREFIX, Engine, ImportFormat};
use jsonapi_store::counting::{Counting, RoundTrips};
use jsonapi_store::{Key, RangeQuery, Store};
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

/// Asserts the order of operation `op`'s items in the journal: every chunk stored before the
/// transaction of its record, every one of its `chunks` chunks released once, in that
/// transaction (as many as it holds) or after it. How many releases the record's transaction
/// held.
fn assert_released_after_the_record(journal: &[Vec<Key>], op: u64, chunks: usize) -> usize {
    let partition = format!("{BATCH_PARTITION}{op}");
    let ours = |k: &&Key| k.pk == partition;
    let record = journal
        .iter()
        .position(|t| t.iter().filter(ours).any(|k| k.sk == "op"))
        .expect("the operation's record is stored");
    let mut released = Vec::new();
    for (at, transaction) in journal.iter().enumerate() {
        for key in transaction.iter().filter(ours) {
            // No worker runs here: nothing writes a chunk once it is released.
            assert!(
                !key.sk.starts_with("chunk#") || at < record,
                "{} stored after its operation's record",
                key.sk
            );
            if let Some(n) = key.sk.strip_prefix(BATCH_RELEASE_PREFIX) {
                assert!(
                    at >= record,
                    "chunk {n} released before its operation's record"
                );
                released.push(n.parse::<usize>().expect("a chunk number"));
            }
        }
    }
    released.sort_unstable();
    assert_eq!(released, (0..chunks).collect::<Vec<_>>());
    let in_record = journal[record].iter().filter(ours);
    in_record
        .filter(|k| k.sk.starts_with(BATCH_RELEASE_PREFIX))
        .count()
}

#[tokio::test]
async fn an_import_of_more_chunks_than_a_transaction_holds_releases_them_all_after_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, journal, _) = engine(dir.path());
    let lines: Vec<String> = products("IMP", 150).iter().map(Value::to_string).collect();
    let file = std::io::Cursor::new(lines.join("\n").into_bytes());

    let imported = engine
        .import("products", None, ImportFormat::Ndjson, file, &|_| {})
        .await
        .expect("imported");

    let journal = journal.written();
    let in_record = assert_released_after_the_record(&journal, imported.operation, 150);
    // The record, its entry among the unfinished operations, and 98 releases.
    assert_eq!(in_record, 98);
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
