//! The `docs` function's handler fed real API Gateway events: the OpenAPI document and the
//! sandbox page, built from the configuration alone (no table: these tests need no DynamoDB).

mod common;

use common::{fixture, parts, request};
use http::StatusCode;
use jsonapi_lambda::handle_docs;
use jsonapi_openapi::Docs;
use serde_json::Value;

/// The fixture event for another path below the stage.
fn at(path: &str) -> Value {
    let mut event = fixture("get-openapi");
    let raw = format!("/prod{path}");
    event["rawPath"] = raw.clone().into();
    event["requestContext"]["http"]["path"] = raw.into();
    event
}

fn example() -> Docs {
    Docs::new(&jsonapi_config::example_domain())
}

#[test]
fn the_document_names_the_url_the_client_called() {
    let (status, headers, doc) = parts(handle_docs(&example(), request(&fixture("get-openapi"))));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(doc["openapi"], "3.1.0");
    // The stage stays in the base URL, as in every link the API writes.
    assert_eq!(
        doc["servers"][0]["url"],
        "https://r4nd0m1d.execute-api.us-east-1.amazonaws.com/prod"
    );
    assert!(doc["paths"]["/api/products/{id}"]["get"].is_object());
}

#[test]
fn the_page_and_its_assets_are_served_and_other_paths_are_not_found() {
    let docs = example();
    let response = handle_docs(&docs, request(&at("/api/doc")));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let script = handle_docs(&docs, request(&at("/api/doc/swagger-ui-bundle.js")));
    assert_eq!(script.status(), StatusCode::OK);
    // Not a documentation path: the function was routed a request it does not serve.
    let (status, _, doc) = parts(handle_docs(&docs, request(&at("/api/products"))));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(doc["errors"][0]["title"], "not found http exception");
}

#[test]
fn the_switches_of_the_configuration_close_the_documentation() {
    let mut schema = jsonapi_config::example_domain();
    schema.api.sandbox = false;
    let docs = Docs::new(&schema);
    let (status, _, _) = parts(handle_docs(&docs, request(&at("/api/doc"))));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = parts(handle_docs(&docs, request(&fixture("get-openapi"))));
    assert_eq!(status, StatusCode::OK, "the document stays");
    schema.api.enabled = false;
    let docs = Docs::new(&schema);
    let (status, _, _) = parts(handle_docs(&docs, request(&fixture("get-openapi"))));
    assert_eq!(status, StatusCode::NOT_FOUND);
}
