use std::sync::atomic::{AtomicUsize, Ordering};

use jsonapi_store_redb::RedbStore;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;
use crate::jwt::TokenSigner;
use crate::keys::SigningKey;

const ISS: &str = "jsonapi";

fn store() -> (tempfile::TempDir, Arc<RedbStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(dir.path()).unwrap());
    (dir, store)
}

fn token(key: &SigningKey, issuer: &str) -> String {
    TokenSigner::new(key.clone(), issuer, ISS)
        .sign("c1", &[], None)
        .unwrap()
        .token
        .expose()
        .to_owned()
}

/// A verifier of our stored keys and of one external issuer whose keys are fetched.
async fn fetching_verifier(store: &Arc<RedbStore>, source: ExternalSource) -> Verifier<RedbStore> {
    Verifier::load(
        Arc::clone(store),
        ISS,
        ISS,
        OwnKeys::Stored,
        vec![source],
        Refresh::default(),
    )
    .await
    .unwrap()
}

async fn stored_verifier(store: &Arc<RedbStore>, refresh: Refresh) -> Verifier<RedbStore> {
    Verifier::load(
        Arc::clone(store),
        ISS,
        ISS,
        OwnKeys::Stored,
        Vec::new(),
        refresh,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_its_first_token_and_the_previous_one_still_works() {
    let (_dir, store) = store();
    let keys = KeyStore::new(Arc::clone(&store));
    let verifier = stored_verifier(&store, Refresh::default()).await;
    assert_eq!(verifier.jwks(), json!({"keys": []}));
    // The first key, made after the verifier loaded: read on its first token.
    let first = keys.signing_key(true).await.unwrap().unwrap();
    let old_token = token(&first, ISS);
    assert!(verifier.verify(&old_token).await.is_ok());
    keys.rotate(3600).await.unwrap();
    let second = keys.current().await.unwrap().unwrap();
    // Within the gate's interval: the new key's token waits for the next read...
    assert_eq!(
        verifier.verify(&token(&second, ISS)).await,
        Err(TokenError::UnknownKey)
    );
    // ...which a verifier with a shorter interval does at once.
    let quick = stored_verifier(
        &store,
        Refresh {
            own: Duration::ZERO,
            ..Refresh::default()
        },
    )
    .await;
    assert!(quick.verify(&token(&second, ISS)).await.is_ok());
    assert!(quick.verify(&old_token).await.is_ok());
    assert_eq!(quick.jwks()["keys"].as_array().unwrap().len(), 2);
    // A key of nobody's: refused.
    let stranger = SigningKey::generate_es256().unwrap();
    assert_eq!(
        quick.verify(&token(&stranger, ISS)).await,
        Err(TokenError::UnknownKey)
    );
}

#[tokio::test]
async fn a_retiring_key_verifies_until_its_retirement_and_a_leaked_one_stops_at_once() {
    let (_dir, store) = store();
    let keys = KeyStore::new(Arc::clone(&store));
    let first = keys.signing_key(true).await.unwrap().unwrap();
    let rotation = keys.rotate(100).await.unwrap();
    let clock = Clock::manual_now();
    let verifier = stored_verifier(&store, Refresh::default())
        .await
        .with_clock(clock.clone());
    let old_token = token(&first, ISS);
    assert!(verifier.verify(&old_token).await.is_ok());
    assert_eq!(verifier.jwks()["keys"].as_array().unwrap().len(), 2);
    clock.set(rotation.retiring[0].1);
    assert_eq!(
        verifier.verify(&old_token).await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(verifier.jwks()["keys"].as_array().unwrap().len(), 1);

    // Rotated with no time left: the previous key is out when the keys are read.
    let second = keys.current().await.unwrap().unwrap();
    keys.rotate(0).await.unwrap();
    let verifier = stored_verifier(&store, Refresh::default()).await;
    assert_eq!(
        verifier.verify(&token(&second, ISS)).await,
        Err(TokenError::UnknownKey)
    );
}

/// A JWKS endpoint on loopback serving whatever `document` holds, counting requests.
struct Provider {
    url: String,
    document: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
}

async fn provider(document: Value) -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let document = Arc::new(Mutex::new(document));
    let hits = Arc::new(AtomicUsize::new(0));
    let (served, counted) = (Arc::clone(&document), Arc::clone(&hits));
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            counted.fetch_add(1, Ordering::SeqCst);
            let body = served.lock().unwrap().to_string();
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    Provider {
        url,
        document,
        hits,
    }
}

#[tokio::test]
async fn fetched_keys_refresh_on_an_unknown_kid_at_most_once_per_interval() {
    let (_dir, store) = store();
    let provider_iss = "https://idp.example.test";
    let first = SigningKey::generate_es256().unwrap();
    let idp = provider(first.jwks()).await;
    let source = ExternalSource {
        issuer: ExternalIssuer::new(provider_iss, json!({"keys": []})),
        fetch: Some(JwksLocation::Uri(idp.url.clone())),
    };
    let verifier = fetching_verifier(&store, source).await;
    assert_eq!(
        idp.hits.load(Ordering::SeqCst),
        0,
        "fetched when first needed"
    );
    let principal = verifier.verify(&token(&first, provider_iss)).await.unwrap();
    assert!(principal.external);
    assert_eq!(idp.hits.load(Ordering::SeqCst), 1);
    // Cached: no more requests.
    for _ in 0..3 {
        assert!(verifier.verify(&token(&first, provider_iss)).await.is_ok());
    }
    assert_eq!(idp.hits.load(Ordering::SeqCst), 1);
    // The provider rotates: the first token of the new key fetches again.
    let second = SigningKey::generate_es256().unwrap();
    *idp.document.lock().unwrap() = second.jwks();
    assert!(verifier.verify(&token(&second, provider_iss)).await.is_ok());
    assert_eq!(idp.hits.load(Ordering::SeqCst), 2);
    // A flood of made-up kids within the interval fetches nothing.
    for _ in 0..20 {
        let stranger = SigningKey::generate_es256().unwrap();
        assert_eq!(
            verifier.verify(&token(&stranger, provider_iss)).await,
            Err(TokenError::UnknownKey)
        );
    }
    assert_eq!(idp.hits.load(Ordering::SeqCst), 2);
    // The first key left the document: its tokens are refused now.
    assert_eq!(
        verifier.verify(&token(&first, provider_iss)).await,
        Err(TokenError::UnknownKey)
    );
}

#[tokio::test]
async fn discovery_finds_the_jwks_uri_of_the_issuer_itself() {
    let (_dir, store) = store();
    let key = SigningKey::generate_es256().unwrap();
    let idp = provider(json!({})).await;
    let issuer = idp.url.trim_end_matches("/jwks.json").to_owned();
    // The same server answers every path: the configuration first, then the keys.
    *idp.document.lock().unwrap() =
        json!({"issuer": issuer, "jwks_uri": idp.url, "keys": key.jwks()["keys"]});
    let source = ExternalSource {
        issuer: ExternalIssuer::new(&issuer, json!({"keys": []})),
        fetch: Some(JwksLocation::Discovery),
    };
    let verifier = fetching_verifier(&store, source.clone()).await;
    assert!(verifier.verify(&token(&key, &issuer)).await.is_ok());
    assert_eq!(idp.hits.load(Ordering::SeqCst), 2);

    // A configuration naming another issuer is not trusted.
    *idp.document.lock().unwrap() =
        json!({"issuer": "https://evil.example", "jwks_uri": idp.url, "keys": key.jwks()["keys"]});
    let verifier = fetching_verifier(&store, source).await;
    assert_eq!(
        verifier.verify(&token(&key, &issuer)).await,
        Err(TokenError::UnknownKey)
    );
}
