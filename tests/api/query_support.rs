//! Helpers for the query-language tests: reading the seed data through plain GETs, computing
//! expected results from it, walking pagination links and checking compound documents.
//!
//! Expected results are always computed here, in the test, from resources read with plain
//! `GET`s (or created by the test), never by asking the server the same question another way.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet};

use jsonapi_tests::values::{attr, id_of, normalize_decimal};
use jsonapi_tests::{ApiClient, TestResponse, Value};

/// Percent-encodes a query-string value: everything but the unreserved characters of RFC 3986
/// (so a space is `%20`, never `+`).
pub(crate) fn enc(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A decimal string as a fixed-point integer in millionths (exact for the example's scales).
pub(crate) fn dec_units(text: &str) -> i128 {
    let normal = normalize_decimal(text);
    let (negative, digits) = match normal.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, normal.clone()),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((&digits, ""));
    assert!(frac.len() <= 6, "{text:?} has more than six decimals");
    let int: i128 = int.parse().expect("an integer part");
    let frac: i128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().expect("a fraction")
    };
    let units = int * 1_000_000 + frac;
    if negative { -units } else { units }
}

/// The decimal attribute `name` of a resource, in millionths.
pub(crate) fn dec_attr(resource: &Value, name: &str) -> i128 {
    match attr(resource, name).as_str() {
        Some(text) => dec_units(text),
        None => panic!("the attribute {name} of {resource} is not a decimal string"),
    }
}

/// The integer attribute `name` of a resource.
pub(crate) fn int_attr(resource: &Value, name: &str) -> i64 {
    match attr(resource, name).as_i64() {
        Some(n) => n,
        None => panic!("the attribute {name} of {resource} is not an integer"),
    }
}

/// The string attribute `name` of a resource.
pub(crate) fn str_attr<'a>(resource: &'a Value, name: &str) -> &'a str {
    match attr(resource, name).as_str() {
        Some(s) => s,
        None => panic!("the attribute {name} of {resource} is not a string"),
    }
}

/// The numeric value of a sequence id.
pub(crate) fn num_id(resource: &Value) -> u64 {
    id_of(resource)
        .parse()
        .unwrap_or_else(|_| panic!("{} is not a sequence id", id_of(resource)))
}

/// The ids of the resources that pass `keep`, in the order given.
pub(crate) fn ids_where(items: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<String> {
    items
        .iter()
        .filter(|r| keep(r))
        .map(|r| id_of(r).to_owned())
        .collect()
}

/// The ids of `items` sorted by `cmp` (a stable sort of the given order).
pub(crate) fn ids_sorted_by(
    items: &[Value],
    keep: impl Fn(&Value) -> bool,
    cmp: impl Fn(&Value, &Value) -> Ordering,
) -> Vec<String> {
    let mut kept: Vec<&Value> = items.iter().filter(|r| keep(r)).collect();
    kept.sort_by(|a, b| cmp(a, b));
    kept.iter().map(|r| id_of(r).to_owned()).collect()
}

/// Every resource of `ty` read with one plain `GET /api/{ty}?page[size]=-1`, in id order.
pub(crate) async fn all_of(api: &ApiClient, ty: &str) -> Vec<Value> {
    api.list_all(ty).await
}

/// One page of a collection, asserting `200`.
pub(crate) async fn get_ok(api: &ApiClient, path: &str) -> TestResponse {
    let response = api.get(path).await;
    response.assert_status(200);
    response
}

/// A top-level link of a document (`None` when absent or null).
pub(crate) fn link<'a>(response: &'a TestResponse, name: &str) -> Option<&'a str> {
    response
        .json()
        .get("links")
        .and_then(|l| l.get(name))
        .and_then(|l| match l {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get("href").and_then(Value::as_str),
            _ => None,
        })
}

/// Follows the `rel` link (`next` or `prev`) from `first` until it is absent, returning every
/// page in the order visited. Fails when a page repeats or the walk does not end.
pub(crate) async fn walk(api: &ApiClient, first: &str, rel: &str) -> Vec<TestResponse> {
    let mut pages = Vec::new();
    let mut visited = HashSet::new();
    let mut url = api.url(first);
    for _ in 0..200 {
        assert!(
            visited.insert(url.clone()),
            "the {rel} links loop back to {url}"
        );
        let page = get_ok(api, &url).await;
        let next = link(&page, rel).map(str::to_owned);
        pages.push(page);
        match next {
            Some(next) => url = next,
            None => return pages,
        }
    }
    panic!("following {rel} links from {first} did not end after 200 pages");
}

/// The ids of every page, concatenated in the order given.
pub(crate) fn ids_of_pages(pages: &[TestResponse]) -> Vec<String> {
    pages.iter().flat_map(TestResponse::ids).collect()
}

/// The decoded value of the query parameter `name` of a URL (the last one when repeated).
pub(crate) fn query_param(url: &str, name: &str) -> Option<String> {
    jsonapi_tests::values::split_url(url)
        .1
        .into_iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// `(type, id)` of a resource object or identifier.
pub(crate) fn key(resource: &Value) -> (String, String) {
    (
        resource["type"].as_str().expect("a type").to_owned(),
        id_of(resource).to_owned(),
    )
}

/// The `included` array of a document (empty when absent).
pub(crate) fn included(response: &TestResponse) -> Vec<Value> {
    response
        .json()
        .get("included")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The `(type, id)` set of a document's `included` member, asserting it holds no duplicates.
pub(crate) fn included_keys(response: &TestResponse) -> BTreeSet<(String, String)> {
    let mut keys = BTreeSet::new();
    for resource in included(response) {
        assert!(
            keys.insert(key(&resource)),
            "{}\n{:?} is included twice",
            response.describe(),
            key(&resource)
        );
    }
    keys
}

/// The primary resources of a document (one or many).
pub(crate) fn primary(response: &TestResponse) -> Vec<Value> {
    match response.data() {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// The `(type, id)` of every resource identifier in a resource's relationships.
pub(crate) fn linked_keys(resource: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(relationships) = resource.get("relationships").and_then(Value::as_object) {
        for relationship in relationships.values() {
            match relationship.get("data") {
                Some(Value::Object(identifier)) => {
                    out.push(key(&Value::Object(identifier.clone())));
                }
                Some(Value::Array(identifiers)) => out.extend(identifiers.iter().map(key)),
                _ => {}
            }
        }
    }
    out
}

/// Asserts full linkage: every included resource is reachable from the primary data through
/// relationship linkage (JSON:API checklist B6).
pub(crate) fn assert_full_linkage(response: &TestResponse) {
    let included = included(response);
    let mut reached: BTreeSet<(String, String)> = BTreeSet::new();
    let mut frontier: Vec<Value> = primary(response);
    while let Some(resource) = frontier.pop() {
        for linked in linked_keys(&resource) {
            if reached.insert(linked.clone())
                && let Some(next) = included.iter().find(|r| key(r) == linked)
            {
                frontier.push(next.clone());
            }
        }
    }
    for resource in &included {
        assert!(
            reached.contains(&key(resource)),
            "{}\n{:?} is included but not reachable from the primary data",
            response.describe(),
            key(resource)
        );
    }
}

/// The member names of `resource.{member}` (`attributes` or `relationships`).
pub(crate) fn member_names(resource: &Value, member: &str) -> BTreeSet<String> {
    resource
        .get(member)
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// A set of names from a list literal.
pub(crate) fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Asserts `response` lists `expected` ids in this order.
pub(crate) fn assert_ids(response: &TestResponse, expected: &[String], what: &str) {
    assert_eq!(
        response.ids(),
        expected,
        "{}\n{what}: unexpected ids",
        response.describe()
    );
}
