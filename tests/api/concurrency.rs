//! Concurrent writes: ids and unique values hold under contention; racing upserts answer as
//! the reference says (one 201, the others 200: 409 only when an upsert matches several
//! resources); compound writes racing on shared resources keep every total and both sides of
//! every relationship right.

use std::collections::BTreeSet;

use jsonapi_tests::values::{attr, id_of, to_one_id};
use jsonapi_tests::{
    Source, TestApp, TestResponse, Value, assert_error, json, resource_doc, to_one,
};
use tokio::task::JoinSet;

use crate::fixtures::{
    add_line_items, create_customer, create_order, create_product, product_attributes,
};
use crate::invariants::{
    CATEGORY_PRODUCTS, assert_inverse_agrees, assert_order_totals, at_once, member_set, statuses,
};
use crate::query_support::included;

/// Writers sent at once in each race.
const WRITERS: usize = 40;

/// Asserts one 201 and `200` for every other answer; returns the id they all name.
fn assert_one_created(answers: &[TestResponse]) -> String {
    let created = answers.iter().filter(|r| r.status.as_u16() == 201).count();
    let updated = answers.iter().filter(|r| r.status.as_u16() == 200).count();
    assert_eq!(
        (created, updated),
        (1, answers.len() - 1),
        "{:?}\n{}",
        statuses(answers),
        answers
            .iter()
            .find(|r| !r.status.is_success())
            .map(TestResponse::describe)
            .unwrap_or_default()
    );
    let ids: BTreeSet<&str> = answers.iter().map(|r| id_of(r.data())).collect();
    assert_eq!(ids.len(), 1, "the upserts name several resources: {ids:?}");
    ids.into_iter().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_creates_all_succeed_with_distinct_ids() {
    let app = TestApp::spawn().await;
    let mut tasks = JoinSet::new();
    for i in 0..200 {
        let api = app.client();
        tasks.spawn(async move {
            let sku = format!("CONC-{i:03}");
            let response = api
                .post(
                    "/api/products",
                    &resource_doc("products", None, product_attributes(&sku), json!({})),
                )
                .await;
            (sku, response)
        });
    }
    let mut ids = BTreeSet::new();
    let mut skus = BTreeSet::new();
    while let Some(joined) = tasks.join_next().await {
        let (sku, response) = joined.expect("the request task");
        response.assert_status(201);
        assert_eq!(attr(response.data(), "sku"), sku.as_str());
        ids.insert(id_of(response.data()).to_owned());
        skus.insert(sku);
    }
    assert_eq!(ids.len(), 200, "ids were handed out twice");
    let listed = app.list_all("products").await;
    assert_eq!(listed.len(), 200);
    let listed_ids: BTreeSet<String> = listed.iter().map(|p| id_of(p).to_owned()).collect();
    assert_eq!(listed_ids, ids);
    let listed_skus: BTreeSet<String> = listed
        .iter()
        .map(|p| attr(p, "sku").as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(listed_skus, skus);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_racing_for_one_sku_store_exactly_one() {
    let app = TestApp::spawn().await;
    let mut tasks = JoinSet::new();
    for i in 0..20 {
        let api = app.client();
        tasks.spawn(async move {
            let mut attributes = product_attributes("RACE-1");
            attributes["name"] = json!(format!("Racer {i}"));
            api.post(
                "/api/products",
                &resource_doc("products", None, attributes, json!({})),
            )
            .await
        });
    }
    let mut created = 0;
    let mut rejected = 0;
    while let Some(joined) = tasks.join_next().await {
        let response = joined.expect("the request task");
        if response.status.as_u16() == 201 {
            created += 1;
        } else {
            assert_error(
                &response,
                400,
                "unique entity constraint",
                Source::Pointer("/data/attributes/sku"),
            );
            rejected += 1;
        }
    }
    assert_eq!((created, rejected), (1, 19));
    let stored: Vec<_> = app
        .list_all("products")
        .await
        .into_iter()
        .filter(|p| attr(p, "sku") == "RACE-1")
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
}

fn upserted_role(id: &str, i: usize) -> Value {
    json!({ "data": { "type": "roles", "id": id, "meta": { "upsert": true },
        "attributes": { "label": format!("Label {i}") } } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_upserts_by_id_create_once_and_update_otherwise() {
    let app = TestApp::spawn().await;
    let answers = at_once(WRITERS, |i| {
        let api = app.client();
        async move { api.post("/api/roles", &upserted_role("raced", i)).await }
    })
    .await;
    assert_eq!(assert_one_created(&answers), "raced");
    // PATCH upserts by its URL id the same way.
    let answers = at_once(WRITERS, |i| {
        let api = app.client();
        async move {
            api.patch("/api/roles/patched", &upserted_role("patched", i))
                .await
        }
    })
    .await;
    assert_eq!(assert_one_created(&answers), "patched");
    let labels: BTreeSet<String> = (0..WRITERS).map(|i| format!("Label {i}")).collect();
    for id in ["raced", "patched"] {
        let stored = app.fetch("roles", id).await;
        let label = attr(&stored, "label").as_str().unwrap_or_default();
        assert!(labels.contains(label), "{stored}");
    }
    assert_eq!(
        app.list_all("roles").await.len(),
        2 + 1,
        "the admin role and the two"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_upserts_by_a_unique_field_create_once_and_update_otherwise() {
    let app = TestApp::spawn().await;
    let answers = at_once(WRITERS, |i| {
        let api = app.client();
        async move {
            let mut attributes = product_attributes("UPSERT-RACE");
            attributes["name"] = json!(format!("Upserter {i}"));
            let mut doc = resource_doc("products", None, attributes, json!({}));
            doc["data"]["meta"] = json!({ "upsert": ["sku"] });
            api.post("/api/products", &doc).await
        }
    })
    .await;
    let id = assert_one_created(&answers);
    let stored = app.list_all("products").await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(id_of(&stored[0]), id);
    assert_eq!(attr(&stored[0], "sku"), "UPSERT-RACE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_creates_of_one_client_id_store_one_and_refuse_the_rest() {
    let app = TestApp::spawn().await;
    let answers = at_once(WRITERS, |i| {
        let api = app.client();
        async move {
            let doc = json!({ "data": { "type": "roles", "id": "taken",
                "attributes": { "label": format!("Label {i}") } } });
            api.post("/api/roles", &doc).await
        }
    })
    .await;
    let created = answers.iter().filter(|r| r.status.as_u16() == 201).count();
    assert_eq!(created, 1, "{:?}", statuses(&answers));
    for refused in answers.iter().filter(|r| r.status.as_u16() != 201) {
        assert_error(
            refused,
            409,
            "conflict constraint",
            Source::Pointer("/data/id"),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_compound_creates_moving_line_items_out_of_one_order_keep_every_total() {
    let app = TestApp::spawn().await;
    let customer = id_of(&create_customer(&app, "Ada", "ada@example.com").await).to_owned();
    let product = id_of(&create_product(&app, "MOVED-1").await).to_owned();
    let shared = create_order(&app, &customer).await;
    let prices: Vec<(i64, String)> = (0..WRITERS).map(|i| (1, format!("{}.10", i + 1))).collect();
    let moved = add_line_items(&app, &shared, &product, &prices).await;
    // Each writer creates an order holding a line item it moves out of the shared order (an
    // included item with `meta.update`): every one of them changes the shared order's total.
    let answers = at_once(WRITERS, |i| {
        let api = app.client();
        let (customer, item) = (customer.clone(), moved[i].clone());
        async move {
            let body = json!({
                "data": { "type": "orders", "lid": "o",
                    "relationships": { "customer": to_one("customers", &customer) } },
                "included": [
                    { "type": "orderlineitems", "id": item, "meta": { "update": true },
                      "relationships": { "order": { "data": { "type": "orders", "lid": "o" } } } }
                ]
            });
            api.post("/api/orders", &body).await
        }
    })
    .await;
    for (i, answer) in answers.iter().enumerate() {
        answer.assert_status(201);
        let order = id_of(answer.data()).to_owned();
        let items = member_set(&app, "orders", &order, "lineItems").await;
        assert_eq!(items, BTreeSet::from([moved[i].clone()]), "order {order}");
        assert_eq!(included(answer).len(), 1, "{}", answer.describe());
    }
    let totals = assert_order_totals(&app).await;
    assert_eq!(totals[&shared], 0);
    assert!(
        member_set(&app, "orders", &shared, "lineItems")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_compound_creates_taking_products_from_one_category_keep_both_sides() {
    let app = TestApp::spawn().await;
    let shared = id_of(&crate::fixtures::create_category(&app, "Shared", None).await).to_owned();
    let mut taken = Vec::new();
    for i in 0..WRITERS {
        let product = app
            .create(
                "products",
                product_attributes(&format!("TAKEN-{i:02}")),
                json!({ "category": to_one("categories", &shared) }),
            )
            .await;
        taken.push(id_of(&product).to_owned());
    }
    // Each writer creates a category holding one product taken from the shared category and
    // one new product.
    let answers = at_once(WRITERS, |i| {
        let api = app.client();
        let product = taken[i].clone();
        async move {
            let body = json!({
                "data": { "type": "categories", "attributes": { "name": format!("New {i}") },
                    "relationships": { "products": { "data": [
                        { "type": "products", "id": product },
                        { "type": "products", "lid": "p" }
                    ] } } },
                "included": [
                    { "type": "products", "lid": "p",
                      "attributes": product_attributes(&format!("NEW-{i:02}")) }
                ]
            });
            api.post("/api/categories", &body).await
        }
    })
    .await;
    let mut expected = BTreeSet::new();
    for (i, answer) in answers.iter().enumerate() {
        answer.assert_status(201);
        let category = id_of(answer.data()).to_owned();
        let members = member_set(&app, "categories", &category, "products").await;
        assert_eq!(members.len(), 2, "{members:?}");
        assert!(members.contains(&taken[i]));
        expected.extend(members);
    }
    assert!(
        member_set(&app, "categories", &shared, "products")
            .await
            .is_empty()
    );
    let members = assert_inverse_agrees(&app, CATEGORY_PRODUCTS).await;
    let linked: BTreeSet<String> = members.values().flatten().cloned().collect();
    assert_eq!(linked, expected);
    for product in app.list_all("products").await {
        assert!(to_one_id(&product, "category").is_some(), "{product}");
    }
}
