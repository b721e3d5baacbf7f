//! API clients ("OAuth applications") in the store.
//!
//! A client is created with a random secret that is returned once ([`NewClient`]) and kept only
//! as its SHA-256 digest (`sha256:{base64url}`). A slow password hash buys nothing for a
//! 256-bit random value (no dictionary to guess from, as for API tokens everywhere) and would
//! cost every token request tens of milliseconds of CPU; passwords of users keep argon2id.
//!
//! A public client (a browser or mobile app, which cannot keep a secret: RFC 6749 §2.1) has no
//! secret at all; it may only use the `authorization_code` grant (with PKCE) and refresh the
//! tokens got so. Clients of that grant register the redirect URIs codes may be sent to.
//!
//! Items:
//! - `auth#client#{id}` / `#`: `name`, `roles`, `grant_types`, `redirect_uris`, `public`,
//!   `secret_hash` (confidential clients), `created` (RFC 3339), `revoked`;
//! - `auth#clients` / `{id}`: a key-only listing entry, so that listing is a query, not a scan.

use std::fmt;
use std::sync::Arc;

use jsonapi_store::limits::MAX_BATCH_GET;
use jsonapi_store::{Attrs, Condition, Item, Key, RangeQuery, Store, StoreError, Write};
use serde::Serialize;
use serde_json::Value;

use crate::clock::Clock;
use crate::grant_type::GrantType;
use crate::password::{PasswordError, Passwords};
use crate::secret::SecretString;
use crate::util::{
    bool_attr, random_token, rfc3339, same_secret, str_attr, strings_attr, strings_value,
};

/// The listing partition.
pub const LISTING_PK: &str = "auth#clients";
/// Random bytes in a client id (22 URL-safe base64 characters).
pub const ID_BYTES: usize = 16;
/// Random bytes in a client secret (43 URL-safe base64 characters).
pub const SECRET_BYTES: usize = 32;
/// Longest client name.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest client id accepted from a request.
const MAX_ID_CHARS: usize = 64;
/// Most redirect URIs of one client.
pub const MAX_REDIRECT_URIS: usize = 20;
/// The grants a public client may use: it cannot authenticate, so it gets tokens only for a
/// user who signed in at the authorization endpoint (and refreshes those).
pub const PUBLIC_GRANTS: [GrantType; 2] = [GrantType::AuthorizationCode, GrantType::RefreshToken];

const DIGEST_PREFIX: &str = "sha256:";

/// What is stored of a client secret.
fn secret_digest(secret: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(secret.as_bytes());
    format!(
        "{DIGEST_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

/// The key of a client's item.
pub fn client_key(id: &str) -> Key {
    Key::new(format!("auth#client#{id}"), "#")
}

/// A client just created: its id and its secret, which is not stored and cannot be shown again.
#[derive(Clone)]
pub struct NewClient {
    /// The client id.
    pub id: String,
    /// The plain secret; show it to the operator once.
    pub secret: SecretString,
}

impl fmt::Debug for NewClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewClient")
            .field("id", &self.id)
            .field("secret", &self.secret)
            .finish()
    }
}

/// What a client is registered with (also sent over jsonapi-local's control socket).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientSpec {
    /// A human name (shown on the consent page).
    pub name: String,
    /// Role ids granted to its client-credentials tokens.
    pub roles: Vec<String>,
    /// The grants it may use.
    pub grant_types: Vec<GrantType>,
    /// Where authorization codes may be sent (the `authorization_code` grant needs one).
    pub redirect_uris: Vec<String>,
}

/// A client just registered.
#[derive(Debug, Clone)]
pub enum Registered {
    /// A confidential client: its id and its secret, shown once.
    Confidential(NewClient),
    /// A public client: an id, and no secret.
    Public {
        /// The client id.
        id: String,
    },
}

impl Registered {
    /// The client id.
    pub fn id(&self) -> &str {
        match self {
            Self::Confidential(client) => &client.id,
            Self::Public { id } => id,
        }
    }
}

/// What may be shown about a client (no secret, no hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientInfo {
    /// The client id.
    pub id: String,
    /// A human name.
    pub name: String,
    /// Role ids granted to its client-credentials tokens.
    pub roles: Vec<String>,
    /// The grants it may use.
    pub grant_types: Vec<GrantType>,
    /// Where authorization codes may be sent.
    pub redirect_uris: Vec<String>,
    /// Whether it is a public client (no secret).
    pub public: bool,
    /// When it was created (RFC 3339).
    pub created: String,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl ClientInfo {
    fn from_attrs(id: &str, attrs: &Attrs) -> Self {
        Self {
            id: id.to_owned(),
            name: str_attr(attrs, "name").unwrap_or_default().to_owned(),
            roles: strings_attr(attrs, "roles"),
            grant_types: strings_attr(attrs, "grant_types")
                .iter()
                .filter_map(|g| GrantType::parse(g))
                .collect(),
            redirect_uris: strings_attr(attrs, "redirect_uris"),
            public: bool_attr(attrs, "public"),
            created: str_attr(attrs, "created").unwrap_or_default().to_owned(),
            revoked: bool_attr(attrs, "revoked"),
        }
    }

    /// Whether the client may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether `uri` is one of its redirect URIs, character for character.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| registered == uri)
    }
}

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No client has this id.
    #[error("no client has this id")]
    NotFound,
    /// The request is invalid (empty name, no grant type...).
    #[error("{0}")]
    Invalid(String),
    /// Hashing the secret failed.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a client could not authenticate; all but `Store` are answered `invalid_client`.
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// No client has this id.
    #[error("unknown client")]
    Unknown,
    /// The secret does not match.
    #[error("wrong client secret")]
    WrongSecret,
    /// The client was revoked.
    #[error("revoked client")]
    Revoked,
    /// A confidential client sent no secret, or a public client sent one.
    #[error("client authentication of the wrong kind for this client")]
    WrongKind,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The API clients in a store.
pub struct ClientStore<S> {
    store: Arc<S>,
    passwords: Passwords,
    clock: Clock,
}

impl<S> Clone for ClientStore<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            passwords: self.passwords.clone(),
            clock: self.clock.clone(),
        }
    }
}

impl<S> fmt::Debug for ClientStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientStore")
            .field("passwords", &self.passwords)
            .finish_non_exhaustive()
    }
}

/// Whether `id` could be one of our client ids (anything else is unknown without a lookup).
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl<S: Store> ClientStore<S> {
    /// The clients kept in `store`, secrets hashed with `passwords`.
    pub fn new(store: Arc<S>, passwords: Passwords) -> Self {
        Self {
            store,
            passwords,
            clock: Clock::system(),
        }
    }

    /// Sets the clock (creation times).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Creates a confidential client with no redirect URI and returns its id and secret (the
    /// only time the secret is seen).
    ///
    /// # Errors
    /// An empty or too long name, no grant type, or a store failure.
    pub async fn create(
        &self,
        name: &str,
        roles: &[String],
        grant_types: &[GrantType],
    ) -> Result<NewClient, ClientError> {
        let spec = ClientSpec {
            name: name.to_owned(),
            roles: roles.to_vec(),
            grant_types: grant_types.to_vec(),
            redirect_uris: Vec::new(),
        };
        match self.register(&spec, false).await? {
            Registered::Confidential(client) => Ok(client),
            Registered::Public { .. } => unreachable!("a confidential client was asked for"),
        }
    }

    /// Registers a client: confidential (with a secret, returned once) or `public` (none).
    ///
    /// # Errors
    /// [`ClientError::Invalid`] for a name, grant list or redirect URI that cannot be used (a
    /// public client with a grant other than [`PUBLIC_GRANTS`] or with roles; the
    /// `authorization_code` grant without a redirect URI, or redirect URIs without it), or a
    /// store failure.
    pub async fn register(
        &self,
        spec: &ClientSpec,
        public: bool,
    ) -> Result<Registered, ClientError> {
        let name = spec.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ClientError::Invalid(format!(
                "a client name has 1 to {MAX_NAME_CHARS} characters"
            )));
        }
        let mut grants: Vec<GrantType> = Vec::new();
        for g in &spec.grant_types {
            if !grants.contains(g) {
                grants.push(*g);
            }
        }
        check_grants(&grants, spec, public)?;
        let secret = (!public).then(|| SecretString::new(random_token(SECRET_BYTES)));
        let grants = Value::Array(
            grants
                .iter()
                .map(|g| Value::String(g.as_str().to_owned()))
                .collect(),
        );
        // A fresh random id collides with probability 2^-128; retry once anyway.
        for _ in 0..2 {
            let id = random_token(ID_BYTES);
            let mut attrs = Attrs::new();
            attrs.insert("name".into(), name.into());
            attrs.insert("roles".into(), strings_value(&spec.roles));
            attrs.insert("grant_types".into(), grants.clone());
            attrs.insert("redirect_uris".into(), strings_value(&spec.redirect_uris));
            attrs.insert("public".into(), public.into());
            if let Some(secret) = &secret {
                attrs.insert("secret_hash".into(), secret_digest(secret.expose()).into());
            }
            attrs.insert("created".into(), rfc3339(self.clock.now()).into());
            attrs.insert("revoked".into(), false.into());
            let writes = vec![
                Write::Put {
                    item: Item {
                        key: client_key(&id),
                        attrs,
                    },
                    condition: Some(Condition::Absent),
                },
                Write::Put {
                    item: Item {
                        key: Key::new(LISTING_PK, id.clone()),
                        attrs: Attrs::new(),
                    },
                    condition: Some(Condition::Absent),
                },
            ];
            match self.store.transact(writes).await {
                Ok(()) => {
                    tracing::info!(client_id = %id, public, "API client created");
                    return Ok(match secret {
                        Some(secret) => Registered::Confidential(NewClient { id, secret }),
                        None => Registered::Public { id },
                    });
                }
                Err(StoreError::ConditionFailed { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(ClientError::Store(StoreError::Conflict))
    }

    /// One client.
    ///
    /// # Errors
    /// A store failure.
    pub async fn get(&self, id: &str) -> Result<Option<ClientInfo>, ClientError> {
        if !plausible_id(id) {
            return Ok(None);
        }
        let item = self.store.get(&client_key(id)).await?;
        Ok(item.map(|i| ClientInfo::from_attrs(id, &i.attrs)))
    }

    /// Every client, oldest first, revoked ones included.
    ///
    /// # Errors
    /// A store failure.
    pub async fn list(&self) -> Result<Vec<ClientInfo>, ClientError> {
        let mut ids = Vec::new();
        let mut query = RangeQuery::partition(LISTING_PK, 1000);
        loop {
            let page = self.store.query(&query).await?;
            ids.extend(page.items.into_iter().map(|i| i.key.sk));
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        let mut clients = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_BATCH_GET) {
            let keys: Vec<Key> = chunk.iter().map(|id| client_key(id)).collect();
            for item in self.store.batch_get(&keys).await? {
                if let Some(id) = item.key.pk.strip_prefix("auth#client#") {
                    clients.push(ClientInfo::from_attrs(id, &item.attrs));
                }
            }
        }
        clients.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(clients)
    }

    /// Revokes a client: it can no longer obtain tokens (tokens already issued live until
    /// they expire; its refresh tokens fail at the next use, which authenticates the client).
    ///
    /// # Errors
    /// [`ClientError::NotFound`], or a store failure.
    pub async fn revoke(&self, id: &str) -> Result<(), ClientError> {
        if !plausible_id(id) {
            return Err(ClientError::NotFound);
        }
        let key = client_key(id);
        let Some(mut item) = self.store.get(&key).await? else {
            return Err(ClientError::NotFound);
        };
        item.attrs.insert("revoked".into(), true.into());
        let write = Write::Put {
            item,
            condition: Some(Condition::Present),
        };
        match self.store.transact(vec![write]).await {
            Ok(()) => {
                tracing::info!(client_id = %id, "API client revoked");
                Ok(())
            }
            Err(StoreError::ConditionFailed { .. }) => Err(ClientError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks a client's credentials: the secret of a confidential client, or no secret for a
    /// public one. An unknown id costs as much time as a known one.
    ///
    /// # Errors
    /// Why the client is refused, or a store failure.
    pub async fn authenticate(
        &self,
        id: &str,
        secret: Option<&str>,
    ) -> Result<ClientInfo, ClientAuthError> {
        let item = if plausible_id(id) {
            self.store.get(&client_key(id)).await?
        } else {
            None
        };
        let info = item.as_ref().map(|i| ClientInfo::from_attrs(id, &i.attrs));
        let Some(secret) = secret else {
            return match info {
                None => Err(ClientAuthError::Unknown),
                Some(info) if !info.public => Err(ClientAuthError::WrongKind),
                Some(info) if info.revoked => Err(ClientAuthError::Revoked),
                Some(info) => Ok(info),
            };
        };
        let hash = item
            .as_ref()
            .and_then(|i| str_attr(&i.attrs, "secret_hash"));
        let matches = match hash {
            Some(stored) if stored.starts_with(DIGEST_PREFIX) => {
                same_secret(secret_digest(secret).as_bytes(), stored.as_bytes())
            }
            // Clients made before secrets were digests hold an argon2id hash.
            stored => self.passwords.verify_blocking(secret, stored).await,
        };
        match info {
            None => Err(ClientAuthError::Unknown),
            Some(info) if info.public => Err(ClientAuthError::WrongKind),
            Some(_) if !matches => Err(ClientAuthError::WrongSecret),
            Some(info) if info.revoked => Err(ClientAuthError::Revoked),
            Some(info) => Ok(info),
        }
    }
}

/// The grants and redirect URIs a client may be registered with.
fn check_grants(grants: &[GrantType], spec: &ClientSpec, public: bool) -> Result<(), ClientError> {
    let invalid = |message: String| Err(ClientError::Invalid(message));
    if grants.is_empty() {
        return invalid("a client needs at least one grant type".into());
    }
    if public {
        if let Some(g) = grants.iter().find(|g| !PUBLIC_GRANTS.contains(g)) {
            return invalid(format!(
                "a public client has no secret, so it may not use the {g} grant (only authorization_code and refresh_token)"
            ));
        }
        if !spec.roles.is_empty() {
            return invalid(
                "a public client gets no client-credentials tokens: its tokens carry the signed-in user's roles, so it takes none".into(),
            );
        }
    }
    let code = grants.contains(&GrantType::AuthorizationCode);
    if code && spec.redirect_uris.is_empty() {
        return invalid("the authorization_code grant needs at least one redirect URI".into());
    }
    if !code && !spec.redirect_uris.is_empty() {
        return invalid("redirect URIs are for clients of the authorization_code grant".into());
    }
    if spec.redirect_uris.len() > MAX_REDIRECT_URIS {
        return invalid(format!(
            "a client has at most {MAX_REDIRECT_URIS} redirect URIs"
        ));
    }
    for uri in &spec.redirect_uris {
        crate::redirect_uri::check(uri).map_err(|e| ClientError::Invalid(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
