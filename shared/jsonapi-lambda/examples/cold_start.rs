//! Cold start of function binaries, without Lambda: the time from starting the process to the
//! Runtime API receiving its first answer, against the fake of `tests/common/runtime_api.rs`
//! and DynamoDB Local on loopback. Run by `infra/bench/lambda.sh`.
//!
//! ```text
//! cold_start [--runs N] NAME=BINARY...     (JSONAPI_DYNAMODB_ENDPOINT must be set)
//! ```
//!
//! Each binary answers the fixture event of its operation (`fn-get` the get event, …,
//! `fn-token` the JWKS event, which reads the signing key as a token request does, `fn-docs`
//! the OpenAPI document's event; any other name the get event) on a table holding one
//! product, with
//! the access token of an API client (the signing key kept in the table, which each process
//! reads on its first authenticated request). Prints first `round-trip<TAB>ms`: one DynamoDB
//! round trip, the median of [`ROUND_TRIPS`] GetItems of that product on this process's warm
//! connection (after [`WARM_UP`] that warm DynamoDB Local's JVM up), then one line per binary,
//! the medians of the runs: `NAME<TAB>init ms<TAB>first answer ms`, where init ends when the process
//! first asks the Runtime API for an invocation (what Lambda reports as Init Duration) and the
//! first answer includes the request (one or more DynamoDB round trips). With
//! `COLD_START_LOGS=<filter>` (`info`, `debug`…) the functions' logs go to stderr.

// Its own `allow`s cover what this example does not use.
#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::runtime_api::{Record, RuntimeApi};
use common::{fixture, with_token};
use jsonapi_engine::Operation;
use jsonapi_engine::resource::resource_key;
use jsonapi_store::Store;
use jsonapi_store_dynamodb::{Config, DynamoStore};
use serde_json::{Value, json};

/// The event a function binary is given in its run `run`: one of its own routes, with a
/// bearer token. A create names a new SKU each run: the fixture's, created before the runs,
/// would time a refused duplicate instead of a create.
fn event_for(name: &str, token: &str, run: usize) -> Value {
    if name == "fn-create" {
        let product = json!({"data": {"type": "products", "attributes": {
            "sku": format!("COLD-START-{run}"), "name": "Cold start", "price": "1.00"}}});
        return with_token(
            common::event("POST", "/api/{type}", "/api/products", Some(&product)),
            token,
        );
    }
    let fixture_name = match name.strip_prefix("fn-") {
        Some("get-list") => "list-products",
        Some("update") => "update-product",
        Some("delete") => "delete-product",
        Some("delete-list") => "delete-products",
        Some("get-subresource") => "get-product-category",
        Some("get-relationship") => "get-product-category-relationship",
        Some("update-relationship") => "update-product-category-relationship",
        Some("add-relationship") => "add-category-products",
        Some("delete-relationship") => "delete-category-products",
        Some("options") => "options-products",
        Some("token") => "get-jwks",
        // The document is built on its first request: the answer includes building it.
        Some("docs") => "get-openapi",
        _ => "get-product",
    };
    with_token(fixture(fixture_name), token)
}

/// Milliseconds from spawning `binary` to the end of its init, and to its first answer.
async fn cold_start(binary: &str, event: Value, table: &str, endpoint: &str) -> (f64, f64) {
    let logs = std::env::var("COLD_START_LOGS").ok();
    let mut api = RuntimeApi::start().await;
    api.invoke("bench-1", event);
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("TABLE_NAME", table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        .env("RUST_LOG", logs.as_deref().unwrap_or("info"))
        .stdout(if logs.is_some() {
            Stdio::from(std::io::stderr())
        } else {
            Stdio::null()
        })
        .stderr(Stdio::null())
        .spawn()
        .expect(binary);
    let record = api.record(Duration::from_secs(30)).await;
    let _ = child.kill();
    let _ = child.wait();
    let ms = |at: Instant| at.duration_since(started).as_secs_f64() * 1000.0;
    match (record, api.first_poll()) {
        (Some(Record::Response { at, body, .. }), Some(polled)) => {
            // A refusal would time less than the request the bench means to time.
            let status = body["statusCode"].as_u64().unwrap_or_default();
            assert!(![401, 403].contains(&status), "{binary}: answered {status}");
            (ms(polled), ms(at))
        }
        (other, _) => panic!("{binary}: expected an answer, got {other:?}"),
    }
}

/// GetItems timed for one round trip (their median).
const ROUND_TRIPS: usize = 20;
/// GetItems sent before them, untimed: they warm DynamoDB Local's JVM and the connection.
const WARM_UP: usize = 50;

/// Milliseconds of one GetItem of the product, as the get function sends it (signed, parsed).
async fn round_trip(store: &DynamoStore) -> f64 {
    let key = resource_key("products", "1");
    let mut times = Vec::with_capacity(ROUND_TRIPS);
    for n in 0..WARM_UP + ROUND_TRIPS {
        let sent = Instant::now();
        let found = store
            .get(&key)
            .await
            .expect("DynamoDB Local answers GetItem");
        assert!(found.is_some(), "the product the events read exists");
        if n >= WARM_UP {
            times.push(sent.elapsed().as_secs_f64() * 1000.0);
        }
    }
    median(times)
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 5;
    if args.first().map(String::as_str) == Some("--runs") {
        runs = args[1].parse().expect("--runs N");
        args.drain(..2);
    }
    let endpoint = std::env::var("JSONAPI_DYNAMODB_ENDPOINT").expect("JSONAPI_DYNAMODB_ENDPOINT");
    let store = DynamoStore::connect_creating(Config {
        endpoint: Some(endpoint.clone()),
        table: format!("jsonapi-bench-cold-start-{}", std::process::id()),
        region: None,
    })
    .await
    .expect("DynamoDB Local makes a table");
    // An API client's token, and one product, so that reads find something.
    let engine = jsonapi_example::engine(jsonapi_config::example_domain(), store.clone());
    let token = common::admin_client(&engine).await.token;
    let create = common::request(&with_token(fixture("create-product"), &token));
    jsonapi_lambda::handle(&engine, Operation::Create, create).await;
    println!("round-trip\t{:.2}", round_trip(&store).await);

    for arg in &args {
        let (name, binary) = arg.split_once('=').expect("NAME=BINARY");
        let (mut init, mut answer) = (Vec::new(), Vec::new());
        for run in 0..runs {
            let event = event_for(name, &token, run);
            let (i, a) = cold_start(binary, event, store.table(), &endpoint).await;
            init.push(i);
            answer.push(a);
        }
        println!("{name}\t{:.1}\t{:.1}", median(init), median(answer));
    }
    store.delete_table().await.expect("delete the table");
}
