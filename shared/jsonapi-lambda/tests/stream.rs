//! The cloud's asynchronous batch, end to end with the real binaries, as deployed: a batch
//! sent to the `update-list` function (an API Gateway event) is stored as chunks; the table's
//! stream on DynamoDB Local is read (DescribeStream, GetShardIterator, GetRecords), filtered
//! with the event source mapping's pattern from `template.yaml`, and handed to the
//! `batch-worker` function through the Runtime API fake, as Lambda's event source mapping
//! would; then the operation's status and errors are read through the API. Also: the same
//! records delivered twice (nothing doubled, counters exact), a worker killed mid-chunk (the
//! redelivery completes it), a record that cannot be applied yet (named in
//! `batchItemFailures`, the records after it left for the redelivery), and a chunk that fails
//! at every delivery (given up at Lambda's last retry, its operation ended).
//!
//! Needs `JSONAPI_DYNAMODB_ENDPOINT` (`infra/dynamodb/local.sh start 8000`).

mod common;

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use common::function::{Function, build};
use common::runtime_api::{Record, RuntimeApi};
use common::{admin_client, endpoint, event, parts, request, with_table, with_token};
use jsonapi_engine::{Engine, Operation};
use jsonapi_store::{Item, Key, RangeQuery, Store, Write};
use jsonapi_store_dynamodb::DynamoStore;
use serde_json::{Value, json};

/// Items per chunk in these tests (100 by default), so that a few items make several chunks.
const CHUNK_SIZE: usize = 10;

/// How long a worker may take over an invocation on a loaded machine.
const WORK: Duration = Duration::from_secs(300);

/// The example domain with small chunks, as a file the functions read (`JSONAPI_CONFIG`).
fn config_file() -> tempfile::NamedTempFile {
    let text = jsonapi_config::EXAMPLE_DOMAIN;
    let at = text.find("\napi:\n").expect("an api section") + "\napi:\n".len();
    let text = format!(
        "{}  batch: {{ chunkSize: {CHUNK_SIZE} }}\n{}",
        &text[..at],
        &text[at..]
    );
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), text).expect("the configuration is written");
    file
}

/// The engine of the test's own reads, on the same configuration as the functions'.
fn engine(config: &tempfile::NamedTempFile, store: DynamoStore) -> Engine<DynamoStore> {
    let text = std::fs::read_to_string(config.path()).expect("the configuration");
    let schema = jsonapi_config::parse("stream-test.yaml", &text).expect("a valid configuration");
    jsonapi_example::engine(schema, store)
}

/// A function process with the table and the configuration of the test.
fn start(
    binary: &std::path::Path,
    api: &RuntimeApi,
    store: &DynamoStore,
    config: &str,
) -> Function {
    start_with(binary, api, store, config, &[])
}

/// As [`start`], with more environment variables.
fn start_with(
    binary: &std::path::Path,
    api: &RuntimeApi,
    store: &DynamoStore,
    config: &str,
    env: &[(&str, &str)],
) -> Function {
    let endpoint = endpoint();
    let mut vars = vec![
        ("TABLE_NAME", store.table()),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
        ("JSONAPI_CONFIG", config),
    ];
    vars.extend_from_slice(env);
    Function::start(binary, &api.address(), &vars)
}

/// One call of DynamoDB Local's JSON protocol (it checks no signature), on loopback: a
/// blocking socket is enough for a test.
async fn call(target: &str, body: &Value) -> Value {
    let endpoint = endpoint();
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).expect("DynamoDB Local answers");
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: {target}\r\nAuthorization: AWS4-HMAC-SHA256 \
         Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, \
         Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{target}: {answer}");
    serde_json::from_str(body).unwrap_or_else(|_| panic!("{target}: {answer}"))
}

/// The stream's pattern of the event source mapping, from the committed template.
fn template_pattern() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml");
    let t: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    let pattern = t["Resources"]["BatchWorkerChunks"]["Properties"]["FilterCriteria"]["Filters"][0]
        ["Pattern"]
        .as_str()
        .expect("the worker's filter pattern");
    serde_json::from_str(pattern).expect("JSON")
}

/// Whether a stream record matches an event filter pattern (the part of Lambda's filter
/// syntax the template uses: lists of values or of `{"prefix": …}`, nested objects).
fn matches(pattern: &Value, record: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields
            .iter()
            .all(|(name, p)| record.get(name).is_some_and(|r| matches(p, r))),
        Value::Array(options) => options.iter().any(|o| match o {
            Value::Object(rule) => rule["prefix"]
                .as_str()
                .zip(record.as_str())
                .is_some_and(|(prefix, text)| text.starts_with(prefix)),
            value => value == record,
        }),
        _ => false,
    }
}

/// The table's stream, read from its start, as the event source mapping reads it.
struct Stream {
    arn: String,
    iterator: Option<String>,
    pattern: Value,
    /// Records the filter dropped.
    dropped: usize,
}

impl Stream {
    async fn open(table: &str) -> Self {
        let described = call(
            "DynamoDB_20120810.DescribeTable",
            &json!({"TableName": table}),
        )
        .await;
        let arn = described["Table"]["LatestStreamArn"]
            .as_str()
            .expect("the table has a stream")
            .to_owned();
        let stream = call(
            "DynamoDBStreams_20120810.DescribeStream",
            &json!({"StreamArn": arn}),
        )
        .await;
        let shards = stream["StreamDescription"]["Shards"]
            .as_array()
            .expect("shards");
        // DynamoDB Local keeps a table's stream in one shard.
        assert_eq!(shards.len(), 1, "{stream}");
        let iterator = call(
            "DynamoDBStreams_20120810.GetShardIterator",
            &json!({"StreamArn": arn, "ShardId": shards[0]["ShardId"],
                "ShardIteratorType": "TRIM_HORIZON"}),
        )
        .await["ShardIterator"]
            .as_str()
            .map(str::to_owned);
        Self {
            arn,
            iterator,
            pattern: template_pattern(),
            dropped: 0,
        }
    }

    /// The next `n` records that pass the filter, with the source ARN Lambda adds.
    async fn next(&mut self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut out = Vec::new();
        while out.len() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} records came",
                out.len()
            );
            let iterator = self.iterator.clone().expect("an open shard");
            let page = call(
                "DynamoDBStreams_20120810.GetRecords",
                &json!({"ShardIterator": iterator, "Limit": 1000}),
            )
            .await;
            self.iterator = page["NextShardIterator"].as_str().map(str::to_owned);
            let records = page["Records"].as_array().cloned().unwrap_or_default();
            if records.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            for mut record in records {
                if matches(&self.pattern, &record) {
                    record["eventSourceARN"] = self.arn.clone().into();
                    out.push(record);
                } else {
                    self.dropped += 1;
                }
            }
        }
        assert_eq!(out.len(), n, "more chunk records than expected");
        out
    }
}

/// Hands stream records to the worker as one invocation and returns its answer.
async fn deliver(api: &mut RuntimeApi, id: &str, records: &[Value]) -> Value {
    api.invoke(id, json!({ "Records": records }));
    match api.record(WORK).await {
        Some(Record::Response {
            request_id, body, ..
        }) => {
            assert_eq!(request_id, id);
            body
        }
        other => panic!("expected the worker's answer to {id}, got {other:?}"),
    }
}

fn sequence(record: &Value) -> &str {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .expect("a sequence number")
}

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

/// `GET path?query` through the API (the `get`, `get-list`, `get-subresource` functions'
/// handler).
async fn get(
    engine: &Engine<DynamoStore>,
    token: &str,
    op: Operation,
    route: &str,
    path: &str,
    query: &str,
) -> Value {
    let mut e = with_token(event("GET", route, path, None), token);
    e["rawQueryString"] = query.into();
    let (status, _, doc) = parts(jsonapi_lambda::handle(engine, op, request(&e)).await);
    assert_eq!(status, 200, "GET {path}?{query}: {doc}");
    doc
}

/// The operation's resource.
async fn operation(engine: &Engine<DynamoStore>, token: &str, id: &str) -> Value {
    let path = format!("/api/asyncoperations/{id}");
    get(engine, token, Operation::Get, "/api/{type}/{id}", &path, "").await["data"].clone()
}

/// How many products the table holds.
async fn product_count(engine: &Engine<DynamoStore>, token: &str) -> usize {
    let doc = get(
        engine,
        token,
        Operation::GetList,
        "/api/{type}",
        "/api/products",
        "page%5Bsize%5D=-1",
    )
    .await;
    doc["data"].as_array().expect("a list").len()
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

fn path(config: &tempfile::NamedTempFile) -> &str {
    config.path().to_str().expect("a UTF-8 path")
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

        // Assert: applied, counted, the bad item reported where the request had it.
        assert_eq!(answer, json!({"batchItemFailures": []}));
        assert!(
            stream.dropped > 0,
            "the filter let every change of the table through"
        );
        let op = operation(&engine, &token, &id).await;
        let attributes = &op["attributes"];
        assert_eq!(attributes["status"], "success", "{op}");
        assert_eq!(attributes["progress"], 1.0);
        let summary = attributes["summary"].clone();
        for (counter, n) in [("readCount", 25), ("createCount", 24), ("errorCount", 1)] {
            assert_eq!(summary[counter], n, "{counter}: {summary}");
        }
        let errors = get(
            &engine,
            &token,
            Operation::GetSubresource,
            "/api/{type}/{id}/{relationship}",
            &format!("/api/asyncoperations/{id}/errors"),
            "",
        )
        .await;
        let errors = errors["data"].as_array().expect("errors");
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
async fn a_chunk_that_cannot_be_applied_yet_is_named_in_batch_item_failures() {
    let (update_list, worker) = (build("fn-update-list"), build("fn-batch-worker"));
    let config = config_file();
    with_table("stream-fail", |store| async move {
        // Arrange: a batch of two chunks, and between them in the stream a chunk whose
        // operation's record is not stored (as between a submit's chunk writes and its
        // record's).
        let Submitted { engine, token, id } =
            submitted(&config, &store, &update_list, &products(15, None)).await;
        let config_path = path(&config);
        let orphan = Key::new(
            format!("{}999999", jsonapi_engine::BATCH_PARTITION),
            "chunk#000000",
        );
        store
            .transact(vec![Write::Put {
                item: Item {
                    key: orphan,
                    attrs: serde_json::Map::new(),
                },
                condition: None,
            }])
            .await
            .expect("stored");
        let mut stream = Stream::open(store.table()).await;
        let mut records = stream.next(3).await;
        let orphan = records.pop().expect("the orphan chunk, stored last");
        records.insert(1, orphan.clone());

        // Act
        let mut worker_api = RuntimeApi::start().await;
        let _worker = start(&worker, &worker_api, &store, config_path);
        let answer = deliver(&mut worker_api, "chunks-1", &records).await;

        // Assert: the orphan's sequence number is the checkpoint; the chunk before it is
        // applied, the one after it is left for the redelivery.
        assert_eq!(
            answer,
            json!({"batchItemFailures": [{"itemIdentifier": sequence(&orphan)}]})
        );
        let op = operation(&engine, &token, &id).await;
        assert_eq!(op["attributes"]["status"], "running", "{op}");
        assert_eq!(op["attributes"]["progress"], 0.5, "{op}");
        assert_eq!(product_count(&engine, &token).await, CHUNK_SIZE);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn a_chunk_failing_at_every_delivery_is_given_up_at_the_last_retry() {
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
        let errors = get(
            &engine,
            &token,
            Operation::GetSubresource,
            "/api/{type}/{id}/{relationship}",
            &format!("/api/asyncoperations/{id}/errors"),
            "",
        )
        .await;
        let errors = errors["data"].as_array().expect("errors").clone();
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
