//! The token endpoint's logic (`POST /oauth2-token`): [`TokenRequest::parse`] reads the body,
//! [`TokenService::exchange`] runs the grant, and the caller writes either the
//! [`TokenResponse`] (200) or the [`OAuthError`] (its [`OAuthError::status`], body and headers).
//!
//! Grants (RFC 6749): `client_credentials` (subject: the client id, roles: the client's),
//! `password` (subject: `user:{id}`, roles: the user's, plus a refresh token when the client
//! may use the `refresh_token` grant) and `refresh_token` (rotating; the user is looked up
//! again, so a disabled user cannot refresh and role changes apply).
//!
//! Every grant authenticates the client (`client_id` / `client_secret` in the body, or HTTP
//! Basic through [`TokenRequest::with_authorization`]). Failed client authentications and
//! failed passwords are counted per client id and per username ([`crate::backoff`]); a closed
//! key is answered 429 `slow_down` with `Retry-After`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonapi_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::backoff::{self, Backoff, BackoffPolicy, RetryAfter};
use crate::clients::{ClientAuthError, ClientInfo, ClientStore};
use crate::clock::Clock;
use crate::jwt::TokenSigner;
use crate::password::{PasswordHash, Passwords};
use crate::refresh::{DEFAULT_REFRESH_TTL, IssuedRefresh, RefreshError, RefreshTokens};
use crate::secret::SecretString;
use crate::util::sha256_b64;

/// An OAuth 2.0 grant type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// `client_credentials`
    ClientCredentials,
    /// `password`
    Password,
    /// `refresh_token`
    RefreshToken,
}

impl GrantType {
    /// The three grants.
    pub const ALL: [Self; 3] = [Self::ClientCredentials, Self::Password, Self::RefreshToken];

    /// The RFC 6749 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
        }
    }

    /// Parses an RFC 6749 name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == name)
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// An RFC 6749 `error` code (with this crate's two additions for throttling and failures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request` (400)
    InvalidRequest,
    /// `invalid_client` (401)
    InvalidClient,
    /// `invalid_grant` (400)
    InvalidGrant,
    /// `unauthorized_client` (400)
    UnauthorizedClient,
    /// `unsupported_grant_type` (400)
    UnsupportedGrantType,
    /// `invalid_scope` (400)
    InvalidScope,
    /// `slow_down` (429, with `Retry-After`): too many failures for this client or username.
    SlowDown,
    /// `server_error` (500)
    ServerError,
    /// `temporarily_unavailable` (503, with `Retry-After`)
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The `error` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::SlowDown => "slow_down",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::SlowDown => 429,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// An error answer of the token endpoint (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    /// The `error` code.
    pub code: ErrorCode,
    /// The `error_description` (never holds a secret).
    pub description: String,
    /// Seconds for `Retry-After`.
    pub retry_after: Option<u64>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "Client authentication failed")
    }

    fn invalid_grant(description: &str) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    fn slow_down(retry: RetryAfter) -> Self {
        Self {
            code: ErrorCode::SlowDown,
            description: "Too many failed attempts; retry later".into(),
            retry_after: Some(retry.0.max(1)),
        }
    }

    fn server_error() -> Self {
        Self::new(ErrorCode::ServerError, "The server could not issue a token")
    }

    fn from_store(e: &StoreError) -> Self {
        match e {
            StoreError::Unavailable { retry_after, .. } => Self {
                code: ErrorCode::TemporarilyUnavailable,
                description: "The service is temporarily unavailable".into(),
                retry_after: Some((*retry_after).max(1)),
            },
            _ => {
                tracing::error!(error = %e, "token endpoint storage failure");
                Self::server_error()
            }
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The JSON body: `{"error": ..., "error_description": ...}`.
    pub fn body(&self) -> Value {
        json!({ "error": self.code.as_str(), "error_description": self.description })
    }

    /// The response headers: `Cache-Control: no-store`, `Pragma: no-cache`, `Retry-After` when
    /// set, and `WWW-Authenticate: Basic` for `invalid_client` (RFC 6749 §5.2).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("Cache-Control", "no-store".to_owned()),
            ("Pragma", "no-cache".to_owned()),
        ];
        if let Some(seconds) = self.retry_after {
            headers.push(("Retry-After", seconds.to_string()));
        }
        if self.code == ErrorCode::InvalidClient {
            headers.push((
                "WWW-Authenticate",
                "Basic realm=\"oauth2-token\"".to_owned(),
            ));
        }
        headers
    }
}

impl Serialize for OAuthError {
    fn serialize<Ser: serde::Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        self.body().serialize(serializer)
    }
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

/// The parameters of a token request.
#[derive(Clone, Default)]
pub struct TokenRequest {
    /// `grant_type`, as sent.
    pub grant_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_secret`.
    pub client_secret: Option<SecretString>,
    /// `username`.
    pub username: Option<String>,
    /// `password`.
    pub password: Option<SecretString>,
    /// `refresh_token`.
    pub refresh_token: Option<SecretString>,
    /// `scope` (accepted and ignored: roles decide what a token may do).
    pub scope: Option<String>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("refresh_token", &self.refresh_token)
            .field("scope", &self.scope)
            .finish()
    }
}

/// A JSON object's members in order, duplicates kept (a map would keep only the last).
struct Pairs(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, Value>()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

const PARAMETERS: [&str; 7] = [
    "grant_type",
    "client_id",
    "client_secret",
    "username",
    "password",
    "refresh_token",
    "scope",
];

impl TokenRequest {
    /// The largest body read.
    pub const MAX_BODY_BYTES: usize = 16 * 1024;

    fn set(&mut self, name: &str, value: String) -> Result<(), OAuthError> {
        let repeated =
            || OAuthError::invalid_request(format!("The parameter \"{name}\" is repeated"));
        if value.is_empty() {
            // RFC 6749 §3.1: a parameter without a value is treated as omitted.
            return Ok(());
        }
        macro_rules! put {
            ($field:expr, $value:expr) => {{
                if $field.is_some() {
                    return Err(repeated());
                }
                $field = Some($value);
            }};
        }
        match name {
            "grant_type" => put!(self.grant_type, value),
            "client_id" => put!(self.client_id, value),
            "client_secret" => put!(self.client_secret, SecretString::new(value)),
            "username" => put!(self.username, value),
            "password" => put!(self.password, SecretString::new(value)),
            "refresh_token" => put!(self.refresh_token, SecretString::new(value)),
            "scope" => put!(self.scope, value),
            _ => {}
        }
        Ok(())
    }

    /// Reads a body sent as `application/json` (an object of strings) or
    /// `application/x-www-form-urlencoded`. Unknown parameters are ignored; empty ones count as
    /// omitted.
    ///
    /// # Errors
    /// `invalid_request`: another media type, a body too large or unreadable, a repeated
    /// parameter, or a parameter that is not a string.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self, OAuthError> {
        if body.len() > Self::MAX_BODY_BYTES {
            return Err(OAuthError::invalid_request("The request body is too large"));
        }
        let media = content_type
            .and_then(|c| c.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let mut request = Self::default();
        if media == "application/x-www-form-urlencoded" {
            let mut seen = Vec::new();
            for (name, value) in form_urlencoded::parse(body) {
                if PARAMETERS.contains(&name.as_ref()) {
                    if seen.contains(&name) {
                        return Err(OAuthError::invalid_request(format!(
                            "The parameter \"{name}\" is repeated"
                        )));
                    }
                    seen.push(name.clone());
                }
                request.set(&name, value.into_owned())?;
            }
        } else if media == "application/json" || media.ends_with("+json") {
            let Ok(Pairs(pairs)) = serde_json::from_slice::<Pairs>(body) else {
                return Err(OAuthError::invalid_request(
                    "The request body must be a JSON object",
                ));
            };
            let mut seen: Vec<&str> = Vec::new();
            for (name, _) in &pairs {
                if !PARAMETERS.contains(&name.as_str()) {
                    continue;
                }
                if seen.contains(&name.as_str()) {
                    return Err(OAuthError::invalid_request(format!(
                        "The parameter \"{name}\" is repeated"
                    )));
                }
                seen.push(name);
            }
            for (name, value) in pairs {
                if !PARAMETERS.contains(&name.as_str()) {
                    continue;
                }
                match value {
                    Value::Null => {}
                    Value::String(s) => request.set(&name, s)?,
                    _ => {
                        return Err(OAuthError::invalid_request(format!(
                            "The parameter \"{name}\" must be a string"
                        )));
                    }
                }
            }
        } else {
            return Err(OAuthError::invalid_request(
                "The request body must be application/json or application/x-www-form-urlencoded",
            ));
        }
        Ok(request)
    }

    /// Takes the client credentials from an `Authorization: Basic` header (RFC 6749 §2.3.1);
    /// other schemes and a missing header leave the request as it is.
    ///
    /// # Errors
    /// `invalid_client` for an unreadable Basic header; `invalid_request` when the body also
    /// carries a client secret or another client id.
    pub fn with_authorization(mut self, authorization: Option<&str>) -> Result<Self, OAuthError> {
        let Some(value) = authorization.map(str::trim) else {
            return Ok(self);
        };
        let Some((scheme, credentials)) = value.split_once(' ') else {
            return Ok(self);
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return Ok(self);
        }
        let decoded = STANDARD
            .decode(credentials.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(SecretString::new)
            .ok_or_else(OAuthError::invalid_client)?;
        let (id, secret) = decoded
            .expose()
            .split_once(':')
            .ok_or_else(OAuthError::invalid_client)?;
        let unform = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| OAuthError::invalid_client())
        };
        let id = unform(id)?;
        let secret = SecretString::new(unform(secret)?);
        if self.client_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "Use one way of client authentication, not two",
            ));
        }
        if self
            .client_id
            .as_ref()
            .is_some_and(|body_id| *body_id != id)
        {
            return Err(OAuthError::invalid_request(
                "The client_id differs from the authenticated client",
            ));
        }
        self.client_id = Some(id);
        self.client_secret = Some(secret);
        Ok(self)
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

/// The token endpoint.
pub struct TokenService<S, U> {
    clients: ClientStore<S>,
    refresh: RefreshTokens<S>,
    backoff: Backoff<S>,
    signer: TokenSigner,
    users: U,
    passwords: Passwords,
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
fn shown(value: &str) -> String {
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
            backoff: Backoff::new(store, options.backoff).with_clock(clock.clone()),
            signer: signer.with_clock(clock),
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

    /// The signer (for the JWKS document and a matching verifier).
    pub fn signer(&self) -> &TokenSigner {
        &self.signer
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
                    "The grant type \"{}\" is not supported; use client_credentials, password or refresh_token",
                    shown(grant_name)
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
        }?;
        tracing::info!(client_id = %client.id, %grant, "token issued");
        Ok(response)
    }

    async fn authenticate_client(&self, request: &TokenRequest) -> Result<ClientInfo, OAuthError> {
        let (Some(id), Some(secret)) = (&request.client_id, &request.client_secret) else {
            return Err(OAuthError::invalid_client());
        };
        let key = backoff::client_key(id);
        self.backoff
            .check(&key)
            .await
            .map_err(OAuthError::slow_down)?;
        match self.clients.authenticate(id, secret.expose()).await {
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

    fn sign(
        &self,
        subject: &str,
        roles: &[String],
        client: &ClientInfo,
        refresh: Option<IssuedRefresh>,
    ) -> Result<TokenResponse, OAuthError> {
        let access = self
            .signer
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
        let key = backoff::username_key(username);
        self.backoff
            .check(&key)
            .await
            .map_err(OAuthError::slow_down)?;
        let user = self
            .users
            .find_by_username(username)
            .await
            .map_err(|e| OAuthError::from_store(&e))?;
        let hash = user.as_ref().map(|u| u.password_hash.as_str());
        let matches = self
            .passwords
            .verify_blocking(password.expose(), hash)
            .await;
        let user = match user {
            Some(user) if matches && user.enabled => user,
            user => {
                let wait = self.backoff.record_failure(&key).await;
                let reason = match user {
                    None => "unknown user",
                    Some(_) if !matches => "wrong password",
                    Some(_) => "disabled user",
                };
                tracing::warn!(client_id = %client.id, reason, wait, "password grant refused");
                return Err(OAuthError::invalid_grant(
                    "The user credentials are incorrect",
                ));
            }
        };
        self.backoff.record_success(&key).await;
        let subject = format!("user:{}", user.id);
        let refresh = if client.allows(GrantType::RefreshToken) {
            Some(
                self.refresh
                    .issue(
                        &subject,
                        &client.id,
                        &user.roles,
                        Some(&user.credential_stamp()),
                    )
                    .await
                    .map_err(|e| refresh_error(&e))?,
            )
        } else {
            None
        };
        self.sign(&subject, &user.roles, client, refresh)
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
                let user = self
                    .users
                    .find_by_id(user_id)
                    .await
                    .map_err(|e| OAuthError::from_store(&e))?;
                // A password set since the sign-in ends the family: whoever knew the old password
                // keeps no way back in.
                let current = |user: &User| {
                    rotated
                        .stamp
                        .as_deref()
                        .is_none_or(|stamp| stamp == user.credential_stamp())
                };
                match user {
                    Some(user) if user.enabled && current(&user) => user.roles,
                    _ => {
                        self.refresh
                            .revoke_family(&rotated.token.family)
                            .await
                            .map_err(|e| refresh_error(&e))?;
                        tracing::warn!(client_id = %client.id, "refresh refused: user gone, disabled or password changed");
                        return Err(OAuthError::invalid_grant("The refresh token is invalid"));
                    }
                }
            }
            None => rotated.roles,
        };
        self.sign(&rotated.subject, &roles, client, Some(rotated.token))
    }
}

fn refresh_error(e: &RefreshError) -> OAuthError {
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
    use std::collections::HashMap;

    use jsonapi_store::{Item, Key, QueryPage, RangeQuery, StoreResult, Write};
    use jsonapi_store_redb::RedbStore;

    use super::*;
    use crate::jwt::TokenVerifier;
    use crate::keys::SigningKey;

    const ISS: &str = "https://api.example.test";

    #[derive(Clone, Default)]
    struct Users(Arc<std::sync::Mutex<HashMap<String, (String, User)>>>);

    impl Users {
        fn add(&self, name: &str, id: &str, password: &str, roles: &[&str]) {
            let hash = Passwords::insecure_fast_for_tests().hash(password).unwrap();
            let user = User {
                id: id.into(),
                password_hash: hash,
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                enabled: true,
            };
            self.0
                .lock()
                .unwrap()
                .insert(id.into(), (name.into(), user));
        }

        fn update(&self, id: &str, f: impl FnOnce(&mut User)) {
            f(&mut self.0.lock().unwrap().get_mut(id).unwrap().1);
        }
    }

    impl UserDirectory for Users {
        async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .values()
                .find(|(name, _)| name == username)
                .map(|(_, u)| u.clone()))
        }

        async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
            Ok(self.0.lock().unwrap().get(id).map(|(_, u)| u.clone()))
        }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        service: TokenService<RedbStore, Users>,
        users: Users,
        clock: Clock,
        verifier: TokenVerifier,
        app: crate::NewClient,
        machine: crate::NewClient,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(RedbStore::open(dir.path()).unwrap());
        let clock = Clock::manual_now();
        let signer = TokenSigner::new(SigningKey::generate_es256().unwrap(), ISS, "jsonapi");
        let verifier = signer.verifier();
        let users = Users::default();
        users.add("alice", "1", "wonderland", &["editor"]);
        let options = ServiceOptions {
            refresh_ttl: 3600 * 24,
            passwords: Passwords::insecure_fast_for_tests(),
            backoff: BackoffPolicy::default(),
            clock: clock.clone(),
        };
        let service = TokenService::new(store, signer, users.clone(), options);
        let app = service
            .clients()
            .create("app", &[], &[GrantType::Password, GrantType::RefreshToken])
            .await
            .unwrap();
        let machine = service
            .clients()
            .create(
                "sync",
                &["integration".into()],
                &[GrantType::ClientCredentials],
            )
            .await
            .unwrap();
        Fixture {
            _dir: dir,
            service,
            users,
            clock,
            verifier,
            app,
            machine,
        }
    }

    impl Fixture {
        /// The error a JSON token request gets (it must be refused).
        async fn refused(&self, body: Value) -> OAuthError {
            self.service
                .exchange(json_request(&body))
                .await
                .expect_err("the request is refused")
        }

        /// alice's refresh token from a password sign-in.
        async fn sign_in(&self) -> SecretString {
            self.service
                .exchange(password_request(self, "alice", "wonderland"))
                .await
                .expect("alice signs in")
                .refresh_token
                .expect("a refresh token")
        }

        /// The refresh grant of `token`.
        async fn refresh(&self, token: &SecretString) -> Result<TokenResponse, OAuthError> {
            self.service
                .exchange(refresh_request(self, token.expose()))
                .await
        }
    }

    fn json_request(body: &Value) -> TokenRequest {
        TokenRequest::parse(Some("application/json"), body.to_string().as_bytes()).unwrap()
    }

    fn password_request(f: &Fixture, username: &str, password: &str) -> TokenRequest {
        json_request(&json!({
            "grant_type": "password", "client_id": f.app.id, "client_secret": f.app.secret.expose(),
            "username": username, "password": password,
        }))
    }

    fn refresh_request(f: &Fixture, token: &str) -> TokenRequest {
        json_request(&json!({
            "grant_type": "refresh_token", "client_id": f.app.id,
            "client_secret": f.app.secret.expose(), "refresh_token": token,
        }))
    }

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
        let e = f.refused(json!({"grant_type": "authorization_code"})).await;
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

    #[test]
    fn json_and_form_bodies_parse_alike() {
        let json = TokenRequest::parse(
            Some("application/json; charset=utf-8"),
            br#"{"grant_type":"password","client_id":"c","client_secret":"s","username":"u","password":"p w","scope":"","extra":1}"#,
        )
        .unwrap();
        let form = TokenRequest::parse(
            Some("Application/X-WWW-Form-Urlencoded"),
            b"grant_type=password&client_id=c&client_secret=s&username=u&password=p+w&scope=&extra=1",
        )
        .unwrap();
        for r in [&json, &form] {
            assert_eq!(r.grant_type.as_deref(), Some("password"));
            assert_eq!(r.client_id.as_deref(), Some("c"));
            assert_eq!(r.client_secret.as_ref().unwrap().expose(), "s");
            assert_eq!(r.username.as_deref(), Some("u"));
            assert_eq!(r.password.as_ref().unwrap().expose(), "p w");
            assert_eq!(r.scope, None);
        }
        let vnd = TokenRequest::parse(Some("application/vnd.api+json"), b"{}").unwrap();
        assert!(vnd.grant_type.is_none());
    }

    #[test]
    fn bad_bodies_are_invalid_request() {
        let cases: [(Option<&str>, &[u8]); 7] = [
            (None, b"grant_type=password"),
            (Some("text/plain"), b"grant_type=password"),
            (Some("application/json"), b"[1]"),
            (Some("application/json"), b"{"),
            (Some("application/json"), br#"{"grant_type": 5}"#),
            (
                Some("application/json"),
                br#"{"grant_type": "a", "grant_type": "b"}"#,
            ),
            (
                Some("application/x-www-form-urlencoded"),
                b"grant_type=a&grant_type=b",
            ),
        ];
        for (ct, body) in cases {
            let e = TokenRequest::parse(ct, body).unwrap_err();
            assert_eq!(
                e.code,
                ErrorCode::InvalidRequest,
                "{ct:?} {}",
                String::from_utf8_lossy(body)
            );
        }
        let big = vec![b'a'; TokenRequest::MAX_BODY_BYTES + 1];
        assert_eq!(
            TokenRequest::parse(Some("application/json"), &big)
                .unwrap_err()
                .code,
            ErrorCode::InvalidRequest
        );
        // Null counts as absent.
        let r = TokenRequest::parse(Some("application/json"), br#"{"scope": null}"#).unwrap();
        assert!(r.scope.is_none());
    }

    #[test]
    fn basic_authorization_supplies_client_credentials() {
        let base = TokenRequest::parse(
            Some("application/x-www-form-urlencoded"),
            b"grant_type=client_credentials",
        )
        .unwrap();
        let header = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret+x"));
        let r = base.clone().with_authorization(Some(&header)).unwrap();
        assert_eq!(r.client_id.as_deref(), Some("my id"));
        assert_eq!(r.client_secret.as_ref().unwrap().expose(), "s:cret x");
        // Other schemes and no header leave the request alone.
        assert!(
            base.clone()
                .with_authorization(Some("Bearer x"))
                .unwrap()
                .client_id
                .is_none()
        );
        assert!(
            base.clone()
                .with_authorization(None)
                .unwrap()
                .client_id
                .is_none()
        );
        // Garbage is invalid_client.
        for bad in [
            "Basic !!!",
            &format!("Basic {}", STANDARD.encode("no-colon")),
        ] {
            assert_eq!(
                base.clone().with_authorization(Some(bad)).unwrap_err().code,
                ErrorCode::InvalidClient
            );
        }
        // Two ways at once: invalid_request.
        let both = TokenRequest::parse(
            Some("application/x-www-form-urlencoded"),
            b"grant_type=client_credentials&client_id=a&client_secret=b",
        )
        .unwrap();
        let header = format!("Basic {}", STANDARD.encode("a:b"));
        assert_eq!(
            both.with_authorization(Some(&header)).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        let other_id = TokenRequest::parse(
            Some("application/x-www-form-urlencoded"),
            b"grant_type=client_credentials&client_id=z",
        )
        .unwrap();
        assert_eq!(
            other_id.with_authorization(Some(&header)).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn errors_serialize_as_rfc6749_bodies() {
        let e = OAuthError::new(ErrorCode::InvalidGrant, "nope");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"error": "invalid_grant", "error_description": "nope"})
        );
        assert_eq!(e.to_string(), "invalid_grant: nope");
        let statuses: Vec<u16> = [
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidClient,
            ErrorCode::InvalidGrant,
            ErrorCode::UnauthorizedClient,
            ErrorCode::UnsupportedGrantType,
            ErrorCode::InvalidScope,
            ErrorCode::SlowDown,
            ErrorCode::ServerError,
            ErrorCode::TemporarilyUnavailable,
        ]
        .iter()
        .map(|c| c.status())
        .collect();
        assert_eq!(statuses, [400, 401, 400, 400, 400, 400, 429, 500, 503]);
        let headers = e.headers();
        assert!(headers.contains(&("Cache-Control", "no-store".to_owned())));
        assert!(headers.contains(&("Pragma", "no-cache".to_owned())));
        assert!(
            !headers
                .iter()
                .any(|(h, _)| *h == "WWW-Authenticate" || *h == "Retry-After")
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
