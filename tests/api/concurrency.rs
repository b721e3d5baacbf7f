//! Concurrent writes: ids and unique values hold under contention.

use std::collections::BTreeSet;

use jsonapi_tests::values::{attr, id_of};
use jsonapi_tests::{Source, TestApp, assert_error, json, resource_doc};
use tokio::task::JoinSet;

use crate::fixtures::product_attributes;

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
