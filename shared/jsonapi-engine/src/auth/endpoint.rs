//! `POST /oauth2-token` (RFC 6749 §3.2: JSON or form body, client credentials in the body or
//! in HTTP Basic), `GET /.well-known/jwks.json` (the public keys that check our tokens) and the
//! routing of the authorization endpoint (`super::authorize`).
//!
//! These speak OAuth, not JSON:API: answers and errors are plain JSON as RFC 6749 §5 has them,
//! never cached.

use bytes::Bytes;
use http::header::{
    ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, PRAGMA,
};
use http::{HeaderMap, Method, StatusCode};
use jsonapi_auth::{OAuthError, TokenRequest};
use jsonapi_config::Operation;
use jsonapi_store::Store;
use serde_json::Value;

use crate::engine::Engine;
use crate::error::ApiError;
use crate::request::{ApiRequest, ApiResponse};

fn json_response(status: StatusCode, body: &Value, cache: &'static str) -> ApiResponse {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    ApiResponse {
        status,
        headers,
        body: Bytes::from(body.to_string()),
    }
}

fn oauth_error(e: &OAuthError) -> ApiResponse {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = json_response(status, &e.body(), "no-store");
    response
        .headers
        .insert(PRAGMA, HeaderValue::from_static("no-cache"));
    for (name, value) in e.headers() {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers.insert(name, value);
        }
    }
    response
}

fn only(allow: &'static str, method: &Method) -> ApiResponse {
    let mut response = if *method == Method::OPTIONS {
        let mut r = ApiResponse::empty(StatusCode::OK);
        r.headers.insert(CONTENT_LENGTH, HeaderValue::from(0));
        r
    } else {
        ApiResponse::errors(&ApiError::method_not_allowed(method, allow).into())
    };
    response
        .headers
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

impl<S: Store> Engine<S> {
    /// Answers the token endpoint, the authorization pages and the JWKS document (`operation`
    /// is one of theirs; any other is answered as an unknown method).
    pub(crate) async fn auth_endpoint(
        &self,
        operation: Operation,
        req: &ApiRequest,
    ) -> ApiResponse {
        let get = req.method == Method::GET || req.method == Method::HEAD;
        match operation {
            Operation::Token if req.method == Method::POST => self.token(req).await,
            Operation::Authorize if get || req.method == Method::POST => {
                self.authorization_endpoint(req).await
            }
            Operation::Authorize => only("OPTIONS, GET, HEAD, POST", &req.method),
            Operation::Jwks if get => self.jwks().await,
            Operation::Jwks => only("OPTIONS, GET, HEAD", &req.method),
            _ => only("OPTIONS, POST", &req.method),
        }
    }

    async fn token(&self, req: &ApiRequest) -> ApiResponse {
        let content_type = req.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let authorization = req.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let request = match TokenRequest::parse(content_type, &req.body)
            .and_then(|r| r.with_authorization(authorization))
        {
            Ok(r) => r,
            Err(e) => return oauth_error(&e),
        };
        let Ok(Some(service)) = self.token_service(true).await else {
            return oauth_error(&OAuthError::new(
                jsonapi_auth::ErrorCode::ServerError,
                "The token service is unavailable.",
            ));
        };
        match service.exchange(request).await {
            Ok(answer) => {
                let mut response = json_response(StatusCode::OK, &answer.to_json(), "no-store");
                response
                    .headers
                    .insert(PRAGMA, HeaderValue::from_static("no-cache"));
                response
            }
            Err(e) => oauth_error(&e),
        }
    }

    /// Our public keys in use: the current one and those retiring (an HS256 secret has no
    /// public half: the document lists no key). Read from the published keys; when none was
    /// made yet, the key is made now (as by the first token request), so that the document
    /// never tells a client caching it that there is no key.
    async fn jwks(&self) -> ApiResponse {
        let document = async {
            let verifier = self.verifier().await?;
            let jwks = verifier.jwks();
            if self.auth.key.is_none() && jwks["keys"].as_array().is_some_and(Vec::is_empty) {
                self.token_service(true).await?;
                return Ok(verifier.jwks());
            }
            Ok(jwks)
        };
        match document.await {
            Ok(jwks) => json_response(StatusCode::OK, &jwks, "public, max-age=300"),
            Err(errors) => ApiResponse::errors(&errors),
        }
    }
}
