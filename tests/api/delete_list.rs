//! `DELETE /api/{type}` (delete_list): a filter is required, exactly the matches are deleted,
//! at most `maxDelete` (100 in the example domain) per call, `X-Include: deletedCount;
//! totalCount`, filters in the body, and the usual delete rules for linked resources (Oro §1.1,
//! §1.6, §2.3; acceptance rows 9, 26, 27).

use jsonapi_tests::values::{assert_decimal, attr, id_of, to_many_ids, to_one_id};
use jsonapi_tests::{
    ApiClient, MT, Method, Source, TestApp, TestResponse, assert_error, assert_error_detail, json,
    to_one,
};

use crate::fixtures::{create_customer, create_line_item, create_order, create_product};
use crate::query_support::{ids_where, str_attr};

async fn delete_list(api: &ApiClient, query: &str) -> TestResponse {
    api.request(
        Method::DELETE,
        &format!("/api/products{query}"),
        &[("Accept", MT), ("X-Include", "deletedCount;totalCount")],
        None,
    )
    .await
}

fn counts(response: &TestResponse) -> (Option<&str>, Option<&str>) {
    (
        response.header("x-include-deleted-count"),
        response.header("x-include-total-count"),
    )
}

/// Creates products named `{prefix} n` with SKUs `{prefix}-n`, n = 1..=count.
async fn create_named(api: &ApiClient, prefix: &str, count: usize) {
    for n in 1..=count {
        api.create(
            "products",
            json!({ "sku": format!("{prefix}-{n}"), "name": format!("{prefix} {n}"), "price": "1.00" }),
            json!({}),
        )
        .await;
    }
}

#[tokio::test]
async fn deleting_a_list_requires_a_filter() {
    let app = TestApp::spawn().await;
    create_named(&app, "Keep", 2).await;
    for path in ["/api/products", "/api/products?sort=-id"] {
        let response = app.delete(path).await;
        assert_error_detail(
            &response,
            400,
            "filter constraint",
            Source::Any,
            "At least one filter must be provided.",
        );
    }
    assert_eq!(app.list_all("products").await.len(), 2);
}

#[tokio::test]
async fn deleting_a_list_removes_exactly_the_matches() {
    let app = TestApp::spawn().await;
    create_named(&app, "Alpha", 3).await;
    create_named(&app, "Beta", 3).await;
    let before = app.list_all("products").await;
    let doomed = ids_where(&before, |p| str_attr(p, "name").starts_with("Alpha"));
    let kept = ids_where(&before, |p| !str_attr(p, "name").starts_with("Alpha"));
    let response = delete_list(&app, "?filter[name][starts_with]=Alpha").await;
    response.assert_status(204);
    assert!(response.raw.is_empty(), "{}", response.describe());
    assert_eq!(counts(&response), (Some("3"), Some("3")));
    let after = app.list_all("products").await;
    assert_eq!(ids_where(&after, |_| true), kept);
    for id in doomed {
        app.get(&format!("/api/products/{id}"))
            .await
            .assert_status(404);
    }
    // A filter matching nothing deletes nothing.
    let response = delete_list(&app, "?filter[name][starts_with]=Alpha").await;
    response.assert_status(204);
    assert_eq!(counts(&response), (Some("0"), Some("0")));
    assert_eq!(app.list_all("products").await.len(), 3);
}

#[tokio::test]
async fn one_call_deletes_at_most_max_delete_resources() {
    let app = TestApp::spawn().await;
    create_named(&app, "Bulk", 105).await;
    let response = delete_list(&app, "?filter[id][gt]=0").await;
    response.assert_status(204);
    assert_eq!(counts(&response), (Some("100"), Some("105")));
    let remaining = app.list_all("products").await;
    assert_eq!(remaining.len(), 5);
    let response = delete_list(&app, "?filter[id][gt]=0").await;
    response.assert_status(204);
    assert_eq!(counts(&response), (Some("5"), Some("5")));
    assert!(app.list_all("products").await.is_empty());
}

#[tokio::test]
async fn the_counts_are_reported_only_when_asked_for() {
    let app = TestApp::spawn().await;
    create_named(&app, "Quiet", 2).await;
    let response = app
        .delete("/api/products?filter[name][starts_with]=Quiet")
        .await;
    response.assert_status(204);
    assert_eq!(counts(&response), (None, None));
    assert!(app.list_all("products").await.is_empty());
}

#[tokio::test]
async fn a_bad_filter_deletes_nothing_and_names_its_parameter() {
    let app = TestApp::spawn().await;
    create_named(&app, "Safe", 2).await;
    for (query, parameter) in [
        ("?filter[nope]=1", "filter[nope]"),
        ("?filter[price]=abc", "filter[price]"),
        ("?filter[sku][contains]=Safe", "filter[sku][contains]"),
        ("?filter[id][gt]=0&foo=1", "foo"),
    ] {
        let response = delete_list(&app, query).await;
        assert_error(
            &response,
            400,
            "filter constraint",
            Source::Parameter(parameter),
        );
        assert_eq!(response.header("x-include-deleted-count"), None);
    }
    assert_eq!(app.list_all("products").await.len(), 2);
}

#[tokio::test]
async fn filters_may_be_sent_in_the_body() {
    let app = TestApp::spawn().await;
    create_named(&app, "Alpha", 2).await;
    create_named(&app, "Beta", 2).await;
    let body = json!({ "filter": { "name": { "starts_with": "Alpha" } } }).to_string();
    let response = app
        .request(
            Method::DELETE,
            "/api/products",
            &[
                ("Accept", MT),
                ("Content-Type", MT),
                ("X-Include", "deletedCount"),
            ],
            Some(&body),
        )
        .await;
    response.assert_status(204);
    assert_eq!(response.header("x-include-deleted-count"), Some("2"));
    let left = app.list_all("products").await;
    assert!(left.iter().all(|p| str_attr(p, "name").starts_with("Beta")));
    assert_eq!(left.len(), 2);
    let body = json!({ "filter[name][starts_with]": "Beta" }).to_string();
    app.request(
        Method::DELETE,
        "/api/products",
        &[("Accept", MT), ("Content-Type", MT)],
        Some(&body),
    )
    .await
    .assert_status(204);
    assert!(app.list_all("products").await.is_empty());
}

#[tokio::test]
async fn a_list_delete_follows_the_delete_rules_of_each_resource() {
    let app = TestApp::spawn().await;
    let customer = create_customer(&app, "Ada", "ada@example.com").await;
    let customer = id_of(&customer).to_owned();
    let product = create_product(&app, "LINE-1").await;
    let product = id_of(&product).to_owned();
    let doomed = create_order(&app, &customer).await;
    let kept = create_order(&app, &customer).await;
    let a = create_line_item(&app, &doomed, &product, 1, "2.00").await;
    let b = create_line_item(&app, &kept, &product, 2, "3.00").await;
    let c = create_line_item(&app, &kept, &product, 1, "5.00").await;
    // Deleting line items by a filter updates their order's total.
    app.request(
        Method::DELETE,
        &format!("/api/orderlineitems?filter[id]={c}"),
        &[("Accept", MT)],
        None,
    )
    .await
    .assert_status(204);
    let order = app.fetch("orders", &kept).await;
    assert_decimal(attr(&order, "total"), "6.00");
    assert_eq!(to_many_ids(&order, "lineItems"), vec![b.clone()]);
    // Deleting orders by a filter deletes their line items.
    app.request(
        Method::DELETE,
        &format!("/api/orders?filter[id]={doomed}"),
        &[("Accept", MT)],
        None,
    )
    .await
    .assert_status(204);
    app.get(&format!("/api/orderlineitems/{a}"))
        .await
        .assert_status(404);
    app.fetch("orderlineitems", &b).await;
    let customer_now = app.fetch("customers", &customer).await;
    assert_eq!(to_many_ids(&customer_now, "orders"), vec![kept.clone()]);
    // Deleting categories by a filter leaves no product linked to them.
    let category = crate::fixtures::create_category(&app, "Gone", None).await;
    let linked = app
        .create(
            "products",
            crate::fixtures::product_attributes("LINKED-1"),
            json!({ "category": to_one("categories", id_of(&category)) }),
        )
        .await;
    let response = app
        .request(
            Method::DELETE,
            "/api/categories?filter[name]=Gone",
            &[("Accept", MT)],
            None,
        )
        .await;
    response.assert_status(204);
    let linked = app.fetch("products", id_of(&linked)).await;
    assert_eq!(to_one_id(&linked, "category"), None);
}
