//! Optimistic concurrency: a strong `ETag` on single-resource answers and on writes,
//! `If-None-Match` → 304, `If-Match` → 412 when stale (on `PATCH`, `DELETE`, the relationship
//! endpoints, and a compound `PATCH`'s primary resource), 428 where a type requires it; and a
//! storm of writers holding one tag, of whom exactly one wins each version.

use std::collections::BTreeSet;

use jsonapi_tests::values::{attr, id_of};
use jsonapi_tests::{
    ApiClient, EXAMPLE_CONFIG, MT, Method, Source, TestApp, TestResponse, Value, assert_error,
    json, resource_doc, to_many, to_one,
};

use crate::fixtures::{create_category, create_product};
use crate::invariants::{at_once, member_set, statuses};

/// The `ETag` of a response; panics without one.
fn etag(response: &TestResponse) -> String {
    response
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag:\n{}", response.describe()))
        .to_owned()
}

async fn get_tagged(api: &ApiClient, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    api.get_with(path, headers).await
}

async fn delete_with(api: &ApiClient, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut all = vec![("Accept", MT)];
    all.extend_from_slice(headers);
    api.request(Method::DELETE, path, &all, None).await
}

async fn linkage_write(
    api: &ApiClient,
    method: Method,
    path: &str,
    linkage: &Value,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut all = vec![("Accept", MT), ("Content-Type", MT)];
    all.extend_from_slice(headers);
    api.request(method, path, &all, Some(&linkage.to_string()))
        .await
}

fn name_patch(id: &str, name: &str) -> Value {
    resource_doc("products", Some(id), json!({ "name": name }), json!({}))
}

#[tokio::test]
async fn a_resource_carries_a_strong_etag_and_if_none_match_answers_304_without_a_body() {
    let app = TestApp::spawn().await;
    let id = id_of(&create_product(&app, "ET-1").await).to_owned();
    let path = format!("/api/products/{id}");
    let first = get_tagged(&app, &path, &[]).await;
    first.assert_status(200);
    let tag = etag(&first);
    assert!(
        tag.starts_with('"') && tag.ends_with('"') && tag.len() > 2,
        "a strong, quoted tag: {tag}"
    );
    // The same stored version gives the same tag (an include does not change it).
    assert_eq!(etag(&get_tagged(&app, &path, &[]).await), tag);
    assert_eq!(
        etag(&get_tagged(&app, &format!("{path}?include=category"), &[]).await),
        tag
    );
    let weak = format!("W/{tag}");
    for (value, status) in [
        (tag.as_str(), 304),
        (weak.as_str(), 304), // If-None-Match compares weakly
        ("*", 304),
        ("\"other\", \"more\"", 200),
    ] {
        let r = get_tagged(&app, &path, &[("If-None-Match", value)]).await;
        r.assert_status(status);
        assert_eq!(etag(&r), tag, "{value}");
        if status == 304 {
            assert!(r.raw.is_empty(), "a 304 has no body: {}", r.describe());
        }
    }
    let head = app.head_with(&path, &[("If-None-Match", &tag)]).await;
    head.assert_status(304);
    // A change is a new version, and its answer names it.
    let patched = app.patch(&path, &name_patch(&id, "Renamed")).await;
    patched.assert_status(200);
    let new_tag = etag(&patched);
    assert_ne!(new_tag, tag);
    let after = get_tagged(&app, &path, &[("If-None-Match", &tag)]).await;
    after.assert_status(200);
    assert_eq!(etag(&after), new_tag);
    assert_eq!(attr(after.data(), "name"), "Renamed");
    // A create names its version too; lists carry none.
    let created = app
        .post(
            "/api/products",
            &resource_doc(
                "products",
                None,
                crate::fixtures::product_attributes("ET-2"),
                json!({}),
            ),
        )
        .await;
    created.assert_status(201);
    let created_path = format!("/api/products/{}", id_of(created.data()));
    assert_eq!(
        etag(&get_tagged(&app, &created_path, &[]).await),
        etag(&created)
    );
    assert_eq!(app.get("/api/products").await.header("etag"), None);
}

/// The plain view, a currency and a localization are other representations at the same URL
/// (`Vary` names their headers): each has its own tag, so a cache holding one never gets a
/// `304` for another. `If-Match` names the resource, whatever representation its tag came from.
#[tokio::test]
async fn each_representation_has_its_own_tag_and_if_match_takes_any_of_them() {
    let app = TestApp::spawn().await;
    let id = id_of(&create_product(&app, "ET-V").await).to_owned();
    let path = format!("/api/products/{id}");
    let variants: [&[(&str, &str)]; 4] = [
        &[],
        &[("Accept", "application/json")],
        &[("X-Currency", "EUR")],
        &[("X-Localization-ID", "fr")],
    ];
    let mut tags = BTreeSet::new();
    for headers in variants {
        let r = get_tagged(&app, &path, headers).await;
        r.assert_status(200);
        let vary: Vec<&str> = r
            .headers
            .get_all("vary")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(',').map(str::trim))
            .collect();
        assert!(vary.contains(&"Accept"), "{headers:?}: {vary:?}");
        let tag = etag(&r);
        // The same request, the same tag: a 304.
        let mut again = headers.to_vec();
        again.push(("If-None-Match", &tag));
        get_tagged(&app, &path, &again).await.assert_status(304);
        tags.insert(tag);
    }
    assert_eq!(tags.len(), 4, "one tag per representation: {tags:?}");
    // The default representation's tag is no 304 of the euro one.
    let default = etag(&get_tagged(&app, &path, &[]).await);
    get_tagged(
        &app,
        &path,
        &[("X-Currency", "EUR"), ("If-None-Match", &default)],
    )
    .await
    .assert_status(200);
    // A write checked with the plain view's tag applies; then every old tag is stale.
    let plain = etag(&get_tagged(&app, &path, &[("Accept", "application/json")]).await);
    let patched = app
        .patch_with(&path, &name_patch(&id, "Renamed"), &[("If-Match", &plain)])
        .await;
    patched.assert_status(200);
    let stale = app
        .patch_with(&path, &name_patch(&id, "Again"), &[("If-Match", &default)])
        .await;
    assert_error(
        &stale,
        412,
        "precondition failed",
        Source::Header("If-Match"),
    );
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing_a_current_one_applies() {
    let app = jsonapi_tests::shared_scratch();
    let id = id_of(&create_product(&app, "IM-1").await).to_owned();
    let path = format!("/api/products/{id}");
    let old = etag(&app.get(&path).await);
    let current = etag(&app.patch(&path, &name_patch(&id, "Second")).await);
    for stale in [old.as_str(), "\"nope\"", "W/\"x\""] {
        let r = app
            .patch_with(&path, &name_patch(&id, "Lost"), &[("If-Match", stale)])
            .await;
        assert_error(&r, 412, "precondition failed", Source::Header("If-Match"));
    }
    // A weak tag never matches strongly, even the current one.
    let weak = format!("W/{current}");
    let r = app
        .patch_with(&path, &name_patch(&id, "Lost"), &[("If-Match", &weak)])
        .await;
    assert_error(&r, 412, "precondition failed", Source::Header("If-Match"));
    assert_eq!(attr(app.get(&path).await.data(), "name"), "Second");
    let list = format!("\"nope\", {current}");
    let r = app
        .patch_with(&path, &name_patch(&id, "Third"), &[("If-Match", &list)])
        .await;
    r.assert_status(200);
    let third = etag(&r);
    assert_eq!(etag(&app.get(&path).await), third);
    // A PATCH that changes nothing still checks the version.
    let r = app
        .patch_with(&path, &name_patch(&id, "Third"), &[("If-Match", &current)])
        .await;
    assert_error(&r, 412, "precondition failed", Source::Header("If-Match"));
    let r = app
        .patch_with(&path, &name_patch(&id, "Third"), &[("If-Match", &third)])
        .await;
    r.assert_status(200);
    assert_eq!(etag(&r), third);
    // `*` holds for any existing resource; If-Match on GET is checked too.
    app.patch_with(&path, &name_patch(&id, "Fourth"), &[("If-Match", "*")])
        .await
        .assert_status(200);
    let r = app.get_with(&path, &[("If-Match", &third)]).await;
    assert_error(&r, 412, "precondition failed", Source::Header("If-Match"));
    // DELETE: stale refused, current applied.
    let fourth = etag(&app.get(&path).await);
    let r = delete_with(&app, &path, &[("If-Match", &third)]).await;
    assert_error(&r, 412, "precondition failed", Source::Header("If-Match"));
    app.get(&path).await.assert_status(200);
    delete_with(&app, &path, &[("If-Match", &fourth)])
        .await
        .assert_status(204);
    app.get(&path).await.assert_status(404);
}

#[tokio::test]
async fn malformed_precondition_headers_are_400_naming_the_header() {
    let app = jsonapi_tests::shared_scratch();
    let id = id_of(&create_product(&app, "MF-1").await).to_owned();
    let path = format!("/api/products/{id}");
    for (header, value) in [
        ("If-Match", "abc"),
        ("If-Match", "\"open"),
        ("If-None-Match", "W/x"),
        ("If-None-Match", ","),
    ] {
        let r = app.get_with(&path, &[(header, value)]).await;
        assert_error(
            &r,
            400,
            "bad request http exception",
            Source::Header(header),
        );
    }
}

#[tokio::test]
async fn relationship_writes_check_if_match_on_the_owner_and_answer_its_version() {
    let app = jsonapi_tests::shared_scratch();
    let category = id_of(&create_category(&app, "Tea", None).await).to_owned();
    let other = id_of(&create_category(&app, "Coffee", None).await).to_owned();
    let product = id_of(&create_product(&app, "RW-1").await).to_owned();
    // An owned to-one: the product item changes.
    let path = format!("/api/products/{product}/relationships/category");
    let tag = etag(&app.get(&format!("/api/products/{product}")).await);
    let r = linkage_write(
        &app,
        Method::PATCH,
        &path,
        &to_one("categories", &category),
        &[("If-Match", &tag)],
    )
    .await;
    r.assert_status(204);
    let after = etag(&r);
    assert_ne!(after, tag);
    assert_eq!(
        etag(&app.get(&format!("/api/products/{product}")).await),
        after
    );
    let r = linkage_write(
        &app,
        Method::PATCH,
        &path,
        &to_one("categories", &other),
        &[("If-Match", &tag)],
    )
    .await;
    assert_error(&r, 412, "precondition failed", Source::Header("If-Match"));
    // An inverse to-many: the members change, the category item does not; its version is
    // still what If-Match holds to.
    let members = format!("/api/categories/{category}/relationships/products");
    let second = id_of(&create_product(&app, "RW-2").await).to_owned();
    let stale = "\"stale\"";
    let r = linkage_write(
        &app,
        Method::POST,
        &members,
        &to_many("products", &[&second]),
        &[("If-Match", stale)],
    )
    .await;
    assert_error(&r, 412, "precondition failed", Source::Header("If-Match"));
    assert_eq!(
        member_set(&app, "categories", &category, "products").await,
        BTreeSet::from([product.clone()])
    );
    let owner = etag(&app.get(&format!("/api/categories/{category}")).await);
    let r = linkage_write(
        &app,
        Method::POST,
        &members,
        &to_many("products", &[&second]),
        &[("If-Match", &owner)],
    )
    .await;
    r.assert_status(204);
    assert_eq!(etag(&r), owner, "the category item itself did not change");
    assert_eq!(
        member_set(&app, "categories", &category, "products").await,
        BTreeSet::from([product, second])
    );
}

#[tokio::test]
async fn a_compound_patch_with_a_stale_if_match_writes_nothing_of_its_included_resources() {
    let app = TestApp::spawn().await;
    let category = id_of(&create_category(&app, "Old", None).await).to_owned();
    let path = format!("/api/categories/{category}");
    let stale = etag(&app.get(&path).await);
    app.patch(
        &path,
        &resource_doc(
            "categories",
            Some(&category),
            json!({ "name": "New" }),
            json!({}),
        ),
    )
    .await
    .assert_status(200);
    let body = json!({
        "data": {
            "type": "categories", "id": category,
            "attributes": { "name": "Newer" },
            "relationships": { "children": { "data": [{ "type": "categories", "lid": "c" }] } },
        },
        "included": [{ "type": "categories", "lid": "c", "attributes": { "name": "Child" } }],
    });
    let r = app.patch_with(&path, &body, &[("If-Match", &stale)]).await;
    assert_error(&r, 412, "precondition failed", Source::Header("If-Match"));
    assert_eq!(app.list_all("categories").await.len(), 1);
    assert_eq!(attr(app.get(&path).await.data(), "name"), "New");
}

#[tokio::test]
async fn a_type_that_requires_if_match_answers_428_without_it() {
    let yaml = EXAMPLE_CONFIG.replacen(
        "  categories:\n    id: sequence\n",
        "  categories:\n    id: sequence\n    requireIfMatch: true\n",
        1,
    );
    assert_ne!(yaml, EXAMPLE_CONFIG, "the example declares categories");
    let app = TestApp::spawn_with_config(&yaml, false).await;
    // Creating names no version: no precondition needed.
    let id = id_of(&create_category(&app, "Guarded", None).await).to_owned();
    let path = format!("/api/categories/{id}");
    let patch = resource_doc("categories", Some(&id), json!({ "name": "X" }), json!({}));
    let r = app.patch(&path, &patch).await;
    assert_error(&r, 428, "precondition required", Source::Header("If-Match"));
    let r = delete_with(&app, &path, &[]).await;
    assert_error(&r, 428, "precondition required", Source::Header("If-Match"));
    let r = linkage_write(
        &app,
        Method::PATCH,
        &format!("{path}/relationships/parent"),
        &json!({ "data": null }),
        &[],
    )
    .await;
    assert_error(&r, 428, "precondition required", Source::Header("If-Match"));
    let tag = etag(&app.get(&path).await);
    app.patch_with(&path, &patch, &[("If-Match", &tag)])
        .await
        .assert_status(200);
    // Other types are not affected.
    let product = id_of(&create_product(&app, "NG-1").await).to_owned();
    app.patch(
        &format!("/api/products/{product}"),
        &name_patch(&product, "Free"),
    )
    .await
    .assert_status(200);
}

/// Fifty writers PATCH one resource at once, all with the tag they read: exactly one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_patches_with_one_tag_give_exactly_one_200() {
    const WRITERS: usize = 50;
    let app = jsonapi_tests::shared_scratch();
    let id = id_of(&create_product(&app, "ST-1").await).to_owned();
    let path = format!("/api/products/{id}");
    let tag = etag(&app.get(&path).await);
    let answers = at_once(WRITERS, |i| {
        let (api, path, id, tag) = (app.clone(), path.clone(), id.clone(), tag.clone());
        async move {
            // Every writer changes something (0 is the stored quantity): a PATCH that changes
            // nothing holds the version without making a new one, so it could win too.
            let doc = resource_doc(
                "products",
                Some(&id),
                json!({ "quantity": i + 1 }),
                json!({}),
            );
            api.patch_with(&path, &doc, &[("If-Match", &tag)]).await
        }
    })
    .await;
    let winners: Vec<usize> = (0..WRITERS)
        .filter(|i| answers[*i].status.as_u16() == 200)
        .collect();
    assert_eq!(winners.len(), 1, "{:?}", statuses(&answers));
    for (i, r) in answers.iter().enumerate() {
        if i != winners[0] {
            assert_error(r, 412, "precondition failed", Source::Header("If-Match"));
        }
    }
    let stored = app.get(&path).await;
    assert_eq!(attr(stored.data(), "quantity"), winners[0] + 1);
    assert_eq!(etag(&stored), etag(&answers[winners[0]]));
}

/// Fifty writers each add one to a counter by read, then PATCH with `If-Match`, re-reading on
/// 412: every version is won by exactly one writer, and no increment is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_modify_write_with_if_match_loses_no_update() {
    const WRITERS: usize = 50;
    let app = jsonapi_tests::shared_scratch();
    let id = id_of(&create_product(&app, "ST-2").await).to_owned();
    let path = format!("/api/products/{id}");
    let wins = at_once(WRITERS, |_| {
        let (api, path, id) = (app.clone(), path.clone(), id.clone());
        async move {
            loop {
                let read = api.get(&path).await;
                read.assert_status(200);
                let quantity = attr(read.data(), "quantity").as_i64().unwrap_or_default();
                let doc = resource_doc(
                    "products",
                    Some(&id),
                    json!({ "quantity": quantity + 1 }),
                    json!({}),
                );
                let r = api
                    .patch_with(&path, &doc, &[("If-Match", &etag(&read))])
                    .await;
                match r.status.as_u16() {
                    200 => return (quantity + 1, etag(&r)),
                    412 => continue,
                    _ => panic!("{}", r.describe()),
                }
            }
        }
    })
    .await;
    let versions: BTreeSet<i64> = wins.iter().map(|(q, _)| *q).collect();
    assert_eq!(
        versions,
        (1..=WRITERS as i64).collect(),
        "each version won once"
    );
    let tags: BTreeSet<&String> = wins.iter().map(|(_, t)| t).collect();
    assert_eq!(tags.len(), WRITERS, "every win is a new version");
    let stored = app.get(&path).await;
    assert_eq!(attr(stored.data(), "quantity"), WRITERS as i64);
}
