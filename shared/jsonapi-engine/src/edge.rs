//! The one conversion between HTTP messages and the engine's [`ApiRequest`] / [`ApiResponse`],
//! used by both edges: the local server (hyper, once the body is read) and the Lambda adapter
//! (API Gateway's event, once its path is taken below the stage). What each edge does apart
//! is only what its transport needs: reading a bounded body, or mapping a Lambda body.

use bytes::Bytes;

use crate::request::{ApiRequest, ApiResponse};

impl ApiRequest {
    /// The engine's request for an HTTP request: method, path (as sent: still
    /// percent-encoded), raw query, headers and body. `base_url` is what links start with: the
    /// server's public URL, never the request's `Host`, which the client chooses.
    pub fn from_http(request: http::Request<Bytes>, base_url: impl Into<String>) -> Self {
        let (parts, body) = request.into_parts();
        Self {
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            method: parts.method,
            headers: parts.headers,
            body,
            base_url: base_url.into(),
        }
    }
}

impl From<ApiResponse> for http::Response<Bytes> {
    fn from(response: ApiResponse) -> Self {
        let mut out = http::Response::new(response.body);
        *out.status_mut() = response.status;
        *out.headers_mut() = response.headers;
        out
    }
}

#[cfg(test)]
mod tests {
    use http::{Method, StatusCode, header};

    use super::*;

    #[test]
    fn requests_keep_the_raw_path_and_query_and_responses_everything() {
        let request = http::Request::builder()
            .method(Method::PATCH)
            .uri("http://internal:8080/api/roles/a%20b?filter%5Bx%5D=1&filter[x]=2")
            .header(header::ACCEPT, "application/vnd.api+json")
            .body(Bytes::from_static(b"{}"))
            .unwrap();
        let api = ApiRequest::from_http(request, "https://api.example.com");
        assert_eq!(api.method, Method::PATCH);
        assert_eq!(api.path, "/api/roles/a%20b");
        assert_eq!(api.query.as_deref(), Some("filter%5Bx%5D=1&filter[x]=2"));
        assert_eq!(api.headers[header::ACCEPT], "application/vnd.api+json");
        assert_eq!(api.body, "{}");
        assert_eq!(api.base_url, "https://api.example.com");

        let mut answer = ApiResponse::empty(StatusCode::NO_CONTENT);
        answer
            .headers
            .insert(header::ETAG, "\"1\"".parse().unwrap());
        let http: http::Response<Bytes> = answer.into();
        assert_eq!(http.status(), StatusCode::NO_CONTENT);
        assert_eq!(http.headers()[header::ETAG], "\"1\"");
        assert!(http.body().is_empty());
    }
}
