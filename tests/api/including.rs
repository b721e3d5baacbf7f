//! `include`: comma lists and nested paths, the top-level `included` member (present whenever
//! `include` was asked, de-duplicated, fully linked), unknown paths, and `include`/`fields`/
//! `meta` shaping the responses of POST and PATCH (Oro §6.6, §5.1; acceptance row 64; JSON:API
//! checklist D, B5, B6).
//!
//! The expected `included` sets are computed from the linkage of resources read with plain
//! GETs.

use std::collections::BTreeSet;

use jsonapi_tests::values::{attr, id_of, to_many_ids, to_one_id};
use jsonapi_tests::{Source, TestApp, Value, assert_error, json, resource_doc, to_one};

use crate::query_support::{
    all_of, assert_full_linkage, get_ok, included, included_keys, key, member_names, names, primary,
};

type Keys = BTreeSet<(String, String)>;

fn k(ty: &str, id: &str) -> (String, String) {
    (ty.to_owned(), id.to_owned())
}

fn find<'a>(items: &'a [Value], id: &str) -> &'a Value {
    items
        .iter()
        .find(|r| id_of(r) == id)
        .unwrap_or_else(|| panic!("no resource {id}"))
}

/// Asserts `included` holds exactly `expected`, without duplicates, fully linked, and none of
/// them repeats a primary resource.
fn assert_included(response: &jsonapi_tests::TestResponse, expected: &Keys) {
    let actual = included_keys(response);
    assert_eq!(
        &actual,
        expected,
        "{}\nthe included resources",
        response.describe()
    );
    let primary_keys: Keys = primary(response).iter().map(key).collect();
    assert!(
        actual.is_disjoint(&primary_keys),
        "{}\na primary resource is repeated in included",
        response.describe()
    );
    assert_full_linkage(response);
}

#[tokio::test]
async fn a_to_one_include_adds_the_related_resource_as_a_get_shows_it() {
    let app = jsonapi_tests::shared_seeded();
    let product = app.fetch("products", "7").await;
    let category = to_one_id(&product, "category")
        .expect("a category")
        .to_owned();
    let response = get_ok(&app, "/api/products/7?include=category").await;
    assert_included(&response, &[k("categories", &category)].into());
    let included = included(&response);
    let plain = app.fetch("categories", &category).await;
    assert_eq!(included[0]["attributes"], plain["attributes"]);
    assert_eq!(
        to_one_id(&included[0], "parent"),
        to_one_id(&plain, "parent")
    );
}

#[tokio::test]
async fn nested_paths_and_comma_lists_include_every_level() {
    let app = jsonapi_tests::shared_seeded();
    let items = all_of(&app, "orderlineitems").await;
    let response = get_ok(&app, "/api/orders?include=lineItems.product,customer").await;
    let mut expected = Keys::new();
    for order in primary(&response) {
        // One at a time: a list leaves the inverse lineItems' linkage out.
        let plain = &app.fetch("orders", id_of(&order)).await;
        expected.insert(k(
            "customers",
            to_one_id(plain, "customer").expect("a customer"),
        ));
        for item in to_many_ids(plain, "lineItems") {
            expected.insert(k("orderlineitems", &item));
            let product = to_one_id(find(&items, &item), "product").expect("a product");
            expected.insert(k("products", product));
        }
    }
    assert!(expected.iter().any(|(t, _)| t == "products"));
    assert_included(&response, &expected);
    // Only the requested paths: without customer, no customers.
    let response = get_ok(&app, "/api/orders?include=lineItems.product").await;
    let without_customers: Keys = expected
        .iter()
        .filter(|(t, _)| t != "customers")
        .cloned()
        .collect();
    assert_included(&response, &without_customers);
    // The intermediate level alone.
    let response = get_ok(&app, "/api/orders/1?include=lineItems").await;
    let plain = &app.fetch("orders", "1").await;
    let only_items: Keys = to_many_ids(plain, "lineItems")
        .iter()
        .map(|i| k("orderlineitems", i))
        .collect();
    assert_included(&response, &only_items);
}

#[tokio::test]
async fn a_chain_of_to_one_relationships_includes_each_hop() {
    let app = jsonapi_tests::shared_seeded();
    let categories = all_of(&app, "categories").await;
    let response = get_ok(&app, "/api/products?include=category.parent&page[size]=-1").await;
    let mut expected = Keys::new();
    for product in primary(&response) {
        if let Some(category) = to_one_id(&product, "category") {
            expected.insert(k("categories", category));
            if let Some(parent) = to_one_id(find(&categories, category), "parent") {
                expected.insert(k("categories", parent));
            }
        }
    }
    assert_included(&response, &expected);
    // Ten products share five categories: each is included once.
    let response = get_ok(&app, "/api/products?include=category").await;
    let expected: Keys = primary(&response)
        .iter()
        .filter_map(|p| to_one_id(p, "category").map(|c| k("categories", c)))
        .collect();
    assert!(expected.len() < response.items().len());
    assert_included(&response, &expected);
}

#[tokio::test]
async fn a_to_many_include_adds_every_member() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let categories = all_of(&app, "categories").await;
    let response = get_ok(&app, "/api/categories/1?include=products,children").await;
    let mut expected: Keys = products
        .iter()
        .filter(|p| to_one_id(p, "category") == Some("1"))
        .map(|p| k("products", id_of(p)))
        .collect();
    expected.extend(
        categories
            .iter()
            .filter(|c| to_one_id(c, "parent") == Some("1"))
            .map(|c| k("categories", id_of(c))),
    );
    assert_included(&response, &expected);
    // The linkage in the primary resource names the same members.
    let data = response.data();
    let linked: Keys = to_many_ids(data, "products")
        .iter()
        .map(|p| k("products", p))
        .chain(
            to_many_ids(data, "children")
                .iter()
                .map(|c| k("categories", c)),
        )
        .collect();
    assert_eq!(linked, expected);
}

#[tokio::test]
async fn included_is_present_and_empty_when_there_is_nothing_to_include() {
    let app = jsonapi_tests::shared_seeded();
    for path in [
        // A null to-one.
        "/api/categories/1?include=parent",
        // An empty to-many.
        "/api/categories/2?include=children",
        // An empty list.
        "/api/products?filter[id]=9999&include=category",
    ] {
        let response = get_ok(&app, path).await;
        assert_eq!(
            response.json().get("included"),
            Some(&json!([])),
            "{}\nincluded must be present (and empty) when include was asked",
            response.describe()
        );
    }
    // Resources that are primary data already are not repeated in included.
    let response = get_ok(&app, "/api/categories?include=children").await;
    assert_included(&response, &Keys::new());
    // Without include, there is no included member.
    let response = get_ok(&app, "/api/products/1").await;
    assert_eq!(response.json().get("included"), None);
}

#[tokio::test]
async fn an_empty_include_includes_nothing() {
    let app = jsonapi_tests::shared_seeded();
    let response = get_ok(&app, "/api/products?include=").await;
    assert!(included(&response).is_empty(), "{}", response.describe());
    assert_eq!(response.items().len(), 10);
}

#[tokio::test]
async fn include_works_on_related_resource_routes() {
    let app = jsonapi_tests::shared_seeded();
    let items = all_of(&app, "orderlineitems").await;
    let orders = all_of(&app, "orders").await;
    let response = get_ok(&app, "/api/orders/2/lineItems?include=product").await;
    let expected: Keys = primary(&response)
        .iter()
        .map(|i| {
            let product = to_one_id(find(&items, id_of(i)), "product").expect("a product");
            k("products", product)
        })
        .collect();
    assert!(!expected.is_empty());
    assert_included(&response, &expected);
    let item = &items[0];
    let order = to_one_id(item, "order").expect("an order");
    let customer = to_one_id(find(&orders, order), "customer").expect("a customer");
    let response = get_ok(
        &app,
        &format!("/api/orderlineitems/{}/order?include=customer", id_of(item)),
    )
    .await;
    assert_eq!(id_of(response.data()), order);
    assert_included(&response, &[k("customers", customer)].into());
}

#[tokio::test]
async fn an_unknown_include_path_is_rejected_naming_include() {
    let app = jsonapi_tests::shared_seeded();
    for path in [
        "/api/products?include=nope",
        "/api/products?include=category.nope",
        "/api/products?include=category,nope",
        "/api/products?include=sku",
        "/api/orders?include=lineItems.nope",
        "/api/orders?include=lineItems.product.nope",
        "/api/orders/1?include=customer.lineItems",
        "/api/categories/1/products?include=nope",
    ] {
        let response = app.get(path).await;
        assert_error(
            &response,
            400,
            "filter constraint",
            Source::Parameter("include"),
        );
    }
}

#[tokio::test]
async fn include_fields_and_meta_shape_the_responses_of_post_and_patch() {
    let app = jsonapi_tests::shared_scratch();
    let category = crate::fixtures::create_category(&app, "Tea", None).await;
    let category_id = id_of(&category).to_owned();
    let query = "include=category&fields[products]=sku,category&fields[categories]=name&meta=title";
    let response = app
        .post(
            &format!("/api/products?{query}"),
            &resource_doc(
                "products",
                None,
                json!({ "sku": "TEA-1", "name": "Green tea", "price": "4.50" }),
                json!({ "category": to_one("categories", &category_id) }),
            ),
        )
        .await;
    response.assert_status(201);
    let check = |response: &jsonapi_tests::TestResponse, sku: &str, name: &str| {
        let data = response.data();
        assert_eq!(member_names(data, "attributes"), names(&["sku"]));
        assert_eq!(member_names(data, "relationships"), names(&["category"]));
        assert_eq!(attr(data, "sku"), sku);
        assert_eq!(data["meta"]["title"], name, "{}", response.describe());
        let included = included(response);
        assert_eq!(included.len(), 1, "{}", response.describe());
        assert_eq!(key(&included[0]), k("categories", &category_id));
        assert_eq!(member_names(&included[0], "attributes"), names(&["name"]));
        assert_eq!(attr(&included[0], "name"), "Tea");
        assert_eq!(included[0]["meta"]["title"], "Tea");
    };
    check(&response, "TEA-1", "Green tea");
    let id = id_of(response.data()).to_owned();
    let response = app
        .patch(
            &format!("/api/products/{id}?{query}"),
            &resource_doc(
                "products",
                Some(&id),
                json!({ "sku": "TEA-2", "name": "Black tea" }),
                json!({}),
            ),
        )
        .await;
    response.assert_status(200);
    check(&response, "TEA-2", "Black tea");
    // The stored resource is whole: the fieldset only shaped the response.
    let stored = app.fetch("products", &id).await;
    assert_eq!(attr(&stored, "name"), "Black tea");
    assert_eq!(to_one_id(&stored, "category"), Some(category_id.as_str()));
}

#[tokio::test]
async fn a_bad_include_on_a_post_is_rejected_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/products?include=nope",
            &resource_doc(
                "products",
                None,
                crate::fixtures::product_attributes("BAD-INC"),
                json!({}),
            ),
        )
        .await;
    assert_error(
        &response,
        400,
        "filter constraint",
        Source::Parameter("include"),
    );
    assert!(app.list_all("products").await.is_empty());
}

/// A list page leaves an inverse to-many relationship's linkage out (links only: it would cost
/// a range read per resource) unless the request names it in `include` or `fields`; owned
/// relationships and a single resource always carry theirs.
#[tokio::test]
async fn a_list_reads_inverse_linkage_only_when_the_request_names_it() {
    let app = jsonapi_tests::shared_seeded();
    let one = |id: String| {
        let app = &app;
        async move { app.fetch("categories", &id).await }
    };
    let list = get_ok(&app, "/api/categories?page[size]=3").await;
    assert_eq!(primary(&list).len(), 3);
    for category in primary(&list) {
        let relationships = &category["relationships"];
        assert!(
            relationships["products"].get("data").is_none(),
            "{category}"
        );
        assert!(relationships["products"]["links"]["related"].is_string());
        assert!(relationships["parent"].get("data").is_some(), "{category}");
        let single = one(id_of(&category).to_owned()).await;
        assert!(single["relationships"]["products"]["data"].is_array());
    }
    let named = get_ok(
        &app,
        "/api/categories?page[size]=3&fields[categories]=name,products",
    )
    .await;
    for category in primary(&named) {
        let single = one(id_of(&category).to_owned()).await;
        assert_eq!(
            category["relationships"]["products"]["data"],
            single["relationships"]["products"]["data"]
        );
    }
    let including = get_ok(&app, "/api/categories?page[size]=3&include=products").await;
    for category in primary(&including) {
        let single = one(id_of(&category).to_owned()).await;
        assert_eq!(
            to_many_ids(&category, "products"),
            to_many_ids(&single, "products")
        );
        assert!(category["relationships"]["children"].get("data").is_none());
    }
}
