//! A property-based test of the write path (issue 11): generated sequences of writes, sent by
//! several clients at once to a fresh server, after which the stored data must be what the
//! acknowledged writes say, and nothing a refused write would have done.
//!
//! Each client owns the products and line items it creates and runs its sequence one request
//! after another; the clients share three categories, two orders and a pool of SKUs, so their
//! writes interleave on shared resources: moves between categories through every relationship
//! endpoint, line items moved between orders (whose totals every line item write changes),
//! creates and upserts racing for one SKU. Each client keeps a model of what it owns, so the
//! check after a case is exact: every acknowledged write is stored, every refused one left no
//! trace (its marker name is nowhere), both sides of every inverse pair agree, counts agree with
//! listings, and every order's total is the sum of its line items.
//!
//! Cases: `JSONAPI_PROPTEST_CASES` (default 4: about 1 s on the embedded store, 55 s on DynamoDB
//! Local here; a case is a new server and up to 40 writes).

use std::collections::BTreeSet;

use jsonapi_tests::values::{attr, id_of, to_one_id};
use jsonapi_tests::{ApiClient, Method, TestApp, TestResponse, Value, json, to_one};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::fixtures::{create_category, create_customer, create_order, product_attributes};
use crate::invariants::{
    CATEGORY_PRODUCTS, CUSTOMER_ORDERS, assert_inverse_agrees, assert_order_totals, at_once, by_id,
    send_linkage, total_count,
};

const CATEGORIES: usize = 3;
const ORDERS: usize = 2;
const SLOTS: usize = 3;
const SHARED_SKUS: usize = 2;

/// How a product changes category.
#[derive(Debug, Clone, Copy)]
enum Via {
    /// `PATCH /products/{id}/relationships/category`.
    ToOne,
    /// `POST` (to join) or `DELETE` (to leave) on the category's `products`.
    Category,
}

/// One write of a client; slots name the products and line items the client owns.
#[derive(Debug, Clone)]
enum Op {
    CreateProduct {
        slot: usize,
        category: Option<usize>,
    },
    RenameProduct {
        slot: usize,
    },
    DeleteProduct {
        slot: usize,
    },
    SetCategory {
        slot: usize,
        category: Option<usize>,
        via: Via,
    },
    CreateShared {
        sku: usize,
    },
    UpsertShared {
        sku: usize,
    },
    AddLineItem {
        item: usize,
        order: usize,
        product: usize,
        quantity: i64,
    },
    MoveLineItem {
        item: usize,
        order: usize,
    },
    SetQuantity {
        item: usize,
        quantity: i64,
    },
    DeleteLineItem {
        item: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..SLOTS;
    let category = proptest::option::of(0..CATEGORIES);
    let via = prop_oneof![Just(Via::ToOne), Just(Via::Category)];
    prop_oneof![
        3 => (slot.clone(), category.clone())
            .prop_map(|(slot, category)| Op::CreateProduct { slot, category }),
        1 => slot.clone().prop_map(|slot| Op::RenameProduct { slot }),
        1 => slot.clone().prop_map(|slot| Op::DeleteProduct { slot }),
        3 => (slot.clone(), category, via)
            .prop_map(|(slot, category, via)| Op::SetCategory { slot, category, via }),
        1 => (0..SHARED_SKUS).prop_map(|sku| Op::CreateShared { sku }),
        1 => (0..SHARED_SKUS).prop_map(|sku| Op::UpsertShared { sku }),
        3 => (slot.clone(), 0..ORDERS, slot.clone(), 1..5_i64).prop_map(
            |(item, order, product, quantity)| Op::AddLineItem { item, order, product, quantity }
        ),
        2 => (slot.clone(), 0..ORDERS).prop_map(|(item, order)| Op::MoveLineItem { item, order }),
        1 => (slot.clone(), 1..5_i64).prop_map(|(item, quantity)| Op::SetQuantity { item, quantity }),
        1 => slot.prop_map(|item| Op::DeleteLineItem { item }),
    ]
}

/// A product a client owns, as its acknowledged writes left it.
#[derive(Debug, Clone)]
struct Product {
    id: String,
    name: String,
    category: Option<usize>,
}

/// A line item a client owns.
#[derive(Debug, Clone)]
struct LineItem {
    id: String,
    order: usize,
    quantity: i64,
    product: usize,
}

/// What one client did: its model, and what it sent to the shared SKUs.
#[derive(Debug, Default)]
struct Client {
    products: [Option<Product>; SLOTS],
    items: [Option<LineItem>; SLOTS],
    /// Every product this client created and then deleted (must be gone).
    deleted: Vec<String>,
    /// Per shared SKU: (status, name sent) of each create or upsert.
    shared: Vec<(usize, u16, String)>,
    /// Names sent by refused writes (must be nowhere).
    refused: Vec<String>,
}

/// The shared resources of a case.
#[derive(Debug, Clone)]
struct World {
    categories: Vec<String>,
    orders: Vec<String>,
}

fn fail(response: &TestResponse, what: &str) -> TestCaseError {
    TestCaseError::fail(format!("{what}: {}", response.describe()))
}

/// Runs one client's sequence, one request after another, keeping its model.
async fn run_client(
    api: ApiClient,
    world: &World,
    me: usize,
    ops: Vec<Op>,
) -> Result<Client, TestCaseError> {
    let mut c = Client::default();
    for (n, op) in ops.into_iter().enumerate() {
        let marker = format!("client {me} op {n}");
        match op {
            Op::CreateProduct { slot, category } if c.products[slot].is_none() => {
                let mut attributes = product_attributes(&format!("C{me}-{n}"));
                attributes["name"] = json!(marker);
                let relationships = match category {
                    Some(k) => json!({ "category": to_one("categories", &world.categories[k]) }),
                    None => json!({}),
                };
                let doc = jsonapi_tests::resource_doc("products", None, attributes, relationships);
                let r = api.post("/api/products", &doc).await;
                if r.status != 201 {
                    return Err(fail(&r, "a create"));
                }
                c.products[slot] = Some(Product {
                    id: id_of(r.data()).to_owned(),
                    name: marker,
                    category,
                });
            }
            Op::RenameProduct { slot } => {
                let Some(p) = &mut c.products[slot] else {
                    continue;
                };
                let doc = jsonapi_tests::resource_doc(
                    "products",
                    Some(&p.id),
                    json!({ "name": marker }),
                    json!({}),
                );
                let r = api.patch(&format!("/api/products/{}", p.id), &doc).await;
                if r.status != 200 {
                    return Err(fail(&r, "a rename"));
                }
                p.name = marker;
            }
            Op::DeleteProduct { slot } => {
                let Some(p) = c.products[slot].clone() else {
                    continue;
                };
                // A product a line item refers to cannot go (restrict); only this client's line
                // items refer to its products.
                let referred = c.items.iter().flatten().any(|i| i.product == slot);
                let r = api.delete(&format!("/api/products/{}", p.id)).await;
                match (referred, r.status.as_u16()) {
                    (true, 409) => {}
                    (false, 204) => {
                        c.products[slot] = None;
                        c.deleted.push(p.id);
                    }
                    _ => return Err(fail(&r, "a delete")),
                }
            }
            Op::SetCategory {
                slot,
                category,
                via,
            } => {
                let Some(p) = &mut c.products[slot] else {
                    continue;
                };
                let r = match (via, category, p.category) {
                    (Via::Category, Some(k), _) => {
                        let path = format!(
                            "/api/categories/{}/relationships/products",
                            world.categories[k]
                        );
                        let data = json!([{ "type": "products", "id": p.id }]);
                        send_linkage(&api, Method::POST, &path, data).await
                    }
                    (Via::Category, None, Some(current)) => {
                        let path = format!(
                            "/api/categories/{}/relationships/products",
                            world.categories[current]
                        );
                        let data = json!([{ "type": "products", "id": p.id }]);
                        send_linkage(&api, Method::DELETE, &path, data).await
                    }
                    _ => {
                        let data = category.map_or(
                            Value::Null,
                            |k| json!({ "type": "categories", "id": world.categories[k] }),
                        );
                        let path = format!("/api/products/{}/relationships/category", p.id);
                        send_linkage(&api, Method::PATCH, &path, data).await
                    }
                };
                if r.status != 204 {
                    return Err(fail(&r, "a category change"));
                }
                p.category = category;
            }
            Op::CreateShared { sku } | Op::UpsertShared { sku } => {
                let upsert = matches!(op, Op::UpsertShared { .. });
                let mut attributes = product_attributes(&format!("SHARED-{sku}"));
                attributes["name"] = json!(marker);
                let mut doc = jsonapi_tests::resource_doc("products", None, attributes, json!({}));
                if upsert {
                    doc["data"]["meta"] = json!({ "upsert": ["sku"] });
                }
                let r = api.post("/api/products", &doc).await;
                let status = r.status.as_u16();
                match (upsert, status) {
                    (_, 201) | (true, 200) => {}
                    // Another client holds the SKU.
                    (false, 400) => c.refused.push(marker.clone()),
                    _ => return Err(fail(&r, "a shared create")),
                }
                c.shared.push((sku, status, marker));
            }
            Op::AddLineItem {
                item,
                order,
                product,
                quantity,
            } if c.items[item].is_none() => {
                let Some(p) = &c.products[product] else {
                    continue;
                };
                let doc = jsonapi_tests::resource_doc(
                    "orderlineitems",
                    None,
                    json!({ "quantity": quantity, "price": format!("{}.{:02}", me + 1, n) }),
                    json!({ "order": to_one("orders", &world.orders[order]),
                            "product": to_one("products", &p.id) }),
                );
                let r = api.post("/api/orderlineitems", &doc).await;
                if r.status != 201 {
                    return Err(fail(&r, "a line item create"));
                }
                c.items[item] = Some(LineItem {
                    id: id_of(r.data()).to_owned(),
                    order,
                    quantity,
                    product,
                });
            }
            Op::MoveLineItem { item, order } => {
                let Some(i) = &mut c.items[item] else {
                    continue;
                };
                let path = format!(
                    "/api/orders/{}/relationships/lineItems",
                    world.orders[order]
                );
                let data = json!([{ "type": "orderlineitems", "id": i.id }]);
                let r = send_linkage(&api, Method::POST, &path, data).await;
                if r.status != 204 {
                    return Err(fail(&r, "a line item move"));
                }
                i.order = order;
            }
            Op::SetQuantity { item, quantity } => {
                let Some(i) = &mut c.items[item] else {
                    continue;
                };
                let doc = jsonapi_tests::resource_doc(
                    "orderlineitems",
                    Some(&i.id),
                    json!({ "quantity": quantity }),
                    json!({}),
                );
                let r = api
                    .patch(&format!("/api/orderlineitems/{}", i.id), &doc)
                    .await;
                if r.status != 200 {
                    return Err(fail(&r, "a quantity change"));
                }
                i.quantity = quantity;
            }
            Op::DeleteLineItem { item } => {
                let Some(i) = c.items[item].take() else {
                    continue;
                };
                let r = api.delete(&format!("/api/orderlineitems/{}", i.id)).await;
                if r.status != 204 {
                    return Err(fail(&r, "a line item delete"));
                }
            }
            // A create into a slot that is taken: nothing to send.
            Op::CreateProduct { .. } | Op::AddLineItem { .. } => {}
        }
    }
    Ok(c)
}

/// Checks the stored data against every client's model and the invariants.
async fn check(api: &ApiClient, world: &World, clients: &[Client]) -> Result<(), TestCaseError> {
    let products = by_id(api, "products").await;
    let items = by_id(api, "orderlineitems").await;
    let mut expected_members: Vec<BTreeSet<String>> = vec![BTreeSet::new(); CATEGORIES];
    let mut owned_items = 0;
    for c in clients {
        for p in c.products.iter().flatten() {
            let stored = products
                .get(&p.id)
                .ok_or_else(|| TestCaseError::fail(format!("acknowledged {p:?} is missing")))?;
            prop_assert_eq!(attr(stored, "name").as_str(), Some(p.name.as_str()));
            let category = p.category.map(|k| world.categories[k].as_str());
            prop_assert_eq!(to_one_id(stored, "category"), category, "{:?}", p);
            if let Some(k) = p.category {
                expected_members[k].insert(p.id.clone());
            }
        }
        for id in &c.deleted {
            prop_assert!(
                !products.contains_key(id),
                "deleted product {} is stored",
                id
            );
        }
        for i in c.items.iter().flatten() {
            owned_items += 1;
            let stored = items
                .get(&i.id)
                .ok_or_else(|| TestCaseError::fail(format!("acknowledged {i:?} is missing")))?;
            prop_assert_eq!(
                to_one_id(stored, "order"),
                Some(world.orders[i.order].as_str())
            );
            prop_assert_eq!(attr(stored, "quantity").as_i64(), Some(i.quantity));
        }
    }
    prop_assert_eq!(items.len(), owned_items, "line items nobody owns");
    // Shared SKUs: created once if any write was acknowledged, named by an acknowledged write.
    for sku in 0..SHARED_SKUS {
        let sent: Vec<&(usize, u16, String)> = clients
            .iter()
            .flat_map(|c| &c.shared)
            .filter(|(s, _, _)| *s == sku)
            .collect();
        let created = sent.iter().filter(|(_, status, _)| *status == 201).count();
        let stored: Vec<&Value> = products
            .values()
            .filter(|p| attr(p, "sku") == format!("SHARED-{sku}").as_str())
            .collect();
        prop_assert!(created <= 1, "SHARED-{} created {} times", sku, created);
        prop_assert_eq!(stored.len(), created, "SHARED-{} stored {:?}", sku, stored);
        if let Some(p) = stored.first() {
            let name = attr(p, "name").as_str().unwrap_or_default();
            prop_assert!(
                sent.iter()
                    .any(|(_, status, n)| *status != 400 && n == name),
                "SHARED-{} named {} by no acknowledged write",
                sku,
                name
            );
        }
    }
    let refused: BTreeSet<&String> = clients.iter().flat_map(|c| &c.refused).collect();
    for p in products.values() {
        let name = attr(p, "name").as_str().unwrap_or_default().to_owned();
        prop_assert!(!refused.contains(&name), "a refused write is stored: {}", p);
    }
    // Both sides agree, the counts with them, and the totals with the line items.
    let members = assert_inverse_agrees(api, CATEGORY_PRODUCTS).await;
    for (k, category) in world.categories.iter().enumerate() {
        prop_assert_eq!(
            &members[category],
            &expected_members[k],
            "category {}",
            category
        );
    }
    assert_order_totals(api).await;
    assert_inverse_agrees(api, CUSTOMER_ORDERS).await;
    prop_assert_eq!(total_count(api, "/api/products").await, products.len());
    prop_assert_eq!(total_count(api, "/api/orderlineitems").await, items.len());
    Ok(())
}

async fn run_case(clients: Vec<Vec<Op>>) -> Result<(), TestCaseError> {
    let app = TestApp::spawn().await;
    let mut categories = Vec::new();
    for k in 0..CATEGORIES {
        categories
            .push(id_of(&create_category(&app, &format!("Shared {k}"), None).await).to_owned());
    }
    let customer = id_of(&create_customer(&app, "Ada", "ada@example.com").await).to_owned();
    let mut orders = Vec::new();
    for _ in 0..ORDERS {
        orders.push(create_order(&app, &customer).await);
    }
    let world = World { categories, orders };
    let outcomes = at_once(clients.len(), |me| {
        let (api, world, ops) = (app.client(), world.clone(), clients[me].clone());
        async move { run_client(api, &world, me, ops).await }
    })
    .await;
    let mut done = Vec::new();
    for outcome in outcomes {
        done.push(outcome?);
    }
    check(&app, &world, &done).await?;
    app.stop().await;
    Ok(())
}

#[test]
fn concurrent_write_sequences_leave_exactly_what_was_acknowledged() {
    let cases = std::env::var("JSONAPI_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let mut runner = TestRunner::new(Config {
        cases,
        // Shrinking re-runs whole cases against new servers: a few steps tell enough.
        max_shrink_iters: 16,
        failure_persistence: None,
        ..Config::default()
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let clients = proptest::collection::vec(proptest::collection::vec(op(), 1..=10), 2..=4);
    let result = runner.run(&clients, |clients| runtime.block_on(run_case(clients)));
    if let Err(e) = result {
        panic!("{e}");
    }
}
