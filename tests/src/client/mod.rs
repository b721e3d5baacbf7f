//! The HTTP client a test talks to a server with: a small hyper client bound to one server,
//! sending its bearer token and checking every response (`checks`); `methods` holds its helpers
//! per HTTP method and its shortcuts (tokens, resources), `raw` the requests no HTTP client
//! would send.

mod checks;
mod methods;
mod raw;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Method;
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::response::TestResponse;
use crate::{conformance, openapi, plain, tally};

/// How long one request may take before the test fails (a hung server must not hang the suite).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// An API client's id and secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: String,
}

/// A small HTTP/1.1 client bound to one server's base URL, sending its bearer token (if any) on
/// every request that sets no `Authorization` of its own. Every response is checked by
/// [`conformance::check`] before it is returned.
#[derive(Clone, Debug)]
pub struct ApiClient {
    base_url: String,
    client: Client<HttpConnector, Full<Bytes>>,
    token: Option<Arc<str>>,
    /// What the server's links start with, when not `base_url` (a server with a public URL).
    links_base: Option<Arc<str>>,
    /// The server's OpenAPI document, fetched on the first request ([`openapi`]).
    openapi: Arc<tokio::sync::OnceCell<Option<Arc<openapi::Document>>>>,
    /// The format the helpers (`get`, `post`, …) speak ([`ApiClient::with_format`]).
    format: plain::Format,
}

impl ApiClient {
    /// A client for `base_url` (`http://127.0.0.1:PORT`, no trailing slash).
    pub fn new(base_url: impl Into<String>) -> Self {
        let mut base_url = base_url.into();
        while base_url.ends_with('/') {
            base_url.pop();
        }
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            base_url,
            client,
            token: None,
            links_base: None,
            openapi: Arc::default(),
            format: plain::Format::JsonApi,
        }
    }

    /// This client speaking `format`: its helpers send that media type in `Accept` (and
    /// `Content-Type`), and turn the JSON:API documents they are given into plain bodies
    /// ([`plain::body_from_json_api`]), so that one case runs in both formats.
    #[must_use]
    pub fn with_format(&self, format: plain::Format) -> Self {
        Self {
            format,
            ..self.clone()
        }
    }

    /// This client for a server whose links start with `url` (its public URL) rather than with
    /// the address the client connects to; the harness checks links against it.
    #[must_use]
    pub fn with_links_base(&self, url: &str) -> Self {
        Self {
            links_base: Some(Arc::from(url)),
            ..self.clone()
        }
    }

    /// This client with another bearer token (`None`: requests carry no `Authorization`).
    #[must_use]
    pub fn with_token(&self, token: Option<&str>) -> Self {
        Self {
            token: token.map(Arc::from),
            ..self.clone()
        }
    }

    /// This client without a token.
    #[must_use]
    pub fn anonymous(&self) -> Self {
        self.with_token(None)
    }

    /// The bearer token sent, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// This client (and its token) for another base URL.
    pub(crate) fn rebased(&self, base_url: String) -> Self {
        Self {
            token: self.token.clone(),
            links_base: self.links_base.clone(),
            format: self.format,
            ..Self::new(base_url)
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The absolute URL of `path` (returned unchanged when it is already absolute).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base_url)
        }
    }

    /// Sends the given headers and body; the only header added is `Authorization: Bearer …`
    /// when the client has a token and `headers` set no `Authorization`.
    ///
    /// # Panics
    /// When the request cannot be sent or times out, or when the response breaks a conformance
    /// rule (see [`conformance::check`]).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> TestResponse {
        tally::count("request");
        let bearer = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers = headers.to_vec();
        if let Some(bearer) = &bearer
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            headers.push(("Authorization", bearer.as_str()));
        }
        let response = self.send(method, path, &headers, body).await;
        self.check(&response, &headers).await;
        response
    }

    /// Sends a request as it is and reads its answer, its body parsed as JSON unless it is a
    /// page.
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> TestResponse {
        let url = self.url(path);
        let mut builder = hyper::Request::builder().method(method.clone()).uri(&url);
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid header name");
            let value = HeaderValue::from_str(value).expect("a valid header value");
            builder = builder.header(name, value);
        }
        let body = Full::new(Bytes::from(body.unwrap_or_default().to_owned()));
        let request = builder.body(body).expect("a valid request");
        let response = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let response = self
                .client
                .request(request)
                .await
                .unwrap_or_else(|e| panic!("{method} {url}: the request failed: {e:?}"));
            let (parts, body) = response.into_parts();
            let raw = body
                .collect()
                .await
                .unwrap_or_else(|e| panic!("{method} {url}: reading the body failed: {e}"))
                .to_bytes();
            (parts, raw)
        })
        .await;
        let Ok((parts, raw)) = response else {
            panic!("{method} {url}: no response within {REQUEST_TIMEOUT:?}");
        };
        // The authorization endpoint's pages, the sandbox page and its scripts and styles are
        // not JSON (conformance checks them).
        let text = parts
            .headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/"));
        let body = if raw.is_empty() || text && conformance::serves_pages(&url, &self.base_url) {
            None
        } else {
            match serde_json::from_slice::<Value>(&raw) {
                Ok(value) => Some(value),
                Err(e) => panic!(
                    "{method} {url} -> {}: the body is not JSON ({e}):\n{}",
                    parts.status,
                    String::from_utf8_lossy(&raw)
                ),
            }
        };
        TestResponse {
            method,
            url,
            status: parts.status,
            headers: parts.headers,
            body,
            raw,
        }
    }

    /// The client format's media type (`application/vnd.api+json` unless
    /// [`Self::with_format`] says otherwise).
    fn media(&self) -> &'static str {
        self.format.media_type()
    }

    /// A request document as the client's format sends it: as it is, or (plain) as a plain
    /// body; bodies of another kind (query parameters) are sent as they are.
    fn body_text(&self, path: &str, body: &Value) -> String {
        match self.format {
            plain::Format::Plain if body.get("data").is_some() => {
                plain::body_from_json_api(body, path.contains("/relationships/")).to_string()
            }
            _ => body.to_string(),
        }
    }
}
