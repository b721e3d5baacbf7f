//! `meta.validate`: a dry run of POST or PATCH on a type with `validation: true` (products):
//! the would-be response or the errors, and nothing persisted; the 400s where it is not
//! available and when two meta options are on (Oro §8.2, §5.6; acceptance rows 72–73).

use jsonapi_tests::values::{assert_decimal, attr, id_of, to_one_id};
use jsonapi_tests::{
    ApiClient, Source, TestApp, TestResponse, Value, assert_error, assert_error_detail,
    assert_has_error, json, to_one,
};

use crate::query_support::{included, member_names};

fn product_doc(sku: &str, meta: Value) -> Value {
    let mut doc = json!({ "data": { "type": "products",
                      "attributes": { "sku": sku, "name": format!("Product {sku}"), "price": "2.50" } } });
    doc["data"]["meta"] = meta;
    doc
}

async fn ids(api: &ApiClient, ty: &str) -> Vec<String> {
    api.list_all(ty)
        .await
        .iter()
        .map(|r| id_of(r).to_owned())
        .collect()
}

/// The parts of a resource a dry run and a real write must agree on.
fn shape(response: &TestResponse) -> (String, Vec<String>, Vec<String>) {
    let data = response.data();
    (
        data["type"].as_str().unwrap_or_default().to_owned(),
        member_names(data, "attributes").into_iter().collect(),
        member_names(data, "relationships").into_iter().collect(),
    )
}

#[tokio::test]
async fn a_validated_create_answers_like_a_create_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let category = crate::fixtures::create_category(&app, "C", None).await;
    crate::fixtures::create_product(&app, "EXISTING").await;
    let before = ids(&app, "products").await;
    let mut doc = product_doc("DRY-1", json!({ "validate": true }));
    doc["data"]["relationships"] = json!({ "category": to_one("categories", id_of(&category)) });
    let dry = app.post("/api/products", &doc).await;
    dry.assert_status(201);
    let shown = id_of(dry.data()).to_owned();
    assert_eq!(attr(dry.data(), "sku"), "DRY-1");
    assert_eq!(
        attr(dry.data(), "status"),
        "enabled",
        "defaults are applied"
    );
    assert_eq!(to_one_id(dry.data(), "category"), Some(id_of(&category)));
    // Nothing was stored: not in the list, not by id, not in the category.
    assert_eq!(ids(&app, "products").await, before);
    app.get(&format!("/api/products/{shown}"))
        .await
        .assert_status(404);
    let in_category = app
        .get(&format!("/api/categories/{}/products", id_of(&category)))
        .await;
    assert!(in_category.items().is_empty(), "{}", in_category.describe());
    let by_sku = app.get("/api/products?filter[sku]=DRY-1").await;
    assert!(by_sku.items().is_empty());
    // The real create gets the id the dry run showed, and answers in the same shape.
    doc["data"]["meta"] = json!({});
    let real = app.post("/api/products", &doc).await;
    real.assert_status(201);
    assert_eq!(id_of(real.data()), shown);
    assert_eq!(shape(&real), shape(&dry));
}

#[tokio::test]
async fn a_validated_create_reports_the_errors_of_a_create() {
    let app = TestApp::spawn().await;
    crate::fixtures::create_product(&app, "TAKEN-VAL").await;
    let before = ids(&app, "products").await;
    let invalid = json!({ "data": { "type": "products", "meta": { "validate": true },
                                    "attributes": { "sku": "FREE", "price": "-1", "color": "red" } } });
    let response = app.post("/api/products", &invalid).await;
    response.assert_status(400);
    for (title, pointer) in [
        ("not blank constraint", "/data/attributes/name"),
        ("extra fields constraint", "/data/attributes/color"),
    ] {
        assert_has_error(&response, 400, title, Source::Pointer(pointer));
    }
    assert!(
        response
            .errors()
            .iter()
            .any(|e| e["source"]["pointer"] == "/data/attributes/price"),
        "{}",
        response.describe()
    );
    let taken = app
        .post(
            "/api/products",
            &product_doc("TAKEN-VAL", json!({ "validate": true })),
        )
        .await;
    assert_error(
        &taken,
        400,
        "unique entity constraint",
        Source::Pointer("/data/attributes/sku"),
    );
    assert_eq!(ids(&app, "products").await, before);
}

/// README "Try it": `# every problem of a request, each with a pointer` for a body with a
/// taken SKU, a negative price, an unknown attribute (and no name): the taken SKU is one of
/// the problems, whether the request is a dry run or not.
#[tokio::test]
async fn every_problem_of_a_create_is_reported_together_including_a_taken_sku() {
    let app = TestApp::spawn().await;
    crate::fixtures::create_product(&app, "SKU-0001").await;
    let before = ids(&app, "products").await;
    for meta in [json!({}), json!({ "validate": true })] {
        let body = json!({ "data": { "type": "products", "meta": meta,
                                     "attributes": { "sku": "SKU-0001", "price": -1, "color": "red" } } });
        let response = app.post("/api/products", &body).await;
        response.assert_status(400);
        for (title, pointer) in [
            ("unique entity constraint", "/data/attributes/sku"),
            ("not blank constraint", "/data/attributes/name"),
            ("extra fields constraint", "/data/attributes/color"),
        ] {
            assert_has_error(&response, 400, title, Source::Pointer(pointer));
        }
        assert!(
            response
                .errors()
                .iter()
                .any(|e| e["source"]["pointer"] == "/data/attributes/price"),
            "{}",
            response.describe()
        );
    }
    assert_eq!(ids(&app, "products").await, before);
}

#[tokio::test]
async fn a_dry_run_claims_no_unique_value() {
    let app = TestApp::spawn().await;
    for _ in 0..2 {
        app.post(
            "/api/products",
            &product_doc("ONCE", json!({ "validate": true })),
        )
        .await
        .assert_status(201);
    }
    app.post("/api/products", &product_doc("ONCE", json!({})))
        .await
        .assert_status(201);
    let response = app
        .post(
            "/api/products",
            &product_doc("ONCE", json!({ "validate": true })),
        )
        .await;
    assert_error(
        &response,
        400,
        "unique entity constraint",
        Source::Pointer("/data/attributes/sku"),
    );
    assert_eq!(ids(&app, "products").await.len(), 1);
}

#[tokio::test]
async fn a_validated_update_answers_like_an_update_and_changes_nothing() {
    let app = jsonapi_tests::shared_scratch();
    let product = crate::fixtures::create_product(&app, "KEEP-1").await;
    let id = id_of(&product).to_owned();
    let before = app.fetch("products", &id).await;
    let doc = json!({ "data": { "type": "products", "id": id, "meta": { "validate": true },
                                "attributes": { "name": "Would be", "price": "99.00" } } });
    let dry = app.patch(&format!("/api/products/{id}"), &doc).await;
    dry.assert_status(200);
    assert_eq!(id_of(dry.data()), id);
    assert_eq!(attr(dry.data(), "name"), "Would be");
    assert_decimal(attr(dry.data(), "price"), "99.00");
    assert_eq!(attr(dry.data(), "sku"), "KEEP-1");
    assert_eq!(app.fetch("products", &id).await, before);
    // The errors of an update.
    let doc = json!({ "data": { "type": "products", "id": id, "meta": { "validate": true },
                                "attributes": { "quantity": -1 } } });
    let response = app.patch(&format!("/api/products/{id}"), &doc).await;
    response.assert_status(400);
    assert!(
        response
            .errors()
            .iter()
            .any(|e| e["source"]["pointer"] == "/data/attributes/quantity"),
        "{}",
        response.describe()
    );
    assert_eq!(app.fetch("products", &id).await, before);
    // validate: false is a real update.
    let doc = json!({ "data": { "type": "products", "id": id, "meta": { "validate": false },
                                "attributes": { "name": "Really" } } });
    app.patch(&format!("/api/products/{id}"), &doc)
        .await
        .assert_status(200);
    assert_eq!(attr(&app.fetch("products", &id).await, "name"), "Really");
}

#[tokio::test]
async fn a_dry_run_with_included_items_writes_none_of_them() {
    let app = TestApp::spawn().await;
    let category = crate::fixtures::create_category(&app, "Before", None).await;
    let category = id_of(&category).to_owned();
    let doc = json!({
        "data": { "type": "products", "meta": { "validate": true },
                  "attributes": { "sku": "DRY-INC", "name": "P", "price": "1.00" },
                  "relationships": { "category": to_one("categories", "new-cat") } },
        "included": [
            { "type": "categories", "id": "new-cat", "attributes": { "name": "Fresh" },
              "relationships": { "parent": to_one("categories", &category) } }
        ]
    });
    let response = app.post("/api/products", &doc).await;
    response.assert_status(201);
    assert_eq!(included(&response).len(), 1);
    assert_eq!(ids(&app, "categories").await, vec![category.clone()]);
    assert!(ids(&app, "products").await.is_empty());
    let children = app
        .get(&format!("/api/categories/{category}/children"))
        .await;
    assert!(children.items().is_empty());
}

#[tokio::test]
async fn validate_on_a_type_without_validation_is_not_supported() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/categories",
            &json!({ "data": { "type": "categories", "meta": { "validate": true },
                               "attributes": { "name": "C" } } }),
        )
        .await;
    assert_error_detail(
        &response,
        400,
        "value constraint",
        Source::Pointer("/meta/validate"),
        "The option is not supported.",
    );
    assert!(ids(&app, "categories").await.is_empty());
    let category = crate::fixtures::create_category(&app, "Kept", None).await;
    let id = id_of(&category).to_owned();
    let response = app
        .patch(
            &format!("/api/categories/{id}"),
            &json!({ "data": { "type": "categories", "id": id, "meta": { "validate": true },
                               "attributes": { "name": "Changed" } } }),
        )
        .await;
    assert_error(
        &response,
        400,
        "value constraint",
        Source::Pointer("/meta/validate"),
    );
    assert_eq!(attr(&app.fetch("categories", &id).await, "name"), "Kept");
}

#[tokio::test]
async fn only_one_meta_option_may_be_on() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/products",
            &product_doc("TWO-1", json!({ "validate": true, "upsert": ["sku"] })),
        )
        .await;
    assert_error_detail(
        &response,
        400,
        "request data constraint",
        Source::Pointer("/meta"),
        "Only one meta option can be used.",
    );
    assert!(ids(&app, "products").await.is_empty());
    let response = app
        .post(
            "/api/roles",
            &json!({ "data": { "type": "roles", "id": "r", "meta": { "upsert": true, "validate": true },
                               "attributes": { "label": "R" } } }),
        )
        .await;
    assert_error(
        &response,
        400,
        "request data constraint",
        Source::Pointer("/meta"),
    );
    assert!(!ids(&app, "roles").await.contains(&"r".to_owned()));
    // An option set to false does not count.
    let response = app
        .post(
            "/api/products",
            &product_doc("TWO-2", json!({ "validate": true, "upsert": false })),
        )
        .await;
    response.assert_status(201);
    assert!(ids(&app, "products").await.is_empty(), "still a dry run");
    let response = app
        .post(
            "/api/products",
            &product_doc("TWO-3", json!({ "validate": false, "upsert": ["sku"] })),
        )
        .await;
    response.assert_status(201);
    assert_eq!(ids(&app, "products").await.len(), 1);
}

#[tokio::test]
async fn meta_validate_as_a_query_parameter_is_not_a_filter() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?meta[validate]=true").await;
    assert_error(
        &response,
        400,
        "filter constraint",
        Source::Parameter("meta[validate]"),
    );
}
