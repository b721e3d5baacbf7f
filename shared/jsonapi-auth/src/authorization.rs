//! What a user's sign-in at the authorization endpoint grants a client, kept in the store until
//! it is used once: first a consent ticket (the user signed in and has not answered the consent
//! question yet), then an authorization code (the user allowed the client).
//!
//! Both are opaque random strings; the store keeps only their SHA-256, under
//! `auth#consent#{hash}` and `auth#code#{hash}` (sort key `#`), with the [`Authorization`], an
//! `expires` time and the TTL attribute. Taking one deletes it under the condition that it is
//! still there, so two requests racing with the same code cannot both get it.

use std::fmt;
use std::sync::Arc;

use jsonapi_store::{Attrs, Condition, Item, Key, Store, StoreError, Write};

use crate::TTL_ATTRIBUTE;
use crate::clock::Clock;
use crate::secret::SecretString;
use crate::util::{random_token, sha256_b64, str_attr, u64_attr};

/// How long an authorization code can be exchanged (RFC 6749 §4.1.2 recommends at most ten
/// minutes; a client exchanges it at once).
pub const CODE_TTL: u64 = 60;
/// How long a signed-in user has to answer the consent question.
pub const CONSENT_TTL: u64 = 600;
/// Random bytes in a code or a ticket (43 URL-safe base64 characters).
const TOKEN_BYTES: usize = 32;
/// Longer presented codes are unknown without a lookup.
const MAX_TOKEN_CHARS: usize = 256;

/// The step an authorization is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Signed in, waiting for the user's consent.
    Consent,
    /// Consented: an authorization code waiting for the client's token request.
    Code,
}

impl Stage {
    fn key(self, token: &str) -> Key {
        let kind = match self {
            Self::Consent => "consent",
            Self::Code => "code",
        };
        Key::new(format!("auth#{kind}#{}", sha256_b64(token)), "#")
    }

    fn ttl(self) -> u64 {
        match self {
            Self::Consent => CONSENT_TTL,
            Self::Code => CODE_TTL,
        }
    }
}

/// What a user granted a client: bound to the client, the redirect URI and the PKCE challenge
/// of the authorization request, and to the user's password at sign-in (its credential stamp).
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The client the code is for.
    pub client_id: String,
    /// The redirect URI of the request; the token request must name the same.
    pub redirect_uri: String,
    /// The S256 `code_challenge`, when the request had one.
    pub code_challenge: Option<String>,
    /// The client's `state`, sent back with the code.
    pub state: Option<String>,
    /// The user who signed in.
    pub user_id: String,
    /// The name the user signed in with (shown on the consent page).
    pub username: String,
    /// The user's credential stamp at sign-in.
    pub stamp: String,
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl Authorization {
    fn attrs(&self, expires: u64) -> Attrs {
        let mut a = Attrs::new();
        a.insert("client_id".into(), self.client_id.clone().into());
        a.insert("redirect_uri".into(), self.redirect_uri.clone().into());
        if let Some(challenge) = &self.code_challenge {
            a.insert("code_challenge".into(), challenge.clone().into());
        }
        if let Some(state) = &self.state {
            a.insert("state".into(), state.clone().into());
        }
        a.insert("user_id".into(), self.user_id.clone().into());
        a.insert("username".into(), self.username.clone().into());
        a.insert("stamp".into(), self.stamp.clone().into());
        a.insert("expires".into(), expires.into());
        a.insert(TTL_ATTRIBUTE.into(), expires.into());
        a
    }

    fn from_attrs(attrs: &Attrs) -> Self {
        let text = |name| str_attr(attrs, name).unwrap_or_default().to_owned();
        Self {
            client_id: text("client_id"),
            redirect_uri: text("redirect_uri"),
            code_challenge: str_attr(attrs, "code_challenge").map(str::to_owned),
            state: str_attr(attrs, "state").map(str::to_owned),
            user_id: text("user_id"),
            username: text("username"),
            stamp: text("stamp"),
        }
    }
}

/// Why a code or ticket cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    /// Never issued, already used, or long expired.
    #[error("unknown or already used")]
    Unknown,
    /// Issued, and expired.
    #[error("expired")]
    Expired,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The consent tickets and authorization codes in a store.
pub struct Authorizations<S> {
    store: Arc<S>,
    clock: Clock,
}

impl<S> fmt::Debug for Authorizations<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizations").finish_non_exhaustive()
    }
}

impl<S: Store> Authorizations<S> {
    /// The authorizations kept in `store`.
    pub fn new(store: Arc<S>) -> Self {
        Self {
            store,
            clock: Clock::system(),
        }
    }

    /// Sets the clock (expiry).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Keeps `authorization` for `stage` and returns the token that takes it.
    ///
    /// # Errors
    /// A store failure.
    pub async fn issue(
        &self,
        stage: Stage,
        authorization: &Authorization,
    ) -> Result<SecretString, StoreError> {
        let expires = self.clock.now() + stage.ttl();
        // A fresh 256-bit token collides with probability 2^-256; retry once anyway.
        for _ in 0..2 {
            let token = SecretString::new(random_token(TOKEN_BYTES));
            let put = Write::Put {
                item: Item {
                    key: stage.key(token.expose()),
                    attrs: authorization.attrs(expires),
                },
                condition: Some(Condition::Absent),
            };
            match self.store.transact(vec![put]).await {
                Ok(()) => return Ok(token),
                Err(StoreError::ConditionFailed { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    /// Takes the authorization kept for `stage` under `token`: it is gone from the store
    /// afterwards, whatever the outcome, so a token works once.
    ///
    /// # Errors
    /// Unknown (or taken before), expired, or a store failure.
    pub async fn take(&self, stage: Stage, token: &str) -> Result<Authorization, TakeError> {
        if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
            return Err(TakeError::Unknown);
        }
        let key = stage.key(token);
        let Some(item) = self.store.get(&key).await? else {
            return Err(TakeError::Unknown);
        };
        let delete = Write::Delete {
            key,
            condition: Some(Condition::Present),
        };
        match self.store.transact(vec![delete]).await {
            Ok(()) => {}
            // Another request took it between the read and the delete.
            Err(StoreError::ConditionFailed { .. }) => return Err(TakeError::Unknown),
            Err(e) => return Err(e.into()),
        }
        if u64_attr(&item.attrs, "expires").unwrap_or(0) <= self.clock.now() {
            return Err(TakeError::Expired);
        }
        Ok(Authorization::from_attrs(&item.attrs))
    }
}

#[cfg(test)]
mod tests {
    use jsonapi_store_redb::RedbStore;

    use super::*;

    fn authorization() -> Authorization {
        Authorization {
            client_id: "app".into(),
            redirect_uri: "https://app.example/cb".into(),
            code_challenge: Some(crate::pkce::s256_challenge(&"v".repeat(43))),
            state: Some("xyz".into()),
            user_id: "1".into(),
            username: "alice".into(),
            stamp: "stamp".into(),
        }
    }

    fn kept() -> (
        tempfile::TempDir,
        Arc<RedbStore>,
        Authorizations<RedbStore>,
        Clock,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(RedbStore::open(dir.path()).unwrap());
        let clock = Clock::manual_now();
        let kept = Authorizations::new(Arc::clone(&store)).with_clock(clock.clone());
        (dir, store, kept, clock)
    }

    #[tokio::test]
    async fn a_code_is_taken_once_and_only_its_digest_is_stored() {
        let (_dir, store, kept, _) = kept();
        let code = kept.issue(Stage::Code, &authorization()).await.unwrap();
        let item = store
            .get(&Stage::Code.key(code.expose()))
            .await
            .unwrap()
            .unwrap();
        assert!(
            !serde_json::to_string(&item.attrs)
                .unwrap()
                .contains(code.expose())
        );
        assert!(item.key.pk.starts_with("auth#code#"));
        assert_eq!(
            kept.take(Stage::Code, code.expose()).await.unwrap(),
            authorization()
        );
        assert!(matches!(
            kept.take(Stage::Code, code.expose()).await,
            Err(TakeError::Unknown)
        ));
        // A code is no consent ticket, nor the other way round.
        let ticket = kept.issue(Stage::Consent, &authorization()).await.unwrap();
        assert!(matches!(
            kept.take(Stage::Code, ticket.expose()).await,
            Err(TakeError::Unknown)
        ));
        assert!(kept.take(Stage::Consent, ticket.expose()).await.is_ok());
        assert!(matches!(
            kept.take(Stage::Code, "").await,
            Err(TakeError::Unknown)
        ));
    }

    #[tokio::test]
    async fn codes_live_sixty_seconds_and_an_expired_one_is_spent_too() {
        let (_dir, _store, kept, clock) = kept();
        let code = kept.issue(Stage::Code, &authorization()).await.unwrap();
        clock.advance(CODE_TTL - 1);
        let fresh = kept.issue(Stage::Code, &authorization()).await.unwrap();
        assert!(kept.take(Stage::Code, code.expose()).await.is_ok());
        clock.advance(CODE_TTL);
        assert!(matches!(
            kept.take(Stage::Code, fresh.expose()).await,
            Err(TakeError::Expired)
        ));
        assert!(matches!(
            kept.take(Stage::Code, fresh.expose()).await,
            Err(TakeError::Unknown)
        ));
    }

    #[tokio::test]
    async fn of_two_racing_takes_one_wins() {
        let (_dir, _store, kept, _) = kept();
        let kept = Arc::new(kept);
        for _ in 0..10 {
            let code = kept.issue(Stage::Code, &authorization()).await.unwrap();
            let (a, b) = tokio::join!(
                kept.take(Stage::Code, code.expose()),
                kept.take(Stage::Code, code.expose())
            );
            assert_eq!(
                usize::from(a.is_ok()) + usize::from(b.is_ok()),
                1,
                "{a:?} {b:?}"
            );
        }
    }
}
