//! Values repeated inside one request (issue 11, class 6): a `strings` array may hold an element
//! twice (it is a list, kept as sent, and one value to filter on); two resources of one request
//! cannot share a unique value (`unique entity constraint` at the later one, nothing written);
//! two resources of one request may trade unique values. Every answer is the reference's, and no
//! error names how the data is stored (the harness checks that on every response).

use jsonapi_tests::values::{attr, id_of};
use jsonapi_tests::{Source, TestApp, Value, assert_error, json, resource_doc, to_one};

use crate::fixtures::{create_category, product_attributes};
use crate::invariants::total_count;

#[tokio::test]
async fn a_repeated_array_element_is_kept_and_found_once() {
    let app = TestApp::spawn().await;
    let mut attributes = product_attributes("TAGS-1");
    attributes["tags"] = json!(["a", "b", "a"]);
    let created = app.create("products", attributes, json!({})).await;
    let id = id_of(&created).to_owned();
    assert_eq!(attr(&created, "tags"), &json!(["a", "b", "a"]));
    let found = app.get("/api/products?filter[tags][contains]=a").await;
    found.assert_status(200);
    assert_eq!(found.ids(), vec![id.clone()]);
    assert_eq!(
        total_count(&app, "/api/products?filter[tags][contains]=a").await,
        1
    );
    // Repeats on update too; the elements no longer held are no longer found.
    let patch = resource_doc(
        "products",
        Some(&id),
        json!({ "tags": ["b", "b", "c", "c"] }),
        json!({}),
    );
    let updated = app.patch(&format!("/api/products/{id}"), &patch).await;
    updated.assert_status(200);
    assert_eq!(attr(updated.data(), "tags"), &json!(["b", "b", "c", "c"]));
    for (tag, expected) in [
        ("a", vec![]),
        ("b", vec![id.clone()]),
        ("c", vec![id.clone()]),
    ] {
        let found = app
            .get(&format!("/api/products?filter[tags][contains]={tag}"))
            .await;
        assert_eq!(found.ids(), expected, "tag {tag}");
    }
}

#[tokio::test]
async fn two_included_resources_with_one_unique_value_are_refused_at_the_later_one() {
    let app = TestApp::spawn().await;
    let body = json!({
        "data": { "type": "categories", "attributes": { "name": "Twins" },
            "relationships": { "products": { "data": [
                { "type": "products", "lid": "a" }, { "type": "products", "lid": "b" }
            ] } } },
        "included": [
            { "type": "products", "lid": "a", "attributes": product_attributes("TWIN") },
            { "type": "products", "lid": "b", "attributes": product_attributes("TWIN") }
        ]
    });
    assert_second_sku_refused(&app, "/api/categories", &body).await;
    assert!(app.list_all("categories").await.is_empty());
}

/// Asserts that posting `body` is refused at the second included resource's SKU and that no
/// product was written.
async fn assert_second_sku_refused(app: &TestApp, path: &str, body: &Value) {
    let refused = app.post(path, body).await;
    assert_error(
        &refused,
        400,
        "unique entity constraint",
        Source::Pointer("/included/1/attributes/sku"),
    );
    assert!(app.list_all("products").await.is_empty());
}

#[tokio::test]
async fn a_primary_and_an_included_resource_with_one_unique_value_are_refused() {
    let app = TestApp::spawn().await;
    let body = json!({
        "data": { "type": "products", "attributes": product_attributes("SAME"),
            "relationships": { "category": { "data": { "type": "categories", "lid": "c" } } } },
        "included": [
            { "type": "categories", "lid": "c", "attributes": { "name": "C" },
              "relationships": { "products": { "data": [{ "type": "products", "lid": "p" }] } } },
            { "type": "products", "lid": "p", "attributes": product_attributes("SAME") }
        ]
    });
    assert_second_sku_refused(&app, "/api/products", &body).await;
}

#[tokio::test]
async fn two_resources_of_one_request_may_trade_unique_values() {
    let app = TestApp::spawn().await;
    let category = id_of(&create_category(&app, "Traders", None).await).to_owned();
    let mut ids = Vec::new();
    for sku in ["LEFT", "RIGHT"] {
        let product = app
            .create(
                "products",
                product_attributes(sku),
                json!({ "category": to_one("categories", &category) }),
            )
            .await;
        ids.push(id_of(&product).to_owned());
    }
    let body = json!({
        "data": { "type": "categories", "id": category, "attributes": { "name": "Traded" } },
        "included": [
            { "type": "products", "id": ids[0], "meta": { "update": true },
              "attributes": { "sku": "RIGHT" },
              "relationships": { "category": to_one("categories", &category) } },
            { "type": "products", "id": ids[1], "meta": { "update": true },
              "attributes": { "sku": "LEFT" },
              "relationships": { "category": to_one("categories", &category) } }
        ]
    });
    app.patch(&format!("/api/categories/{category}"), &body)
        .await
        .assert_status(200);
    assert_eq!(attr(&app.fetch("products", &ids[0]).await, "sku"), "RIGHT");
    assert_eq!(attr(&app.fetch("products", &ids[1]).await, "sku"), "LEFT");
    // Each value still belongs to exactly one product.
    for sku in ["LEFT", "RIGHT"] {
        let refused = app
            .post(
                "/api/products",
                &resource_doc("products", None, product_attributes(sku), json!({})),
            )
            .await;
        assert_error(
            &refused,
            400,
            "unique entity constraint",
            Source::Pointer("/data/attributes/sku"),
        );
        let found = app.get(&format!("/api/products?filter[sku]={sku}")).await;
        assert_eq!(found.ids().len(), 1, "{sku}");
    }
}
