//! HATEOAS links (Oro §2.6, acceptance rows 28–30; JSON:API checklist C9, G).
//!
//! The harness checks the shape of every resource and relationship link it sees; these tests
//! check that the links are there, the pagination links of lists, and `X-Include: noHateoas`.

use jsonapi_tests::values::{id_of, links_members, sorted_query, split_url};
use jsonapi_tests::{TestApp, Value, json, resource_doc, to_one};

use crate::fixtures::{create_category, create_product};

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

fn link<'a>(links: &'a Value, name: &str) -> &'a str {
    match links
        .get(name)
        .and_then(jsonapi_tests::conformance::link_href)
    {
        Some(href) => href,
        None => panic!("no {name} link in {links}"),
    }
}

/// The names of the links present (non-null) in a `links` object, sorted.
fn names(links: &Value) -> Vec<String> {
    let mut names: Vec<String> = links
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn a_resource_links_to_itself_and_its_relationships() {
    let app = jsonapi_tests::shared_scratch();
    let parent = create_category(&app, "Parent", None).await;
    let category = create_category(&app, "Child", Some(id_of(&parent))).await;
    let id = id_of(&category);
    let fetched = app.fetch("categories", id).await;
    let base = app.url(&format!("/api/categories/{id}"));
    assert_eq!(link(&fetched["links"], "self"), base);
    for rel in ["parent", "children", "products"] {
        let relationship = &fetched["relationships"][rel];
        assert_eq!(
            link(&relationship["links"], "self"),
            format!("{base}/relationships/{rel}")
        );
        assert_eq!(
            link(&relationship["links"], "related"),
            format!("{base}/{rel}")
        );
        assert!(
            relationship.get("data").is_some(),
            "{rel} has no data: {fetched}"
        );
    }
    assert_eq!(
        fetched["relationships"]["parent"]["data"],
        json!({ "type": "categories", "id": id_of(&parent) })
    );
    assert_eq!(fetched["relationships"]["children"]["data"], json!([]));
    assert_eq!(fetched["relationships"]["products"]["data"], json!([]));
}

#[tokio::test]
async fn every_resource_in_a_list_links_to_itself() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products").await;
    for product in response.items() {
        assert_eq!(
            link(&product["links"], "self"),
            app.url(&format!("/api/products/{}", id_of(product)))
        );
        assert!(
            product["relationships"]["category"]["links"].is_object(),
            "{product}"
        );
    }
}

#[tokio::test]
async fn the_first_page_links_to_itself_and_the_next_page_only() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?page[size]=20").await;
    let links = &response.json()["links"];
    assert_eq!(names(links), vec!["next", "self"], "{links}");
    assert_eq!(split_url(link(links, "self")).0, app.url("/api/products"));
    let next = link(links, "next");
    assert_eq!(split_url(next).0, app.url("/api/products"));
    assert_eq!(
        sorted_query(next),
        pairs(&[("page[number]", "2"), ("page[size]", "20")])
    );
}

#[tokio::test]
async fn a_middle_page_links_to_the_first_previous_and_next_pages() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?page[size]=20&page[number]=2").await;
    let links = &response.json()["links"];
    assert_eq!(
        names(links),
        vec!["first", "next", "prev", "self"],
        "{links}"
    );
    assert_eq!(
        sorted_query(link(links, "first")),
        pairs(&[("page[size]", "20")])
    );
    // The previous page is page 1, so page[number] is left out.
    assert_eq!(
        sorted_query(link(links, "prev")),
        pairs(&[("page[size]", "20")])
    );
    assert_eq!(
        sorted_query(link(links, "next")),
        pairs(&[("page[number]", "3"), ("page[size]", "20")])
    );
}

#[tokio::test]
async fn a_later_middle_page_links_back_with_its_page_number() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?page[number]=3").await;
    let links = &response.json()["links"];
    assert_eq!(
        names(links),
        vec!["first", "next", "prev", "self"],
        "{links}"
    );
    assert_eq!(sorted_query(link(links, "first")), pairs(&[]));
    assert_eq!(
        sorted_query(link(links, "prev")),
        pairs(&[("page[number]", "2")])
    );
    assert_eq!(
        sorted_query(link(links, "next")),
        pairs(&[("page[number]", "4")])
    );
}

#[tokio::test]
async fn the_last_page_links_to_the_first_and_previous_pages_only() {
    let app = jsonapi_tests::shared_seeded();
    let response = app.get("/api/products?page[size]=20&page[number]=3").await;
    assert_eq!(response.items().len(), 10);
    let links = &response.json()["links"];
    assert_eq!(names(links), vec!["first", "prev", "self"], "{links}");
    assert_eq!(
        sorted_query(link(links, "prev")),
        pairs(&[("page[number]", "2"), ("page[size]", "20")])
    );
}

#[tokio::test]
async fn a_list_that_fits_one_page_links_only_to_itself() {
    let app = TestApp::spawn().await;
    for i in 0..3 {
        create_product(&app, &format!("ONE-{i}")).await;
    }
    let response = app.get("/api/products").await;
    assert_eq!(names(&response.json()["links"]), vec!["self"]);
    let empty = app.get("/api/users").await;
    assert_eq!(names(&empty.json()["links"]), vec!["self"]);
    let all = app.get("/api/products?page[size]=-1").await;
    assert_eq!(names(&all.json()["links"]), vec!["self"]);
}

#[tokio::test]
async fn no_list_ever_has_a_last_link() {
    let app = jsonapi_tests::shared_seeded();
    for query in ["", "?page[number]=2", "?page[number]=5", "?page[size]=50"] {
        let response = app.get(&format!("/api/products{query}")).await;
        assert!(
            response.json()["links"].get("last").is_none(),
            "{}",
            response.describe()
        );
    }
}

#[tokio::test]
async fn a_relationship_document_links_to_itself_and_the_related_resources() {
    let app = jsonapi_tests::shared_scratch();
    let parent = create_category(&app, "Parent", None).await;
    create_category(&app, "Child", Some(id_of(&parent))).await;
    let base = app.url(&format!("/api/categories/{}", id_of(&parent)));
    let response = app
        .get(&format!(
            "/api/categories/{}/relationships/children",
            id_of(&parent)
        ))
        .await;
    let links = &response.json()["links"];
    assert_eq!(
        link(links, "self"),
        format!("{base}/relationships/children")
    );
    assert_eq!(link(links, "related"), format!("{base}/children"));
}

#[tokio::test]
async fn no_hateoas_removes_every_link() {
    let app = TestApp::spawn().await;
    for i in 0..11 {
        create_product(&app, &format!("NH-{i:02}")).await;
    }
    let parent = create_category(&app, "Parent", None).await;
    let child = create_category(&app, "Child", Some(id_of(&parent))).await;
    let no_links = [("X-Include", "noHateoas")];
    let paths = [
        "/api/products?page[number]=2".to_owned(),
        "/api/products/1".to_owned(),
        format!("/api/categories/{}", id_of(&child)),
        format!("/api/categories/{}/children", id_of(&parent)),
        format!("/api/categories/{}/parent", id_of(&child)),
        format!("/api/categories/{}/relationships/children", id_of(&parent)),
    ];
    for path in &paths {
        let with = app.get(path).await;
        assert!(
            !links_members(with.json()).is_empty(),
            "{}",
            with.describe()
        );
        let without = app.get_with(path, &no_links).await;
        without.assert_status(200);
        assert!(
            links_members(without.json()).is_empty(),
            "{}",
            without.describe()
        );
        // Only the links go: linkage stays.
        if let Some(rels) = without.data().get("relationships") {
            for (name, rel) in rels.as_object().expect("relationships") {
                assert!(rel.get("data").is_some(), "{name} lost its data");
            }
        }
    }
}

#[tokio::test]
async fn no_hateoas_also_applies_to_write_responses() {
    let app = jsonapi_tests::shared_scratch();
    let category = create_category(&app, "Tools", None).await;
    let no_links = [("X-Include", "noHateoas")];
    let created = app
        .post_with(
            "/api/products",
            &resource_doc(
                "products",
                None,
                crate::fixtures::product_attributes("NH-1"),
                json!({ "category": to_one("categories", id_of(&category)) }),
            ),
            &no_links,
        )
        .await;
    created.assert_status(201);
    assert!(
        links_members(created.json()).is_empty(),
        "{}",
        created.describe()
    );
    let id = id_of(created.data()).to_owned();
    let updated = app
        .patch_with(
            &format!("/api/products/{id}"),
            &resource_doc(
                "products",
                Some(&id),
                json!({ "name": "Renamed" }),
                json!({}),
            ),
            &no_links,
        )
        .await;
    updated.assert_status(200);
    assert!(
        links_members(updated.json()).is_empty(),
        "{}",
        updated.describe()
    );
    assert_eq!(
        updated.data()["relationships"]["category"]["data"],
        json!({ "type": "categories", "id": id_of(&category) })
    );
}

/// Headers a client (or a proxy it talks through) may use to name another host.
const FORGED_HOST: &[(&str, &str)] = &[
    ("Host", "evil.example"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Proto", "https"),
    ("Forwarded", "host=evil.example;proto=https"),
];

fn new_product(sku: &str) -> Value {
    resource_doc(
        "products",
        None,
        json!({ "sku": sku, "name": "Link test", "price": "1.00" }),
        json!({}),
    )
}

#[tokio::test]
async fn links_and_location_never_follow_the_host_a_client_names() {
    let app = TestApp::spawn_seeded().await;
    let base = app.base_url().to_owned();
    // The harness checks every resource and relationship link against the server's address.
    let created = app
        .post_with("/api/products", &new_product("HOST-1"), FORGED_HOST)
        .await;
    created.assert_status(201);
    let id = id_of(created.data());
    assert_eq!(
        created.header("location"),
        Some(format!("{base}/api/products/{id}").as_str())
    );
    let list = app
        .get_with("/api/products?page[size]=2&page[number]=2", FORGED_HOST)
        .await;
    list.assert_status(200);
    for name in ["self", "first", "prev", "next"] {
        assert!(
            link(&list.json()["links"], name).starts_with(&format!("{base}/api/products")),
            "{}",
            list.describe()
        );
    }
    assert!(
        !String::from_utf8_lossy(&list.raw).contains("evil.example"),
        "{}",
        list.describe()
    );
}

#[tokio::test]
async fn links_and_location_start_with_the_configured_public_url() {
    const PUBLIC: &str = "https://shop.example.com/v1";
    let app = TestApp::spawn_with_config(
        &jsonapi_tests::example_config_with("  publicUrl: https://shop.example.com/v1/\n"),
        true,
    )
    .await;
    // Resource and relationship links are checked against the public URL by the harness.
    let api = app.client().with_links_base(PUBLIC);
    let created = api
        .post_with("/api/products", &new_product("PUBLIC-1"), FORGED_HOST)
        .await;
    created.assert_status(201);
    let id = id_of(created.data());
    assert_eq!(
        created.header("location"),
        Some(format!("{PUBLIC}/api/products/{id}").as_str())
    );
    let list = api.get("/api/products?page[size]=2").await;
    list.assert_status(200);
    assert_eq!(
        split_url(link(&list.json()["links"], "next")).0,
        format!("{PUBLIC}/api/products")
    );
    let related = api.get("/api/products/1/relationships/category").await;
    related.assert_status(200);
    assert_eq!(
        link(&related.json()["links"], "related"),
        format!("{PUBLIC}/api/products/1/category")
    );
}

#[tokio::test]
async fn the_public_url_option_wins_over_the_configuration() {
    const FLAG: &str = "http://127.0.0.1:9999";
    let app = TestApp::spawn_with_public_url(
        &jsonapi_tests::example_config_with("  publicUrl: https://shop.example.com\n"),
        FLAG,
    )
    .await;
    let api = app.client().with_links_base(FLAG);
    let list = api.get("/api/products?page[size]=2").await;
    list.assert_status(200);
    assert_eq!(
        split_url(link(&list.json()["links"], "self")).0,
        format!("{FLAG}/api/products")
    );
}
