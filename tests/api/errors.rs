//! Error documents (JSON:API checklist M, Oro §3–4; acceptance rows 36–38).
//!
//! The harness already checks every error document (string statuses, titles, no `data`, the
//! status-combination rule, the media type); these tests add the cases that need a request
//! built for them.

use jsonapi_tests::values::id_of;
use jsonapi_tests::{
    ApiClient, MT, Method, Source, TestApp, TestResponse, assert_has_error, json, resource_doc,
    unique,
};

use crate::fixtures::{create_product, product_attributes};

#[tokio::test]
async fn several_problems_in_one_request_are_all_reported() {
    let app = TestApp::spawn().await;
    let request = resource_doc(
        "products",
        None,
        json!({ "sku": "S".repeat(65), "name": "Many", "price": "-5", "status": "bogus", "colour": "red" }),
        json!({}),
    );
    let response = app.post("/api/products", &request).await;
    response.assert_status(400);
    assert_has_error(
        &response,
        400,
        "length constraint",
        Source::Pointer("/data/attributes/sku"),
    );
    assert_has_error(
        &response,
        400,
        "range constraint",
        Source::Pointer("/data/attributes/price"),
    );
    assert_has_error(
        &response,
        400,
        "choice constraint",
        Source::Pointer("/data/attributes/status"),
    );
    assert_has_error(
        &response,
        400,
        "extra fields constraint",
        Source::Pointer("/data/attributes/colour"),
    );
    // Every pointer names a member of the request document.
    for error in response.errors() {
        let pointer = error["source"]["pointer"].as_str().expect("a pointer");
        assert!(
            request.pointer(pointer).is_some(),
            "{pointer} is not in the request"
        );
    }
    assert!(app.list_all("products").await.is_empty());
}

#[tokio::test]
async fn different_client_errors_combine_into_400() {
    let app = jsonapi_tests::shared_scratch();
    // A client id where the server generates ids (403) and attributes that are not an object
    // (400): both are problems of the request document itself.
    let response = app
        .post(
            "/api/products",
            &json!({ "data": { "type": "products", "id": "5", "attributes": ["sku"] } }),
        )
        .await;
    response.assert_status(400);
    assert!(
        response
            .errors()
            .iter()
            .any(|e| e["status"] == "403" && e["source"]["pointer"] == "/data/id"),
        "{}",
        response.describe()
    );
    assert_has_error(
        &response,
        400,
        "request data constraint",
        Source::Pointer("/data/attributes"),
    );
}

#[tokio::test]
async fn a_conflict_among_client_errors_makes_the_status_409() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "MIX-2").await;
    // A type other than the URL's (409) and attributes that are not an object (400).
    let response = app
        .patch(
            &format!("/api/products/{}", id_of(&product)),
            &json!({ "data": { "type": "categories", "id": id_of(&product), "attributes": "x" } }),
        )
        .await;
    response.assert_status(409);
    assert_has_error(
        &response,
        409,
        "conflict constraint",
        Source::Pointer("/data/type"),
    );
    assert_has_error(
        &response,
        400,
        "request data constraint",
        Source::Pointer("/data/attributes"),
    );
}

#[tokio::test]
async fn two_conflicts_are_both_reported_as_409() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "MIX-3").await;
    let response = app
        .patch(
            &format!("/api/products/{}", id_of(&product)),
            &resource_doc("categories", Some("777"), json!({ "name": "x" }), json!({})),
        )
        .await;
    response.assert_status(409);
    assert_has_error(
        &response,
        409,
        "conflict constraint",
        Source::Pointer("/data/type"),
    );
    assert_has_error(
        &response,
        409,
        "conflict constraint",
        Source::Pointer("/data/id"),
    );
}

async fn assorted_errors(app: &ApiClient) -> Vec<TestResponse> {
    let sku = unique("ERR");
    let product = create_product(app, &sku).await;
    let id = id_of(&product).to_owned();
    let mut responses = vec![
        app.get("/api/foo").await,
        app.get("/api/products/999").await,
        app.get("/api/products/abc").await,
        app.get("/api/products?page[size]=x").await,
        app.get("/api/products?bogus=1").await,
        app.get("/no/such/url").await,
        app.post("/api/products", &json!({ "data": [] })).await,
        app.post(
            "/api/products",
            &resource_doc("products", None, product_attributes(&sku), json!({})),
        )
        .await,
        app.patch(
            &format!("/api/products/{id}"),
            &resource_doc("products", Some("1000"), json!({}), json!({})),
        )
        .await,
        app.request(Method::PUT, "/api/products", &[("Accept", MT)], None)
            .await,
        app.request(
            Method::GET,
            "/api/products",
            &[("Accept", &format!("{MT}; charset=utf-8"))],
            None,
        )
        .await,
        app.request(
            Method::POST,
            "/api/products",
            &[("Accept", MT), ("Content-Type", "application/json")],
            Some("{}"),
        )
        .await,
        app.request(
            Method::POST,
            "/api/products",
            &[("Accept", MT), ("Content-Type", MT)],
            Some("{"),
        )
        .await,
    ];
    responses.push(app.delete("/api/products/999").await);
    responses
}

#[tokio::test]
async fn every_error_has_a_lowercase_title_and_a_detail_a_person_can_act_on() {
    let app = jsonapi_tests::shared_scratch();
    for response in assorted_errors(&app).await {
        assert!(!response.errors().is_empty(), "{}", response.describe());
        for error in response.errors() {
            let title = error["title"].as_str().expect("a title");
            assert_eq!(title, title.to_lowercase(), "{}", response.describe());
            assert!(
                title.ends_with(" constraint") || title.ends_with(" exception"),
                "{}\nthe title {title:?} is neither a constraint nor an exception",
                response.describe()
            );
            let detail = error["detail"].as_str().unwrap_or_default();
            assert!(
                !detail.trim().is_empty(),
                "{}\nno detail",
                response.describe()
            );
        }
    }
}

#[tokio::test]
async fn an_error_source_names_one_pointer_parameter_or_header() {
    let app = jsonapi_tests::shared_scratch();
    for response in assorted_errors(&app).await {
        for error in response.errors() {
            if let Some(source) = error.get("source") {
                let members: Vec<&String> = source.as_object().expect("an object").keys().collect();
                assert_eq!(members.len(), 1, "{}", response.describe());
                assert!(
                    ["pointer", "parameter", "header"].contains(&members[0].as_str()),
                    "{}",
                    response.describe()
                );
                if let Some(pointer) = source.get("pointer").and_then(|p| p.as_str()) {
                    assert!(pointer.is_empty() || pointer.starts_with('/'), "{pointer}");
                }
            }
        }
    }
}
