//! The bearer check of every API route: a token's signature, its client and user still in
//! good standing, and the permissions of its roles, cached for the cache TTL.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::AUTHORIZATION;
use jsonapi_auth::{
    ClientStore, Grants, Permission, Principal, RolePermissions, SigningKey, TokenError,
    UserDirectory as _,
};
use jsonapi_config::TypeRef;
use jsonapi_store::Store;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::users::Users;
use super::{Access, unauthenticated};
use crate::engine::Engine;
use crate::error::{ApiError, ApiResult};
use crate::request::ApiRequest;

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

/// Whether an `Authorization` header names the bearer scheme (with or without a token).
fn is_bearer_scheme(header: &http::HeaderValue) -> bool {
    header.to_str().is_ok_and(|v| {
        v.trim()
            .split(' ')
            .next()
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer"))
    })
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

    /// Who the request speaks for; a request without a usable token is refused with a 401.
    pub(crate) async fn authenticate(&self, req: &ApiRequest) -> ApiResult<Arc<Access>> {
        let settings = &self.schema.api.auth;
        if !settings.enabled {
            return Ok(Arc::new(Access::Everything));
        }
        let Some(header) = req.headers.get(AUTHORIZATION) else {
            let anonymous = self.auth.anonymous.get_or_init(|| {
                Arc::new(Access::Granted {
                    grants: anonymous_grants(&settings.anonymous),
                    anonymous: true,
                    caller: None,
                })
            });
            return Ok(Arc::clone(anonymous));
        };
        let Some(token) = bearer(header) else {
            // Another scheme (Basic, WSSE...) is no attempt at a bearer token: the bare
            // challenge, without an error code (RFC 6750 §3.1).
            return Err(if is_bearer_scheme(header) {
                ApiError::from(TokenError::Malformed)
            } else {
                unauthenticated()
            }
            .into());
        };
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if let Some((_, access)) = self.auth.verified.get(&digest) {
            return Ok(access);
        }
        let principal = match self.verifier().await?.verify(token).await {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(reason = %e, "bearer token refused");
                return Err(ApiError::from(e).into());
            }
        };
        let (access, until) = self.principal_access(principal).await?;
        let access = Arc::new(access);
        self.auth.verified.put(digest, Arc::clone(&access), until);
        Ok(access)
    }

    /// What a verified token's principal may do, and until when that is trusted: its client
    /// must still be active and its user's current roles (not those the token names) count.
    async fn principal_access(&self, principal: Principal) -> ApiResult<(Access, Instant)> {
        let settings = &self.schema.api.auth;
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
        // A client's token names its roles; a user's follow the user's current ones, read
        // first. The roles a token names are read beside its client, not after it: a fresh
        // process's first request waits for one round trip, not two.
        let token_roles = match (&settings.roles, user) {
            (Some(roles_type), None) => Some((roles_type, principal.roles.as_slice())),
            _ => None,
        };
        let (client, user, token_grants) = tokio::join!(
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
            async {
                match token_roles {
                    // Boxed: beside the other two reads, inline, it would add the size of a
                    // store read to every request's future (a debug build's overflowed a
                    // test thread's stack on the DynamoDB store).
                    Some((roles_type, roles)) => Box::pin(self.role_permissions(roles_type, roles))
                        .await
                        .map(Some),
                    None => Ok(None),
                }
            },
        );
        if let Some((active, fresh_until)) = client? {
            if !active {
                return Err(ApiError::from(TokenError::Revoked).into());
            }
            until = until.min(fresh_until);
        }
        // An external provider's subjects are its own: its issuer tells them from ours.
        let caller = if principal.external {
            format!("{} {}", principal.issuer, principal.subject)
        } else {
            principal.subject.clone()
        };
        // A user's access follows the user's current roles, not those the token names.
        let user_roles = match user? {
            Some((None, _)) => return Err(ApiError::from(TokenError::UserInactive).into()),
            Some((Some(roles), fresh_until)) => {
                until = until.min(fresh_until);
                Some(roles)
            }
            None => None,
        };
        let Some(roles_type) = &settings.roles else {
            // No roles type: authentication is all there is.
            return Ok((Access::Everything, until));
        };
        let granted = match user_roles {
            Some(roles) => self.role_permissions(roles_type, &roles).await?,
            None => token_grants?.unwrap_or_default(),
        };
        let mut grants = anonymous_grants(&settings.anonymous);
        for (fresh_until, role) in granted {
            grants.add(&role);
            until = until.min(fresh_until);
        }
        let access = Access::Granted {
            grants,
            anonymous: false,
            caller: Some(caller.into()),
        };
        Ok((access, until))
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
        roles_type: &TypeRef,
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
        let ty = self.schema.referenced(roles_type);
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
