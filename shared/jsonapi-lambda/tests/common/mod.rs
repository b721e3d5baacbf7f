//! Shared by the event and runtime tests: fixtures, and a fresh DynamoDB Local table per test.

#![allow(dead_code, unreachable_pub)] // each test binary uses a part

pub mod runtime_api;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::FutureExt as _;
use jsonapi_store_dynamodb::{Config, DynamoStore};
use serde_json::Value;

/// `tests/fixtures/apigw/` at the repository root: API Gateway HTTP API payload 2.0 events.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/apigw")
}

/// A fixture event as JSON, to adjust before use.
pub fn fixture(name: &str) -> Value {
    let path = fixtures().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixtures are JSON")
}

/// Points a fixture at another resource id: the raw path (below the stage), the context's path
/// and the path parameter, as API Gateway would have sent them.
pub fn with_id(mut event: Value, id: &str) -> Value {
    for path in ["/rawPath", "/requestContext/http/path"] {
        let old = event.pointer(path).and_then(Value::as_str).expect(path);
        let mut segments: Vec<&str> = old.split('/').collect();
        // `/{stage?}/api/{type}/{id}...`: the id follows the type.
        let at = segments
            .iter()
            .position(|s| *s == "api")
            .expect("an /api path")
            + 2;
        segments[at] = id;
        *event.pointer_mut(path).unwrap() = segments.join("/").into();
    }
    event["pathParameters"]["id"] = id.into();
    event
}

/// The DynamoDB Local endpoint the tests use.
///
/// # Panics
/// When `JSONAPI_DYNAMODB_ENDPOINT` is not set: these tests need a real DynamoDB.
pub fn endpoint() -> String {
    std::env::var("JSONAPI_DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "JSONAPI_DYNAMODB_ENDPOINT is not set. Start DynamoDB Local with \
             `infra/dynamodb/local.sh start 8000` and run the tests with \
             JSONAPI_DYNAMODB_ENDPOINT=http://127.0.0.1:8000"
        )
    })
}

/// A table name no other test or run uses.
pub fn unique_table(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    format!("jsonapi-lambda-{test}-{}-{nanos}", std::process::id())
}

/// Runs `body` with a store on a fresh table, and deletes the table afterwards, also when the
/// body fails.
pub async fn with_table<F, Fut>(test: &str, body: F)
where
    F: FnOnce(DynamoStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = DynamoStore::connect(Config {
        endpoint: Some(endpoint()),
        table: unique_table(test),
        region: None,
    })
    .await
    .expect("DynamoDB Local answers");
    store.create_table().await.expect("create the table");
    let outcome = AssertUnwindSafe(body(store.clone())).catch_unwind().await;
    store.delete_table().await.expect("delete the table");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
