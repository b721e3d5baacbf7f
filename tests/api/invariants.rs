//! What must hold of the stored data after any mix of writes, read back through plain GETs:
//! both sides of an inverse relationship agree, counts agree with listings, no linkage points at
//! a missing resource, and every order's total is the sum of its line items. The concurrency
//! tests and the property-based test check these after their writers are done; the helper that
//! runs writers at once is here too.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use jsonapi_tests::values::{attr, id_of, to_one_id};
use jsonapi_tests::{ApiClient, MT, Method, TestResponse, Value, json};
use tokio::task::JoinSet;

use crate::query_support::{dec_attr, dec_units, get_ok, int_attr};

/// Runs `n` writers at once (writer `i` is `writer(i)`); what they return, in that order.
pub(crate) async fn at_once<F, Fut, T>(n: usize, writer: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let sent = writer(i);
        tasks.spawn(async move { (i, sent.await) });
    }
    let mut answers: Vec<Option<T>> = (0..n).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (i, response) = joined.expect("the request task");
        answers[i] = Some(response);
    }
    answers
        .into_iter()
        .map(|r| r.expect("every writer finished"))
        .collect()
}

/// How many responses have each status, as `[(status, count)]`, for assertion messages.
pub(crate) fn statuses(responses: &[TestResponse]) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for r in responses {
        *counts.entry(r.status.as_u16()).or_default() += 1;
    }
    counts
}

/// The ids a to-many relationship endpoint lists, as a set.
pub(crate) async fn member_set(api: &ApiClient, ty: &str, id: &str, rel: &str) -> BTreeSet<String> {
    get_ok(
        api,
        &format!("/api/{ty}/{id}/relationships/{rel}?page[size]=-1"),
    )
    .await
    .ids()
    .into_iter()
    .collect()
}

/// Every resource of a type, by id.
pub(crate) async fn by_id(api: &ApiClient, ty: &str) -> BTreeMap<String, Value> {
    api.list_all(ty)
        .await
        .into_iter()
        .map(|r| (id_of(&r).to_owned(), r))
        .collect()
}

/// Sends a relationship document (`{"data": data}`) with `method` to `path`.
pub(crate) async fn send_linkage(
    api: &ApiClient,
    method: Method,
    path: &str,
    data: Value,
) -> TestResponse {
    let body = json!({ "data": data }).to_string();
    api.request(
        method,
        path,
        &[("Accept", MT), ("Content-Type", MT)],
        Some(&body),
    )
    .await
}

/// `X-Include-Total-Count` of a collection request.
pub(crate) async fn total_count(api: &ApiClient, path: &str) -> usize {
    let response = api.get_with(path, &[("X-Include", "totalCount")]).await;
    response.assert_status(200);
    response
        .header("x-include-total-count")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{}\nno X-Include-Total-Count", response.describe()))
}

/// An inverse pair: `owner.rel` (to-many) is derived from `member.field` (to-one).
#[derive(Debug, Clone, Copy)]
pub(crate) struct InversePair {
    pub(crate) owner: &'static str,
    pub(crate) rel: &'static str,
    pub(crate) member: &'static str,
    pub(crate) field: &'static str,
}

/// The example domain's inverse pairs.
pub(crate) const CATEGORY_PRODUCTS: InversePair = InversePair {
    owner: "categories",
    rel: "products",
    member: "products",
    field: "category",
};
pub(crate) const CATEGORY_CHILDREN: InversePair = InversePair {
    owner: "categories",
    rel: "children",
    member: "categories",
    field: "parent",
};
pub(crate) const ORDER_LINE_ITEMS: InversePair = InversePair {
    owner: "orders",
    rel: "lineItems",
    member: "orderlineitems",
    field: "order",
};
pub(crate) const CUSTOMER_ORDERS: InversePair = InversePair {
    owner: "customers",
    rel: "orders",
    member: "orders",
    field: "customer",
};

/// Asserts that every member's to-one names a stored owner, that each owner's to-many lists
/// exactly the members pointing at it, and that a filter on the to-one counts them; returns
/// the members of each owner.
pub(crate) async fn assert_inverse_agrees(
    api: &ApiClient,
    pair: InversePair,
) -> BTreeMap<String, BTreeSet<String>> {
    let InversePair {
        owner,
        rel,
        member,
        field,
    } = pair;
    let mut expected: BTreeMap<String, BTreeSet<String>> = api
        .list_all(owner)
        .await
        .iter()
        .map(|o| (id_of(o).to_owned(), BTreeSet::new()))
        .collect();
    for m in api.list_all(member).await {
        if let Some(o) = to_one_id(&m, field) {
            let Some(set) = expected.get_mut(o) else {
                panic!(
                    "dangling linkage: {member} {} has {field} {owner} {o}, which does not exist",
                    id_of(&m)
                );
            };
            set.insert(id_of(&m).to_owned());
        }
    }
    for (o, want) in &expected {
        assert_eq!(
            &member_set(api, owner, o, rel).await,
            want,
            "{owner} {o}: {rel} disagrees with the {field} of the {member}"
        );
        let counted = total_count(api, &format!("/api/{member}?filter[{field}]={o}")).await;
        assert_eq!(counted, want.len(), "{member} counted with {field} {o}");
    }
    expected
}

/// Asserts that every order's total is the sum of quantity × price of its line items (and
/// that line items and orders agree on both sides); returns the totals in millionths.
pub(crate) async fn assert_order_totals(api: &ApiClient) -> BTreeMap<String, i128> {
    let members = assert_inverse_agrees(api, ORDER_LINE_ITEMS).await;
    let items = by_id(api, "orderlineitems").await;
    let mut totals = BTreeMap::new();
    for order in api.list_all("orders").await {
        let id = id_of(&order).to_owned();
        let sum: i128 = members[&id]
            .iter()
            .map(|i| i128::from(int_attr(&items[i], "quantity")) * dec_attr(&items[i], "price"))
            .sum();
        let total = attr(&order, "total").as_str().map_or(0, dec_units);
        assert_eq!(
            total,
            sum,
            "order {id}: the total {} is not the sum of its line items",
            attr(&order, "total")
        );
        totals.insert(id, total);
    }
    totals
}
