//! OAuth 2.0 building blocks for the JSON:API engine: what `POST /oauth2-token` and the bearer
//! check of every other route need, with no HTTP server and no engine in sight.
//!
//! # Layout
//! - [`keys`]: signing keys (HS256 secret, ES256 / RS256 key pairs; generation, PEM, JWK) and
//!   the public JWKS document.
//! - [`stored_keys`]: the key kept in the store (private and public halves apart), rotation.
//! - [`jwt`]: [`TokenSigner`] makes access tokens, [`TokenVerifier`] checks them with the keys
//!   it holds (ours and an external OpenID provider's), [`TokenError`] says why one was refused.
//!   One module per phase: `claims`, `sign`, `verify`, `refusal`.
//! - [`verifier`]: [`Verifier`], a [`TokenVerifier`] over keys that change: our stored keys and
//!   external issuers' keys fetched ([`jwks_fetch`]) from their `jwks_uri` or discovery.
//! - [`password`]: argon2id hashing ([`Passwords`]) with a dummy check for unknown users.
//! - [`clients`]: API clients in the store, confidential (the secret is shown once and kept
//!   only as a digest) or public; [`GrantType`] the grants they may use; [`redirect_uri`] the
//!   redirect URIs they may register.
//! - [`refresh`]: opaque, rotating refresh tokens in families; reuse kills the family.
//! - [`backoff`]: failure counters with exponential waits, shared through the store.
//! - [`grants`]: [`TokenService::exchange`], the token endpoint's logic, with [`TokenRequest`]
//!   and the RFC 6749 responses and errors ([`OAuthError`]); `sign_in` the user check the
//!   password grant and the authorization endpoint share; `code_grant` the
//!   `authorization_code` grant.
//! - [`authorize`]: the authorization endpoint's decisions (checks, sign-in, consent);
//!   [`authorization`] the single-use consent tickets and codes; [`pkce`] RFC 7636.
//! - [`permissions`]: VIEW / CREATE / EDIT / DELETE per resource type, and what each
//!   [`jsonapi_config::Operation`] needs (`permissions::required`).
//!
//! # Storage
//! Everything persistent lives in the engine's single table through [`jsonapi_store::Store`],
//! under partition keys that start with `auth#` (no resource type can produce them):
//!
//! | item | pk | sk |
//! |---|---|---|
//! | client | `auth#client#{id}` | `#` |
//! | client listing entry | `auth#clients` | `{id}` |
//! | refresh token | `auth#refresh#{base64url(sha256(token))}` | `#` |
//! | refresh family | `auth#family#{id}` | `#` |
//! | back-off counter | `auth#backoff#{base64url(sha256(key))}` | `#` |
//! | consent ticket | `auth#consent#{base64url(sha256(ticket))}` | `#` |
//! | authorization code | `auth#code#{base64url(sha256(code))}` | `#` |
//!
//! and the signing key when the deployment gives none: `meta#signing-key` (the private key,
//! read only by what signs) and `meta#public-keys` (the published public keys).
//!
//! Items that can expire carry [`TTL_ATTRIBUTE`] (epoch seconds), so a DynamoDB table can have
//! TTL enabled on it; the code never relies on that deletion and checks expiry itself.
//!
//! # Secrets
//! Plain secrets travel as [`SecretString`], whose `Debug` and `Display` print `[redacted]`;
//! every type that holds a secret, a hash or a token prints neither.
//!
//! # Wiring
//! ```
//! use std::sync::Arc;
//! use jsonapi_auth::{
//!     GrantType, Grants, Passwords, Permission, RolePermissions, ServiceOptions, SigningKey,
//!     TokenRequest, TokenService, TokenSigner, User, UserDirectory,
//! };
//! use jsonapi_store::StoreError;
//!
//! /// The engine implements this over its `users` type.
//! struct NoUsers;
//! impl UserDirectory for NoUsers {
//!     async fn find_by_username(&self, _: &str) -> Result<Option<User>, StoreError> { Ok(None) }
//!     async fn find_by_id(&self, _: &str) -> Result<Option<User>, StoreError> { Ok(None) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! # let dir = tempfile::tempdir().unwrap();
//! let store = Arc::new(jsonapi_store_redb::RedbStore::open(dir.path()).unwrap());
//! let key = SigningKey::generate_es256().unwrap(); // or from_pem / from_jwk / hs256
//! let signer = TokenSigner::new(key, "https://api.example.test", "jsonapi").with_ttl(3600);
//! let verifier = signer.verifier(); // every API function checks bearers with this
//! let jwks = signer.key().jwks(); // serve at /.well-known/jwks.json
//! assert_eq!(jwks["keys"][0]["alg"], "ES256");
//!
//! let options = ServiceOptions {
//!     passwords: Passwords::insecure_fast_for_tests(), // Passwords::default() in production
//!     ..ServiceOptions::default()
//! };
//! let service = TokenService::new(store, signer, NoUsers, options);
//!
//! // The "create client" command prints the secret once.
//! let client = service
//!     .clients()
//!     .create("sync", &["integration".into()], &[GrantType::ClientCredentials])
//!     .await
//!     .unwrap();
//!
//! // POST /oauth2-token
//! let body = format!(
//!     r#"{{"grant_type":"client_credentials","client_id":"{}","client_secret":"{}"}}"#,
//!     client.id,
//!     client.secret.expose()
//! );
//! let request = TokenRequest::parse(Some("application/json"), body.as_bytes())
//!     .and_then(|r| r.with_authorization(None))
//!     .unwrap();
//! let response = service.exchange(request).await.unwrap(); // Err: status(), body(), headers()
//! let json = response.to_json();
//! assert_eq!(json["token_type"], "Bearer");
//!
//! // Any API call: `Authorization: Bearer ...`
//! let principal = verifier.verify(json["access_token"].as_str().unwrap()).unwrap();
//! assert_eq!(principal.roles, ["integration"]);
//!
//! // The roles' `permissions`, looked up by the engine, decide the action.
//! let role = RolePermissions::parse(&serde_json::json!({"products": ["VIEW"]})).unwrap();
//! let grants = Grants::from_roles([&role]);
//! assert!(grants.allows_operation("products", jsonapi_config::Operation::GetList));
//! assert!(!grants.allows("products", Permission::Edit));
//! # }
//! ```

pub mod authorization;
pub mod authorize;
pub mod backoff;
pub mod clients;
mod clock;
mod code_grant;
mod grant_type;
pub mod grants;
pub mod jwks_fetch;
pub mod jwt;
pub mod keys;
mod oauth_error;
pub mod password;
pub mod permissions;
pub mod pkce;
pub mod redirect_uri;
pub mod refresh;
mod secret;
mod sign_in;
pub mod stored_keys;
#[cfg(test)]
mod test_support;
mod token_request;
mod util;
pub mod verifier;

pub use authorize::{AuthorizationRequest, AuthorizeError, ConsentError, ConsentRequest};
pub use backoff::{Backoff, BackoffPolicy, RetryAfter};
pub use clients::{ClientInfo, ClientSpec, ClientStore, NewClient, Registered};
pub use clock::Clock;
pub use grant_type::GrantType;
pub use grants::{ServiceOptions, TokenResponse, TokenService, User, UserDirectory};
pub use jwt::{
    AccessClaims, AccessToken, ExternalIssuer, Principal, TokenError, TokenSigner, TokenVerifier,
};
pub use keys::{KeyError, SigningKey, VerifyingKey};
pub use oauth_error::{ErrorCode, OAuthError};
pub use password::{PasswordHash, Passwords};
pub use permissions::{Grants, Permission, RolePermissions};
pub use refresh::{RefreshTokens, Rotated};
pub use secret::SecretString;
pub use sign_in::SignInError;
pub use stored_keys::{KeyStore, KeyStoreError, PublishedKey, Rotation};
pub use token_request::TokenRequest;
pub use util::{random_token, rfc3339, same_secret};
pub use verifier::{ExternalSource, JwksLocation, OwnKeys, Refresh, Verifier};

/// The attribute holding an item's expiry in epoch seconds (for DynamoDB's TTL).
pub const TTL_ATTRIBUTE: &str = "ttl";
