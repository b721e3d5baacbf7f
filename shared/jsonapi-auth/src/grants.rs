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
mod tests;
