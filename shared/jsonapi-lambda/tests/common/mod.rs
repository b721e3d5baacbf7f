//! Shared by the event and runtime tests: fixtures, a fresh DynamoDB Local table per test, and
//! an API client with its access token, obtained as a deployed API's client would.

#![allow(dead_code, unreachable_pub)] // each test binary uses a part

pub mod batch;
pub mod function;
pub mod runtime_api;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use futures_util::FutureExt as _;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use jsonapi_auth::GrantType;
use jsonapi_engine::{ApiRequest, Engine, MEDIA_TYPE, Operation};
use jsonapi_lambda::Body;
use jsonapi_store::Store;
use jsonapi_store_dynamodb::{Config, DynamoStore};
use serde_json::{Value, json};

/// `tests/fixtures/apigw/` at the repository root: API Gateway HTTP API payload 2.0 events.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/apigw")
}

/// A fixture event as JSON, to adjust before use.
pub fn fixture(name: &str) -> Value {
    let path = fixtures().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixtures are JSON")
}

/// The second configuration CI deploys (another domain, the prefix `/library/v1`).
pub const LIBRARY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/api/library.yaml");

/// An API Gateway event for `method path` below the `prod` stage, on the route `route` of a
/// template, with a JSON:API body when given (not base64: API Gateway sends text bodies as
/// they are when the client's content type is not binary).
pub fn event(method: &str, route: &str, path: &str, body: Option<&Value>) -> Value {
    let mut event = fixture("get-product");
    let raw = format!("/prod{path}");
    event["routeKey"] = format!("{method} {route}").into();
    event["rawPath"] = raw.clone().into();
    event["rawQueryString"] = "".into();
    event["requestContext"]["routeKey"] = event["routeKey"].clone();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = raw.into();
    let fields = event.as_object_mut().expect("an object");
    for member in ["queryStringParameters", "pathParameters"] {
        fields.remove(member);
    }
    if let Some(body) = body {
        let text = body.to_string();
        event["headers"]["content-type"] = "application/vnd.api+json".into();
        event["headers"]["content-length"] = text.len().to_string().into();
        event["body"] = text.into();
    }
    event
}

/// Points a fixture at another resource id: the raw path (below the stage), the context's path
/// and the path parameter, as API Gateway would have sent them.
pub fn with_id(mut event: Value, id: &str) -> Value {
    for path in ["/rawPath", "/requestContext/http/path"] {
        let old = event.pointer(path).and_then(Value::as_str).expect(path);
        let mut segments: Vec<&str> = old.split('/').collect();
        // `/{stage?}/api/{type}/{id}...`: the id follows the type.
        let at = segments
            .iter()
            .position(|s| *s == "api")
            .expect("an /api path")
            + 2;
        segments[at] = id;
        *event.pointer_mut(path).unwrap() = segments.join("/").into();
    }
    event["pathParameters"]["id"] = id.into();
    event
}

/// The DynamoDB Local endpoint the tests use.
///
/// # Panics
/// When `JSONAPI_DYNAMODB_ENDPOINT` is not set: these tests need a real DynamoDB.
pub fn endpoint() -> String {
    std::env::var("JSONAPI_DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "JSONAPI_DYNAMODB_ENDPOINT is not set. Start DynamoDB Local with \
             `infra/dynamodb/local.sh start 8000` and run the tests with \
             JSONAPI_DYNAMODB_ENDPOINT=http://127.0.0.1:8000"
        )
    })
}

/// A table name no other test or run uses.
pub fn unique_table(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    format!("jsonapi-lambda-{test}-{}-{nanos}", std::process::id())
}

/// Runs `body` with a store on a fresh table, and deletes the table afterwards, also when the
/// body fails.
pub async fn with_table<F, Fut>(test: &str, body: F)
where
    F: FnOnce(DynamoStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = DynamoStore::connect_creating(Config {
        endpoint: Some(endpoint()),
        table: unique_table(test),
        region: None,
    })
    .await
    .expect("DynamoDB Local makes the table");
    let outcome = AssertUnwindSafe(body(store.clone())).catch_unwind().await;
    store.delete_table().await.expect("delete the table");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The role every test client holds: every permission on every type.
pub const ADMIN_ROLE: &str = "admin";

/// An API client and the access token the token function gave it.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
    pub token: String,
}

/// A JSON body of a Lambda response (`Null` when empty), with status and headers.
pub fn parts(response: lambda_http::Response<Body>) -> (StatusCode, HeaderMap, Value) {
    let (parts, body) = response.into_parts();
    let doc = match body {
        Body::Empty => Value::Null,
        Body::Text(text) => serde_json::from_str(&text).expect("a JSON body"),
        other => panic!("unexpected body {other:?}"),
    };
    (parts.status, parts.headers, doc)
}

/// A fixture as lambda_http's request.
pub fn request(event: &Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event")
}

/// The token event (`POST /oauth2-token`, a form body, base64 as API Gateway sends it) with
/// these client credentials.
pub fn token_event(client_id: &str, secret: &str) -> Value {
    let mut event = fixture("token-client-credentials");
    let b64 = base64::engine::general_purpose::STANDARD;
    let form = String::from_utf8(b64.decode(event["body"].as_str().unwrap()).expect("base64"))
        .expect("a form")
        .replace("CLIENT_ID", client_id)
        .replace("CLIENT_SECRET", secret);
    event["headers"]["content-length"] = form.len().to_string().into();
    event["body"] = b64.encode(form).into();
    event
}

/// The event with `Authorization: Bearer {token}` (API Gateway lowercases header names).
pub fn with_token(mut event: Value, token: &str) -> Value {
    event["headers"]["authorization"] = format!("Bearer {token}").into();
    event
}

/// Makes the `admin` role (`{"*": ["ALL"]}`) through the engine's in-process door, then an API
/// client holding it, and gets the client an access token from the token function's handler,
/// with the token fixture. The signing key is the engine's: when it has none from the
/// environment, the one kept in the table (made here), which every function process reads.
pub async fn admin_client<S: Store>(engine: &Engine<S>) -> Client {
    let role = json!({"data": {"type": "roles", "id": ADMIN_ROLE,
        "attributes": {"label": "Administrator", "permissions": {"*": ["ALL"]}}}});
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    let created = engine
        .handle_as_system(ApiRequest {
            method: Method::POST,
            path: format!("{}/roles", engine.schema().api.prefix),
            query: None,
            headers,
            body: role.to_string().into(),
            base_url: "https://localhost".to_owned(),
        })
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "the admin role");
    let client = engine
        .clients()
        .await
        .expect("the client store")
        .create(
            "lambda-tests",
            &[ADMIN_ROLE.to_owned()],
            &[GrantType::ClientCredentials],
        )
        .await
        .expect("a client");
    let secret = client.secret.expose().to_owned();
    let response = jsonapi_lambda::handle(
        engine,
        Operation::Token,
        request(&token_event(&client.id, &secret)),
    )
    .await;
    let (status, _, doc) = parts(response);
    assert_eq!(status, StatusCode::OK, "a token: {doc}");
    Client {
        id: client.id,
        secret,
        token: doc["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
    }
}
