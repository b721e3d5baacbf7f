//! A cursor outlives a change of plan: a cursor names a position in the sort, not in the way
//! the list happens to be read, so it holds when the planner reads the next page another way
//! (docs/lists.md: a filter's matches are sorted in memory while there are at
//! most 200 of them, and read from the sort field's index beyond).
//!
//! The plan is the engine's and reads through the same store calls whatever the store, so
//! `infra/test.sh` runs this module on the embedded store only (it needs 205 resources).

use std::cmp::Ordering;
use std::collections::HashSet;

use jsonapi_tests::values::id_of;
use jsonapi_tests::{ApiClient, TestApp, Value, json, to_one};

use crate::cursor_walks::{CONFIG, compare_by};
use crate::query_support::{get_ok, link};

/// Creates entries `numbers` in a group; returns their ids.
async fn add_entries(api: &ApiClient, group: &str, numbers: std::ops::Range<usize>) -> Vec<String> {
    let mut ids = Vec::new();
    for n in numbers {
        let entry = api
            .create(
                "entries",
                json!({ "rank": n % 7, "label": format!("entry {n}") }),
                json!({ "group": to_one("groups", group) }),
            )
            .await;
        ids.push(id_of(&entry).to_owned());
    }
    ids
}

#[tokio::test]
async fn a_cursor_holds_when_the_list_grows_past_what_is_sorted_in_memory() {
    // A group's entries by rank are sorted in memory while there are at most 200 of them,
    // and read from the rank index beyond: a walk crosses from one to the other.
    let app = TestApp::spawn_with_config(CONFIG, false).await;
    let group = app
        .create("groups", json!({ "name": "big" }), json!({}))
        .await;
    let group = id_of(&group).to_owned();
    let present = add_entries(&app, &group, 0..185).await;
    let mut url =
        format!("/api/entries?filter[group]={group}&sort=rank&page[size]=40&page[after]=");
    let mut pages = Vec::new();
    loop {
        assert!(pages.len() < 20, "the walk does not end");
        let page = get_ok(&app, &url).await;
        pages.push(page.items().to_vec());
        let Some(next) = link(&page, "next") else {
            break;
        };
        url = next.to_owned();
        if pages.len() == 1 {
            add_entries(&app, &group, 185..205).await;
        }
    }
    let listed: Vec<&Value> = pages.iter().flatten().collect();
    let ids: Vec<&str> = listed.iter().map(|r| id_of(r)).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an entry returned twice");
    for id in &present {
        assert!(unique.contains(id.as_str()), "{id} was skipped");
    }
    for pair in listed.windows(2) {
        assert_ne!(
            compare_by("rank", pair[0], pair[1]),
            Ordering::Greater,
            "{} before {}",
            pair[0],
            pair[1]
        );
    }
}
