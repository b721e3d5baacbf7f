//! The batch API's request checks and its synchronous mode (`PATCH /api/{type}` with
//! `X-Mode: sync`): items written in request order, all or nothing, answered with every
//! primary resource (`meta.dataId`) and the included ones (`meta.includeId`); the model's
//! refusals before anything is written (Oro §10.1, §11; acceptance rows 74, 76, 82, 83, 85, 86).

use std::path::Path;

use jsonapi_tests::binary::ServerProcess;
use jsonapi_tests::values::{attr, id_of, to_one_id};
use jsonapi_tests::{
    ApiClient, Method, Source, TestApp, TestResponse, Value, assert_error, assert_error_detail,
    assert_has_error, example_config_with, json,
};
use tokio::runtime::Runtime;

use crate::auth_acl::{as_roles, role};
use crate::fixtures::{create_product, product_attributes};

pub(crate) const SYNC: (&str, &str) = ("X-Mode", "sync");

/// The example domain with the longest wait a synchronous batch may have: a hundred products
/// take DynamoDB Local longer than the model's 25 s on a loaded machine, and these tests are of
/// the synchronous answer (`batch_wait` tests what follows the wait).
pub(crate) fn patient_config() -> String {
    example_config_with("  batch: { syncWait: 900 }\n")
}

/// `PATCH /api/{ty}` of `body` with these headers.
pub(crate) async fn batch(
    api: &ApiClient,
    ty: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> TestResponse {
    api.patch_with(&format!("/api/{ty}"), body, headers).await
}

/// A batch item creating a product.
pub(crate) fn new_product(sku: &str) -> Value {
    json!({ "type": "products", "attributes": product_attributes(sku) })
}

/// The data array of a response.
fn data(r: &TestResponse) -> &Vec<Value> {
    r.json()["data"]
        .as_array()
        .unwrap_or_else(|| panic!("data is not an array:\n{}", r.describe()))
}

#[tokio::test]
async fn a_sync_batch_writes_every_item_in_request_order_and_answers_them() {
    let app = TestApp::spawn().await;
    let existing = create_product(&app, "SYNC-OLD").await;
    let existing = id_of(&existing).to_owned();
    let body = json!({
        "data": [
            { "type": "products", "id": "p1", "attributes": product_attributes("SYNC-1"),
              "relationships": { "category": { "data": { "type": "categories", "id": "c1" } } } },
            { "type": "products", "id": existing, "meta": { "update": true },
              "attributes": { "name": "Renamed" } },
            new_product("SYNC-2"),
            { "type": "products", "lid": "p4", "attributes": product_attributes("SYNC-4") },
        ],
        "included": [{ "type": "categories", "id": "c1", "attributes": { "name": "Tea" } }],
    });
    let r = batch(&app, "products", &body, &[SYNC]).await;
    r.assert_status(200);
    assert!(r.header("content-location").is_none(), "{}", r.describe());
    let items = data(&r);
    assert_eq!(items.len(), 4, "{}", r.describe());
    assert_eq!(attr(&items[0], "sku"), "SYNC-1");
    assert_eq!(items[0]["meta"]["dataId"], "p1");
    assert_ne!(id_of(&items[0]), "p1", "a created product gets a real id");
    assert_eq!(id_of(&items[1]), existing);
    assert_eq!(items[1]["meta"]["dataId"], existing.as_str());
    assert_eq!(attr(&items[1], "name"), "Renamed");
    assert_eq!(attr(&items[2], "sku"), "SYNC-2");
    assert!(
        items[2]
            .get("meta")
            .is_none_or(|m| m.get("dataId").is_none())
    );
    // A local id is the request's id of the item too.
    assert_eq!(items[3]["meta"]["dataId"], "p4", "{}", r.describe());
    let included = r.json()["included"].as_array().expect("included");
    let category = included
        .iter()
        .find(|i| i["meta"]["includeId"] == "c1")
        .unwrap_or_else(|| panic!("no included c1:\n{}", r.describe()));
    assert_eq!(to_one_id(&items[0], "category"), Some(id_of(category)));

    // Stored as answered.
    let stored = app.fetch("products", id_of(&items[0])).await;
    assert_eq!(to_one_id(&stored, "category"), Some(id_of(category)));
    assert_eq!(
        attr(&app.fetch("products", &existing).await, "name"),
        "Renamed"
    );
    assert_eq!(app.list_all("products").await.len(), 4);
}

#[tokio::test]
async fn a_sync_batch_with_one_bad_item_writes_nothing() {
    let app = TestApp::spawn().await;
    let existing = create_product(&app, "KEEP").await;
    let existing = id_of(&existing).to_owned();
    let body = json!({ "data": [
        new_product("ALL-1"),
        { "type": "products", "id": existing, "meta": { "update": true }, "attributes": { "name": "Changed" } },
        { "type": "products", "attributes": { "sku": "ALL-3", "price": "1.00" } },
        { "type": "products", "attributes": product_attributes("KEEP") },
    ] });
    let r = batch(&app, "products", &body, &[SYNC]).await;
    r.assert_status(400);
    assert_has_error(
        &r,
        400,
        "not blank constraint",
        Source::Pointer("/data/2/attributes/name"),
    );
    assert_has_error(
        &r,
        400,
        "unique entity constraint",
        Source::Pointer("/data/3/attributes/sku"),
    );
    assert_eq!(
        app.list_all("products").await.len(),
        1,
        "nothing was created"
    );
    assert_eq!(
        attr(&app.fetch("products", &existing).await, "name"),
        "Product KEEP"
    );

    // An update of a missing resource is a 404 at its item.
    let body = json!({ "data": [
        new_product("ALL-4"),
        { "type": "products", "id": "999999", "meta": { "update": true }, "attributes": { "name": "X" } },
    ] });
    let r = batch(&app, "products", &body, &[SYNC]).await;
    assert_error(
        &r,
        404,
        "not found http exception",
        Source::Pointer("/data/1"),
    );
    assert_eq!(app.list_all("products").await.len(), 1);
    // Beside another item's problem, both are told, under the status of their group (§3:
    // 400 and 404 make a 400).
    let body = json!({ "data": [
        { "type": "products", "attributes": { "sku": "ALL-5", "price": "1.00" } },
        { "type": "products", "id": "999999", "meta": { "update": true }, "attributes": { "name": "X" } },
    ] });
    let r = batch(&app, "products", &body, &[SYNC]).await;
    r.assert_status(400);
    assert_has_error(
        &r,
        400,
        "not blank constraint",
        Source::Pointer("/data/0/attributes/name"),
    );
    assert_has_error(
        &r,
        404,
        "not found http exception",
        Source::Pointer("/data/1"),
    );
    assert_eq!(r.errors().len(), 2, "{}", r.describe());
    assert_eq!(app.list_all("products").await.len(), 1);
}

#[tokio::test]
async fn malformed_batches_are_refused_before_anything_is_written() {
    let app = TestApp::spawn().await;
    let existing = create_product(&app, "DUP-OLD").await;
    let existing = id_of(&existing).to_owned();
    for mode in [None, Some(SYNC)] {
        let headers: Vec<(&str, &str)> = mode.into_iter().collect();
        let r = app
            .request(
                Method::PATCH,
                "/api/products",
                &[
                    ("Content-Type", jsonapi_tests::MT),
                    ("Accept", jsonapi_tests::MT),
                ]
                .into_iter()
                .chain(headers.iter().copied())
                .collect::<Vec<_>>(),
                Some(""),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.describe());
        let detail = r.json()["errors"][0]["detail"].as_str().unwrap_or_default();
        assert_eq!(detail, "The request data should not be empty.");

        let r = batch(
            &app,
            "products",
            &json!({ "data": new_product("ONE") }),
            &headers,
        )
        .await;
        assert_error_detail(
            &r,
            400,
            "request data constraint",
            Source::Pointer("/data"),
            "The primary data object collection should be an array.",
        );
        for empty in [json!([]), Value::Null] {
            let r = batch(&app, "products", &json!({ "data": empty }), &headers).await;
            assert_error_detail(
                &r,
                400,
                "request data constraint",
                Source::Pointer("/data"),
                "The primary data object collection should not be empty.",
            );
        }
        let r = batch(&app, "products", &json!({ "data": ["test"] }), &headers).await;
        assert_error_detail(
            &r,
            400,
            "request data constraint",
            Source::Pointer("/data/0"),
            "The primary resource object should be an object.",
        );
        // `{}` and `[]` hold no request data, as an empty body does (the model reads all
        // three as an empty array).
        for empty in [json!({}), json!([])] {
            let r = batch(&app, "products", &empty, &headers).await;
            assert_error_detail(
                &r,
                400,
                "request data constraint",
                Source::Pointer(""),
                "The request data should not be empty.",
            );
        }
        // An item without a type is told so once (not also that "" is a foreign type).
        let body = json!({ "data": [{ "attributes": product_attributes("NT-1") }] });
        let r = batch(&app, "products", &body, &headers).await;
        assert_error(
            &r,
            400,
            "request data constraint",
            Source::Pointer("/data/0/type"),
        );
        assert_eq!(r.errors().len(), 1, "{}", r.describe());
        // Two new items under one temporary id: a linkage to it would name either.
        let twice = |id_member: &str| {
            let item = |name: &str| json!({ "type": "categories", id_member: "d1", "attributes": { "name": name } });
            json!({ "data": [item("A"), { "type": "categories", "attributes": { "name": "B" } }, item("C")] })
        };
        for id_member in ["id", "lid"] {
            let r = batch(&app, "categories", &twice(id_member), &headers).await;
            assert_error_detail(
                &r,
                400,
                "request data constraint",
                Source::Pointer("/data/2"),
                "The item duplicates the item with the index 0",
            );
        }

        // A `lid` and an `id` of one value: both would be answered as `meta.dataId` "d1".
        let body = json!({ "data": [
            { "type": "categories", "lid": "d1", "attributes": { "name": "A" } },
            { "type": "categories", "id": "d1", "attributes": { "name": "B" } },
        ] });
        let r = batch(&app, "categories", &body, &headers).await;
        assert_error_detail(
            &r,
            400,
            "request data constraint",
            Source::Pointer("/data/1"),
            "The item duplicates the item with the index 0",
        );
        // Two items updating one resource: which write wins, and a synchronous answer would
        // hold the resource twice (a JSON:API document holds each resource once).
        let update = |name: &str| json!({ "type": "products", "id": existing, "meta": { "update": true }, "attributes": { "name": name } });
        let body = json!({ "data": [update("A"), update("B")] });
        let r = batch(&app, "products", &body, &headers).await;
        assert_error_detail(
            &r,
            400,
            "request data constraint",
            Source::Pointer("/data/1"),
            "The item duplicates the item with the index 0",
        );
        // Included items repeating one another, refused before anything is stored (an
        // asynchronous batch too, not reported later as an unlinked item).
        let mut product = new_product("DUP-INC");
        product["relationships"] =
            json!({ "category": { "data": { "type": "categories", "id": "x" } } });
        let category =
            |name: &str| json!({ "type": "categories", "id": "x", "attributes": { "name": name } });
        let body = json!({ "data": [product], "included": [category("a"), category("b")] });
        let r = batch(&app, "products", &body, &headers).await;
        assert_error_detail(
            &r,
            400,
            "request data constraint",
            Source::Pointer("/included/1"),
            "The item duplicates the item with the index 0",
        );
        assert_eq!(r.errors().len(), 1, "{}", r.describe());

        let body = json!({ "data": [new_product("A"), { "type": "categories", "attributes": { "name": "x" } }] });
        let r = batch(&app, "products", &body, &headers).await;
        assert_error_detail(
            &r,
            400,
            "entity type constraint",
            Source::Pointer("/data/1/type"),
            "The entity type \"categories\" is not supported by this batch operation.",
        );
    }
    let r = batch(
        &app,
        "products",
        &json!({ "data": [new_product("A")] }),
        &[("X-Mode", "later")],
    )
    .await;
    assert_error_detail(
        &r,
        400,
        "invalid header value exception",
        Source::Header("X-Mode"),
        "The accepted values for the \"X-Mode\" are \"sync\" or \"async\".",
    );
    // An included item must be linked to at least one primary item.
    let body = json!({
        "data": [new_product("L1"), new_product("L2")],
        "included": [{ "type": "categories", "id": "c9", "attributes": { "name": "Lonely" } }],
    });
    let r = batch(&app, "products", &body, &[SYNC]).await;
    assert_error_detail(
        &r,
        400,
        "request data constraint",
        Source::Pointer("/included/0"),
        "The entity should have a relationship with at least one primary entity and this should be explicitly specified in the request",
    );
    assert_eq!(
        app.list_all("products").await.len(),
        1,
        "the one made first"
    );
    assert!(app.list_all("categories").await.is_empty());
}

#[tokio::test]
async fn an_update_item_needs_a_well_formed_id_and_is_told_once_what_is_wrong() {
    let app = TestApp::spawn().await;
    let update = |id: Option<&str>| {
        let mut item = json!({ "type": "products", "meta": { "update": true },
                               "attributes": { "quantity": 1 } });
        if let Some(id) = id {
            item["id"] = json!(id);
        }
        json!({ "data": [item] })
    };
    // No id: the model's identifier error, at the item.
    let r = batch(&app, "products", &update(None), &[SYNC]).await;
    assert_error_detail(
        &r,
        400,
        "entity identifier constraint",
        Source::Pointer("/data/0"),
        "The 'id' property is required to update a resource.",
    );
    assert_eq!(r.errors().len(), 1, "{}", r.describe());
    // A malformed id is that, not also a resource not found.
    let r = batch(&app, "products", &update(Some("abc")), &[SYNC]).await;
    assert_error(
        &r,
        400,
        "entity identifier constraint",
        Source::Pointer("/data/0/id"),
    );
    assert_eq!(r.errors().len(), 1, "{}", r.describe());
    // A blank or null one names nothing (the model's request validator).
    let mut null_id = update(Some("1"));
    null_id["data"][0]["id"] = Value::Null;
    for (body, what) in [(update(Some(" ")), "blank"), (null_id, "null")] {
        let r = batch(&app, "products", &body, &[SYNC]).await;
        assert_error_detail(
            &r,
            400,
            "request data constraint",
            Source::Pointer("/data/0/id"),
            &format!("The 'id' property should not be {what}"),
        );
        assert_eq!(r.errors().len(), 1, "{}", r.describe());
    }
    // A well-formed unknown one is not found.
    let r = batch(&app, "products", &update(Some("999999")), &[SYNC]).await;
    assert_error(
        &r,
        404,
        "not found http exception",
        Source::Pointer("/data/0"),
    );
}

#[tokio::test]
async fn a_sync_batch_sent_twice_hears_of_every_taken_value() {
    let app = TestApp::spawn().await;
    let body =
        json!({ "data": [new_product("TWICE-0"), new_product("TWICE-1"), new_product("TWICE-2")] });
    batch(&app, "products", &body, &[SYNC])
        .await
        .assert_status(200);
    let r = batch(&app, "products", &body, &[SYNC]).await;
    r.assert_status(400);
    for n in 0..3 {
        assert_has_error(
            &r,
            400,
            "unique entity constraint",
            Source::Pointer(&format!("/data/{n}/attributes/sku")),
        );
    }
    assert_eq!(r.errors().len(), 3, "{}", r.describe());
    // Two items of one batch with one value: the second is told.
    let body = json!({ "data": [new_product("SAME"), new_product("SAME")] });
    let r = batch(&app, "products", &body, &[SYNC]).await;
    assert_error(
        &r,
        400,
        "unique entity constraint",
        Source::Pointer("/data/1/attributes/sku"),
    );
    assert_eq!(app.list_all("products").await.len(), 3);
}

#[tokio::test]
async fn a_sync_batch_is_limited_to_100_items_and_50_included() {
    let app = TestApp::spawn().await;
    let many: Vec<Value> = (0..101).map(|i| new_product(&format!("LIM-{i}"))).collect();
    let r = batch(&app, "products", &json!({ "data": many }), &[SYNC]).await;
    assert_error_detail(
        &r,
        400,
        "request data constraint",
        Source::Absent,
        "The data limit for the synchronous operation exceeded.",
    );
    let included: Vec<Value> = (0..51)
        .map(|i| json!({ "type": "categories", "id": format!("c{i}"), "attributes": { "name": "n" } }))
        .collect();
    let body = json!({ "data": [new_product("LIM")], "included": included });
    let r = batch(&app, "products", &body, &[SYNC]).await;
    assert_error_detail(
        &r,
        400,
        "request data constraint",
        Source::Absent,
        "The data limit for the synchronous operation exceeded for the section \"included\".",
    );
    assert!(app.list_all("products").await.is_empty());
}

#[tokio::test]
async fn types_without_update_list_answer_405_and_callers_need_the_items_permissions() {
    let app = TestApp::spawn_seeded().await;
    let r = batch(&app, "users", &json!({ "data": [] }), &[SYNC]).await;
    r.assert_status(405);
    let allow = r.header("allow").unwrap_or_default().to_owned();
    assert!(!allow.contains("PATCH"), "{allow}");
    let r = app.options("/api/products").await;
    assert_eq!(
        r.header("allow"),
        Some("OPTIONS, GET, HEAD, PATCH, POST, DELETE")
    );

    // The items' permissions, and (the model's rule) CREATE and VIEW on `asyncoperations`:
    // a batch is an operation the caller starts and reads.
    let catalog = json!(["VIEW", "CREATE", "EDIT"]);
    role(&app, "items-only", json!({ "products": catalog })).await;
    role(
        &app,
        "create-only",
        json!({ "products": catalog, "asyncoperations": ["CREATE"] }),
    )
    .await;
    role(
        &app,
        "batches",
        json!({ "products": catalog, "asyncoperations": ["CREATE", "VIEW"] }),
    )
    .await;
    let viewer = as_roles(&app, &["viewer"]).await;
    let items_only = as_roles(&app, &["items-only"]).await;
    let create_only = as_roles(&app, &["create-only"]).await;
    let before = app.list_all("products").await.len();
    for mode in [SYNC, ("X-Mode", "async")] {
        for caller in [&viewer, &items_only, &create_only] {
            let r = batch(
                caller,
                "products",
                &json!({ "data": [new_product("NOPE")] }),
                &[mode],
            )
            .await;
            assert_error(&r, 403, "access denied exception", Source::Any);
        }
    }
    assert_eq!(app.list_all("products").await.len(), before);
    let batches = as_roles(&app, &["batches"]).await;
    let r = batch(
        &batches,
        "products",
        &json!({ "data": [new_product("YES")] }),
        &[SYNC],
    )
    .await;
    r.assert_status(200);
}

/// A sync batch of 100 products and 50 included categories (products `2k` and `2k+1` in
/// category `c{k}`): several hundred store writes, far past one DynamoDB transaction.
pub(crate) fn hundred_products(prefix: &str) -> Value {
    let data: Vec<Value> = (0..100)
        .map(|i| {
            json!({ "type": "products", "attributes": product_attributes(&format!("{prefix}-{i}")),
                    "relationships": { "category": { "data": { "type": "categories", "id": format!("c{}", i / 2) } } } })
        })
        .collect();
    let included: Vec<Value> = (0..50)
        .map(|k| json!({ "type": "categories", "id": format!("c{k}"), "attributes": { "name": format!("{prefix} shelf {k}") } }))
        .collect();
    json!({ "data": data, "included": included })
}

#[tokio::test]
async fn a_sync_batch_past_one_store_transaction_is_written_whole() {
    let app = TestApp::spawn_with_config(&patient_config(), false).await;
    let r = batch(&app, "products", &hundred_products("BIG"), &[SYNC]).await;
    r.assert_status(200);
    let items = data(&r);
    assert_eq!(items.len(), 100, "{}", r.describe());
    let included = r.json()["included"].as_array().expect("included");
    assert_eq!(included.len(), 50);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(attr(item, "sku"), format!("BIG-{i}").as_str());
        let shelf = format!("c{}", i / 2);
        let category = included
            .iter()
            .find(|c| c["meta"]["includeId"] == shelf.as_str())
            .unwrap_or_else(|| panic!("no included {shelf}"));
        assert_eq!(to_one_id(item, "category"), Some(id_of(category)));
    }
    assert_eq!(app.list_all("products").await.len(), 100);
    assert_eq!(app.list_all("categories").await.len(), 50);
    // The index and inverse items came with the resources: a category's products are found.
    let last = id_of(&included[49]);
    let r = app
        .get(&format!("/api/products?filter%5Bcategory%5D={last}"))
        .await;
    r.assert_status(200);
    let skus: Vec<&Value> = data(&r).iter().map(|p| attr(p, "sku")).collect();
    assert_eq!(skus, ["BIG-98", "BIG-99"]);
    let r = app.get(&format!("/api/categories/{last}/products")).await;
    assert_eq!(data(&r).len(), 2, "{}", r.describe());
}

#[tokio::test]
async fn a_sync_batch_failing_at_item_97_writes_nothing() {
    let app = TestApp::spawn_with_config(&patient_config(), false).await;
    create_product(&app, "TAKEN").await;
    // A value another product holds, and one an earlier item of the batch claims.
    for sku in ["TAKEN", "F97-3"] {
        let mut body = hundred_products("F97");
        body["data"][97]["attributes"]["sku"] = json!(sku);
        let r = batch(&app, "products", &body, &[SYNC]).await;
        assert_has_error(
            &r,
            400,
            "unique entity constraint",
            Source::Pointer("/data/97/attributes/sku"),
        );
        assert_eq!(app.list_all("products").await.len(), 1, "{sku}");
        assert!(app.list_all("categories").await.is_empty(), "{sku}");
    }
}

/// `jsonapi-local` arguments for a server on `data` with the configuration `config`, on the
/// store the suite runs on (a table named after the data folder on DynamoDB).
pub(crate) fn server_args(data: &Path, config: &str) -> Vec<String> {
    let path = data.to_str().expect("a UTF-8 path").to_owned();
    let text = config;
    let config = data.join("config.yaml");
    std::fs::write(&config, text).expect("the configuration is written");
    let mut args = vec![
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--data".into(),
        path,
        "--config".into(),
        config.to_str().expect("a UTF-8 path").to_owned(),
        "--seed".into(),
    ];
    if std::env::var("JSONAPI_TEST_BACKEND").as_deref() == Ok("dynamodb") {
        let endpoint = std::env::var("JSONAPI_DYNAMODB_ENDPOINT")
            .expect("JSONAPI_DYNAMODB_ENDPOINT names the DynamoDB endpoint");
        let name = data.file_name().and_then(|n| n.to_str()).unwrap_or("t");
        let table: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        args.extend([
            "--store".into(),
            "dynamodb".into(),
            "--endpoint".into(),
            endpoint,
            "--table".into(),
            table,
            "--create-table".into(),
        ]);
    }
    args
}

/// Starts the real binary on `data` with the configuration `config` and `env`; the server
/// and a client holding its token.
pub(crate) fn start(
    data: &Path,
    config: &str,
    env: &[(&str, &str)],
    runtime: &Runtime,
) -> (ServerProcess, ApiClient) {
    let args = server_args(data, config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = ServerProcess::start_with_env(&args, env);
    let api = ApiClient::new(server.base_url.clone());
    let client = server.dev_client();
    let api = runtime.block_on(async {
        let token = match &client {
            Some(client) => api.client_token(client).await,
            None => panic!("the first start prints its development client"),
        };
        api.with_token(Some(&token))
    });
    (server, api)
}

/// A data folder whose name is also a valid table name.
pub(crate) fn data_folder() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("jsonapi-batch-")
        .tempdir()
        .expect("a data folder")
}

pub(crate) fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// How many products and categories the API lists.
async fn counts(api: &ApiClient) -> (usize, usize) {
    (
        api.list_all("products").await.len(),
        api.list_all("categories").await.len(),
    )
}

#[test]
fn a_step_failing_mid_commit_rolls_back_the_steps_before_it() {
    let data = data_folder();
    let runtime = runtime();
    // The test-only failpoint fails the last transaction of a batch written in steps as when
    // a concurrent writer took a SKU it claims (every step before it is committed by then).
    let (server, api) = start(
        data.path(),
        &patient_config(),
        &[("JSONAPI_TEST_FAILPOINT", "fail-last-step")],
        &runtime,
    );
    runtime.block_on(async {
        let before = counts(&api).await;
        let r = batch(&api, "products", &hundred_products("MID"), &[SYNC]).await;
        r.assert_status(400);
        let errors = r.json()["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "{}", r.describe());
        assert_eq!(errors[0]["title"], "unique entity constraint");
        let pointer = errors[0]["source"]["pointer"].as_str().unwrap_or_default();
        let item: usize = pointer
            .strip_prefix("/data/")
            .and_then(|p| p.strip_suffix("/attributes/sku"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{}", r.describe()));
        assert!(item >= 90, "a product of the last step: {pointer}");
        assert_eq!(counts(&api).await, before, "nothing of the batch is left");
        // Its unique values were given back: a batch that fits one transaction takes them.
        let body = json!({ "data": [new_product("MID-0"), new_product("MID-99")] });
        batch(&api, "products", &body, &[SYNC])
            .await
            .assert_status(200);
        assert_eq!(counts(&api).await.0, before.0 + 2);
    });
    server.signal("TERM");
    server.wait();
}

#[test]
fn a_crash_mid_commit_is_rolled_back_at_the_next_start() {
    let data = data_folder();
    let runtime = runtime();
    let (server, api) = start(
        data.path(),
        &patient_config(),
        &[("JSONAPI_TEST_FAILPOINT", "crash-after-step:3")],
        &runtime,
    );
    let before = runtime.block_on(counts(&api));
    let token = api.token().map(str::to_owned);
    // The process ends between two steps (the failpoint aborts it, as `kill -9` would): the
    // request gets no answer.
    let sent = runtime.block_on(async move {
        tokio::spawn(
            async move { batch(&api, "products", &hundred_products("CRASH"), &[SYNC]).await },
        )
        .await
    });
    assert!(
        sent.is_err(),
        "the server answered: {:?}",
        sent.map(|r| r.status)
    );
    let (status, _, stderr) = server.wait();
    assert!(!status.success(), "{status}; stderr:\n{stderr}");

    // The next start finds the unfinished change: at open on the embedded store, once its
    // lease is over on DynamoDB (where another process may still be writing it).
    let args = server_args(data.path(), &patient_config());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = ServerProcess::start(&args);
    let api = ApiClient::new(server.base_url.clone()).with_token(token.as_deref());
    runtime.block_on(async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(150);
        while counts(&api).await != before {
            assert!(
                std::time::Instant::now() < deadline,
                "the half-written batch is still there: {:?} instead of {before:?}",
                counts(&api).await
            );
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        batch(&api, "products", &hundred_products("CRASH"), &[SYNC])
            .await
            .assert_status(200);
        assert_eq!(counts(&api).await, (before.0 + 100, before.1 + 50));
    });
    server.signal("TERM");
    server.wait();
}
