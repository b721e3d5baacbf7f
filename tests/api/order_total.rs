//! `orders.total` is kept equal to the sum of quantity × price of the order's line items
//! (example domain). Every expected total is computed here from what the test sent.

use jsonapi_tests::values::{assert_decimal, attr, cents_to_decimal, id_of, to_many_ids};
use jsonapi_tests::{ApiClient, TestApp, json, resource_doc, to_one};

use crate::fixtures::{
    create_customer, create_line_item, create_order, create_product, line_item_doc,
};

/// Line items as (quantity, price in cents).
fn total_cents(items: &[(i64, i64)]) -> i64 {
    items.iter().map(|(quantity, cents)| quantity * cents).sum()
}

async fn assert_total(api: &ApiClient, order: &str, items: &[(i64, i64)]) {
    let fetched = api.fetch("orders", order).await;
    let expected = cents_to_decimal(total_cents(items));
    assert_decimal(attr(&fetched, "total"), &expected);
}

struct Shop {
    app: TestApp,
    customer: String,
    product: String,
}

async fn shop() -> Shop {
    let app = TestApp::spawn().await;
    let customer = create_customer(&app, "Ada", "ada@example.com").await;
    let product = create_product(&app, "TOTAL-1").await;
    Shop {
        customer: id_of(&customer).to_owned(),
        product: id_of(&product).to_owned(),
        app,
    }
}

async fn patch_item(
    api: &ApiClient,
    item: &str,
    attributes: serde_json::Value,
    relationships: serde_json::Value,
) {
    api.patch(
        &format!("/api/orderlineitems/{item}"),
        &resource_doc("orderlineitems", Some(item), attributes, relationships),
    )
    .await
    .assert_status(200);
}

#[tokio::test]
async fn a_new_order_totals_zero() {
    let shop = shop().await;
    let order = create_order(&shop.app, &shop.customer).await;
    assert_total(&shop.app, &order, &[]).await;
}

#[tokio::test]
async fn the_total_is_the_sum_of_quantity_times_price_after_each_create() {
    let shop = shop().await;
    let order = create_order(&shop.app, &shop.customer).await;
    let mut items = Vec::new();
    for (quantity, price) in [(2, "12.50"), (3, "0.99"), (1, "100.00"), (7, "0.01")] {
        create_line_item(&shop.app, &order, &shop.product, quantity, price).await;
        let cents = (price.replace('.', ""))
            .parse::<i64>()
            .expect("a price in cents");
        items.push((quantity, cents));
        assert_total(&shop.app, &order, &items).await;
    }
    // 2×12.50 + 3×0.99 + 1×100.00 + 7×0.01
    assert_eq!(total_cents(&items), 2500 + 297 + 10000 + 7);
}

#[tokio::test]
async fn the_total_follows_quantity_and_price_updates() {
    let shop = shop().await;
    let order = create_order(&shop.app, &shop.customer).await;
    let a = create_line_item(&shop.app, &order, &shop.product, 2, "5.00").await;
    create_line_item(&shop.app, &order, &shop.product, 1, "3.30").await;
    assert_total(&shop.app, &order, &[(2, 500), (1, 330)]).await;

    patch_item(&shop.app, &a, json!({ "quantity": 5 }), json!({})).await;
    assert_total(&shop.app, &order, &[(5, 500), (1, 330)]).await;

    patch_item(&shop.app, &a, json!({ "price": "4.25" }), json!({})).await;
    assert_total(&shop.app, &order, &[(5, 425), (1, 330)]).await;

    patch_item(
        &shop.app,
        &a,
        json!({ "quantity": 1, "price": 0.5 }),
        json!({}),
    )
    .await;
    assert_total(&shop.app, &order, &[(1, 50), (1, 330)]).await;
}

#[tokio::test]
async fn moving_a_line_item_moves_its_amount_between_orders() {
    let shop = shop().await;
    let first = create_order(&shop.app, &shop.customer).await;
    let second = create_order(&shop.app, &shop.customer).await;
    let moving = create_line_item(&shop.app, &first, &shop.product, 3, "2.00").await;
    create_line_item(&shop.app, &first, &shop.product, 1, "1.00").await;
    create_line_item(&shop.app, &second, &shop.product, 4, "0.25").await;
    assert_total(&shop.app, &first, &[(3, 200), (1, 100)]).await;
    assert_total(&shop.app, &second, &[(4, 25)]).await;

    patch_item(
        &shop.app,
        &moving,
        json!({}),
        json!({ "order": to_one("orders", &second) }),
    )
    .await;
    assert_total(&shop.app, &first, &[(1, 100)]).await;
    assert_total(&shop.app, &second, &[(4, 25), (3, 200)]).await;
    let second_order = shop.app.fetch("orders", &second).await;
    assert!(to_many_ids(&second_order, "lineItems").contains(&moving));

    // Moving and changing the quantity in one request.
    patch_item(
        &shop.app,
        &moving,
        json!({ "quantity": 10 }),
        json!({ "order": to_one("orders", &first) }),
    )
    .await;
    assert_total(&shop.app, &first, &[(1, 100), (10, 200)]).await;
    assert_total(&shop.app, &second, &[(4, 25)]).await;
}

#[tokio::test]
async fn deleting_a_line_item_subtracts_its_amount() {
    let shop = shop().await;
    let order = create_order(&shop.app, &shop.customer).await;
    let a = create_line_item(&shop.app, &order, &shop.product, 2, "9.99").await;
    let b = create_line_item(&shop.app, &order, &shop.product, 1, "0.02").await;
    assert_total(&shop.app, &order, &[(2, 999), (1, 2)]).await;
    shop.app
        .delete(&format!("/api/orderlineitems/{a}"))
        .await
        .assert_status(204);
    assert_total(&shop.app, &order, &[(1, 2)]).await;
    shop.app
        .delete(&format!("/api/orderlineitems/{b}"))
        .await
        .assert_status(204);
    assert_total(&shop.app, &order, &[]).await;
}

#[tokio::test]
async fn a_rejected_line_item_write_leaves_the_total_alone() {
    let shop = shop().await;
    let order = create_order(&shop.app, &shop.customer).await;
    let a = create_line_item(&shop.app, &order, &shop.product, 2, "1.50").await;
    let response = shop
        .app
        .patch(
            &format!("/api/orderlineitems/{a}"),
            &resource_doc(
                "orderlineitems",
                Some(&a),
                json!({ "quantity": 0 }),
                json!({}),
            ),
        )
        .await;
    response.assert_status(400);
    let response = shop
        .app
        .post(
            "/api/orderlineitems",
            &line_item_doc(&order, &shop.product, 1, "-1"),
        )
        .await;
    response.assert_status(400);
    assert_total(&shop.app, &order, &[(2, 150)]).await;
}

#[tokio::test]
async fn the_total_is_the_same_in_lists_and_after_a_restart() {
    let mut shop = shop().await;
    let order = create_order(&shop.app, &shop.customer).await;
    create_line_item(&shop.app, &order, &shop.product, 3, "3.33").await;
    let list = shop.app.get("/api/orders").await;
    assert_decimal(attr(&list.items()[0], "total"), "9.99");
    shop.app.restart().await;
    assert_total(&shop.app, &order, &[(3, 333)]).await;
}
