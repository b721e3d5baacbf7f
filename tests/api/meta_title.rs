//! `meta=title`: each type's title template on primary and included resources, and unknown
//! meta properties (Oro §6.7; acceptance row 49; example domain `title:`).

use jsonapi_tests::values::{attr, id_of, to_one_id};
use jsonapi_tests::{Source, TestApp, Value, assert_error, assert_error_detail, json, to_one};

use crate::query_support::{all_of, get_ok, included, int_attr, primary, str_attr};

fn title(resource: &Value) -> &str {
    match resource.get("meta").and_then(|m| m.get("title")) {
        Some(Value::String(t)) => t,
        other => panic!("{resource}: expected a meta.title string, got {other:?}"),
    }
}

fn find<'a>(items: &'a [Value], id: &str) -> &'a Value {
    items
        .iter()
        .find(|r| id_of(r) == id)
        .unwrap_or_else(|| panic!("no resource {id}"))
}

#[tokio::test]
async fn each_type_titles_its_resources_from_its_template() {
    let app = jsonapi_tests::shared_seeded();
    for (ty, field) in [
        ("users", "username"),
        ("products", "name"),
        ("categories", "name"),
        ("customers", "name"),
        ("roles", "label"),
        ("orders", "poNumber"),
    ] {
        let response = get_ok(&app, &format!("/api/{ty}?meta=title&page[size]=-1")).await;
        assert!(!response.items().is_empty(), "{ty}");
        for resource in response.items() {
            assert_eq!(
                title(resource),
                str_attr(resource, field),
                "{ty} {resource}"
            );
        }
    }
    let response = get_ok(&app, "/api/users/1?meta=title").await;
    assert_eq!(
        title(response.data()),
        str_attr(response.data(), "username")
    );
}

#[tokio::test]
async fn a_line_item_is_titled_quantity_times_product_sku() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let response = get_ok(&app, "/api/orderlineitems?meta=title&page[size]=-1").await;
    assert!(!response.items().is_empty());
    for item in response.items() {
        let product = find(&products, to_one_id(item, "product").expect("a product"));
        let expected = format!(
            "{} \u{d7} {}",
            int_attr(item, "quantity"),
            str_attr(product, "sku")
        );
        assert_eq!(title(item), expected);
    }
}

#[tokio::test]
async fn an_order_without_a_po_number_is_titled_order_and_its_id() {
    let app = TestApp::spawn().await;
    let customer = crate::fixtures::create_customer(&app, "Ada", "ada@example.com").await;
    let customer = id_of(&customer).to_owned();
    let mut expected = Vec::new();
    for po in [json!("PO-77"), Value::Null, json!("")] {
        let mut attributes = json!({});
        if !po.is_null() {
            attributes["poNumber"] = po.clone();
        }
        let order = app
            .create(
                "orders",
                attributes,
                json!({ "customer": to_one("customers", &customer) }),
            )
            .await;
        let id = id_of(&order).to_owned();
        let title = match po.as_str() {
            Some(po) if !po.is_empty() => po.to_owned(),
            _ => format!("Order {id}"),
        };
        expected.push((id, title));
    }
    let response = get_ok(&app, "/api/orders?meta=title").await;
    for (id, expected) in &expected {
        let order = find(response.items(), id);
        assert_eq!(title(order), expected, "{}", response.describe());
        let one = get_ok(&app, &format!("/api/orders/{id}?meta=title")).await;
        assert_eq!(title(one.data()), expected);
    }
}

#[tokio::test]
async fn included_resources_carry_their_titles_too() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let response = get_ok(
        &app,
        "/api/orders/1?include=lineItems.product,customer&meta=title",
    )
    .await;
    let order = response.data();
    assert_eq!(title(order), str_attr(order, "poNumber"));
    let included = included(&response);
    assert!(!included.is_empty());
    for resource in &included {
        let expected = match resource["type"].as_str() {
            Some("orderlineitems") => {
                let product = find(
                    &products,
                    to_one_id(resource, "product").expect("a product"),
                );
                format!(
                    "{} \u{d7} {}",
                    int_attr(resource, "quantity"),
                    str_attr(product, "sku")
                )
            }
            Some("products" | "customers") => str_attr(resource, "name").to_owned(),
            other => panic!("unexpected included type {other:?}"),
        };
        assert_eq!(title(resource), expected, "{resource}");
    }
}

#[tokio::test]
async fn titles_appear_on_related_routes_and_only_when_asked_for() {
    let app = jsonapi_tests::shared_seeded();
    let response = get_ok(&app, "/api/categories/1/products?meta=title").await;
    for product in primary(&response) {
        assert_eq!(title(&product), str_attr(&product, "name"));
    }
    let response = get_ok(&app, "/api/products/1/category?meta=title").await;
    assert_eq!(title(response.data()), str_attr(response.data(), "name"));
    let response = get_ok(&app, "/api/products?include=category").await;
    for resource in primary(&response).iter().chain(&included(&response)) {
        assert!(
            resource.get("meta").and_then(|m| m.get("title")).is_none(),
            "{resource}: a title without meta=title"
        );
    }
}

#[tokio::test]
async fn a_title_follows_the_fields_it_is_made_of() {
    let app = jsonapi_tests::shared_scratch();
    let customer =
        crate::fixtures::create_customer(&app, "Ada", &crate::fixtures::unique_email("ada")).await;
    let product = crate::fixtures::create_product(&app, "TITLE-OLD").await;
    let order = crate::fixtures::create_order(&app, id_of(&customer)).await;
    let item = crate::fixtures::create_line_item(&app, &order, id_of(&product), 4, "1.00").await;
    let path = format!("/api/orderlineitems/{item}?meta=title");
    assert_eq!(
        title(get_ok(&app, &path).await.data()),
        "4 \u{d7} TITLE-OLD"
    );
    app.patch(
        &format!("/api/products/{}", id_of(&product)),
        &jsonapi_tests::resource_doc(
            "products",
            Some(id_of(&product)),
            json!({ "sku": "TITLE-NEW" }),
            json!({}),
        ),
    )
    .await
    .assert_status(200);
    assert_eq!(
        title(get_ok(&app, &path).await.data()),
        "4 \u{d7} TITLE-NEW"
    );
    let stored = app.fetch("products", id_of(&product)).await;
    assert_eq!(attr(&stored, "sku"), "TITLE-NEW");
}

#[tokio::test]
async fn an_unknown_meta_property_is_rejected_naming_meta() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?meta=foo").await;
    assert_error_detail(
        &response,
        400,
        "filter constraint",
        Source::Parameter("meta"),
        "The \"foo\" is not known meta property. Known properties: title.",
    );
    for path in [
        "/api/products?meta=title,foo",
        "/api/products/1?meta=nope",
        "/api/categories/1/products?meta=x",
    ] {
        let response = app.get(path).await;
        assert_error(
            &response,
            400,
            "filter constraint",
            Source::Parameter("meta"),
        );
    }
}
