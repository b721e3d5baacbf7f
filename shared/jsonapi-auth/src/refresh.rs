//! Rotating refresh tokens.
//!
//! A refresh token is an opaque random string; the store keeps only its SHA-256:
//! - `auth#refresh#{hash}` / `#`: `family`, `subject`, `client_id`, `roles`, `expires`, `used`,
//!   and `stamp`, the credential stamp of the user at sign-in ([`crate::User::credential_stamp`]),
//!   which the token endpoint compares with the user's current one;
//! - `auth#family#{id}` / `#`: `revoked`, `subject`, `client_id`.
//!
//! Using a token ([`RefreshTokens::rotate`]) marks it used and issues the next token of the same
//! family in one transaction whose conditions are: the old token is still unused, the family
//! is not revoked, the new token is new. Two concurrent rotations of one token therefore
//! cannot both succeed. A used token presented again (by a thief or by the slower of two racing
//! requests) revokes its whole family: every token of it is dead from then on.

use std::fmt;
use std::sync::Arc;

use jsonapi_store::{Attrs, Condition, Item, Key, Store, StoreError, Write};
use serde_json::Value;

use crate::TTL_ATTRIBUTE;
use crate::clock::Clock;
use crate::secret::SecretString;
use crate::util::{
    bool_attr, random_token, sha256_b64, str_attr, strings_attr, strings_value, u64_attr,
};

/// Default refresh-token lifetime (Oro's: 18 144 000 s, 210 days).
pub const DEFAULT_REFRESH_TTL: u64 = 18_144_000;
/// Random bytes in a refresh token (43 URL-safe base64 characters).
pub const TOKEN_BYTES: usize = 32;
/// Longer presented tokens are unknown without a lookup.
const MAX_TOKEN_CHARS: usize = 256;
/// Attempts of a rotation that keeps meeting concurrent writes.
const ATTEMPTS: usize = 4;

fn token_key(token: &str) -> Key {
    Key::new(format!("auth#refresh#{}", sha256_b64(token)), "#")
}

fn family_key(family: &str) -> Key {
    Key::new(format!("auth#family#{family}"), "#")
}

/// A refresh token just issued.
#[derive(Clone)]
pub struct IssuedRefresh {
    /// The token, to hand to the client.
    pub token: SecretString,
    /// Its family id (for logs and revocation).
    pub family: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

impl fmt::Debug for IssuedRefresh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedRefresh")
            .field("token", &self.token)
            .field("family", &self.family)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// A successful rotation: the next token and what the old one was issued for.
#[derive(Debug, Clone)]
pub struct Rotated {
    /// The next token of the family.
    pub token: IssuedRefresh,
    /// The subject (`user:{id}`).
    pub subject: String,
    /// The client it belongs to.
    pub client_id: String,
    /// The roles recorded at issue.
    pub roles: Vec<String>,
    /// The credential stamp recorded when the family began (`None` for families begun before
    /// stamps were recorded).
    pub stamp: Option<String>,
}

/// Why a refresh token was refused (all are `invalid_grant` at the token endpoint).
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// No such token (never issued, or long expired).
    #[error("unknown refresh token")]
    Unknown,
    /// The token has expired.
    #[error("expired refresh token")]
    Expired,
    /// The token was used before: its family is now revoked.
    #[error("refresh token reused; its family was revoked")]
    Reused,
    /// The token's family was revoked earlier.
    #[error("refresh token revoked")]
    Revoked,
    /// The token belongs to another client: its family is now revoked.
    #[error("refresh token issued to another client; its family was revoked")]
    WrongClient,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The refresh tokens in a store.
pub struct RefreshTokens<S> {
    store: Arc<S>,
    ttl: u64,
    clock: Clock,
}

impl<S> Clone for RefreshTokens<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            ttl: self.ttl,
            clock: self.clock.clone(),
        }
    }
}

impl<S> fmt::Debug for RefreshTokens<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokens")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

struct Stored {
    family: String,
    subject: String,
    client_id: String,
    roles: Vec<String>,
    stamp: Option<String>,
    expires: u64,
    used: bool,
}

impl Stored {
    fn from_attrs(attrs: &Attrs) -> Self {
        Self {
            family: str_attr(attrs, "family").unwrap_or_default().to_owned(),
            subject: str_attr(attrs, "subject").unwrap_or_default().to_owned(),
            client_id: str_attr(attrs, "client_id").unwrap_or_default().to_owned(),
            roles: strings_attr(attrs, "roles"),
            stamp: str_attr(attrs, "stamp").map(str::to_owned),
            expires: u64_attr(attrs, "expires").unwrap_or(0),
            used: bool_attr(attrs, "used"),
        }
    }

    fn attrs(&self) -> Attrs {
        let mut a = Attrs::new();
        a.insert("family".into(), self.family.clone().into());
        a.insert("subject".into(), self.subject.clone().into());
        a.insert("client_id".into(), self.client_id.clone().into());
        a.insert("roles".into(), strings_value(&self.roles));
        if let Some(stamp) = &self.stamp {
            a.insert("stamp".into(), stamp.clone().into());
        }
        a.insert("expires".into(), self.expires.into());
        a.insert("used".into(), self.used.into());
        a.insert(TTL_ATTRIBUTE.into(), self.expires.into());
        a
    }
}

fn family_attrs(subject: &str, client_id: &str, revoked: bool, ttl: u64) -> Attrs {
    let mut a = Attrs::new();
    a.insert("subject".into(), subject.into());
    a.insert("client_id".into(), client_id.into());
    a.insert("revoked".into(), revoked.into());
    a.insert(TTL_ATTRIBUTE.into(), ttl.into());
    a
}

/// The one transaction of a rotation, whose conditions are the point: the old token's item
/// (`spent`, its attributes) marked used only if still unused, the family's expiry extended
/// only if it is not revoked, and the next token written only where none is.
fn rotation_writes(
    key: &Key,
    mut spent: Attrs,
    old: &Stored,
    next: &SecretString,
    now: u64,
    expires: u64,
) -> Vec<Write> {
    let fresh = Stored {
        family: old.family.clone(),
        subject: old.subject.clone(),
        client_id: old.client_id.clone(),
        roles: old.roles.clone(),
        stamp: old.stamp.clone(),
        expires,
        used: false,
    };
    spent.insert("used".into(), true.into());
    spent.insert("used_at".into(), now.into());
    vec![
        Write::Put {
            item: Item {
                key: key.clone(),
                attrs: spent,
            },
            condition: Some(Condition::Equals {
                name: "used".into(),
                value: Value::Bool(false),
            }),
        },
        Write::Put {
            item: Item {
                key: family_key(&old.family),
                attrs: family_attrs(&old.subject, &old.client_id, false, expires),
            },
            condition: Some(not_revoked()),
        },
        Write::Put {
            item: Item {
                key: token_key(next.expose()),
                attrs: fresh.attrs(),
            },
            condition: Some(Condition::Absent),
        },
    ]
}

fn not_revoked() -> Condition {
    Condition::Equals {
        name: "revoked".into(),
        value: Value::Bool(false),
    }
}

impl<S: Store> RefreshTokens<S> {
    /// The refresh tokens in `store`, living [`DEFAULT_REFRESH_TTL`] seconds.
    pub fn new(store: Arc<S>) -> Self {
        Self {
            store,
            ttl: DEFAULT_REFRESH_TTL,
            clock: Clock::system(),
        }
    }

    /// Sets the lifetime in seconds (at least 1).
    #[must_use]
    pub fn with_ttl(mut self, seconds: u64) -> Self {
        self.ttl = seconds.max(1);
        self
    }

    /// Sets the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The lifetime in seconds.
    pub fn ttl(&self) -> u64 {
        self.ttl
    }

    /// Starts a new family with its first token; `stamp` is the user's credential stamp, kept
    /// through every rotation.
    ///
    /// # Errors
    /// A store failure.
    pub async fn issue(
        &self,
        subject: &str,
        client_id: &str,
        roles: &[String],
        stamp: Option<&str>,
    ) -> Result<IssuedRefresh, RefreshError> {
        for _ in 0..ATTEMPTS {
            let family = random_token(16);
            let token = SecretString::new(random_token(TOKEN_BYTES));
            let expires = self.clock.now() + self.ttl;
            let stored = Stored {
                family: family.clone(),
                subject: subject.to_owned(),
                client_id: client_id.to_owned(),
                roles: roles.to_vec(),
                stamp: stamp.map(str::to_owned),
                expires,
                used: false,
            };
            let writes = vec![
                Write::Put {
                    item: Item {
                        key: family_key(&family),
                        attrs: family_attrs(subject, client_id, false, expires),
                    },
                    condition: Some(Condition::Absent),
                },
                Write::Put {
                    item: Item {
                        key: token_key(token.expose()),
                        attrs: stored.attrs(),
                    },
                    condition: Some(Condition::Absent),
                },
            ];
            match self.store.transact(writes).await {
                Ok(()) => {
                    return Ok(IssuedRefresh {
                        token,
                        family,
                        expires_in: self.ttl,
                    });
                }
                Err(StoreError::ConditionFailed { .. } | StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Uses `token` on behalf of `client_id`: marks it used and returns the next token of its
    /// family.
    ///
    /// # Errors
    /// Unknown, expired, reused (the family is revoked now), revoked, another client's (the
    /// family is revoked now), or a store failure.
    pub async fn rotate(&self, token: &str, client_id: &str) -> Result<Rotated, RefreshError> {
        if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
            return Err(RefreshError::Unknown);
        }
        let key = token_key(token);
        for _ in 0..ATTEMPTS {
            let Some(item) = self.store.get(&key).await? else {
                return Err(RefreshError::Unknown);
            };
            let old = Stored::from_attrs(&item.attrs);
            if old.client_id != client_id {
                self.revoke_family(&old.family).await?;
                tracing::warn!(family = %old.family, "refresh token presented by another client; family revoked");
                return Err(RefreshError::WrongClient);
            }
            if old.used {
                self.revoke_family(&old.family).await?;
                tracing::warn!(family = %old.family, "refresh token reused; family revoked");
                return Err(RefreshError::Reused);
            }
            let now = self.clock.now();
            if old.expires <= now {
                return Err(RefreshError::Expired);
            }

            let next = SecretString::new(random_token(TOKEN_BYTES));
            let expires = now + self.ttl;
            let writes = rotation_writes(&key, item.attrs, &old, &next, now, expires);
            match self.store.transact(writes).await {
                Ok(()) => {
                    return Ok(Rotated {
                        token: IssuedRefresh {
                            token: next,
                            family: old.family,
                            expires_in: self.ttl,
                        },
                        subject: old.subject,
                        client_id: old.client_id,
                        roles: old.roles,
                        stamp: old.stamp,
                    });
                }
                // The family was revoked (or has vanished).
                Err(StoreError::ConditionFailed { index: 1 }) => return Err(RefreshError::Revoked),
                // Another rotation used the token first (read again: it is now a reuse), the
                // new token collided, or the backend saw a concurrent transaction.
                Err(StoreError::ConditionFailed { .. } | StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Revokes the family of `token` (logout, RFC 7009); an unknown token is ignored.
    ///
    /// # Errors
    /// A store failure.
    pub async fn revoke(&self, token: &str) -> Result<(), RefreshError> {
        if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
            return Ok(());
        }
        if let Some(item) = self.store.get(&token_key(token)).await? {
            let family = Stored::from_attrs(&item.attrs).family;
            self.revoke_family(&family).await?;
        }
        Ok(())
    }

    /// Revokes a family: none of its tokens can be used any more.
    ///
    /// # Errors
    /// A store failure.
    pub async fn revoke_family(&self, family: &str) -> Result<(), RefreshError> {
        let key = family_key(family);
        for _ in 0..ATTEMPTS {
            let Some(item) = self.store.get(&key).await? else {
                return Ok(());
            };
            if bool_attr(&item.attrs, "revoked") {
                return Ok(());
            }
            let mut attrs = item.attrs;
            attrs.insert("revoked".into(), true.into());
            let write = Write::Put {
                item: Item {
                    key: key.clone(),
                    attrs,
                },
                condition: Some(not_revoked()),
            };
            match self.store.transact(vec![write]).await {
                Ok(()) => return Ok(()),
                Err(StoreError::ConditionFailed { .. } | StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Whether a family is revoked (a missing family counts as revoked).
    ///
    /// # Errors
    /// A store failure.
    pub async fn is_family_revoked(&self, family: &str) -> Result<bool, RefreshError> {
        Ok(self
            .store
            .get(&family_key(family))
            .await?
            .is_none_or(|i| bool_attr(&i.attrs, "revoked")))
    }
}

#[cfg(test)]
mod tests;
