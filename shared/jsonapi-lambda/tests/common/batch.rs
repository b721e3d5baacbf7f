//! The cloud's asynchronous batches seen from a test: the functions started on a table with
//! small chunks, the table's stream read as the worker's event source mapping reads it
//! (filtered with the template's pattern), and the operation read back through the API.
//! Used by the stream and import end-to-end tests.

use std::collections::HashSet;
use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use jsonapi_engine::{Engine, Operation};
use jsonapi_store_dynamodb::DynamoStore;
use serde_json::{Value, json};

use super::function::Function;
use super::runtime_api::{Record, RuntimeApi};
use super::{endpoint, event, parts, request, with_token};

/// Items per chunk in these tests (100 by default), so that a few items make several chunks.
pub const CHUNK_SIZE: usize = 10;

/// How long a worker may take over an invocation on a loaded machine.
pub const WORK: Duration = Duration::from_secs(300);

/// The example domain with small chunks, as a file the functions read (`JSONAPI_CONFIG`).
pub fn config_file() -> tempfile::NamedTempFile {
    config_file_with("")
}

/// [`config_file`] with more batch settings (`", syncWait: 0.001"`).
pub fn config_file_with(more: &str) -> tempfile::NamedTempFile {
    let text = jsonapi_config::EXAMPLE_DOMAIN;
    let at = text.find("\napi:\n").expect("an api section") + "\napi:\n".len();
    let text = format!(
        "{}  batch: {{ chunkSize: {CHUNK_SIZE}{more} }}\n{}",
        &text[..at],
        &text[at..]
    );
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), text).expect("the configuration is written");
    file
}

/// The engine of the test's own reads, on the same configuration as the functions'.
pub fn engine(config: &tempfile::NamedTempFile, store: DynamoStore) -> Engine<DynamoStore> {
    let text = std::fs::read_to_string(config.path()).expect("the configuration");
    let schema = jsonapi_config::parse("stream-test.yaml", &text).expect("a valid configuration");
    jsonapi_example::engine(schema, store)
}

/// A function process with the table and the configuration of the test.
pub fn start(
    binary: &std::path::Path,
    api: &RuntimeApi,
    store: &DynamoStore,
    config: &str,
) -> Function {
    start_with(binary, api, store, config, &[])
}

/// A function process with the table and the configuration of the test, and more of an
/// environment.
pub fn start_with(
    binary: &std::path::Path,
    api: &RuntimeApi,
    store: &DynamoStore,
    config: &str,
    more: &[(&str, &str)],
) -> Function {
    let endpoint = endpoint();
    let mut env = vec![
        ("TABLE_NAME", store.table()),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
        ("JSONAPI_CONFIG", config),
    ];
    env.extend_from_slice(more);
    Function::start(binary, &api.address(), &env)
}

/// One call of DynamoDB Local's JSON protocol (it checks no signature), on loopback: a
/// blocking socket is enough for a test.
pub async fn call(target: &str, body: &Value) -> Value {
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
pub fn template_pattern() -> Value {
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
pub fn matches(pattern: &Value, record: &Value) -> bool {
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
pub struct Stream {
    arn: String,
    iterator: Option<String>,
    pattern: Value,
    /// Records the filter dropped.
    pub dropped: usize,
    /// The partitions of the operations whose record's INSERT has been read.
    recorded: HashSet<String>,
    /// The keys of the records the filter let through before their operation's record was
    /// stored (work the worker would be given for an operation that does not exist yet).
    pub before_their_record: Vec<String>,
}

impl Stream {
    pub async fn open(table: &str) -> Self {
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
            recorded: HashSet::new(),
            before_their_record: Vec::new(),
        }
    }

    /// The next `n` records that pass the filter, with the source ARN Lambda adds (in the
    /// stream's order: DynamoDB Local keeps a table's stream in one shard, so every record
    /// before one was written before it).
    pub async fn next(&mut self, n: usize) -> Vec<Value> {
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
                let keys = &record["dynamodb"]["Keys"];
                let (pk, sk) = (keys["pk"]["S"].as_str(), keys["sk"]["S"].as_str());
                let (pk, sk) = (pk.unwrap_or_default(), sk.unwrap_or_default());
                if record["eventName"] == "INSERT" && sk == "op" {
                    self.recorded.insert(pk.to_owned());
                }
                if matches(&self.pattern, &record) {
                    if !self.recorded.contains(pk) {
                        self.before_their_record.push(format!("{pk} {sk}"));
                    }
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
pub async fn deliver(api: &mut RuntimeApi, id: &str, records: &[Value]) -> Value {
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

pub fn sequence(record: &Value) -> &str {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .expect("a sequence number")
}

/// `GET path?query` through the API (the `get`, `get-list`, `get-subresource` functions'
/// handler).
pub async fn get(
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
pub async fn operation(engine: &Engine<DynamoStore>, token: &str, id: &str) -> Value {
    let path = format!("/api/asyncoperations/{id}");
    get(engine, token, Operation::Get, "/api/{type}/{id}", &path, "").await["data"].clone()
}

/// The errors of an operation (its first page), as `data` lists them.
pub async fn operation_errors(engine: &Engine<DynamoStore>, token: &str, id: &str) -> Vec<Value> {
    let path = format!("/api/asyncoperations/{id}/errors");
    let route = "/api/{type}/{id}/{relationship}";
    let doc = get(engine, token, Operation::GetSubresource, route, &path, "").await;
    doc["data"].as_array().expect("errors").clone()
}

/// How many products the table holds.
pub async fn product_count(engine: &Engine<DynamoStore>, token: &str) -> usize {
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

pub fn path(config: &tempfile::NamedTempFile) -> &str {
    config.path().to_str().expect("a UTF-8 path")
}
