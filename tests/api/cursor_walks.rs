//! Cursor walks while others write: a `page[after]` / `page[before]` cursor names the resource
//! its page ended at by that resource's sort values and id, so walking a list returns every
//! resource present throughout exactly once and in order, whatever is created or deleted
//! between its pages, forwards and backwards, with ties and nulls, whichever way the list is
//! read: an index in the sort order, a composite index, one value's entries in id order, or a
//! filtered set sorted in memory (docs/lists.md; `null` sorts first ascending).
//!
//! Between two pages a walk, in turns, deletes a resource it has returned and creates one like a
//! resource ahead of it; creates one like a resource it returned early and deletes one it has
//! not reached yet; or creates one like the last one it returned: the writes after which a
//! position counted in items skips a resource or returns one twice.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use jsonapi_tests::values::{attr, id_of, to_one_id};
use jsonapi_tests::{ApiClient, TestApp, Value, json, to_one};

use crate::query_support::{get_ok, link, num_id, walk};

/// Entries in groups: a nullable integer and a nullable string to sort by, a composite index
/// for "the entries of a group by label" and none for "by rank".
pub(crate) const CONFIG: &str = "\
types:
  groups:
    id: sequence
    attributes:
      name: { type: string }
    relationships:
      entries: { target: entries, many: true, inverse: group }
  entries:
    id: sequence
    attributes:
      rank: { type: integer }
      label: { type: string }
    relationships:
      group: { target: groups, inverse: entries }
    filters:
      group:
      rank:
      label:
    sorters: [id, rank, label]
    indexes: [[group, label]]
";

/// Orders two attribute values as the API sorts them: `null` first, numbers by value, strings
/// by code point.
fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x.as_i64().cmp(&y.as_i64()),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => panic!("cannot compare {a} with {b}"),
    }
}

/// Orders two resources under a `sort` parameter (`"rank,-label"`; empty: by id) on the sort
/// values alone: the order of ties is the server's.
pub(crate) fn compare_by(sort: &str, a: &Value, b: &Value) -> Ordering {
    let sort = if sort.is_empty() { "id" } else { sort };
    for key in sort.split(',') {
        let (name, desc) = key.strip_prefix('-').map_or((key, false), |n| (n, true));
        let o = if name == "id" {
            num_id(a).cmp(&num_id(b))
        } else {
            compare_values(attr(a, name), attr(b, name))
        };
        if o != Ordering::Equal {
            return if desc { o.reverse() } else { o };
        }
    }
    Ordering::Equal
}

/// A list to walk: what it holds and how to add to it.
struct List<'a> {
    api: &'a ApiClient,
    ty: &'a str,
    /// The collection URL with its filters, sort and page size (no cursor).
    path: String,
    /// Its `sort` parameter (empty: by id).
    sort: &'a str,
    /// Whether a resource of the type belongs to the list.
    member: &'a dyn Fn(&Value) -> bool,
    /// The attributes and relationships of a new member that sorts like the given one.
    like: &'a dyn Fn(&Value) -> (Value, Value),
}

/// What a walk wrote between its pages.
#[derive(Default)]
struct Writes {
    deleted: HashSet<String>,
    created: HashSet<String>,
}

impl List<'_> {
    /// Walks the list from its start (`page[after]=`, following `next`) or, `backwards`, from
    /// its last page (following `prev`), writing between pages; then checks the walk.
    async fn walk_while_writing(&self, backwards: bool) {
        let members: Vec<Value> = self
            .api
            .list_all(self.ty)
            .await
            .into_iter()
            .filter(|r| (self.member)(r))
            .collect();
        assert!(members.len() > 8, "a list long enough to walk");
        let present: Vec<String> = members.iter().map(|r| id_of(r).to_owned()).collect();
        let mut known: HashMap<String, Value> = members
            .into_iter()
            .map(|r| (id_of(&r).to_owned(), r))
            .collect();
        let start = format!("{}&page[after]=", self.path);
        let (mut url, rel) = if backwards {
            let forward = walk(self.api, &start, "next").await;
            let last = forward.last().expect("one page at least");
            (last.url.clone(), "prev")
        } else {
            (start, "next")
        };
        let mut pages: Vec<Vec<Value>> = Vec::new();
        let mut writes = Writes::default();
        loop {
            assert!(pages.len() < 100, "the walk of {} does not end", self.path);
            let page = get_ok(self.api, &url).await;
            pages.push(page.items().to_vec());
            match link(&page, rel) {
                Some(next) => url = next.to_owned(),
                None => break,
            }
            self.write_between(&pages, backwards, &mut known, &mut writes)
                .await;
        }
        let what = format!(
            "{} walked {}",
            self.path,
            if backwards { "backwards" } else { "forwards" }
        );
        let visited: Vec<String> = pages
            .iter()
            .flatten()
            .map(|r| id_of(r).to_owned())
            .collect();
        let mut once = HashSet::new();
        for id in &visited {
            assert!(once.insert(id), "{what}: {id} returned twice\n{visited:?}");
            assert!(
                present.contains(id) || writes.created.contains(id),
                "{what}: {id} is no member"
            );
        }
        for id in &present {
            assert!(
                writes.deleted.contains(id) || once.contains(id),
                "{what}: {id}, present throughout, was skipped\n{visited:?}"
            );
        }
        // Pages keep the list order inside; a backward walk visits them from the end.
        if backwards {
            pages.reverse();
        }
        let listed: Vec<&Value> = pages.iter().flatten().collect();
        for pair in listed.windows(2) {
            assert_ne!(
                compare_by(self.sort, pair[0], pair[1]),
                Ordering::Greater,
                "{what}: {} before {}\n{visited:?}",
                pair[0],
                pair[1]
            );
        }
    }

    /// The writes between two pages: what makes a position counted in items slip.
    async fn write_between(
        &self,
        pages: &[Vec<Value>],
        backwards: bool,
        known: &mut HashMap<String, Value>,
        writes: &mut Writes,
    ) {
        // The order of the walk: the list order, or its reverse walking backwards.
        let walk_order = |a: &Value, b: &Value| {
            let o = compare_by(self.sort, a, b);
            if backwards { o.reverse() } else { o }
        };
        let returned: Vec<&Value> = pages.iter().flatten().collect();
        let last = (*returned.last().expect("a page read")).clone();
        let alive = |id: &str| !writes.deleted.contains(id);
        let returned_ids: HashSet<&str> = returned.iter().map(|r| id_of(r)).collect();
        // One the walk has passed (strictly before where it stands).
        let passed = returned
            .iter()
            .find(|r| alive(id_of(r)) && walk_order(r, &last) == Ordering::Less)
            .map(|r| (*r).clone());
        // The ones it has not reached (strictly beyond where it stands), nearest first.
        let mut ahead: Vec<Value> = known
            .values()
            .filter(|r| {
                alive(id_of(r))
                    && !returned_ids.contains(id_of(r))
                    && walk_order(r, &last) == Ordering::Greater
            })
            .cloned()
            .collect();
        ahead.sort_by(|a, b| walk_order(a, b).then(num_id(a).cmp(&num_id(b))));
        // In turns, so that the count of what lies behind the walk changes each time.
        let (mut delete, mut copy) = (Vec::new(), Vec::new());
        match pages.len() % 3 {
            1 => {
                delete.extend(passed);
                copy.extend(ahead.first().cloned());
            }
            2 => {
                copy.extend(passed);
                delete.extend(ahead.first().cloned());
            }
            _ => copy.push(last),
        }
        for r in delete {
            let id = id_of(&r).to_owned();
            self.api
                .delete(&format!("/api/{}/{id}", self.ty))
                .await
                .assert_status(204);
            writes.deleted.insert(id);
        }
        for r in copy {
            let (attributes, relationships) = (self.like)(&r);
            let created = self.api.create(self.ty, attributes, relationships).await;
            assert!(
                (self.member)(&created),
                "{created} is no member of the list"
            );
            writes.created.insert(id_of(&created).to_owned());
            known.insert(id_of(&created).to_owned(), created);
        }
    }
}

/// A server with two groups of entries; returns it and the id of the first group (16 entries
/// with repeated and null ranks and labels; the other group has 4).
async fn entries_app() -> (TestApp, String) {
    let app = TestApp::spawn_with_config(CONFIG, false).await;
    let mut groups = Vec::new();
    for name in ["first", "second"] {
        let group = app
            .create("groups", json!({ "name": name }), json!({}))
            .await;
        groups.push(id_of(&group).to_owned());
    }
    for n in 0..20_usize {
        let rank = if n % 5 == 0 {
            Value::Null
        } else {
            json!(n % 4)
        };
        let label = if n % 7 == 3 {
            Value::Null
        } else {
            json!(format!("label {}", n % 6))
        };
        let group = &groups[usize::from(n >= 16)];
        app.create(
            "entries",
            json!({ "rank": rank, "label": label }),
            json!({ "group": to_one("groups", group) }),
        )
        .await;
    }
    let first = groups.swap_remove(0);
    (app, first)
}

/// A new entry sorting like `like`, in its group.
fn entry_like(like: &Value) -> (Value, Value) {
    let group = to_one_id(like, "group").expect("entries here have a group");
    (
        json!({ "rank": attr(like, "rank"), "label": attr(like, "label") }),
        json!({ "group": to_one("groups", group) }),
    )
}

/// Walks the entries of `collection` with `filters` (e.g. `"filter[group]=1&"`) in each of
/// `walks` (a sort, and whether backwards), four a page.
async fn walk_entries(
    app: &TestApp,
    collection: &str,
    filters: &str,
    walks: &[(&str, bool)],
    member: &dyn Fn(&Value) -> bool,
) {
    for (sort, backwards) in walks {
        let sort_parameter = if sort.is_empty() {
            String::new()
        } else {
            format!("sort={sort}&")
        };
        List {
            api: app,
            ty: "entries",
            path: format!("{collection}?{filters}{sort_parameter}page[size]=4"),
            sort,
            member,
            like: &entry_like,
        }
        .walk_while_writing(*backwards)
        .await;
    }
}

const FORWARDS: bool = false;
const BACKWARDS: bool = true;

#[tokio::test]
async fn lists_sorted_in_memory_are_walked_exactly_once() {
    let (app, group) = entries_app().await;
    let member = |r: &Value| to_one_id(r, "group") == Some(group.as_str());
    // No index holds a group's entries by rank: its matches are sorted in memory.
    let filters = format!("filter[group]={group}&");
    let walks = [("rank", FORWARDS), ("-rank", BACKWARDS)];
    walk_entries(&app, "/api/entries", &filters, &walks, &member).await;
    // Two sort fields.
    let everything = |_: &Value| true;
    let walks = [("rank,-label", FORWARDS), ("-label,rank", BACKWARDS)];
    walk_entries(&app, "/api/entries", "", &walks, &everything).await;
    // A related collection.
    let related = format!("/api/groups/{group}/entries");
    walk_entries(&app, &related, "", &[("rank", FORWARDS)], &member).await;
}

#[tokio::test]
async fn lists_read_in_index_order_are_walked_exactly_once() {
    let (app, group) = entries_app().await;
    // The sort field's index, nulls included, and a range of it.
    let everything = |_: &Value| true;
    let walks = [("rank", FORWARDS), ("-rank", BACKWARDS)];
    walk_entries(&app, "/api/entries", "", &walks, &everything).await;
    let ranked = |r: &Value| attr(r, "rank").as_i64().is_some_and(|n| n >= 1);
    let walks = [("-rank", FORWARDS)];
    walk_entries(
        &app,
        "/api/entries",
        "filter[rank][gte]=1&",
        &walks,
        &ranked,
    )
    .await;
    // A composite index, and one value's entries in id order.
    let member = |r: &Value| to_one_id(r, "group") == Some(group.as_str());
    let filters = format!("filter[group]={group}&");
    let walks = [("label", FORWARDS), ("-label", BACKWARDS), ("", BACKWARDS)];
    walk_entries(&app, "/api/entries", &filters, &walks, &member).await;
}

#[tokio::test]
async fn the_products_of_a_category_by_quantity_are_walked_exactly_once() {
    // The example domain has no index of a category's products by quantity.
    let app = jsonapi_tests::shared_scratch();
    let category = app
        .create("categories", json!({ "name": "Walked" }), json!({}))
        .await;
    let category = id_of(&category).to_owned();
    let elsewhere = app
        .create("categories", json!({ "name": "Elsewhere" }), json!({}))
        .await;
    for n in 0..24 {
        let home = if n % 6 == 5 {
            id_of(&elsewhere)
        } else {
            &category
        };
        app.create(
            "products",
            json!({ "sku": format!("WALK-{n}"), "name": format!("Walked {n}"), "price": "1.00", "quantity": n % 5 }),
            json!({ "category": to_one("categories", home) }),
        )
        .await;
    }
    let member = |r: &Value| to_one_id(r, "category") == Some(category.as_str());
    let copies = AtomicUsize::new(0);
    let like = |r: &Value| {
        let n = copies.fetch_add(1, AtomicOrdering::Relaxed);
        (
            json!({ "sku": format!("WALK-COPY-{n}"), "name": attr(r, "name"), "price": "1.00", "quantity": attr(r, "quantity") }),
            json!({ "category": to_one("categories", to_one_id(r, "category").expect("in a category")) }),
        )
    };
    for (sort, backwards) in [("quantity", FORWARDS), ("-quantity", BACKWARDS)] {
        List {
            api: &app,
            ty: "products",
            path: format!("/api/products?filter[category]={category}&sort={sort}&page[size]=4"),
            sort,
            member: &member,
            like: &like,
        }
        .walk_while_writing(backwards)
        .await;
    }
}
