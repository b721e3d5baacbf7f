//! Filters: `filter[f]=v`, `filter[f][op]=v` for every operator the example domain enables,
//! comma lists and ranges, booleans, relationship ids, dotted paths, several filters ANDed, and
//! the 400s that name the offending parameter (Oro §6.1–6.2; acceptance rows 50–59).
//!
//! Every expected result is computed here from the resources read with a plain `GET` of the
//! whole collection (the seed data) or from what the test created.

use jsonapi_tests::values::{attr, id_of, to_one_id};
use jsonapi_tests::{
    ApiClient, Source, TestApp, Value, assert_error, assert_error_detail, json, to_one,
};

use crate::query_support::{
    all_of, assert_ids, dec_attr, dec_units, enc, get_ok, ids_where, int_attr, num_id, str_attr,
};

/// `GET {base}?{query}&page[size]=-1` lists exactly the resources of `items` that pass `keep`,
/// in id order.
async fn assert_filter(
    api: &ApiClient,
    base: &str,
    items: &[Value],
    query: &str,
    keep: impl Fn(&Value) -> bool,
) -> Vec<String> {
    let expected = ids_where(items, keep);
    let response = get_ok(api, &format!("{base}?{query}&page[size]=-1")).await;
    assert_ids(&response, &expected, query);
    expected
}

/// Asserts every request of `cases` is a 400 `filter constraint` naming its parameter, and
/// reports all the cases that are not at once.
async fn assert_all_rejected(api: &ApiClient, cases: &[(&str, &str)]) {
    let mut wrong = Vec::new();
    for (path, parameter) in cases {
        let response = api.get(path).await;
        if response.status != 400
            || jsonapi_tests::find_error(
                &response,
                400,
                "filter constraint",
                Source::Parameter(parameter),
            )
            .is_none()
        {
            wrong.push(format!(
                "GET {path} -> {}, expected 400 filter constraint for {parameter}; body: {}",
                response.status,
                String::from_utf8_lossy(&response.raw)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn category_of(product: &Value) -> Option<&str> {
    to_one_id(product, "category")
}

#[tokio::test]
async fn every_comparison_operator_on_a_decimal_filter_matches_the_values_it_names() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let pivot_text = str_attr(&products[19], "price").to_owned();
    let pivot = dec_units(&pivot_text);
    let price = |p: &Value| dec_attr(p, "price");
    let base = "/api/products";
    let p = enc(&pivot_text);
    let eq = assert_filter(&app, base, &products, &format!("filter[price]={p}"), |r| {
        price(r) == pivot
    })
    .await;
    assert_eq!(eq, vec![id_of(&products[19]).to_owned()]);
    assert_filter(
        &app,
        base,
        &products,
        &format!("filter[price][eq]={p}"),
        |r| price(r) == pivot,
    )
    .await;
    assert_filter(
        &app,
        base,
        &products,
        &format!("filter[price][neq]={p}"),
        |r| price(r) != pivot,
    )
    .await;
    let lt = assert_filter(
        &app,
        base,
        &products,
        &format!("filter[price][lt]={p}"),
        |r| price(r) < pivot,
    )
    .await;
    let lte = assert_filter(
        &app,
        base,
        &products,
        &format!("filter[price][lte]={p}"),
        |r| price(r) <= pivot,
    )
    .await;
    let gt = assert_filter(
        &app,
        base,
        &products,
        &format!("filter[price][gt]={p}"),
        |r| price(r) > pivot,
    )
    .await;
    let gte = assert_filter(
        &app,
        base,
        &products,
        &format!("filter[price][gte]={p}"),
        |r| price(r) >= pivot,
    )
    .await;
    assert!(
        !lt.is_empty() && !gt.is_empty(),
        "the pivot splits the seed"
    );
    assert_eq!(lte.len(), lt.len() + 1);
    assert_eq!(gte.len(), gt.len() + 1);
    assert_eq!(lt.len() + gte.len(), products.len());
}

#[tokio::test]
async fn a_decimal_filter_value_matches_whatever_its_scale() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    // A price with a trailing zero in its hundredths ("x.y0") written with fewer decimals, and
    // any price written with more.
    let product = products
        .iter()
        .find(|p| str_attr(p, "price").ends_with('0'))
        .expect("a seed price ending in 0");
    let text = str_attr(product, "price");
    let shorter = text.trim_end_matches('0').trim_end_matches('.');
    let longer = format!("{text}00");
    for spelling in [shorter, longer.as_str()] {
        let response = get_ok(
            &app,
            &format!("/api/products?filter[price]={}", enc(spelling)),
        )
        .await;
        assert_ids(&response, &[id_of(product).to_owned()], spelling);
    }
}

#[tokio::test]
async fn every_comparison_operator_on_an_integer_filter_matches_the_values_it_names() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let base = "/api/products";
    let q = |p: &Value| int_attr(p, "quantity");
    // A quantity several products share.
    let pivot = q(&products[2]);
    assert!(products.iter().filter(|p| q(p) == pivot).count() > 1);
    for (op, keep) in [
        ("eq", (|a: i64, b: i64| a == b) as fn(i64, i64) -> bool),
        ("neq", |a, b| a != b),
        ("lt", |a, b| a < b),
        ("lte", |a, b| a <= b),
        ("gt", |a, b| a > b),
        ("gte", |a, b| a >= b),
    ] {
        let found = assert_filter(
            &app,
            base,
            &products,
            &format!("filter[quantity][{op}]={pivot}"),
            |p| keep(q(p), pivot),
        )
        .await;
        assert!(!found.is_empty(), "{op} matched nothing");
    }
    assert_filter(
        &app,
        base,
        &products,
        &format!("filter[quantity]={pivot}"),
        |p| q(p) == pivot,
    )
    .await;
    assert_filter(&app, base, &products, "filter[quantity][gt]=1000", |_| {
        false
    })
    .await;
}

#[tokio::test]
async fn every_comparison_operator_on_the_id_filter_compares_ids_as_numbers() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let base = "/api/products";
    // 9 < 10 numerically but "9" > "10" as text: the id filter must compare numbers.
    for (op, keep) in [
        ("eq", (|a: u64, b: u64| a == b) as fn(u64, u64) -> bool),
        ("neq", |a, b| a != b),
        ("lt", |a, b| a < b),
        ("lte", |a, b| a <= b),
        ("gt", |a, b| a > b),
        ("gte", |a, b| a >= b),
    ] {
        for pivot in [9_u64, 10, 25] {
            assert_filter(
                &app,
                base,
                &products,
                &format!("filter[id][{op}]={pivot}"),
                |p| keep(num_id(p), pivot),
            )
            .await;
        }
    }
    assert_filter(&app, base, &products, "filter[id]=17", |p| num_id(p) == 17).await;
}

#[tokio::test]
async fn equality_and_inequality_on_string_and_enum_filters_match_exactly() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let base = "/api/products";
    let sku = str_attr(&products[6], "sku").to_owned();
    let name = str_attr(&products[6], "name").to_owned();
    let found = assert_filter(
        &app,
        base,
        &products,
        &format!("filter[sku]={}", enc(&sku)),
        |p| str_attr(p, "sku") == sku,
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_filter(
        &app,
        base,
        &products,
        &format!("filter[sku][neq]={}", enc(&sku)),
        |p| str_attr(p, "sku") != sku,
    )
    .await;
    assert_filter(
        &app,
        base,
        &products,
        &format!("filter[name]={}", enc(&name)),
        |p| str_attr(p, "name") == name,
    )
    .await;
    // A prefix of a value is not equal to it.
    assert_filter(
        &app,
        base,
        &products,
        &format!("filter[sku]={}", enc(&sku[..sku.len() - 1])),
        |_| false,
    )
    .await;
    for status in ["enabled", "disabled"] {
        let found = assert_filter(
            &app,
            base,
            &products,
            &format!("filter[status]={status}"),
            |p| str_attr(p, "status") == status,
        )
        .await;
        assert!(!found.is_empty());
        assert_filter(
            &app,
            base,
            &products,
            &format!("filter[status][neq]={status}"),
            |p| str_attr(p, "status") != status,
        )
        .await;
    }
}

#[tokio::test]
async fn contains_and_starts_with_match_parts_of_strings() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let base = "/api/products";
    let name = |p: &Value| str_attr(p, "name").to_owned();
    for needle in ["Lamp", "ook", "USB-C", " 1", "Mug 5"] {
        let found = assert_filter(
            &app,
            base,
            &products,
            &format!("filter[name][contains]={}", enc(needle)),
            |p| name(p).contains(needle),
        )
        .await;
        assert!(!found.is_empty(), "{needle}");
    }
    for prefix in ["Garden", "Cookbook 1", "27-inch", "Mouse"] {
        assert_filter(
            &app,
            base,
            &products,
            &format!("filter[name][starts_with]={}", enc(prefix)),
            |p| name(p).starts_with(prefix),
        )
        .await;
    }
    let categories = all_of(&app, "categories").await;
    assert_filter(
        &app,
        "/api/categories",
        &categories,
        "filter[name][contains]=o",
        |c| str_attr(c, "name").contains('o'),
    )
    .await;
    let customers = all_of(&app, "customers").await;
    assert_filter(
        &app,
        "/api/customers",
        &customers,
        "filter[name][starts_with]=G",
        |c| str_attr(c, "name").starts_with('G'),
    )
    .await;
    let users = all_of(&app, "users").await;
    let username = str_attr(&users[0], "username").to_owned();
    let found = assert_filter(
        &app,
        "/api/users",
        &users,
        &format!("filter[username][starts_with]={}", enc(&username[..2])),
        |u| str_attr(u, "username").starts_with(&username[..2]),
    )
    .await;
    assert!(found.contains(&id_of(&users[0]).to_owned()));
}

#[tokio::test]
async fn tags_contains_means_holds_every_value_given() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let base = "/api/products";
    let tags = |p: &Value| -> Vec<String> {
        attr(p, "tags")
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let featured = assert_filter(
        &app,
        base,
        &products,
        "filter[tags][contains]=featured",
        |p| tags(p).iter().any(|t| t == "featured"),
    )
    .await;
    assert!(!featured.is_empty() && featured.len() < products.len());
    let both = assert_filter(
        &app,
        base,
        &products,
        "filter[tags][contains]=featured,seed",
        |p| {
            let t = tags(p);
            t.iter().any(|t| t == "featured") && t.iter().any(|t| t == "seed")
        },
    )
    .await;
    assert_eq!(both, featured);
    assert_filter(
        &app,
        base,
        &products,
        "filter[tags][contains]=nothing-like-it",
        |_| false,
    )
    .await;
    assert_filter(&app, base, &products, "filter[tags][exists]=yes", |p| {
        !tags(p).is_empty()
    })
    .await;
}

#[tokio::test]
async fn exists_neq_and_neq_or_null_treat_a_missing_value_as_the_documents_say() {
    let app = TestApp::spawn().await;
    let mut categories = Vec::new();
    for name in ["One", "Two"] {
        let category = crate::fixtures::create_category(&app, name, None).await;
        categories.push(id_of(&category).to_owned());
    }
    for (sku, category) in [
        ("E-1", Some(0)),
        ("E-2", None),
        ("E-3", Some(1)),
        ("E-4", Some(0)),
        ("E-5", None),
    ] {
        let relationships = match category {
            Some(c) => json!({ "category": to_one("categories", &categories[c]) }),
            None => json!({}),
        };
        app.create(
            "products",
            crate::fixtures::product_attributes(sku),
            relationships,
        )
        .await;
    }
    let products = all_of(&app, "products").await;
    let base = "/api/products";
    let one = categories[0].clone();
    for spelling in ["yes", "true", "1"] {
        assert_filter(
            &app,
            base,
            &products,
            &format!("filter[category][exists]={spelling}"),
            |p| category_of(p).is_some(),
        )
        .await;
    }
    for spelling in ["no", "false", "0"] {
        assert_filter(
            &app,
            base,
            &products,
            &format!("filter[category][exists]={spelling}"),
            |p| category_of(p).is_none(),
        )
        .await;
    }
    // neq excludes the resources without a value; neq_or_null keeps them.
    assert_filter(
        &app,
        base,
        &products,
        &format!("filter[category][neq]={one}"),
        |p| category_of(p).is_some_and(|c| c != one),
    )
    .await;
    assert_filter(
        &app,
        base,
        &products,
        &format!("filter[category][neq_or_null]={one}"),
        |p| category_of(p) != Some(one.as_str()),
    )
    .await;
    assert_filter(
        &app,
        base,
        &products,
        &format!("filter[category]={one}"),
        |p| category_of(p) == Some(one.as_str()),
    )
    .await;
    // Attributes: every product has a sku; neq_or_null on a present value is plain inequality.
    assert_filter(&app, base, &products, "filter[sku][exists]=yes", |_| true).await;
    assert_filter(&app, base, &products, "filter[sku][exists]=no", |_| false).await;
    assert_filter(&app, base, &products, "filter[sku][neq_or_null]=E-3", |p| {
        str_attr(p, "sku") != "E-3"
    })
    .await;
    assert_filter(
        &app,
        base,
        &products,
        "filter[price][neq_or_null]=10",
        |p| dec_attr(p, "price") != dec_units("10"),
    )
    .await;
}

#[tokio::test]
async fn a_comma_list_matches_any_of_its_values() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let base = "/api/products";
    assert_filter(&app, base, &products, "filter[id]=3,7,11,49", |p| {
        [3, 7, 11, 49].contains(&num_id(p))
    })
    .await;
    assert_filter(&app, base, &products, "filter[id][neq]=1,2,3", |p| {
        num_id(p) > 3
    })
    .await;
    assert_filter(&app, base, &products, "filter[quantity]=0,3,6", |p| {
        [0, 3, 6].contains(&int_attr(p, "quantity"))
    })
    .await;
    assert_filter(
        &app,
        base,
        &products,
        "filter[quantity][neq_or_null]=0,3",
        |p| ![0, 3].contains(&int_attr(p, "quantity")),
    )
    .await;
    let prices = [
        str_attr(&products[4], "price").to_owned(),
        str_attr(&products[30], "price").to_owned(),
    ];
    let wanted: Vec<i128> = prices.iter().map(|p| dec_units(p)).collect();
    let found = assert_filter(
        &app,
        base,
        &products,
        &format!("filter[price]={}", enc(&prices.join(","))),
        |p| wanted.contains(&dec_attr(p, "price")),
    )
    .await;
    assert_eq!(found.len(), 2);
    assert_filter(
        &app,
        base,
        &products,
        "filter[status]=enabled,disabled",
        |_| true,
    )
    .await;
    assert_filter(&app, base, &products, "filter[category]=2,3", |p| {
        matches!(category_of(p), Some("2" | "3"))
    })
    .await;
    assert_filter(&app, base, &products, "filter[category][neq]=1,2", |p| {
        category_of(p).is_some_and(|c| c != "1" && c != "2")
    })
    .await;
}

#[tokio::test]
async fn a_range_matches_both_ends_inclusively() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let base = "/api/products";
    assert_filter(&app, base, &products, "filter[id]=5..9", |p| {
        (5..=9).contains(&num_id(p))
    })
    .await;
    assert_filter(&app, base, &products, "filter[id]=9..12", |p| {
        (9..=12).contains(&num_id(p))
    })
    .await;
    assert_filter(&app, base, &products, "filter[quantity]=10..20", |p| {
        (10..=20).contains(&int_attr(p, "quantity"))
    })
    .await;
    assert_filter(&app, base, &products, "filter[quantity][neq]=10..20", |p| {
        !(10..=20).contains(&int_attr(p, "quantity"))
    })
    .await;
    // Both ends are prices of seed products: they are included.
    let lo = str_attr(&products[10], "price").to_owned();
    let hi = str_attr(&products[11], "price").to_owned();
    let (lo, hi) = if dec_units(&lo) <= dec_units(&hi) {
        (lo, hi)
    } else {
        (hi, lo)
    };
    let found = assert_filter(
        &app,
        base,
        &products,
        &format!("filter[price]={}..{}", enc(&lo), enc(&hi)),
        |p| (dec_units(&lo)..=dec_units(&hi)).contains(&dec_attr(p, "price")),
    )
    .await;
    assert!(found.len() >= 2);
}

#[tokio::test]
async fn string_filters_read_commas_and_dots_literally_and_enum_filters_check_values() {
    // Oro §6.2: arrays are off by default for string filters and ranges for string and enum
    // filters. A string may hold a comma or two dots, so such a value is one literal (as the
    // model normalises string filter values); an enum value that is not one of the enum's
    // values is a 400 naming the parameter.
    let app = jsonapi_tests::shared_seeded();
    for uri in [
        "/api/products?filter[sku]=SKU-0001,SKU-0002",
        "/api/products?filter[sku]=SKU-0001..SKU-0003",
    ] {
        let resp = app.get(uri).await;
        assert_eq!(resp.status, 200, "{uri}");
        assert_eq!(
            resp.body.as_ref().unwrap()["data"],
            serde_json::json!([]),
            "{uri}: no sku is that literal"
        );
    }
    assert_all_rejected(
        &app,
        &[
            (
                "/api/products?filter[status]=enabled..disabled",
                "filter[status]",
            ),
            ("/api/products?filter[status]=archived", "filter[status]"),
        ],
    )
    .await;
}

#[tokio::test]
async fn lists_and_ranges_where_the_filter_does_not_allow_them_are_rejected() {
    let app = jsonapi_tests::shared_seeded();
    assert_all_rejected(
        &app,
        &[
            // Booleans take neither.
            ("/api/users?filter[enabled]=1,0", "filter[enabled]"),
            ("/api/users?filter[enabled]=0..1", "filter[enabled]"),
            // Lists and ranges only go with eq, neq and neq_or_null.
            ("/api/products?filter[price][gt]=1,2", "filter[price][gt]"),
            ("/api/products?filter[id][lt]=1..5", "filter[id][lt]"),
            (
                "/api/products?filter[quantity][gte]=1..5",
                "filter[quantity][gte]",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn booleans_are_read_in_every_documented_spelling() {
    let app = TestApp::spawn().await;
    for (name, enabled) in [
        ("on1", true),
        ("off1", false),
        ("on2", true),
        ("off2", false),
    ] {
        app.create(
            "users",
            json!({ "username": name, "email": format!("{name}@example.com"), "enabled": enabled }),
            json!({}),
        )
        .await;
    }
    let users = all_of(&app, "users").await;
    let base = "/api/users";
    let enabled = |u: &Value| attr(u, "enabled").as_bool().expect("a boolean");
    for spelling in ["yes", "Yes", "1", "true", "True"] {
        let found = assert_filter(
            &app,
            base,
            &users,
            &format!("filter[enabled]={spelling}"),
            enabled,
        )
        .await;
        assert_eq!(found.len(), 2, "{spelling}");
    }
    for spelling in ["no", "No", "0", "false", "False"] {
        let found = assert_filter(
            &app,
            base,
            &users,
            &format!("filter[enabled]={spelling}"),
            |u| !enabled(u),
        )
        .await;
        assert_eq!(found.len(), 2, "{spelling}");
    }
    assert_filter(&app, base, &users, "filter[enabled][neq]=yes", |u| {
        !enabled(u)
    })
    .await;
    for bad in ["maybe", "2", "TRUE", ""] {
        let response = app.get(&format!("/api/users?filter[enabled]={bad}")).await;
        assert_error(
            &response,
            400,
            "filter constraint",
            Source::Parameter("filter[enabled]"),
        );
    }
    let response = app.get("/api/users?filter[enabled]=maybe").await;
    assert_error_detail(
        &response,
        400,
        "filter constraint",
        Source::Parameter("filter[enabled]"),
        "Expected boolean value. Given \"maybe\".",
    );
}

#[tokio::test]
async fn a_to_one_relationship_filters_by_the_related_id() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    for category in ["1", "2", "5"] {
        let found = assert_filter(
            &app,
            "/api/products",
            &products,
            &format!("filter[category]={category}"),
            |p| category_of(p) == Some(category),
        )
        .await;
        assert!(!found.is_empty());
    }
    assert_filter(
        &app,
        "/api/products",
        &products,
        "filter[category]=999",
        |_| false,
    )
    .await;
    let orders = all_of(&app, "orders").await;
    let customer = to_one_id(&orders[0], "customer")
        .expect("a customer")
        .to_owned();
    let found = assert_filter(
        &app,
        "/api/orders",
        &orders,
        &format!("filter[customer]={customer}"),
        |o| to_one_id(o, "customer") == Some(customer.as_str()),
    )
    .await;
    assert!(!found.is_empty() && found.len() < orders.len());
    let items = all_of(&app, "orderlineitems").await;
    let order = id_of(&orders[1]).to_owned();
    assert_filter(
        &app,
        "/api/orderlineitems",
        &items,
        &format!("filter[order]={order}"),
        |i| to_one_id(i, "order") == Some(order.as_str()),
    )
    .await;
    let product = to_one_id(&items[0], "product")
        .expect("a product")
        .to_owned();
    assert_filter(
        &app,
        "/api/orderlineitems",
        &items,
        &format!("filter[product]={product}"),
        |i| to_one_id(i, "product") == Some(product.as_str()),
    )
    .await;
}

#[tokio::test]
async fn a_dotted_filter_applies_to_the_related_resource() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let categories = all_of(&app, "categories").await;
    let category = |id: Option<&str>| {
        id.and_then(|id| categories.iter().find(|c| id_of(c) == id))
            .cloned()
    };
    let base = "/api/products";
    let found = assert_filter(
        &app,
        base,
        &products,
        "filter[category.name][contains]=Garden",
        |p| category(category_of(p)).is_some_and(|c| str_attr(&c, "name").contains("Garden")),
    )
    .await;
    assert!(!found.is_empty());
    assert_filter(&app, base, &products, "filter[category.name]=Books", |p| {
        category(category_of(p)).is_some_and(|c| str_attr(&c, "name") == "Books")
    })
    .await;
    // Two relationships deep: the products of the subcategories of category 1.
    let found = assert_filter(&app, base, &products, "filter[category.parent]=1", |p| {
        category(category_of(p)).is_some_and(|c| to_one_id(&c, "parent") == Some("1"))
    })
    .await;
    assert!(!found.is_empty());
    let parent_name = |p: &Value| {
        category(category_of(p))
            .and_then(|c| category(to_one_id(&c, "parent")))
            .map(|parent| str_attr(&parent, "name").to_owned())
    };
    assert_filter(
        &app,
        base,
        &products,
        "filter[category.parent.name][contains]=Electro",
        |p| parent_name(p).is_some_and(|n| n.contains("Electro")),
    )
    .await;
    // From line items through their product to its category.
    let items = all_of(&app, "orderlineitems").await;
    let product = |id: Option<&str>| {
        id.and_then(|id| products.iter().find(|p| id_of(p) == id))
            .cloned()
    };
    assert_filter(
        &app,
        "/api/orderlineitems",
        &items,
        "filter[product.category]=2",
        |i| product(to_one_id(i, "product")).is_some_and(|p| category_of(&p) == Some("2")),
    )
    .await;
    let orders = all_of(&app, "orders").await;
    let customer = to_one_id(&orders[2], "customer")
        .expect("a customer")
        .to_owned();
    assert_filter(
        &app,
        "/api/orderlineitems",
        &items,
        &format!("filter[order.customer]={customer}"),
        |i| {
            orders.iter().any(|o| {
                Some(id_of(o)) == to_one_id(i, "order")
                    && to_one_id(o, "customer") == Some(customer.as_str())
            })
        },
    )
    .await;
}

#[tokio::test]
async fn several_filters_are_all_applied() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let base = "/api/products";
    let pivot = str_attr(&products[24], "price").to_owned();
    let found = assert_filter(
        &app,
        base,
        &products,
        &format!(
            "filter[category]=2&filter[price][gt]={}&filter[status]=enabled",
            enc(&pivot)
        ),
        |p| {
            category_of(p) == Some("2")
                && dec_attr(p, "price") > dec_units(&pivot)
                && str_attr(p, "status") == "enabled"
        },
    )
    .await;
    assert!(!found.is_empty());
    // The same field with two operators.
    assert_filter(
        &app,
        base,
        &products,
        "filter[id][gte]=5&filter[id][lte]=17&filter[quantity][lt]=20",
        |p| (5..=17).contains(&num_id(p)) && int_attr(p, "quantity") < 20,
    )
    .await;
    assert_filter(
        &app,
        base,
        &products,
        "filter[tags][contains]=featured&filter[name][contains]=Mug",
        |p| {
            str_attr(p, "name").contains("Mug")
                && attr(p, "tags")
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == "featured"))
        },
    )
    .await;
    // Contradictory filters match nothing.
    assert_filter(
        &app,
        base,
        &products,
        "filter[id][lt]=10&filter[id][gt]=20",
        |_| false,
    )
    .await;
}

#[tokio::test]
async fn datetime_filters_compare_instants() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let base = "/api/products";
    assert_filter(
        &app,
        base,
        &products,
        "filter[createdAt][gte]=2000-01-01T00:00:00Z",
        |_| true,
    )
    .await;
    assert_filter(
        &app,
        base,
        &products,
        "filter[createdAt][lt]=2000-01-01",
        |_| false,
    )
    .await;
    assert_filter(
        &app,
        base,
        &products,
        "filter[createdAt][gt]=2999-12-31",
        |_| false,
    )
    .await;
    // The API's own spelling of a product's createdAt matches it (API datetimes compare as
    // instants, and the spelling is fixed-width, so text order is time order).
    let created = str_attr(&products[0], "createdAt").to_owned();
    let found = assert_filter(
        &app,
        base,
        &products,
        &format!("filter[createdAt]={}", enc(&created)),
        |p| str_attr(p, "createdAt") == created,
    )
    .await;
    assert!(found.contains(&id_of(&products[0]).to_owned()));
    assert_filter(
        &app,
        base,
        &products,
        &format!("filter[createdAt][lte]={}", enc(&created)),
        |p| str_attr(p, "createdAt") <= created.as_str(),
    )
    .await;
    assert_filter(
        &app,
        base,
        &products,
        &format!("filter[updatedAt][gt]={}", enc(&created)),
        |p| str_attr(p, "updatedAt") > created.as_str(),
    )
    .await;
}

#[tokio::test]
async fn filters_apply_to_a_to_many_related_collection() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let in_one: Vec<Value> = products
        .iter()
        .filter(|p| category_of(p) == Some("1"))
        .cloned()
        .collect();
    let pivot = str_attr(&in_one[2], "price").to_owned();
    let found = assert_filter(
        &app,
        "/api/categories/1/products",
        &in_one,
        &format!("filter[price][gt]={}", enc(&pivot)),
        |p| dec_attr(p, "price") > dec_units(&pivot),
    )
    .await;
    assert!(!found.is_empty() && found.len() < in_one.len());
    assert_filter(
        &app,
        "/api/categories/1/relationships/products",
        &in_one,
        "filter[status]=enabled",
        |p| str_attr(p, "status") == "enabled",
    )
    .await;
    let orders = all_of(&app, "orders").await;
    let customer = to_one_id(&orders[0], "customer")
        .expect("a customer")
        .to_owned();
    let of_customer: Vec<Value> = orders
        .iter()
        .filter(|o| to_one_id(o, "customer") == Some(customer.as_str()))
        .cloned()
        .collect();
    let first = id_of(&of_customer[0]).to_owned();
    assert_filter(
        &app,
        &format!("/api/customers/{customer}/orders"),
        &of_customer,
        &format!("filter[id][neq]={first}"),
        |o| id_of(o) != first,
    )
    .await;
    let response = app
        .get("/api/categories/1/products?filter[description]=x")
        .await;
    assert_error(
        &response,
        400,
        "filter constraint",
        Source::Parameter("filter[description]"),
    );
}

#[tokio::test]
async fn an_undeclared_filter_is_not_supported() {
    let app = jsonapi_tests::shared_seeded();
    for (path, parameter) in [
        ("/api/products?filter[description]=x", "filter[description]"),
        (
            "/api/products?filter[description][exists]=yes",
            "filter[description][exists]",
        ),
        ("/api/products?filter[nope][eq]=1", "filter[nope][eq]"),
        ("/api/users?filter[password]=x", "filter[password]"),
        ("/api/users?filter[firstName]=Ada", "filter[firstName]"),
        (
            "/api/products?filter[category.nope]=1",
            "filter[category.nope]",
        ),
        ("/api/products?filter[nope.name]=1", "filter[nope.name]"),
        (
            "/api/products?filter[category.createdAt]=2020-01-01",
            "filter[category.createdAt]",
        ),
    ] {
        let response = app.get(path).await;
        assert_error_detail(
            &response,
            400,
            "filter constraint",
            Source::Parameter(parameter),
            "The filter is not supported.",
        );
    }
}

#[tokio::test]
async fn an_operator_the_filter_does_not_enable_is_not_supported() {
    let app = jsonapi_tests::shared_seeded();
    for (path, parameter, op) in [
        // Text operators are off unless declared.
        (
            "/api/products?filter[sku][contains]=SKU",
            "filter[sku][contains]",
            "contains",
        ),
        (
            "/api/products?filter[sku][starts_with]=SKU",
            "filter[sku][starts_with]",
            "starts_with",
        ),
        (
            "/api/products?filter[name][ends_with]=1",
            "filter[name][ends_with]",
            "ends_with",
        ),
        (
            "/api/users?filter[username][contains]=a",
            "filter[username][contains]",
            "contains",
        ),
        // Comparisons are for numbers and dates.
        ("/api/products?filter[sku][gt]=A", "filter[sku][gt]", "gt"),
        (
            "/api/products?filter[status][lt]=enabled",
            "filter[status][lt]",
            "lt",
        ),
        (
            "/api/products?filter[category][gt]=1",
            "filter[category][gt]",
            "gt",
        ),
        (
            "/api/users?filter[enabled][gte]=1",
            "filter[enabled][gte]",
            "gte",
        ),
        // An array only takes contains (and exists).
        ("/api/products?filter[tags]=seed", "filter[tags]", "eq"),
        (
            "/api/products?filter[price][contains]=1",
            "filter[price][contains]",
            "contains",
        ),
    ] {
        let response = app.get(path).await;
        assert_error_detail(
            &response,
            400,
            "filter constraint",
            Source::Parameter(parameter),
            &format!("The operator \"{op}\" is not supported."),
        );
    }
    // An operator name that does not exist at all is reported the same way.
    let response = app.get("/api/products?filter[price][foo]=1").await;
    assert_error_detail(
        &response,
        400,
        "filter constraint",
        Source::Parameter("filter[price][foo]"),
        "The operator \"foo\" is not supported.",
    );
}

#[tokio::test]
async fn a_value_of_the_wrong_type_names_its_parameter() {
    let app = jsonapi_tests::shared_seeded();
    let cases = [
        ("/api/products?filter[price]=abc", "filter[price]"),
        (
            "/api/products?filter[price][gte]=1.2.3",
            "filter[price][gte]",
        ),
        (
            "/api/products?filter[quantity][gt]=1.5",
            "filter[quantity][gt]",
        ),
        ("/api/products?filter[quantity]=many", "filter[quantity]"),
        ("/api/products?filter[id]=abc", "filter[id]"),
        ("/api/products?filter[category]=abc", "filter[category]"),
        (
            "/api/products?filter[createdAt][gt]=yesterday",
            "filter[createdAt][gt]",
        ),
        (
            "/api/products?filter[sku][exists]=maybe",
            "filter[sku][exists]",
        ),
        (
            "/api/products?filter[category.parent]=x",
            "filter[category.parent]",
        ),
        ("/api/orders?filter[total][lt]=cheap", "filter[total][lt]"),
        // ULID ids are read as in a URL: 26 upper-case characters.
        ("/api/customers?filter[id]=abc", "filter[id]"),
        (
            "/api/customers?filter[id]=01m99ma5p6bg5ze8xmj566kjjc",
            "filter[id]",
        ),
        ("/api/orders?filter[customer]=abc", "filter[customer]"),
        (
            "/api/orderlineitems?filter[order.customer]=abc",
            "filter[order.customer]",
        ),
    ];
    assert_all_rejected(&app, &cases).await;
    let response = app
        .get("/api/customers?filter[id]=01M99MA5P6BG5ZE8XMJ566KJJC,abc")
        .await;
    assert_error_detail(
        &response,
        400,
        "filter constraint",
        Source::Parameter("filter[id]"),
        "Expected ULID value. Given \"abc\".",
    );
    let response = app.get("/api/products?filter[id]=abc").await;
    assert_error_detail(
        &response,
        400,
        "filter constraint",
        Source::Parameter("filter[id]"),
        "Expected integer value. Given \"abc\".",
    );
}

#[tokio::test]
async fn a_filter_on_an_order_total_compares_decimals() {
    let app = jsonapi_tests::shared_seeded();
    let orders = all_of(&app, "orders").await;
    let total = str_attr(&orders[0], "total").to_owned();
    assert_filter(
        &app,
        "/api/orders",
        &orders,
        &format!("filter[total]={}", enc(&total)),
        |o| dec_attr(o, "total") == dec_units(&total),
    )
    .await;
    assert_filter(
        &app,
        "/api/orders",
        &orders,
        &format!("filter[total][lt]={}", enc(&total)),
        |o| dec_attr(o, "total") < dec_units(&total),
    )
    .await;
    assert_filter(&app, "/api/orders", &orders, "filter[status]=open", |o| {
        str_attr(o, "status") == "open"
    })
    .await;
}
