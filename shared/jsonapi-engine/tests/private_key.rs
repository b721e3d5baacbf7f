//! The private signing key is read only by what signs: an engine that only checks bearer
//! tokens (every Lambda function but the token function) verifies them, and serves the JWKS,
//! with the published public keys alone. Here its store refuses the private key's item, as the
//! template's IAM denial does in the cloud, and every request still succeeds without trying it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use jsonapi_auth::GrantType;
use jsonapi_auth::stored_keys::SIGNING_KEY_PK;
use jsonapi_engine::{ApiRequest, ApiResponse, Engine, MEDIA_TYPE};
use jsonapi_store::{Item, Key, QueryPage, RangeQuery, Store, StoreError, StoreResult, Write};
use jsonapi_store_redb::RedbStore;
use serde_json::{Value, json};

/// One embedded store seen by two engines; one of them is refused the private key's item.
#[derive(Debug)]
struct Guarded {
    inner: Arc<RedbStore>,
    deny: bool,
    attempts: Arc<AtomicUsize>,
}

impl Guarded {
    fn check<'k>(&self, mut keys: impl Iterator<Item = &'k str>) -> StoreResult<()> {
        if self.deny && keys.any(|pk| pk == SIGNING_KEY_PK) {
            self.attempts.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Internal("AccessDeniedException".into()));
        }
        Ok(())
    }
}

impl Store for Guarded {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        self.check(std::iter::once(key.pk.as_str()))?;
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        self.check(keys.iter().map(|k| k.pk.as_str()))?;
        self.inner.batch_get(keys).await
    }
    async fn query(&self, query: &RangeQuery) -> StoreResult<QueryPage> {
        self.check(std::iter::once(query.pk.as_str()))?;
        self.inner.query(query).await
    }
    async fn count(&self, query: &RangeQuery) -> StoreResult<u64> {
        self.check(std::iter::once(query.pk.as_str()))?;
        self.inner.count(query).await
    }
    async fn allocate(&self, key: &Key, n: u64) -> StoreResult<u64> {
        self.inner.allocate(key, n).await
    }
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.inner.transact(writes).await
    }
}

fn request(method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> ApiRequest {
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static(MEDIA_TYPE));
    if let Some(token) = token {
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
    }
    let content_type = if path == "/oauth2-token" {
        "application/json"
    } else {
        MEDIA_TYPE
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    ApiRequest {
        method,
        path: path.to_owned(),
        query: None,
        headers,
        body: body.map(|b| b.to_string().into()).unwrap_or_default(),
        base_url: "http://localhost".to_owned(),
    }
}

fn json_of(response: &ApiResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}

#[tokio::test]
async fn verifying_reads_public_keys_only_and_signing_needs_the_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let inner = Arc::new(RedbStore::open(dir.path()).unwrap());
    let attempts = Arc::new(AtomicUsize::new(0));
    let engine = |deny| {
        let store = Guarded {
            inner: Arc::clone(&inner),
            deny,
            attempts: Arc::clone(&attempts),
        };
        Engine::new(jsonapi_config::example_domain(), store)
    };

    // The signing side (the token function): an admin role, a client, a token.
    let signing = engine(false);
    let role = json!({"data": {"type": "roles", "id": "admin",
        "attributes": {"label": "Admin", "permissions": {"*": ["ALL"]}}}});
    let made = signing
        .handle_as_system(request(Method::POST, "/api/roles", None, Some(role)))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", json_of(&made));
    let client = signing
        .clients()
        .await
        .unwrap()
        .create(
            "verifying",
            &["admin".to_owned()],
            &[GrantType::ClientCredentials],
        )
        .await
        .unwrap();
    let grant = json!({"grant_type": "client_credentials", "client_id": client.id,
                       "client_secret": client.secret.expose()});
    let answer = signing
        .handle(request(
            Method::POST,
            "/oauth2-token",
            None,
            Some(grant.clone()),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", json_of(&answer));
    let token = json_of(&answer)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // A verifying function: prepared at init, it checks the token and serves the JWKS.
    let verifying = engine(true);
    verifying.prepare_auth().await;
    let products = verifying
        .handle(request(Method::GET, "/api/products", Some(&token), None))
        .await;
    assert_eq!(products.status, StatusCode::OK, "{}", json_of(&products));
    let jwks = verifying
        .handle(request(Method::GET, "/.well-known/jwks.json", None, None))
        .await;
    assert_eq!(jwks.status, StatusCode::OK);
    assert_eq!(json_of(&jwks)["keys"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        0,
        "the private key was never read"
    );

    // Signing is what needs it: the same engine's token endpoint tries, and is refused.
    let refused = verifying
        .handle(request(Method::POST, "/oauth2-token", None, Some(grant)))
        .await;
    assert_ne!(refused.status, StatusCode::OK);
    assert!(attempts.load(Ordering::SeqCst) > 0);
}
