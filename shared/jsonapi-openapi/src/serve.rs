//! Serving the documentation: `GET {prefix}/doc` (the sandbox page), `GET
//! {prefix}/doc/openapi.json` and the page's assets, with `HEAD` and `OPTIONS`. No token is
//! needed: the page and the document describe the configuration, never data. `api.enabled:
//! false` leaves every route to the engine (which answers 404); `api.openapi` and
//! `api.sandbox` switch the document and the page off (404).

use std::sync::Mutex;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use jsonapi_config::{DOC_SEGMENT, Schema};
use jsonapi_engine::{ApiError, ApiRequest, ApiResponse};

use crate::{OPENAPI_FILE, sandbox};

/// What the page may load: its own origin only (scripts, styles, the document, the token
/// endpoint, the API), and Swagger UI's inline (`data:`) icons; no inline script or style.
const PAGE_POLICY: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The documentation of one API.
#[derive(Debug)]
pub struct Docs {
    schema: Schema,
    /// The document for the last base URL asked for (one deployment has one).
    cached: Mutex<Option<(String, Bytes)>>,
}

impl Docs {
    /// The documentation of the API `schema` describes.
    pub fn new(schema: &Schema) -> Self {
        Self {
            schema: schema.clone(),
            cached: Mutex::new(None),
        }
    }

    /// The OpenAPI document for `base_url`, as bytes, built once per base URL.
    fn openapi(&self, base_url: &str) -> Bytes {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((url, bytes)) = cached.as_ref()
            && url == base_url
        {
            return bytes.clone();
        }
        let doc = crate::document(&self.schema, base_url);
        let bytes = Bytes::from(serde_json::to_vec(&doc).expect("documents serialize"));
        *cached = Some((base_url.to_owned(), bytes.clone()));
        bytes
    }

    /// The configuration the documentation describes.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The answer to a request for the documentation; `None` when `req` is not one (or the
    /// API is off), for the engine to answer.
    pub fn answer(&self, req: &ApiRequest) -> Option<ApiResponse> {
        let api = &self.schema.api;
        let rest = req
            .path
            .strip_prefix(api.prefix.as_str())?
            .strip_prefix('/')?
            .strip_prefix(DOC_SEGMENT)?;
        let file = match rest {
            "" => None,
            rest => Some(rest.strip_prefix('/')?),
        };
        if !api.enabled {
            return None;
        }
        let found = match file {
            None if api.sandbox => Some(Found::Page),
            Some(OPENAPI_FILE) if api.openapi => Some(Found::OpenApi),
            Some(name) if api.sandbox => sandbox::asset(name).map(Found::Asset),
            _ => None,
        };
        let Some(found) = found else {
            return Some(ApiResponse::errors(
                &ApiError::no_route(&req.method, &req.path).into(),
            ));
        };
        const ALLOWED: &str = "OPTIONS, GET, HEAD";
        let mut response = match req.method {
            Method::GET | Method::HEAD => self.content(&found, &req.base_url),
            Method::OPTIONS => {
                let mut r = ApiResponse::empty(StatusCode::OK);
                r.headers.insert(CONTENT_LENGTH, HeaderValue::from(0));
                r
            }
            _ => ApiResponse::errors(&ApiError::method_not_allowed(&req.method, ALLOWED).into()),
        };
        if req.method != Method::GET && req.method != Method::HEAD {
            response
                .headers
                .insert(ALLOW, HeaderValue::from_static(ALLOWED));
        }
        // The document is what a tool or page elsewhere loads (the API's CORS settings, as
        // for the API itself); the page and its assets are same-origin.
        if matches!(found, Found::OpenApi) {
            jsonapi_engine::apply_cors(&api.cors, &req.method, &req.headers, &mut response);
        }
        if req.method == Method::HEAD {
            let length = response.body.len();
            response.body = Bytes::new();
            response
                .headers
                .insert(CONTENT_LENGTH, HeaderValue::from(length));
        }
        Some(response)
    }

    fn content(&self, found: &Found, base_url: &str) -> ApiResponse {
        let (content_type, cache, body) = match found {
            Found::Page => (
                "text/html; charset=utf-8",
                "no-cache",
                Bytes::from_static(sandbox::PAGE),
            ),
            Found::OpenApi => ("application/json", "no-cache", self.openapi(base_url)),
            Found::Asset(asset) => (
                asset.content_type,
                "public, max-age=3600",
                Bytes::from_static(asset.bytes),
            ),
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        if matches!(found, Found::Page) {
            headers.insert(
                "content-security-policy",
                HeaderValue::from_static(PAGE_POLICY),
            );
        }
        ApiResponse {
            status: StatusCode::OK,
            headers,
            body,
        }
    }
}

/// What a documentation URL names.
enum Found {
    Page,
    OpenApi,
    Asset(&'static sandbox::Asset),
}
