//! A stand-in OpenID provider on loopback: it serves its OpenID configuration
//! (`/.well-known/openid-configuration`) and its JWKS (`/jwks.json`), signs tokens with its
//! current key, can rotate that key, and counts the requests it gets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use jsonapi_auth::{SigningKey, TokenSigner};
use serde_json::{Value, json};

/// The provider; it serves until the test process ends.
#[derive(Debug, Clone)]
pub struct Provider {
    issuer: String,
    key: Arc<Mutex<SigningKey>>,
    configuration_hits: Arc<AtomicUsize>,
    jwks_hits: Arc<AtomicUsize>,
}

impl Provider {
    /// A provider with a fresh ES256 key, listening on a free loopback port; its issuer is
    /// `http://127.0.0.1:{port}`.
    ///
    /// # Panics
    /// When it cannot listen.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the provider listens");
        let issuer = format!("http://{}", listener.local_addr().expect("an address"));
        let provider = Self {
            issuer,
            key: Arc::new(Mutex::new(SigningKey::generate_es256().expect("a key"))),
            configuration_hits: Arc::default(),
            jwks_hits: Arc::default(),
        };
        let serving = provider.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let provider = serving.clone();
                let service = hyper::service::service_fn(move |req| {
                    let answer = provider.answer(req.uri().path());
                    async move { Ok::<_, std::convert::Infallible>(answer) }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        provider
    }

    fn answer(&self, path: &str) -> Response<Full<Bytes>> {
        let body = match path {
            "/.well-known/openid-configuration" => {
                self.configuration_hits.fetch_add(1, Ordering::SeqCst);
                json!({ "issuer": self.issuer, "jwks_uri": self.jwks_uri() })
            }
            "/jwks.json" => {
                self.jwks_hits.fetch_add(1, Ordering::SeqCst);
                self.key.lock().expect("the key").jwks()
            }
            _ => {
                let mut response = Response::new(Full::new(Bytes::new()));
                *response.status_mut() = StatusCode::NOT_FOUND;
                return response;
            }
        };
        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        response
    }

    /// Its `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Its JWKS document's URL.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks.json", self.issuer)
    }

    /// Its current signing key.
    pub fn key(&self) -> SigningKey {
        self.key.lock().expect("the key").clone()
    }

    /// Replaces its signing key (the JWKS lists only the new one).
    pub fn rotate(&self) {
        *self.key.lock().expect("the key") = SigningKey::generate_es256().expect("a key");
    }

    /// How many times its JWKS was fetched.
    pub fn jwks_hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }

    /// How many times its OpenID configuration was fetched.
    pub fn configuration_hits(&self) -> usize {
        self.configuration_hits.load(Ordering::SeqCst)
    }

    /// An access token with `roles` in the `roles` claim, signed with its current key.
    pub fn token(&self, roles: &[&str]) -> String {
        self.token_with(&self.key(), roles)
    }

    /// An access token of this issuer signed with `key` (a key it does not publish, say).
    pub fn token_with(&self, key: &SigningKey, roles: &[&str]) -> String {
        let now = crate::tokens::now();
        let claims: Value = json!({ "iss": self.issuer, "sub": "idp-user", "iat": now,
                                     "exp": now + 600, "roles": roles });
        TokenSigner::new(key.clone(), &self.issuer, "unused")
            .sign_claims(&claims)
            .expect("signed")
            .expose()
            .to_owned()
    }
}
