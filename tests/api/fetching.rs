//! Fetching resources, related resources and relationships; routes and methods
//! (JSON:API checklist C, Oro §1, acceptance rows 4, 5, 10, 11, 13, 16, 17, 19).

use jsonapi_tests::values::{attr, id_of, link_urls, to_many_ids, to_one_id};
use jsonapi_tests::{
    MT, Method, Source, TestApp, Value, assert_error, assert_error_detail, json, to_one,
};

use crate::fixtures::{create_category, create_product};

#[tokio::test]
async fn an_empty_collection_is_an_empty_array() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/users").await;
    response.assert_status(200);
    assert_eq!(response.data(), &json!([]));
}

#[tokio::test]
async fn a_collection_of_one_is_still_an_array() {
    let app = TestApp::spawn().await;
    create_product(&app, "ONLY-1").await;
    let response = app.get("/api/products").await;
    response.assert_status(200);
    assert_eq!(response.items().len(), 1);
}

#[tokio::test]
async fn a_list_returns_the_first_ten_resources_in_id_order() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products").await;
    response.assert_status(200);
    let expected: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
    assert_eq!(response.ids(), expected);
    for product in response.items() {
        assert_eq!(product["type"], "products");
    }
}

#[tokio::test]
async fn a_single_resource_has_its_type_id_attributes_and_relationships() {
    let app = jsonapi_tests::shared_scratch();
    let category = create_category(&app, "Tools", None).await;
    let created = app
        .create(
            "products",
            json!({ "sku": "HAMMER-1", "name": "Hammer", "price": "12.50", "quantity": 3 }),
            json!({ "category": to_one("categories", id_of(&category)) }),
        )
        .await;
    let id = id_of(&created);
    let response = app.get(&format!("/api/products/{id}")).await;
    response.assert_status(200);
    let product = response.data();
    assert_eq!(product["type"], "products");
    assert_eq!(product["id"], id);
    assert_eq!(attr(product, "sku"), "HAMMER-1");
    assert_eq!(attr(product, "name"), "Hammer");
    assert_eq!(attr(product, "quantity"), 3);
    assert_eq!(to_one_id(product, "category"), Some(id_of(&category)));
}

#[tokio::test]
async fn an_unknown_id_is_not_found() {
    let app = jsonapi_tests::shared_scratch();
    let response = app.get("/api/products/12345").await;
    assert_error_detail(
        &response,
        404,
        "not found http exception",
        Source::Any,
        "An entity with the requested identifier does not exist.",
    );
}

#[tokio::test]
async fn an_unknown_ulid_is_not_found() {
    let app = jsonapi_tests::shared_scratch();
    let response = app.get("/api/customers/01ARZ3NDEKTSV4RRFFQ69G5FAV").await;
    assert_error(&response, 404, "not found http exception", Source::Any);
}

#[tokio::test]
async fn an_unknown_client_id_is_not_found() {
    let app = jsonapi_tests::shared_scratch();
    let response = app.get("/api/roles/nobody").await;
    assert_error(&response, 404, "not found http exception", Source::Any);
}

#[tokio::test]
async fn a_malformed_sequence_id_is_a_bad_identifier() {
    let app = jsonapi_tests::shared_scratch();
    // (`-1` is an integer, well-formed: an unknown id, 404; see exactness.rs.)
    for path in ["/api/products/abc", "/api/products/1.5", "/api/products/-0"] {
        let response = app.get(path).await;
        assert_error(&response, 400, "entity identifier constraint", Source::Any);
    }
}

#[tokio::test]
async fn an_unknown_type_is_not_found_on_every_route() {
    let app = jsonapi_tests::shared_scratch();
    for path in [
        "/api/foo",
        "/api/foo/1",
        "/api/foo/1/bar",
        "/api/foo/1/relationships/bar",
    ] {
        let response = app.get(path).await;
        assert_error(&response, 404, "entity type constraint", Source::Any);
    }
    let response = app.get("/api/foo").await;
    assert_error_detail(
        &response,
        404,
        "entity type constraint",
        Source::Any,
        "Unknown entity type: foo.",
    );
}

#[tokio::test]
async fn an_unknown_url_is_not_found() {
    let app = jsonapi_tests::shared_scratch();
    for path in [
        "/api/products/1/relationships/category/extra",
        "/api/products/1/a/b/c",
        "/definitely/not/here",
    ] {
        let response = app.get(path).await;
        assert_error(&response, 404, "not found http exception", Source::Any);
    }
}

#[tokio::test]
async fn an_empty_to_one_related_resource_is_null_data() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "NOCAT-1").await;
    let response = app
        .get(&format!("/api/products/{}/category", id_of(&product)))
        .await;
    response.assert_status(200);
    assert_eq!(response.data(), &Value::Null);
}

#[tokio::test]
async fn a_to_one_related_resource_is_the_full_resource() {
    let app = jsonapi_tests::shared_scratch();
    let category = create_category(&app, "Garden", None).await;
    let product = app
        .create(
            "products",
            crate::fixtures::product_attributes("RAKE-1"),
            json!({ "category": to_one("categories", id_of(&category)) }),
        )
        .await;
    let response = app
        .get(&format!("/api/products/{}/category", id_of(&product)))
        .await;
    response.assert_status(200);
    assert_eq!(response.data()["type"], "categories");
    assert_eq!(response.data()["id"], id_of(&category));
    assert_eq!(attr(response.data(), "name"), "Garden");
}

#[tokio::test]
async fn a_to_many_related_collection_lists_the_inverse_side() {
    let app = jsonapi_tests::shared_scratch();
    let parent = create_category(&app, "Parent", None).await;
    let parent_id = id_of(&parent);
    let a = create_category(&app, "Child A", Some(parent_id)).await;
    let b = create_category(&app, "Child B", Some(parent_id)).await;
    let response = app
        .get(&format!("/api/categories/{parent_id}/children"))
        .await;
    response.assert_status(200);
    assert_eq!(
        response.ids(),
        vec![id_of(&a).to_owned(), id_of(&b).to_owned()]
    );
    let parent = app.fetch("categories", parent_id).await;
    assert_eq!(
        to_many_ids(&parent, "children"),
        vec![id_of(&a).to_owned(), id_of(&b).to_owned()]
    );
}

#[tokio::test]
async fn a_to_many_relationship_is_an_array_of_identifiers() {
    let app = jsonapi_tests::shared_scratch();
    let parent = create_category(&app, "Parent", None).await;
    let parent_id = id_of(&parent);
    let child = create_category(&app, "Child", Some(parent_id)).await;
    let response = app
        .get(&format!(
            "/api/categories/{parent_id}/relationships/children"
        ))
        .await;
    response.assert_status(200);
    assert_eq!(
        response.data(),
        &json!([{ "type": "categories", "id": id_of(&child) }])
    );
}

#[tokio::test]
async fn an_empty_to_many_relationship_is_an_empty_array() {
    let app = jsonapi_tests::shared_scratch();
    let category = create_category(&app, "Lonely", None).await;
    let response = app
        .get(&format!(
            "/api/categories/{}/relationships/children",
            id_of(&category)
        ))
        .await;
    response.assert_status(200);
    assert_eq!(response.data(), &json!([]));
}

#[tokio::test]
async fn a_to_one_relationship_is_an_identifier_or_null() {
    let app = jsonapi_tests::shared_scratch();
    let parent = create_category(&app, "Parent", None).await;
    let child = create_category(&app, "Child", Some(id_of(&parent))).await;
    let response = app
        .get(&format!(
            "/api/categories/{}/relationships/parent",
            id_of(&child)
        ))
        .await;
    response.assert_status(200);
    assert_eq!(
        response.data(),
        &json!({ "type": "categories", "id": id_of(&parent) })
    );
    let response = app
        .get(&format!(
            "/api/categories/{}/relationships/parent",
            id_of(&parent)
        ))
        .await;
    response.assert_status(200);
    assert_eq!(response.data(), &Value::Null);
}

#[tokio::test]
async fn related_and_relationship_routes_of_a_missing_resource_are_not_found() {
    let app = jsonapi_tests::shared_scratch();
    for path in [
        "/api/products/999/category",
        "/api/products/999/relationships/category",
    ] {
        let response = app.get(path).await;
        assert_error(&response, 404, "not found http exception", Source::Any);
    }
}

#[tokio::test]
async fn an_unknown_relationship_name_is_not_found() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "REL-1").await;
    let id = id_of(&product);
    for path in [
        format!("/api/products/{id}/nope"),
        format!("/api/products/{id}/relationships/nope"),
    ] {
        let response = app.get(&path).await;
        assert_error(&response, 404, "relationship constraint", Source::Any);
    }
}

#[tokio::test]
async fn every_link_the_api_hands_out_can_be_fetched() {
    let app = TestApp::spawn().await;
    let parent = create_category(&app, "Parent", None).await;
    let child = create_category(&app, "Child", Some(id_of(&parent))).await;
    for i in 0..3 {
        app.create(
            "products",
            crate::fixtures::product_attributes(&format!("LINK-{i}")),
            json!({ "category": to_one("categories", id_of(&child)) }),
        )
        .await;
    }
    let mut to_visit = vec![
        app.url("/api/products?page[size]=1"),
        app.url(&format!("/api/categories/{}", id_of(&child))),
    ];
    let mut visited = std::collections::BTreeSet::new();
    while let Some(url) = to_visit.pop() {
        if !visited.insert(url.clone()) || visited.len() > 60 {
            continue;
        }
        let response = app.get(&url).await;
        response.assert_status(200);
        to_visit.extend(link_urls(response.json()));
    }
    assert!(visited.len() > 10, "only {} links visited", visited.len());
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = TestApp::spawn().await;
    let product = create_product(&app, "HEAD-1").await;
    let path = format!("/api/products/{}", id_of(&product));
    for path in [path.as_str(), "/api/products", "/api/products/999"] {
        let get = app.get(path).await;
        let head = app.head(path).await;
        assert_eq!(head.status, get.status, "{}", head.describe());
        assert!(head.raw.is_empty(), "{}", head.describe());
        assert_eq!(head.header("content-type"), Some(MT), "{}", head.describe());
        if let Some(length) = head.header("content-length") {
            assert_eq!(length, get.raw.len().to_string(), "{}", head.describe());
        }
    }
}

#[tokio::test]
async fn head_reports_the_total_count_header_like_get() {
    let app = TestApp::spawn().await;
    create_product(&app, "HEAD-2").await;
    let head = app
        .head_with("/api/products", &[("X-Include", "totalCount")])
        .await;
    head.assert_status(200);
    assert_eq!(
        head.header("x-include-total-count"),
        Some("1"),
        "{}",
        head.describe()
    );
}

#[tokio::test]
async fn options_lists_the_allowed_methods_with_an_empty_body() {
    let app = jsonapi_tests::shared_scratch();
    let list = app.options("/api/products").await;
    list.assert_status(200);
    assert!(list.raw.is_empty(), "{}", list.describe());
    let allow = list.allow();
    assert_eq!(allow[0], "OPTIONS", "{}", list.describe());
    for method in ["GET", "POST"] {
        assert!(
            allow.iter().any(|m| m == method),
            "{method} missing: {allow:?}"
        );
    }
    assert!(!allow.iter().any(|m| m == "PUT"), "{allow:?}");

    let item = app.options("/api/products/1").await;
    item.assert_status(200);
    assert!(item.raw.is_empty(), "{}", item.describe());
    let allow = item.allow();
    assert_eq!(allow[0], "OPTIONS");
    for method in ["GET", "PATCH", "DELETE"] {
        assert!(
            allow.iter().any(|m| m == method),
            "{method} missing: {allow:?}"
        );
    }
    assert!(
        !allow.iter().any(|m| m == "POST" || m == "PUT"),
        "{allow:?}"
    );
}

#[tokio::test]
async fn options_on_relationship_routes_lists_their_methods() {
    let app = jsonapi_tests::shared_scratch();
    let related = app.options("/api/products/1/category").await;
    related.assert_status(200);
    let allow = related.allow();
    assert_eq!(allow[0], "OPTIONS");
    assert!(allow.iter().any(|m| m == "GET"), "{allow:?}");

    let to_one = app.options("/api/products/1/relationships/category").await;
    to_one.assert_status(200);
    let allow = to_one.allow();
    assert_eq!(allow[0], "OPTIONS");
    for method in ["GET", "PATCH"] {
        assert!(
            allow.iter().any(|m| m == method),
            "{method} missing: {allow:?}"
        );
    }
    assert!(
        !allow.iter().any(|m| m == "POST" || m == "DELETE"),
        "{allow:?}"
    );

    let to_many = app
        .options("/api/categories/1/relationships/children")
        .await;
    to_many.assert_status(200);
    let allow = to_many.allow();
    assert_eq!(allow[0], "OPTIONS");
    for method in ["GET", "PATCH", "POST", "DELETE"] {
        assert!(
            allow.iter().any(|m| m == method),
            "{method} missing: {allow:?}"
        );
    }
}

#[tokio::test]
async fn options_does_not_validate_the_id() {
    let app = jsonapi_tests::shared_scratch();
    let response = app.options("/api/products/not-a-number").await;
    response.assert_status(200);
    assert_eq!(response.allow()[0], "OPTIONS");
}

#[tokio::test]
async fn options_on_an_unknown_type_or_relationship_is_not_found() {
    let app = jsonapi_tests::shared_scratch();
    let response = app.options("/api/foo").await;
    assert_error(&response, 404, "entity type constraint", Source::Any);
    for path in ["/api/products/1/nope", "/api/products/1/relationships/nope"] {
        let response = app.options(path).await;
        assert_error(&response, 404, "relationship constraint", Source::Any);
    }
}

#[tokio::test]
async fn put_is_not_allowed_anywhere() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "PUT-1").await;
    let body = json!({ "data": { "type": "products", "id": id_of(&product), "attributes": { "name": "x" } } })
        .to_string();
    for path in [
        "/api/products".to_owned(),
        format!("/api/products/{}", id_of(&product)),
    ] {
        let response = app
            .request(
                Method::PUT,
                &path,
                &[("Accept", MT), ("Content-Type", MT)],
                Some(&body),
            )
            .await;
        assert_error(
            &response,
            405,
            "method not allowed http exception",
            Source::Any,
        );
        let allow = response.allow();
        assert_eq!(allow[0], "OPTIONS", "{}", response.describe());
        assert!(!allow.iter().any(|m| m == "PUT"), "{allow:?}");
    }
}

#[tokio::test]
async fn post_on_an_item_is_not_allowed() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "POST-1").await;
    let id = id_of(&product);
    let response = app
        .post(
            &format!("/api/products/{id}"),
            &json!({ "data": { "type": "products", "attributes": { "name": "x" } } }),
        )
        .await;
    assert_error(
        &response,
        405,
        "method not allowed http exception",
        Source::Any,
    );
    let allow = response.allow();
    assert_eq!(allow[0], "OPTIONS");
    assert!(allow.iter().any(|m| m == "GET"), "{allow:?}");
    assert!(!allow.iter().any(|m| m == "POST"), "{allow:?}");
}

#[tokio::test]
async fn writes_to_a_related_resource_route_are_not_allowed() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "SUB-1").await;
    let path = format!("/api/products/{}/category", id_of(&product));
    let body = json!({ "data": { "type": "categories", "attributes": { "name": "x" } } });
    let patch = app.patch(&path, &body).await;
    assert_error(
        &patch,
        405,
        "method not allowed http exception",
        Source::Any,
    );
    let delete = app.delete(&path).await;
    assert_error(
        &delete,
        405,
        "method not allowed http exception",
        Source::Any,
    );
    assert_eq!(delete.allow()[0], "OPTIONS");
}

#[tokio::test]
async fn an_unknown_query_parameter_on_an_item_is_rejected() {
    let app = jsonapi_tests::shared_scratch();
    let product = create_product(&app, "Q-1").await;
    let response = app
        .get(&format!("/api/products/{}?foo=1", id_of(&product)))
        .await;
    assert_error_detail(
        &response,
        400,
        "filter constraint",
        Source::Parameter("foo"),
        "The filter is not supported.",
    );
}
