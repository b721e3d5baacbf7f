//! A second configuration through the functions: `infra/api/library.yaml` (another domain,
//! the prefix `/library/v1`, no `delete_list`, no atomic operations, the OpenAPI document
//! without the sandbox page), served as its deployed functions serve it, from API Gateway
//! events shaped as its generated template routes them. The template side of the same path
//! (generated, cfn-lint and sam validate clean) is in tests/template.rs and infra/test.sh.
//!
//! Needs `JSONAPI_DYNAMODB_ENDPOINT` (`infra/dynamodb/local.sh start 8000`).

mod common;

use common::{LIBRARY, admin_client, event, parts, request, with_table, with_token};
use http::StatusCode;
use jsonapi_lambda::{Operation, handle, handle_docs};
use jsonapi_openapi::Docs;
use serde_json::{Value, json};

/// The execute-api domain and the `prod` stage, as in the fixtures.
const BASE: &str = "https://r4nd0m1d.execute-api.us-east-1.amazonaws.com/prod";

fn library() -> jsonapi_config::Schema {
    jsonapi_config::load_file(LIBRARY.as_ref()).expect("library.yaml is valid")
}

#[tokio::test]
#[ignore = "needs DynamoDB Local (JSONAPI_DYNAMODB_ENDPOINT); infra/test.sh runs it"]
async fn the_library_is_served_under_its_own_prefix_by_its_functions() {
    with_table("library", |store| async move {
        // What a function's init builds: the configuration, the example's extensions that fit
        // it (none), the store.
        let engine = jsonapi_example::engine(library(), store);
        let client = admin_client(&engine).await;
        let send = |op, event: Value| {
            let engine = &engine;
            let event = with_token(event, &client.token);
            async move { parts(handle(engine, op, request(&event)).await) }
        };

        let author =
            json!({"data": {"type": "authors", "attributes": {"name": "Ursula K. Le Guin"}}});
        let (status, _, doc) = send(
            Operation::Create,
            event(
                "POST",
                "/library/v1/{type}",
                "/library/v1/authors",
                Some(&author),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{doc}");
        let author_id = doc["data"]["id"].as_str().expect("an id").to_owned();

        let book = json!({"data": {"type": "books",
            "attributes": {"isbn": "978-0-441-47812-5", "title": "The Left Hand of Darkness"},
            "relationships": {"author": {"data": {"type": "authors", "id": author_id}}}}});
        let (status, headers, doc) = send(
            Operation::Create,
            event(
                "POST",
                "/library/v1/{type}",
                "/library/v1/books",
                Some(&book),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{doc}");
        let book_id = doc["data"]["id"].as_str().expect("an id").to_owned();
        assert_eq!(
            headers["location"],
            format!("{BASE}/library/v1/books/{book_id}").as_str()
        );
        assert_eq!(doc["data"]["attributes"]["copies"], 1, "the default");

        let (status, _, doc) = send(
            Operation::GetSubresource,
            event(
                "GET",
                "/library/v1/{type}/{id}/{relationship}",
                &format!("/library/v1/authors/{author_id}/books"),
                None,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{doc}");
        assert_eq!(doc["data"][0]["id"], book_id.as_str(), "the inverse side");
        assert_eq!(
            doc["data"][0]["links"]["self"],
            format!("{BASE}/library/v1/books/{book_id}")
        );

        let (status, _, doc) = send(
            Operation::GetList,
            event("GET", "/library/v1/{type}", "/library/v1/books", None),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{doc}");
        assert_eq!(doc["data"].as_array().map(Vec::len), Some(1));

        // The example domain's paths are not this API's.
        let (status, _, doc) = send(
            Operation::GetList,
            event("GET", "/api/{type}", "/api/products", None),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{doc}");
        assert_eq!(doc["errors"][0]["status"], "404");
    })
    .await;
}

#[test]
fn the_library_docs_function_serves_the_document_and_not_the_sandbox() {
    let docs = Docs::new(&library());
    let get = |path: &str| {
        let event = event("GET", "/library/v1/doc/{file}", path, None);
        parts(handle_docs(&docs, request(&event)))
    };
    let (status, _, doc) = get("/library/v1/doc/openapi.json");
    assert_eq!(status, StatusCode::OK, "{doc}");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(
        paths.contains_key("/library/v1/books/{id}"),
        "{:?}",
        paths.keys()
    );
    assert!(
        !paths.keys().any(|p| p.starts_with("/api/")),
        "{:?}",
        paths.keys()
    );
    let (status, _, doc) = get("/library/v1/doc");
    assert_eq!(status, StatusCode::NOT_FOUND, "api.sandbox is false: {doc}");
}
