//! The cloud's asynchronous batch, end to end with the real binaries, as deployed: a batch
//! sent to the `update-list` function (an API Gateway event) is stored as chunks, released
//! after the operation's record; the table's stream on DynamoDB Local is read
//! (DescribeStream, GetShardIterator, GetRecords), filtered with the event source mapping's
//! pattern from `template.yaml` (nothing it lets through may come before its operation's
//! record), and handed to the `batch-worker` function through the Runtime API fake, as
//! Lambda's event source mapping would; then the operation's status and errors are read
//! through the API. Also: the same records delivered twice (nothing doubled, counters exact),
//! a worker killed mid-chunk (the redelivery completes it), the release of an operation that
//! has expired (acknowledged, nothing applied, the records around it applied), and a chunk
//! that fails at every delivery (given up at Lambda's last retry, its operation ended), and a
//! synchronous batch past its wait (answered 202 by `update-list`, written all or nothing by
//! the worker, also when the worker dies in the middle of it), and a release the stream gave
//! up on (released again by the worker's scheduled sweep).
//!
//! Needs `JSONAPI_DYNAMODB_ENDPOINT` (`infra/dynamodb/local.sh start 8000`).

mod common;

use std::time::{Duration, Instant};

use common::batch::{
    Stream, WORK, config_file, config_file_with, deliver, engine, operation, operation_errors,
    path, product_count, start, start_with,
};
use common::function::build;
use common::runtime_api::{Record, RuntimeApi};
use common::{admin_client, event, with_table, with_token};
use jsonapi_engine::Engine;
use jsonapi_store::{Item, Key, RangeQuery, Store, Write};
use jsonapi_store_dynamodb::DynamoStore;
use serde_json::{Value, json};

/// `n` products with distinct skus; the item at `bad` (if any) has no name, which the
/// example domain requires.
fn products(n: usize, bad: Option<usize>) -> Value {
    let data: Vec<Value> = (0..n)
        .map(|i| {
            let mut attributes = json!({"sku": format!("STREAM-{i}"), "name": format!("Product {i}"),
                "price": "1.50"});
            if Some(i) == bad {
                attributes.as_object_mut().unwrap().remove("name");
            }
            json!({"type": "products", "attributes": attributes})
        })
        .collect();
    json!({ "data": data })
}

/// Sends a batch to the `update-list` function and returns the operation's id.
async fn submit(api: &mut RuntimeApi, token: &str, body: &Value) -> String {
    let submit = with_token(
        event("PATCH", "/api/{type}", "/api/products", Some(body)),
        token,
    );
    api.invoke("submit", submit);
    let Some(Record::Response { body, .. }) = api.record(WORK).await else {
        panic!("the update-list function answers");
    };
    assert_eq!(body["statusCode"], 202, "{body}");
    let location = body["headers"]["content-location"]
        .as_str()
        .expect("Content-Location");
    let doc: Value = serde_json::from_str(body["body"].as_str().expect("a body")).expect("JSON");
    let id = doc["data"]["id"].as_str().expect("the operation's id");
    assert!(
        location.ends_with(&format!("/api/asyncoperations/{id}")),
        "{location}"
    );
    assert_eq!(doc["data"]["attributes"]["status"], "new");
    id.to_owned()
}

/// A test's start on its table: the engine of its reads, an admin's token, and a batch
/// submitted through the `update-list` function (the process ends once it has answered).
struct Submitted {
    engine: Engine<DynamoStore>,
    token: String,
    /// The operation's id.
    id: String,
}

async fn submitted(
    config: &tempfile::NamedTempFile,
    store: &DynamoStore,
    update_list: &std::path::Path,
    batch: &Value,
) -> Submitted {
    let engine = engine(config, store.clone());
    let token = admin_client(&engine).await.token;
    let mut api = RuntimeApi::start().await;
    let _submitter = start(update_list, &api, store, path(config));
    let id = submit(&mut api, &token, batch).await;
    Submitted { engine, token, id }
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_batch_goes_from_update_list_through_the_stream_to_the_worker_once_however_delivered() {
    let (update_list, worker) = (build("fn-update-list"), build("fn-batch-worker"));
    let config = config_file();
    with_table("stream", |store| async move {
        // Arrange: a client, and the two functions.
        // Act: 25 products (3 chunks), the 18th without a name.
        let batch = products(25, Some(17));
        let Submitted { engine, token, id } =
            submitted(&config, &store, &update_list, &batch).await;
        let config_path = path(&config);
        let mut stream = Stream::open(store.table()).await;
        let records = stream.next(3).await;
        let mut worker_api = RuntimeApi::start().await;
        let _worker = start(&worker, &worker_api, &store, config_path);
        let answer = deliver(&mut worker_api, "chunks-1", &records).await;

        // Assert: the worker was given nothing before the operation's record existed (the
        // chunks themselves passed no filter); applied, counted, the bad item reported where
        // the request had it.
        assert_eq!(stream.before_their_record, Vec::<String>::new());
        assert_eq!(answer, json!({"batchItemFailures": []}));
        assert!(
            stream.dropped > 3,
            "the filter let the chunks or other changes of the table through"
        );
        let op = operation(&engine, &token, &id).await;
        let attributes = &op["attributes"];
        assert_eq!(attributes["status"], "success", "{op}");
        assert_eq!(attributes["progress"], 1.0);
        let summary = attributes["summary"].clone();
        for (counter, n) in [("readCount", 25), ("createCount", 24), ("errorCount", 1)] {
            assert_eq!(summary[counter], n, "{counter}: {summary}");
        }
        let errors = operation_errors(&engine, &token, &id).await;
        assert_eq!(errors.len(), 1, "{errors:?}");
        let pointer = errors[0]["attributes"]["source"]["pointer"]
            .as_str()
            .unwrap_or_default();
        assert!(pointer.starts_with("/data/17"), "{:?}", errors[0]);
        assert_eq!(product_count(&engine, &token).await, 24);

        // Act: the same records delivered again (Lambda delivers at least once).
        let again = deliver(&mut worker_api, "chunks-2", &records).await;

        // Assert: nothing doubled, nothing recounted.
        assert_eq!(again, json!({"batchItemFailures": []}));
        assert_eq!(
            operation(&engine, &token, &id).await["attributes"]["summary"],
            summary
        );
        assert_eq!(product_count(&engine, &token).await, 24);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_worker_killed_mid_chunk_leaves_it_to_the_redelivery_which_completes_it() {
    let (update_list, worker) = (build("fn-update-list"), build("fn-batch-worker"));
    let config = config_file();
    with_table("stream-kill", |store| async move {
        // Arrange: 30 products (3 chunks) stored, their chunks read from the stream.
        let Submitted { engine, token, id } =
            submitted(&config, &store, &update_list, &products(30, None)).await;
        let config_path = path(&config);
        let records = Stream::open(store.table()).await.next(3).await;
        let partition = format!("{}{id}", jsonapi_engine::BATCH_PARTITION);

        // Act: the worker is killed once it has applied a few units of work.
        let mut first_api = RuntimeApi::start().await;
        let mut first = start(&worker, &first_api, &store, config_path);
        first_api.invoke("chunks-1", json!({ "Records": records }));
        let deadline = Instant::now() + WORK;
        while units(&store, &partition).await < 3 {
            assert!(Instant::now() < deadline, "the worker applies nothing");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        first.child.kill().expect("the worker is killed");
        let _ = first.child.wait();
        let applied = units(&store, &partition).await;

        // Assert: part of the work is done, the rest waits.
        let op = operation(&engine, &token, &id).await;
        assert_ne!(
            op["attributes"]["status"], "success",
            "killed too late: {op}"
        );
        assert!(applied < 30, "{applied} units applied before the kill");
        assert!(first_api.record(Duration::from_millis(100)).await.is_none());

        // Act: Lambda delivers the records again, to a new instance.
        let mut second_api = RuntimeApi::start().await;
        let _second = start(&worker, &second_api, &store, config_path);
        let answer = deliver(&mut second_api, "chunks-2", &records).await;

        // Assert: every product once, counters exact.
        assert_eq!(answer, json!({"batchItemFailures": []}));
        let op = operation(&engine, &token, &id).await;
        assert_eq!(op["attributes"]["status"], "success", "{op}");
        let summary = &op["attributes"]["summary"];
        for (counter, n) in [("readCount", 30), ("createCount", 30), ("errorCount", 0)] {
            assert_eq!(summary[counter], n, "{counter}: {summary}");
        }
        assert_eq!(product_count(&engine, &token).await, 30);
    })
    .await;
}

/// The units of work an operation has applied (their records, `unit#…`).
async fn units(store: &DynamoStore, partition: &str) -> usize {
    let query = RangeQuery::prefix(partition, "unit#", 1000);
    store.query(&query).await.expect("a query").items.len()
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn the_release_of_an_expired_operation_is_acknowledged_and_nothing_of_it_applied() {
    let (update_list, worker) = (build("fn-update-list"), build("fn-batch-worker"));
    let config = config_file();
    with_table("stream-expired", |store| async move {
        // Arrange: a batch of two chunks, and between their releases in the stream the
        // release of an operation whose record has expired while its chunk has not (the
        // table's TTL deletes an operation's items in no particular order): a copy of the
        // batch's first chunk under another operation, released.
        let Submitted { engine, token, id } =
            submitted(&config, &store, &update_list, &products(15, None)).await;
        let config_path = path(&config);
        let partition = |op: &str| format!("{}{op}", jsonapi_engine::BATCH_PARTITION);
        let chunk = store
            .get(&Key::new(partition(&id), "chunk#000000"))
            .await
            .expect("read")
            .expect("the batch's first chunk");
        let expired = partition("999999");
        let release = format!("{}000000", jsonapi_engine::BATCH_RELEASE_PREFIX);
        let put = |sk: &str, attrs: serde_json::Map<String, Value>| Write::Put {
            item: Item {
                key: Key::new(expired.clone(), sk),
                attrs,
            },
            condition: None,
        };
        let writes = vec![
            put("chunk#000000", chunk.attrs.clone()),
            put(&release, serde_json::Map::new()),
        ];
        store.transact(writes).await.expect("stored");
        let mut stream = Stream::open(store.table()).await;
        let mut records = stream.next(3).await;
        let orphan = records
            .pop()
            .expect("the expired operation's release, stored last");
        records.insert(1, orphan);
        assert_eq!(
            stream.before_their_record,
            [format!("{expired} {release}")],
            "the expired operation's release has no record before it"
        );

        // Act
        let mut worker_api = RuntimeApi::start().await;
        let _worker = start(&worker, &worker_api, &store, config_path);
        let answer = deliver(&mut worker_api, "chunks-1", &records).await;

        // Assert: every record acknowledged; the batch applied whole; the expired operation's
        // chunk not run (no unit applied, no run counted).
        assert_eq!(answer, json!({"batchItemFailures": []}));
        let op = operation(&engine, &token, &id).await;
        assert_eq!(op["attributes"]["status"], "success", "{op}");
        assert_eq!(product_count(&engine, &token).await, 15);
        assert_eq!(units(&store, &expired).await, 0);
        let left = store
            .get(&Key::new(expired.clone(), "chunk#000000"))
            .await
            .expect("read")
            .expect("the expired operation's chunk");
        assert_eq!(left.attrs, chunk.attrs);
    })
    .await;
}

/// The event EventBridge sends for a schedule's rule.
fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-12-07T23:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/stack-BatchWorkerStalledChunks"],
        "detail": {}
    })
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_release_the_stream_gave_up_on_is_released_again_by_the_scheduled_sweep() {
    let (update_list, worker) = (build("fn-update-list"), build("fn-batch-worker"));
    let config = config_file();
    with_table("stream-sweep", |store| async move {
        // Arrange: 25 products (3 chunks); the stream delivers the first two releases and
        // gives the third up (its retries spent, or aged past a day). A worker whose sweep
        // takes any operation not changed since now as stalled.
        let Submitted { engine, token, id } =
            submitted(&config, &store, &update_list, &products(25, None)).await;
        let mut stream = Stream::open(store.table()).await;
        let records = stream.next(3).await;
        let mut api = RuntimeApi::start().await;
        let _worker = start_with(
            &worker,
            &api,
            &store,
            path(&config),
            &[("BATCH_STALL_AFTER_SECONDS", "0")],
        );
        let answer = deliver(&mut api, "chunks", &records[..2]).await;
        assert_eq!(answer, json!({"batchItemFailures": []}));
        let op = operation(&engine, &token, &id).await;
        assert_eq!(op["attributes"]["status"], "running", "{op}");

        // Act: the schedule invokes the worker.
        api.invoke("sweep", scheduled_event());
        let Some(Record::Response { body, .. }) = api.record(WORK).await else {
            panic!("the worker answers the schedule");
        };

        // Assert: the given-up release is written again as a new INSERT the worker's filter
        // passes, and nothing else is; delivered, it ends the operation with every product.
        assert_eq!(body, json!({"batchItemFailures": []}));
        let again = stream.next(1).await;
        assert_eq!(again[0]["eventName"], "INSERT");
        assert_eq!(again[0]["dynamodb"]["Keys"], records[2]["dynamodb"]["Keys"]);
        let answer = deliver(&mut api, "again", &again).await;
        assert_eq!(answer, json!({"batchItemFailures": []}));
        let op = operation(&engine, &token, &id).await;
        assert_eq!(op["attributes"]["status"], "success", "{op}");
        assert_eq!(op["attributes"]["summary"]["createCount"], 25, "{op}");
        assert_eq!(product_count(&engine, &token).await, 25);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_chunk_failing_at_every_delivery_is_given_up_at_its_last_run() {
    let (update_list, worker) = (build("fn-update-list"), build("fn-batch-worker"));
    let config = config_file();
    with_table("stream-give-up", |store| async move {
        // Arrange: one chunk of 3 products, and a worker whose every run of a chunk fails
        // (the test-only failpoint), as when the store keeps failing.
        let Submitted { engine, token, id } =
            submitted(&config, &store, &update_list, &products(3, None)).await;
        let records = Stream::open(store.table()).await.next(1).await;
        let mut api = RuntimeApi::start().await;
        let _worker = start_with(
            &worker,
            &api,
            &store,
            path(&config),
            &[("JSONAPI_TEST_FAILPOINT", "fail-chunks")],
        );

        // Act: Lambda's first delivery and every retry but the last.
        for n in 1..jsonapi_engine::BATCH_CHUNK_ATTEMPTS {
            let answer = deliver(&mut api, &format!("try-{n}"), &records).await;
            // Assert: the record is named each time, the operation goes on.
            let failures = answer["batchItemFailures"].as_array().map(Vec::len);
            assert_eq!(failures, Some(1), "delivery {n}: {answer}");
        }
        let op = operation(&engine, &token, &id).await;
        assert_eq!(op["attributes"]["status"], "new", "{op}");

        // Act: the last retry.
        let answer = deliver(&mut api, "last", &records).await;

        // Assert: the record is acknowledged (nothing goes to the on-failure queue) and the
        // operation ends, its items reported.
        assert_eq!(answer, json!({"batchItemFailures": []}));
        let op = operation(&engine, &token, &id).await;
        assert_eq!(op["attributes"]["status"], "failed", "{op}");
        let summary = &op["attributes"]["summary"];
        for (counter, n) in [("readCount", 3), ("writeCount", 0), ("errorCount", 3)] {
            assert_eq!(summary[counter], n, "{counter}: {summary}");
        }
        let errors = operation_errors(&engine, &token, &id).await;
        let pointers: Vec<&Value> = errors
            .iter()
            .map(|e| &e["attributes"]["source"]["pointer"])
            .collect();
        assert_eq!(
            pointers,
            [&json!("/data/0"), &json!("/data/1"), &json!("/data/2")]
        );
        assert!(errors.iter().all(|e| e["attributes"]["status"] == 500));
        assert_eq!(product_count(&engine, &token).await, 0);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_sync_batch_past_its_wait_is_answered_202_and_the_worker_writes_it_all_or_nothing() {
    let (update_list, worker) = (build("fn-update-list"), build("fn-batch-worker"));
    let config = config_file_with(", syncWait: 0.001");
    with_table("stream-sync", |store| async move {
        // Arrange: 30 products (about 450 store writes: several transactions), sent with
        // `X-Mode: sync` to an update-list function whose wait is a millisecond.
        let engine = engine(&config, store.clone());
        let token = admin_client(&engine).await.token;
        let config_path = path(&config);
        let mut api = RuntimeApi::start().await;
        let _submitter = start(&update_list, &api, &store, config_path);
        let mut sync = with_token(
            event(
                "PATCH",
                "/api/{type}",
                "/api/products",
                Some(&products(30, None)),
            ),
            &token,
        );
        sync["headers"]["x-mode"] = "sync".into();

        // Act
        api.invoke("sync", sync);

        // Assert: the function answers 202 with a running operation, having written nothing.
        let Some(Record::Response { body, .. }) = api.record(WORK).await else {
            panic!("the update-list function answers");
        };
        assert_eq!(body["statusCode"], 202, "{body}");
        let doc: Value =
            serde_json::from_str(body["body"].as_str().expect("a body")).expect("JSON");
        assert_eq!(doc["data"]["attributes"]["status"], "running", "{doc}");
        let id = doc["data"]["id"]
            .as_str()
            .expect("the operation's id")
            .to_owned();
        assert_eq!(product_count(&engine, &token).await, 0);
        // One chunk, the whole batch: the stream holds no other.
        let records = Stream::open(store.table()).await.next(1).await;

        // Act: a worker dies right after the second transaction of the batch's write.
        let first_api = RuntimeApi::start().await;
        let mut first = start_with(
            &worker,
            &first_api,
            &store,
            config_path,
            &[("JSONAPI_TEST_FAILPOINT", "crash-after-step:1")],
        );
        first_api.invoke("sync-1", json!({ "Records": records }));
        // Waited for without blocking: the Runtime API fake runs on this test's thread.
        let deadline = Instant::now() + WORK;
        let status = loop {
            if let Some(status) = first.child.try_wait().expect("the worker's process") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the worker did not die mid-write"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(!status.success(), "{status}");

        // Assert: the operation goes on; what the dead run wrote is visible until undone.
        let op = operation(&engine, &token, &id).await;
        assert_eq!(op["attributes"]["status"], "running", "{op}");

        // Act: Lambda delivers the record again, to a new instance, then once more.
        let mut second_api = RuntimeApi::start().await;
        let _second = start(&worker, &second_api, &store, config_path);
        let answer = deliver(&mut second_api, "sync-2", &records).await;
        let again = deliver(&mut second_api, "sync-3", &records).await;

        // Assert: the dead run was rolled back and the batch written once, counters exact.
        assert_eq!(answer, json!({"batchItemFailures": []}));
        assert_eq!(again, json!({"batchItemFailures": []}));
        let op = operation(&engine, &token, &id).await;
        assert_eq!(op["attributes"]["status"], "success", "{op}");
        let summary = &op["attributes"]["summary"];
        for (counter, n) in [("readCount", 30), ("createCount", 30), ("errorCount", 0)] {
            assert_eq!(summary[counter], n, "{counter}: {summary}");
        }
        assert!(operation_errors(&engine, &token, &id).await.is_empty());
        assert_eq!(product_count(&engine, &token).await, 30);
    })
    .await;
}
