//! Resources the tests create for themselves, and the attributes they send.

use jsonapi_tests::values::id_of;
use jsonapi_tests::{ApiClient, Value, json, resource_doc, to_one, unique};

/// An e-mail address no other test of the process uses (`ada-7@example.com`), for the shared
/// scratch server, where e-mails of customers and users must be unique.
pub(crate) fn unique_email(name: &str) -> String {
    format!("{}@example.com", unique(name))
}

/// A valid `products` attribute set with this SKU.
pub(crate) fn product_attributes(sku: &str) -> Value {
    json!({ "sku": sku, "name": format!("Product {sku}"), "price": "10.00" })
}

/// Creates a product with this SKU (and the defaults for everything else).
pub(crate) async fn create_product(api: &ApiClient, sku: &str) -> Value {
    api.create("products", product_attributes(sku), json!({}))
        .await
}

/// Creates a category, optionally under a parent.
pub(crate) async fn create_category(api: &ApiClient, name: &str, parent: Option<&str>) -> Value {
    let relationships = match parent {
        Some(parent) => json!({ "parent": to_one("categories", parent) }),
        None => json!({}),
    };
    api.create("categories", json!({ "name": name }), relationships)
        .await
}

/// Creates a customer.
pub(crate) async fn create_customer(api: &ApiClient, name: &str, email: &str) -> Value {
    api.create(
        "customers",
        json!({ "name": name, "email": email }),
        json!({}),
    )
    .await
}

/// Creates a user `{username}@example.com`; returns its id.
pub(crate) async fn create_user(api: &ApiClient, username: &str) -> String {
    let attributes = json!({ "username": username, "email": format!("{username}@example.com") });
    id_of(&api.create("users", attributes, json!({})).await).to_owned()
}

/// Creates an order for a customer; returns its id.
pub(crate) async fn create_order(api: &ApiClient, customer: &str) -> String {
    let order = api
        .create(
            "orders",
            json!({ "poNumber": "PO-1" }),
            json!({ "customer": to_one("customers", customer) }),
        )
        .await;
    id_of(&order).to_owned()
}

/// The document of a new line item of `quantity` × `price` on an order.
pub(crate) fn line_item_doc(order: &str, product: &str, quantity: i64, price: &str) -> Value {
    resource_doc(
        "orderlineitems",
        None,
        json!({ "quantity": quantity, "price": price }),
        json!({
            "order": to_one("orders", order),
            "product": to_one("products", product),
        }),
    )
}

/// Creates a line item of `quantity` × `price` on an order; returns its id.
pub(crate) async fn create_line_item(
    api: &ApiClient,
    order: &str,
    product: &str,
    quantity: i64,
    price: &str,
) -> String {
    let response = api
        .post(
            "/api/orderlineitems",
            &line_item_doc(order, product, quantity, price),
        )
        .await;
    response.assert_status(201);
    id_of(response.data()).to_owned()
}

/// Adds line items of `(quantity, price)` to an order, ten per compound `PATCH` of the order
/// (fewer requests than one create each); returns their ids, in the order given.
pub(crate) async fn add_line_items(
    api: &ApiClient,
    order: &str,
    product: &str,
    items: &[(i64, String)],
) -> Vec<String> {
    let mut ids = Vec::new();
    for chunk in items.chunks(10) {
        let included: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(n, (quantity, price))| {
                json!({ "type": "orderlineitems", "lid": format!("li-{n}"),
                    "attributes": { "quantity": quantity, "price": price },
                    "relationships": { "order": to_one("orders", order),
                                       "product": to_one("products", product) } })
            })
            .collect();
        let body = json!({ "data": { "type": "orders", "id": order }, "included": included });
        let response = api.patch(&format!("/api/orders/{order}"), &body).await;
        response.assert_status(200);
        let created = response.json()["included"]
            .as_array()
            .unwrap_or_else(|| panic!("{}\nno included", response.describe()))
            .clone();
        for n in 0..chunk.len() {
            let item = created
                .iter()
                .find(|i| i["meta"]["includeId"] == format!("li-{n}"))
                .unwrap_or_else(|| panic!("{}\nno line item li-{n}", response.describe()));
            ids.push(id_of(item).to_owned());
        }
    }
    ids
}
