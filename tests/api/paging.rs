//! Paging with `page[number]`/`page[size]`, unknown query parameters, `X-Include: totalCount`
//! (Oro §6.3, §2.3; acceptance rows 4, 26, 29, 57, 60, 61; JSON:API checklist G, H).
//!
//! The seed data holds products 1..=50.

use jsonapi_tests::{ApiClient, Source, TestApp, assert_error, assert_error_detail};

fn ids(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

#[tokio::test]
async fn the_default_page_is_ten_resources_in_id_order() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products").await;
    response.assert_status(200);
    assert_eq!(response.ids(), ids(1..=10));
}

#[tokio::test]
async fn page_number_selects_the_next_pages_of_the_default_size() {
    let app = jsonapi_tests::shared_seeded();
    let second = app.get("/api/products?page[number]=2").await;
    second.assert_status(200);
    assert_eq!(second.ids(), ids(11..=20));
    let fifth = app.get("/api/products?page[number]=5").await;
    assert_eq!(fifth.ids(), ids(41..=50));
}

#[tokio::test]
async fn page_size_and_number_combine() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?page[size]=5&page[number]=3").await;
    response.assert_status(200);
    assert_eq!(response.ids(), ids(11..=15));
    let response = app.get("/api/products?page[size]=7&page[number]=8").await;
    assert_eq!(response.ids(), ids(50..=50));
}

#[tokio::test]
async fn a_page_past_the_end_is_empty() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?page[number]=6").await;
    response.assert_status(200);
    assert!(response.items().is_empty(), "{}", response.describe());
}

#[tokio::test]
async fn page_size_minus_one_returns_every_resource() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?page[size]=-1").await;
    response.assert_status(200);
    assert_eq!(response.ids(), ids(1..=50));
    // page[number] is ignored when paging is off.
    let response = app.get("/api/products?page[size]=-1&page[number]=3").await;
    assert_eq!(response.ids(), ids(1..=50));
}

#[tokio::test]
async fn page_size_zero_returns_empty_data() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?page[size]=0").await;
    response.assert_status(200);
    assert!(response.items().is_empty(), "{}", response.describe());
}

#[tokio::test]
async fn page_size_up_to_max_results_is_accepted() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?page[size]=1000").await;
    response.assert_status(200);
    assert_eq!(response.ids(), ids(1..=50));
}

#[tokio::test]
async fn following_next_links_visits_every_resource_exactly_once() {
    let app = jsonapi_tests::shared_seeded();
    let mut url = app.url("/api/products?page[size]=7");
    let mut seen = Vec::new();
    for _ in 0..20 {
        let response = app.get(&url).await;
        response.assert_status(200);
        seen.extend(response.ids());
        match response.json()["links"]
            .get("next")
            .and_then(|n| n.as_str())
        {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ids(1..=50));
}

#[tokio::test]
async fn invalid_page_sizes_are_rejected_with_the_parameter_named() {
    let app = jsonapi_tests::shared_seeded();
    for value in ["abc", "-2", "1.5", "", "1001"] {
        let response = app.get(&format!("/api/products?page[size]={value}")).await;
        assert_error(
            &response,
            400,
            "filter constraint",
            Source::Parameter("page[size]"),
        );
    }
}

#[tokio::test]
async fn invalid_page_numbers_are_rejected_with_the_parameter_named() {
    let app = jsonapi_tests::shared_seeded();
    for value in ["0", "-1", "x", "1.5", ""] {
        let response = app
            .get(&format!("/api/products?page[number]={value}"))
            .await;
        assert_error(
            &response,
            400,
            "filter constraint",
            Source::Parameter("page[number]"),
        );
    }
}

#[tokio::test]
async fn an_unknown_query_parameter_is_rejected_as_an_unsupported_filter() {
    let app = jsonapi_tests::shared_seeded();
    for name in ["foo", "camelCase", "page[foo]", "filter[nope]"] {
        let response = app.get(&format!("/api/products?{name}=1")).await;
        assert_error_detail(
            &response,
            400,
            "filter constraint",
            Source::Parameter(name),
            "The filter is not supported.",
        );
    }
}

#[tokio::test]
async fn unknown_sort_include_and_fields_values_are_rejected_with_the_parameter_named() {
    let app = jsonapi_tests::shared_seeded();
    for (name, value) in [
        ("sort", "nope"),
        ("include", "nope"),
        ("fields[products]", "nope"),
        ("fields[nope]", "name"),
    ] {
        let response = app.get(&format!("/api/products?{name}={value}")).await;
        response.assert_status(400);
        let named = response.errors().iter().any(|e| {
            e["status"] == "400"
                && e["source"]["parameter"] == name
                && e["title"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(" constraint"))
        });
        assert!(
            named,
            "{}\nexpected a 400 constraint error for parameter {name}",
            response.describe()
        );
    }
}

#[tokio::test]
async fn percent_encoded_brackets_mean_the_same_parameter() {
    let app = jsonapi_tests::shared_seeded();
    let plain = app.get("/api/products?page[size]=3&page[number]=2").await;
    let encoded = app
        .get("/api/products?page%5Bsize%5D=3&page%5Bnumber%5D=2")
        .await;
    encoded.assert_status(200);
    assert_eq!(plain.ids(), ids(4..=6));
    assert_eq!(encoded.ids(), plain.ids());
}

#[tokio::test]
async fn total_count_is_reported_only_when_asked_for() {
    let app = jsonapi_tests::shared_seeded();
    let plain = app.get("/api/products?page[size]=5").await;
    assert_eq!(plain.header("x-include-total-count"), None);
    let counted = app
        .get_with("/api/products?page[size]=5", &[("X-Include", "totalCount")])
        .await;
    counted.assert_status(200);
    assert_eq!(counted.items().len(), 5);
    assert_eq!(counted.header("x-include-total-count"), Some("50"));
}

#[tokio::test]
async fn x_include_keys_are_separated_by_semicolons_and_trimmed() {
    let app = jsonapi_tests::shared_seeded();
    let response = app
        .get_with(
            "/api/products",
            &[("X-Include", " noHateoas ; totalCount ")],
        )
        .await;
    response.assert_status(200);
    assert_eq!(response.header("x-include-total-count"), Some("50"));
    assert!(
        jsonapi_tests::values::links_members(response.json()).is_empty(),
        "{}",
        response.describe()
    );
}

#[tokio::test]
async fn total_count_counts_an_empty_collection_as_zero() {
    let app = TestApp::spawn().await;
    let response = app
        .get_with("/api/orders", &[("X-Include", "totalCount")])
        .await;
    response.assert_status(200);
    assert_eq!(response.header("x-include-total-count"), Some("0"));
}

async fn category_with_products(app: &ApiClient, count: usize) -> String {
    let category = crate::fixtures::create_category(app, "Full", None).await;
    let id = jsonapi_tests::values::id_of(&category).to_owned();
    for i in 0..count {
        app.create(
            "products",
            crate::fixtures::product_attributes(&format!("IN-{i:02}")),
            jsonapi_tests::json!({ "category": jsonapi_tests::to_one("categories", &id) }),
        )
        .await;
    }
    id
}

#[tokio::test]
async fn a_related_collection_pages_like_a_list() {
    let app = TestApp::spawn().await;
    let category = category_with_products(&app, 12).await;
    let first = app
        .get(&format!("/api/categories/{category}/products"))
        .await;
    first.assert_status(200);
    assert_eq!(first.ids(), ids(1..=10));
    let second = app
        .get(&format!(
            "/api/categories/{category}/products?page[size]=5&page[number]=3"
        ))
        .await;
    second.assert_status(200);
    assert_eq!(second.ids(), ids(11..=12));
    let bad = app
        .get(&format!("/api/categories/{category}/products?page[size]=x"))
        .await;
    assert_error(
        &bad,
        400,
        "filter constraint",
        Source::Parameter("page[size]"),
    );
}

#[tokio::test]
async fn total_count_is_reported_for_to_many_related_collections_and_relationships() {
    let app = TestApp::spawn().await;
    let category = category_with_products(&app, 12).await;
    for path in [
        format!("/api/categories/{category}/products?page[size]=5"),
        format!("/api/categories/{category}/relationships/products?page[size]=5"),
    ] {
        let response = app.get_with(&path, &[("X-Include", "totalCount")]).await;
        response.assert_status(200);
        assert_eq!(
            response.header("x-include-total-count"),
            Some("12"),
            "{}",
            response.describe()
        );
    }
}

#[tokio::test]
async fn an_unknown_query_parameter_on_a_related_route_is_rejected() {
    let app = jsonapi_tests::shared_scratch();
    let category = category_with_products(&app, 1).await;
    for path in [
        format!("/api/categories/{category}/products?foo=1"),
        format!("/api/categories/{category}/relationships/products?foo=1"),
        format!("/api/categories/{category}/parent?foo=1"),
    ] {
        let response = app.get(&path).await;
        assert_error(
            &response,
            400,
            "filter constraint",
            Source::Parameter("foo"),
        );
    }
}
