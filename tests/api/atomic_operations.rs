//! The JSON:API atomic extension at `POST /api/operations`: negotiation of the `ext`
//! parameter, `lid`s across operations, results in order, all or nothing (a failure at
//! operation N writes nothing), and the store's transaction limit checked before any write.

use jsonapi_tests::conformance::ATOMIC_MT;
use jsonapi_tests::values::{attr, id_of, to_one_id};
use jsonapi_tests::{
    ApiClient, MT, Source, TestApp, TestResponse, Value, assert_error, assert_has_error, json,
};

use crate::fixtures::create_product;
use crate::invariants::member_set;

const PATH: &str = "/api/operations";

async fn atomic(api: &ApiClient, operations: Value) -> TestResponse {
    api.post_with(
        PATH,
        &json!({ "atomic:operations": operations }),
        &[("Content-Type", ATOMIC_MT), ("Accept", ATOMIC_MT)],
    )
    .await
}

fn add_category(lid: &str, name: &str, parent_lid: Option<&str>) -> Value {
    let mut data = json!({ "type": "categories", "lid": lid, "attributes": { "name": name } });
    if let Some(parent) = parent_lid {
        data["relationships"] =
            json!({ "parent": { "data": { "type": "categories", "lid": parent } } });
    }
    json!({ "op": "add", "data": data })
}

fn add_product(lid: &str, sku: &str, category_lid: &str) -> Value {
    json!({ "op": "add", "data": {
        "type": "products", "lid": lid,
        "attributes": { "sku": sku, "name": sku, "price": "1.50" },
        "relationships": { "category": { "data": { "type": "categories", "lid": category_lid } } },
    } })
}

fn results(r: &TestResponse) -> &[Value] {
    r.json()["atomic:results"]
        .as_array()
        .unwrap_or_else(|| panic!("no atomic:results:\n{}", r.describe()))
}

#[tokio::test]
async fn a_chain_of_twenty_operations_linked_by_lids_is_applied_in_order() {
    let app = TestApp::spawn().await;
    // Ten adds, then ten updates each naming two earlier adds by lid (the store's 100 actions
    // per transaction hold about ten new categories with their links).
    let mut ops = Vec::new();
    for i in 0..10 {
        ops.push(add_category(&format!("c{i}"), &format!("New {i}"), None));
    }
    for i in 0..10 {
        let mut data = json!({ "type": "categories", "lid": format!("c{i}"),
                               "attributes": { "name": format!("Level {i}") } });
        if i > 0 {
            data["relationships"] = json!({ "parent": { "data": { "type": "categories", "lid": format!("c{}", i - 1) } } });
        }
        ops.push(json!({ "op": "update", "data": data }));
    }
    let r = atomic(&app, json!(ops)).await;
    r.assert_status(200);
    assert_eq!(r.header("content-type"), Some(ATOMIC_MT));
    let results = results(&r);
    assert_eq!(results.len(), 20);
    let categories: Vec<&str> = results[..10].iter().map(|x| id_of(&x["data"])).collect();
    for (i, result) in results.iter().enumerate() {
        // Each result shows the resource as the whole request left it.
        let data = &result["data"];
        let n = i % 10;
        assert_eq!(data["type"], "categories");
        assert_eq!(id_of(data), categories[n]);
        assert_eq!(attr(data, "name"), format!("Level {n}").as_str());
        let parent = (n > 0).then(|| categories[n - 1]);
        assert_eq!(to_one_id(data, "parent"), parent, "{data}");
    }
    // Stored as answered, both sides of the relationship.
    let last = app.get(&format!("/api/categories/{}", categories[9])).await;
    assert_eq!(to_one_id(last.data(), "parent"), Some(categories[8]));
    assert_eq!(
        member_set(&app, "categories", categories[0], "children").await,
        [categories[1].to_owned()].into()
    );
    assert_eq!(app.list_all("categories").await.len(), 10);
}

#[tokio::test]
async fn updates_removes_and_relationship_operations_share_one_transaction() {
    let app = TestApp::spawn().await;
    let kept = id_of(&create_product(&app, "KEEP-1").await).to_owned();
    let gone = id_of(&create_product(&app, "GONE-1").await).to_owned();
    let r = atomic(
        &app,
        json!([
            add_category("c", "Tea", None),
            { "op": "update", "data": { "type": "products", "id": kept, "attributes": { "name": "Kept" } } },
            // Two operations on one resource: one write of it.
            { "op": "update", "ref": { "type": "products", "id": kept },
              "data": { "type": "products", "id": kept, "attributes": { "quantity": 5 } } },
            { "op": "add", "ref": { "type": "categories", "lid": "c", "relationship": "products" },
              "data": [{ "type": "products", "id": kept }] },
            { "op": "remove", "ref": { "type": "products", "id": gone } },
        ]),
    )
    .await;
    r.assert_status(200);
    let results = results(&r);
    assert_eq!(results.len(), 5);
    assert_eq!(results[3], json!({}));
    assert_eq!(results[4], json!({}));
    assert_eq!(attr(&results[2]["data"], "name"), "Kept");
    assert_eq!(attr(&results[2]["data"], "quantity"), 5);
    let category = id_of(&results[0]["data"]).to_owned();
    let product = app.get(&format!("/api/products/{kept}")).await;
    assert_eq!(attr(product.data(), "name"), "Kept");
    assert_eq!(
        to_one_id(product.data(), "category"),
        Some(category.as_str())
    );
    assert!(
        member_set(&app, "categories", &category, "products")
            .await
            .contains(&kept)
    );
    app.get(&format!("/api/products/{gone}"))
        .await
        .assert_status(404);
    // Only operations without data: 204.
    let r = atomic(
        &app,
        json!([{ "op": "update", "ref": { "type": "products", "id": kept, "relationship": "category" }, "data": null }]),
    )
    .await;
    r.assert_status(204);
    let product = app.get(&format!("/api/products/{kept}")).await;
    assert_eq!(to_one_id(product.data(), "category"), None);
}

#[tokio::test]
async fn a_failure_at_any_operation_writes_nothing_and_points_at_it() {
    let app = TestApp::spawn().await;
    let existing = id_of(&create_product(&app, "TAKEN-1").await).to_owned();
    // Each row: why it fails, the operations, and the error it must list (`assert_has_error`
    // where other errors may come with it, `assert_error` where the status is the error's own).
    type Check = for<'r> fn(&'r TestResponse, u16, &str, Source<'_>) -> &'r Value;
    let refusals: [(&str, Value, Check, u16, &str, &str); 5] = [
        (
            "a value refused while staging operation 2",
            json!([
                add_category("c", "Doomed", None),
                add_product("p", "NEW-1", "c"),
                { "op": "update", "data": { "type": "products", "id": existing, "attributes": { "price": -1 } } },
            ]),
            assert_has_error,
            400,
            "range constraint",
            "/atomic:operations/2/data/attributes/price",
        ),
        (
            "a unique value the store refuses at commit (two operations claim one SKU)",
            json!([
                add_category("c", "Doomed", None),
                add_product("p", "DUP-1", "c"),
                add_product("q", "DUP-1", "c"),
            ]),
            assert_error,
            400,
            "unique entity constraint",
            "/atomic:operations/2/data/attributes/sku",
        ),
        (
            "a missing resource",
            json!([
                add_category("c", "Doomed", None),
                { "op": "remove", "ref": { "type": "products", "id": "999999" } },
            ]),
            assert_error,
            404,
            "not found http exception",
            "/atomic:operations/1/ref",
        ),
        (
            "a lid no earlier operation gave",
            json!([add_product("p", "LID-1", "nowhere")]),
            assert_has_error,
            400,
            "request data constraint",
            "/atomic:operations/0/data/relationships/category/data/lid",
        ),
        (
            "a lid given twice",
            json!([add_category("c", "A", None), add_category("c", "B", None)]),
            assert_error,
            400,
            "request data constraint",
            "/atomic:operations/1/data/lid",
        ),
    ];
    for (case, operations, check, status, title, pointer) in refusals {
        // Printed only when the test fails: which row it was.
        println!("case: {case}");
        check(
            &atomic(&app, operations).await,
            status,
            title,
            Source::Pointer(pointer),
        );
    }
    // `included` has no place in an atomic document.
    let r = app
        .post_with(
            PATH,
            &json!({ "atomic:operations": [add_category("c", "A", None)], "included": [] }),
            &[("Content-Type", ATOMIC_MT), ("Accept", ATOMIC_MT)],
        )
        .await;
    assert_error(
        &r,
        400,
        "request data constraint",
        Source::Pointer("/included"),
    );
    assert!(
        app.list_all("categories").await.is_empty(),
        "nothing was written"
    );
    assert_eq!(app.list_all("products").await.len(), 1);
    assert_eq!(
        attr(
            app.get(&format!("/api/products/{existing}")).await.data(),
            "price"
        ),
        "10.00"
    );
}

#[tokio::test]
async fn more_operations_than_allowed_are_refused_and_more_writes_than_a_transaction_are_stepped() {
    let app = TestApp::spawn().await;
    let ops: Vec<Value> = (0..101)
        .map(|i| add_category(&format!("c{i}"), &format!("C{i}"), None))
        .collect();
    let r = atomic(&app, json!(ops)).await;
    assert_error(
        &r,
        413,
        "request data constraint",
        Source::Pointer("/atomic:operations"),
    );
    assert!(app.list_all("categories").await.is_empty());
    // Within the count but beyond the store's 100 actions (each category is a few items):
    // written in steps, every operation applied.
    let ops: Vec<Value> = (0..60)
        .map(|i| add_category(&format!("c{i}"), &format!("C{i}"), None))
        .collect();
    let r = atomic(&app, json!(ops)).await;
    r.assert_status(200);
    assert_eq!(
        r.json()["atomic:results"].as_array().map(Vec::len),
        Some(60)
    );
    assert_eq!(app.list_all("categories").await.len(), 60);
}

#[tokio::test]
async fn the_extension_is_negotiated_as_json_api_1_1_says() {
    let app = TestApp::spawn().await;
    let body = json!({ "atomic:operations": [add_category("c", "N", None)] });
    // The body must declare the extension; an unknown one is refused.
    for content_type in [
        MT.to_owned(),
        format!("{MT}; ext=\"https://example.com/other\""),
        format!("{MT}; ext=\"https://jsonapi.org/ext/atomic https://example.com/other\""),
    ] {
        let r = app
            .post_with(
                PATH,
                &body,
                &[
                    ("Content-Type", content_type.as_str()),
                    ("Accept", ATOMIC_MT),
                ],
            )
            .await;
        assert_error(
            &r,
            415,
            "unsupported media type http exception",
            Source::Header("Content-Type"),
        );
    }
    // Accept naming only unsupported extensions, or only plain JSON:API (the answer applies
    // the extension): 406.
    for accept in [
        "application/vnd.api+json; ext=\"https://example.com/other\"",
        MT,
    ] {
        let r = app
            .post_with(
                PATH,
                &body,
                &[("Content-Type", ATOMIC_MT), ("Accept", accept)],
            )
            .await;
        assert_error(
            &r,
            406,
            "not acceptable http exception",
            Source::Header("Accept"),
        );
    }
    // The resource routes do not speak the extension.
    let r = app
        .post_with(
            "/api/categories",
            &json!({ "data": { "type": "categories", "attributes": { "name": "X" } } }),
            &[("Content-Type", ATOMIC_MT)],
        )
        .await;
    assert_error(
        &r,
        415,
        "unsupported media type http exception",
        Source::Header("Content-Type"),
    );
    assert!(app.list_all("categories").await.is_empty());
    // Beside a wildcard, fine.
    let r = app
        .post_with(
            PATH,
            &body,
            &[("Content-Type", ATOMIC_MT), ("Accept", "*/*")],
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.header("vary"), Some("Accept"));
    let options = app.options(PATH).await;
    options.assert_status(200);
    assert_eq!(options.allow(), ["OPTIONS", "POST"]);
}
