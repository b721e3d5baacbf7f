//! `meta.upsert`: create or update in one request, by a configured unique field on POST or by
//! id where ids are the client's, on PATCH by id only, in included items, and the 400s where
//! it is not allowed (Oro §8.1; acceptance rows 69–71; example domain `upsert:`).

use jsonapi_tests::values::{assert_decimal, attr, id_of, to_one_id};
use jsonapi_tests::{
    ApiClient, Source, TestApp, TestResponse, Value, assert_error, assert_error_detail, json,
    to_one,
};

use crate::query_support::included;

fn product(sku: &str, attributes: Value, meta: Value) -> Value {
    let mut attributes = attributes;
    attributes["sku"] = json!(sku);
    let mut doc = json!({ "data": { "type": "products" } });
    doc["data"]["meta"] = meta;
    doc["data"]["attributes"] = attributes;
    doc
}

fn role(id: &str, label: &str, meta: Value) -> Value {
    let mut doc =
        json!({ "data": { "type": "roles", "id": id, "attributes": { "label": label } } });
    doc["data"]["meta"] = meta;
    doc
}

fn assert_upsert_error(response: &TestResponse, detail: &str) {
    assert_error_detail(
        response,
        400,
        "value constraint",
        Source::Pointer("/meta/upsert"),
        detail,
    );
}

async fn count(api: &ApiClient, ty: &str) -> usize {
    api.list_all(ty).await.len()
}

#[tokio::test]
async fn upsert_by_sku_creates_then_updates_the_same_product() {
    let app = TestApp::spawn().await;
    crate::fixtures::create_product(&app, "OTHER-1").await;
    let created = app
        .post(
            "/api/products",
            &product(
                "UP-1",
                json!({ "name": "First", "price": "5.00", "quantity": 7 }),
                json!({ "upsert": ["sku"] }),
            ),
        )
        .await;
    created.assert_status(201);
    let id = id_of(created.data()).to_owned();
    assert_eq!(
        created.header("location"),
        Some(app.url(&format!("/api/products/{id}")).as_str())
    );
    assert_eq!(attr(created.data(), "name"), "First");
    let updated = app
        .post(
            "/api/products",
            &product(
                "UP-1",
                json!({ "name": "Second" }),
                json!({ "upsert": ["sku"] }),
            ),
        )
        .await;
    updated.assert_status(200);
    assert_eq!(id_of(updated.data()), id);
    assert_eq!(attr(updated.data(), "name"), "Second");
    let stored = app.fetch("products", &id).await;
    assert_eq!(attr(&stored, "name"), "Second");
    // Members the update left out are untouched.
    assert_decimal(attr(&stored, "price"), "5.00");
    assert_eq!(attr(&stored, "quantity"), 7);
    assert_eq!(count(&app, "products").await, 2);
}

#[tokio::test]
async fn upsert_by_id_creates_then_updates_a_role() {
    let app = TestApp::spawn().await;
    // The development client's `admin` role is there already.
    let before = count(&app, "roles").await;
    for meta in [json!({ "upsert": true }), json!({ "upsert": ["id"] })] {
        let id = if meta["upsert"] == true { "ops" } else { "dev" };
        let created = app
            .post("/api/roles", &role(id, "Operations", meta.clone()))
            .await;
        created.assert_status(201);
        assert_eq!(id_of(created.data()), id);
        let updated = app.post("/api/roles", &role(id, "Ops team", meta)).await;
        updated.assert_status(200);
        assert_eq!(id_of(updated.data()), id);
        assert_eq!(attr(&app.fetch("roles", id).await, "label"), "Ops team");
    }
    assert_eq!(count(&app, "roles").await, before + 2);
    // Without upsert the same POST conflicts (the id is taken).
    let response = app
        .post("/api/roles", &role("ops", "Again", json!({})))
        .await;
    response.assert_status(409);
    // upsert: false is a plain create.
    let response = app
        .post("/api/roles", &role("qa", "QA", json!({ "upsert": false })))
        .await;
    response.assert_status(201);
}

#[tokio::test]
async fn upsert_on_patch_matches_by_id_only() {
    let app = TestApp::spawn().await;
    let before = count(&app, "roles").await;
    let created = app
        .patch(
            "/api/roles/sales",
            &role("sales", "Sales", json!({ "upsert": true })),
        )
        .await;
    created.assert_status(201);
    assert_eq!(id_of(created.data()), "sales");
    assert_eq!(attr(&app.fetch("roles", "sales").await, "label"), "Sales");
    let updated = app
        .patch(
            "/api/roles/sales",
            &role("sales", "Sales team", json!({ "upsert": true })),
        )
        .await;
    updated.assert_status(200);
    assert_eq!(
        attr(&app.fetch("roles", "sales").await, "label"),
        "Sales team"
    );
    // A field list is not allowed on PATCH, even a configured one.
    let existing = crate::fixtures::create_product(&app, "PATCH-UP").await;
    let id = id_of(&existing).to_owned();
    let response = app
        .patch(
            &format!("/api/products/{id}"),
            &json!({ "data": { "type": "products", "id": id, "meta": { "upsert": ["sku"] },
                               "attributes": { "sku": "PATCH-UP", "name": "Changed" } } }),
        )
        .await;
    assert_upsert_error(
        &response,
        "Only the entity identifier can be used by the upsert operation to find an entity.",
    );
    assert_eq!(
        attr(&app.fetch("products", &id).await, "name"),
        "Product PATCH-UP"
    );
    // Without upsert, a PATCH of a missing role is a 404 and creates nothing.
    let response = app
        .patch("/api/roles/ghost", &role("ghost", "Ghost", json!({})))
        .await;
    response.assert_status(404);
    assert_eq!(count(&app, "roles").await, before + 1);
}

#[tokio::test]
async fn upsert_where_it_is_not_available_is_a_value_constraint() {
    let app = TestApp::spawn().await;
    let existing = crate::fixtures::create_product(&app, "NOUP-1").await;
    let id = id_of(&existing).to_owned();
    // Products have server-generated ids: no upsert by id, on POST or PATCH.
    for meta in [json!({ "upsert": true }), json!({ "upsert": ["id"] })] {
        let response = app
            .post(
                "/api/products",
                &product("NOUP-2", json!({ "name": "N", "price": "1" }), meta.clone()),
            )
            .await;
        assert_upsert_error(
            &response,
            "The upsert operation is not supported for resources with auto-generated identifier value.",
        );
        let response = app
            .patch(
                &format!("/api/products/{id}"),
                &json!({ "data": { "type": "products", "id": id, "meta": meta,
                                   "attributes": { "name": "Changed" } } }),
            )
            .await;
        assert_error(
            &response,
            400,
            "value constraint",
            Source::Pointer("/meta/upsert"),
        );
    }
    // A field not declared for upsert (not unique, or unique but not listed).
    for (path, body) in [
        (
            "/api/products",
            product(
                "NOUP-3",
                json!({ "name": "N", "price": "1" }),
                json!({ "upsert": ["name"] }),
            ),
        ),
        (
            "/api/products",
            product(
                "NOUP-4",
                json!({ "name": "N", "price": "1" }),
                json!({ "upsert": ["sku", "name"] }),
            ),
        ),
        (
            "/api/categories",
            json!({ "data": { "type": "categories", "meta": { "upsert": ["name"] },
                              "attributes": { "name": "C" } } }),
        ),
        (
            "/api/users",
            json!({ "data": { "type": "users", "meta": { "upsert": ["username"] },
                              "attributes": { "username": "u", "email": "u@example.com" } } }),
        ),
    ] {
        let response = app.post(path, &body).await;
        assert_upsert_error(
            &response,
            "The upsert operation cannot use this field to find an entity.",
        );
    }
    // Malformed options.
    for meta in [
        json!({ "upsert": "sku" }),
        json!({ "upsert": [] }),
        json!({ "upsert": 1 }),
    ] {
        let response = app
            .post(
                "/api/products",
                &product("NOUP-5", json!({ "name": "N", "price": "1" }), meta),
            )
            .await;
        assert_error(
            &response,
            400,
            "value constraint",
            Source::Pointer("/meta/upsert"),
        );
    }
    assert_eq!(count(&app, "products").await, 1);
    assert_eq!(count(&app, "categories").await, 0);
    assert_eq!(count(&app, "users").await, 0);
    assert_eq!(
        attr(&app.fetch("products", &id).await, "name"),
        "Product NOUP-1"
    );
}

#[tokio::test]
async fn an_upsert_update_is_validated_like_an_update() {
    let app = jsonapi_tests::shared_scratch();
    let existing = crate::fixtures::create_product(&app, "VALUP-1").await;
    let response = app
        .post(
            "/api/products",
            &product(
                "VALUP-1",
                json!({ "price": "-3" }),
                json!({ "upsert": ["sku"] }),
            ),
        )
        .await;
    response.assert_status(400);
    assert!(
        response
            .errors()
            .iter()
            .any(|e| e["source"]["pointer"] == "/data/attributes/price"),
        "{}",
        response.describe()
    );
    assert_decimal(
        attr(&app.fetch("products", id_of(&existing)).await, "price"),
        "10.00",
    );
}

#[tokio::test]
async fn included_items_may_be_upserted() {
    let app = TestApp::spawn().await;
    let customer = crate::fixtures::create_customer(&app, "Ada", "ada@example.com").await;
    let existing = crate::fixtures::create_product(&app, "INC-UP-1").await;
    let existing = id_of(&existing).to_owned();
    let line = |tmp: &str, product: &str| {
        json!({ "type": "orderlineitems", "id": tmp,
                "attributes": { "quantity": 1, "price": "2.00" },
                "relationships": { "order": { "data": { "type": "orders", "lid": "o" } },
                                   "product": to_one("products", product) } })
    };
    let body = json!({
        "data": { "type": "orders", "lid": "o",
                  "relationships": { "customer": to_one("customers", id_of(&customer)) } },
        "included": [
            line("l1", "p-old"),
            line("l2", "p-new"),
            { "type": "products", "id": "p-old", "meta": { "upsert": ["sku"] },
              "attributes": { "sku": "INC-UP-1", "name": "Renamed" } },
            { "type": "products", "id": "p-new", "meta": { "upsert": ["sku"] },
              "attributes": { "sku": "INC-UP-2", "name": "Brand new", "price": "3.00" } }
        ]
    });
    let response = app.post("/api/orders", &body).await;
    response.assert_status(201);
    let included = included(&response);
    let find = |include_id: &str| {
        included
            .iter()
            .find(|r| r["meta"]["includeId"] == include_id)
            .unwrap_or_else(|| panic!("no included {include_id}: {}", response.describe()))
            .clone()
    };
    let old = find("p-old");
    let new = find("p-new");
    assert_eq!(
        id_of(&old),
        existing,
        "the existing product was matched by its sku"
    );
    assert_ne!(id_of(&new), existing);
    assert_eq!(
        attr(&app.fetch("products", &existing).await, "name"),
        "Renamed"
    );
    assert_eq!(
        attr(&app.fetch("products", id_of(&new)).await, "name"),
        "Brand new"
    );
    assert_eq!(count(&app, "products").await, 2);
    assert_eq!(to_one_id(&find("l1"), "product"), Some(existing.as_str()));
    assert_eq!(to_one_id(&find("l2"), "product"), Some(id_of(&new)));
}
