//! The storage conformance suite against a real DynamoDB-compatible server (DynamoDB Local).
//!
//! Start one first, then point the test at it:
//! ```sh
//! infra/dynamodb/local.sh start 8000
//! JSONAPI_DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo test -p jsonapi-store-dynamodb
//! infra/dynamodb/local.sh stop
//! ```
//! Each run creates its own table and deletes it afterwards.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonapi_store::{Key, Store, StoreError};
use jsonapi_store_dynamodb::{Config, ConnectError, DynamoStore};

const ENDPOINT_VAR: &str = "JSONAPI_DYNAMODB_ENDPOINT";

fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(endpoint) if !endpoint.trim().is_empty() => endpoint,
        _ => panic!(
            "{ENDPOINT_VAR} is not set: these tests need a DynamoDB-compatible server. Start one with \
             `infra/dynamodb/local.sh start 8000` and run \
             `{ENDPOINT_VAR}=http://127.0.0.1:8000 cargo test -p jsonapi-store-dynamodb` \
             (stop it with `infra/dynamodb/local.sh stop`)"
        ),
    }
}

fn unique_table(what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("jsonapi-test-{what}-{}-{nanos}", std::process::id())
}

async fn fresh_store(what: &str) -> DynamoStore {
    DynamoStore::connect_creating(Config {
        endpoint: Some(endpoint()),
        table: unique_table(what),
        region: None,
    })
    .await
    .unwrap_or_else(|e| panic!("cannot make a table at {}: {e}", endpoint()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_passes_the_storage_conformance_suite() {
    let store = fresh_store("conformance").await;
    jsonapi_store::conformance::run_all(&store, "conformance").await;
    store.delete_table().await.expect("the table is deleted");
}

#[tokio::test]
async fn create_table_is_idempotent_and_matches_the_design() {
    let store = fresh_store("create").await;
    store
        .create_table()
        .await
        .expect("creating an existing table is fine");
    let described = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .expect("the table is described");
    let table = described.table().expect("a table description");
    let keys: Vec<(String, String)> = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    let design: Vec<(String, String)> = jsonapi_store_dynamodb::table::KEY_SCHEMA
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(keys, design);
    let stream = table.stream_specification().expect("streams are enabled");
    assert!(stream.stream_enabled());
    assert_eq!(
        stream.stream_view_type().map(|v| v.as_str()),
        Some(jsonapi_store_dynamodb::table::STREAM_VIEW_TYPE)
    );
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|b| b.as_str()),
        Some(jsonapi_store_dynamodb::table::BILLING_MODE)
    );
    store.delete_table().await.expect("the table is deleted");
}

#[tokio::test]
async fn connecting_to_a_missing_table_says_so() {
    let table = unique_table("missing");
    let result = DynamoStore::connect(Config {
        endpoint: Some(endpoint()),
        table: table.clone(),
        region: Some("eu-west-1".to_owned()),
    })
    .await;
    match result {
        Err(e @ ConnectError::NoTable { .. }) => assert_eq!(
            e.to_string(),
            format!(
                "the DynamoDB table \"{table}\" does not exist at {}",
                endpoint()
            )
        ),
        other => panic!("expected NoTable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_table_deleted_under_a_store_is_an_internal_error_not_a_panic() {
    let store = fresh_store("deleted").await;
    store.delete_table().await.expect("the table is deleted");
    match store.get(&Key::new("a", "b")).await {
        Err(StoreError::Internal(detail)) => assert!(detail.contains("GetItem"), "{detail}"),
        other => panic!("expected an internal error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_named_with_its_cause() {
    // Port 9 (discard) is closed on loopback: the connection is refused at once.
    let result = DynamoStore::connect(Config {
        endpoint: Some("http://127.0.0.1:9".to_owned()),
        table: "t".to_owned(),
        region: None,
    })
    .await;
    match result {
        Err(e @ ConnectError::Unreachable { .. }) => {
            let message = e.to_string();
            assert!(
                message.starts_with("DynamoDB at http://127.0.0.1:9 cannot be reached: ")
                    && message.contains("refused")
                    && !message.contains('\n'),
                "{message}"
            );
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
}
