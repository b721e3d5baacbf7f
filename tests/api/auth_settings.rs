//! The `api.auth` settings that open the API: `anonymous` types anyone may read without a token
//! (Oro's guest API resources, §12.1), and `enabled: false` (no token, no permission checks).

use jsonapi_tests::values::{attr, to_one_id};
use jsonapi_tests::{Source, TestApp, assert_error, example_config_with, json, resource_doc};

use crate::fixtures::product_attributes;
use crate::query_support::included;

#[tokio::test]
async fn anonymous_types_are_readable_without_a_token_and_nothing_else() {
    let app = TestApp::spawn_with_config(
        &example_config_with("  auth:\n    anonymous: [products]\n"),
        true,
    )
    .await;
    let anonymous = app.anonymous();

    let list = anonymous.get("/api/products").await;
    list.assert_status(200);
    assert_eq!(list.items().len(), 10);
    let one = anonymous.get("/api/products/1").await;
    one.assert_status(200);
    assert_eq!(one.data(), &app.fetch("products", "1").await);
    // Related resources of other types are not open: left out of `included`, refused as a
    // subresource (with a request to authenticate), linkage kept.
    let response = anonymous.get("/api/products/1?include=category").await;
    response.assert_status(200);
    assert!(included(&response).is_empty(), "{}", response.describe());
    assert!(to_one_id(response.data(), "category").is_some());
    let response = anonymous.get("/api/products/1/category").await;
    assert_error(&response, 401, "authentication exception", Source::Absent);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer realm=\"api\"")
    );

    // Other types, unknown ones and every write ask for a token (a stranger learns nothing of
    // what else exists).
    for response in [
        anonymous.get("/api/categories").await,
        anonymous.get("/api/nosuchtype").await,
        anonymous.get("/api/nosuchtype/1/relationships/x").await,
        anonymous.get("/api/customers/1").await,
        anonymous
            .post(
                "/api/products",
                &resource_doc("products", None, product_attributes("ANON-1"), json!({})),
            )
            .await,
        anonymous
            .patch(
                "/api/products/1",
                &json!({ "data": { "type": "products", "id": "1", "attributes": { "name": "Anon" } } }),
            )
            .await,
        anonymous.delete("/api/products/1").await,
    ] {
        assert_error(&response, 401, "authentication exception", Source::Absent);
    }
    assert_eq!(
        attr(&app.fetch("products", "1").await, "name"),
        attr(one.data(), "name")
    );

    // A bad token is not read as no token.
    let response = app.with_token(Some("garbage")).get("/api/products").await;
    response.assert_status(401);
    // A token holder keeps its own rights.
    app.get("/api/categories?include=products")
        .await
        .assert_status(200);
}

#[tokio::test]
async fn with_authentication_off_no_token_is_needed() {
    let app =
        TestApp::spawn_with_config(&example_config_with("  auth:\n    enabled: false\n"), true)
            .await;
    let anonymous = app.anonymous();
    anonymous.get("/api/customers").await.assert_status(200);
    let created = anonymous
        .create("products", product_attributes("OPEN-1"), json!({}))
        .await;
    let id = jsonapi_tests::values::id_of(&created).to_owned();
    let response = anonymous
        .patch(
            &format!("/api/products/{id}"),
            &json!({ "data": { "type": "products", "id": id, "attributes": { "name": "Open" } } }),
        )
        .await;
    response.assert_status(200);
    anonymous
        .delete(&format!("/api/products/{id}"))
        .await
        .assert_status(204);
    // A token is not looked at.
    app.with_token(Some("garbage"))
        .get("/api/products/1?include=category")
        .await
        .assert_status(200);
}
