use jsonapi_store::{Item, Key, QueryPage, RangeQuery, StoreResult, Write};
use serde_json::json;

use super::*;
use crate::keys::SigningKey;
use crate::test_support::{ISS, Users, fixture, json_request, password_request, refresh_request};

#[tokio::test]
async fn client_credentials_grant_gives_an_access_token_only() {
    let f = fixture().await;
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        f.machine.id,
        f.machine.secret.expose()
    );
    let request =
        TokenRequest::parse(Some("application/x-www-form-urlencoded"), body.as_bytes()).unwrap();
    let response = f.service.exchange(request).await.unwrap();
    let json = response.to_json();
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["expires_in"], 3600);
    assert!(json.get("refresh_token").is_none());
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["token_type", "expires_in", "access_token"]);
    let principal = f
        .verifier
        .verify(json["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(principal.subject, f.machine.id);
    assert_eq!(principal.roles, vec!["integration".to_owned()]);
    assert_eq!(principal.client_id.as_deref(), Some(f.machine.id.as_str()));
}

#[tokio::test]
async fn password_grant_gives_access_and_refresh_tokens() {
    let f = fixture().await;
    let response = f
        .service
        .exchange(password_request(&f, "alice", "wonderland"))
        .await
        .unwrap();
    let json = response.to_json();
    assert!(json["refresh_token"].as_str().unwrap().len() >= 43);
    let principal = f.verifier.verify(response.access_token.expose()).unwrap();
    assert_eq!(principal.subject, "user:1");
    assert_eq!(principal.roles, vec!["editor".to_owned()]);
    assert_eq!(principal.client_id.as_deref(), Some(f.app.id.as_str()));
}

#[tokio::test]
async fn wrong_password_unknown_and_disabled_users_get_the_same_invalid_grant() {
    let f = fixture().await;
    let wrong = f
        .service
        .exchange(password_request(&f, "alice", "nope"))
        .await
        .unwrap_err();
    let unknown = f
        .service
        .exchange(password_request(&f, "bob", "nope"))
        .await
        .unwrap_err();
    f.users.update("1", |u| u.enabled = false);
    let disabled = f
        .service
        .exchange(password_request(&f, "alice", "wonderland"))
        .await
        .unwrap_err();
    for e in [&wrong, &unknown, &disabled] {
        assert_eq!(e.code, ErrorCode::InvalidGrant);
        assert_eq!(e.status(), 400);
        assert_eq!(e.body(), wrong.body());
    }
    let missing = f
        .refused(json!({
            "grant_type": "password", "client_id": f.app.id,
            "client_secret": f.app.secret.expose(), "username": "alice",
        }))
        .await;
    assert_eq!(missing.code, ErrorCode::InvalidRequest);
}

#[tokio::test]
async fn refresh_grant_rotates_and_reuse_revokes_the_family() {
    let f = fixture().await;
    let first = f
        .service
        .exchange(password_request(&f, "alice", "wonderland"))
        .await
        .unwrap();
    let r1 = first.refresh_token.clone().unwrap();
    // (Access tokens are checked against the system clock: stay within the leeway.)
    f.clock.advance(5);
    // Roles changed meanwhile: the refreshed token carries the new ones.
    f.users.update("1", |u| u.roles = vec!["admin".into()]);
    let second = f
        .service
        .exchange(refresh_request(&f, r1.expose()))
        .await
        .unwrap();
    let r2 = second.refresh_token.clone().unwrap();
    assert_ne!(r1.expose(), r2.expose());
    let principal = f.verifier.verify(second.access_token.expose()).unwrap();
    assert_eq!(principal.subject, "user:1");
    assert_eq!(principal.roles, vec!["admin".to_owned()]);

    // r1 is dead; presenting it again revokes r2 too.
    let reuse = f
        .service
        .exchange(refresh_request(&f, r1.expose()))
        .await
        .unwrap_err();
    assert_eq!(reuse.code, ErrorCode::InvalidGrant);
    let after = f
        .service
        .exchange(refresh_request(&f, r2.expose()))
        .await
        .unwrap_err();
    assert_eq!(after.code, ErrorCode::InvalidGrant);

    // A disabled user cannot refresh, and the family dies.
    let fresh = f
        .service
        .exchange(password_request(&f, "alice", "wonderland"))
        .await
        .unwrap()
        .refresh_token
        .unwrap();
    f.users.update("1", |u| u.enabled = false);
    let refused = f
        .service
        .exchange(refresh_request(&f, fresh.expose()))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidGrant);
    f.users.update("1", |u| u.enabled = true);
    assert!(
        f.service
            .exchange(refresh_request(&f, fresh.expose()))
            .await
            .is_err()
    );

    // Expired refresh tokens are refused.
    let old = f
        .service
        .exchange(password_request(&f, "alice", "wonderland"))
        .await
        .unwrap()
        .refresh_token
        .unwrap();
    f.clock.advance(3600 * 24);
    let expired = f
        .service
        .exchange(refresh_request(&f, old.expose()))
        .await
        .unwrap_err();
    assert_eq!(expired.code, ErrorCode::InvalidGrant);
    assert!(expired.description.contains("expired"));
}

#[tokio::test]
async fn a_password_set_after_sign_in_ends_the_refresh_tokens_of_that_sign_in() {
    let f = fixture().await;
    let before = f.sign_in().await;
    // Rotation keeps the sign-in's stamp: the next token of the family still works.
    let rotated = f.refresh(&before).await.unwrap().refresh_token.unwrap();
    // The same password set again still gets a new hash (a new salt): a new stamp.
    let rehashed = Passwords::insecure_fast_for_tests()
        .hash("wonderland")
        .unwrap();
    f.users.update("1", |u| u.password_hash = rehashed);
    let refused = f.refresh(&rotated).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidGrant);
    // A sign-in with the current password starts a family that refreshes.
    let after = f.sign_in().await;
    assert!(f.refresh(&after).await.is_ok());
}

#[tokio::test]
async fn refresh_tokens_are_bound_to_their_client() {
    let f = fixture().await;
    let token = f
        .service
        .exchange(password_request(&f, "alice", "wonderland"))
        .await
        .unwrap()
        .refresh_token
        .unwrap();
    let other = f
        .service
        .clients()
        .create("other", &[], &[GrantType::RefreshToken])
        .await
        .unwrap();
    let e = f
        .refused(json!({
            "grant_type": "refresh_token", "client_id": other.id,
            "client_secret": other.secret.expose(), "refresh_token": token.expose(),
        }))
        .await;
    assert_eq!(e.code, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client_401() {
    let f = fixture().await;
    let cases = [
        json!({"grant_type": "client_credentials"}),
        json!({"grant_type": "client_credentials", "client_id": f.machine.id}),
        json!({"grant_type": "client_credentials", "client_id": f.machine.id, "client_secret": "wrong"}),
        json!({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}),
    ];
    for body in cases {
        let e = f.service.exchange(json_request(&body)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidClient, "{body}");
        assert_eq!(e.status(), 401);
        assert!(e.headers().iter().any(|(h, _)| *h == "WWW-Authenticate"));
        assert_eq!(e.body()["error"], "invalid_client");
    }
    f.service.clients().revoke(&f.machine.id).await.unwrap();
    let e = f
        .refused(json!({
            "grant_type": "client_credentials", "client_id": f.machine.id,
            "client_secret": f.machine.secret.expose(),
        }))
        .await;
    assert_eq!(e.code, ErrorCode::InvalidClient);
}

#[tokio::test]
async fn unknown_missing_and_disallowed_grants() {
    let f = fixture().await;
    let e = f.refused(json!({"grant_type": "implicit"})).await;
    assert_eq!((e.code, e.status()), (ErrorCode::UnsupportedGrantType, 400));
    let e = f.refused(json!({"client_id": "x"})).await;
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    // The machine client may not use the password grant.
    let e = f.refused(json!({
            "grant_type": "password", "client_id": f.machine.id,
            "client_secret": f.machine.secret.expose(), "username": "alice", "password": "wonderland",
        })).await;
    assert_eq!((e.code, e.status()), (ErrorCode::UnauthorizedClient, 400));
    // Nor the refresh grant.
    let e = f
        .refused(json!({
            "grant_type": "refresh_token", "client_id": f.machine.id,
            "client_secret": f.machine.secret.expose(), "refresh_token": "x",
        }))
        .await;
    assert_eq!(e.code, ErrorCode::UnauthorizedClient);
    let e = f
        .refused(json!({
            "grant_type": "refresh_token", "client_id": f.app.id,
            "client_secret": f.app.secret.expose(),
        }))
        .await;
    assert_eq!(e.code, ErrorCode::InvalidRequest);
}

#[tokio::test]
async fn a_password_only_client_gets_no_refresh_token() {
    let f = fixture().await;
    let web = f
        .service
        .clients()
        .create("web", &[], &[GrantType::Password])
        .await
        .unwrap();
    let r = f
        .service
        .exchange(json_request(&json!({
            "grant_type": "password", "client_id": web.id,
            "client_secret": web.secret.expose(), "username": "alice", "password": "wonderland",
        })))
        .await
        .unwrap();
    assert!(r.refresh_token.is_none());
}

#[tokio::test]
async fn brute_force_on_a_client_is_slowed() {
    let f = fixture().await;
    let attempt = |secret: &str| {
        json_request(&json!({
            "grant_type": "client_credentials", "client_id": f.machine.id, "client_secret": secret,
        }))
    };
    for _ in 0..6 {
        let e = f.service.exchange(attempt("guess")).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidClient);
    }
    // Closed now, even for the right secret.
    let e = f
        .service
        .exchange(attempt(f.machine.secret.expose()))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.status(), e.retry_after),
        (ErrorCode::SlowDown, 429, Some(1))
    );
    assert!(e.headers().contains(&("Retry-After", "1".to_owned())));
    f.clock.advance(1);
    assert!(
        f.service
            .exchange(attempt(f.machine.secret.expose()))
            .await
            .is_ok()
    );
    // The success reset the counter.
    for _ in 0..5 {
        f.service.exchange(attempt("guess")).await.unwrap_err();
    }
    assert_eq!(
        f.service.exchange(attempt("guess")).await.unwrap_err().code,
        ErrorCode::InvalidClient
    );
}

#[tokio::test]
async fn brute_force_on_a_username_is_slowed() {
    let f = fixture().await;
    for _ in 0..6 {
        let e = f
            .service
            .exchange(password_request(&f, "alice", "guess"))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant);
    }
    let e = f
        .service
        .exchange(password_request(&f, "Alice", "wonderland"))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::SlowDown);
    // Unknown usernames are counted too (no hint which names exist).
    for _ in 0..6 {
        f.service
            .exchange(password_request(&f, "mallory", "x"))
            .await
            .unwrap_err();
    }
    assert_eq!(
        f.service
            .exchange(password_request(&f, "mallory", "x"))
            .await
            .unwrap_err()
            .code,
        ErrorCode::SlowDown
    );
    f.clock.advance(2);
    assert!(
        f.service
            .exchange(password_request(&f, "alice", "wonderland"))
            .await
            .is_ok()
    );
}

/// A store that is always unavailable.
#[derive(Debug)]
struct Down;

fn down<T>() -> StoreResult<T> {
    Err(StoreError::Unavailable {
        detail: "throttled".into(),
        retry_after: 7,
    })
}

impl Store for Down {
    async fn get(&self, _: &Key) -> StoreResult<Option<Item>> {
        down()
    }
    async fn batch_get(&self, _: &[Key]) -> StoreResult<Vec<Item>> {
        down()
    }
    async fn query(&self, _: &RangeQuery) -> StoreResult<QueryPage> {
        down()
    }
    async fn count(&self, _: &RangeQuery) -> StoreResult<u64> {
        down()
    }
    async fn allocate(&self, _: &Key, _: u64) -> StoreResult<u64> {
        down()
    }
    async fn transact(&self, _: Vec<Write>) -> StoreResult<()> {
        down()
    }
}

#[tokio::test]
async fn an_unavailable_store_is_503_with_retry_after() {
    let signer = TokenSigner::new(SigningKey::hs256(&[3; 32]).unwrap(), ISS, "jsonapi");
    let options = ServiceOptions {
        passwords: Passwords::insecure_fast_for_tests(),
        ..ServiceOptions::default()
    };
    let service = TokenService::new(Arc::new(Down), signer, Users::default(), options);
    let e = service
        .exchange(json_request(&json!({
            "grant_type": "client_credentials", "client_id": "abc", "client_secret": "x",
        })))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.status(), e.retry_after),
        (ErrorCode::TemporarilyUnavailable, 503, Some(7))
    );
}

#[tokio::test]
async fn debug_output_holds_no_secret_hash_or_token() {
    let f = fixture().await;
    let request = password_request(&f, "alice", "wonderland");
    let response = f.service.exchange(request.clone()).await.unwrap();
    let user = f.users.find_by_username("alice").await.unwrap().unwrap();
    let shown = format!(
        "{request:?} {response:?} {user:?} {:?} {:?}",
        f.service, f.app
    );
    for secret in [
        "wonderland",
        f.app.secret.expose(),
        response.access_token.expose(),
        response.refresh_token.as_ref().unwrap().expose(),
        user.password_hash.as_str(),
    ] {
        assert!(!shown.contains(secret), "{secret} leaked in {shown}");
    }
    assert!(!shown.contains("argon2"));
    assert!(shown.contains("alice"), "non-secret fields stay visible");
}
