//! The signing keys kept in the store when the deployment gives none: the current private key,
//! which only what signs reads, and the public keys of every key whose tokens may still be in
//! use, which every verifier reads.
//!
//! - `meta#signing-key` / `#`: `secret`, the current ES256 private key (PKCS#8 PEM). In the
//!   cloud only the token function's role may read this item (template.yaml denies it to every
//!   other function).
//! - `meta#public-keys` / `#`: `keys`, a list of `{kid, jwk, created, retire_at}` (the public
//!   JWK; `retire_at` unset for the current key), and `version`, which every write of the list
//!   checks and increments.
//!
//! A key is created (private item and its public entry in one transaction) by the first process
//! that signs. [`KeyStore::rotate`] makes a new key current in one transaction that also gives
//! the previous keys a retirement time: tokens they signed stay valid until they expire, and
//! the keys are dropped from the list at the next rotation after that. A store written before
//! public keys were kept apart gets its current key published the first time it is loaded for
//! signing ([`KeyStore::signing_key`]).

use std::fmt;
use std::sync::Arc;

use jsonapi_store::{Attrs, Condition, Item, Key, Store, StoreError, Write};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Clock;
use crate::keys::{KeyError, SigningKey, VerifyingKey};

/// The partition of the private key's item.
pub const SIGNING_KEY_PK: &str = "meta#signing-key";
/// The partition of the public keys' item.
pub const PUBLIC_KEYS_PK: &str = "meta#public-keys";
/// Added to a retiring key's last token lifetime: the verifiers' clock leeway and the time a
/// signing process may take to notice a rotation.
pub const RETIRE_MARGIN: u64 = 60;
/// Attempts of a write that keeps meeting concurrent writers.
const ATTEMPTS: usize = 4;

fn private_key() -> Key {
    Key::new(SIGNING_KEY_PK, "#")
}

fn public_keys() -> Key {
    Key::new(PUBLIC_KEYS_PK, "#")
}

/// One published public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedKey {
    /// Its key id (RFC 7638 thumbprint).
    pub kid: String,
    /// The public JWK.
    pub jwk: Value,
    /// When it was made (epoch seconds).
    pub created: u64,
    /// When tokens it signed can no longer be valid (epoch seconds); `None` for the current key.
    #[serde(default)]
    pub retire_at: Option<u64>,
}

impl PublishedKey {
    fn of(key: &SigningKey, now: u64) -> Result<Self, KeyStoreError> {
        let verifying = key.verifying_key();
        let (Some(kid), Some(jwk)) = (verifying.key_id(), verifying.public_jwk()) else {
            return Err(KeyStoreError::Key(KeyError::Unsupported(
                "a stored signing key must have a public half".into(),
            )));
        };
        Ok(Self {
            kid: kid.to_owned(),
            jwk,
            created: now,
            retire_at: None,
        })
    }

    /// Whether tokens it signed may still be valid at `now`.
    pub fn in_use(&self, now: u64) -> bool {
        self.retire_at.is_none_or(|at| at > now)
    }

    /// The key that checks its tokens.
    ///
    /// # Errors
    /// The stored JWK is unusable.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        VerifyingKey::from_public_jwk(&self.jwk)
    }
}

/// The published keys and the version of their item (0: no item yet).
#[derive(Debug, Clone, Default)]
struct Published {
    keys: Vec<PublishedKey>,
    version: u64,
}

impl Published {
    fn write(&self) -> Write {
        let mut attrs = Attrs::new();
        attrs.insert(
            "keys".into(),
            serde_json::to_value(&self.keys).unwrap_or_default(),
        );
        attrs.insert("version".into(), (self.version + 1).into());
        let condition = if self.version == 0 {
            Condition::Absent
        } else {
            Condition::Equals {
                name: "version".into(),
                value: self.version.into(),
            }
        };
        Write::Put {
            item: Item {
                key: public_keys(),
                attrs,
            },
            condition: Some(condition),
        }
    }
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The new current key.
    pub current: String,
    /// The previous keys still published, with their retirement times.
    pub retiring: Vec<(String, u64)>,
}

/// Why the stored keys could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored key is unreadable.
    #[error("the stored signing key is unusable: {0}")]
    Key(#[from] KeyError),
}

/// The keys kept in a store.
pub struct KeyStore<S> {
    store: Arc<S>,
    clock: Clock,
}

impl<S> fmt::Debug for KeyStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyStore").finish_non_exhaustive()
    }
}

fn pem_of(item: Option<&Item>) -> Option<&str> {
    item.and_then(|i| i.attrs.get("secret"))
        .and_then(Value::as_str)
}

fn generate() -> Result<(SigningKey, String), KeyStoreError> {
    let key = SigningKey::generate_es256()?;
    let pem = key.to_pem().ok_or_else(|| {
        KeyStoreError::Key(KeyError::Unsupported("an ES256 key has a PEM form".into()))
    })?;
    Ok((key, pem.expose().to_owned()))
}

fn private_item(pem: String) -> Item {
    let mut attrs = Attrs::new();
    attrs.insert("secret".into(), pem.into());
    Item {
        key: private_key(),
        attrs,
    }
}

impl<S: Store> KeyStore<S> {
    /// The keys kept in `store`.
    pub fn new(store: Arc<S>) -> Self {
        Self {
            store,
            clock: Clock::system(),
        }
    }

    /// Sets the clock (creation and retirement times).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The published keys, retired ones included (a reader filters with
    /// [`PublishedKey::in_use`]). Never reads the private key.
    ///
    /// # Errors
    /// A store failure.
    pub async fn published(&self) -> Result<Vec<PublishedKey>, KeyStoreError> {
        Ok(self.read_published().await?.keys)
    }

    async fn read_published(&self) -> Result<Published, KeyStoreError> {
        let Some(item) = self.store.get(&public_keys()).await? else {
            return Ok(Published::default());
        };
        let keys = item
            .attrs
            .get("keys")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| KeyError::Jwk(format!("the published keys are unreadable: {e}")))?
            .unwrap_or_default();
        let version = item
            .attrs
            .get("version")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        Ok(Published { keys, version })
    }

    /// The current private key as it is stored now (`None` when there is none), without
    /// touching the public keys: what a signing process re-reads to notice a rotation.
    ///
    /// # Errors
    /// A store failure or an unreadable key.
    pub async fn current(&self) -> Result<Option<SigningKey>, KeyStoreError> {
        let item = self.store.get(&private_key()).await?;
        Ok(pem_of(item.as_ref())
            .map(SigningKey::from_pem)
            .transpose()?)
    }

    /// The current signing key, loaded to sign with: created (with its public key published)
    /// when there is none and `create`; published when a store written before public keys were
    /// kept apart holds it alone.
    ///
    /// # Errors
    /// A store failure or an unreadable key.
    pub async fn signing_key(&self, create: bool) -> Result<Option<SigningKey>, KeyStoreError> {
        for _ in 0..ATTEMPTS {
            let mut published = self.read_published().await?;
            let now = self.clock.now();
            if let Some(key) = self.current().await? {
                let kid = key.key_id().unwrap_or_default();
                if published.keys.iter().any(|k| k.kid == kid) {
                    return Ok(Some(key));
                }
                published.keys.push(PublishedKey::of(&key, now)?);
                match self.store.transact(vec![published.write()]).await {
                    Ok(()) => {
                        tracing::info!(kid, "published the public key of the stored signing key");
                        return Ok(Some(key));
                    }
                    Err(StoreError::ConditionFailed { .. } | StoreError::Conflict) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            if !create {
                return Ok(None);
            }
            let (key, pem) = generate()?;
            published.keys.push(PublishedKey::of(&key, now)?);
            let writes = vec![
                Write::Put {
                    item: private_item(pem),
                    condition: Some(Condition::Absent),
                },
                published.write(),
            ];
            match self.store.transact(writes).await {
                Ok(()) => {
                    tracing::info!(kid = key.key_id(), "signing key created");
                    return Ok(Some(key));
                }
                // Another process created one first: read it.
                Err(StoreError::ConditionFailed { .. } | StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Makes a new key current. The previous keys stay published until `retire_after`
    /// seconds (the longest lifetime of a token they signed) plus [`RETIRE_MARGIN`] from now,
    /// or until the retirement they already had; `0` retires them now (a leaked key). Keys
    /// retired before now are dropped. With no key yet, the first one is made.
    ///
    /// # Errors
    /// A store failure or an unreadable stored key.
    pub async fn rotate(&self, retire_after: u64) -> Result<Rotation, KeyStoreError> {
        for _ in 0..ATTEMPTS {
            let Some(old) = self.store.get(&private_key()).await? else {
                let key = self.signing_key(true).await?;
                return Ok(Rotation {
                    current: key
                        .and_then(|k| k.key_id().map(str::to_owned))
                        .unwrap_or_default(),
                    retiring: Vec::new(),
                });
            };
            let old_pem = pem_of(Some(&old)).unwrap_or_default().to_owned();
            let old_key = SigningKey::from_pem(&old_pem)?;
            let mut published = self.read_published().await?;
            let now = self.clock.now();
            // Retiring at once (a leaked key) means now, margin or not.
            let retire_at = if retire_after == 0 {
                now
            } else {
                now + retire_after + RETIRE_MARGIN
            };
            if !published
                .keys
                .iter()
                .any(|k| Some(k.kid.as_str()) == old_key.key_id())
            {
                published.keys.push(PublishedKey::of(&old_key, now)?);
            }
            published.keys.retain(|k| k.in_use(now));
            for k in &mut published.keys {
                k.retire_at = Some(k.retire_at.map_or(retire_at, |at| at.min(retire_at)));
            }
            let (key, pem) = generate()?;
            let current = PublishedKey::of(&key, now)?;
            let rotation = Rotation {
                current: current.kid.clone(),
                retiring: published
                    .keys
                    .iter()
                    .map(|k| (k.kid.clone(), k.retire_at.unwrap_or(retire_at)))
                    .collect(),
            };
            published.keys.push(current);
            let writes = vec![
                Write::Put {
                    item: private_item(pem),
                    condition: Some(Condition::Equals {
                        name: "secret".into(),
                        value: old_pem.into(),
                    }),
                },
                published.write(),
            ];
            match self.store.transact(writes).await {
                Ok(()) => {
                    tracing::info!(kid = %rotation.current, "signing key rotated");
                    return Ok(rotation);
                }
                Err(StoreError::ConditionFailed { .. } | StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }
}

#[cfg(test)]
mod tests {
    use jsonapi_store_redb::RedbStore;

    use super::*;

    fn keys() -> (
        tempfile::TempDir,
        Arc<RedbStore>,
        KeyStore<RedbStore>,
        Clock,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(RedbStore::open(dir.path()).unwrap());
        let clock = Clock::manual(1_700_000_000);
        let keys = KeyStore::new(Arc::clone(&store)).with_clock(clock.clone());
        (dir, store, keys, clock)
    }

    #[tokio::test]
    async fn the_first_key_is_made_with_its_public_half_published_apart() {
        let (_dir, store, keys, _) = keys();
        assert!(keys.signing_key(false).await.unwrap().is_none());
        assert!(keys.published().await.unwrap().is_empty());
        let key = keys.signing_key(true).await.unwrap().unwrap();
        let published = keys.published().await.unwrap();
        assert_eq!(published.len(), 1);
        assert_eq!(Some(published[0].kid.as_str()), key.key_id());
        assert_eq!(published[0].retire_at, None);
        // The public item holds no private part.
        let item = store.get(&public_keys()).await.unwrap().unwrap();
        let text = serde_json::to_string(&item.attrs).unwrap();
        assert!(
            !text.contains("PRIVATE") && !text.contains("\"d\""),
            "{text}"
        );
        // Loading again finds the same key.
        let again = keys.signing_key(true).await.unwrap().unwrap();
        assert_eq!(again.key_id(), key.key_id());
        assert_eq!(
            keys.current().await.unwrap().unwrap().key_id(),
            key.key_id()
        );
    }

    #[tokio::test]
    async fn a_key_stored_before_public_keys_were_kept_apart_is_published_when_loaded() {
        let (_dir, store, keys, _) = keys();
        let (key, pem) = generate().unwrap();
        store
            .transact(vec![Write::Put {
                item: private_item(pem),
                condition: None,
            }])
            .await
            .unwrap();
        assert!(keys.published().await.unwrap().is_empty());
        assert_eq!(
            keys.signing_key(false).await.unwrap().unwrap().key_id(),
            key.key_id()
        );
        assert_eq!(
            keys.published().await.unwrap()[0].kid,
            key.key_id().unwrap()
        );
    }

    #[tokio::test]
    async fn rotation_keeps_previous_keys_until_their_tokens_expire() {
        let (_dir, _store, keys, clock) = keys();
        let first = keys.signing_key(true).await.unwrap().unwrap();
        let first_kid = first.key_id().unwrap().to_owned();
        let rotation = keys.rotate(3600).await.unwrap();
        assert_ne!(rotation.current, first_kid);
        let retire_at = clock.now() + 3600 + RETIRE_MARGIN;
        assert_eq!(rotation.retiring, [(first_kid.clone(), retire_at)]);
        assert_eq!(
            keys.current().await.unwrap().unwrap().key_id(),
            Some(rotation.current.as_str())
        );
        let published = keys.published().await.unwrap();
        assert_eq!(published.len(), 2);
        assert!(published[0].in_use(retire_at - 1));
        assert!(!published[0].in_use(retire_at));
        assert!(published[1].in_use(u64::MAX));

        // A second rotation before the first key retires keeps both previous keys, the first
        // with its earlier retirement; after it, the first key is dropped.
        clock.advance(60);
        let second = keys.rotate(3600).await.unwrap();
        assert_eq!(second.retiring.len(), 2);
        assert_eq!(second.retiring[0], (first_kid.clone(), retire_at));
        clock.set(retire_at);
        let third = keys.rotate(3600).await.unwrap();
        let kids: Vec<&str> = third.retiring.iter().map(|(k, _)| k.as_str()).collect();
        assert!(!kids.contains(&first_kid.as_str()), "{kids:?}");
        assert_eq!(keys.published().await.unwrap().len(), 3);

        // Retiring at once (a leaked key): every previous key's tokens stop now.
        let now = clock.now();
        let emergency = keys.rotate(0).await.unwrap();
        assert!(emergency.retiring.iter().all(|(_, at)| *at == now));
        assert_eq!(
            keys.published()
                .await
                .unwrap()
                .iter()
                .filter(|k| k.in_use(now))
                .count(),
            1
        );
    }

    #[tokio::test]
    async fn rotating_an_empty_store_makes_the_first_key() {
        let (_dir, _store, keys, _) = keys();
        let rotation = keys.rotate(3600).await.unwrap();
        assert!(rotation.retiring.is_empty());
        assert_eq!(
            keys.current().await.unwrap().unwrap().key_id(),
            Some(rotation.current.as_str())
        );
    }
}
