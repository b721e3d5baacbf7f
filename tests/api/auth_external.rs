//! Access tokens of an external OpenID provider (`api.auth.externalIssuers`, e.g. Cognito):
//! accepted when signed by a key of its JWKS (given inline, fetched from its `jwksUri`, or
//! found through OpenID discovery), with the roles of its roles claim; refused when another key
//! signed them or they claim another issuer. Fetched keys are cached and fetched again for an
//! unknown `kid`, at most once a minute.

use jsonapi_auth::{SigningKey, TokenSigner};
use jsonapi_tests::idp::Provider;
use jsonapi_tests::tokens::now;
use jsonapi_tests::{TestApp, Value, example_config_with, json};

const PROVIDER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test";

/// A Cognito-shaped access token (no `aud`, roles in `cognito:groups`) signed by `key`.
fn provider_token(key: &SigningKey, issuer: &str, groups: &[&str]) -> String {
    let now = now();
    let claims = json!({
        "iss": issuer,
        "sub": "5f1c-user",
        "token_use": "access",
        "client_id": "provider-app",
        "iat": now,
        "exp": now + 600,
        "cognito:groups": groups,
    });
    TokenSigner::new(key.clone(), issuer, "unused")
        .sign_claims(&claims)
        .expect("signed")
        .expose()
        .to_owned()
}

async fn app_trusting(key: &SigningKey) -> TestApp {
    let jwks: Value = key.jwks();
    let settings = format!(
        "  auth:\n    externalIssuers:\n      - issuer: {PROVIDER}\n        rolesClaim: \"cognito:groups\"\n        jwks: {jwks}\n"
    );
    TestApp::spawn_with_config(&example_config_with(&settings), true).await
}

#[tokio::test]
async fn a_configured_providers_tokens_carry_their_groups_as_roles() {
    let provider = SigningKey::generate_es256().expect("a key");
    let app = app_trusting(&provider).await;

    let viewer = app.with_token(Some(&provider_token(&provider, PROVIDER, &["viewer"])));
    viewer.get("/api/products/1").await.assert_status(200);
    let denied = viewer
        .patch(
            "/api/products/1",
            &json!({"data": {"type": "products", "id": "1", "attributes": {"name": "X"}}}),
        )
        .await;
    denied.assert_status(403);
    viewer.get("/api/customers").await.assert_status(403);

    let admin = app.with_token(Some(&provider_token(&provider, PROVIDER, &["admin"])));
    admin.get("/api/customers").await.assert_status(200);
    // The API's own tokens keep working beside the provider's.
    app.get("/api/customers").await.assert_status(200);
}

#[tokio::test]
async fn tokens_from_another_key_or_issuer_are_refused() {
    let provider = SigningKey::generate_es256().expect("a key");
    let app = app_trusting(&provider).await;
    let impostor = SigningKey::generate_es256().expect("a key");
    for token in [
        // Right issuer, a key the JWKS does not hold.
        provider_token(&impostor, PROVIDER, &["admin"]),
        // The provider's key, another issuer's name.
        provider_token(&provider, "https://evil.example.com", &["admin"]),
    ] {
        let response = app.with_token(Some(&token)).get("/api/products/1").await;
        response.assert_status(401);
        let challenge = response.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{}",
            response.describe()
        );
    }
}

/// A server trusting `provider` through discovery, or its `jwksUri`.
async fn app_fetching_from(provider: &Provider, discovery: bool) -> TestApp {
    let keys = if discovery {
        String::new()
    } else {
        format!("\n        jwksUri: {}", provider.jwks_uri())
    };
    let settings = format!(
        "  auth:\n    externalIssuers:\n      - issuer: {}{keys}\n",
        provider.issuer()
    );
    TestApp::spawn_with_config(&example_config_with(&settings), true).await
}

#[tokio::test]
async fn a_providers_keys_are_discovered_fetched_once_and_cached() {
    let provider = Provider::start().await;
    let app = app_fetching_from(&provider, true).await;
    assert_eq!(provider.jwks_hits(), 0, "fetched when first needed");
    for _ in 0..3 {
        app.with_token(Some(&provider.token(&["viewer"])))
            .get("/api/products/1")
            .await
            .assert_status(200);
    }
    assert_eq!(
        (provider.configuration_hits(), provider.jwks_hits()),
        (1, 1),
        "one discovery, one fetch, then the cache"
    );
    // The viewer role applies to the provider's user.
    app.with_token(Some(&provider.token(&["viewer"])))
        .get("/api/customers")
        .await
        .assert_status(403);
}

#[tokio::test]
async fn a_rotation_at_the_provider_is_fetched_once_and_a_flood_of_unknown_kids_is_not() {
    let provider = Provider::start().await;
    let app = app_fetching_from(&provider, false).await;
    let old_key = provider.key();
    app.with_token(Some(&provider.token(&["viewer"])))
        .get("/api/products/1")
        .await
        .assert_status(200);
    assert_eq!(provider.jwks_hits(), 1);

    provider.rotate();
    app.with_token(Some(&provider.token(&["viewer"])))
        .get("/api/products/1")
        .await
        .assert_status(200);
    assert_eq!(provider.jwks_hits(), 2, "the new kid made one fetch");

    // Tokens naming keys nobody publishes: refused, and the provider is not asked again.
    for _ in 0..25 {
        let stranger = SigningKey::generate_es256().expect("a key");
        app.with_token(Some(&provider.token_with(&stranger, &["admin"])))
            .get("/api/products/1")
            .await
            .assert_status(401);
    }
    assert_eq!(provider.jwks_hits(), 2);
    // The key the provider dropped is no longer trusted (a token not seen before: a token
    // already checked is trusted for the engine's cache time).
    app.with_token(Some(&provider.token_with(&old_key, &["viewer"])))
        .get("/api/products/1")
        .await
        .assert_status(401);
}
