//! Content negotiation (JSON:API checklist A, Oro §2.1).

use jsonapi_tests::{ApiClient, MT, Method, Source, TestApp, assert_error, json, resource_doc};

use crate::fixtures::product_attributes;

fn new_product_body(sku: &str) -> String {
    resource_doc("products", None, product_attributes(sku), json!({})).to_string()
}

#[tokio::test]
async fn a_success_response_is_served_as_exactly_the_json_api_media_type() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products").await;
    response.assert_status(200);
    assert_eq!(response.header("content-type"), Some(MT));
    assert_eq!(response.json()["jsonapi"], json!({ "version": "1.1" }));
}

#[tokio::test]
async fn an_error_response_is_served_as_the_json_api_media_type_too() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products/999").await;
    response.assert_status(404);
    assert_eq!(response.header("content-type"), Some(MT));
    assert_eq!(response.json()["jsonapi"], json!({ "version": "1.1" }));
}

/// Oro §2.1 rule 1: only naming JSON:API makes a request JSON:API; a bare `curl`
/// (`Accept: */*`), `application/*` or no `Accept` at all gets the plain view (`plain_view`).
#[tokio::test]
async fn a_request_that_does_not_name_json_api_gets_the_plain_view() {
    let app = jsonapi_tests::shared_seeded();
    for accept in [Some("*/*"), Some("application/*"), None] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let response = app
            .request(Method::GET, "/api/products", &headers, None)
            .await;
        response.assert_status(200);
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{accept:?}"
        );
        assert!(response.json().is_array(), "{}", response.describe());
    }
}

#[tokio::test]
async fn accept_with_only_a_charset_parameterised_json_api_type_is_not_acceptable() {
    let app = jsonapi_tests::shared_seeded();
    let accept = format!("{MT}; charset=utf-8");
    let response = app
        .request(Method::GET, "/api/products", &[("Accept", &accept)], None)
        .await;
    assert_error(
        &response,
        406,
        "not acceptable http exception",
        Source::Header("Accept"),
    );
}

#[tokio::test]
async fn accept_with_only_an_unknown_extension_is_not_acceptable() {
    let app = jsonapi_tests::shared_seeded();
    let accept = format!("{MT}; ext=\"https://example.com/unknown\"");
    let response = app
        .request(Method::GET, "/api/products", &[("Accept", &accept)], None)
        .await;
    assert_error(
        &response,
        406,
        "not acceptable http exception",
        Source::Header("Accept"),
    );
}

#[tokio::test]
async fn accept_with_several_parameterised_instances_only_is_not_acceptable() {
    let app = jsonapi_tests::shared_seeded();
    let accept = format!("{MT}; charset=utf-8, {MT}; foo=bar");
    let response = app
        .request(Method::GET, "/api/products", &[("Accept", &accept)], None)
        .await;
    assert_error(
        &response,
        406,
        "not acceptable http exception",
        Source::Header("Accept"),
    );
}

#[tokio::test]
async fn accept_with_one_plain_instance_among_parameterised_ones_is_served() {
    let app = jsonapi_tests::shared_seeded();
    let accept = format!("{MT}; charset=utf-8, {MT}");
    let response = app
        .request(Method::GET, "/api/products", &[("Accept", &accept)], None)
        .await;
    response.assert_status(200);
}

#[tokio::test]
async fn accept_with_a_profile_parameter_is_served() {
    let app = jsonapi_tests::shared_seeded();
    let accept = format!("{MT}; profile=\"https://example.com/profile\"");
    let response = app
        .request(Method::GET, "/api/products", &[("Accept", &accept)], None)
        .await;
    response.assert_status(200);
    assert_eq!(response.header("content-type"), Some(MT));
}

#[tokio::test]
async fn accept_with_a_quality_value_is_served() {
    let app = jsonapi_tests::shared_seeded();
    let accept = format!("{MT}; q=0.9");
    let response = app
        .request(Method::GET, "/api/products", &[("Accept", &accept)], None)
        .await;
    response.assert_status(200);
}

#[tokio::test]
async fn media_type_names_are_case_insensitive_in_accept_and_content_type() {
    let app = jsonapi_tests::shared_scratch();
    let odd_case = "Application/VND.API+JSON";
    let get = app
        .request(Method::GET, "/api/products", &[("Accept", odd_case)], None)
        .await;
    get.assert_status(200);
    let body = new_product_body("CASE-1");
    let post = app
        .request(
            Method::POST,
            "/api/products",
            &[("Accept", odd_case), ("Content-Type", odd_case)],
            Some(&body),
        )
        .await;
    post.assert_status(201);
}

async fn post_with_content_type(
    app: &ApiClient,
    content_type: &str,
    sku: &str,
) -> jsonapi_tests::TestResponse {
    let body = new_product_body(sku);
    app.request(
        Method::POST,
        "/api/products",
        &[("Accept", MT), ("Content-Type", content_type)],
        Some(&body),
    )
    .await
}

#[tokio::test]
async fn content_type_with_a_charset_parameter_is_an_unsupported_media_type() {
    let app = TestApp::spawn().await;
    let response = post_with_content_type(&app, &format!("{MT}; charset=utf-8"), "CT-1").await;
    assert_error(
        &response,
        415,
        "unsupported media type http exception",
        Source::Header("Content-Type"),
    );
    // Nothing was created.
    assert!(app.list_all("products").await.is_empty());
}

#[tokio::test]
async fn content_type_with_an_unknown_parameter_is_an_unsupported_media_type() {
    let app = jsonapi_tests::shared_scratch();
    let response = post_with_content_type(&app, &format!("{MT}; foo=bar"), "CT-2").await;
    assert_error(
        &response,
        415,
        "unsupported media type http exception",
        Source::Header("Content-Type"),
    );
}

#[tokio::test]
async fn content_type_with_an_unknown_extension_is_an_unsupported_media_type() {
    let app = jsonapi_tests::shared_scratch();
    for ext in [
        "https://example.com/unknown",
        "https://jsonapi.org/ext/atomic",
    ] {
        let response = post_with_content_type(&app, &format!("{MT}; ext=\"{ext}\""), "CT-3").await;
        assert_error(
            &response,
            415,
            "unsupported media type http exception",
            Source::Header("Content-Type"),
        );
    }
}

#[tokio::test]
async fn content_type_with_a_profile_parameter_is_accepted() {
    let app = jsonapi_tests::shared_scratch();
    let response = post_with_content_type(
        &app,
        &format!("{MT}; profile=\"https://example.com/p\""),
        "CT-4",
    )
    .await;
    response.assert_status(201);
}

#[tokio::test]
async fn a_post_as_plain_json_is_an_unsupported_media_type() {
    let app = jsonapi_tests::shared_scratch();
    for content_type in ["application/json", "text/plain"] {
        let response = post_with_content_type(&app, content_type, "CT-5").await;
        assert_error(
            &response,
            415,
            "unsupported media type http exception",
            Source::Header("Content-Type"),
        );
    }
}

#[tokio::test]
async fn a_patch_with_a_parameterised_content_type_is_an_unsupported_media_type() {
    let app = jsonapi_tests::shared_scratch();
    let product = crate::fixtures::create_product(&app, "CT-6").await;
    let id = jsonapi_tests::values::id_of(&product);
    let body = resource_doc(
        "products",
        Some(id),
        json!({ "name": "Renamed" }),
        json!({}),
    )
    .to_string();
    for content_type in [
        format!("{MT}; charset=utf-8"),
        "application/json".to_owned(),
    ] {
        let response = app
            .request(
                Method::PATCH,
                &format!("/api/products/{id}"),
                &[("Accept", MT), ("Content-Type", &content_type)],
                Some(&body),
            )
            .await;
        assert_error(
            &response,
            415,
            "unsupported media type http exception",
            Source::Header("Content-Type"),
        );
    }
    let unchanged = app.fetch("products", id).await;
    assert_eq!(unchanged["attributes"]["name"], "Product CT-6");
}
