//! Sorting (`sort=a,-b`), the default order, `sort constraint` errors, and the order staying
//! stable across pages, with and without filters (Oro §6.4, §6.3; acceptance rows 4, 60–62;
//! JSON:API checklist F, G4).
//!
//! Expected orders are computed here from the seed data read with one plain `GET`. Where the
//! sort keys tie, only the keys' order is checked (the documents leave ties to the server), plus
//! that every expected resource appears exactly once.

use std::cmp::Ordering;

use jsonapi_tests::values::{id_of, to_one_id};
use jsonapi_tests::{ApiClient, Source, Value, assert_error, assert_error_detail};

use crate::query_support::{
    all_of, assert_ids, dec_attr, dec_units, enc, get_ok, ids_of_pages, ids_sorted_by, int_attr,
    link, num_id, query_param, str_attr, walk,
};

/// Asserts that `actual` holds exactly the resources of `items` passing `keep`, each once, in
/// an order `cmp` agrees with (ties in any order).
pub(crate) fn assert_in_order(
    actual: &[String],
    items: &[Value],
    keep: impl Fn(&Value) -> bool,
    cmp: impl Fn(&Value, &Value) -> Ordering,
    what: &str,
) {
    let expected = ids_sorted_by(items, &keep, &cmp);
    let mut sorted_actual = actual.to_vec();
    sorted_actual.sort();
    let mut sorted_expected = expected.clone();
    sorted_expected.sort();
    assert_eq!(
        sorted_actual, sorted_expected,
        "{what}: not every expected resource exactly once\nactual:   {actual:?}\nexpected: {expected:?}"
    );
    let find = |id: &str| {
        items
            .iter()
            .find(|r| id_of(r) == id)
            .expect("a known resource")
    };
    for (position, (a, e)) in actual.iter().zip(&expected).enumerate() {
        assert_eq!(
            cmp(find(a), find(e)),
            Ordering::Equal,
            "{what}: position {position} holds {a}, expected {e} (or one that ties with it)\nactual:   {actual:?}\nexpected: {expected:?}"
        );
    }
}

fn by_price(a: &Value, b: &Value) -> Ordering {
    dec_attr(a, "price").cmp(&dec_attr(b, "price"))
}

fn by_quantity(a: &Value, b: &Value) -> Ordering {
    int_attr(a, "quantity").cmp(&int_attr(b, "quantity"))
}

fn by_name(a: &Value, b: &Value) -> Ordering {
    str_attr(a, "name").cmp(str_attr(b, "name"))
}

fn by_id(a: &Value, b: &Value) -> Ordering {
    num_id(a).cmp(&num_id(b))
}

async fn sorted_ids(api: &ApiClient, path: &str) -> Vec<String> {
    get_ok(api, path).await.ids()
}

#[tokio::test]
async fn a_sort_key_orders_ascending_and_a_minus_descending() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let all = |_: &Value| true;
    type Cmp = fn(&Value, &Value) -> Ordering;
    let cases: [(&str, Cmp); 8] = [
        ("price", by_price),
        ("-price", |a, b| by_price(b, a)),
        ("name", by_name),
        ("-name", |a, b| by_name(b, a)),
        ("quantity", by_quantity),
        ("-quantity", |a, b| by_quantity(b, a)),
        ("id", by_id),
        ("-id", |a, b| by_id(b, a)),
    ];
    for (sort, cmp) in cases {
        let actual = sorted_ids(&app, &format!("/api/products?sort={sort}&page[size]=-1")).await;
        assert_in_order(&actual, &products, all, cmp, sort);
    }
    // Unique keys: the whole order is determined.
    let by_price_desc = ids_sorted_by(&products, all, |a, b| by_price(b, a));
    let response = get_ok(&app, "/api/products?sort=-price&page[size]=-1").await;
    assert_ids(&response, &by_price_desc, "sort=-price");
}

#[tokio::test]
async fn several_sort_keys_order_by_the_first_then_the_next() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let all = |_: &Value| true;
    // Quantities repeat in the seed; prices and names do not, so these orders are total.
    let expected = ids_sorted_by(&products, all, |a, b| {
        by_quantity(a, b).then_with(|| by_price(b, a))
    });
    let response = get_ok(&app, "/api/products?sort=quantity,-price&page[size]=-1").await;
    assert_ids(&response, &expected, "sort=quantity,-price");
    let expected = ids_sorted_by(&products, all, |a, b| {
        by_quantity(b, a).then_with(|| by_name(a, b))
    });
    let response = get_ok(&app, "/api/products?sort=-quantity,name&page[size]=-1").await;
    assert_ids(&response, &expected, "sort=-quantity,name");
    let expected = ids_sorted_by(&products, all, |a, b| {
        by_quantity(a, b).then_with(|| by_id(b, a))
    });
    let response = get_ok(&app, "/api/products?sort=quantity,-id&page[size]=-1").await;
    assert_ids(&response, &expected, "sort=quantity,-id");
}

#[tokio::test]
async fn the_default_order_is_by_id_ascending_whatever_the_filters() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let pivot = str_attr(&products[30], "price").to_owned();
    for (query, keep) in [
        (
            "filter[category]=2".to_owned(),
            Box::new(|p: &Value| to_one_id(p, "category") == Some("2"))
                as Box<dyn Fn(&Value) -> bool>,
        ),
        (
            format!("filter[price][gt]={}", enc(&pivot)),
            Box::new(|p: &Value| dec_attr(p, "price") > dec_units(&pivot)),
        ),
        (
            "filter[name][starts_with]=C".to_owned(),
            Box::new(|p: &Value| str_attr(p, "name").starts_with('C')),
        ),
        (
            "filter[quantity][lte]=20&filter[status]=enabled".to_owned(),
            Box::new(|p: &Value| {
                int_attr(p, "quantity") <= 20 && str_attr(p, "status") == "enabled"
            }),
        ),
    ] {
        let expected = ids_sorted_by(&products, &keep, by_id);
        let response = get_ok(&app, &format!("/api/products?{query}&page[size]=-1")).await;
        assert_ids(&response, &expected, &query);
    }
}

#[tokio::test]
async fn sorting_applies_with_filters_and_on_related_collections() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let in_two = |p: &Value| to_one_id(p, "category") == Some("2");
    // A composite index (category, price) and (category, name) exist for these.
    for (path, cmp) in [
        (
            "/api/products?filter[category]=2&sort=price&page[size]=-1",
            by_price as fn(&Value, &Value) -> Ordering,
        ),
        (
            "/api/products?filter[category]=2&sort=-price&page[size]=-1",
            |a, b| by_price(b, a),
        ),
        (
            "/api/products?filter[category]=2&sort=-name&page[size]=-1",
            |a, b| by_name(b, a),
        ),
        (
            "/api/categories/2/products?sort=-price&page[size]=-1",
            |a, b| by_price(b, a),
        ),
        (
            "/api/categories/2/products?sort=name&page[size]=-1",
            by_name,
        ),
    ] {
        let response = get_ok(&app, path).await;
        assert_ids(&response, &ids_sorted_by(&products, in_two, cmp), path);
    }
    let cheap = |p: &Value| dec_attr(p, "price") < dec_units("50");
    let response = get_ok(
        &app,
        "/api/products?filter[price][lt]=50&sort=-price&page[size]=-1",
    )
    .await;
    assert_ids(
        &response,
        &ids_sorted_by(&products, cheap, |a, b| by_price(b, a)),
        "filter[price][lt]=50&sort=-price",
    );
}

#[tokio::test]
async fn other_types_sort_by_their_declared_sorters() {
    let app = jsonapi_tests::shared_seeded();
    let categories = all_of(&app, "categories").await;
    let all = |_: &Value| true;
    let response = get_ok(&app, "/api/categories?sort=name").await;
    assert_ids(
        &response,
        &ids_sorted_by(&categories, all, by_name),
        "categories?sort=name",
    );
    let response = get_ok(&app, "/api/categories?sort=-name").await;
    assert_ids(
        &response,
        &ids_sorted_by(&categories, all, |a, b| by_name(b, a)),
        "categories?sort=-name",
    );
    let customers = all_of(&app, "customers").await;
    let response = get_ok(&app, "/api/customers?sort=-name").await;
    assert_ids(
        &response,
        &ids_sorted_by(&customers, all, |a, b| by_name(b, a)),
        "customers?sort=-name",
    );
    let orders = all_of(&app, "orders").await;
    let by_total = |a: &Value, b: &Value| dec_attr(a, "total").cmp(&dec_attr(b, "total"));
    let actual = sorted_ids(&app, "/api/orders?sort=-total&page[size]=-1").await;
    assert_in_order(
        &actual,
        &orders,
        all,
        |a, b| by_total(b, a),
        "orders?sort=-total",
    );
    let response = get_ok(&app, "/api/orders?sort=-id").await;
    assert_ids(
        &response,
        &ids_sorted_by(&orders, all, |a, b| by_id(b, a)),
        "orders?sort=-id",
    );
}

#[tokio::test]
async fn an_undeclared_sort_field_is_a_sort_constraint_naming_the_field() {
    let app = jsonapi_tests::shared_seeded();
    for (path, field) in [
        ("/api/products?sort=description", "description"),
        ("/api/products?sort=-sku", "sku"),
        ("/api/products?sort=price,nope", "nope"),
        ("/api/categories?sort=createdAt", "createdAt"),
        ("/api/categories/1/products?sort=status", "status"),
    ] {
        let response = app.get(path).await;
        assert_error_detail(
            &response,
            400,
            "sort constraint",
            Source::Parameter("sort"),
            &format!("Sorting by \"{field}\" field is not supported."),
        );
    }
    // No type of the example domain declares a relationship sorter.
    for path in ["/api/products?sort=category", "/api/orders?sort=-customer"] {
        let response = app.get(path).await;
        assert_error(&response, 400, "sort constraint", Source::Parameter("sort"));
    }
}

#[tokio::test]
async fn page_number_and_size_slice_the_filtered_and_sorted_list() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let enabled = |p: &Value| str_attr(p, "status") == "enabled";
    let expected = ids_sorted_by(&products, enabled, |a, b| by_price(b, a));
    for (size, number) in [(5_usize, 1_usize), (5, 3), (7, 2), (4, 12), (10, 5)] {
        let path = format!(
            "/api/products?filter[status]=enabled&sort=-price&page[size]={size}&page[number]={number}"
        );
        let response = get_ok(&app, &path).await;
        let from = (size * (number - 1)).min(expected.len());
        let to = (size * number).min(expected.len());
        assert_ids(&response, &expected[from..to], &path);
    }
    // Links keep the filter, the sort and the page size.
    let response = get_ok(
        &app,
        "/api/products?filter[status]=enabled&sort=-price&page[size]=5&page[number]=3",
    )
    .await;
    for rel in ["next", "prev", "first"] {
        let url = link(&response, rel).unwrap_or_else(|| panic!("a {rel} link"));
        assert_eq!(
            query_param(url, "filter[status]").as_deref(),
            Some("enabled"),
            "{url}"
        );
        assert_eq!(query_param(url, "sort").as_deref(), Some("-price"), "{url}");
        assert_eq!(
            query_param(url, "page[size]").as_deref(),
            Some("5"),
            "{url}"
        );
    }
}

/// Follows `next` from the first page; the pages together hold every expected resource once,
/// in an order `cmp` agrees with.
async fn assert_walk(
    api: &ApiClient,
    items: &[Value],
    path: &str,
    keep: impl Fn(&Value) -> bool,
    cmp: impl Fn(&Value, &Value) -> Ordering,
) {
    let pages = walk(api, path, "next").await;
    let seen = ids_of_pages(&pages);
    assert_in_order(&seen, items, keep, cmp, path);
    for page in &pages[..pages.len() - 1] {
        assert!(
            !page.items().is_empty(),
            "{}\nan empty page before the last",
            page.describe()
        );
    }
}

#[tokio::test]
async fn following_next_visits_every_match_once_in_a_stable_order() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let all = |_: &Value| true;
    // Ties (quantities repeat) must not make a resource appear twice or never.
    assert_walk(
        &app,
        &products,
        "/api/products?sort=quantity&page[size]=7",
        all,
        by_quantity,
    )
    .await;
    assert_walk(
        &app,
        &products,
        "/api/products?sort=-quantity&page[size]=3",
        all,
        |a, b| by_quantity(b, a),
    )
    .await;
    assert_walk(
        &app,
        &products,
        "/api/products?filter[status]=enabled&sort=-quantity&page[size]=4",
        |p| str_attr(p, "status") == "enabled",
        |a, b| by_quantity(b, a),
    )
    .await;
    assert_walk(
        &app,
        &products,
        "/api/products?filter[category]=2&sort=price&page[size]=3",
        |p| to_one_id(p, "category") == Some("2"),
        by_price,
    )
    .await;
    assert_walk(
        &app,
        &products,
        "/api/products?filter[category]=3&sort=-name&page[size]=4",
        |p| to_one_id(p, "category") == Some("3"),
        |a, b| by_name(b, a),
    )
    .await;
    assert_walk(
        &app,
        &products,
        "/api/products?filter[price][gt]=30&sort=price&page[size]=4",
        |p| dec_attr(p, "price") > dec_units("30"),
        by_price,
    )
    .await;
    assert_walk(
        &app,
        &products,
        "/api/products?filter[tags][contains]=featured&sort=-price&page[size]=6",
        |p| {
            jsonapi_tests::values::attr(p, "tags")
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "featured"))
        },
        |a, b| by_price(b, a),
    )
    .await;
    assert_walk(
        &app,
        &products,
        "/api/products?filter[name][contains]=o&page[size]=6",
        |p| str_attr(p, "name").contains('o'),
        by_id,
    )
    .await;
    assert_walk(
        &app,
        &products,
        "/api/categories/1/products?sort=quantity&page[size]=2",
        |p| to_one_id(p, "category") == Some("1"),
        by_quantity,
    )
    .await;
}
