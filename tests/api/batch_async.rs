//! The batch API's asynchronous mode (the default): 202 with `Content-Location` and an
//! `asyncoperations` resource, the operation polled to `success` with exact counters, items
//! with errors skipped and reported at `GET .../errors` with pointers into the original
//! request (paged), chunks (of 10 items here, 100 by default), visibility to the owner and admins only, the
//! operation routes' methods, and a restart (after a stop or a kill) that resumes unfinished
//! operations (Oro §10; acceptance rows 75, 77–81).

use std::time::{Duration, Instant};

use jsonapi_tests::values::{attr, id_of};
use jsonapi_tests::{
    ApiClient, Source, TestApp, TestResponse, Value, assert_error, example_config_with, json,
};

use crate::auth_acl::as_roles;
use crate::batch_sync::{
    batch, data_folder, new_product, patient_config, runtime, server_args, start,
};
use crate::user_access::signed_in;
use jsonapi_tests::binary::ServerProcess;

/// Submits a batch in the default mode, checks the immediate answer, and returns the
/// operation's path (below the base URL).
async fn submit(api: &ApiClient, ty: &str, body: &Value) -> String {
    accepted(&batch(api, ty, body, &[]).await, ty, "new")
}

/// Checks a batch's 202 answer: `Content-Location` (absolute) and the operation in `status`,
/// not started (`progress` and `summary` null) when it is `new`; returns the operation's path
/// (below the base URL).
pub(crate) fn accepted(r: &TestResponse, ty: &str, status: &str) -> String {
    r.assert_status(202);
    let location = r
        .header("content-location")
        .unwrap_or_else(|| panic!("no Content-Location:\n{}", r.describe()))
        .to_owned();
    let data = &r.json()["data"];
    assert_eq!(data["type"], "asyncoperations");
    assert_eq!(data["attributes"]["status"], status, "{}", r.describe());
    if status == "new" {
        assert_eq!(data["attributes"]["progress"], Value::Null);
    }
    assert_eq!(data["attributes"]["summary"], Value::Null);
    assert_eq!(data["attributes"]["entityType"], ty);
    assert_eq!(data["links"]["self"], location.as_str());
    let path = format!("/api/asyncoperations/{}", id_of(data));
    assert!(
        location.starts_with("http") && location.ends_with(&path),
        "{location}"
    );
    path
}

/// Polls an operation until it is finished.
pub(crate) async fn finished(api: &ApiClient, path: &str) -> Value {
    ended(api, path).await.unwrap_or_else(|e| panic!("{e}"))
}

/// The operation at `path` once it has ended, or what was last read of it when it did not
/// end within 240 s (or ended in no known status).
async fn ended(api: &ApiClient, path: &str) -> Result<Value, String> {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let r = api.get(path).await;
        r.assert_status(200);
        let op = r.json()["data"].clone();
        match op["attributes"]["status"].as_str() {
            Some("success" | "failed") => return Ok(op),
            Some("new" | "running") if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => return Err(format!("the operation is {other:?}:\n{}", r.describe())),
        }
    }
}

pub(crate) fn summary(op: &Value, counter: &str) -> u64 {
    op["attributes"]["summary"][counter]
        .as_u64()
        .unwrap_or_else(|| panic!("no summary.{counter}: {op}"))
}

/// How many of `products` have different skus: their count when none was created twice.
pub(crate) fn distinct_skus(products: &[Value]) -> usize {
    let mut skus: Vec<&str> = products
        .iter()
        .map(|p| attr(p, "sku").as_str().unwrap_or_default())
        .collect();
    skus.sort_unstable();
    skus.dedup();
    skus.len()
}

pub(crate) async fn errors(api: &ApiClient, path: &str) -> TestResponse {
    let r = api.get(&format!("{path}/errors?page%5Bsize%5D=-1")).await;
    r.assert_status(200);
    r
}

#[tokio::test]
async fn an_async_batch_saves_the_good_items_and_reports_the_others() {
    let app = TestApp::spawn().await;
    let body = json!({
        "data": [
            { "type": "products", "attributes": { "sku": "ASYNC-1", "name": "One", "price": "1.00" },
              "relationships": { "category": { "data": { "type": "categories", "id": "c1" } } } },
            { "type": "products", "attributes": { "sku": "ASYNC-2", "price": "1.00" } },
            new_product("ASYNC-3"),
            { "type": "products", "id": "404", "meta": { "update": true }, "attributes": { "name": "X" } },
        ],
        "included": [{ "type": "categories", "id": "c1", "attributes": { "name": "Tea" } }],
    });
    let path = submit(&app, "products", &body).await;
    let op = finished(&app, &path).await;
    assert_eq!(op["attributes"]["status"], "success", "{op}");
    assert_eq!(op["attributes"]["progress"], 1.0);
    for (counter, expected) in [
        ("readCount", 4),
        ("writeCount", 2),
        ("createCount", 2),
        ("updateCount", 0),
        ("errorCount", 2),
    ] {
        assert_eq!(summary(&op, counter), expected, "{counter}: {op}");
    }
    let r = errors(&app, &path).await;
    let errors = r.json()["data"].as_array().expect("errors");
    assert_eq!(errors.len(), 2, "{}", r.describe());
    let op_id = id_of(&op);
    assert_eq!(errors[0]["type"], "asyncoperationerrors");
    assert_eq!(errors[0]["id"], format!("{op_id}-1-1"));
    assert_eq!(errors[0]["attributes"]["status"], 400);
    assert_eq!(errors[0]["attributes"]["title"], "not blank constraint");
    assert_eq!(
        errors[0]["attributes"]["source"]["pointer"],
        "/data/1/attributes/name"
    );
    assert_eq!(errors[1]["attributes"]["status"], 404);
    assert_eq!(errors[1]["attributes"]["source"]["pointer"], "/data/3");
    // A page of them counts them all when asked.
    let r = app
        .get_with(
            &format!("{path}/errors?page%5Bsize%5D=1"),
            &[("X-Include", "totalCount")],
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.json()["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        r.header("x-include-total-count"),
        Some("2"),
        "{}",
        r.describe()
    );

    let skus: Vec<String> = app
        .list_all("products")
        .await
        .iter()
        .map(|p| attr(p, "sku").as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(skus, ["ASYNC-1", "ASYNC-3"]);
    assert_eq!(app.list_all("categories").await.len(), 1);
}

/// The example domain with chunks of 10 items (100 by default), so that a few dozen items
/// make several chunks.
fn small_chunks() -> String {
    example_config_with("  batch: { chunkSize: 10, includedChunkSize: 5 }\n")
}

#[tokio::test]
async fn a_large_batch_runs_in_chunks_and_its_errors_are_paged() {
    let app = TestApp::spawn_with_config(&small_chunks(), false).await;
    // 25 items (chunks of 10, 10 and 5); every 10th and the last have no name.
    let items: Vec<Value> = (0..25)
        .map(|i| {
            if i % 10 == 9 || i == 24 {
                json!({ "type": "products", "attributes": { "sku": format!("BIG-{i}"), "price": "2.00" } })
            } else {
                new_product(&format!("BIG-{i}"))
            }
        })
        .collect();
    let path = submit(&app, "products", &json!({ "data": items })).await;
    let op = finished(&app, &path).await;
    assert_eq!(summary(&op, "readCount"), 25);
    assert_eq!(summary(&op, "createCount"), 22);
    assert_eq!(summary(&op, "errorCount"), 3);
    assert_eq!(app.list_all("products").await.len(), 22);

    // A page number far past the end (its first item's position overflows) is an empty page.
    let far = app
        .get(&format!(
            "{path}/errors?page%5Bsize%5D=392&page%5Bnumber%5D=2504739069320345088"
        ))
        .await;
    far.assert_status(200);
    assert_eq!(far.json()["data"], json!([]));
    let first = app.get(&format!("{path}/errors?page%5Bsize%5D=2")).await;
    first.assert_status(200);
    let page = first.json()["data"].as_array().expect("a page");
    let pointers: Vec<&str> = page
        .iter()
        .map(|e| {
            e["attributes"]["source"]["pointer"]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        pointers,
        ["/data/9/attributes/name", "/data/19/attributes/name"]
    );
    let next = first.json()["links"]["next"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = app.get(&next).await;
    let page = second.json()["data"].as_array().expect("a page");
    assert_eq!(page.len(), 1);
    assert_eq!(
        page[0]["attributes"]["source"]["pointer"],
        "/data/24/attributes/name"
    );
    // Errors are numbered in their chunk.
    assert_eq!(page[0]["id"], format!("{}-3-1", id_of(&op)));
    assert!(second.json()["links"].get("next").is_none());
}

#[tokio::test]
async fn an_operation_is_visible_to_its_owner_and_admins_only() {
    let app = TestApp::spawn_seeded().await;
    let editor = as_roles(&app, &["editor"]).await;
    let other = as_roles(&app, &["editor"]).await;
    let path = submit(
        &editor,
        "products",
        &json!({ "data": [new_product("MINE")] }),
    )
    .await;
    let op = finished(&editor, &path).await;
    // An API client's own token speaks for no user: the operation names no owner.
    assert_eq!(
        op["relationships"]["owner"],
        json!({ "data": null }),
        "{op}"
    );
    // The seeded client is an admin.
    app.get(&path).await.assert_status(200);
    for p in [path.clone(), format!("{path}/errors")] {
        let r = other.get(&p).await;
        assert_error(&r, 404, "not found http exception", Source::Any);
    }
    assert_error(
        &app.get("/api/asyncoperations/999999").await,
        404,
        "not found http exception",
        Source::Any,
    );
}

/// A user's operation names the user as its `owner` (Oro §10.2), in the 202 and when polled.
#[tokio::test]
async fn an_operation_started_by_a_user_names_the_user_as_its_owner() {
    let app = TestApp::spawn_seeded().await;
    let (user, as_user, _) = signed_in(&app, "grace", &["editor"]).await;
    let r = batch(
        &as_user,
        "products",
        &json!({ "data": [new_product("OWN")] }),
        &[],
    )
    .await;
    let path = accepted(&r, "products", "new");
    let owner = json!({ "data": { "type": "users", "id": user } });
    assert_eq!(
        r.json()["data"]["relationships"]["owner"],
        owner,
        "{}",
        r.describe()
    );
    let op = finished(&as_user, &path).await;
    assert_eq!(op["relationships"]["owner"], owner, "{op}");
    // An admin sees whose it is.
    let r = app.get(&path).await;
    assert_eq!(
        r.json()["data"]["relationships"]["owner"],
        owner,
        "{}",
        r.describe()
    );
}

#[tokio::test]
async fn the_operation_routes_answer_get_only() {
    let app = TestApp::spawn().await;
    // An empty X-Mode asks for nothing: the default, asynchronous mode.
    let body = json!({ "data": [{ "type": "categories", "attributes": { "name": "A" } }] });
    let r = batch(&app, "categories", &body, &[("X-Mode", "")]).await;
    let path = accepted(&r, "categories", "new");
    finished(&app, &path).await;
    // An id that is no integer is malformed, as a sequence type's is.
    for bad in [
        "/api/asyncoperations/abc",
        "/api/asyncoperations/007",
        "/api/asyncoperations/abc/errors",
    ] {
        let r = app.get(bad).await;
        assert_error(&r, 400, "entity identifier constraint", Source::Any);
    }
    for p in [path.clone(), format!("{path}/errors")] {
        let r = app.delete(&p).await;
        assert_error(&r, 405, "method not allowed http exception", Source::Any);
        assert_eq!(r.header("allow"), Some("OPTIONS, GET, HEAD"));
        let r = app.options(&p).await;
        assert_eq!(r.header("allow"), Some("OPTIONS, GET, HEAD"));
    }
    let r = app
        .patch(
            &path,
            &json!({ "data": { "type": "asyncoperations", "id": "1" } }),
        )
        .await;
    r.assert_status(405);
    // No list, no other subresource.
    assert_error(
        &app.get("/api/asyncoperations").await,
        404,
        "not found http exception",
        Source::Any,
    );
    assert_error(
        &app.get(&format!("{path}/owner")).await,
        404,
        "not found http exception",
        Source::Any,
    );
    // The errors are paged only: sorting, fields and include are refused.
    for param in [
        "sort=id",
        "include=x",
        "fields%5Basyncoperationerrors%5D=title",
    ] {
        let r = app.get(&format!("{path}/errors?{param}")).await;
        assert_error(&r, 400, "filter constraint", Source::Any);
    }
}

#[tokio::test]
async fn a_restart_resumes_unfinished_operations_without_doubling_anything() {
    let mut app = TestApp::spawn_with_config(&small_chunks(), false).await;
    let items: Vec<Value> = (0..60).map(|i| new_product(&format!("RES-{i}"))).collect();
    let path = submit(&app, "products", &json!({ "data": items })).await;
    // Stopped while it runs (or, on a fast machine, just after).
    app.restart().await;
    let op = finished(&app, &path).await;
    assert_eq!(summary(&op, "createCount"), 60, "{op}");
    assert_eq!(summary(&op, "readCount"), 60, "{op}");
    let products = app.list_all("products").await;
    assert_eq!(products.len(), 60);
    assert_eq!(distinct_skus(&products), 60, "no product was created twice");
}

/// A worker killed in the middle of an operation (`kill -9`: on the embedded store the
/// commits not synced yet are lost, the ends of its last chunks among them) ends it after the
/// restart, every item written once: chunks whose ends were lost are run again and write only
/// the units whose records were lost with them.
#[test]
fn a_killed_worker_resumes_its_operation_losing_and_doubling_nothing() {
    let data = data_folder();
    let runtime = runtime();
    let config = small_chunks();
    let (server, api) = start(data.path(), &config, &[], &runtime);
    let token = api.token().map(str::to_owned);
    // 60 chunks: the worker's first lease covers 32 (a list shows at most 1,000 products).
    let items: Vec<Value> = (0..600)
        .map(|i| new_product(&format!("KILLED-{i}")))
        .collect();
    let (before, path) = runtime.block_on(async {
        let before = api.list_all("products").await.len();
        let path = submit(&api, "products", &json!({ "data": items })).await;
        // Killed once some of its chunks are done (on a fast machine it may be over).
        loop {
            let op = api.get(&path).await.json()["data"]["attributes"].clone();
            if op["progress"].as_f64().unwrap_or(0.0) >= 0.2 || op["status"] == "success" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (before, path)
    });
    server.signal("KILL");
    server.wait();

    let args = server_args(data.path(), &config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = ServerProcess::start(&args);
    let api = ApiClient::new(server.base_url.clone()).with_token(token.as_deref());
    // A restarted worker that does not end the operation says why in its log.
    let op = match runtime.block_on(ended(&api, &path)) {
        Ok(op) => op,
        Err(e) => {
            server.signal("TERM");
            let (_, _, log) = server.wait();
            panic!("{e}\nthe restarted server's log:\n{log}");
        }
    };
    runtime.block_on(async {
        assert_eq!(op["attributes"]["status"], "success", "{op}");
        assert_eq!(summary(&op, "createCount"), 600, "{op}");
        assert_eq!(summary(&op, "errorCount"), 0, "{op}");
        let products = api.list_all("products").await;
        assert_eq!(products.len(), before + 600, "every product once");
        assert_eq!(
            distinct_skus(&products),
            products.len(),
            "no product was created twice"
        );
    });
    server.signal("TERM");
    server.wait();
}

#[tokio::test]
async fn a_unit_past_one_store_transaction_is_refused_with_its_item_pointed_at() {
    let app = TestApp::spawn().await;
    // A category with 12 new products linked to it is one unit of ~170 store writes (each
    // product is its item, its unique sku, its list and index entries): one transaction
    // holds 100. The unit is refused whole; the category after it is written.
    let products: Vec<Value> = (0..12)
        .map(|i| {
            json!({ "type": "products", "lid": format!("p{i}"),
                    "attributes": crate::fixtures::product_attributes(&format!("HEAVY-{i}")),
                    "relationships": { "category": { "data": { "type": "categories", "lid": "heavy" } } } })
        })
        .collect();
    let body = json!({
        "data": [
            { "type": "categories", "lid": "heavy", "attributes": { "name": "Heavy" } },
            { "type": "categories", "attributes": { "name": "Light" } },
        ],
        "included": products,
    });
    let path = submit(&app, "categories", &body).await;
    let op = finished(&app, &path).await;
    assert_eq!(op["attributes"]["status"], "success", "{op}");
    assert_eq!(summary(&op, "readCount"), 2);
    assert_eq!(summary(&op, "createCount"), 1);
    assert_eq!(summary(&op, "errorCount"), 1);
    let r = errors(&app, &path).await;
    let list = r.json()["data"].as_array().expect("errors").clone();
    assert_eq!(list.len(), 1, "{}", r.describe());
    let error = &list[0]["attributes"];
    assert_eq!(error["status"], 400);
    assert_eq!(error["title"], "request data constraint");
    assert_eq!(error["source"]["pointer"], "/data/0");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("one transaction holds at most 100"),
        "{detail}"
    );
    let names: Vec<Value> = app
        .list_all("categories")
        .await
        .iter()
        .map(|c| attr(c, "name").clone())
        .collect();
    assert_eq!(names, [json!("Light")]);
    assert!(app.list_all("products").await.is_empty());
}

#[test]
fn a_chunk_that_keeps_failing_is_given_up_and_its_operation_ends() {
    let data = data_folder();
    let runtime = runtime();
    // The test-only failpoint fails every run of a chunk before it applies anything, as a
    // store that keeps failing would: after its attempts the chunk is given up.
    let (server, api) = start(
        data.path(),
        &patient_config(),
        &[("JSONAPI_TEST_FAILPOINT", "fail-chunks")],
        &runtime,
    );
    runtime.block_on(async {
        let before = api.list_all("products").await.len();
        let body = json!({ "data": [new_product("GIVEN-UP-0"), new_product("GIVEN-UP-1")] });
        let path = submit(&api, "products", &body).await;
        let op = finished(&api, &path).await;
        assert_eq!(op["attributes"]["status"], "failed", "{op}");
        assert_eq!(summary(&op, "readCount"), 2);
        assert_eq!(summary(&op, "errorCount"), 2);
        assert_eq!(summary(&op, "writeCount"), 0);
        let r = errors(&api, &path).await;
        let list = r.json()["data"].as_array().expect("errors").clone();
        let pointers: Vec<&Value> = list
            .iter()
            .map(|e| &e["attributes"]["source"]["pointer"])
            .collect();
        assert_eq!(pointers, [&json!("/data/0"), &json!("/data/1")]);
        for e in &list {
            assert_eq!(e["attributes"]["status"], 500);
            assert_eq!(e["attributes"]["title"], "async operation exception");
        }
        assert_eq!(api.list_all("products").await.len(), before);
    });
    server.signal("TERM");
    server.wait();
}

#[tokio::test]
async fn a_chunk_past_one_stored_item_is_kept_in_parts_and_applied_whole() {
    let app = TestApp::spawn().await;
    // A hundred products with long descriptions: their one chunk is about 480 KB as sent,
    // more than one stored item holds (DynamoDB's 400 KB).
    let long = "Leaves picked at dawn, rolled by hand. ".repeat(120);
    let items: Vec<Value> = (0..100)
        .map(|i| {
            let mut product = new_product(&format!("LONG-{i}"));
            product["attributes"]["description"] = json!(long);
            product
        })
        .collect();
    let path = submit(&app, "products", &json!({ "data": items })).await;
    let op = finished(&app, &path).await;
    assert_eq!(op["attributes"]["status"], "success", "{op}");
    assert_eq!(summary(&op, "createCount"), 100, "{op}");
    assert_eq!(summary(&op, "errorCount"), 0, "{op}");
    let r = app.get("/api/products?filter%5Bsku%5D=LONG-99").await;
    r.assert_status(200);
    assert_eq!(attr(&r.json()["data"][0], "description"), &json!(long));
}
