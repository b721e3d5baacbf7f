//! The token endpoint's logic (`POST /oauth2-token`): [`TokenRequest::parse`] reads the body,
//! [`TokenService::exchange`] runs the grant, and the caller writes either the
//! [`TokenResponse`] (200) or the [`OAuthError`] (its [`OAuthError::status`], body and headers).
//!
//! Grants (RFC 6749): `client_credentials` (subject: the client id, roles: the client's),
//! `password` (subject: `user:{id}`, roles: the user's, plus a refresh token when the client
//! may use the `refresh_token` grant), `authorization_code` (the same for the user who signed
//! in at the authorization endpoint: `crate::code_grant`) and `refresh_token` (rotating; the
//! user is looked up again, so a disabled user cannot refresh and role changes apply).
//!
//! Every grant authenticates the client (`client_id` / `client_secret` in the body, or HTTP
//! Basic through [`TokenRequest::with_authorization`]; a public client by its id alone). Failed
//! client authentications and failed passwords are counted per client id and per username
//! ([`crate::backoff`]); a closed key is answered 429 `slow_down` with `Retry-After`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use std::sync::RwLock;

use jsonapi_store::{Store, StoreError};
use serde_json::{Map, Value};

use crate::authorization::Authorizations;
use crate::backoff::{self, Backoff, BackoffPolicy};
use crate::clients::{ClientAuthError, ClientInfo, ClientStore};
use crate::clock::Clock;
use crate::grant_type::GrantType;
use crate::jwt::TokenSigner;
use crate::keys::SigningKey;
use crate::oauth_error::{ErrorCode, OAuthError};
use crate::password::{PasswordHash, Passwords};
use crate::refresh::{DEFAULT_REFRESH_TTL, IssuedRefresh, RefreshError, RefreshTokens};
use crate::secret::SecretString;
use crate::token_request::TokenRequest;
use crate::util::sha256_b64;

/// A user as the token endpoint needs it.
#[derive(Debug, Clone)]
pub struct User {
    /// The user's id (the token subject is `user:{id}`).
    pub id: String,
    /// The argon2id PHC string of the password.
    pub password_hash: PasswordHash,
    /// Role ids.
    pub roles: Vec<String>,
    /// Whether the user may sign in.
    pub enabled: bool,
}

impl User {
    /// A digest of the stored password hash: it changes whenever the password is set (the hash
    /// has a fresh salt each time, even for the same password), so a refresh token recording
    /// the stamp of its sign-in dies with the password it was got with. Reveals nothing of the
    /// hash.
    pub fn credential_stamp(&self) -> String {
        sha256_b64(self.password_hash.as_str())
    }
}

/// Where users are found; the engine implements it over its `users` type.
pub trait UserDirectory: Send + Sync + 'static {
    /// The user signing in with `username` (the engine decides how names compare).
    fn find_by_username(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// The user with this id (used when a refresh token is presented).
    fn find_by_id(&self, id: &str)
    -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
}

/// A successful answer of the token endpoint.
#[derive(Clone)]
pub struct TokenResponse {
    /// The access token (a JWT).
    pub access_token: SecretString,
    /// Its lifetime in seconds.
    pub expires_in: u64,
    /// The refresh token, for the grants that give one.
    pub refresh_token: Option<SecretString>,
}

impl TokenResponse {
    /// The response headers besides `Content-Type: application/json` (RFC 6749 §5.1).
    pub const HEADERS: [(&'static str, &'static str); 2] =
        [("Cache-Control", "no-store"), ("Pragma", "no-cache")];

    /// The JSON body: `token_type`, `expires_in`, `access_token` and maybe `refresh_token`.
    /// It holds the tokens: send it, never log it.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("token_type".into(), "Bearer".into());
        body.insert("expires_in".into(), self.expires_in.into());
        body.insert("access_token".into(), self.access_token.expose().into());
        if let Some(refresh) = &self.refresh_token {
            body.insert("refresh_token".into(), refresh.expose().into());
        }
        Value::Object(body)
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &self.access_token)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token)
            .finish()
    }
}

/// Settings of a [`TokenService`] besides the signer (which holds the access-token lifetime).
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// Refresh-token lifetime in seconds.
    pub refresh_ttl: u64,
    /// Password (and client-secret) hashing.
    pub passwords: Passwords,
    /// Brute-force back-off.
    pub backoff: BackoffPolicy,
    /// The clock of every expiry (applied to the signer too).
    pub clock: Clock,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        Self {
            refresh_ttl: DEFAULT_REFRESH_TTL,
            passwords: Passwords::default(),
            backoff: BackoffPolicy::default(),
            clock: Clock::system(),
        }
    }
}

/// The token endpoint (and the authorization endpoint's sign-in, `crate::authorize`).
pub struct TokenService<S, U> {
    pub(crate) clients: ClientStore<S>,
    pub(crate) refresh: RefreshTokens<S>,
    pub(crate) backoff: Backoff<S>,
    pub(crate) authorizations: Authorizations<S>,
    /// Replaced when the signing key is rotated ([`TokenService::set_signing_key`]).
    signer: RwLock<TokenSigner>,
    clock: Clock,
    pub(crate) users: U,
    pub(crate) passwords: Passwords,
}

impl<S, U> fmt::Debug for TokenService<S, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenService")
            .field("signer", &self.signer)
            .field("refresh", &self.refresh)
            .field("backoff", &self.backoff)
            .field("passwords", &self.passwords)
            .finish_non_exhaustive()
    }
}

/// Log-safe rendering of an attacker-chosen value.
pub(crate) fn shown(value: &str) -> String {
    value
        .chars()
        .take(64)
        .collect::<String>()
        .escape_debug()
        .to_string()
}

impl<S: Store, U: UserDirectory> TokenService<S, U> {
    /// The token endpoint over `store`, signing with `signer` and finding users in `users`.
    pub fn new(store: Arc<S>, signer: TokenSigner, users: U, options: ServiceOptions) -> Self {
        let clock = options.clock;
        Self {
            clients: ClientStore::new(Arc::clone(&store), options.passwords.clone())
                .with_clock(clock.clone()),
            refresh: RefreshTokens::new(Arc::clone(&store))
                .with_ttl(options.refresh_ttl)
                .with_clock(clock.clone()),
            authorizations: Authorizations::new(Arc::clone(&store)).with_clock(clock.clone()),
            backoff: Backoff::new(store, options.backoff).with_clock(clock.clone()),
            signer: RwLock::new(signer.with_clock(clock.clone())),
            clock,
            users,
            passwords: options.passwords,
        }
    }

    /// The API clients (for the create / list / revoke commands).
    pub fn clients(&self) -> &ClientStore<S> {
        &self.clients
    }

    /// The refresh tokens (for logout / revocation).
    pub fn refresh_tokens(&self) -> &RefreshTokens<S> {
        &self.refresh
    }

    /// The signer of new tokens (a copy: the key may be replaced while it is in use).
    pub fn signer(&self) -> TokenSigner {
        self.signer
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Signs new tokens with `key` from now on (the key was rotated), keeping the issuer,
    /// audience and lifetime.
    pub fn set_signing_key(&self, key: SigningKey) {
        let mut signer = self
            .signer
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *signer = signer.with_key(key).with_clock(self.clock.clone());
    }

    /// Runs a token request.
    ///
    /// # Errors
    /// The RFC 6749 error to answer.
    pub async fn exchange(&self, request: TokenRequest) -> Result<TokenResponse, OAuthError> {
        let Some(grant_name) = request.grant_type.as_deref() else {
            return Err(OAuthError::invalid_request(
                "The grant_type parameter is required",
            ));
        };
        let Some(grant) = GrantType::parse(grant_name) else {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "The grant type \"{}\" is not supported; use {}",
                    shown(grant_name),
                    GrantType::names()
                ),
            ));
        };
        let client = self.authenticate_client(&request).await?;
        if !client.allows(grant) {
            tracing::info!(client_id = %client.id, %grant, "grant not allowed for this client");
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("This client may not use the {grant} grant"),
            ));
        }
        let response = match grant {
            GrantType::ClientCredentials => self.client_credentials(&client),
            GrantType::Password => self.password(&client, &request).await,
            GrantType::RefreshToken => self.refresh_token(&client, &request).await,
            GrantType::AuthorizationCode => self.authorization_code(&client, &request).await,
        }?;
        tracing::info!(client_id = %client.id, %grant, "token issued");
        Ok(response)
    }

    /// The client of a request: a confidential client by its secret (failures counted per
    /// client id), a public client by its id alone (it has no secret to guess).
    async fn authenticate_client(&self, request: &TokenRequest) -> Result<ClientInfo, OAuthError> {
        let Some(id) = &request.client_id else {
            return Err(OAuthError::invalid_client());
        };
        let Some(secret) = &request.client_secret else {
            return match self.clients.authenticate(id, None).await {
                Ok(client) => Ok(client),
                Err(ClientAuthError::Store(e)) => Err(OAuthError::from_store(&e)),
                Err(reason) => {
                    tracing::warn!(client_id = %shown(id), %reason, "client authentication failed");
                    Err(OAuthError::invalid_client())
                }
            };
        };
        let key = backoff::client_key(id);
        self.backoff
            .check(&key)
            .await
            .map_err(OAuthError::slow_down)?;
        match self.clients.authenticate(id, Some(secret.expose())).await {
            Ok(client) => {
                self.backoff.record_success(&key).await;
                Ok(client)
            }
            Err(ClientAuthError::Store(e)) => Err(OAuthError::from_store(&e)),
            Err(reason) => {
                let wait = self.backoff.record_failure(&key).await;
                tracing::warn!(client_id = %shown(id), %reason, wait, "client authentication failed");
                Err(OAuthError::invalid_client())
            }
        }
    }

    pub(crate) fn sign(
        &self,
        subject: &str,
        roles: &[String],
        client: &ClientInfo,
        refresh: Option<IssuedRefresh>,
    ) -> Result<TokenResponse, OAuthError> {
        let access = self
            .signer()
            .sign(subject, roles, Some(&client.id))
            .map_err(|e| {
                tracing::error!(error = %e, "access token signing failed");
                OAuthError::server_error()
            })?;
        Ok(TokenResponse {
            access_token: access.token,
            expires_in: access.expires_in,
            refresh_token: refresh.map(|r| r.token),
        })
    }

    fn client_credentials(&self, client: &ClientInfo) -> Result<TokenResponse, OAuthError> {
        self.sign(&client.id, &client.roles, client, None)
    }

    async fn password(
        &self,
        client: &ClientInfo,
        request: &TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        let (Some(username), Some(password)) = (&request.username, &request.password) else {
            return Err(OAuthError::invalid_request(
                "The username and password parameters are required",
            ));
        };
        let user = self.sign_in(username, password.expose()).await?;
        self.user_tokens(client, &user).await
    }

    async fn refresh_token(
        &self,
        client: &ClientInfo,
        request: &TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        let Some(token) = &request.refresh_token else {
            return Err(OAuthError::invalid_request(
                "The refresh_token parameter is required",
            ));
        };
        let rotated = self
            .refresh
            .rotate(token.expose(), &client.id)
            .await
            .map_err(|e| refresh_error(&e))?;
        let roles = match rotated.subject.strip_prefix("user:") {
            Some(user_id) => {
                // A password set since the sign-in ends the family: whoever knew the old password
                // keeps no way back in.
                let user = self
                    .active_user(user_id, rotated.stamp.as_deref())
                    .await
                    .map_err(|e| OAuthError::from_store(&e))?;
                let Some(user) = user else {
                    self.refresh
                        .revoke_family(&rotated.token.family)
                        .await
                        .map_err(|e| refresh_error(&e))?;
                    tracing::warn!(client_id = %client.id, "refresh refused: user gone, disabled or password changed");
                    return Err(OAuthError::invalid_grant("The refresh token is invalid"));
                };
                user.roles
            }
            None => rotated.roles,
        };
        self.sign(&rotated.subject, &roles, client, Some(rotated.token))
    }
}

pub(crate) fn refresh_error(e: &RefreshError) -> OAuthError {
    match e {
        RefreshError::Store(e) => OAuthError::from_store(e),
        reason => {
            tracing::warn!(%reason, "refresh token refused");
            match reason {
                RefreshError::Expired => OAuthError::invalid_grant("The refresh token has expired"),
                _ => OAuthError::invalid_grant("The refresh token is invalid"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use jsonapi_store::{Item, Key, QueryPage, RangeQuery, StoreResult, Write};
    use serde_json::json;

    use super::*;
    use crate::keys::SigningKey;
    use crate::test_support::{
        ISS, Users, fixture, json_request, password_request, refresh_request,
    };

    #[tokio::test]
    async fn client_credentials_grant_gives_an_access_token_only() {
        let f = fixture().await;
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            f.machine.id,
            f.machine.secret.expose()
        );
        let request =
            TokenRequest::parse(Some("application/x-www-form-urlencoded"), body.as_bytes())
                .unwrap();
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
}
