//! A synchronous batch past its wait (`syncWait`, the model's 25 s; a millisecond here) is
//! answered as an asynchronous one, 202 with its operation, and goes on to its end, still all
//! or nothing: the operation ends `success` with every item written, or `failed` with the
//! batch's errors and nothing written; also when the wait passes in the middle of its steps
//! (rolled back, then written by the worker), and when the process stops or dies while the
//! worker writes it (the restart ends it). A type's own batch settings override `api.batch`'s
//! (Oro §11; acceptance row 84).

use jsonapi_tests::values::id_of;
use jsonapi_tests::{
    ApiClient, EXAMPLE_CONFIG, Source, TestApp, Value, assert_error_detail, example_config_with,
    json,
};

use crate::batch_async::{accepted, distinct_skus, errors, finished, summary};
use crate::batch_sync::{
    SYNC, batch, data_folder, hundred_products, new_product, patient_config, runtime, server_args,
    start,
};
use crate::fixtures::create_product;
use jsonapi_tests::binary::ServerProcess;

/// The example domain with a wait no hundred-product batch is written within.
fn tiny_wait() -> String {
    example_config_with("  batch: { syncWait: 0.001 }\n")
}

/// Sends a synchronous batch expected to pass its wait: checks the 202 answer and returns
/// the operation's path.
async fn degraded(api: &ApiClient, body: &Value) -> String {
    accepted(
        &batch(api, "products", body, &[SYNC]).await,
        "products",
        "running",
    )
}

/// Checks that a degraded hundred-product batch ended with every product written once.
async fn all_written_once(api: &ApiClient, path: &str) {
    let op = finished(api, path).await;
    assert_eq!(op["attributes"]["status"], "success", "{op}");
    assert_eq!(summary(&op, "createCount"), 100, "{op}");
    assert_eq!(summary(&op, "errorCount"), 0, "{op}");
    let products = api.list_all("products").await;
    assert_eq!(
        distinct_skus(&products),
        products.len(),
        "no product was created twice"
    );
    assert_eq!(errors(api, path).await.json()["data"], json!([]));
}

#[tokio::test]
async fn a_sync_batch_past_its_wait_goes_on_as_an_operation_and_writes_everything() {
    let app = TestApp::spawn_with_config(&tiny_wait(), false).await;
    let path = degraded(&app, &hundred_products("WAIT")).await;
    let op = finished(&app, &path).await;
    assert_eq!(op["attributes"]["status"], "success", "{op}");
    assert_eq!(op["attributes"]["progress"].as_f64(), Some(1.0));
    for (counter, n) in [
        ("readCount", 100),
        ("writeCount", 100),
        ("createCount", 100),
        ("updateCount", 0),
        ("errorCount", 0),
    ] {
        assert_eq!(summary(&op, counter), n, "{counter}: {op}");
    }
    assert_eq!(app.list_all("products").await.len(), 100);
    assert_eq!(app.list_all("categories").await.len(), 50);
    let r = errors(&app, &path).await;
    assert_eq!(r.json()["data"], json!([]));
}

#[tokio::test]
async fn a_sync_batch_past_its_wait_that_fails_writes_nothing_and_reports_why() {
    let app = TestApp::spawn_with_config(&tiny_wait(), false).await;
    create_product(&app, "TAKEN").await;
    let mut body = hundred_products("LATE");
    body["data"][97]["attributes"]["sku"] = json!("TAKEN");
    let path = degraded(&app, &body).await;
    let op = finished(&app, &path).await;
    assert_eq!(op["attributes"]["status"], "failed", "{op}");
    assert_eq!(summary(&op, "readCount"), 100);
    assert_eq!(summary(&op, "errorCount"), 1);
    assert_eq!(summary(&op, "createCount"), 0);
    assert_eq!(app.list_all("products").await.len(), 1);
    assert!(app.list_all("categories").await.is_empty());
    let r = errors(&app, &path).await;
    let list = r.json()["data"].as_array().expect("errors").clone();
    assert_eq!(list.len(), 1, "{}", r.describe());
    let error = &list[0];
    assert_eq!(error["id"], format!("{}-1-1", id_of(&op)));
    assert_eq!(error["attributes"]["status"], 400);
    assert_eq!(error["attributes"]["title"], "unique entity constraint");
    assert_eq!(
        error["attributes"]["source"]["pointer"],
        "/data/97/attributes/sku"
    );
}

#[tokio::test]
async fn a_types_own_batch_settings_override_the_api_wide_ones() {
    // Products take at most 3 items in a synchronous batch; categories keep the API's 100.
    let at = EXAMPLE_CONFIG
        .find("\n  products:\n")
        .expect("the example declares products")
        + "\n  products:\n".len();
    let config = format!(
        "{}    batch: {{ syncLimit: 3 }}\n{}",
        &EXAMPLE_CONFIG[..at],
        &EXAMPLE_CONFIG[at..]
    );
    let app = TestApp::spawn_with_config(&config, false).await;
    let products = |n: usize| {
        let data: Vec<Value> = (0..n)
            .map(|i| new_product(&format!("OWN-{n}-{i}")))
            .collect();
        json!({ "data": data })
    };
    let r = batch(&app, "products", &products(4), &[SYNC]).await;
    assert_error_detail(
        &r,
        400,
        "request data constraint",
        Source::Any,
        "The data limit for the synchronous operation exceeded.",
    );
    batch(&app, "products", &products(3), &[SYNC])
        .await
        .assert_status(200);
    let categories: Vec<Value> = (0..4)
        .map(|i| json!({ "type": "categories", "attributes": { "name": format!("Own {i}") } }))
        .collect();
    batch(&app, "categories", &json!({ "data": categories }), &[SYNC])
        .await
        .assert_status(200);
    assert_eq!(app.list_all("products").await.len(), 3);
}

#[tokio::test]
async fn a_degraded_batch_stopped_with_its_server_ends_after_the_restart() {
    let mut app = TestApp::spawn_with_config(&tiny_wait(), false).await;
    let path = degraded(&app, &hundred_products("HALT")).await;
    // Stopped while the worker writes the batch (or, on a fast machine, just after): the
    // worker stops between two transactions and rolls back what it wrote.
    app.restart().await;
    all_written_once(&app, &path).await;
    assert_eq!(app.list_all("products").await.len(), 100);
    assert_eq!(app.list_all("categories").await.len(), 50);
}

#[test]
fn a_wait_passing_mid_steps_rolls_them_back_and_the_operation_writes_the_batch() {
    let data = data_folder();
    let runtime = runtime();
    // The test-only failpoint asks the request's write to stop right after its third step,
    // as a wait passing then would; the worker writing the operation's chunk is not stopped.
    let (server, api) = start(
        data.path(),
        &patient_config(),
        &[("JSONAPI_TEST_FAILPOINT", "stop-after-step:2")],
        &runtime,
    );
    runtime.block_on(async {
        let before = api.list_all("products").await.len();
        let path = degraded(&api, &hundred_products("MIDWAY")).await;
        // The three steps were rolled back: were they not, the worker would find the skus
        // taken and the operation would fail.
        all_written_once(&api, &path).await;
        assert_eq!(api.list_all("products").await.len(), before + 100);
    });
    server.signal("TERM");
    server.wait();
}

#[test]
fn a_degraded_batch_whose_worker_dies_mid_write_ends_after_the_restart() {
    let data = data_folder();
    let runtime = runtime();
    let config = tiny_wait();
    // The worker's process ends right after the fourth step of the batch's write (as
    // `kill -9` would): the operation was acknowledged and must still end.
    let (server, api) = start(
        data.path(),
        &config,
        &[("JSONAPI_TEST_FAILPOINT", "crash-after-step:3")],
        &runtime,
    );
    let token = api.token().map(str::to_owned);
    let (before, path) = runtime.block_on(async {
        let before = api.list_all("products").await.len();
        (before, degraded(&api, &hundred_products("DIED")).await)
    });
    let (status, _, stderr) = server.wait();
    assert!(!status.success(), "{status}; stderr:\n{stderr}");

    // The next start rolls back what the dead run wrote (at open on the embedded store; the
    // chunk's next run does it on DynamoDB) and the worker writes the batch again.
    let args = server_args(data.path(), &config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = ServerProcess::start(&args);
    let api = ApiClient::new(server.base_url.clone()).with_token(token.as_deref());
    runtime.block_on(async {
        all_written_once(&api, &path).await;
        assert_eq!(api.list_all("products").await.len(), before + 100);
    });
    server.signal("TERM");
    server.wait();
}
