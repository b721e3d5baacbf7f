//! The token endpoint `POST /oauth2-token` (Oro §12.2; acceptance rows 87, 88): the client
//! credentials, password and refresh token grants, client authentication in the body or with
//! HTTP Basic, RFC 6749 errors in plain JSON, rotation and reuse detection of refresh tokens,
//! the back-off on repeated failures, disabled users; and the JWKS document.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonapi_auth::GrantType;
use jsonapi_tests::tokens::decode;
use jsonapi_tests::values::id_of;
use jsonapi_tests::{
    ApiClient, Credentials, JWKS_PATH, Method, TOKEN_PATH, TestApp, TestResponse, Value, json,
};

/// The seed data's user and password.
const ADMIN: (&str, &str) = ("admin", "change-me");

/// `POST /oauth2-token` of a form body, with extra headers.
async fn form(api: &ApiClient, pairs: &[(&str, &str)], headers: &[(&str, &str)]) -> TestResponse {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    api.anonymous()
        .request(Method::POST, TOKEN_PATH, &all, Some(&body))
        .await
}

fn password_body(client: &Credentials, username: &str, password: &str) -> Value {
    json!({
        "grant_type": "password",
        "client_id": client.id,
        "client_secret": client.secret,
        "username": username,
        "password": password,
    })
}

fn refresh_body(client: &Credentials, refresh_token: &str) -> Value {
    json!({
        "grant_type": "refresh_token",
        "client_id": client.id,
        "client_secret": client.secret,
        "refresh_token": refresh_token,
    })
}

/// Asserts a successful token answer (200, `Bearer`, an hour, never cached) and returns it.
fn assert_token(response: &TestResponse) -> &Value {
    response.assert_status(200);
    let body = response.json();
    assert_eq!(body["token_type"], "Bearer", "{}", response.describe());
    assert_eq!(body["expires_in"], 3600, "{}", response.describe());
    assert!(
        body["access_token"].as_str().is_some_and(|t| !t.is_empty()),
        "{}",
        response.describe()
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
    assert_eq!(response.header("content-type"), Some("application/json"));
    body
}

/// Asserts an RFC 6749 error answer: this status and `error` code, never cached, no token.
fn assert_oauth_error(response: &TestResponse, status: u16, code: &str) {
    response.assert_status(status);
    assert_eq!(
        response.json()["error"],
        code,
        "{}\nexpected the error {code}",
        response.describe()
    );
    assert!(
        response.json()["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{}",
        response.describe()
    );
    assert!(response.json().get("access_token").is_none());
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

fn access_token(response: &TestResponse) -> String {
    assert_token(response)["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

fn refresh_token(response: &TestResponse) -> String {
    assert_token(response)["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{}\nexpected a refresh_token", response.describe()))
        .to_owned()
}

#[tokio::test]
async fn client_credentials_in_a_json_body_give_an_hour_long_bearer_token() {
    let app = TestApp::spawn().await;
    let client = app.dev_client();
    let response = app
        .token_request(&json!({
            "grant_type": "client_credentials",
            "client_id": client.id,
            "client_secret": client.secret,
        }))
        .await;
    let body = assert_token(&response);
    assert!(
        body.get("refresh_token").is_none(),
        "client credentials get no refresh token: {body}"
    );
    let token = body["access_token"].as_str().expect("a token");
    let (header, claims) = decode(token);
    assert_eq!(header["alg"], "ES256", "{header}");
    assert!(header["kid"].is_string(), "{header}");
    assert_eq!(claims["iss"], "jsonapi");
    assert_eq!(claims["aud"], "jsonapi");
    assert_eq!(claims["sub"], client.id.as_str());
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(claims["roles"], json!(["admin"]));
    let (iat, exp) = (claims["iat"].as_u64(), claims["exp"].as_u64());
    assert_eq!(exp.zip(iat).map(|(e, i)| e - i), Some(3600), "{claims}");
    let now = jsonapi_tests::tokens::now();
    assert!(iat.is_some_and(|i| i.abs_diff(now) <= 60), "{claims}");

    // The token opens the API.
    let api = app.with_token(Some(token));
    api.get("/api/products").await.assert_status(200);
    api.create("categories", json!({ "name": "With a token" }), json!({}))
        .await;
}

#[tokio::test]
async fn client_credentials_in_a_form_body_or_with_http_basic_work_too() {
    let app = TestApp::spawn().await;
    let client = app.dev_client();
    let response = form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &client.secret),
        ],
        &[],
    )
    .await;
    let token = access_token(&response);
    app.with_token(Some(&token))
        .get("/api/products")
        .await
        .assert_status(200);

    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", client.id, client.secret))
    );
    let response = form(
        &app,
        &[("grant_type", "client_credentials")],
        &[("Authorization", &basic)],
    )
    .await;
    let token = access_token(&response);
    assert_eq!(decode(&token).1["client_id"], client.id.as_str());
    app.with_token(Some(&token))
        .get("/api/products")
        .await
        .assert_status(200);

    // Basic and a JSON body together.
    let response = app
        .anonymous()
        .request(
            Method::POST,
            TOKEN_PATH,
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &basic),
            ],
            Some(r#"{"grant_type":"client_credentials"}"#),
        )
        .await;
    assert_token(&response);

    // Two ways of authenticating the client at once are refused.
    let response = form(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &client.secret),
        ],
        &[("Authorization", &basic)],
    )
    .await;
    assert_oauth_error(&response, 400, "invalid_request");
}

#[tokio::test]
async fn the_password_grant_signs_a_user_in_with_a_refresh_token() {
    let app = TestApp::spawn_seeded().await;
    let client = app.dev_client();
    let response = app
        .token_request(&password_body(client, ADMIN.0, ADMIN.1))
        .await;
    let refresh = refresh_token(&response);
    assert!(refresh.len() >= 32, "an opaque random refresh token");
    let token = access_token(&response);
    let (_, claims) = decode(&token);
    let users = app.get("/api/users?filter[username]=admin").await;
    users.assert_status(200);
    let admin_id = id_of(&users.items()[0]).to_owned();
    assert_eq!(claims["sub"], format!("user:{admin_id}"));
    assert_eq!(claims["roles"], json!(["admin"]), "the user's roles");
    assert_eq!(claims["client_id"], client.id.as_str());
    app.with_token(Some(&token))
        .get("/api/users")
        .await
        .assert_status(200);

    // A wrong password and an unknown user get the same answer.
    let wrong = app
        .token_request(&password_body(client, ADMIN.0, "not-the-password"))
        .await;
    assert_oauth_error(&wrong, 400, "invalid_grant");
    let unknown = app
        .token_request(&password_body(client, "nobody", ADMIN.1))
        .await;
    assert_oauth_error(&unknown, 400, "invalid_grant");
    assert_eq!(
        wrong.json()["error_description"],
        unknown.json()["error_description"]
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replayed_one_revokes_its_family() {
    let app = TestApp::spawn_seeded().await;
    let client = app.dev_client();
    let first = refresh_token(
        &app.token_request(&password_body(client, ADMIN.0, ADMIN.1))
            .await,
    );

    // Using a refresh token gives a new access token and a new refresh token.
    let response = app.token_request(&refresh_body(client, &first)).await;
    let second = refresh_token(&response);
    assert_ne!(second, first);
    let token = access_token(&response);
    assert_eq!(decode(&token).1["roles"], json!(["admin"]));
    app.with_token(Some(&token))
        .get("/api/products")
        .await
        .assert_status(200);
    let third = refresh_token(&app.token_request(&refresh_body(client, &second)).await);

    // The used one is dead, and presenting it kills the family: the newest one fails too.
    let replay = app.token_request(&refresh_body(client, &first)).await;
    assert_oauth_error(&replay, 400, "invalid_grant");
    let newest = app.token_request(&refresh_body(client, &third)).await;
    assert_oauth_error(&newest, 400, "invalid_grant");

    // Signing in again starts a new family.
    let again = refresh_token(
        &app.token_request(&password_body(client, ADMIN.0, ADMIN.1))
            .await,
    );
    refresh_token(&app.token_request(&refresh_body(client, &again)).await);

    // A made-up refresh token is just invalid.
    let made_up = app
        .token_request(&refresh_body(client, "bm90LWEtcmVhbC1yZWZyZXNoLXRva2Vu"))
        .await;
    assert_oauth_error(&made_up, 400, "invalid_grant");
}

#[tokio::test]
async fn a_refresh_token_works_only_for_the_client_it_was_issued_to() {
    let app = TestApp::spawn_seeded().await;
    let client = app.dev_client();
    let refresh = refresh_token(
        &app.token_request(&password_body(client, ADMIN.0, ADMIN.1))
            .await,
    );
    let other = app
        .server()
        .create_client(
            "other app",
            &[],
            &[GrantType::Password, GrantType::RefreshToken],
        )
        .await
        .expect("a client is created");
    let other = Credentials {
        id: other.id,
        secret: other.secret.expose().to_owned(),
    };
    let stolen = app.token_request(&refresh_body(&other, &refresh)).await;
    assert_oauth_error(&stolen, 400, "invalid_grant");
    // Presenting it from another client revokes the family for its owner too.
    let owner = app.token_request(&refresh_body(client, &refresh)).await;
    assert_oauth_error(&owner, 400, "invalid_grant");
}

#[tokio::test]
async fn client_authentication_failures_are_401_invalid_client() {
    let app = TestApp::spawn().await;
    let client = app.dev_client();
    for (id, secret) in [
        (client.id.as_str(), "the-wrong-secret"),
        ("no-such-client-id-1234", client.secret.as_str()),
    ] {
        let response = app
            .token_request(&json!({
                "grant_type": "client_credentials", "client_id": id, "client_secret": secret,
            }))
            .await;
        assert_oauth_error(&response, 401, "invalid_client");
        assert_eq!(
            response.header("www-authenticate"),
            Some("Basic realm=\"oauth2-token\""),
            "{}",
            response.describe()
        );
    }
    // No client credentials at all.
    let response = app
        .token_request(&json!({ "grant_type": "client_credentials" }))
        .await;
    assert_oauth_error(&response, 401, "invalid_client");
}

#[tokio::test]
async fn malformed_token_requests_are_400_with_the_rfc_6749_code() {
    let app = TestApp::spawn().await;
    let client = app.dev_client();
    let with = |extra: Value| {
        let mut body = json!({ "client_id": client.id, "client_secret": client.secret });
        for (k, v) in extra.as_object().expect("an object") {
            body[k] = v.clone();
        }
        body
    };
    // An unknown grant (the implicit grant is not offered).
    for grant in ["magic", "implicit"] {
        let response = app
            .token_request(&with(json!({ "grant_type": grant })))
            .await;
        assert_oauth_error(&response, 400, "unsupported_grant_type");
    }
    // Missing parameters.
    for body in [
        with(json!({})),
        with(json!({ "grant_type": "password", "username": "admin" })),
        with(json!({ "grant_type": "password", "password": "x" })),
        with(json!({ "grant_type": "refresh_token" })),
    ] {
        let response = app.token_request(&body).await;
        assert_oauth_error(&response, 400, "invalid_request");
    }
    // A parameter that is not a string, a body that is not an object, another media type,
    // a repeated parameter.
    let response = app
        .token_request(&with(json!({ "grant_type": ["client_credentials"] })))
        .await;
    assert_oauth_error(&response, 400, "invalid_request");
    for (content_type, body) in [
        ("application/json", r#"["grant_type"]"#),
        ("application/json", "{not json"),
        ("text/plain", "grant_type=client_credentials"),
        (
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&grant_type=password",
        ),
    ] {
        let response = app
            .anonymous()
            .request(
                Method::POST,
                TOKEN_PATH,
                &[("Content-Type", content_type)],
                Some(body),
            )
            .await;
        assert_oauth_error(&response, 400, "invalid_request");
    }
    // A grant the client may not use.
    let machine = app
        .server()
        .create_client("machine", &[], &[GrantType::ClientCredentials])
        .await
        .expect("a client is created");
    let response = app
        .token_request(&json!({
            "grant_type": "password", "client_id": machine.id,
            "client_secret": machine.secret.expose(), "username": "admin", "password": "x",
        }))
        .await;
    assert_oauth_error(&response, 400, "unauthorized_client");
}

#[tokio::test]
async fn the_token_endpoint_answers_post_only() {
    let app = TestApp::spawn().await;
    let response = app.anonymous().get(TOKEN_PATH).await;
    response.assert_status(405);
    assert_eq!(response.allow(), ["OPTIONS", "POST"]);
    let response = app.anonymous().options(TOKEN_PATH).await;
    response.assert_status(200);
    assert_eq!(response.allow(), ["OPTIONS", "POST"]);
}

/// The back-off's failures in a row that cost no wait (`BackoffPolicy::default`).
const FREE_FAILURES: usize = 5;

/// Sends a failing request until the back-off answers `slow_down` and that answer leaves at
/// least a second to wait (so that the next request surely falls in it); returns that answer.
async fn fail_until_slowed(app: &TestApp, body: &Value) -> TestResponse {
    for _ in 0..50 {
        let response = app.token_request(body).await;
        if response.status.as_u16() != 429 {
            assert!(
                matches!(response.status.as_u16(), 400 | 401),
                "{}",
                response.describe()
            );
            continue;
        }
        if assert_slow_down(&response) >= 2 {
            return response;
        }
        // Closed for less than two seconds: let it open, the next failure doubles the wait.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    panic!("50 failures in a row were never slowed down for 2 s");
}

/// Asserts a `slow_down` answer and returns its `Retry-After` seconds.
fn assert_slow_down(response: &TestResponse) -> u64 {
    assert_oauth_error(response, 429, "slow_down");
    let retry = response
        .header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{}\nexpected Retry-After seconds", response.describe()));
    assert!((1..=300).contains(&retry), "Retry-After {retry}");
    retry
}

#[tokio::test]
async fn repeated_failures_are_slowed_down_per_client_and_per_username() {
    let app = TestApp::spawn_seeded().await;
    let client = app.dev_client();
    // A client: five failures are free, then each one closes the client for a while
    // (1 s, 2 s, 4 s, ...): meanwhile even the right secret gets 429 slow_down.
    let wrong = json!({ "grant_type": "client_credentials", "client_id": client.id,
                        "client_secret": "guessing" });
    // The sixth failure is answered as such too; it is the first one that closes the client.
    for _ in 0..=FREE_FAILURES {
        let response = app.token_request(&wrong).await;
        assert_oauth_error(&response, 401, "invalid_client");
    }
    fail_until_slowed(&app, &wrong).await;
    let right = json!({ "grant_type": "client_credentials", "client_id": client.id,
                        "client_secret": client.secret });
    assert_slow_down(&app.token_request(&right).await);

    // A username is counted on its own (with another client).
    let other = app
        .server()
        .create_client("web", &[], &[GrantType::Password])
        .await
        .expect("a client is created");
    let other = Credentials {
        id: other.id,
        secret: other.secret.expose().to_owned(),
    };
    let guess = password_body(&other, ADMIN.0, "guess");
    for _ in 0..=FREE_FAILURES {
        let response = app.token_request(&guess).await;
        assert_oauth_error(&response, 400, "invalid_grant");
    }
    fail_until_slowed(&app, &guess).await;
    assert_slow_down(
        &app.token_request(&password_body(&other, ADMIN.0, ADMIN.1))
            .await,
    );
    // Another username with the same client is not slowed.
    let response = app
        .token_request(&password_body(&other, "someone-else", "guess"))
        .await;
    assert_oauth_error(&response, 400, "invalid_grant");
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_nor_refresh() {
    let app = TestApp::spawn_seeded().await;
    let client = app.dev_client();
    let user = app
        .create(
            "users",
            json!({ "username": "grace", "email": "grace@example.com", "password": "hopper-1906",
                    "enabled": false }),
            json!({ "roles": jsonapi_tests::to_many("roles", &["viewer"]) }),
        )
        .await;
    let id = id_of(&user).to_owned();
    let response = app
        .token_request(&password_body(client, "grace", "hopper-1906"))
        .await;
    assert_oauth_error(&response, 400, "invalid_grant");

    let enable = |enabled: bool| json!({ "data": { "type": "users", "id": id, "attributes": { "enabled": enabled } } });
    app.patch(&format!("/api/users/{id}"), &enable(true))
        .await
        .assert_status(200);
    let response = app
        .token_request(&password_body(client, "grace", "hopper-1906"))
        .await;
    let refresh = refresh_token(&response);
    assert_eq!(
        decode(&access_token(&response)).1["roles"],
        json!(["viewer"])
    );

    // Disabled again: the refresh token is refused.
    app.patch(&format!("/api/users/{id}"), &enable(false))
        .await
        .assert_status(200);
    let response = app.token_request(&refresh_body(client, &refresh)).await;
    assert_oauth_error(&response, 400, "invalid_grant");
}

#[tokio::test]
async fn the_jwks_document_publishes_the_public_key_only() {
    let app = TestApp::spawn().await;
    let response = app.anonymous().get(JWKS_PATH).await;
    response.assert_status(200);
    assert_eq!(
        response.header("cache-control"),
        Some("public, max-age=300"),
        "{}",
        response.describe()
    );
    let keys = response.json()["keys"].as_array().expect("a keys array");
    assert_eq!(keys.len(), 1, "{}", response.describe());
    let key = &keys[0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["alg"], "ES256");
    assert!(key["x"].is_string() && key["y"].is_string(), "{key}");
    assert!(
        key.get("d").is_none(),
        "the private key is published: {key}"
    );
    // It is the key of the tokens.
    let (header, _) = decode(app.token().expect("a token"));
    assert_eq!(header["kid"], key["kid"]);
    // A restart keeps the key (it lives in the store), and the token with it.
    let mut app = app;
    app.restart().await;
    let again = app.anonymous().get(JWKS_PATH).await;
    assert_eq!(again.json()["keys"], response.json()["keys"]);
    app.get("/api/products").await.assert_status(200);
}
