//! The batch API's request checks and its synchronous mode (`PATCH /api/{type}` with
//! `X-Mode: sync`): items written in request order, all or nothing, answered with every
//! primary resource (`meta.dataId`) and the included ones (`meta.includeId`); the model's
//! refusals before anything is written (Oro §10.1, §11; acceptance rows 74, 76, 82, 83, 85, 86).

use jsonapi_tests::values::{attr, id_of, to_one_id};
use jsonapi_tests::{
    ApiClient, Method, Source, TestApp, TestResponse, Value, assert_error, assert_error_detail,
    assert_has_error, json,
};

use crate::auth_acl::as_roles;
use crate::fixtures::{create_product, product_attributes};

const SYNC: (&str, &str) = ("X-Mode", "sync");

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
        ],
        "included": [{ "type": "categories", "id": "c1", "attributes": { "name": "Tea" } }],
    });
    let r = batch(&app, "products", &body, &[SYNC]).await;
    r.assert_status(200);
    assert!(r.header("content-location").is_none(), "{}", r.describe());
    let items = data(&r);
    assert_eq!(items.len(), 3, "{}", r.describe());
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
    assert_eq!(app.list_all("products").await.len(), 3);
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
}

#[tokio::test]
async fn malformed_batches_are_refused_before_anything_is_written() {
    let app = TestApp::spawn().await;
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
        let r = batch(&app, "products", &json!({ "data": [] }), &headers).await;
        assert_error(&r, 400, "request data constraint", Source::Pointer("/data"));

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
        "The entity should have a relationship with at least one primary entity and this should be explicitly specified in the request.",
    );
    assert!(app.list_all("products").await.is_empty());
    assert!(app.list_all("categories").await.is_empty());
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

    let viewer = as_roles(&app, &["viewer"]).await;
    let before = app.list_all("products").await.len();
    for mode in [SYNC, ("X-Mode", "async")] {
        let r = batch(
            &viewer,
            "products",
            &json!({ "data": [new_product("NOPE")] }),
            &[mode],
        )
        .await;
        assert_error(&r, 403, "access denied exception", Source::Any);
    }
    assert_eq!(app.list_all("products").await.len(), before);
}
