//! Checking bearer tokens against keys that change: ours, read from the store (the current key
//! and the previous ones whose tokens may still be valid, [`crate::stored_keys`]), and external
//! issuers', given inline or fetched from their `jwks_uri` or OpenID discovery
//! ([`crate::jwks_fetch`]).
//!
//! [`Verifier::verify`] checks a token against the keys it holds. A token whose `kid` is unknown
//! makes it read the keys of the issuer the token claims again, at most once per
//! [`Refresh::own`] (ours) or [`Refresh::external`] (an external issuer's) and then only when
//! that issuer's keys can change: so a rotation is picked up by the first token signed with the
//! new key, and a flood of made-up `kid`s costs the store or the provider one read per interval.
//! Besides, our keys are read again once they are [`OWN_MAX_AGE`] old (a key retired early
//! stops working within that time) and fetched keys once they are [`JWKS_MAX_AGE`] old; a fetch
//! that fails keeps the keys held.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonapi_store::Store;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::jwks_fetch::{self, FetchError};
use crate::jwt::{ExternalIssuer, Principal, TokenError, TokenVerifier, claimed_issuer};
use crate::keys::VerifyingKey;
use crate::stored_keys::{KeyStore, KeyStoreError, PublishedKey};

/// Our stored keys are read again when they are this old.
pub const OWN_MAX_AGE: Duration = Duration::from_secs(60);
/// Fetched keys are fetched again when they are this old.
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(3600);

/// Where an external issuer's keys come from, when not inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksLocation {
    /// A JWKS document's URL.
    Uri(String),
    /// The `jwks_uri` of `{issuer}/.well-known/openid-configuration`.
    Discovery,
}

/// An external issuer whose tokens are accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalSource {
    /// The issuer; its `jwks` are the inline keys, or empty until fetched.
    pub issuer: ExternalIssuer,
    /// Where its keys are fetched from; `None` when they are inline.
    pub fetch: Option<JwksLocation>,
}

/// Our keys: one given by the deployment, or those kept in the store.
#[derive(Debug, Clone)]
pub enum OwnKeys {
    /// A key that never changes (the environment's).
    Fixed(Box<VerifyingKey>),
    /// The published keys in the store.
    Stored,
}

/// The shortest time between two reads of an issuer's keys for an unknown `kid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refresh {
    /// Our keys (a store read).
    pub own: Duration,
    /// An external issuer's (an HTTPS request to it).
    pub external: Duration,
}

impl Default for Refresh {
    fn default() -> Self {
        Self {
            own: Duration::from_secs(5),
            external: Duration::from_secs(60),
        }
    }
}

/// At most one pass per interval.
#[derive(Debug)]
struct Gate {
    interval: Duration,
    last: Mutex<Option<Instant>>,
}

impl Gate {
    fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(None),
        }
    }

    fn pass(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let open = last.is_none_or(|at| at.elapsed() >= self.interval);
        if open {
            *last = Some(Instant::now());
        }
        open
    }
}

/// The keys held now, and the verifier built from them.
#[derive(Clone)]
struct Keys {
    verifier: TokenVerifier,
    /// Our published keys as last read, and when.
    own: Vec<PublishedKey>,
    own_read: Instant,
    /// Per external source: its keys (inline, or as last fetched), the last fetch attempt, and
    /// the `jwks_uri` discovery found.
    jwks: Vec<Value>,
    attempted: Vec<Option<Instant>>,
    discovered: Vec<Option<String>>,
}

/// Whose keys to read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Own,
    External(usize),
}

/// Checks our tokens and external issuers' with keys that may change.
pub struct Verifier<S> {
    keys_store: KeyStore<S>,
    issuer: String,
    audience: String,
    own: OwnKeys,
    external: Vec<ExternalSource>,
    clock: Clock,
    keys: RwLock<Arc<Keys>>,
    /// One refresh at a time; the others wait for it and use its keys.
    refreshing: tokio::sync::Mutex<()>,
    own_gate: Gate,
    external_gates: Vec<Gate>,
}

impl<S> std::fmt::Debug for Verifier<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .field("own", &self.own)
            .field("external", &self.external)
            .finish_non_exhaustive()
    }
}

impl<S: Store> Verifier<S> {
    /// A verifier of our tokens (`issuer`, `audience`, `own` keys) and of `external` issuers';
    /// stored keys are read now, fetched ones when first needed.
    ///
    /// # Errors
    /// The stored keys cannot be read.
    pub async fn load(
        store: Arc<S>,
        issuer: &str,
        audience: &str,
        own: OwnKeys,
        external: Vec<ExternalSource>,
        refresh: Refresh,
    ) -> Result<Self, KeyStoreError> {
        let keys_store = KeyStore::new(store);
        let own_keys = match own {
            OwnKeys::Stored => keys_store.published().await?,
            OwnKeys::Fixed(_) => Vec::new(),
        };
        let verifier = Self {
            keys_store,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            external_gates: external
                .iter()
                .map(|_| Gate::new(refresh.external))
                .collect(),
            own,
            clock: Clock::system(),
            keys: RwLock::new(Arc::new(Keys {
                verifier: TokenVerifier::without_keys(issuer, audience),
                own: own_keys,
                own_read: Instant::now(),
                jwks: external.iter().map(|e| e.issuer.jwks.clone()).collect(),
                attempted: external.iter().map(|_| None).collect(),
                discovered: external.iter().map(|_| None).collect(),
            })),
            external,
            refreshing: tokio::sync::Mutex::new(()),
            own_gate: Gate::new(refresh.own),
        };
        let keys = verifier.snapshot();
        verifier.install(Keys {
            verifier: verifier.build(&keys.own, &keys.jwks),
            ..(*keys).clone()
        });
        Ok(verifier)
    }

    /// Sets the clock (key retirement).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn snapshot(&self) -> Arc<Keys> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn install(&self, keys: Keys) {
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
    }

    /// The verifier of these keys: ours in use now (the current one first), then each
    /// external issuer's usable keys (an issuer whose document holds none is left out, and
    /// logged).
    fn build(&self, own: &[PublishedKey], jwks: &[Value]) -> TokenVerifier {
        let mut verifier = match &self.own {
            OwnKeys::Fixed(key) => {
                TokenVerifier::new((**key).clone(), &self.issuer, &self.audience)
            }
            OwnKeys::Stored => TokenVerifier::without_keys(&self.issuer, &self.audience),
        };
        let now = self.clock.now();
        let mut in_use: Vec<&PublishedKey> = own.iter().filter(|k| k.in_use(now)).collect();
        in_use.sort_by_key(|k| k.retire_at.is_some());
        for published in in_use {
            match published
                .verifying_key()
                .and_then(|key| verifier.clone().with_key(key))
            {
                Ok(with) => verifier = with,
                Err(e) => {
                    tracing::error!(kid = %published.kid, error = %e, "a published key is unusable")
                }
            }
        }
        for (source, jwks) in self.external.iter().zip(jwks) {
            if jwks
                .get("keys")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            {
                continue;
            }
            let issuer = ExternalIssuer {
                jwks: jwks.clone(),
                ..source.issuer.clone()
            };
            match verifier.clone().with_external(&issuer) {
                Ok(with) => verifier = with,
                Err(e) => {
                    tracing::error!(issuer = %issuer.issuer, error = %e, "an external issuer's keys are unusable");
                }
            }
        }
        verifier
    }

    /// The JWKS document of our keys in use (empty for an HS256 secret).
    pub fn jwks(&self) -> Value {
        match &self.own {
            OwnKeys::Fixed(key) => key.jwks(),
            OwnKeys::Stored => {
                let now = self.clock.now();
                let held = self.snapshot();
                let keys: Vec<&Value> = held
                    .own
                    .iter()
                    .filter(|k| k.in_use(now))
                    .map(|k| &k.jwk)
                    .collect();
                json!({ "keys": keys })
            }
        }
    }

    /// Reads our stored keys again now (after this process made or rotated one).
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn reload_own(&self) -> Result<(), KeyStoreError> {
        let _one = self.refreshing.lock().await;
        self.refresh_own().await
    }

    /// Checks a bearer token (without the `Bearer ` prefix).
    ///
    /// # Errors
    /// Why the token is refused.
    pub async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        self.renew_stale().await;
        let keys = self.snapshot();
        let verdict = keys.verifier.verify(token);
        if verdict != Err(TokenError::UnknownKey) {
            return verdict;
        }
        let Some(source) = claimed_issuer(token).and_then(|iss| self.source_of(&iss)) else {
            return verdict;
        };
        let _one = self.refreshing.lock().await;
        // Keys another request read while this one waited are fresh enough.
        if Arc::ptr_eq(&keys, &self.snapshot()) {
            let gate = match source {
                Source::Own => &self.own_gate,
                Source::External(i) => &self.external_gates[i],
            };
            if !gate.pass() {
                tracing::debug!(
                    ?source,
                    "unknown key id; keys read too recently to read again"
                );
                return verdict;
            }
            self.refresh(source).await;
        }
        self.snapshot().verifier.verify(token)
    }

    /// Whose keys may change, by the issuer a token claims.
    fn source_of(&self, issuer: &str) -> Option<Source> {
        if issuer == self.issuer {
            return matches!(self.own, OwnKeys::Stored).then_some(Source::Own);
        }
        self.external
            .iter()
            .position(|e| e.issuer.issuer == issuer && e.fetch.is_some())
            .map(Source::External)
    }

    /// Reads keys that are due: ours after [`OWN_MAX_AGE`] or once one of them retires, an
    /// issuer's never fetched or fetched [`JWKS_MAX_AGE`] ago.
    async fn renew_stale(&self) {
        let due = |keys: &Keys| -> Vec<Source> {
            let now = self.clock.now();
            let mut due = Vec::new();
            let retired = keys
                .own
                .iter()
                .any(|k| k.retire_at.is_some_and(|at| at <= now));
            if matches!(self.own, OwnKeys::Stored)
                && (keys.own_read.elapsed() >= OWN_MAX_AGE || retired)
            {
                due.push(Source::Own);
            }
            for (i, source) in self.external.iter().enumerate() {
                if source.fetch.is_some()
                    && keys.attempted[i].is_none_or(|at| at.elapsed() >= JWKS_MAX_AGE)
                {
                    due.push(Source::External(i));
                }
            }
            due
        };
        if due(&self.snapshot()).is_empty() {
            return;
        }
        let _one = self.refreshing.lock().await;
        for source in due(&self.snapshot()) {
            self.refresh(source).await;
        }
    }

    /// Reads one source's keys again and installs them; a failure keeps the keys held (and is
    /// logged). Called with `refreshing` held.
    async fn refresh(&self, source: Source) {
        match source {
            Source::Own => {
                if let Err(e) = self.refresh_own().await {
                    tracing::warn!(error = %e, "our published keys could not be read again");
                }
            }
            Source::External(i) => self.refetch(i).await,
        }
    }

    async fn refresh_own(&self) -> Result<(), KeyStoreError> {
        let keys = self.snapshot();
        let own = match self.keys_store.published().await {
            Ok(own) => own,
            Err(e) => {
                // Try again after the usual age, not at every request.
                self.install(Keys {
                    own_read: Instant::now(),
                    ..(*keys).clone()
                });
                return Err(e);
            }
        };
        let now = self.clock.now();
        let own: Vec<PublishedKey> = own.into_iter().filter(|k| k.in_use(now)).collect();
        self.install(Keys {
            verifier: self.build(&own, &keys.jwks),
            own,
            own_read: Instant::now(),
            ..(*keys).clone()
        });
        Ok(())
    }

    async fn refetch(&self, i: usize) {
        let keys = self.snapshot();
        let source = &self.external[i];
        let mut discovered = keys.discovered.clone();
        let fetched = self
            .fetch(source, &mut discovered[i])
            .await
            .and_then(|jwks| {
                // Only a document with usable keys replaces the keys held.
                let issuer = ExternalIssuer {
                    jwks: jwks.clone(),
                    ..source.issuer.clone()
                };
                TokenVerifier::without_keys(&self.issuer, &self.audience)
                    .with_external(&issuer)
                    .map(|_| jwks)
                    .map_err(|e| FetchError::Document(e.to_string()))
            });
        let mut jwks = keys.jwks.clone();
        match fetched {
            Ok(document) => {
                tracing::info!(issuer = %source.issuer.issuer, "fetched the issuer's keys");
                jwks[i] = document;
            }
            Err(e) => {
                tracing::warn!(issuer = %source.issuer.issuer, error = %e, "the issuer's keys could not be fetched; keeping those held");
            }
        }
        let mut attempted = keys.attempted.clone();
        attempted[i] = Some(Instant::now());
        self.install(Keys {
            verifier: self.build(&keys.own, &jwks),
            jwks,
            attempted,
            discovered,
            ..(*keys).clone()
        });
    }

    async fn fetch(
        &self,
        source: &ExternalSource,
        discovered: &mut Option<String>,
    ) -> Result<Value, FetchError> {
        let uri = match &source.fetch {
            Some(JwksLocation::Uri(uri)) => uri.clone(),
            Some(JwksLocation::Discovery) => match discovered {
                Some(uri) => uri.clone(),
                None => {
                    let uri = jwks_fetch::discover_jwks_uri(&source.issuer.issuer).await?;
                    *discovered = Some(uri.clone());
                    uri
                }
            },
            None => return Ok(source.issuer.jwks.clone()),
        };
        jwks_fetch::jwks(&uri).await
    }
}

#[cfg(test)]
mod tests;
