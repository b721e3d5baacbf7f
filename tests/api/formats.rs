//! Data formats (Oro §0, §5; example domain conventions; acceptance rows 2, 43–45).

use jsonapi_tests::values::{
    assert_decimal, attr, has_attr, id_of, is_api_datetime, is_ulid, linkage, parse_api_datetime,
};
use jsonapi_tests::{TestApp, Value, json, resource_doc, to_one, unique};

use crate::fixtures::{create_customer, create_order, create_product, unique_email};

#[tokio::test]
async fn timestamps_are_utc_seconds_with_a_z_and_come_from_the_servers_clock() {
    let app = jsonapi_tests::shared_scratch();
    let before = time::OffsetDateTime::now_utc() - time::Duration::seconds(2);
    let product = create_product(&app, "TIME-1").await;
    let after = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    for field in ["createdAt", "updatedAt"] {
        let text = attr(&product, field)
            .as_str()
            .unwrap_or_else(|| panic!("{field} is not a string: {product}"));
        assert!(
            is_api_datetime(text),
            "{field} = {text:?} is not YYYY-MM-DDTHH:MM:SSZ"
        );
        let at = parse_api_datetime(text).expect("a datetime");
        assert!(before <= at && at <= after, "{field} = {text} is not now");
    }
    // Every type with timestamps has them.
    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let order = app
        .fetch("orders", &create_order(&app, id_of(&customer)).await)
        .await;
    for resource in [&customer, &order] {
        for field in ["createdAt", "updatedAt"] {
            assert!(
                attr(resource, field).as_str().is_some_and(is_api_datetime),
                "{field} of {resource}"
            );
        }
    }
}

#[tokio::test]
async fn ids_are_strings_sequence_ids_are_numbers_and_customer_ids_are_ulids() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "ID-1").await;
    assert_eq!(product["id"], "1");
    let customer = create_customer(&app, "Ada", "ada@example.com").await;
    let id = customer["id"].as_str().expect("a string id");
    assert!(is_ulid(id), "{id} is not a ULID");
    let order = app.fetch("orders", &create_order(&app, id).await).await;
    assert_eq!(
        linkage(&order, "customer"),
        &json!({ "type": "customers", "id": id })
    );
}

#[tokio::test]
async fn decimals_are_strings_whether_sent_as_strings_or_numbers() {
    let app = jsonapi_tests::shared_scratch();
    let as_string = app
        .create(
            "products",
            json!({ "sku": "DEC-1", "name": "A", "price": "12.50" }),
            json!({}),
        )
        .await;
    assert_decimal(attr(&as_string, "price"), "12.50");
    let as_number = app
        .create(
            "products",
            json!({ "sku": "DEC-2", "name": "B", "price": 7.25 }),
            json!({}),
        )
        .await;
    assert_decimal(attr(&as_number, "price"), "7.25");
    let integer = app
        .create(
            "products",
            json!({ "sku": "DEC-3", "name": "C", "price": 3 }),
            json!({}),
        )
        .await;
    assert_decimal(attr(&integer, "price"), "3");
    // Exact, not floating point.
    let exact = app
        .create(
            "products",
            json!({ "sku": "DEC-4", "name": "D", "price": "0.10" }),
            json!({}),
        )
        .await;
    assert_decimal(attr(&exact, "price"), "0.1");
    let fetched = app.fetch("products", id_of(&exact)).await;
    assert_decimal(attr(&fetched, "price"), "0.10");
}

#[tokio::test]
async fn an_orders_total_is_a_decimal_string_even_without_line_items() {
    let app = jsonapi_tests::shared_scratch();
    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let order = app
        .fetch("orders", &create_order(&app, id_of(&customer)).await)
        .await;
    assert_decimal(attr(&order, "total"), "0");
}

#[tokio::test]
async fn integers_booleans_arrays_and_json_keep_their_json_types() {
    let app = jsonapi_tests::shared_scratch();
    let product = app
        .create(
            "products",
            json!({ "sku": "TYPES-1", "name": "T", "price": "1", "quantity": 12, "tags": ["x", "y z"] }),
            json!({}),
        )
        .await;
    assert_eq!(attr(&product, "quantity"), &json!(12));
    assert_eq!(attr(&product, "tags"), &json!(["x", "y z"]));
    let user = app
        .create(
            "users",
            json!({ "username": unique("u"), "email": unique_email("u"), "enabled": false }),
            json!({}),
        )
        .await;
    assert_eq!(attr(&user, "enabled"), &json!(false));
    // The example domain's only json attribute is a role's permissions, which must read as
    // permissions: any JSON is kept on a type of its own.
    let app = TestApp::spawn_with_config(
        "types:\n  notes:\n    id: sequence\n    attributes:\n      data: { type: json }\n",
        false,
    )
    .await;
    let value = json!({ "orders": ["read"], "level": 2, "deep": { "ok": true }, "n": null });
    let note = app
        .post(
            "/api/notes",
            &resource_doc("notes", None, json!({ "data": value }), json!({})),
        )
        .await;
    note.assert_status(201);
    assert_eq!(attr(note.data(), "data"), &value);
    let id = id_of(note.data()).to_owned();
    assert_eq!(attr(&app.fetch("notes", &id).await, "data"), &value);
}

#[tokio::test]
async fn blank_fields_are_emitted_as_null_not_left_out() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "BLANK-1").await;
    for field in ["description", "tags"] {
        assert!(
            has_attr(&product, field),
            "{field} is missing from {product}"
        );
    }
    assert_eq!(attr(&product, "description"), &Value::Null);
    let user = app
        .create(
            "users",
            json!({ "username": unique("u"), "email": unique_email("u") }),
            json!({}),
        )
        .await;
    for field in ["firstName", "lastName"] {
        assert!(has_attr(&user, field), "{field} is missing from {user}");
        assert_eq!(attr(&user, field), &Value::Null);
    }
    assert_eq!(linkage(&product, "category"), &Value::Null);
}

#[tokio::test]
async fn scalars_are_attributes_and_associations_are_relationships() {
    let app = jsonapi_tests::shared_scratch();
    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let order_id = create_order(&app, id_of(&customer)).await;
    let product = create_product(&app, "FMT-REL-1").await;
    crate::fixtures::create_line_item(&app, &order_id, id_of(&product), 1, "1.00").await;
    let order = app.fetch("orders", &order_id).await;
    let attributes: Vec<&String> = order["attributes"]
        .as_object()
        .expect("attributes")
        .keys()
        .collect();
    for field in [
        "poNumber",
        "status",
        "currency",
        "total",
        "createdAt",
        "updatedAt",
    ] {
        assert!(
            attributes.iter().any(|a| *a == field),
            "{field} is not an attribute: {order}"
        );
    }
    for rel in ["customer", "lineItems"] {
        assert!(
            !attributes.iter().any(|a| *a == rel),
            "{rel} is an attribute: {order}"
        );
        assert!(
            order["relationships"].get(rel).is_some(),
            "{rel} is not a relationship: {order}"
        );
    }
    assert!(linkage(&order, "customer").is_object());
    assert!(linkage(&order, "lineItems").is_array());
    // A to-one linkage object is exactly a resource identifier.
    let item = app
        .fetch(
            "orderlineitems",
            &jsonapi_tests::values::to_many_ids(&order, "lineItems")[0],
        )
        .await;
    assert_eq!(
        linkage(&item, "order"),
        &json!({ "type": "orders", "id": order_id })
    );
    assert_eq!(
        linkage(&item, "product"),
        &to_one("products", id_of(&product))["data"]
    );
}
