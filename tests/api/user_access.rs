//! A user's access tokens follow the user (Oro §12.2 with the revocation bound of a client):
//! disabling, deleting or stripping a user ends what its tokens may do within the time the
//! server trusts a user's state (5 s; these servers are started with a shorter one, except the
//! test of the real bound), re-enabling restores it, and a new password ends the refresh tokens
//! got with the old one.

use std::time::Duration;

use jsonapi_engine::auth::CACHE_TTL;
use jsonapi_tests::values::id_of;
use jsonapi_tests::{
    ApiClient, Source, TestApp, TestResponse, Value, assert_error, json, resource_doc, to_many,
};

/// What these servers trust a user's state for.
const TTL: Duration = Duration::from_millis(300);

/// A user of the example domain with these roles (password `hopper-1906`), signed in through
/// the development client: its id, a client holding its access token, and its refresh token.
pub(crate) async fn signed_in(
    app: &TestApp,
    username: &str,
    roles: &[&str],
) -> (String, ApiClient, String) {
    let user = app
        .create(
            "users",
            json!({ "username": username, "email": format!("{username}@example.com"),
                    "password": "hopper-1906" }),
            json!({ "roles": to_many("roles", roles) }),
        )
        .await;
    let id = id_of(&user).to_owned();
    let response = app.token_request(&password_grant(app, username)).await;
    response.assert_status(200);
    let token = response.json()["access_token"].as_str().expect("a token");
    let refresh = response.json()["refresh_token"]
        .as_str()
        .expect("a refresh token");
    (id, app.with_token(Some(token)), refresh.to_owned())
}

fn password_grant(app: &TestApp, username: &str) -> Value {
    let client = app.dev_client();
    json!({ "grant_type": "password", "client_id": client.id, "client_secret": client.secret,
            "username": username, "password": "hopper-1906" })
}

/// The refresh grant of `refresh_token` through the development client.
async fn refreshed(app: &TestApp, refresh_token: &str) -> TestResponse {
    let client = app.dev_client();
    app.token_request(
        &json!({ "grant_type": "refresh_token", "client_id": client.id,
                               "client_secret": client.secret, "refresh_token": refresh_token }),
    )
    .await
}

fn product(sku: &str) -> Value {
    resource_doc(
        "products",
        None,
        json!({ "sku": sku, "name": "Tea", "price": "4.50" }),
        json!({}),
    )
}

/// `PATCH /api/users/{id}` of `enabled`, by the development client (an admin).
async fn set_enabled(app: &TestApp, id: &str, enabled: bool) {
    let body = resource_doc("users", Some(id), json!({ "enabled": enabled }), json!({}));
    app.patch(&format!("/api/users/{id}"), &body)
        .await
        .assert_status(200);
}

/// Waits until the server no longer trusts what it read about the user.
async fn past_the_ttl() {
    tokio::time::sleep(TTL + Duration::from_millis(200)).await;
}

/// The 401 of a token whose user is gone or disabled.
fn assert_user_inactive(response: &TestResponse) {
    let error = assert_error(response, 401, "authentication exception", Source::Absent);
    assert_eq!(
        error["detail"],
        "The access token's user has been disabled or deleted.",
        "{}",
        response.describe()
    );
    assert_eq!(
        response.header("www-authenticate"),
        Some(
            "Bearer error=\"invalid_token\", error_description=\"The access token's user has been disabled or deleted\""
        ),
        "{}",
        response.describe()
    );
}

async fn product_count(app: &TestApp) -> usize {
    app.list_all("products").await.len()
}

#[tokio::test]
async fn a_disabled_users_token_is_refused_and_creates_nothing() {
    let app = TestApp::spawn_with_auth_cache_ttl(TTL, true).await;
    let (id, user, refresh) = signed_in(&app, "grace", &["editor"]).await;
    user.post("/api/products", &product("GRACE-1"))
        .await
        .assert_status(201);
    let before = product_count(&app).await;

    set_enabled(&app, &id, false).await;
    past_the_ttl().await;

    assert_user_inactive(&user.get("/api/products").await);
    assert_user_inactive(&user.post("/api/products", &product("GRACE-2")).await);
    assert_eq!(product_count(&app).await, before, "nothing was created");
    // The refresh token is refused too, and the development client is unaffected.
    assert_eq!(
        refreshed(&app, &refresh).await.json()["error"],
        "invalid_grant"
    );
    app.get("/api/products").await.assert_status(200);
}

#[tokio::test]
async fn a_re_enabled_users_token_works_again() {
    let app = TestApp::spawn_with_auth_cache_ttl(TTL, true).await;
    let (id, user, _) = signed_in(&app, "grace", &["viewer"]).await;
    set_enabled(&app, &id, false).await;
    past_the_ttl().await;
    assert_user_inactive(&user.get("/api/products/1").await);

    set_enabled(&app, &id, true).await;
    past_the_ttl().await;
    user.get("/api/products/1").await.assert_status(200);
}

#[tokio::test]
async fn a_deleted_users_token_is_refused() {
    let app = TestApp::spawn_with_auth_cache_ttl(TTL, true).await;
    let (id, user, refresh) = signed_in(&app, "grace", &["editor"]).await;
    user.get("/api/products/1").await.assert_status(200);

    app.delete(&format!("/api/users/{id}"))
        .await
        .assert_status(204);
    past_the_ttl().await;

    assert_user_inactive(&user.get("/api/products/1").await);
    assert_user_inactive(&user.post("/api/products", &product("GONE-1")).await);
    let response = refreshed(&app, &refresh).await;
    response.assert_status(400);
    assert_eq!(response.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn a_users_tokens_follow_its_current_roles_not_those_they_name() {
    let app = TestApp::spawn_with_auth_cache_ttl(TTL, true).await;
    let (id, user, _) = signed_in(&app, "grace", &["editor"]).await;
    user.post("/api/products", &product("ROLES-1"))
        .await
        .assert_status(201);

    // Stripped of every role: authenticated, allowed nothing.
    let roles = |ids: &[&str]| json!({ "data": ids.iter().map(|r| json!({"type": "roles", "id": r})).collect::<Vec<_>>() });
    app.patch(&format!("/api/users/{id}/relationships/roles"), &roles(&[]))
        .await
        .assert_status(204);
    past_the_ttl().await;
    assert_error(
        &user.post("/api/products", &product("ROLES-2")).await,
        403,
        "access denied exception",
        Source::Absent,
    );
    assert_error(
        &user.get("/api/products").await,
        403,
        "access denied exception",
        Source::Absent,
    );

    // Given the viewer role: reads, and still cannot create.
    app.patch(
        &format!("/api/users/{id}/relationships/roles"),
        &roles(&["viewer"]),
    )
    .await
    .assert_status(204);
    past_the_ttl().await;
    user.get("/api/products").await.assert_status(200);
    assert_error(
        &user.post("/api/products", &product("ROLES-3")).await,
        403,
        "access denied exception",
        Source::Absent,
    );
}

#[tokio::test]
async fn at_the_default_ttl_a_disabled_users_access_ends_within_five_seconds() {
    let app = TestApp::spawn_seeded().await;
    let (id, user, _) = signed_in(&app, "grace", &["viewer"]).await;
    // The state is read (and trusted from now on) by a first use of the token.
    user.get("/api/products/1").await.assert_status(200);

    set_enabled(&app, &id, false).await;
    // What the server read about the user before is stale 5 s after it was read, so 5 s after
    // the user was disabled at the latest.
    tokio::time::sleep(CACHE_TTL).await;
    assert_user_inactive(&user.get("/api/products/1").await);
}

#[tokio::test]
async fn a_new_password_ends_the_refresh_tokens_of_the_old_one() {
    let app = TestApp::spawn_with_auth_cache_ttl(TTL, true).await;
    let (id, user, refresh) = signed_in(&app, "grace", &["viewer"]).await;
    let body = resource_doc(
        "users",
        Some(&id),
        json!({ "password": "lovelace-1815" }),
        json!({}),
    );
    app.patch(&format!("/api/users/{id}"), &body)
        .await
        .assert_status(200);

    let response = refreshed(&app, &refresh).await;
    response.assert_status(400);
    assert_eq!(response.json()["error"], "invalid_grant");
    // The access token lives on until it expires (the user is still enabled); signing in
    // takes the new password.
    user.get("/api/products/1").await.assert_status(200);
    let old = app.token_request(&password_grant(&app, "grace")).await;
    assert_eq!(old.json()["error"], "invalid_grant");
}
