//! Who is calling and what they may do: the bearer check of every API route, role permissions,
//! the token endpoint and its signing key.
//!
//! - `access`: [`Access`], the permissions one request runs with, and the 401 / 403 refusals;
//!   `authenticate`: the bearer check that finds a request's [`Access`].
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
mod authenticate;
mod authorize;
mod endpoint;
mod keys;
mod pages;
mod users;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonapi_auth::{ClientStore, Passwords, RolePermissions, SigningKey, TokenService, Verifier};

pub use crate::routing::{AUTHORIZE_PATH, JWKS_PATH, TOKEN_PATH};
pub(crate) use access::{Access, unauthenticated};
pub use keys::KeysError;
use users::Users;

/// How long role permissions, client revocations and users' states are trusted before being
/// read again (the default; `Engine::with_auth_cache_ttl` changes it).
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
