//! Who is calling and what they may do: the bearer check of every API route, role permissions,
//! the token endpoint and its signing key.
//!
//! - `access`: [`Access`], the permissions one request runs with, and the 401 / 403 refusals.
//! - `users`: the users type as the password grant's user directory.
//! - `endpoint`: `POST /oauth2-token` and `GET /.well-known/jwks.json`.
//! - `authorize`, `pages`: `GET` / `POST /oauth2-token/authorize`, the browser's sign-in and
//!   consent pages of the authorization code grant.
//! - `keys`: the signing key and the verifier of bearer tokens, built on first use; what
//!   verifies never reads the private key ([`jsonapi_auth::stored_keys`]).
//!
//! Access tokens are JWTs that name their client and, for a user's, the user (`sub`
//! `user:{id}`). What a token may do is decided when it is used, from state read from the store
//! and trusted for [`CACHE_TTL`]: the client must not be revoked, the user must still exist and
//! be enabled, and the roles are the user's current ones (a client's are its own), with what
//! each role allows read from the roles type. Editing a role, revoking a client, disabling,
//! deleting or stripping a user therefore take effect within seconds instead of when tokens
//! expire, while a token used again within that time costs one hash and one map lookup.

pub(crate) mod access;
mod authorize;
mod endpoint;
mod keys;
mod pages;
mod users;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::AUTHORIZATION;
use jsonapi_auth::{
    ClientStore, Grants, Passwords, Permission, RolePermissions, SigningKey, TokenError,
    TokenService, UserDirectory as _, Verifier,
};
use jsonapi_store::Store;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use crate::routing::{AUTHORIZE_PATH, JWKS_PATH, TOKEN_PATH};
pub(crate) use access::{Access, Refusal};
use users::Users;

use crate::engine::Engine;
use crate::error::{ApiError, ApiResult};
use crate::request::ApiRequest;

/// How long role permissions, client revocations and users' states are trusted before being
/// read again (the default; [`Engine::with_auth_cache_ttl`] changes it).
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// The authentication state of an engine.
pub(crate) struct Auth<S> {
    /// A key given by the deployment; without one, the key kept in the store is used.
    pub(crate) key: Option<SigningKey>,
    pub(crate) passwords: Passwords,
    /// Checks bearer tokens with public keys only; built on first use.
    verifier: tokio::sync::OnceCell<Verifier<S>>,
    /// The token and authorization endpoints, holding the private key; built on first use.
    service: tokio::sync::OnceCell<TokenService<S, Users<S>>>,
    /// When the stored private key was last read, to follow a rotation.
    key_read: Mutex<Option<Instant>>,
    /// The API clients (no key needed).
    clients_store: std::sync::OnceLock<ClientStore<S>>,
    roles: Cache<RolePermissions>,
    clients: Cache<bool>,
    /// Users' roles by user id; `None` for a user deleted or disabled.
    users: Cache<Option<Vec<String>>>,
    /// What a verified token may do, by the token's SHA-256: a token used again skips the
    /// signature check and the lookups until the first of its expiry and `ttl` after the
    /// oldest role, client or user state it was built from.
    verified: Cache<Arc<Access>>,
    /// How long states read from the store are trusted ([`CACHE_TTL`] unless changed).
    ttl: Duration,
    /// The grants of a caller without a token.
    anonymous: std::sync::OnceLock<Arc<Access>>,
}

impl<S> std::fmt::Debug for Auth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl<S> Auth<S> {
    pub(crate) fn new(passwords: Passwords) -> Self {
        Self {
            key: None,
            passwords,
            verifier: tokio::sync::OnceCell::new(),
            service: tokio::sync::OnceCell::new(),
            key_read: Mutex::new(None),
            clients_store: std::sync::OnceLock::new(),
            roles: Cache::default(),
            clients: Cache::default(),
            users: Cache::default(),
            verified: Cache::default(),
            ttl: CACHE_TTL,
            anonymous: std::sync::OnceLock::new(),
        }
    }
}

/// Values trusted until an instant (for the cache TTL after they were read from the store).
struct Cache<V> {
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V> Default for Cache<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Cache<V> {
    /// The value and until when it may be trusted.
    fn get(&self, key: &str) -> Option<(Instant, V)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(until, _)| Instant::now() < *until)
            .cloned()
    }

    fn put(&self, key: String, value: V, until: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Forget stale entries now and then so the map stays as small as the working set.
        if entries.len() >= 4096 {
            let now = Instant::now();
            entries.retain(|_, (until, _)| now < *until);
            if entries.len() >= 4096 {
                entries.clear();
            }
        }
        entries.insert(key, (until, value));
    }
}

/// The signing key a deployment gives in the environment: `JWT_PRIVATE_KEY` (an ES256 or
/// RS256 private key in PEM) or else `JWT_SECRET` (an HS256 secret of at least 32 bytes);
/// `None` when neither is set (the key kept in the store is used then).
///
/// # Errors
/// A variable is set to something that is not a usable key.
pub fn signing_key_from_env() -> Result<Option<SigningKey>, jsonapi_auth::KeyError> {
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(pem) = set("JWT_PRIVATE_KEY") {
        return SigningKey::from_pem(&pem).map(Some);
    }
    if let Some(secret) = set("JWT_SECRET") {
        return SigningKey::hs256(secret.as_bytes()).map(Some);
    }
    Ok(None)
}

/// VIEW on the types open to anonymous reads (every caller has it).
fn anonymous_grants(types: &[String]) -> Grants {
    let mut grants = Grants::new();
    for ty in types {
        grants.add(&RolePermissions::default().with(ty, Permission::View));
    }
    grants
}

/// The bearer token of an `Authorization` header; `None` for another scheme or no token.
fn bearer(header: &http::HeaderValue) -> Option<&str> {
    let value = header.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl<S: Store> Engine<S> {
    /// Signs tokens with `key` (an HS256 secret or an ES256 / RS256 private key) instead of
    /// the key kept in the store.
    #[must_use]
    pub fn with_signing_key(mut self, key: SigningKey) -> Self {
        self.auth.key = Some(key);
        self
    }

    /// Trusts roles, client revocations and users' states read from the store for `ttl` instead
    /// of [`CACHE_TTL`]: the longest a revoked client, a disabled, deleted or stripped user or
    /// an edited role keeps its old access. Tests shorten it; longer saves reads.
    #[must_use]
    pub fn with_auth_cache_ttl(mut self, ttl: Duration) -> Self {
        self.auth.ttl = ttl;
        self
    }

    /// The API clients (create, list, revoke), over this engine's store.
    ///
    /// # Errors
    /// None today; kept fallible for stores that must be prepared first.
    pub async fn clients(&self) -> Result<&ClientStore<S>, crate::ApiErrors> {
        Ok(self.client_store())
    }

    pub(crate) fn client_store(&self) -> &ClientStore<S> {
        self.auth
            .clients_store
            .get_or_init(|| ClientStore::new(Arc::clone(&self.store), self.auth.passwords.clone()))
    }

    /// Who the request speaks for. `Ok(Err(_))` is a refusal to answer as it is; `Err` a
    /// store failure.
    pub(crate) async fn authenticate(
        &self,
        req: &ApiRequest,
    ) -> ApiResult<Result<Arc<Access>, Refusal>> {
        let settings = &self.schema.api.auth;
        if !settings.enabled {
            return Ok(Ok(Arc::new(Access::Everything)));
        }
        let Some(header) = req.headers.get(AUTHORIZATION) else {
            let anonymous = self.auth.anonymous.get_or_init(|| {
                Arc::new(Access::Granted {
                    grants: anonymous_grants(&settings.anonymous),
                    anonymous: true,
                })
            });
            return Ok(Ok(Arc::clone(anonymous)));
        };
        let Some(token) = bearer(header) else {
            return Ok(Err(Refusal::Unauthenticated(Some(TokenError::Malformed))));
        };
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if let Some((_, access)) = self.auth.verified.get(&digest) {
            return Ok(Ok(access));
        }
        let principal = match self.verifier().await?.verify(token).await {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(reason = %e, "bearer token refused");
                return Ok(Err(Refusal::Unauthenticated(Some(e))));
            }
        };
        // Trusted until the token expires, and no longer than what it was built from.
        let left = principal
            .expires_at
            .saturating_sub(jsonapi_auth::Clock::system().now());
        let mut until = Instant::now() + Duration::from_secs(left).min(self.auth.ttl);
        // Our tokens name the client they were issued to and, for a user's, the user: both are
        // read (at once) to learn whether the token still speaks for anyone.
        let client = principal
            .client_id
            .as_deref()
            .filter(|_| !principal.external);
        let user = principal
            .subject
            .strip_prefix("user:")
            .filter(|_| !principal.external && settings.users.is_some());
        let (client, user) = tokio::join!(
            async {
                match client {
                    Some(id) => self.client_active(id).await.map(Some),
                    None => Ok(None),
                }
            },
            async {
                match user {
                    Some(id) => self.user_roles(id).await.map(Some),
                    None => Ok(None),
                }
            },
        );
        if let Some((active, fresh_until)) = client? {
            if !active {
                return Ok(Err(Refusal::Unauthenticated(Some(TokenError::Revoked))));
            }
            until = until.min(fresh_until);
        }
        // A user's access follows the user's current roles, not those the token names.
        let roles = match user? {
            Some((None, _)) => {
                return Ok(Err(Refusal::Unauthenticated(Some(
                    TokenError::UserInactive,
                ))));
            }
            Some((Some(roles), fresh_until)) => {
                until = until.min(fresh_until);
                roles
            }
            None => principal.roles,
        };
        let access = match &settings.roles {
            // No roles type: authentication is all there is.
            None => Access::Everything,
            Some(roles_type) => {
                let mut grants = anonymous_grants(&settings.anonymous);
                for (fresh_until, role) in self.role_permissions(roles_type, &roles).await? {
                    grants.add(&role);
                    until = until.min(fresh_until);
                }
                Access::Granted {
                    grants,
                    anonymous: false,
                }
            }
        };
        let access = Arc::new(access);
        self.auth.verified.put(digest, Arc::clone(&access), until);
        Ok(Ok(access))
    }

    /// Whether a client still exists and is not revoked, and until when that is trusted.
    async fn client_active(&self, id: &str) -> ApiResult<(bool, Instant)> {
        if let Some((until, active)) = self.auth.clients.get(id) {
            return Ok((active, until));
        }
        let active = match self.client_store().get(id).await {
            Ok(info) => info.is_some_and(|c| !c.revoked),
            Err(e) => return Err(ApiError::internal(&e).into()),
        };
        let until = Instant::now() + self.auth.ttl;
        self.auth.clients.put(id.to_owned(), active, until);
        Ok((active, until))
    }

    /// A user's current roles (`None` once deleted or disabled), and until when that is
    /// trusted: one read of the user, shared by all of the user's tokens.
    async fn user_roles(&self, id: &str) -> ApiResult<(Option<Vec<String>>, Instant)> {
        if let Some((until, roles)) = self.auth.users.get(id) {
            return Ok((roles, until));
        }
        let user = Users::new(Arc::clone(&self.schema), Arc::clone(&self.store))
            .find_by_id(id)
            .await?;
        let roles = user.filter(|u| u.enabled).map(|u| u.roles);
        let until = Instant::now() + self.auth.ttl;
        self.auth.users.put(id.to_owned(), roles.clone(), until);
        Ok((roles, until))
    }

    /// The permissions of these roles: cached ones, the rest in one batch read.
    async fn role_permissions(
        &self,
        roles_type: &str,
        roles: &[String],
    ) -> ApiResult<Vec<(Instant, RolePermissions)>> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for role in roles {
            match self.auth.roles.get(role) {
                Some(entry) => found.push(entry),
                None => missing.push(role.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let ty = self
            .schema
            .resource_type(roles_type)
            .expect("checked with the configuration");
        let mut loaded: HashMap<String, RolePermissions> = HashMap::new();
        for r in self.load_many(ty, &missing).await? {
            let permissions = r.attributes.get("permissions").unwrap_or(&Value::Null);
            let parsed = RolePermissions::parse(permissions).unwrap_or_else(|e| {
                tracing::warn!(role = %r.id, error = %e, "role permissions unreadable; the role grants nothing");
                RolePermissions::default()
            });
            loaded.insert(r.id.clone(), parsed);
        }
        let until = Instant::now() + self.auth.ttl;
        for role in missing {
            // An unknown role grants nothing (and is remembered as such).
            let permissions = loaded.remove(&role).unwrap_or_default();
            self.auth.roles.put(role, permissions.clone(), until);
            found.push((until, permissions));
        }
        Ok(found)
    }
}
