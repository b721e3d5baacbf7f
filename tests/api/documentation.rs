//! The API's own documentation (reference §12.5): the OpenAPI document at
//! `/api/doc/openapi.json` and the sandbox page at `/api/doc`, served without a token; the
//! document walked against the running engine (every path's `OPTIONS` answer, every
//! documented query parameter accepted, others refused); the configuration's switches.
//! Every other module's responses are held to the document by the harness.

use std::collections::BTreeSet;
use std::time::Duration;

use jsonapi_tests::{
    ApiClient, MT, Method, Source, TestApp, Value, assert_error, example_config_with,
};

/// The document the server publishes, fetched without a token.
async fn document(api: &ApiClient) -> Value {
    let response = api.anonymous().get("/api/doc/openapi.json").await;
    response.assert_status(200);
    response.json().clone()
}

/// A path of the document with its `{id}` filled in: a well-formed id of the type (the
/// schema's example, or any text for ids the client chooses).
fn concrete(path: &str, item: &Value) -> String {
    let id = item["parameters"][0]["schema"]["examples"][0]
        .as_str()
        .unwrap_or("an-id");
    path.replace("{id}", id)
}

#[tokio::test]
async fn the_document_is_public_and_names_the_server_it_was_asked_of() {
    let app = jsonapi_tests::shared_scratch();
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], app.base_url());
    assert_eq!(
        doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["tokenUrl"],
        format!("{}/oauth2-token", app.base_url())
    );
    // The same bytes on HEAD, without them.
    let head = app.anonymous().head("/api/doc/openapi.json").await;
    head.assert_status(200);
    assert!(head.raw.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(doc.to_string().len().to_string().as_str()),
        "HEAD tells the length of the GET"
    );
}

#[tokio::test]
async fn every_path_of_the_document_allows_exactly_the_documented_methods() {
    let app = jsonapi_tests::shared_scratch();
    let doc = document(&app).await;
    let mut walked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/") {
            continue;
        }
        let mut documented: BTreeSet<String> = item
            .as_object()
            .expect("a path item")
            .keys()
            .filter(|m| *m != "parameters")
            .map(|m| m.to_ascii_uppercase())
            .collect();
        // The document says once that every GET route answers HEAD.
        if documented.contains("GET") {
            documented.insert("HEAD".to_owned());
        }
        let response = app.options(&concrete(path, item)).await;
        response.assert_status(200);
        let allowed: BTreeSet<String> = response.allow().into_iter().collect();
        assert_eq!(allowed, documented, "OPTIONS {path}");
        walked += 1;
    }
    assert!(walked > 30, "the example's paths: {walked}");
}

/// A value of a parameter that the engine can read: an item of its list, `true` for a flag,
/// an empty cursor (the start), `1` otherwise (a wrong value is refused as a value, after the
/// parameter was read).
fn sample(parameter: &Value) -> String {
    let schema = &parameter["schema"];
    if let Some(first) = schema["items"]["enum"].get(0) {
        return first.as_str().unwrap_or_default().to_owned();
    }
    match schema["type"].as_str() {
        Some("boolean") => "true".to_owned(),
        _ if parameter["name"] == "page[after]" => String::new(),
        _ => "1".to_owned(),
    }
}

/// The parameter objects of an operation, references followed.
fn parameters<'a>(doc: &'a Value, operation: &'a Value) -> Vec<&'a Value> {
    operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| match p["$ref"].as_str() {
            Some(r) => doc.pointer(r.trim_start_matches('#')).expect("resolved"),
            None => p,
        })
        .collect()
}

fn not_supported(response: &jsonapi_tests::TestResponse, name: &str) -> bool {
    response.errors().iter().any(|e| {
        e["source"]["parameter"] == name
            && e["detail"]
                .as_str()
                .is_some_and(|d| d.contains("not supported"))
    })
}

#[tokio::test]
async fn every_documented_query_parameter_is_read_and_others_are_refused() {
    // An empty store: DELETE with a filter deletes nothing, item routes end in 404 after
    // their query string was read. But for the roles collection: the probes' DELETEs without a
    // filter remove the caller's own role, so the server trusts the caller's roles for the
    // whole walk (with the default 5 s the caller turns into a stranger half-way through on a
    // loaded machine, at whichever route comes next).
    let app = TestApp::spawn_with_auth_cache_ttl(Duration::from_secs(3600), false).await;
    let doc = document(&app).await;
    let probes = [
        "page[size]",
        "sort",
        "include",
        "meta",
        "filter[id]",
        "fields[products]",
    ];
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/") {
            continue;
        }
        for (method, operation) in item.as_object().expect("a path item") {
            let method = match method.as_str() {
                "get" => Method::GET,
                "delete" => Method::DELETE,
                "post" => Method::POST,
                "patch" => Method::PATCH,
                _ => continue,
            };
            let body = matches!(method, Method::POST | Method::PATCH).then_some("{}");
            let headers = [("Accept", MT), ("Content-Type", MT)];
            let send = async |name: &str, value: &str| {
                let query = form_urlencoded::Serializer::new(String::new())
                    .append_pair(name, value)
                    .finish();
                app.request(
                    method.clone(),
                    &format!("{}?{query}", concrete(path, item)),
                    &headers,
                    body,
                )
                .await
            };
            let documented = parameters(&doc, operation);
            let names: BTreeSet<&str> = documented
                .iter()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().expect("a name"))
                .collect();
            for parameter in documented.iter().filter(|p| p["in"] == "query") {
                let name = parameter["name"].as_str().expect("a name");
                let response = send(name, &sample(parameter)).await;
                assert!(
                    !not_supported(&response, name),
                    "{method} {path}: the documented {name} is refused\n{}",
                    response.describe()
                );
                checked += 1;
            }
            for name in probes.iter().filter(|n| !names.contains(*n)) {
                let response = send(name, "1").await;
                assert!(
                    not_supported(&response, name),
                    "{method} {path}: {name} is not documented but not refused\n{}",
                    response.describe()
                );
            }
        }
    }
    assert!(checked > 500, "parameters checked: {checked}");
}

#[tokio::test]
async fn the_sandbox_page_loads_its_assets_from_the_api_itself() {
    let api = jsonapi_tests::shared_seeded().anonymous();
    let page = api.get_with("/api/doc", &[("Accept", "text/html")]).await;
    page.assert_status(200);
    let html = String::from_utf8(page.raw.to_vec()).expect("UTF-8");
    assert!(html.contains("data-openapi=\"doc/openapi.json\""), "{html}");
    // Every asset the page names, relative to it, is served with its media type.
    let mut assets = 0;
    for attribute in ["href=\"", "src=\""] {
        for piece in html.split(attribute).skip(1) {
            let target = piece.split('"').next().unwrap_or_default();
            if target.starts_with("http") || target.starts_with("//") {
                panic!("the page loads {target} from elsewhere");
            }
            // An inline empty icon: the page asks for no favicon.
            if target.starts_with("data:") {
                continue;
            }
            let response = api
                .get_with(&format!("/api/{target}"), &[("Accept", "*/*")])
                .await;
            response.assert_status(200);
            let expected = match target.rsplit('.').next() {
                Some("js") => "text/javascript; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                _ => "application/json",
            };
            assert_eq!(response.header("content-type"), Some(expected), "{target}");
            assets += 1;
        }
    }
    assert_eq!(assets, 5, "two styles, two scripts, the document");
    // Swagger UI's licence goes with it.
    let licence = api.get_with("/api/doc/LICENSE", &[("Accept", "*/*")]).await;
    licence.assert_status(200);
    assert!(String::from_utf8_lossy(&licence.raw).contains("Apache License"));
}

#[tokio::test]
async fn the_documentation_routes_answer_options_and_refuse_other_methods() {
    let api = jsonapi_tests::shared_seeded().anonymous();
    for path in ["/api/doc", "/api/doc/openapi.json"] {
        let options = api.options(path).await;
        options.assert_status(200);
        assert_eq!(options.allow(), ["OPTIONS", "GET", "HEAD"]);
        for method in [Method::POST, Method::DELETE, Method::PATCH] {
            let response = api
                .request(
                    method,
                    path,
                    &[("Accept", MT), ("Content-Type", MT)],
                    Some("{}"),
                )
                .await;
            assert_error(
                &response,
                405,
                "method not allowed http exception",
                Source::Absent,
            );
            assert_eq!(response.allow(), ["OPTIONS", "GET", "HEAD"]);
        }
    }
    let missing = api.get("/api/doc/nothing.js").await;
    assert_error(&missing, 404, "not found http exception", Source::Absent);
    // `doc` is no type: with a token, /api/doc/1 is no resource either.
    let app = jsonapi_tests::shared_seeded();
    assert_error(
        &app.get("/api/doc/1/relationships/x").await,
        404,
        "not found http exception",
        Source::Absent,
    );
}

#[tokio::test]
async fn the_configuration_switches_the_page_and_the_document_off() {
    let app = TestApp::spawn_with_config(&example_config_with("  sandbox: false\n"), false).await;
    let api = app.anonymous();
    assert_error(
        &api.get("/api/doc").await,
        404,
        "not found http exception",
        Source::Absent,
    );
    assert_error(
        &api.get("/api/doc/swagger-ui-bundle.js").await,
        404,
        "not found http exception",
        Source::Absent,
    );
    api.get("/api/doc/openapi.json").await.assert_status(200);
    app.stop().await;

    let app = TestApp::spawn_with_config(
        &example_config_with("  sandbox: false\n  openapi: false\n"),
        false,
    )
    .await;
    assert_error(
        &app.anonymous().get("/api/doc/openapi.json").await,
        404,
        "not found http exception",
        Source::Absent,
    );
    // The API itself is untouched.
    app.get("/api/products").await.assert_status(200);
}
