//! The client's helpers per HTTP method (in the client's format), and its shortcuts: a token
//! request, a client's token, creating, fetching and listing resources.

use hyper::Method;
use serde_json::{Value, json};

use super::{ApiClient, Credentials};
use crate::TOKEN_PATH;
use crate::documents::resource_doc;
use crate::response::TestResponse;

impl ApiClient {
    /// `GET` with `Accept: application/vnd.api+json` (the client's format).
    pub async fn get(&self, path: &str) -> TestResponse {
        self.get_with(path, &[]).await
    }

    /// `GET` with `Accept: application/vnd.api+json` (the client's format) and extra headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let headers = with_defaults(&[("Accept", self.media())], headers);
        self.request(Method::GET, path, &headers, None).await
    }

    /// `POST` of a JSON document with the JSON:API `Content-Type` and `Accept` (the client's
    /// format).
    pub async fn post(&self, path: &str, body: &Value) -> TestResponse {
        self.post_with(path, body, &[]).await
    }

    /// `POST` with extra headers.
    pub async fn post_with(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        self.send_document(Method::POST, path, body, headers).await
    }

    /// `PATCH` of a JSON document with the JSON:API `Content-Type` and `Accept` (the client's
    /// format).
    pub async fn patch(&self, path: &str, body: &Value) -> TestResponse {
        self.patch_with(path, body, &[]).await
    }

    /// `PATCH` with extra headers.
    pub async fn patch_with(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        self.send_document(Method::PATCH, path, body, headers).await
    }

    /// `DELETE` with the JSON:API `Accept` (the client's format).
    pub async fn delete(&self, path: &str) -> TestResponse {
        self.request(Method::DELETE, path, &[("Accept", self.media())], None)
            .await
    }

    /// `OPTIONS` with the JSON:API `Accept` (the client's format).
    pub async fn options(&self, path: &str) -> TestResponse {
        self.request(Method::OPTIONS, path, &[("Accept", self.media())], None)
            .await
    }

    /// `HEAD` with the JSON:API `Accept` (the client's format).
    pub async fn head(&self, path: &str) -> TestResponse {
        self.head_with(path, &[]).await
    }

    /// `HEAD` with extra headers.
    pub async fn head_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let headers = with_defaults(&[("Accept", self.media())], headers);
        self.request(Method::HEAD, path, &headers, None).await
    }

    /// `POST /oauth2-token` of `body` as JSON, without a bearer token.
    pub async fn token_request(&self, body: &Value) -> TestResponse {
        let body = body.to_string();
        self.anonymous()
            .request(
                Method::POST,
                TOKEN_PATH,
                &[
                    ("Content-Type", "application/json"),
                    ("Accept", "application/json"),
                ],
                Some(&body),
            )
            .await
    }

    /// An access token for a client (client credentials grant); asserts `200`.
    pub async fn client_token(&self, client: &Credentials) -> String {
        let response = self
            .token_request(&json!({
                "grant_type": "client_credentials",
                "client_id": client.id,
                "client_secret": client.secret,
            }))
            .await;
        response.assert_status(200);
        response.json()["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{}\nno access_token", response.describe()))
            .to_owned()
    }

    /// `POST /api/{ty}` of `{"data": {"type": ty, attributes, relationships}}`; asserts `201` and
    /// returns the created resource object.
    pub async fn create(&self, ty: &str, attributes: Value, relationships: Value) -> Value {
        let response = self
            .post(
                &format!("/api/{ty}"),
                &resource_doc(ty, None, attributes, relationships),
            )
            .await;
        response.assert_status(201);
        response.data().clone()
    }

    /// `GET /api/{ty}/{id}`; asserts `200` and returns the resource object.
    pub async fn fetch(&self, ty: &str, id: &str) -> Value {
        let response = self.get(&format!("/api/{ty}/{id}")).await;
        response.assert_status(200);
        response.data().clone()
    }

    /// Every resource of `ty` (`page[size]=-1`), in the server's default order.
    pub async fn list_all(&self, ty: &str) -> Vec<Value> {
        let response = self.get(&format!("/api/{ty}?page[size]=-1")).await;
        response.assert_status(200);
        response
            .data()
            .as_array()
            .unwrap_or_else(|| panic!("{}\nthe data is not an array", response.describe()))
            .clone()
    }

    /// A JSON document sent with the JSON:API `Content-Type` and `Accept` (the client's
    /// format), `headers` over them.
    async fn send_document(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let headers = with_defaults(
            &[("Accept", self.media()), ("Content-Type", self.media())],
            headers,
        );
        let body = self.body_text(path, body);
        self.request(method, path, &headers, Some(&body)).await
    }
}

/// `defaults` overridden (by case-insensitive name) by `extra`.
fn with_defaults<'a>(
    defaults: &[(&'a str, &'a str)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut headers: Vec<(&str, &str)> = defaults
        .iter()
        .filter(|(name, _)| !extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
        .copied()
        .collect();
    headers.extend_from_slice(extra);
    headers
}
