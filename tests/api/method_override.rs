//! `X-HTTP-Method-Override: GET` on `POST /api/{type}`: a list read whose filters, sort and
//! paging may come in the body, nested or flat; the query string wins (Oro §1.6; acceptance
//! row 34). Expected results are computed from the seed data read with plain GETs.

use jsonapi_tests::values::to_one_id;
use jsonapi_tests::{ApiClient, Source, TestResponse, Value, assert_error, json};

use crate::query_support::{
    all_of, assert_ids, dec_attr, dec_units, ids_of_pages, ids_sorted_by, included_keys, link,
    num_id, str_attr, walk,
};

async fn post_get(api: &ApiClient, path: &str, body: &Value, method: &str) -> TestResponse {
    api.post_with(path, body, &[("X-HTTP-Method-Override", method)])
        .await
}

fn by_id(a: &Value, b: &Value) -> std::cmp::Ordering {
    num_id(a).cmp(&num_id(b))
}

#[tokio::test]
async fn nested_and_flat_body_filters_select_like_query_filters() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let expected = ids_sorted_by(&products, |p| dec_attr(p, "price") > dec_units("10"), by_id);
    for body in [
        json!({ "filter": { "price": { "gt": "10" } }, "page": { "size": "-1" } }),
        json!({ "filter[price][gt]": "10", "page[size]": "-1" }),
    ] {
        let response = post_get(&app, "/api/products", &body, "GET").await;
        response.assert_status(200);
        assert_ids(&response, &expected, &body.to_string());
        assert!(response.header("location").is_none());
    }
    // The implied eq of a nested value and a dotted path.
    let body = json!({ "filter": { "category": "2" }, "page": { "size": "-1" } });
    let response = post_get(&app, "/api/products", &body, "GET").await;
    assert_ids(
        &response,
        &ids_sorted_by(&products, |p| to_one_id(p, "category") == Some("2"), by_id),
        "filter category",
    );
    // Nothing was created.
    assert_eq!(app.list_all("products").await.len(), products.len());
}

#[tokio::test]
async fn the_override_value_is_case_insensitive() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let expected = ids_sorted_by(&products, |p| str_attr(p, "status") == "disabled", by_id);
    for method in ["get", "Get", "GET"] {
        let body = json!({ "filter": { "status": "disabled" } });
        let response = post_get(&app, "/api/products", &body, method).await;
        response.assert_status(200);
        assert_ids(&response, &expected, method);
    }
}

#[tokio::test]
async fn the_query_string_wins_over_the_body() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let body = json!({ "filter": { "price": { "gt": "10" } }, "page": { "size": "-1" } });
    let response = post_get(&app, "/api/products?filter[price][gt]=50", &body, "GET").await;
    response.assert_status(200);
    assert_ids(
        &response,
        &ids_sorted_by(&products, |p| dec_attr(p, "price") > dec_units("50"), by_id),
        "query filter[price][gt]=50 over body 10",
    );
    // Different parameters from both places combine.
    let response = post_get(
        &app,
        "/api/products?sort=-price",
        &json!({ "filter": { "category": "3" }, "page": { "size": "-1" } }),
        "GET",
    )
    .await;
    assert_ids(
        &response,
        &ids_sorted_by(
            &products,
            |p| to_one_id(p, "category") == Some("3"),
            |a, b| dec_attr(b, "price").cmp(&dec_attr(a, "price")),
        ),
        "query sort with a body filter",
    );
}

#[tokio::test]
async fn sort_paging_include_and_fields_may_come_in_the_body() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let by_price_desc = ids_sorted_by(
        &products,
        |_| true,
        |a, b| dec_attr(b, "price").cmp(&dec_attr(a, "price")),
    );
    let body = json!({
        "sort": "-price",
        "page": { "size": "4", "number": "2" },
        "include": "category",
        "fields": { "products": "sku,category", "categories": "name" },
    });
    let response = post_get(&app, "/api/products", &body, "GET").await;
    response.assert_status(200);
    assert_ids(&response, &by_price_desc[4..8], "body sort and page");
    let expected: std::collections::BTreeSet<(String, String)> = response
        .items()
        .iter()
        .filter_map(|p| to_one_id(p, "category"))
        .map(|c| ("categories".to_owned(), c.to_owned()))
        .collect();
    assert_eq!(included_keys(&response), expected);
    for product in response.items() {
        assert_eq!(
            product["attributes"].as_object().map(|a| a.len()),
            Some(1),
            "{product}"
        );
    }
    // The body's parameters carry over into the pagination links: following them with plain
    // GETs reads the rest of the same query.
    let body =
        json!({ "filter": { "status": "enabled" }, "sort": "-price", "page": { "size": "7" } });
    let first = post_get(&app, "/api/products", &body, "GET").await;
    first.assert_status(200);
    let next = link(&first, "next").expect("a next link").to_owned();
    let rest = walk(&app, &next, "next").await;
    let mut seen = first.ids();
    seen.extend(ids_of_pages(&rest));
    assert_eq!(
        seen,
        ids_sorted_by(
            &products,
            |p| str_attr(p, "status") == "enabled",
            |a, b| { dec_attr(b, "price").cmp(&dec_attr(a, "price")) }
        )
    );
}

#[tokio::test]
async fn the_total_count_header_works_with_the_override() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let response = app
        .post_with(
            "/api/products",
            &json!({ "filter": { "price": { "lt": "40" } }, "page": { "size": "2" } }),
            &[
                ("X-HTTP-Method-Override", "GET"),
                ("X-Include", "totalCount"),
            ],
        )
        .await;
    response.assert_status(200);
    let expected = products
        .iter()
        .filter(|p| dec_attr(p, "price") < dec_units("40"))
        .count()
        .to_string();
    assert_eq!(
        response.header("x-include-total-count"),
        Some(expected.as_str())
    );
}

#[tokio::test]
async fn a_bad_body_parameter_is_rejected_naming_it() {
    let app = jsonapi_tests::shared_seeded();
    for (body, parameter) in [
        (json!({ "filter": { "nope": "1" } }), "filter[nope]"),
        (json!({ "filter[price][gt]": "abc" }), "filter[price][gt]"),
        (
            json!({ "filter": { "sku": { "contains": "x" } } }),
            "filter[sku][contains]",
        ),
        (json!({ "page": { "size": "x" } }), "page[size]"),
        (json!({ "foo": "1" }), "foo"),
    ] {
        let response = post_get(&app, "/api/products", &body, "GET").await;
        assert_error(
            &response,
            400,
            "filter constraint",
            Source::Parameter(parameter),
        );
    }
    let response = post_get(&app, "/api/products", &json!({ "sort": "nope" }), "GET").await;
    assert_error(&response, 400, "sort constraint", Source::Parameter("sort"));
}

/// The parameters may all be in the URL: the `POST` then has no body, and needs no
/// `Content-Type`.
#[tokio::test]
async fn a_post_without_a_body_reads_the_list_its_url_names() {
    let app = jsonapi_tests::shared_seeded();
    let response = app
        .request(
            jsonapi_tests::Method::POST,
            "/api/products?page[size]=1",
            &[
                ("Accept", jsonapi_tests::MT),
                ("X-HTTP-Method-Override", "GET"),
            ],
            None,
        )
        .await;
    response.assert_status(200);
    assert_eq!(response.items().len(), 1);
}

/// Only `GET` is tunnelled: another method named there is refused rather than run as the
/// `POST` (a tunnelled `DELETE` would otherwise create), and nothing is written.
#[tokio::test]
async fn an_override_to_another_method_is_refused() {
    let app = jsonapi_tests::shared_scratch();
    let before = app.list_all("products").await.len();
    let doc = json!({"data": {"type": "products", "attributes": {
        "sku": "OVR-1", "name": "Override", "price": "1.00"}}});
    for method in ["DELETE", "PATCH", "FOO"] {
        let response = post_get(&app, "/api/products", &doc, method).await;
        assert_error(
            &response,
            400,
            "bad request http exception",
            Source::Header("X-HTTP-Method-Override"),
        );
    }
    assert_eq!(app.list_all("products").await.len(), before);
    // POST itself is no override.
    post_get(&app, "/api/products", &doc, "POST")
        .await
        .assert_status(201);
}
