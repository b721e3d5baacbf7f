//! Relationship writes under contention (issue 11, class 1): forty writers at once on one
//! relationship, through every relationship endpoint (`POST`, `DELETE` and `PATCH` on an inverse
//! to-many, on an owned to-many, `PATCH` on a to-one), and deletions racing with writes that link
//! to what they delete. Each test counts what was acknowledged against what is stored afterwards,
//! and checks that both sides of every inverse pair agree and that no linkage dangles.
//!
//! JSON:API §7.2.2: a `POST` to a to-many relationship adds the members named (and only those),
//! a `DELETE` removes them; a `PATCH` replaces the whole set. A write answered 204 is stored.

use std::collections::BTreeSet;

use jsonapi_tests::values::{id_of, to_one_id};
use jsonapi_tests::{
    ApiClient, Method, Source, TestApp, TestResponse, Value, assert_error, json, to_one,
};

use crate::fixtures::{
    add_line_items, create_category, create_customer, create_order, create_product, create_user,
};
use crate::invariants::{
    CATEGORY_CHILDREN, CATEGORY_PRODUCTS, CUSTOMER_ORDERS, assert_inverse_agrees,
    assert_order_totals, at_once, member_set, send_linkage, statuses,
};

/// Writers sent at once in each test.
const WRITERS: usize = 40;

fn rel(ty: &str, id: &str, name: &str) -> String {
    format!("/api/{ty}/{id}/relationships/{name}")
}

fn ids(ty: &str, ids: &[&str]) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| json!({ "type": ty, "id": id }))
            .collect(),
    )
}

/// Asserts every response has `status`.
fn assert_all(responses: &[TestResponse], status: u16, what: &str) {
    for r in responses {
        assert_eq!(
            r.status.as_u16(),
            status,
            "{what}: {:?}\n{}",
            statuses(responses),
            r.describe()
        );
    }
}

async fn new_category(api: &ApiClient, name: &str) -> String {
    id_of(&create_category(api, name, None).await).to_owned()
}

/// `n` products created at once, in category `category` (or none); their ids.
async fn new_products(
    app: &TestApp,
    prefix: &str,
    n: usize,
    category: Option<&str>,
) -> Vec<String> {
    let relationships = match category {
        Some(c) => json!({ "category": to_one("categories", c) }),
        None => json!({}),
    };
    let created = at_once(n, |i| {
        let api = app.client();
        let relationships = relationships.clone();
        let sku = format!("{prefix}-{i:02}");
        async move {
            api.post(
                "/api/products",
                &jsonapi_tests::resource_doc(
                    "products",
                    None,
                    crate::fixtures::product_attributes(&sku),
                    relationships,
                ),
            )
            .await
        }
    })
    .await;
    assert_all(&created, 201, "creating the products");
    created.iter().map(|r| id_of(r.data()).to_owned()).collect()
}

/// `n` categories created at once; their ids.
async fn new_categories(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let created = at_once(n, |i| {
        let api = app.client();
        let name = format!("{prefix} {i}");
        async move {
            let doc =
                jsonapi_tests::resource_doc("categories", None, json!({ "name": name }), json!({}));
            api.post("/api/categories", &doc).await
        }
    })
    .await;
    assert_all(&created, 201, "creating the categories");
    created.iter().map(|r| id_of(r.data()).to_owned()).collect()
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_to_an_inverse_to_many_keep_every_member() {
    let app = TestApp::spawn().await;
    let category = new_category(&app, "Target").await;
    let products = new_products(&app, "ADD", WRITERS, None).await;
    let path = rel("categories", &category, "products");
    let answers = at_once(WRITERS, |i| {
        let (api, path, member) = (app.client(), path.clone(), products[i].clone());
        async move { send_linkage(&api, Method::POST, &path, ids("products", &[&member])).await }
    })
    .await;
    assert_all(&answers, 204, "adding one product each");
    assert_eq!(
        member_set(&app, "categories", &category, "products").await,
        set(&products)
    );
    assert_inverse_agrees(&app, CATEGORY_PRODUCTS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_removals_from_an_inverse_to_many_remove_exactly_the_named_members() {
    let app = TestApp::spawn().await;
    let category = new_category(&app, "Source").await;
    let products = new_products(&app, "DEL", WRITERS, Some(&category)).await;
    let path = rel("categories", &category, "products");
    // Every other writer removes its product; the rest must stay.
    let answers = at_once(WRITERS / 2, |i| {
        let (api, path, member) = (app.client(), path.clone(), products[2 * i].clone());
        async move { send_linkage(&api, Method::DELETE, &path, ids("products", &[&member])).await }
    })
    .await;
    assert_all(&answers, 204, "removing one product each");
    let kept: BTreeSet<String> = products.iter().skip(1).step_by(2).cloned().collect();
    assert_eq!(
        member_set(&app, "categories", &category, "products").await,
        kept
    );
    let members = assert_inverse_agrees(&app, CATEGORY_PRODUCTS).await;
    assert_eq!(members[&category], kept);
}

/// One writer's script: add (`true`) or remove (`false`) its product, through the category's
/// relationship endpoint or the product's to-one.
fn script(i: usize) -> Vec<(bool, bool)> {
    let ops = [true, false, true, false];
    let len = 1 + i % 4;
    (0..len)
        .map(|k| (ops[(i + k) % 4], (i + k).is_multiple_of(3)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_adds_and_removes_ends_as_the_acknowledged_writes_say() {
    let app = TestApp::spawn().await;
    let category = new_category(&app, "Storm").await;
    let inside = new_products(&app, "IN", WRITERS / 2, Some(&category)).await;
    let outside = new_products(&app, "OUT", WRITERS / 2, None).await;
    let products: Vec<String> = inside.iter().chain(&outside).cloned().collect();
    let members = at_once(WRITERS, |i| {
        let api = app.client();
        let (category, product) = (category.clone(), products[i].clone());
        async move {
            // Each writer runs its own script on its own product, one request after another;
            // the writers run at once. Every write is acknowledged, so the last one decides.
            let mut member = i < WRITERS / 2;
            for (add, through_product) in script(i) {
                let response = if through_product {
                    let target = if add {
                        json!({ "type": "categories", "id": category })
                    } else {
                        Value::Null
                    };
                    send_linkage(
                        &api,
                        Method::PATCH,
                        &rel("products", &product, "category"),
                        target,
                    )
                    .await
                } else {
                    let method = if add { Method::POST } else { Method::DELETE };
                    let path = rel("categories", &category, "products");
                    send_linkage(&api, method, &path, ids("products", &[&product])).await
                };
                assert_eq!(response.status.as_u16(), 204, "{}", response.describe());
                member = add;
            }
            member.then_some(product)
        }
    })
    .await;
    let expected: BTreeSet<String> = members.into_iter().flatten().collect();
    assert_eq!(
        member_set(&app, "categories", &category, "products").await,
        expected
    );
    assert_inverse_agrees(&app, CATEGORY_PRODUCTS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_replacements_of_an_inverse_to_many_leave_one_of_them_whole() {
    let app = TestApp::spawn().await;
    // A category's children: an inverse to-many whose members are cheap to rewrite (a
    // replacement rewrites every member that joins or leaves, in one transaction).
    let parent = new_category(&app, "Parent").await;
    let children = new_categories(&app, "Child", WRITERS).await;
    let extra = new_categories(&app, "Extra", WRITERS / 4).await;
    let path = rel("categories", &parent, "children");
    // Most writers replace the set with three children of their own; every fourth adds one
    // child no replacement names, at the same time.
    let adds = |i: usize| i % 4 == 3;
    let replacement = |i: usize| -> Vec<String> {
        (0..3)
            .map(|k| children[(i + k) % WRITERS].clone())
            .collect()
    };
    let answers = at_once(WRITERS, |i| {
        let api = app.client();
        let path = path.clone();
        let (method, members) = if adds(i) {
            (Method::POST, vec![extra[i / 4].clone()])
        } else {
            (Method::PATCH, replacement(i))
        };
        async move {
            let refs: Vec<&str> = members.iter().map(String::as_str).collect();
            send_linkage(&api, method, &path, ids("categories", &refs)).await
        }
    })
    .await;
    assert_all(&answers, 204, "replacing and adding");
    let stored = member_set(&app, "categories", &parent, "children").await;
    let replaced: BTreeSet<String> = stored.intersection(&set(&children)).cloned().collect();
    assert!(
        (0..WRITERS).any(|i| !adds(i) && set(&replacement(i)) == replaced),
        "the stored members {replaced:?} are not any one replacement"
    );
    let named: BTreeSet<String> = set(&children).union(&set(&extra)).cloned().collect();
    assert!(stored.is_subset(&named), "{stored:?}");
    assert_inverse_agrees(&app, CATEGORY_CHILDREN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_patches_of_a_to_one_leave_both_sides_agreeing() {
    let app = TestApp::spawn().await;
    let mut categories = Vec::new();
    for name in ["A", "B", "C", "D", "E"] {
        categories.push(new_category(&app, name).await);
    }
    let products = new_products(&app, "ONE", 4, None).await;
    let target = |i: usize| (i % 10 != 9).then(|| categories[i % 5].clone());
    let answers = at_once(WRITERS, |i| {
        let api = app.client();
        let path = rel("products", &products[i % 4], "category");
        let data = target(i).map_or(Value::Null, |c| json!({ "type": "categories", "id": c }));
        async move { send_linkage(&api, Method::PATCH, &path, data).await }
    })
    .await;
    assert_all(&answers, 204, "setting the category");
    for (p, product) in products.iter().enumerate() {
        let stored =
            to_one_id(&app.fetch("products", product).await, "category").map(str::to_owned);
        assert!(
            (0..WRITERS).any(|i| i % 4 == p && target(i) == stored),
            "product {product} has the category {stored:?}, which no writer sent"
        );
    }
    assert_inverse_agrees(&app, CATEGORY_PRODUCTS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_moves_of_line_items_into_an_order_are_all_applied() {
    let app = TestApp::spawn().await;
    let customer = id_of(&create_customer(&app, "Ada", "ada@example.com").await).to_owned();
    let product = id_of(&create_product(&app, "LINE-1").await).to_owned();
    let from = create_order(&app, &customer).await;
    let to = create_order(&app, &customer).await;
    let prices: Vec<(i64, String)> = (0..WRITERS)
        .map(|i| (1 + i as i64 % 3, format!("{}.25", i + 1)))
        .collect();
    let items = add_line_items(&app, &from, &product, &prices).await;
    assert_order_totals(&app).await;
    // An add never removes a member: moving line items in one at a time, all at once.
    let path = rel("orders", &to, "lineItems");
    let answers = at_once(WRITERS, |i| {
        let (api, path, item) = (app.client(), path.clone(), items[i].clone());
        async move { send_linkage(&api, Method::POST, &path, ids("orderlineitems", &[&item])).await }
    })
    .await;
    assert_all(&answers, 204, "moving one line item each");
    assert_eq!(
        member_set(&app, "orders", &to, "lineItems").await,
        set(&items)
    );
    let totals = assert_order_totals(&app).await;
    assert_eq!(totals[&from], 0);
    // A line item cannot leave its order without another (its order is required): refused at
    // the identifier, nothing removed.
    let refused = send_linkage(
        &app,
        Method::DELETE,
        &path,
        ids("orderlineitems", &[&items[0]]),
    )
    .await;
    assert_error(&refused, 400, "form constraint", Source::Pointer("/data/0"));
    assert_eq!(
        member_set(&app, "orders", &to, "lineItems").await,
        set(&items)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_and_removals_on_an_owned_to_many_are_all_kept() {
    let app = TestApp::spawn().await;
    let roles = at_once(WRITERS, |i| {
        let api = app.client();
        async move {
            let doc = json!({ "data": { "type": "roles", "id": format!("role-{i:02}"),
                "attributes": { "label": format!("Role {i}") } } });
            api.post("/api/roles", &doc).await
        }
    })
    .await;
    assert_all(&roles, 201, "creating roles");
    let roles: Vec<String> = roles.iter().map(|r| id_of(r.data()).to_owned()).collect();
    let user = create_user(&app, "ada").await;
    let path = rel("users", &user, "roles");
    let answers = at_once(WRITERS, |i| {
        let (api, path, role) = (app.client(), path.clone(), roles[i].clone());
        async move { send_linkage(&api, Method::POST, &path, ids("roles", &[&role])).await }
    })
    .await;
    assert_all(&answers, 204, "adding one role each");
    assert_eq!(member_set(&app, "users", &user, "roles").await, set(&roles));
    // Even writers remove their role; odd ones remove it and add it back.
    let answers = at_once(WRITERS, |i| {
        let (api, path, role) = (app.client(), path.clone(), roles[i].clone());
        async move {
            let removed = send_linkage(&api, Method::DELETE, &path, ids("roles", &[&role])).await;
            if i % 2 == 0 {
                return removed;
            }
            assert_eq!(removed.status.as_u16(), 204, "{}", removed.describe());
            send_linkage(&api, Method::POST, &path, ids("roles", &[&role])).await
        }
    })
    .await;
    assert_all(&answers, 204, "removing and adding back");
    let odd: BTreeSet<String> = roles.iter().skip(1).step_by(2).cloned().collect();
    assert_eq!(member_set(&app, "users", &user, "roles").await, odd);
}

/// The deletion races are run as four groups at once, each of one deletion and nine writes
/// linking to what it deletes: a deletion that nullifies or cascades rewrites every resource
/// linked before it, and nine of them fit one transaction.
const GROUPS: usize = 4;
const GROUP: usize = WRITERS / GROUPS;

/// Whether writer `i` is its group's deletion (the middle one), and its group.
fn deleter(i: usize) -> (bool, usize) {
    (i % GROUP == GROUP / 2, i / GROUP)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_category_while_products_join_it_leaves_no_dangling_linkage() {
    let app = TestApp::spawn().await;
    let mut categories = Vec::new();
    for g in 0..GROUPS {
        categories.push(new_category(&app, &format!("Doomed {g}")).await);
    }
    let answers = at_once(WRITERS, |i| {
        let api = app.client();
        let (deletes, group) = deleter(i);
        let category = categories[group].clone();
        async move {
            if deletes {
                return api.delete(&format!("/api/categories/{category}")).await;
            }
            let doc = jsonapi_tests::resource_doc(
                "products",
                None,
                crate::fixtures::product_attributes(&format!("JOIN-{i:02}")),
                json!({ "category": to_one("categories", &category) }),
            );
            api.post("/api/products", &doc).await
        }
    })
    .await;
    let mut acknowledged = BTreeSet::new();
    for (i, r) in answers.iter().enumerate() {
        match (deleter(i).0, r.status.as_u16()) {
            (true, status) => assert_eq!(status, 204, "{}", r.describe()),
            (false, 201) => {
                acknowledged.insert(id_of(r.data()).to_owned());
            }
            // Sent after the deletion: the category is gone.
            (false, _) => {
                assert_error(
                    r,
                    400,
                    "form constraint",
                    Source::Pointer("/data/relationships/category/data"),
                );
            }
        }
    }
    for category in &categories {
        app.get(&format!("/api/categories/{category}"))
            .await
            .assert_status(404);
    }
    // Products created before the deletion lost their category (nullify); none points at it.
    let stored = app.list_all("products").await;
    let stored_ids: BTreeSet<String> = stored.iter().map(|p| id_of(p).to_owned()).collect();
    assert_eq!(stored_ids, acknowledged);
    for p in &stored {
        assert_eq!(to_one_id(p, "category"), None, "{p}");
    }
    assert_inverse_agrees(&app, CATEGORY_PRODUCTS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_customer_while_orders_are_placed_is_refused_or_leaves_no_order() {
    let app = TestApp::spawn().await;
    let mut customers = Vec::new();
    for g in 0..GROUPS {
        let email = format!("ada{g}@example.com");
        customers.push(id_of(&create_customer(&app, "Ada", &email).await).to_owned());
    }
    let answers = at_once(WRITERS, |i| {
        let api = app.client();
        let (deletes, group) = deleter(i);
        let customer = customers[group].clone();
        async move {
            if deletes {
                return api.delete(&format!("/api/customers/{customer}")).await;
            }
            let doc = jsonapi_tests::resource_doc(
                "orders",
                None,
                json!({ "poNumber": format!("PO-{i}") }),
                json!({ "customer": to_one("customers", &customer) }),
            );
            api.post("/api/orders", &doc).await
        }
    })
    .await;
    let mut placed = BTreeSet::new();
    for g in 0..GROUPS {
        let group = &answers[g * GROUP..(g + 1) * GROUP];
        let mine: BTreeSet<String> = group
            .iter()
            .filter(|r| r.status.as_u16() == 201)
            .map(|r| id_of(r.data()).to_owned())
            .collect();
        let deleted = &group[GROUP / 2];
        match deleted.status.as_u16() {
            // Restrict: orders placed first keep the customer.
            409 => assert!(!mine.is_empty()),
            // Deleted first: every later order was refused.
            204 => assert!(mine.is_empty(), "{mine:?} placed for a deleted customer"),
            other => panic!("{other}: {}", deleted.describe()),
        }
        placed.extend(mine);
    }
    let stored: BTreeSet<String> = app
        .list_all("orders")
        .await
        .iter()
        .map(|o| id_of(o).to_owned())
        .collect();
    assert_eq!(stored, placed);
    assert_inverse_agrees(&app, CUSTOMER_ORDERS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_order_while_line_items_are_added_leaves_no_orphan() {
    let app = TestApp::spawn().await;
    let customer = id_of(&create_customer(&app, "Ada", "ada@example.com").await).to_owned();
    let product = id_of(&create_product(&app, "ORPHAN-1").await).to_owned();
    let mut orders = Vec::new();
    for _ in 0..GROUPS {
        orders.push(create_order(&app, &customer).await);
    }
    let answers = at_once(WRITERS, |i| {
        let api = app.client();
        let (deletes, group) = deleter(i);
        let (order, product) = (orders[group].clone(), product.clone());
        async move {
            if deletes {
                return api.delete(&format!("/api/orders/{order}")).await;
            }
            let doc = jsonapi_tests::resource_doc(
                "orderlineitems",
                None,
                json!({ "quantity": 1, "price": "1.00" }),
                json!({ "order": to_one("orders", &order), "product": to_one("products", &product) }),
            );
            api.post("/api/orderlineitems", &doc).await
        }
    })
    .await;
    for (i, r) in answers.iter().enumerate() {
        let expected: &[u16] = if deleter(i).0 { &[204] } else { &[201, 400] };
        assert!(expected.contains(&r.status.as_u16()), "{}", r.describe());
    }
    // The cascade took the line items created before the deletion; the later ones were refused.
    assert!(app.list_all("orderlineitems").await.is_empty());
    assert!(app.list_all("orders").await.is_empty());
    assert_order_totals(&app).await;
}
