//! The cloud's S3 import, end to end with the real binaries: files are put in a local S3
//! (moto's server mode) with the client that owns them in their metadata, the real `import`
//! function is invoked through the Runtime API fake with S3 event notifications shaped as
//! AWS documents them (the object's real key, size and ETag), it streams each object into an
//! operation whose chunks the table's stream (DynamoDB Local) hands to the real
//! `batch-worker` (each released after its operation's record is stored, which the stream's
//! order shows); then the operation's status and errors are read through the API. Also: a
//! repeated delivery of the same event imports nothing, and a refused file leaves a failed
//! operation with its errors.
//!
//! Needs `JSONAPI_DYNAMODB_ENDPOINT` and `JSONAPI_S3_ENDPOINT` (`infra/s3/local.sh start 8001`).

mod common;

use std::io::{Read as _, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use common::batch::{
    Stream, WORK, config_file, deliver, engine, operation, operation_errors, path, product_count,
    start, start_with,
};
use common::function::{Function, build};
use common::runtime_api::{Record, RuntimeApi};
use common::{admin_client, with_table};
use jsonapi_store::{Key, Store};
use jsonapi_store_dynamodb::DynamoStore;
use serde_json::{Value, json};

/// The local S3 the tests use.
///
/// # Panics
/// When `JSONAPI_S3_ENDPOINT` is not set: these tests need an S3.
fn s3_endpoint() -> String {
    std::env::var("JSONAPI_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "JSONAPI_S3_ENDPOINT is not set. Start a local S3 with `infra/s3/local.sh start \
             8001` and run the tests with JSONAPI_S3_ENDPOINT=http://127.0.0.1:8001"
        )
    })
}

/// One call of the local S3's REST API (moto checks no signature), on loopback: the status,
/// the `ETag` header and the body.
fn s3(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, String) {
    let endpoint = s3_endpoint();
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).expect("the local S3 answers");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("sent");
    stream.write_all(body).expect("sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head[9..12].parse().expect("a status");
    let etag = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("etag")
                .then(|| value.trim().trim_matches('"').to_owned())
        })
        .unwrap_or_default();
    (status, etag, body.to_owned())
}

/// A new bucket.
fn bucket(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    let name = format!("jsonapi-{test}-{}-{nanos}", std::process::id());
    let (status, _, body) = s3("PUT", &format!("/{name}"), &[], b"");
    assert_eq!(status, 200, "create bucket: {body}");
    name
}

/// Puts an object owned by `client` (its user metadata); its ETag.
fn put(bucket: &str, key: &str, client: &str, content: &[u8]) -> String {
    let path = format!("/{bucket}/{}", key.replace(' ', "%20"));
    let (status, etag, body) = s3("PUT", &path, &[("x-amz-meta-client", client)], content);
    assert_eq!(status, 200, "put {key}: {body}");
    assert!(!etag.is_empty(), "an ETag");
    etag
}

/// An S3 event notification of one created object, as AWS documents it (the "Event message
/// structure" of the S3 user guide): the key URL-encoded with `+` for spaces.
fn created(bucket: &str, key: &str, size: usize, etag: &str, sequencer: &str) -> Value {
    let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
    let encoded = encoded.replace("%2F", "/");
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-12-06T18:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "import",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": format!("arn:aws:s3:::{bucket}")
            },
            "object": {"key": encoded, "size": size, "eTag": etag, "sequencer": sequencer}
        }
    }]})
}

/// `n` products as resource objects; the one at `bad` has no name (the example domain
/// requires one).
fn products(prefix: &str, n: usize, bad: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut attributes = json!({"sku": format!("{prefix}-{i}"),
                "name": format!("Imported {i}"), "price": "2.50"});
            if i == bad {
                attributes.as_object_mut().unwrap().remove("name");
            }
            json!({"type": "products", "attributes": attributes})
        })
        .collect()
}

/// The import function, started with the local S3 and test credentials.
fn import_function(api: &RuntimeApi, store: &DynamoStore, config: &str) -> Function {
    let endpoint = s3_endpoint();
    start_with(
        &build("fn-import"),
        api,
        store,
        config,
        &[
            ("JSONAPI_S3_ENDPOINT", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    )
}

/// Invokes the import function and waits for its answer (a success: nothing to retry).
async fn invoke(api: &mut RuntimeApi, function: &Function, id: &str, event: Value) {
    api.invoke(id, event);
    match api.record(WORK).await {
        Some(Record::Response { request_id, .. }) => assert_eq!(request_id, id),
        other => panic!(
            "expected the import function's answer to {id}, got {other:?}; its log:\n{}",
            function.logs.lock().unwrap()
        ),
    }
}

/// The operation a log line of the import function names, once it is written.
fn logged_operation(function: &Function, message: &str, key: &str) -> String {
    let lines = function.log_lines_when(|lines| {
        lines
            .iter()
            .any(|l| l["message"] == message && l["key"] == key)
    });
    let line = lines
        .iter()
        .find(|l| l["message"] == message && l["key"] == key)
        .unwrap_or_else(|| panic!("no \"{message}\" line for {key}: {lines:?}"));
    line["operation"].to_string()
}

/// How many operation ids were drawn.
async fn operations_drawn(store: &DynamoStore) -> Value {
    let seq = store
        .get(&Key::new("meta#asyncoperation-seq", "#"))
        .await
        .expect("read");
    seq.map(|i| Value::Object(i.attrs)).unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs DynamoDB Local and a local S3 (JSONAPI_DYNAMODB_ENDPOINT, JSONAPI_S3_ENDPOINT); infra/test.sh runs it"]
async fn files_put_in_s3_go_through_the_import_function_and_the_stream_to_the_worker_once() {
    let worker = build("fn-batch-worker");
    let config = config_file();
    with_table("import", |store| async move {
        // Arrange: a client, a bucket, a JSON:API document of 200 products (the 58th without a
        // name) under a key with a space, and NDJSON of 30 (the 5th line without a name).
        let engine = engine(&config, store.clone());
        let client = admin_client(&engine).await;
        let token = client.token.clone();
        let bucket = bucket("import");
        let document = json!({ "data": products("DOC", 200, 57) }).to_string();
        let doc_key = "imports/products/spring catalogue.json";
        let doc_etag = put(&bucket, doc_key, &client.id, document.as_bytes());
        let lines: Vec<String> = products("NDJ", 30, 4)
            .iter()
            .map(Value::to_string)
            .collect();
        let ndjson = lines.join("\n") + "\n";
        let nd_key = "imports/products/more.ndjson";
        let nd_etag = put(&bucket, nd_key, &client.id, ndjson.as_bytes());
        let doc_event = created(
            &bucket,
            doc_key,
            document.len(),
            &doc_etag,
            "0055AED6DCD90281E5",
        );
        let nd_event = created(
            &bucket,
            nd_key,
            ndjson.len(),
            &nd_etag,
            "0055AED6DCD90281E6",
        );

        // Act: S3 notifies the import function of each object.
        let mut api = RuntimeApi::start().await;
        let importer = import_function(&api, &store, path(&config));
        invoke(&mut api, &importer, "doc", doc_event.clone()).await;
        invoke(&mut api, &importer, "ndjson", nd_event).await;
        let doc_op = logged_operation(&importer, "import stored", doc_key);
        let nd_op = logged_operation(&importer, "import stored", nd_key);
        // The stream hands the chunks (20 and 3) to the worker, ten a delivery as deployed,
        // each once its operation's record exists: nothing the filter lets through comes
        // before it in the stream (work given earlier would be refused, then retried until
        // Lambda gives it up, on an import lasting longer than its retries).
        let mut stream = Stream::open(store.table()).await;
        let records = stream.next(23).await;
        assert_eq!(stream.before_their_record, Vec::<String>::new());
        let mut worker_api = RuntimeApi::start().await;
        let _worker = start(&worker, &worker_api, &store, path(&config));
        for (n, batch) in records.chunks(10).enumerate() {
            let answer = deliver(&mut worker_api, &format!("chunks-{n}"), batch).await;
            assert_eq!(answer, json!({"batchItemFailures": []}));
        }

        // Assert: each file is an operation of the client that put it, counted exactly, its
        // bad item reported where the file has it.
        for (id, read, bad) in [(&doc_op, 200, "/data/57"), (&nd_op, 30, "/data/4")] {
            let op = operation(&engine, &token, id).await;
            let attributes = &op["attributes"];
            assert_eq!(attributes["status"], "success", "{op}");
            assert_eq!(attributes["entityType"], "products");
            let summary = &attributes["summary"];
            for (counter, n) in [
                ("readCount", read),
                ("createCount", read - 1),
                ("errorCount", 1),
            ] {
                assert_eq!(summary[counter], n, "{counter}: {summary}");
            }
            let errors = operation_errors(&engine, &token, id).await;
            assert_eq!(errors.len(), 1, "{errors:?}");
            let pointer = errors[0]["attributes"]["source"]["pointer"]
                .as_str()
                .unwrap_or_default();
            assert!(pointer.starts_with(bad), "{:?}", errors[0]);
            let record = store
                .get(&Key::new(
                    format!("{}{id}", jsonapi_engine::BATCH_PARTITION),
                    "op",
                ))
                .await
                .expect("read")
                .expect("the operation's record");
            assert_eq!(
                record.attrs["owner"],
                client.id.as_str(),
                "the object's client"
            );
        }
        assert_eq!(product_count(&engine, &token).await, 199 + 29);

        // Act: S3 delivers the first event again.
        let drawn = operations_drawn(&store).await;
        invoke(&mut api, &importer, "doc-again", doc_event).await;

        // Assert: it is recognised; nothing imported, no operation started.
        let again = logged_operation(&importer, "already imported (a repeated delivery)", doc_key);
        assert_eq!(again, doc_op);
        assert_eq!(operations_drawn(&store).await, drawn);
        assert_eq!(product_count(&engine, &token).await, 199 + 29);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local and a local S3 (JSONAPI_DYNAMODB_ENDPOINT, JSONAPI_S3_ENDPOINT); infra/test.sh runs it"]
async fn a_refused_file_leaves_a_failed_operation_with_its_errors() {
    let config = config_file();
    with_table("import-refused", |store| async move {
        // Arrange: a file whose third item is of another type, one for a type that takes no
        // batches, and one owned by a client that does not exist.
        let engine = engine(&config, store.clone());
        let client = admin_client(&engine).await;
        let token = client.token.clone();
        let bucket = bucket("refused");
        let mut items = products("REF", 5, 99);
        items[2]["type"] = "categories".into();
        let foreign = json!({ "data": items }).to_string();
        let files = [
            ("imports/products/foreign.json", client.id.as_str(), foreign),
            (
                "imports/nothing/a.json",
                client.id.as_str(),
                json!({"data": products("X", 1, 9)}).to_string(),
            ),
            (
                "imports/products/stranger.json",
                "no-such-client",
                json!({"data": products("Y", 1, 9)}).to_string(),
            ),
        ];
        let mut api = RuntimeApi::start().await;
        let importer = import_function(&api, &store, path(&config));

        // Act
        for (n, (key, owner, content)) in files.iter().enumerate() {
            let etag = put(&bucket, key, owner, content.as_bytes());
            let event = created(&bucket, key, content.len(), &etag, &format!("00{n}"));
            invoke(&mut api, &importer, &format!("file-{n}"), event).await;
        }

        // Assert: nothing created; each file's operation failed with its reason.
        let expected = [
            (files[0].0, "products", 400, Some("/data/2/type")),
            (files[1].0, "nothing", 405, None),
            (files[2].0, "products", 403, None),
        ];
        for (key, entity_type, status, pointer) in expected {
            let id = logged_operation(&importer, "import refused: its operation failed", key);
            let op = operation(&engine, &token, &id).await;
            assert_eq!(op["attributes"]["status"], "failed", "{key}: {op}");
            assert_eq!(op["attributes"]["entityType"], entity_type, "{key}");
            assert_eq!(op["attributes"]["summary"]["errorCount"], 1, "{key}: {op}");
            let errors = operation_errors(&engine, &token, &id).await;
            assert_eq!(errors.len(), 1, "{key}: {errors:?}");
            let error = &errors[0]["attributes"];
            assert_eq!(error["status"], status, "{key}: {error}");
            if let Some(pointer) = pointer {
                assert_eq!(error["source"]["pointer"], pointer, "{key}: {error}");
            }
        }
        assert_eq!(product_count(&engine, &token).await, 0);
    })
    .await;
}
