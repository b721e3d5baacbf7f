//! Bearer tokens that must not open the API (Oro §12.4; acceptance rows 40, 88): each is a 401
//! JSON:API error document (`authentication exception`) with an RFC 6750 `WWW-Authenticate`
//! challenge. Tokens with odd claims are signed with a key the server under test was given, so
//! that only the claim is wrong.

use jsonapi_auth::{GrantType, SigningKey};
use jsonapi_engine::auth::CACHE_TTL;
use jsonapi_tests::tokens::{assemble, b64url, claims, decode, now, sign};
use jsonapi_tests::{ApiClient, JWKS_PATH, Source, TestApp, TestResponse, assert_error, json};

/// The HS256 secret the servers of the claim tests sign with.
const SECRET: &[u8] = b"a test secret of more than thirty-two bytes";

fn key() -> SigningKey {
    SigningKey::hs256(SECRET).expect("a usable HS256 secret")
}

/// Asserts the 401 of a refused token: the JSON:API error, and a challenge naming
/// `invalid_token` with `description` (RFC 6750 §3.1).
fn assert_invalid_token(response: &TestResponse, description: &str) {
    let error = assert_error(response, 401, "authentication exception", Source::Absent);
    assert_eq!(
        error["detail"],
        format!("{description}."),
        "{}",
        response.describe()
    );
    assert_eq!(
        response.header("www-authenticate"),
        Some(
            format!("Bearer error=\"invalid_token\", error_description=\"{description}\"").as_str()
        ),
        "{}",
        response.describe()
    );
}

/// GET of the product list with `token`.
async fn get_with(api: &ApiClient, token: &str) -> TestResponse {
    api.with_token(Some(token)).get("/api/products").await
}

#[tokio::test]
async fn no_token_is_a_401_asking_for_a_bearer_token() {
    let app = jsonapi_tests::shared_scratch();
    for path in [
        "/api/products",
        "/api/products/1",
        "/api/products/1/category",
    ] {
        let response = app.anonymous().get(path).await;
        let error = assert_error(&response, 401, "authentication exception", Source::Absent);
        assert!(
            error["detail"]
                .as_str()
                .is_some_and(|d| d.contains("Bearer")),
            "{}",
            response.describe()
        );
        // No credentials came, so the challenge names no error (RFC 6750 §3.1).
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer realm=\"api\""),
            "{}",
            response.describe()
        );
    }
    // Writes too, and before the body is looked at.
    let response = app
        .anonymous()
        .post("/api/products", &json!({ "not": "a document" }))
        .await;
    assert_error(&response, 401, "authentication exception", Source::Absent);
    let response = app.anonymous().delete("/api/products/1").await;
    assert_error(&response, 401, "authentication exception", Source::Absent);
}

#[tokio::test]
async fn garbage_is_a_malformed_token_and_another_scheme_gets_the_bare_challenge() {
    let app = TestApp::spawn().await;
    for token in ["garbage", "a.b.c", "e30.e30.", "...."] {
        assert_invalid_token(
            &get_with(&app, token).await,
            "The access token is malformed",
        );
    }
    let client = app.dev_client();
    for authorization in [
        format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{}:{}", client.id, client.secret)
            )
        ),
        format!("Token {}", app.token().expect("a token")),
        "WSSE profile=\"UsernameToken\"".to_owned(),
    ] {
        // No error code for a scheme the API does not use (RFC 6750 §3.1).
        let response = app
            .get_with("/api/products", &[("Authorization", &authorization)])
            .await;
        assert_error(&response, 401, "authentication exception", Source::Absent);
        assert_eq!(
            response.header("www-authenticate"),
            Some("Bearer realm=\"api\""),
            "{authorization}"
        );
    }
    let response = app
        .get_with("/api/products", &[("Authorization", "Bearer")])
        .await;
    assert_invalid_token(&response, "The access token is malformed");
    // A token in the query string is not read.
    let token = app.token().expect("a token").to_owned();
    let response = app
        .anonymous()
        .get(&format!("/api/products?access_token={token}"))
        .await;
    response.assert_status(401);
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let response = app
        .get_with(
            "/api/products",
            &[("Authorization", &format!("bearer {token}"))],
        )
        .await;
    response.assert_status(200);
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let app = jsonapi_tests::shared_scratch();
    let (header, mut body) = decode(app.token().expect("a token"));
    body["roles"] = json!(["admin"]);
    for alg in ["none", "None", "NONE"] {
        let mut header = header.clone();
        header["alg"] = json!(alg);
        let token = assemble(&header, &body, "");
        assert_invalid_token(
            &get_with(&app, &token).await,
            "The access token's signing algorithm is not accepted",
        );
    }
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_public_key_is_refused() {
    // The classic algorithm confusion: the server's public key used as an HMAC secret, with and
    // without the server key's `kid`.
    let app = jsonapi_tests::shared_scratch();
    let jwks = app.anonymous().get(JWKS_PATH).await;
    let jwk = jwks.json()["keys"][0].clone();
    let kid = jwk["kid"].as_str().expect("a kid").to_owned();
    let (_, good) = decode(app.token().expect("a token"));
    let xy = format!(
        "{}{}",
        jwk["x"].as_str().unwrap_or_default(),
        jwk["y"].as_str().unwrap_or_default()
    );
    for secret in [jwk.to_string(), xy] {
        for kid in [Some(kid.clone()), None] {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
            header.kid = kid;
            let token = jsonwebtoken::encode(
                &header,
                &good,
                &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
            )
            .expect("an HS256 token");
            assert_eq!(decode(&token).0["alg"], "HS256");
            assert_invalid_token(
                &get_with(&app, &token).await,
                "The access token's signing algorithm is not accepted",
            );
        }
    }
}

#[tokio::test]
async fn a_tampered_token_fails_its_signature() {
    let app = TestApp::spawn_with_signing_key(key(), false).await;
    let token = app.token().expect("a token");
    let (header, mut body) = decode(token);
    let signature = token.rsplit('.').next().expect("a signature");
    // More rights, same signature.
    body["roles"] = json!(["admin", "superuser"]);
    body["exp"] = json!(now() + 86_400 * 365);
    let tampered = assemble(&header, &body, signature);
    assert_invalid_token(
        &get_with(&app, &tampered).await,
        "The access token's signature is invalid",
    );
    // Signed with another secret.
    let other = SigningKey::hs256(b"another secret of more than thirty-two bytes").expect("a key");
    assert_invalid_token(
        &get_with(&app, &sign(&other, &claims(&["admin"]))).await,
        "The access token's signature is invalid",
    );
    // The untouched token works, and so does one the test signs with the server's key: the
    // refusals above are about what was changed.
    get_with(&app, token).await.assert_status(200);
    get_with(&app, &sign(&key(), &claims(&["admin"])))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn tokens_outside_their_lifetime_issuer_or_audience_are_refused() {
    let app = TestApp::spawn_with_signing_key(key(), false).await;
    let now = now();
    let cases = [
        (
            json!({ "exp": now - 3600, "nbf": now - 7200, "iat": now - 7200 }),
            "The access token has expired",
        ),
        (
            json!({ "nbf": now + 3600, "iat": now, "exp": now + 7200 }),
            "The access token is not valid yet",
        ),
        (
            json!({ "iss": "https://evil.example" }),
            "The access token was issued by an unknown issuer",
        ),
        (
            json!({ "aud": "another-api" }),
            "The access token is meant for another audience",
        ),
    ];
    for (changes, description) in cases {
        let mut body = claims(&["admin"]);
        for (k, v) in changes.as_object().expect("an object") {
            body[k] = v.clone();
        }
        assert_invalid_token(&get_with(&app, &sign(&key(), &body)).await, description);
    }
    // A missing required claim.
    for claim in ["exp", "sub", "iss", "aud"] {
        let mut body = claims(&["admin"]);
        body.as_object_mut().expect("an object").remove(claim);
        assert_invalid_token(
            &get_with(&app, &sign(&key(), &body)).await,
            "The access token lacks required claims",
        );
    }
}

#[tokio::test]
async fn a_token_of_a_client_that_does_not_exist_is_refused() {
    let app = TestApp::spawn_with_signing_key(key(), false).await;
    let mut body = claims(&["admin"]);
    body["client_id"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    assert_invalid_token(
        &get_with(&app, &sign(&key(), &body)).await,
        "The access token's client has been revoked",
    );
}

#[tokio::test]
async fn a_revoked_clients_tokens_stop_working_within_the_cache_ttl() {
    let app = TestApp::spawn().await;
    let victim = app
        .server()
        .create_client(
            "victim",
            &["admin".to_owned()],
            &[GrantType::ClientCredentials],
        )
        .await
        .expect("a client is created");
    let credentials = jsonapi_tests::Credentials {
        id: victim.id.clone(),
        secret: victim.secret.expose().to_owned(),
    };
    let token = app.client_token(&credentials).await;
    // Used once: the client is known to be active (and cached as such).
    get_with(&app, &token).await.assert_status(200);

    app.server()
        .revoke_client(&victim.id)
        .await
        .expect("the client is revoked");
    // No new token at once.
    let response = app
        .token_request(
            &json!({ "grant_type": "client_credentials", "client_id": victim.id,
                                "client_secret": credentials.secret }),
        )
        .await;
    response.assert_status(401);
    assert_eq!(response.json()["error"], "invalid_client");
    // The token it holds is refused once the cache entry expires.
    tokio::time::sleep(CACHE_TTL + std::time::Duration::from_secs(1)).await;
    assert_invalid_token(
        &get_with(&app, &token).await,
        "The access token's client has been revoked",
    );
    // Other clients are unaffected.
    app.get("/api/products").await.assert_status(200);
}

#[tokio::test]
async fn a_token_longer_than_the_limit_is_refused_unread() {
    let app = jsonapi_tests::shared_scratch();
    let (header, mut body) = decode(app.token().expect("a token"));
    body["padding"] = json!(b64url(&[b'x'; 9000]));
    let token = assemble(&header, &body, "c2ln");
    assert_invalid_token(
        &get_with(&app, &token).await,
        "The access token is malformed",
    );
}
