//! Long values: filters, sorts and unique constraints are exact for values of any legal
//! length. Index keys keep a bounded prefix of a long value (infra/dynamodb/README.md, "Long
//! values"), so values that share a long prefix, values whose end falls on either side of where
//! a key is cut, and characters of one to four bytes across that place must still be told
//! apart: equality and lists find exactly the equal values, ranges and `starts_with` exactly the
//! values within, a sort keeps the order of the values (code points), and a unique value is
//! claimed by that value alone.
//!
//! The notes here have 255-byte client ids (the longest) and two composite indexes, one of two
//! long values.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use jsonapi_tests::values::{attr, id_of};
use jsonapi_tests::{
    ApiClient, Source, TestApp, TestResponse, Value, assert_error, json, resource_doc,
};

use crate::query_support::{enc, get_ok, ids_of_pages, link, walk};
use crate::sorting::assert_in_order;

const CONFIG: &str = "\
types:
  notes:
    id: client
    upsert: [code]
    attributes:
      name: { type: string, maxLength: 255 }
      code: { type: string, unique: true }
      topic: { type: string }
      tags: { type: strings }
    filters:
      name: { operators: [lt, lte, gt, gte, starts_with], allowArray: true, allowRange: true }
      code: { operators: [starts_with] }
      topic:
      tags: { operators: [contains] }
    sorters: [id, name, code]
    indexes: [[topic, name], [name, code]]
";

/// U+1D11E MUSICAL SYMBOL G CLEF: four bytes in UTF-8.
const CLEF: &str = "\u{1D11E}";

/// Short endings of one- to four-byte characters (and the greatest character, U+10FFFF):
/// after 189 clefs (756 bytes) they end a value on both sides of the 764 bytes of a value key
/// kept alone (the key is the value and one byte), with characters across that byte, and after
/// 93 clefs around the 379 bytes of a key kept beside another.
const TAILS: [&str; 11] = [
    "",
    "é",
    "\u{1D11E}",
    "\u{10FFFF}",
    "aa\u{1D11E}",
    "aaa\u{1D11E}",
    "aaaa€",
    "aaaa\u{1D11E}",
    "aaaaaaaa",
    "aaaaaaa\u{10FFFF}",
    "zzzzzzzzzzzzzzzzzzzz",
];

/// `chars` clefs followed by each tail.
fn ladder(chars: usize) -> Vec<String> {
    TAILS
        .iter()
        .map(|tail| format!("{}{tail}", CLEF.repeat(chars)))
        .collect()
}

/// Names ending around the cut of a value key alone and of two in one entry, the longest legal
/// ones (255 clefs, 1020 bytes), a short one, and a group of values sharing their first 800
/// bytes listed in the reverse of their order (so that their ids are too, and pages end inside
/// the group).
fn names() -> Vec<String> {
    let mut names = ladder(189);
    names.extend(ladder(93));
    names.extend([CLEF.repeat(250), CLEF.repeat(255), "a".to_owned()]);
    names.extend(
        TAILS
            .iter()
            .rev()
            .map(|tail| format!("{}{tail}", CLEF.repeat(200))),
    );
    names
}

/// The longest client id a note may have, numbered.
fn note_id(n: usize) -> String {
    format!("{n:04}{}", "i".repeat(251))
}

/// Posts note `n` with these attributes.
async fn post_note(api: &ApiClient, n: usize, attributes: Value) -> TestResponse {
    let document = resource_doc("notes", Some(&note_id(n)), attributes, json!({}));
    api.post("/api/notes", &document).await
}

/// Creates note `n` with these attributes; returns it.
async fn create_note(api: &ApiClient, n: usize, attributes: Value) -> Value {
    let response = post_note(api, n, attributes).await;
    response.assert_status(201);
    response.data().clone()
}

/// A server holding one note per name (two for the first name), in topic `t`, every fourth
/// with its name as its only tag; and notes of one long name with long codes, in topic `u`.
async fn notes_app(names: &[String]) -> (TestApp, Vec<Value>) {
    let app = TestApp::spawn_with_config(CONFIG, false).await;
    let mut notes = Vec::new();
    for (n, name) in names.iter().chain(names.first()).enumerate() {
        let tags = if n % 4 == 1 {
            json!([name])
        } else {
            Value::Null
        };
        let attributes =
            json!({ "name": name, "code": format!("c{n}"), "topic": "t", "tags": tags });
        notes.push(create_note(&app, n, attributes).await);
    }
    for (i, code) in ladder(93).iter().enumerate().step_by(2) {
        let attributes = json!({ "name": long_name(), "code": code, "topic": "u" });
        notes.push(create_note(&app, 500 + i, attributes).await);
    }
    (app, notes)
}

/// The name of the notes with long codes (1000 bytes).
fn long_name() -> String {
    CLEF.repeat(250)
}

fn name_of(note: &Value) -> &str {
    attr(note, "name").as_str().expect("a name")
}

/// The ids of the notes whose name passes `keep`.
fn expected(notes: &[Value], keep: impl Fn(&str) -> bool) -> BTreeSet<String> {
    notes
        .iter()
        .filter(|n| keep(name_of(n)))
        .map(|n| id_of(n).to_owned())
        .collect()
}

/// The ids a filtered list of notes holds (unpaged), checking its order when the query sorts
/// by name, and with `count` its total count.
async fn found(api: &ApiClient, query: &str, notes: &[Value], count: bool) -> BTreeSet<String> {
    let path = format!("/api/notes?{query}&page[size]=-1");
    let headers: &[(&str, &str)] = if count {
        &[("X-Include", "totalCount")]
    } else {
        &[]
    };
    let response = api.get_with(&path, headers).await;
    response.assert_status(200);
    let listed = response.ids();
    let ids: BTreeSet<String> = listed.iter().cloned().collect();
    if count {
        assert_eq!(
            response.header("x-include-total-count"),
            Some(ids.len().to_string().as_str()),
            "{}\nthe total count of {query}",
            response.describe()
        );
    }
    let name = |id: &String| notes.iter().find(|n| id_of(n) == id).map_or("", name_of);
    let descending = query.ends_with("sort=-name");
    if descending || query.ends_with("sort=name") {
        for pair in listed.windows(2) {
            let order = name(&pair[0]).cmp(name(&pair[1]));
            assert_ne!(
                order,
                if descending {
                    Ordering::Less
                } else {
                    Ordering::Greater
                },
                "{query}: {} listed before {}",
                short(name(&pair[0])),
                short(name(&pair[1]))
            );
        }
    }
    ids
}

/// A readable name for a long value in a failure message.
fn short(value: &str) -> String {
    let clefs = value.chars().take_while(|c| *c == '\u{1D11E}').count();
    format!(
        "{clefs} clefs + {:?} ({} bytes)",
        &value[clefs * 4..],
        value.len()
    )
}

/// Equality, lists and ranges find exactly the matching values.
async fn check_equality_lists_and_ranges(app: &ApiClient, names: &[String], notes: &[Value]) {
    // Read in memory (by id), or from the name index (by name, both ways).
    let sorts = ["", "&sort=name", "&sort=-name"];
    for (i, name) in names.iter().enumerate() {
        let sort = sorts[i % sorts.len()];
        let query = format!("filter[name]={}{sort}", enc(name));
        assert_eq!(
            found(app, &query, notes, true).await,
            expected(notes, |n| n == name),
            "filter[name] = {}{sort}",
            short(name)
        );
    }
    for pair in names.chunks(2).filter(|p| p.len() == 2).step_by(2) {
        let query = format!("filter[name]={},{}&sort=name", enc(&pair[0]), enc(&pair[1]));
        assert_eq!(
            found(app, &query, notes, true).await,
            expected(notes, |n| n == pair[0] || n == pair[1]),
            "filter[name] in {} and {}",
            short(&pair[0]),
            short(&pair[1])
        );
        // Arrays index each element.
        let query = format!("filter[tags][contains]={}", enc(&pair[1]));
        let tagged = notes
            .iter()
            .filter(|n| {
                attr(n, "tags")
                    .as_array()
                    .is_some_and(|t| t.contains(&json!(pair[1])))
            })
            .map(|n| id_of(n).to_owned())
            .collect::<BTreeSet<String>>();
        assert!(!tagged.is_empty());
        assert_eq!(
            found(app, &query, notes, false).await,
            tagged,
            "filter[tags][contains] = {}",
            short(&pair[1])
        );
    }
    // Bounds on both sides of a cut, and a long value; sorted by name, so that the name index
    // serves them.
    let bounds = [&names[7], &names[TAILS.len() + 5], &names[2 * TAILS.len()]];
    for bound in bounds {
        for (op, keep, sort) in [
            ("lt", Ordering::is_lt as fn(Ordering) -> bool, "name"),
            ("lte", Ordering::is_le, "-name"),
            ("gt", Ordering::is_gt, "-name"),
            ("gte", Ordering::is_ge, "name"),
        ] {
            let query = format!("filter[name][{op}]={}&sort={sort}", enc(bound));
            assert_eq!(
                found(app, &query, notes, false).await,
                expected(notes, |n| keep(n.cmp(bound.as_str()))),
                "filter[name][{op}] = {} by {sort}",
                short(bound)
            );
        }
        for upper in bounds {
            let query = format!("filter[name]={}..{}&sort=name", enc(bound), enc(upper));
            assert_eq!(
                found(app, &query, notes, false).await,
                expected(notes, |n| bound.as_str() <= n && n <= upper.as_str()),
                "filter[name] = {}..{}",
                short(bound),
                short(upper)
            );
        }
    }
}

/// `starts_with` finds exactly the values with the prefix, however long.
async fn check_prefixes(app: &ApiClient, names: &[String], notes: &[Value]) {
    // Prefixes of the names on both sides of each cut (130 clefs are 520 bytes).
    let mut prefixes = BTreeSet::new();
    for name in names {
        for chars in [1, 94, 95, 130, 190, 191, 192, 250] {
            let prefix: String = name.chars().take(chars).collect();
            prefixes.insert(prefix);
        }
    }
    for prefix in &prefixes {
        // Sorted by name, so that the name index serves it.
        let query = format!("filter[name][starts_with]={}&sort=name", enc(prefix));
        assert_eq!(
            found(app, &query, notes, true).await,
            expected(notes, |n| n.starts_with(prefix.as_str())),
            "filter[name][starts_with] = {}",
            short(prefix)
        );
    }
}

/// How a sorted list is walked besides following `next` links from `page[after]=`.
#[derive(Clone, Copy, PartialEq)]
enum AlsoWalk {
    Nothing,
    /// `prev` links back from the last page.
    Backwards,
    /// `prev` links back, and `page[number]` pages.
    BackwardsAndByNumber,
}

/// Which notes a sorted list holds, and the order it must keep (ties in any order).
type Expected<'a> = (
    &'a dyn Fn(&Value) -> bool,
    &'a dyn Fn(&Value, &Value) -> Ordering,
);

/// Walks a sorted list of notes; checks each walk against the order of `cmp`.
async fn assert_sorted(
    api: &ApiClient,
    path: &str,
    notes: &[Value],
    (keep, cmp): Expected<'_>,
    also: AlsoWalk,
) {
    let forward = walk(api, &format!("{path}&page[size]=8&page[after]="), "next").await;
    let mut walks = Vec::new();
    if also != AlsoWalk::Nothing {
        let last = forward.last().expect("one page at least");
        let mut backward = walk(api, &last.url, "prev").await;
        backward.reverse();
        walks.push((backward, "backwards"));
    }
    if also == AlsoWalk::BackwardsAndByNumber {
        let numbered = walk(api, &format!("{path}&page[size]=8"), "next").await;
        walks.push((numbered, "by number"));
    }
    walks.push((forward, "forwards"));
    for (pages, how) in walks {
        let what = format!("{path} {how}");
        assert_in_order(&ids_of_pages(&pages), notes, keep, cmp, &what);
    }
}

/// Sorts keep the order of the values, in every index and in every walk.
async fn check_sorts(app: &ApiClient, notes: &[Value]) {
    let everything = |_: &Value| true;
    let by_name = |a: &Value, b: &Value| name_of(a).cmp(name_of(b));
    let by_name_desc = |a: &Value, b: &Value| name_of(b).cmp(name_of(a));
    let path = "/api/notes?sort=name";
    let also = AlsoWalk::BackwardsAndByNumber;
    assert_sorted(app, path, notes, (&everything, &by_name), also).await;
    let path = "/api/notes?sort=-name";
    assert_sorted(
        app,
        path,
        notes,
        (&everything, &by_name_desc),
        AlsoWalk::Nothing,
    )
    .await;
    // The composite index [topic, name] keeps less of each value.
    let in_t = |n: &Value| attr(n, "topic") == "t";
    let path = "/api/notes?filter[topic]=t&sort=-name";
    assert_sorted(
        app,
        path,
        notes,
        (&in_t, &by_name_desc),
        AlsoWalk::Backwards,
    )
    .await;
    // Two long values in one entry: the notes of one long name by their long codes.
    let code_of = |n: &Value| attr(n, "code").as_str().expect("a code").to_owned();
    let by_code = |a: &Value, b: &Value| code_of(a).cmp(&code_of(b));
    let named = |n: &Value| name_of(n) == long_name();
    let path = format!("/api/notes?filter[name]={}&sort=code", enc(&long_name()));
    assert_sorted(app, &path, notes, (&named, &by_code), AlsoWalk::Backwards).await;
    let path = "/api/notes?sort=code";
    assert_sorted(app, path, notes, (&everything, &by_code), AlsoWalk::Nothing).await;
}

/// Ids are at most 255 bytes; a longer one in a filter names no resource (and is no key a
/// store refuses).
async fn check_ids(app: &ApiClient, notes: &[Value]) {
    let id = id_of(&notes[1]);
    let longer = format!("{id}{}", CLEF.repeat(500));
    for (filter, expected) in [(id.to_owned(), 1), (longer.clone(), 0)] {
        for sort in ["", "&sort=-id"] {
            let query = format!("filter[id]={}{sort}", enc(&filter));
            assert_eq!(
                found(app, &query, notes, true).await.len(),
                expected,
                "{query}"
            );
        }
    }
    let query = format!("filter[id]={},{}", enc(id), enc(&longer));
    assert_eq!(found(app, &query, notes, true).await.len(), 1, "{query}");
}

#[tokio::test]
async fn reads_of_long_values_are_exact() {
    let names = names();
    let (app, notes) = notes_app(&names).await;
    check_ids(&app, &notes).await;
    check_equality_lists_and_ranges(&app, &names, &notes).await;
    check_prefixes(&app, &names, &notes).await;
    check_sorts(&app, &notes).await;
}

#[tokio::test]
async fn a_unique_value_of_any_length_is_claimed_by_that_value_alone() {
    let app = TestApp::spawn_with_config(CONFIG, false).await;
    let long = "u".repeat(3000);
    let clefs = CLEF.repeat(600);
    // Values that differ only past what a key keeps, and values at that length.
    let codes = [
        format!("{long}1"),
        format!("{long}2"),
        format!("{clefs}x"),
        format!("{clefs}y"),
        "k".repeat(1024),
        format!("{}k", "k".repeat(1024)),
        format!("{}é", "k".repeat(1023)),
    ];
    let mut ids = Vec::new();
    for (n, code) in codes.iter().enumerate() {
        let note = create_note(&app, n, json!({ "name": "n", "code": code })).await;
        ids.push(id_of(&note).to_owned());
    }
    for (n, code) in codes.iter().enumerate() {
        let response = post_note(&app, 100 + n, json!({ "code": code })).await;
        let at = Source::Pointer("/data/attributes/code");
        assert_error(&response, 400, "unique entity constraint", at);
    }
    // An upsert by a long value finds its note.
    let upsert = json!({ "data": {
        "type": "notes",
        "attributes": { "code": codes[1], "name": "upserted" },
        "meta": { "upsert": ["code"] },
    } });
    let response = app.post("/api/notes", &upsert).await;
    response.assert_status(200);
    assert_eq!(id_of(response.data()), ids[1]);
    assert_eq!(attr(response.data(), "name"), "upserted");
    // A changed value releases the old one.
    let patch = resource_doc(
        "notes",
        Some(&ids[0]),
        json!({ "code": format!("{long}3") }),
        json!({}),
    );
    app.patch(&format!("/api/notes/{}", ids[0]), &patch)
        .await
        .assert_status(200);
    create_note(&app, 300, json!({ "code": codes[0] })).await;
    assert_eq!(app.list_all("notes").await.len(), codes.len() + 1);
    let filter = format!("filter[code][starts_with]={}", enc(&long));
    let response = get_ok(&app, &format!("/api/notes?{filter}&page[size]=-1")).await;
    assert_eq!(response.ids().len(), 3, "{}", response.describe());
    assert!(link(&response, "next").is_none());
}
