//! Requests the process makes as itself (seed data, the admin role, the development client):
//! through the API, with its validation, ids and extensions, and without a token
//! (`Engine::handle_as_system`).

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use jsonapi_engine::{ApiRequest, ApiResponse, Engine, MEDIA_TYPE};
use serde_json::Value;

use crate::Error;
use crate::backend::Backend;

/// Answers `method path` (under the API's prefix) with `body`, as the process itself.
pub(crate) async fn call(
    engine: &Engine<Backend>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> ApiResponse {
    let body = body.map(|b| b.to_string().into()).unwrap_or_default();
    call_with(engine, method, path, HeaderMap::new(), body).await
}

/// Answers `method path` with `headers` (and a JSON:API `Content-Type`) and a body as written.
pub(crate) async fn call_with(
    engine: &Engine<Backend>,
    method: Method,
    path: &str,
    mut headers: HeaderMap,
    body: Bytes,
) -> ApiResponse {
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    let request = ApiRequest {
        method,
        path: format!("{}/{path}", engine.schema().api.prefix),
        query: None,
        headers,
        body,
        base_url: "http://localhost".to_owned(),
    };
    engine.handle_as_system(request).await
}

/// Creates one resource of type `ty` from `data` and returns its id.
///
/// # Errors
/// The API refused it: `what` says what was being done.
pub(crate) async fn create(
    engine: &Engine<Backend>,
    ty: &str,
    data: Value,
    what: impl FnOnce() -> String,
) -> Result<String, Error> {
    let body = serde_json::json!({ "data": data });
    let response = call(engine, Method::POST, ty, Some(&body)).await;
    let doc: Value = serde_json::from_slice(&response.body).unwrap_or_default();
    match doc["data"]["id"].as_str() {
        Some(id) if response.status.is_success() => Ok(id.to_owned()),
        _ => Err(Error::Refused {
            what: what(),
            status: response.status,
            body: String::from_utf8_lossy(&response.body).into_owned(),
        }),
    }
}
