//! What every response is checked for before a test sees it: the conformance rules, the format
//! the request designated, and the server's OpenAPI document.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use serde_json::Value;

use super::{ApiClient, REQUEST_TIMEOUT};
use crate::response::TestResponse;
use crate::{conformance, openapi, plain};

impl ApiClient {
    /// Fails the test, listing every problem, when `response` (to a request with `headers`)
    /// breaks a conformance rule, is not in the format the headers designate, or does not match
    /// the server's OpenAPI document.
    pub(super) async fn check(&self, response: &TestResponse, headers: &[(&str, &str)]) {
        let links_base = self.links_base.as_deref().unwrap_or(&self.base_url);
        let mut problems = conformance::check(response, &self.base_url, links_base);
        // An API answer is in the format the request's headers designate (Oro §2.1).
        let served_plain = response.header("content-type") == Some(plain::MEDIA_TYPE);
        let api_path = response.url[self.base_url.len()..].starts_with("/api/")
            && !conformance::is_docs_path(&response.url, &self.base_url);
        if api_path
            && response.body.is_some()
            && served_plain == plain::designates_json_api(headers)
        {
            problems.push(format!(
                "the answer is {:?}, not in the format the request's headers designate",
                response.header("content-type")
            ));
        }
        if let Some(document) = self.openapi().await {
            let path = response
                .url
                .strip_prefix(&self.base_url)
                .unwrap_or_default();
            let path = path.split(['?', '#']).next().unwrap_or_default();
            problems.extend(document.problems(response, path));
        }
        if !problems.is_empty() {
            panic!(
                "{}\nthe response breaks {} conformance rule(s):\n  - {}",
                response.describe(),
                problems.len(),
                problems.join("\n  - ")
            );
        }
    }

    /// The OpenAPI document the server publishes, if it publishes one at
    /// [`openapi::OPENAPI_PATH`].
    async fn openapi(&self) -> Option<Arc<openapi::Document>> {
        let fetch = async {
            let request = hyper::Request::get(self.url(openapi::OPENAPI_PATH))
                .body(Full::new(Bytes::new()))
                .expect("a valid request");
            let response = tokio::time::timeout(REQUEST_TIMEOUT, self.client.request(request))
                .await
                .ok()?
                .ok()?;
            if response.status() != StatusCode::OK {
                return None;
            }
            let body = response.into_body().collect().await.ok()?.to_bytes();
            let doc: Value = serde_json::from_slice(&body).ok()?;
            Some(openapi::Document::shared(doc))
        };
        self.openapi.get_or_init(|| fetch).await.clone()
    }
}
