//! Related-resource routes and relationship endpoints: `GET /api/{type}/{id}/{rel}` with the
//! query language, `GET|PATCH|POST|DELETE /api/{type}/{id}/relationships/{rel}`, inverse sides
//! agreeing whichever side was written, and deletes leaving no dangling linkage (Oro §1.1;
//! acceptance rows 11, 13–15; JSON:API checklist C6, K).

use jsonapi_tests::values::{assert_decimal, attr, id_of, to_many_ids, to_one_id};
use jsonapi_tests::{
    ApiClient, MT, Method, Source, TestApp, TestResponse, Value, assert_error, assert_error_detail,
    json, to_one,
};

use crate::fixtures::{
    create_category, create_customer, create_line_item, create_order, create_product, unique_email,
};
use crate::query_support::{
    all_of, assert_ids, dec_attr, dec_units, get_ok, ids_sorted_by, included_keys, link,
    member_names, names, num_id,
};

fn rel(ty: &str, id: &str, name: &str) -> String {
    format!("/api/{ty}/{id}/relationships/{name}")
}

fn identifiers(ty: &str, ids: &[&str]) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| json!({ "type": ty, "id": id }))
            .collect(),
    )
}

async fn patch_rel(api: &ApiClient, path: &str, data: Value) -> TestResponse {
    api.patch(path, &json!({ "data": data })).await
}

async fn post_rel(api: &ApiClient, path: &str, data: Value) -> TestResponse {
    api.post(path, &json!({ "data": data })).await
}

async fn delete_rel(api: &ApiClient, path: &str, data: Value) -> TestResponse {
    let body = json!({ "data": data }).to_string();
    api.request(
        Method::DELETE,
        path,
        &[("Accept", MT), ("Content-Type", MT)],
        Some(&body),
    )
    .await
}

/// Asserts a relationship write succeeded with 204 and no body.
fn assert_no_content(response: &TestResponse) {
    response.assert_status(204);
    assert!(response.raw.is_empty(), "{}", response.describe());
}

/// The ids of a to-many relationship as its relationship endpoint shows them, sorted.
async fn members(api: &ApiClient, ty: &str, id: &str, name: &str) -> Vec<String> {
    let response = get_ok(api, &format!("{}?page[size]=-1", rel(ty, id, name))).await;
    let mut ids = response.ids();
    ids.sort_by_key(|id| id.parse::<u64>().unwrap_or(u64::MAX));
    ids
}

/// The id of a to-one relationship, read from the resource.
async fn one(api: &ApiClient, ty: &str, id: &str, name: &str) -> Option<String> {
    let resource = api.fetch(ty, id).await;
    to_one_id(&resource, name).map(str::to_owned)
}

fn strings(list: &[&String]) -> Vec<String> {
    list.iter().map(|s| (*s).clone()).collect()
}

async fn new_category(api: &ApiClient, name: &str) -> String {
    id_of(&create_category(api, name, None).await).to_owned()
}

async fn new_product(api: &ApiClient, sku: &str, category: Option<&str>) -> String {
    let relationships = match category {
        Some(c) => json!({ "category": to_one("categories", c) }),
        None => json!({}),
    };
    let product = api
        .create(
            "products",
            crate::fixtures::product_attributes(sku),
            relationships,
        )
        .await;
    id_of(&product).to_owned()
}

#[tokio::test]
async fn a_related_collection_takes_filters_sort_paging_fields_and_include() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let keep =
        |p: &Value| to_one_id(p, "category") == Some("1") && dec_attr(p, "price") > dec_units("20");
    let expected = ids_sorted_by(&products, keep, |a, b| {
        dec_attr(b, "price").cmp(&dec_attr(a, "price"))
    });
    assert!(expected.len() > 3, "the seed gives enough matches");
    let response = get_ok(
        &app,
        "/api/categories/1/products?filter[price][gt]=20&sort=-price&page[size]=2&page[number]=2&fields[products]=sku,price,category&include=category",
    )
    .await;
    assert_ids(&response, &expected[2..4], "page 2 of 2");
    for product in response.items() {
        assert_eq!(
            member_names(product, "attributes"),
            names(&["sku", "price"])
        );
        assert_eq!(member_names(product, "relationships"), names(&["category"]));
    }
    assert_eq!(
        included_keys(&response),
        [("categories".to_owned(), "1".to_owned())].into()
    );
    let next = link(&response, "next").expect("a next link");
    assert!(next.contains("/api/categories/1/products?"), "{next}");
}

#[tokio::test]
async fn a_relationship_endpoint_lists_identifiers_with_self_and_related_links() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let response = get_ok(
        &app,
        "/api/categories/1/relationships/products?page[size]=-1",
    )
    .await;
    let expected = ids_sorted_by(
        &products,
        |p| to_one_id(p, "category") == Some("1"),
        |a, b| num_id(a).cmp(&num_id(b)),
    );
    assert_ids(&response, &expected, "the products of category 1");
    for identifier in response.items() {
        assert_eq!(identifier["type"], "products");
        assert!(identifier.get("attributes").is_none(), "{identifier}");
        assert!(identifier.get("relationships").is_none(), "{identifier}");
    }
    assert_eq!(
        link(&response, "self").map(|l| l.split('?').next().unwrap_or(l)),
        Some(app.url("/api/categories/1/relationships/products").as_str())
    );
    assert_eq!(
        link(&response, "related"),
        Some(app.url("/api/categories/1/products").as_str())
    );
    let product = &products[2];
    let response = get_ok(&app, &rel("products", id_of(product), "category")).await;
    assert_eq!(
        response.data(),
        &json!({ "type": "categories", "id": to_one_id(product, "category") })
    );
    assert_eq!(
        link(&response, "related"),
        Some(
            app.url(&format!("/api/products/{}/category", id_of(product)))
                .as_str()
        )
    );
}

#[tokio::test]
async fn patching_a_to_one_relationship_sets_and_clears_it_on_both_sides() {
    let app = jsonapi_tests::shared_scratch();
    let a = new_category(&app, "A").await;
    let b = new_category(&app, "B").await;
    let product = new_product(&app, "MOVE-1", Some(&a)).await;
    let path = rel("products", &product, "category");
    assert_no_content(&patch_rel(&app, &path, json!({ "type": "categories", "id": b })).await);
    assert_eq!(
        one(&app, "products", &product, "category").await,
        Some(b.clone())
    );
    assert!(members(&app, "categories", &a, "products").await.is_empty());
    assert_eq!(
        members(&app, "categories", &b, "products").await,
        vec![product.clone()]
    );
    let related = get_ok(&app, &format!("/api/products/{product}/category")).await;
    assert_eq!(id_of(related.data()), b);
    assert_no_content(&patch_rel(&app, &path, Value::Null).await);
    assert_eq!(one(&app, "products", &product, "category").await, None);
    assert!(members(&app, "categories", &b, "products").await.is_empty());
    let related = get_ok(&app, &format!("/api/products/{product}/category")).await;
    assert_eq!(related.data(), &Value::Null);
    let linkage = get_ok(&app, &path).await;
    assert_eq!(linkage.data(), &Value::Null);
    // The product's attributes were left alone.
    let stored = app.fetch("products", &product).await;
    assert_eq!(attr(&stored, "sku"), "MOVE-1");
}

#[tokio::test]
async fn patching_a_to_many_relationship_replaces_its_members_on_both_sides() {
    let app = TestApp::spawn().await;
    let c = new_category(&app, "C").await;
    let d = new_category(&app, "D").await;
    let p1 = new_product(&app, "R-1", Some(&c)).await;
    let p2 = new_product(&app, "R-2", Some(&c)).await;
    let p3 = new_product(&app, "R-3", Some(&d)).await;
    let path = rel("categories", &c, "products");
    assert_no_content(&patch_rel(&app, &path, identifiers("products", &[&p2, &p3])).await);
    assert_eq!(
        members(&app, "categories", &c, "products").await,
        strings(&[&p2, &p3])
    );
    assert_eq!(one(&app, "products", &p1, "category").await, None);
    assert_eq!(
        one(&app, "products", &p2, "category").await,
        Some(c.clone())
    );
    assert_eq!(
        one(&app, "products", &p3, "category").await,
        Some(c.clone())
    );
    assert!(members(&app, "categories", &d, "products").await.is_empty());
    assert_no_content(&patch_rel(&app, &path, json!([])).await);
    assert!(members(&app, "categories", &c, "products").await.is_empty());
    for p in [&p1, &p2, &p3] {
        assert_eq!(one(&app, "products", p, "category").await, None);
    }
    // A to-many without an inverse: a user's roles.
    for (id, label) in [("r1", "One"), ("r2", "Two"), ("r3", "Three")] {
        app.post(
            "/api/roles",
            &jsonapi_tests::resource_doc("roles", Some(id), json!({ "label": label }), json!({})),
        )
        .await
        .assert_status(201);
    }
    let user = app
        .create(
            "users",
            json!({ "username": "ada", "email": "ada@example.com" }),
            json!({ "roles": jsonapi_tests::to_many("roles", &["r1"]) }),
        )
        .await;
    let user = id_of(&user).to_owned();
    let path = rel("users", &user, "roles");
    assert_no_content(&patch_rel(&app, &path, identifiers("roles", &["r2", "r3"])).await);
    let stored = app.fetch("users", &user).await;
    assert_eq!(to_many_ids(&stored, "roles"), vec!["r2", "r3"]);
}

#[tokio::test]
async fn posting_to_a_to_many_relationship_adds_members_without_duplicates() {
    let app = TestApp::spawn().await;
    for (id, label) in [("r1", "One"), ("r2", "Two")] {
        app.post(
            "/api/roles",
            &jsonapi_tests::resource_doc("roles", Some(id), json!({ "label": label }), json!({})),
        )
        .await
        .assert_status(201);
    }
    let user = app
        .create(
            "users",
            json!({ "username": "ada", "email": "ada@example.com" }),
            json!({ "roles": jsonapi_tests::to_many("roles", &["r1"]) }),
        )
        .await;
    let user = id_of(&user).to_owned();
    let path = rel("users", &user, "roles");
    assert_no_content(&post_rel(&app, &path, identifiers("roles", &["r1", "r2"])).await);
    let roles = |u: Value| to_many_ids(&u, "roles");
    assert_eq!(roles(app.fetch("users", &user).await), vec!["r1", "r2"]);
    assert_no_content(&post_rel(&app, &path, identifiers("roles", &["r2"])).await);
    assert_eq!(roles(app.fetch("users", &user).await), vec!["r1", "r2"]);
    // Adding to an inverse to-many moves the member from its old owner.
    let c = new_category(&app, "C").await;
    let d = new_category(&app, "D").await;
    let p1 = new_product(&app, "A-1", Some(&c)).await;
    let p2 = new_product(&app, "A-2", Some(&d)).await;
    let p3 = new_product(&app, "A-3", None).await;
    let path = rel("categories", &c, "products");
    assert_no_content(&post_rel(&app, &path, identifiers("products", &[&p1, &p2, &p3])).await);
    assert_eq!(
        members(&app, "categories", &c, "products").await,
        strings(&[&p1, &p2, &p3])
    );
    assert!(members(&app, "categories", &d, "products").await.is_empty());
    assert_eq!(
        one(&app, "products", &p2, "category").await,
        Some(c.clone())
    );
    assert_eq!(
        one(&app, "products", &p3, "category").await,
        Some(c.clone())
    );
}

#[tokio::test]
async fn deleting_from_a_to_many_relationship_removes_members_and_ignores_absent_ones() {
    let app = TestApp::spawn().await;
    for (id, label) in [("r1", "One"), ("r2", "Two"), ("r3", "Three")] {
        app.post(
            "/api/roles",
            &jsonapi_tests::resource_doc("roles", Some(id), json!({ "label": label }), json!({})),
        )
        .await
        .assert_status(201);
    }
    let user = app
        .create(
            "users",
            json!({ "username": "ada", "email": "ada@example.com" }),
            json!({ "roles": jsonapi_tests::to_many("roles", &["r1", "r2"]) }),
        )
        .await;
    let user = id_of(&user).to_owned();
    let path = rel("users", &user, "roles");
    // r3 is not a member: removing it is fine.
    assert_no_content(&delete_rel(&app, &path, identifiers("roles", &["r2", "r3"])).await);
    assert_eq!(
        to_many_ids(&app.fetch("users", &user).await, "roles"),
        vec!["r1"]
    );
    assert_no_content(&delete_rel(&app, &path, identifiers("roles", &["r2"])).await);
    assert_eq!(
        to_many_ids(&app.fetch("users", &user).await, "roles"),
        vec!["r1"]
    );
    // The roles themselves are untouched.
    app.fetch("roles", "r2").await;
    let c = new_category(&app, "C").await;
    let d = new_category(&app, "D").await;
    let p1 = new_product(&app, "D-1", Some(&c)).await;
    let p2 = new_product(&app, "D-2", Some(&c)).await;
    let elsewhere = new_product(&app, "D-3", Some(&d)).await;
    let path = rel("categories", &c, "products");
    // Removing a product that belongs to another category leaves it there.
    assert_no_content(&delete_rel(&app, &path, identifiers("products", &[&p1, &elsewhere])).await);
    assert_eq!(
        members(&app, "categories", &c, "products").await,
        vec![p2.clone()]
    );
    assert_eq!(one(&app, "products", &p1, "category").await, None);
    assert_eq!(
        one(&app, "products", &elsewhere, "category").await,
        Some(d.clone())
    );
    assert_eq!(
        members(&app, "categories", &d, "products").await,
        vec![elsewhere.clone()]
    );
    app.fetch("products", &p1).await;
}

#[tokio::test]
async fn post_and_delete_on_a_to_one_relationship_are_not_allowed() {
    let app = jsonapi_tests::shared_scratch();
    let c = new_category(&app, "C").await;
    let product = new_product(&app, "ONE-1", Some(&c)).await;
    let path = rel("products", &product, "category");
    let data = json!({ "type": "categories", "id": c });
    for response in [
        post_rel(&app, &path, data.clone()).await,
        delete_rel(&app, &path, data.clone()).await,
    ] {
        response.assert_status(405);
        let allow = response.allow();
        for method in ["GET", "PATCH"] {
            assert!(
                allow.contains(&method.to_owned()),
                "{}",
                response.describe()
            );
        }
        for method in ["POST", "DELETE"] {
            assert!(
                !allow.contains(&method.to_owned()),
                "{}",
                response.describe()
            );
        }
    }
    assert_eq!(one(&app, "products", &product, "category").await, Some(c));
}

#[tokio::test]
async fn relationship_bodies_of_the_wrong_shape_are_rejected() {
    let app = jsonapi_tests::shared_scratch();
    let c = new_category(&app, "C").await;
    let product = new_product(&app, "SHAPE-1", Some(&c)).await;
    let to_many = rel("categories", &c, "products");
    let single = json!({ "type": "products", "id": product });
    for response in [
        patch_rel(&app, &to_many, single.clone()).await,
        post_rel(&app, &to_many, single.clone()).await,
        delete_rel(&app, &to_many, single.clone()).await,
        patch_rel(&app, &to_many, Value::Null).await,
        patch_rel(
            &app,
            &rel("products", &product, "category"),
            identifiers("categories", &[&c]),
        )
        .await,
    ] {
        assert_error(
            &response,
            400,
            "request data constraint",
            Source::Pointer("/data"),
        );
    }
    let response = app.patch(&to_many, &json!({ "meta": {} })).await;
    response.assert_status(400);
    assert_eq!(
        members(&app, "categories", &c, "products").await,
        vec![product]
    );
}

#[tokio::test]
async fn a_member_that_does_not_exist_is_refused_as_in_a_body_and_nothing_changes() {
    let app = jsonapi_tests::shared_scratch();
    let c = new_category(&app, "C").await;
    let p1 = new_product(&app, "NF-1", Some(&c)).await;
    let p2 = new_product(&app, "NF-2", None).await;
    let to_many = rel("categories", &c, "products");
    for response in [
        post_rel(&app, &to_many, identifiers("products", &[&p2, "9999"])).await,
        patch_rel(&app, &to_many, identifiers("products", &[&p2, "9999"])).await,
    ] {
        assert_error_detail(
            &response,
            400,
            "form constraint",
            Source::Pointer("/data/1"),
            "The entity does not exist.",
        );
    }
    assert_eq!(
        members(&app, "categories", &c, "products").await,
        vec![p1.clone()]
    );
    assert_eq!(one(&app, "products", &p2, "category").await, None);
    let response = patch_rel(
        &app,
        &rel("products", &p1, "category"),
        json!({ "type": "categories", "id": "9999" }),
    )
    .await;
    assert_error_detail(
        &response,
        400,
        "form constraint",
        Source::Pointer("/data"),
        "The entity does not exist.",
    );
    assert_eq!(
        one(&app, "products", &p1, "category").await,
        Some(c.clone())
    );
    // The resource of the URL itself missing is a 404 too.
    let response = patch_rel(&app, &rel("products", "9999", "category"), Value::Null).await;
    response.assert_status(404);
}

#[tokio::test]
async fn a_line_item_moved_by_either_side_moves_on_both_and_the_totals_follow() {
    let app = jsonapi_tests::shared_scratch();
    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let product = create_product(&app, "MOVE-LI").await;
    let first = create_order(&app, id_of(&customer)).await;
    let second = create_order(&app, id_of(&customer)).await;
    let item = create_line_item(&app, &first, id_of(&product), 3, "2.50").await;
    let other = create_line_item(&app, &first, id_of(&product), 1, "4.00").await;
    let total = |order: Value| attr(&order, "total").clone();
    assert_decimal(&total(app.fetch("orders", &first).await), "11.50");
    // The to-one side.
    assert_no_content(
        &patch_rel(
            &app,
            &rel("orderlineitems", &item, "order"),
            json!({ "type": "orders", "id": second }),
        )
        .await,
    );
    assert_eq!(
        members(&app, "orders", &first, "lineItems").await,
        vec![other.clone()]
    );
    assert_eq!(
        members(&app, "orders", &second, "lineItems").await,
        vec![item.clone()]
    );
    assert_decimal(&total(app.fetch("orders", &first).await), "4.00");
    assert_decimal(&total(app.fetch("orders", &second).await), "7.50");
    // The to-many side.
    assert_no_content(
        &post_rel(
            &app,
            &rel("orders", &first, "lineItems"),
            identifiers("orderlineitems", &[&item]),
        )
        .await,
    );
    assert_eq!(
        one(&app, "orderlineitems", &item, "order").await,
        Some(first.clone())
    );
    assert_eq!(
        members(&app, "orders", &first, "lineItems").await,
        strings(&[&item, &other])
    );
    assert!(
        members(&app, "orders", &second, "lineItems")
            .await
            .is_empty()
    );
    assert_decimal(&total(app.fetch("orders", &first).await), "11.50");
    assert_decimal(&total(app.fetch("orders", &second).await), "0");
}

#[tokio::test]
async fn a_parent_set_from_either_side_shows_on_both() {
    let app = jsonapi_tests::shared_scratch();
    let parent = new_category(&app, "Parent").await;
    let a = new_category(&app, "A").await;
    let b = new_category(&app, "B").await;
    assert_no_content(
        &patch_rel(
            &app,
            &rel("categories", &a, "parent"),
            json!({ "type": "categories", "id": parent }),
        )
        .await,
    );
    assert_eq!(
        members(&app, "categories", &parent, "children").await,
        vec![a.clone()]
    );
    assert_no_content(
        &post_rel(
            &app,
            &rel("categories", &parent, "children"),
            identifiers("categories", &[&b]),
        )
        .await,
    );
    assert_eq!(
        one(&app, "categories", &b, "parent").await,
        Some(parent.clone())
    );
    let children = get_ok(&app, &format!("/api/categories/{parent}/children")).await;
    assert_eq!(children.ids(), strings(&[&a, &b]));
    assert_no_content(&patch_rel(&app, &rel("categories", &parent, "children"), json!([])).await);
    assert_eq!(one(&app, "categories", &a, "parent").await, None);
    assert_eq!(one(&app, "categories", &b, "parent").await, None);
    assert_eq!(
        to_many_ids(&app.fetch("categories", &parent).await, "children"),
        Vec::<String>::new()
    );
}

/// A category made its own child, through the inverse side, is its own parent, as when it is
/// made its own parent; and released the same way.
#[tokio::test]
async fn a_resource_linked_to_itself_through_the_inverse_side_is_linked() {
    let app = jsonapi_tests::shared_scratch();
    let own = new_category(&app, "Own").await;
    let children = rel("categories", &own, "children");
    for patch in [false, true] {
        let linked = if patch {
            patch_rel(&app, &children, identifiers("categories", &[&own])).await
        } else {
            post_rel(&app, &children, identifiers("categories", &[&own])).await
        };
        assert_no_content(&linked);
        assert_eq!(
            one(&app, "categories", &own, "parent").await,
            Some(own.clone())
        );
        assert_eq!(
            members(&app, "categories", &own, "children").await,
            vec![own.clone()]
        );
        assert_no_content(&delete_rel(&app, &children, identifiers("categories", &[&own])).await);
        assert_eq!(one(&app, "categories", &own, "parent").await, None);
    }
}

#[tokio::test]
async fn deleting_a_resource_leaves_no_dangling_linkage() {
    let app = jsonapi_tests::shared_scratch();
    let parent = new_category(&app, "Parent").await;
    let category = id_of(&create_category(&app, "Child", Some(&parent)).await).to_owned();
    let grandchild = id_of(&create_category(&app, "Grandchild", Some(&category)).await).to_owned();
    let product = new_product(&app, "DANGLE-1", Some(&category)).await;
    assert_no_content(&app.delete(&format!("/api/categories/{category}")).await);
    assert_eq!(one(&app, "products", &product, "category").await, None);
    assert_eq!(one(&app, "categories", &grandchild, "parent").await, None);
    assert!(
        members(&app, "categories", &parent, "children")
            .await
            .is_empty()
    );
    let related = get_ok(&app, &format!("/api/products/{product}/category")).await;
    assert_eq!(related.data(), &Value::Null);
}

#[tokio::test]
async fn deleting_an_order_removes_its_line_items_everywhere() {
    let app = jsonapi_tests::shared_scratch();
    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let product = create_product(&app, "CASCADE-1").await;
    let order = create_order(&app, id_of(&customer)).await;
    let item = create_line_item(&app, &order, id_of(&product), 1, "1.00").await;
    assert_no_content(&app.delete(&format!("/api/orders/{order}")).await);
    app.get(&format!("/api/orderlineitems/{item}"))
        .await
        .assert_status(404);
    let listed = get_ok(&app, &format!("/api/orderlineitems?filter[order]={order}")).await;
    assert!(listed.items().is_empty());
    let by_product = get_ok(
        &app,
        &format!("/api/orderlineitems?filter[product]={}", id_of(&product)),
    )
    .await;
    assert!(by_product.items().is_empty());
    assert!(
        members(&app, "customers", id_of(&customer), "orders")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_customer_with_orders_cannot_be_deleted() {
    let app = jsonapi_tests::shared_scratch();
    let customer = create_customer(&app, "Ada", &unique_email("ada")).await;
    let customer = id_of(&customer).to_owned();
    let order = create_order(&app, &customer).await;
    let response = app.delete(&format!("/api/customers/{customer}")).await;
    response.assert_status(409);
    assert!(
        response.errors().iter().any(|e| e["status"] == "409"),
        "{}",
        response.describe()
    );
    app.fetch("customers", &customer).await;
    assert_eq!(
        one(&app, "orders", &order, "customer").await,
        Some(customer.clone())
    );
    // Once its orders are gone, it can.
    assert_no_content(&app.delete(&format!("/api/orders/{order}")).await);
    assert_no_content(&app.delete(&format!("/api/customers/{customer}")).await);
}
