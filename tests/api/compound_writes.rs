//! Compound writes: a top-level `included` in POST and PATCH documents, with temporary ids in
//! `id` or JSON:API 1.1 `lid`, `meta.update` for existing resources, `meta.includeId` in the
//! response, the linkage and duplicate rules, errors pointing into `/included/N`, all or
//! nothing, and `orders.total` after every kind of write (Oro §7; acceptance rows 65–68).
//!
//! The example domain disables no action, so the "action not allowed" rule for included items
//! has no type to be tested on.

use jsonapi_tests::values::{
    assert_decimal, attr, cents_to_decimal, id_of, to_many_ids, to_one_id,
};
use jsonapi_tests::{
    ApiClient, Source, TestApp, TestResponse, Value, assert_error, assert_has_error, json, to_one,
};

use crate::fixtures::{
    create_customer, create_line_item, create_order, create_product, unique_email,
};
use crate::query_support::{included, key};

/// The included resource with this `meta.includeId`.
fn by_include_id<'a>(included: &'a [Value], include_id: &str) -> &'a Value {
    included
        .iter()
        .find(|r| r["meta"]["includeId"] == include_id)
        .unwrap_or_else(|| panic!("no included resource with includeId {include_id}: {included:?}"))
}

/// How many resources of each type of the order domain exist.
async fn census(api: &ApiClient) -> [usize; 4] {
    [
        api.list_all("orders").await.len(),
        api.list_all("customers").await.len(),
        api.list_all("orderlineitems").await.len(),
        api.list_all("products").await.len(),
    ]
}

/// Asserts an error with this title and pointer whose detail is `detail` (a final period
/// optional).
fn assert_request_error(response: &TestResponse, title: &str, pointer: &str, detail: &str) {
    let error = assert_has_error(response, 400, title, Source::Pointer(pointer));
    let actual = error["detail"].as_str().unwrap_or_default();
    assert_eq!(
        actual.trim_end_matches('.'),
        detail.trim_end_matches('.'),
        "{}",
        response.describe()
    );
}

async fn assert_total(api: &ApiClient, order: &str, cents: i64) {
    let stored = api.fetch("orders", order).await;
    assert_decimal(attr(&stored, "total"), &cents_to_decimal(cents));
}

#[tokio::test]
async fn a_create_with_included_items_by_temporary_id_returns_them_under_real_ids() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "INC-1").await;
    let product = id_of(&product).to_owned();
    let body = json!({
        "data": {
            "type": "orders",
            "attributes": { "poNumber": "PO-INC" },
            "relationships": {
                "customer": to_one("customers", "new-customer"),
                "lineItems": { "data": [
                    { "type": "orderlineitems", "id": "li-1" },
                    { "type": "orderlineitems", "id": "li-2" }
                ] }
            }
        },
        "included": [
            { "type": "customers", "id": "new-customer",
              "attributes": { "name": "Ada", "email": unique_email("ada") } },
            { "type": "orderlineitems", "id": "li-1",
              "attributes": { "quantity": 2, "price": "1.25" },
              "relationships": { "product": to_one("products", &product) } },
            { "type": "orderlineitems", "id": "li-2",
              "attributes": { "quantity": 3, "price": "2.00" },
              "relationships": { "product": to_one("products", &product) } }
        ]
    });
    let response = app.post("/api/orders", &body).await;
    response.assert_status(201);
    let order = response.data();
    let order_id = id_of(order).to_owned();
    let included = included(&response);
    assert_eq!(included.len(), 3, "{}", response.describe());
    let customer = by_include_id(&included, "new-customer");
    let first = by_include_id(&included, "li-1");
    let second = by_include_id(&included, "li-2");
    for (resource, temporary) in [
        (customer, "new-customer"),
        (first, "li-1"),
        (second, "li-2"),
    ] {
        assert_ne!(
            id_of(resource),
            temporary,
            "the real id replaces the temporary one"
        );
    }
    // Real ids everywhere in the response.
    assert_eq!(to_one_id(order, "customer"), Some(id_of(customer)));
    assert_eq!(
        to_many_ids(order, "lineItems"),
        vec![id_of(first).to_owned(), id_of(second).to_owned()]
    );
    assert_eq!(to_one_id(first, "order"), Some(order_id.as_str()));
    assert_eq!(attr(customer, "name"), "Ada");
    // And in storage.
    let stored = app.fetch("orders", &order_id).await;
    assert_eq!(to_one_id(&stored, "customer"), Some(id_of(customer)));
    assert_decimal(attr(&stored, "total"), "8.50");
    assert_decimal(attr(order, "total"), "8.50");
    let stored_customer = app.fetch("customers", id_of(customer)).await;
    assert_eq!(
        to_many_ids(&stored_customer, "orders"),
        vec![order_id.clone()]
    );
    let stored_item = app.fetch("orderlineitems", id_of(second)).await;
    assert_eq!(attr(&stored_item, "quantity"), 3);
    assert_eq!(to_one_id(&stored_item, "product"), Some(product.as_str()));
}

#[tokio::test]
async fn lid_names_new_primary_and_included_resources() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "LID-1").await;
    let product = id_of(&product).to_owned();
    // The customer by lid from the primary; the line item links back to the primary's lid.
    let body = json!({
        "data": {
            "type": "orders",
            "lid": "the-order",
            "relationships": { "customer": { "data": { "type": "customers", "lid": "c" } } }
        },
        "included": [
            { "type": "customers", "lid": "c",
              "attributes": { "name": "Bob", "email": "bob@example.com" } },
            { "type": "orderlineitems", "lid": "li",
              "attributes": { "quantity": 4, "price": "0.50" },
              "relationships": {
                  "order": { "data": { "type": "orders", "lid": "the-order" } },
                  "product": to_one("products", &product)
              } }
        ]
    });
    let response = app.post("/api/orders", &body).await;
    response.assert_status(201);
    let order = id_of(response.data()).to_owned();
    let included = included(&response);
    let customer = by_include_id(&included, "c");
    let item = by_include_id(&included, "li");
    assert_eq!(
        to_one_id(response.data(), "customer"),
        Some(id_of(customer))
    );
    assert_eq!(to_one_id(item, "order"), Some(order.as_str()));
    assert_eq!(
        to_many_ids(&app.fetch("orders", &order).await, "lineItems"),
        vec![id_of(item).to_owned()]
    );
    assert_total(&app, &order, 200).await;
}

#[tokio::test]
async fn an_included_item_may_link_to_an_existing_primary_on_patch() {
    let app = jsonapi_tests::shared_scratch();
    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let product = create_product(&app, "PATCH-INC").await;
    let order = create_order(&app, id_of(&customer)).await;
    let body = json!({
        "data": { "type": "orders", "id": order, "attributes": { "poNumber": "PO-NEW" } },
        "included": [
            { "type": "orderlineitems", "id": "tmp",
              "attributes": { "quantity": 1, "price": "9.99" },
              "relationships": {
                  "order": to_one("orders", &order),
                  "product": to_one("products", id_of(&product))
              } }
        ]
    });
    let response = app.patch(&format!("/api/orders/{order}"), &body).await;
    response.assert_status(200);
    let item = by_include_id(&included(&response), "tmp").clone();
    assert_eq!(to_one_id(&item, "order"), Some(order.as_str()));
    let stored = app.fetch("orders", &order).await;
    assert_eq!(attr(&stored, "poNumber"), "PO-NEW");
    assert_eq!(
        to_many_ids(&stored, "lineItems"),
        vec![id_of(&item).to_owned()]
    );
    assert_total(&app, &order, 999).await;
}

#[tokio::test]
async fn meta_update_changes_an_existing_included_resource() {
    let app = TestApp::spawn().await;
    let category = crate::fixtures::create_category(&app, "Old name", None).await;
    let category = id_of(&category).to_owned();
    let body = json!({
        "data": {
            "type": "products",
            "attributes": { "sku": "UPD-1", "name": "Product", "price": "1.00" },
            "relationships": { "category": to_one("categories", &category) }
        },
        "included": [
            { "type": "categories", "id": category, "meta": { "update": true },
              "attributes": { "name": "New name" } }
        ]
    });
    let response = app.post("/api/products", &body).await;
    response.assert_status(201);
    let included = included(&response);
    assert_eq!(included.len(), 1);
    assert_eq!(
        key(&included[0]),
        ("categories".to_owned(), category.clone())
    );
    assert_eq!(included[0]["meta"]["includeId"], category);
    assert_eq!(attr(&included[0], "name"), "New name");
    assert_eq!(
        attr(&app.fetch("categories", &category).await, "name"),
        "New name"
    );
    assert_eq!(app.list_all("categories").await.len(), 1);
    // On a PATCH: an existing line item updated with the order; the total follows.
    let customer = create_customer(&app, "Ada", "ada@example.com").await;
    let product = create_product(&app, "UPD-2").await;
    let order = create_order(&app, id_of(&customer)).await;
    let item = create_line_item(&app, &order, id_of(&product), 1, "3.00").await;
    let body = json!({
        "data": { "type": "orders", "id": order,
                  "relationships": { "lineItems": { "data": [{ "type": "orderlineitems", "id": item }] } } },
        "included": [
            { "type": "orderlineitems", "id": item, "meta": { "update": true },
              "attributes": { "quantity": 5 } }
        ]
    });
    let response = app.patch(&format!("/api/orders/{order}"), &body).await;
    response.assert_status(200);
    assert_eq!(
        attr(&app.fetch("orderlineitems", &item).await, "quantity"),
        5
    );
    assert_total(&app, &order, 1500).await;
    assert_decimal(attr(response.data(), "total"), "15.00");
}

#[tokio::test]
async fn an_included_item_not_linked_to_the_primary_is_rejected() {
    let app = TestApp::spawn().await;
    let before = census(&app).await;
    let body = json!({
        "data": {
            "type": "orders",
            "relationships": { "customer": to_one("customers", "c") }
        },
        "included": [
            { "type": "customers", "id": "c",
              "attributes": { "name": "Linked", "email": "linked@example.com" } },
            { "type": "customers", "id": "stray",
              "attributes": { "name": "Stray", "email": "stray@example.com" } }
        ]
    });
    let response = app.post("/api/orders", &body).await;
    response.assert_status(400);
    assert_request_error(
        &response,
        "request data constraint",
        "/included/1",
        "The entity should have a relationship with the primary entity and this should be explicitly specified in the request",
    );
    assert!(
        !response
            .errors()
            .iter()
            .any(|e| e["source"]["pointer"] == "/included/0"),
        "{}\nthe linked item is fine",
        response.describe()
    );
    assert_eq!(census(&app).await, before);
}

#[tokio::test]
async fn a_duplicated_included_item_is_rejected() {
    let app = TestApp::spawn().await;
    let before = census(&app).await;
    let customer = json!({ "type": "customers", "id": "c",
        "attributes": { "name": "Twin", "email": "twin@example.com" } });
    let body = json!({
        "data": { "type": "orders", "relationships": { "customer": to_one("customers", "c") } },
        "included": [customer.clone(), customer]
    });
    let response = app.post("/api/orders", &body).await;
    response.assert_status(400);
    assert_request_error(
        &response,
        "request data constraint",
        "/included/1",
        "The item duplicates the item with the index 0",
    );
    // The same with lids, after an unrelated item.
    let product = create_product(&app, "DUP-1").await;
    let before = [before[0], before[1], before[2], before[3] + 1];
    let item = json!({ "type": "orderlineitems", "lid": "x",
        "attributes": { "quantity": 1, "price": "1.00" },
        "relationships": { "order": { "data": { "type": "orders", "lid": "o" } },
                           "product": to_one("products", id_of(&product)) } });
    let body = json!({
        "data": { "type": "orders", "lid": "o", "relationships": { "customer": to_one("customers", "c") } },
        "included": [
            { "type": "customers", "id": "c",
              "attributes": { "name": "Once", "email": "once@example.com" } },
            item.clone(),
            item
        ]
    });
    let response = app.post("/api/orders", &body).await;
    response.assert_status(400);
    assert_request_error(
        &response,
        "request data constraint",
        "/included/2",
        "The item duplicates the item with the index 1",
    );
    assert_eq!(census(&app).await, before);
}

#[tokio::test]
async fn validation_errors_point_into_the_included_item_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "ALL-1").await;
    let product = id_of(&product).to_owned();
    let before = census(&app).await;
    let body = json!({
        "data": {
            "type": "orders",
            "attributes": { "poNumber": "PO-ALL" },
            "relationships": {
                "customer": to_one("customers", "c"),
                "lineItems": { "data": [
                    { "type": "orderlineitems", "id": "good" },
                    { "type": "orderlineitems", "id": "bad" }
                ] }
            }
        },
        "included": [
            { "type": "customers", "id": "c",
              "attributes": { "name": "Ada", "email": "ada@example.com" } },
            { "type": "orderlineitems", "id": "good",
              "attributes": { "quantity": 1, "price": "1.00" },
              "relationships": { "product": to_one("products", &product) } },
            { "type": "orderlineitems", "id": "bad",
              "attributes": { "quantity": 0, "price": "1.00" },
              "relationships": { "product": to_one("products", &product) } }
        ]
    });
    let response = app.post("/api/orders", &body).await;
    response.assert_status(400);
    assert!(
        response
            .errors()
            .iter()
            .any(|e| e["status"] == "400"
                && e["source"]["pointer"] == "/included/2/attributes/quantity"),
        "{}\nexpected an error at /included/2/attributes/quantity",
        response.describe()
    );
    assert_eq!(
        census(&app).await,
        before,
        "nothing of the request is written"
    );
    // A missing required field and an unknown one, in another item.
    let body = json!({
        "data": { "type": "orders", "relationships": { "customer": to_one("customers", "c") } },
        "included": [
            { "type": "customers", "id": "c",
              "attributes": { "name": "Ada", "nickname": "A" } }
        ]
    });
    let response = app.post("/api/orders", &body).await;
    response.assert_status(400);
    assert_has_error(
        &response,
        400,
        "not blank constraint",
        Source::Pointer("/included/0/attributes/email"),
    );
    assert!(
        response
            .errors()
            .iter()
            .any(|e| e["title"] == "extra fields constraint"
                && e["source"]["pointer"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/included/0"))),
        "{}",
        response.describe()
    );
    // A unique value taken by an existing resource.
    create_customer(&app, "Taken", "taken@example.com").await;
    let before = census(&app).await;
    let body = json!({
        "data": { "type": "orders", "relationships": { "customer": to_one("customers", "c") } },
        "included": [
            { "type": "customers", "id": "c",
              "attributes": { "name": "Copy", "email": "taken@example.com" } }
        ]
    });
    let response = app.post("/api/orders", &body).await;
    response.assert_status(400);
    assert_has_error(
        &response,
        400,
        "unique entity constraint",
        Source::Pointer("/included/0/attributes/email"),
    );
    assert_eq!(census(&app).await, before);
}

#[tokio::test]
async fn an_invalid_included_update_leaves_the_primary_unwritten() {
    let app = jsonapi_tests::shared_scratch();
    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let product = create_product(&app, "ROLLBACK-1").await;
    let order = create_order(&app, id_of(&customer)).await;
    let item = create_line_item(&app, &order, id_of(&product), 2, "1.00").await;
    let body = json!({
        "data": { "type": "orders", "id": order, "attributes": { "poNumber": "CHANGED" },
                  "relationships": { "lineItems": { "data": [{ "type": "orderlineitems", "id": item }] } } },
        "included": [
            { "type": "orderlineitems", "id": item, "meta": { "update": true },
              "attributes": { "price": "-1" } }
        ]
    });
    let response = app.patch(&format!("/api/orders/{order}"), &body).await;
    response.assert_status(400);
    assert!(
        response
            .errors()
            .iter()
            .any(|e| e["source"]["pointer"] == "/included/0/attributes/price"),
        "{}",
        response.describe()
    );
    let stored = app.fetch("orders", &order).await;
    assert_eq!(attr(&stored, "poNumber"), "PO-1");
    assert_decimal(
        attr(&app.fetch("orderlineitems", &item).await, "price"),
        "1.00",
    );
    assert_total(&app, &order, 200).await;
}

#[tokio::test]
async fn validate_is_not_an_option_of_included_items() {
    let app = TestApp::spawn().await;
    let category = crate::fixtures::create_category(&app, "C", None).await;
    let before = census(&app).await;
    let body = json!({
        "data": {
            "type": "products",
            "attributes": { "sku": "VAL-INC", "name": "P", "price": "1.00" },
            "relationships": { "category": to_one("categories", id_of(&category)) }
        },
        "included": [
            { "type": "categories", "id": id_of(&category), "meta": { "validate": true },
              "attributes": { "name": "D" } }
        ]
    });
    let response = app.post("/api/products", &body).await;
    assert_error(
        &response,
        400,
        "value constraint",
        Source::Pointer("/included/0/meta/validate"),
    );
    assert_eq!(census(&app).await, before);
    assert_eq!(
        attr(&app.fetch("categories", id_of(&category)).await, "name"),
        "C"
    );
}

#[tokio::test]
async fn the_order_total_is_the_sum_of_its_line_items_after_every_kind_of_write() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "SUM-1").await;
    let product = id_of(&product).to_owned();
    // (quantity, price in cents) of the line items of each order, kept by the test.
    let body = json!({
        "data": {
            "type": "orders",
            "relationships": {
                "customer": to_one("customers", "c"),
                "lineItems": { "data": [
                    { "type": "orderlineitems", "id": "a" },
                    { "type": "orderlineitems", "id": "b" }
                ] }
            }
        },
        "included": [
            { "type": "customers", "id": "c",
              "attributes": { "name": "Sum", "email": "sum@example.com" } },
            { "type": "orderlineitems", "id": "a", "attributes": { "quantity": 2, "price": "3.10" },
              "relationships": { "product": to_one("products", &product) } },
            { "type": "orderlineitems", "id": "b", "attributes": { "quantity": 1, "price": "0.45" },
              "relationships": { "product": to_one("products", &product) } }
        ]
    });
    let response = app.post("/api/orders", &body).await;
    response.assert_status(201);
    let first = id_of(response.data()).to_owned();
    let customer = to_one_id(response.data(), "customer")
        .expect("a customer")
        .to_owned();
    let included = included(&response);
    let a = id_of(by_include_id(&included, "a")).to_owned();
    let b = id_of(by_include_id(&included, "b")).to_owned();
    assert_total(&app, &first, 2 * 310 + 45).await;
    // A line item PATCH.
    app.patch(
        &format!("/api/orderlineitems/{a}"),
        &jsonapi_tests::resource_doc(
            "orderlineitems",
            Some(&a),
            json!({ "quantity": 3, "price": "2.00" }),
            json!({}),
        ),
    )
    .await
    .assert_status(200);
    assert_total(&app, &first, 3 * 200 + 45).await;
    // A relationship PATCH moving a line item to another order.
    let second = create_order(&app, &customer).await;
    assert_total(&app, &second, 0).await;
    app.patch(
        &format!("/api/orderlineitems/{b}/relationships/order"),
        &json!({ "data": { "type": "orders", "id": second } }),
    )
    .await
    .assert_status(204);
    assert_total(&app, &first, 3 * 200).await;
    assert_total(&app, &second, 45).await;
    // A compound PATCH adding a new line item to the second order.
    let body = json!({
        "data": { "type": "orders", "id": second },
        "included": [
            { "type": "orderlineitems", "id": "new",
              "attributes": { "quantity": 4, "price": "1.05" },
              "relationships": { "order": to_one("orders", &second),
                                 "product": to_one("products", &product) } }
        ]
    });
    app.patch(&format!("/api/orders/{second}"), &body)
        .await
        .assert_status(200);
    assert_total(&app, &second, 45 + 4 * 105).await;
    // A delete.
    app.delete(&format!("/api/orderlineitems/{a}"))
        .await
        .assert_status(204);
    assert_total(&app, &first, 0).await;
    // The totals in a list agree with the single reads.
    let orders = app.list_all("orders").await;
    for order in &orders {
        let single = app.fetch("orders", id_of(order)).await;
        assert_eq!(attr(order, "total"), attr(&single, "total"));
    }
}

#[tokio::test]
async fn a_second_request_can_reuse_the_same_temporary_ids() {
    let app = TestApp::spawn().await;
    let body = |email: &str| {
        json!({
            "data": { "type": "orders", "relationships": { "customer": to_one("customers", "c") } },
            "included": [
                { "type": "customers", "id": "c", "attributes": { "name": "N", "email": email } }
            ]
        })
    };
    let one: Value = app
        .post("/api/orders", &body("one@example.com"))
        .await
        .json()
        .clone();
    let two: Value = app
        .post("/api/orders", &body("two@example.com"))
        .await
        .json()
        .clone();
    let customer_of = |doc: &Value| doc["data"]["relationships"]["customer"]["data"]["id"].clone();
    assert_ne!(customer_of(&one), customer_of(&two));
    assert_eq!(app.list_all("customers").await.len(), 2);
}
