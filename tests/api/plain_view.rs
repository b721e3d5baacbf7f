//! The plain REST view (Oro §2.1 rules 1–6, §9, checklist rows 21–25; issue 19): what a
//! request that does not name JSON:API gets. The shared cases run in both formats and the
//! answers must say the same thing (the plain one read through `jsonapi_tests::plain`); the
//! plain-only rules follow.

use jsonapi_tests::plain::{self, Format, from_json_api};
use jsonapi_tests::values::id_of;
use jsonapi_tests::{
    ApiClient, MT, Method, Source, TestResponse, assert_error, json, resource_doc, shared_scratch,
    shared_seeded, to_one,
};
use serde_json::Value;

use crate::fixtures::{create_category, create_product, product_attributes};

const PLAIN: &str = plain::MEDIA_TYPE;

/// Reads that behave the same in both formats: (path, the include paths it asks for).
/// Successes of every route kind, with filters, sort, paging, `fields`, `include` and
/// `meta`, and failures whose source is a parameter or the URL.
const READS: [(&str, &[&str]); 17] = [
    ("/api/products/1", &[]),
    (
        "/api/products?filter[price][gt]=10&sort=-price,id&page[size]=3&page[number]=2",
        &[],
    ),
    (
        "/api/products?fields[products]=name,price,category&page[size]=2",
        &[],
    ),
    (
        "/api/products?include=category&fields[categories]=name&page[size]=3",
        &["category"],
    ),
    (
        "/api/orders/1?include=lineItems.product,customer&fields[products]=sku",
        &["lineItems.product", "customer"],
    ),
    ("/api/categories/1/products?page[size]=2&sort=-id", &[]),
    ("/api/products/1/category", &[]),
    ("/api/products/1/relationships/category", &[]),
    ("/api/categories/1/relationships/products?page[size]=3", &[]),
    ("/api/products?meta=title&page[size]=2", &[]),
    ("/api/products?filter[sku]=NO-SUCH-SKU", &[]),
    ("/api/products/999999", &[]),
    ("/api/products/abc", &[]),
    ("/api/nopes", &[]),
    ("/api/products?filter[nope]=1", &[]),
    ("/api/products?sort=nope", &[]),
    ("/api/products?page[size]=x&include=nope", &[]),
];

/// The same request in both formats; the plain answer must be the JSON:API answer read in
/// the plain view, with the same status and `X-Include-*`, `Allow` and `Location` headers.
async fn same_in_both(api: &ApiClient, method: Method, path: &str, include: &[&str]) {
    let headers = [("X-Include", "totalCount")];
    let send = |format: Format| {
        let method = method.clone();
        async move {
            let mut headers = headers.to_vec();
            headers.push(("Accept", format.media_type()));
            api.request(method, path, &headers, None).await
        }
    };
    let json_api = send(Format::JsonApi).await;
    let plain = send(Format::Plain).await;
    assert_eq!(
        plain.status,
        json_api.status,
        "{path}\n{}",
        plain.describe()
    );
    for header in ["x-include-total-count", "allow", "location"] {
        assert_eq!(
            plain.header(header),
            json_api.header(header),
            "{path}: {header}"
        );
    }
    let expected = json_api
        .body
        .as_ref()
        .map(|doc| from_json_api(doc, path.contains("/relationships/"), include));
    assert_eq!(plain.body, expected, "{path}\n{}", plain.describe());
}

#[tokio::test]
async fn reads_say_the_same_in_both_formats() {
    let api = shared_seeded();
    for (path, include) in READS {
        same_in_both(&api, Method::GET, path, include).await;
    }
    // HEAD (no body, the same headers), and a method the route does not allow.
    same_in_both(&api, Method::HEAD, "/api/products", &[]).await;
    same_in_both(&api, Method::PUT, "/api/products/1", &[]).await;
}

#[tokio::test]
async fn a_resource_is_an_object_of_its_fields_and_a_list_an_array() {
    let api = shared_seeded().with_format(Format::Plain);
    let one = api.get("/api/products/1").await;
    one.assert_status(200);
    assert_eq!(one.header("content-type"), Some(PLAIN));
    let product = one.json();
    assert_eq!(product["id"], "1");
    assert!(product["sku"].is_string() && product["price"].is_string());
    assert!(
        product["category"].is_string(),
        "to-one as the id: {product}"
    );
    assert!(product.get("type").is_none() && product.get("links").is_none());
    let category = api
        .get("/api/categories/1?fields[categories]=name,products")
        .await;
    let products = category.json()["products"]
        .as_array()
        .expect("to-many as an array");
    assert!(!products.is_empty() && products.iter().all(Value::is_string));
    let list = api.get("/api/products?page[size]=4").await;
    assert_eq!(list.json().as_array().map(Vec::len), Some(4));
    let linkage = api.get("/api/products/1/relationships/category").await;
    assert_eq!(linkage.json(), &product["category"]);
}

#[tokio::test]
async fn included_resources_take_the_place_of_their_ids_along_the_include_paths() {
    let api = shared_seeded().with_format(Format::Plain);
    let order = api
        .get("/api/orders/1?include=lineItems.product&fields[products]=sku")
        .await;
    let items = order.json()["lineItems"]
        .as_array()
        .expect("line items")
        .clone();
    assert!(!items.is_empty());
    for item in &items {
        assert!(item["id"].is_string(), "an included line item: {item}");
        assert_eq!(
            item["order"], "1",
            "a relationship the paths stop at: {item}"
        );
        let product = item["product"].as_object().expect("the product, nested");
        assert!(product["sku"].is_string() && product.get("name").is_none());
    }
    // Without include: ids.
    let order = api.get("/api/orders/1").await;
    assert!(order.json()["customer"].is_string());
    // The include of a GET sent as POST, in the body.
    let page = api
        .post_with(
            "/api/products",
            &json!({ "include": "category", "page": { "size": "2" } }),
            &[("X-HTTP-Method-Override", "GET")],
        )
        .await;
    page.assert_status(200);
    for product in page.json().as_array().expect("a page") {
        assert!(product["category"]["name"].is_string(), "{product}");
    }
}

/// A write in `format` of a JSON:API document (the client turns it into a plain body); the
/// answer must be what a JSON:API read of the resource says afterwards, in that format.
async fn written_as_read(api: &ApiClient, format: Format, response: &TestResponse, path: &str) {
    let read = api.get(path).await;
    read.assert_status(200);
    let expected = match format {
        Format::JsonApi => read.data().clone(),
        Format::Plain => from_json_api(read.json(), false, &[]),
    };
    let written = match format {
        Format::JsonApi => response.data().clone(),
        Format::Plain => response.json().clone(),
    };
    assert_eq!(written, expected, "{}", response.describe());
}

#[tokio::test]
async fn writes_work_the_same_in_both_formats() {
    let app = shared_scratch();
    let first = id_of(&create_category(&app, "First", None).await).to_owned();
    let second = id_of(&create_category(&app, "Second", None).await).to_owned();
    for format in Format::BOTH {
        let api = app.with_format(format);
        let sku = format!("BOTH-{format:?}");
        let created = api
            .post(
                "/api/products",
                &resource_doc(
                    "products",
                    None,
                    product_attributes(&sku),
                    json!({ "category": to_one("categories", &first) }),
                ),
            )
            .await;
        created.assert_status(201);
        assert_eq!(created.header("content-type"), Some(format.media_type()));
        let location = created.header("location").expect("Location").to_owned();
        let id = location.rsplit('/').next().expect("an id").to_owned();
        let path = format!("/api/products/{id}");
        written_as_read(&app, format, &created, &path).await;

        let updated = api
            .patch(
                &path,
                &resource_doc(
                    "products",
                    Some(&id),
                    json!({ "name": format!("Renamed {format:?}") }),
                    json!({}),
                ),
            )
            .await;
        updated.assert_status(200);
        written_as_read(&app, format, &updated, &path).await;

        let relationship = format!("{path}/relationships/category");
        api.patch(
            &relationship,
            &json!({ "data": { "type": "categories", "id": second } }),
        )
        .await
        .assert_status(204);
        let linkage = app.get(&relationship).await;
        assert_eq!(linkage.data()["id"], second.as_str());

        api.delete(&path).await.assert_status(204);
        app.get(&path).await.assert_status(404);
    }
}

#[tokio::test]
async fn write_errors_point_into_the_body_each_format_sent() {
    let app = shared_scratch();
    let mut attributes = product_attributes("BAD-1");
    attributes["price"] = json!(-1);
    attributes["color"] = json!("red");
    let doc = resource_doc(
        "products",
        None,
        attributes,
        json!({ "category": to_one("categories", "999999") }),
    );
    let json_api = app.post("/api/products", &doc).await;
    let plain = app
        .with_format(Format::Plain)
        .post("/api/products", &doc)
        .await;
    assert_eq!(plain.status, json_api.status, "{}", plain.describe());
    for (pointer, source) in [
        ("/data/attributes/price", "/price"),
        ("/data/attributes/color", "/color"),
        ("/data/relationships/category/data", "/category"),
    ] {
        let theirs = json_api
            .errors()
            .iter()
            .find(|e| e["source"]["pointer"] == pointer)
            .unwrap_or_else(|| panic!("{pointer}\n{}", json_api.describe()));
        let ours = plain
            .json()
            .as_array()
            .and_then(|errors| errors.iter().find(|e| e["source"] == source))
            .unwrap_or_else(|| panic!("{source}\n{}", plain.describe()));
        assert_eq!(ours["title"], theirs["title"]);
        assert_eq!(ours["detail"], theirs["detail"]);
    }
    // Nothing was written.
    let found = app.get("/api/products?filter[sku]=BAD-1").await;
    assert!(found.items().is_empty());
}

/// Sends `body` with exactly these headers (the bearer token aside): no `Accept` unless given.
async fn send(
    api: &ApiClient,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> TestResponse {
    api.request(method, path, headers, Some(body)).await
}

fn plain_error<'r>(response: &'r TestResponse, status: u16, title: &str) -> &'r Value {
    response.assert_status(status);
    assert_eq!(response.header("content-type"), Some(PLAIN));
    let errors = response.json().as_array().expect("an error array");
    let error = errors
        .iter()
        .find(|e| e["title"] == title)
        .unwrap_or_else(|| panic!("{}\nno {title}", response.describe()));
    assert!(error.get("status").is_none());
    error
}

#[tokio::test]
async fn accept_without_json_is_refused_with_the_models_detail() {
    let api = shared_seeded();
    for accept in [
        "application/xml",
        "text/html, application/json;q=0",
        "*/*;q=0",
    ] {
        let response = api
            .request(Method::GET, "/api/products", &[("Accept", accept)], None)
            .await;
        let error = plain_error(&response, 406, "not acceptable http exception");
        assert_eq!(
            error["detail"],
            "Only JSON representation of the requested resource is supported."
        );
        assert_eq!(error["source"], "Accept");
    }
}

#[tokio::test]
async fn a_content_type_other_than_json_is_refused_with_the_models_detail() {
    let app = shared_scratch();
    let body = json!({ "sku": "CT-PLAIN", "name": "Tea", "price": "1.00" }).to_string();
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let response = send(
            &app,
            Method::POST,
            "/api/products",
            &[("Content-Type", content_type)],
            &body,
        )
        .await;
        let error = plain_error(&response, 406, "not acceptable http exception");
        assert_eq!(
            error["detail"],
            "The \"Content-Type\" request header must be \"application/json\" if specified."
        );
    }
    // `application/json` with parameters, or no Content-Type at all, is a plain write.
    for (headers, sku) in [
        (
            vec![("Content-Type", "application/json; charset=utf-8")],
            "CT-PLAIN-1",
        ),
        (vec![], "CT-PLAIN-2"),
    ] {
        let body = json!({ "sku": sku, "name": "Tea", "price": "1.00" }).to_string();
        let response = send(&app, Method::POST, "/api/products", &headers, &body).await;
        response.assert_status(201);
        assert_eq!(response.json()["sku"], sku);
    }
}

#[tokio::test]
async fn json_api_in_content_type_alone_makes_the_request_json_api() {
    let app = shared_scratch();
    let body = resource_doc("products", None, product_attributes("CT-JA"), json!({})).to_string();
    let response = send(
        &app,
        Method::POST,
        "/api/products",
        &[("Content-Type", MT), ("Accept", PLAIN)],
        &body,
    )
    .await;
    response.assert_status(201);
    assert_eq!(response.header("content-type"), Some(MT));
    // A JSON:API Accept with a plain body's Content-Type stays JSON:API, and refuses it.
    let response = send(
        &app,
        Method::POST,
        "/api/products",
        &[("Content-Type", PLAIN), ("Accept", MT)],
        &body,
    )
    .await;
    assert_error(
        &response,
        415,
        "unsupported media type http exception",
        Source::Header("Content-Type"),
    );
}

#[tokio::test]
async fn refusals_before_the_action_are_plain_too() {
    let api = shared_seeded().with_format(Format::Plain);
    let response = api.anonymous().get("/api/products").await;
    plain_error(&response, 401, "authentication exception");
    assert!(response.header("www-authenticate").is_some());
    let response = api.get("/api/nopes").await;
    plain_error(&response, 404, "entity type constraint");
}

#[tokio::test]
async fn an_update_takes_its_id_from_the_url_and_refuses_another() {
    let app = shared_scratch();
    let id = id_of(&create_product(&app, "PLAIN-ID").await).to_owned();
    let other = id_of(&create_product(&app, "PLAIN-OTHER").await).to_owned();
    let api = app.with_format(Format::Plain);
    let path = format!("/api/products/{id}");
    let headers = [("Content-Type", PLAIN)];
    let body = json!({ "name": "No id in the body" }).to_string();
    let response = send(&api, Method::PATCH, &path, &headers, &body).await;
    response.assert_status(200);
    assert_eq!(response.json()["name"], "No id in the body");
    let body = json!({ "id": other, "name": "Elsewhere" }).to_string();
    let response = send(&api, Method::PATCH, &path, &headers, &body).await;
    let error = plain_error(&response, 409, "conflict constraint");
    assert_eq!(error["source"], "/id");
}

#[tokio::test]
async fn a_body_that_is_not_an_object_or_not_json_is_refused_as_a_whole() {
    let app = shared_scratch();
    for body in ["[1, 2]", "{\"sku\": "] {
        let response = send(
            &app,
            Method::POST,
            "/api/products",
            &[("Content-Type", PLAIN)],
            body,
        )
        .await;
        response.assert_status(400);
        let errors = response.json().as_array().expect("an error array").clone();
        assert!(
            errors.iter().all(|e| e.get("source").is_none()),
            "{}",
            response.describe()
        );
    }
}
