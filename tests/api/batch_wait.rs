//! A synchronous batch past its wait (`syncWait`, the model's 25 s; a millisecond here) is
//! answered as an asynchronous one, 202 with its operation, and goes on to its end, still all
//! or nothing: the operation ends `success` with every item written, or `failed` with the
//! batch's errors and nothing written. A type's own batch settings override `api.batch`'s
//! (Oro §11; acceptance row 84).

use jsonapi_tests::values::id_of;
use jsonapi_tests::{
    ApiClient, EXAMPLE_CONFIG, Source, TestApp, Value, assert_error_detail, example_config_with,
    json,
};

use crate::batch_async::{accepted, errors, finished, summary};
use crate::batch_sync::{SYNC, batch, hundred_products, new_product};
use crate::fixtures::create_product;

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
