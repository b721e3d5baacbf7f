//! Cursor paging: an empty `page[after]` starts it, `links.next` carries `page[after]=<cursor>`
//! and `links.prev` `page[before]=<cursor>`; walking either way visits every resource once and
//! in order; a tampered cursor or one from another query is a 400 naming the parameter
//! (docs/lists.md; JSON:API checklist G).

use std::cmp::Ordering;

use jsonapi_tests::values::{attr, to_one_id};
use jsonapi_tests::{ApiClient, Source, TestResponse, Value, assert_error};

use crate::query_support::{
    all_of, assert_ids, dec_attr, get_ok, ids_of_pages, ids_sorted_by, int_attr, link, num_id,
    query_param, str_attr, walk,
};
use crate::sorting::assert_in_order;

fn by_id(a: &Value, b: &Value) -> Ordering {
    num_id(a).cmp(&num_id(b))
}

/// The cursor a link carries in `parameter`, asserting it is there and not empty.
fn cursor(url: &str, parameter: &str) -> String {
    match query_param(url, parameter) {
        Some(c) if !c.is_empty() => c,
        other => panic!("{url}: expected a non-empty {parameter}, got {other:?}"),
    }
}

/// Checks the links of one cursor page: `next` carries `page[after]`, `prev` `page[before]`,
/// neither carries `page[number]`.
fn check_cursor_links(page: &TestResponse) {
    if let Some(next) = link(page, "next") {
        cursor(next, "page[after]");
        assert_eq!(query_param(next, "page[before]"), None, "{next}");
        assert_eq!(query_param(next, "page[number]"), None, "{next}");
    }
    if let Some(prev) = link(page, "prev") {
        cursor(prev, "page[before]");
        assert_eq!(query_param(prev, "page[after]"), None, "{prev}");
        assert_eq!(query_param(prev, "page[number]"), None, "{prev}");
    }
}

/// Walks `next` from `first` to the end, then `prev` from the last page back to the start.
/// Returns (the ids forwards, the ids the backward walk shows, put back in list order).
async fn walk_both_ways(api: &ApiClient, first: &str) -> (Vec<String>, Vec<String>) {
    let forward = walk(api, first, "next").await;
    for page in &forward {
        check_cursor_links(page);
    }
    for page in &forward[..forward.len() - 1] {
        assert!(
            !page.items().is_empty(),
            "{}\nan empty page before the last",
            page.describe()
        );
    }
    assert!(
        link(&forward[0], "prev").is_none(),
        "{}\nthe first page has a prev link",
        forward[0].describe()
    );
    let last = forward.last().expect("one page at least");
    let mut backward = walk(api, &last.url, "prev").await;
    for page in &backward {
        check_cursor_links(page);
    }
    backward.reverse();
    (ids_of_pages(&forward), ids_of_pages(&backward))
}

#[tokio::test]
async fn an_empty_page_after_starts_cursor_paging_at_the_beginning() {
    let app = jsonapi_tests::shared_seeded();
    let response = get_ok(&app, "/api/products?page[size]=7&page[after]=").await;
    let expected: Vec<String> = (1..=7).map(|i| i.to_string()).collect();
    assert_ids(&response, &expected, "the first cursor page");
    let next = link(&response, "next").expect("a next link");
    cursor(next, "page[after]");
    assert_eq!(query_param(next, "page[size]").as_deref(), Some("7"));
    assert_eq!(query_param(next, "page[number]"), None);
    assert!(link(&response, "prev").is_none(), "{}", response.describe());
    // The default page size applies to cursor pages too.
    let response = get_ok(&app, "/api/products?page[after]=").await;
    let expected: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
    assert_ids(&response, &expected, "page[after]= with the default size");
}

#[tokio::test]
async fn walking_next_to_the_end_and_prev_back_visits_every_resource_once_in_order() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let expected = ids_sorted_by(&products, |_| true, by_id);
    // 50 is not a multiple of 7 and is one of 10 and of 25.
    for size in [7, 10, 25, 50, 1000] {
        let (forward, backward) = walk_both_ways(
            &app,
            &format!("/api/products?page[size]={size}&page[after]="),
        )
        .await;
        assert_eq!(forward, expected, "forward walk, page[size]={size}");
        assert_eq!(backward, expected, "backward walk, page[size]={size}");
    }
}

#[tokio::test]
async fn a_cursor_walk_keeps_the_filters_and_the_sort() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let enabled = |p: &Value| str_attr(p, "status") == "enabled";
    let by_price_desc = |a: &Value, b: &Value| dec_attr(b, "price").cmp(&dec_attr(a, "price"));
    let expected = ids_sorted_by(&products, enabled, by_price_desc);
    let (forward, backward) = walk_both_ways(
        &app,
        "/api/products?filter[status]=enabled&sort=-price&page[size]=6&page[after]=",
    )
    .await;
    assert_eq!(forward, expected, "forward");
    assert_eq!(backward, expected, "backward");
    // Ties: quantities repeat; every product still appears once, in key order.
    let by_quantity = |a: &Value, b: &Value| int_attr(a, "quantity").cmp(&int_attr(b, "quantity"));
    let (forward, backward) = walk_both_ways(
        &app,
        "/api/products?sort=quantity&page[size]=4&page[after]=",
    )
    .await;
    assert_in_order(
        &forward,
        &products,
        |_| true,
        by_quantity,
        "forward by quantity",
    );
    assert_in_order(
        &backward,
        &products,
        |_| true,
        by_quantity,
        "backward by quantity",
    );
    // A filter the planner checks on the items it reads.
    let featured = |p: &Value| {
        attr(p, "tags")
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "featured"))
    };
    let (forward, backward) = walk_both_ways(
        &app,
        "/api/products?filter[tags][contains]=featured&filter[category][neq]=1&page[size]=3&page[after]=",
    )
    .await;
    let expected = ids_sorted_by(
        &products,
        |p| featured(p) && to_one_id(p, "category") != Some("1"),
        by_id,
    );
    assert_eq!(forward, expected, "forward, residual filter");
    assert_eq!(backward, expected, "backward, residual filter");
    // A composite index: the products of one category by price.
    let (forward, backward) = walk_both_ways(
        &app,
        "/api/products?filter[category]=3&sort=price&page[size]=3&page[after]=",
    )
    .await;
    let expected = ids_sorted_by(
        &products,
        |p| to_one_id(p, "category") == Some("3"),
        |a, b| dec_attr(a, "price").cmp(&dec_attr(b, "price")),
    );
    assert_eq!(forward, expected, "forward, composite index");
    assert_eq!(backward, expected, "backward, composite index");
}

#[tokio::test]
async fn a_related_collection_pages_by_cursor_too() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let expected = ids_sorted_by(&products, |p| to_one_id(p, "category") == Some("1"), by_id);
    let (forward, backward) =
        walk_both_ways(&app, "/api/categories/1/products?page[size]=3&page[after]=").await;
    assert_eq!(forward, expected);
    assert_eq!(backward, expected);
}

#[tokio::test]
async fn cursor_links_keep_the_other_query_parameters() {
    let app = jsonapi_tests::shared_seeded();
    let first = get_ok(
        &app,
        "/api/products?filter[status]=enabled&sort=-price&page[size]=6&fields[products]=sku,price,category&include=category&meta=title&page[after]=",
    )
    .await;
    let next_url = link(&first, "next").expect("a next link").to_owned();
    let second = get_ok(&app, &next_url).await;
    let prev_url = link(&second, "prev").expect("a prev link").to_owned();
    for url in [&next_url, &prev_url] {
        for (name, value) in [
            ("filter[status]", "enabled"),
            ("sort", "-price"),
            ("page[size]", "6"),
            ("fields[products]", "sku,price,category"),
            ("include", "category"),
            ("meta", "title"),
        ] {
            assert_eq!(
                query_param(url, name).as_deref(),
                Some(value),
                "{name} in {url}"
            );
        }
    }
    // The page the prev link leads to is the first page again.
    let back = get_ok(&app, &prev_url).await;
    assert_eq!(back.ids(), first.ids());
}

/// `text` with the character at `index` replaced by another URL-safe base64 character.
fn tamper(text: &str, index: usize) -> String {
    text.char_indices()
        .map(|(i, c)| {
            if i == index {
                if c == 'A' { 'B' } else { 'A' }
            } else {
                c
            }
        })
        .collect()
}

#[tokio::test]
async fn a_tampered_cursor_is_rejected_naming_its_parameter() {
    let app = jsonapi_tests::shared_seeded();
    let first = get_ok(&app, "/api/products?page[size]=5&page[after]=").await;
    let after = cursor(link(&first, "next").expect("a next link"), "page[after]");
    let second = get_ok(&app, link(&first, "next").expect("a next link")).await;
    let before = cursor(link(&second, "prev").expect("a prev link"), "page[before]");
    for (parameter, good) in [("page[after]", &after), ("page[before]", &before)] {
        for index in [1, good.len() / 3, good.len() / 2, good.len() - 3] {
            let bad = tamper(good, index);
            assert_ne!(&bad, good);
            let response = app
                .get(&format!("/api/products?page[size]=5&{parameter}={bad}"))
                .await;
            assert_error(
                &response,
                400,
                "filter constraint",
                Source::Parameter(parameter),
            );
        }
        for bad in ["x", "not-a-cursor", "%2F%2F%2F", "eyJ9.AAAA"] {
            let response = app
                .get(&format!("/api/products?page[size]=5&{parameter}={bad}"))
                .await;
            assert_error(
                &response,
                400,
                "filter constraint",
                Source::Parameter(parameter),
            );
        }
    }
    // The untouched cursors still work.
    get_ok(
        &app,
        &format!("/api/products?page[size]=5&page[after]={after}"),
    )
    .await;
    get_ok(
        &app,
        &format!("/api/products?page[size]=5&page[before]={before}"),
    )
    .await;
}

#[tokio::test]
async fn a_cursor_from_another_query_is_rejected() {
    let app = jsonapi_tests::shared_seeded();
    let from = |path: &'static str| {
        let app = app.clone();
        async move {
            let page = get_ok(&app, path).await;
            cursor(link(&page, "next").expect("a next link"), "page[after]")
        }
    };
    let category_one = from("/api/products?filter[category]=1&page[size]=2&page[after]=").await;
    let by_price = from("/api/products?sort=price&page[size]=2&page[after]=").await;
    let plain = from("/api/products?page[size]=2&page[after]=").await;
    for (path, parameter) in [
        (
            format!("/api/products?filter[category]=2&page[size]=2&page[after]={category_one}"),
            "page[after]",
        ),
        (
            format!("/api/products?page[size]=2&page[after]={category_one}"),
            "page[after]",
        ),
        (
            format!("/api/products?sort=-price&page[size]=2&page[after]={by_price}"),
            "page[after]",
        ),
        (
            format!("/api/products?sort=quantity&page[size]=2&page[after]={by_price}"),
            "page[after]",
        ),
        (
            format!("/api/products?filter[status]=enabled&page[size]=2&page[after]={plain}"),
            "page[after]",
        ),
        (
            format!("/api/categories?page[size]=2&page[after]={plain}"),
            "page[after]",
        ),
        (
            format!("/api/categories/1/products?page[size]=2&page[after]={plain}"),
            "page[after]",
        ),
        (
            format!("/api/products?filter[category]=2&page[size]=2&page[before]={category_one}"),
            "page[before]",
        ),
    ] {
        let response = app.get(&path).await;
        assert_error(
            &response,
            400,
            "filter constraint",
            Source::Parameter(parameter),
        );
    }
    // The same query takes it.
    get_ok(
        &app,
        &format!("/api/products?filter[category]=1&page[size]=2&page[after]={category_one}"),
    )
    .await;
}
