//! CORS (Oro §2.7; acceptance row 94): off until `api.cors.allowOrigins` names origins; a
//! preflight (`OPTIONS` with `Access-Control-Request-Method`, no token needed) is answered from
//! the route's `Allow` list and may be cached; answers to allowed origins expose `Location` and
//! the count headers; other origins get no `Access-Control-Allow-Origin`.

use jsonapi_tests::{
    ApiClient, Method, TOKEN_PATH, TestApp, TestResponse, example_config_with, shared_seeded,
};

const ORIGIN: &str = "https://app.example.com";

/// A preflight of `method` on `path` from `origin`, without a token.
async fn preflight(api: &ApiClient, path: &str, origin: &str, method: &str) -> TestResponse {
    api.anonymous()
        .request(
            Method::OPTIONS,
            path,
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", method),
                (
                    "Access-Control-Request-Headers",
                    "authorization,content-type",
                ),
            ],
            None,
        )
        .await
}

fn access_control_headers(response: &TestResponse) -> Vec<String> {
    response
        .headers
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

fn vary_has_origin(response: &TestResponse) -> bool {
    response
        .headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin"))
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let api = shared_seeded();
    let response = preflight(&api, "/api/products", ORIGIN, "GET").await;
    response.assert_status(200);
    assert_eq!(
        access_control_headers(&response),
        Vec::<String>::new(),
        "{}",
        response.describe()
    );
    let response = api.get_with("/api/products", &[("Origin", ORIGIN)]).await;
    response.assert_status(200);
    assert_eq!(access_control_headers(&response), Vec::<String>::new());
}

#[tokio::test]
async fn an_allowed_origin_gets_preflights_and_exposed_headers() {
    let app = TestApp::spawn_with_config(
        &example_config_with("  cors:\n    allowOrigins: [\"https://app.example.com\"]\n"),
        false,
    )
    .await;

    for path in [
        "/api/products",
        "/api/products/1",
        "/api/products/1/relationships/category",
    ] {
        let response = preflight(&app, path, ORIGIN, "PATCH").await;
        response.assert_status(200);
        assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
        // The methods are the route's Allow list.
        assert_eq!(
            response.header("access-control-allow-methods"),
            response.header("allow"),
            "{}",
            response.describe()
        );
        assert_eq!(
            response.header("access-control-allow-headers"),
            Some(
                "Authorization, Content-Type, X-Include, If-Match, If-None-Match, X-Mode, X-Localization-ID, X-Currency, X-Product-ID"
            )
        );
        assert_eq!(response.header("access-control-max-age"), Some("600"));
        assert_eq!(
            response.header("cache-control"),
            Some("max-age=600, public")
        );
        assert!(vary_has_origin(&response), "{}", response.describe());
        assert!(
            response
                .header("access-control-allow-credentials")
                .is_none()
        );
        assert!(response.header("access-control-expose-headers").is_none());
    }
    let response = preflight(&app, "/api/products", ORIGIN, "POST").await;
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("OPTIONS, GET, HEAD, PATCH, POST, DELETE")
    );

    // Answers to that origin expose Location and the count headers, errors included.
    let response = app
        .get_with(
            "/api/products",
            &[("Origin", ORIGIN), ("X-Include", "totalCount")],
        )
        .await;
    response.assert_status(200);
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(
        response.header("access-control-expose-headers"),
        Some("Location, Content-Location, ETag, X-Include-Total-Count, X-Include-Deleted-Count")
    );
    assert!(vary_has_origin(&response));
    assert!(response.header("access-control-allow-methods").is_none());
    let response = app
        .anonymous()
        .get_with("/api/products", &[("Origin", ORIGIN)])
        .await;
    response.assert_status(401);
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));

    // Other origins, and requests without an Origin, get no Allow-Origin.
    for origin in [
        "https://evil.example.com",
        "https://app.example.com.evil",
        "null",
    ] {
        let response = preflight(&app, "/api/products", origin, "GET").await;
        response.assert_status(200);
        assert!(
            response.header("access-control-allow-origin").is_none(),
            "{origin}: {}",
            response.describe()
        );
        assert!(response.header("access-control-allow-methods").is_none());
        let response = app.get_with("/api/products", &[("Origin", origin)]).await;
        assert!(response.header("access-control-allow-origin").is_none());
        assert!(vary_has_origin(&response));
    }
    let response = app.get("/api/products").await;
    assert!(response.header("access-control-allow-origin").is_none());

    // The token endpoint answers preflights from that origin too.
    let response = preflight(&app, TOKEN_PATH, ORIGIN, "POST").await;
    response.assert_status(200);
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("OPTIONS, POST")
    );
}

/// The OpenAPI document is what a page or a tool on another origin loads: it answers CORS as
/// the API does (the sandbox page itself is same-origin).
#[tokio::test]
async fn the_openapi_document_answers_cors_as_the_api_does() {
    let app = TestApp::spawn_with_config(
        &example_config_with("  cors:\n    allowOrigins: [\"https://app.example.com\"]\n"),
        false,
    )
    .await;
    let path = "/api/doc/openapi.json";
    let response = preflight(&app, path, ORIGIN, "GET").await;
    response.assert_status(200);
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("OPTIONS, GET, HEAD")
    );
    let response = app
        .anonymous()
        .request(Method::GET, path, &[("Origin", ORIGIN)], None)
        .await;
    response.assert_status(200);
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    assert!(vary_has_origin(&response), "{}", response.describe());
    let stranger = app
        .anonymous()
        .request(
            Method::GET,
            path,
            &[("Origin", "https://evil.example")],
            None,
        )
        .await;
    assert!(access_control_headers(&stranger).is_empty());
}

#[tokio::test]
async fn credentials_extra_headers_and_max_age_are_configurable() {
    let app = TestApp::spawn_with_config(
        &example_config_with(
            "  cors:\n    allowOrigins: [\"https://app.example.com\", \"https://admin.example.com\"]\n    allowCredentials: true\n    allowHeaders: [X-Mode, X-Request-Id]\n    exposeHeaders: [X-Request-Id]\n    preflightMaxAge: 120\n",
        ),
        false,
    )
    .await;
    for origin in [ORIGIN, "https://admin.example.com"] {
        let response = preflight(&app, "/api/products", origin, "GET").await;
        response.assert_status(200);
        // With credentials the origin is echoed, never `*`.
        assert_eq!(response.header("access-control-allow-origin"), Some(origin));
        assert_eq!(
            response.header("access-control-allow-credentials"),
            Some("true")
        );
        assert_eq!(
            response.header("access-control-allow-headers"),
            Some(
                "Authorization, Content-Type, X-Include, If-Match, If-None-Match, X-Mode, X-Request-Id, X-Localization-ID, X-Currency, X-Product-ID"
            )
        );
        assert_eq!(response.header("access-control-max-age"), Some("120"));
        assert_eq!(
            response.header("cache-control"),
            Some("max-age=120, public")
        );
    }
    let response = app.get_with("/api/products", &[("Origin", ORIGIN)]).await;
    response.assert_status(200);
    assert_eq!(
        response.header("access-control-expose-headers"),
        Some(
            "Location, Content-Location, ETag, X-Include-Total-Count, X-Include-Deleted-Count, X-Request-Id"
        )
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
}

#[tokio::test]
async fn a_wildcard_origin_allows_any_origin() {
    let app = TestApp::spawn_with_config(
        &example_config_with("  cors:\n    allowOrigins: [\"*\"]\n"),
        false,
    )
    .await;
    let response = preflight(&app, "/api/products", "https://anywhere.example", "GET").await;
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    let response = app
        .get_with("/api/products", &[("Origin", "https://anywhere.example")])
        .await;
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
}
