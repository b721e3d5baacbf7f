//! `api.enabled: false`, the model's API feature switched off (Oro §12.1; acceptance row 20):
//! every route answers 404, the token endpoint, the JWKS document and the API's documentation
//! included, with a token or without.

use jsonapi_tests::{JWKS_PATH, Method, Source, TOKEN_PATH, TestApp, assert_error, json};

#[tokio::test]
async fn with_the_api_off_every_route_is_404() {
    let app = TestApp::spawn_with_config(
        &jsonapi_tests::example_config_with("  enabled: false\n"),
        false,
    )
    .await;
    assert_eq!(app.token(), None, "the token endpoint is off too");
    let client = app.dev_client().clone();
    let token_body = json!({ "grant_type": "client_credentials", "client_id": client.id,
                             "client_secret": client.secret })
    .to_string();
    let api = app.anonymous();
    let requests: Vec<(Method, &str, Option<&str>)> = vec![
        (Method::GET, "/api/products", None),
        (Method::GET, "/api/products/1", None),
        (Method::GET, "/api/products/1/category", None),
        (Method::GET, "/api/products/1/relationships/category", None),
        (Method::POST, "/api/products", Some("{}")),
        (Method::PATCH, "/api/products/1", Some("{}")),
        (Method::DELETE, "/api/products/1", None),
        (Method::OPTIONS, "/api/products", None),
        (Method::GET, "/api/nothing", None),
        (Method::GET, "/api/doc", None),
        (Method::GET, "/api/doc/openapi.json", None),
        (Method::POST, TOKEN_PATH, Some(&token_body)),
        (Method::OPTIONS, TOKEN_PATH, None),
        (Method::GET, JWKS_PATH, None),
    ];
    for (method, path, body) in requests {
        let content_type = if path == TOKEN_PATH {
            "application/json"
        } else {
            jsonapi_tests::MT
        };
        for authorization in [None, Some("Bearer whatever")] {
            let mut headers = vec![
                ("Accept", jsonapi_tests::MT),
                ("Content-Type", content_type),
            ];
            if let Some(value) = authorization {
                headers.push(("Authorization", value));
            }
            let response = api.request(method.clone(), path, &headers, body).await;
            assert_error(&response, 404, "not found http exception", Source::Absent);
            assert!(
                response.header("www-authenticate").is_none(),
                "{}",
                response.describe()
            );
        }
    }
}
