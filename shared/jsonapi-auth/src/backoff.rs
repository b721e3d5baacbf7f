//! Slowing down brute force: failure counters per key (a client id, a username) with
//! exponentially growing waits, kept in the store so that every Lambda instance sees them.
//!
//! After [`BackoffPolicy::free_failures`] failures in a row, each further failure closes the key
//! for `base_delay * 2^(n - free_failures - 1)` seconds, at most `max_delay`; a success clears
//! the counter, and so do `forget_after` quiet seconds. Items: `auth#backoff#{sha256(key)}` /
//! `#` with `failures`, `until` and [`crate::TTL_ATTRIBUTE`].
//!
//! The counters fail open: when the store cannot be read or written the request goes on (it
//! will meet the same store in its next step), and the error is logged.

use std::fmt;
use std::sync::Arc;

use jsonapi_store::{Attrs, Condition, Item, Key, Store, StoreError, Write};
use serde_json::Value;

use crate::TTL_ATTRIBUTE;
use crate::clock::Clock;
use crate::util::{sha256_b64, u64_attr};

/// Attempts of a counter update that keeps meeting concurrent updates.
const ATTEMPTS: usize = 10;

/// How failures turn into waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Failures in a row before any wait.
    pub free_failures: u64,
    /// The first wait, in seconds.
    pub base_delay: u64,
    /// The longest wait, in seconds.
    pub max_delay: u64,
    /// Seconds without a failure after which the counter is forgotten.
    pub forget_after: u64,
}

impl Default for BackoffPolicy {
    /// 5 free failures, then 1 s doubling up to 5 min; forgotten after 15 quiet minutes.
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay: 1,
            max_delay: 300,
            forget_after: 900,
        }
    }
}

impl BackoffPolicy {
    /// The wait after the `failures`-th failure in a row.
    pub fn delay(&self, failures: u64) -> u64 {
        if failures <= self.free_failures {
            return 0;
        }
        let doublings = (failures - self.free_failures - 1).min(40);
        self.base_delay
            .saturating_mul(1u64 << doublings)
            .min(self.max_delay)
    }
}

/// The key is closed: try again after this many seconds (the `Retry-After` value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed attempts; retry after {0} s")]
pub struct RetryAfter(pub u64);

/// Failure counters in a store.
pub struct Backoff<S> {
    store: Arc<S>,
    policy: BackoffPolicy,
    clock: Clock,
}

impl<S> Clone for Backoff<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            policy: self.policy,
            clock: self.clock.clone(),
        }
    }
}

impl<S> fmt::Debug for Backoff<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backoff")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn item_key(key: &str) -> Key {
    Key::new(format!("auth#backoff#{}", sha256_b64(key)), "#")
}

/// The counter key of a client id.
pub fn client_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

/// The counter key of a username (case-insensitive).
pub fn username_key(username: &str) -> String {
    format!("user:{}", username.trim().to_lowercase())
}

impl<S: Store> Backoff<S> {
    /// Counters in `store` with `policy`.
    pub fn new(store: Arc<S>, policy: BackoffPolicy) -> Self {
        Self {
            store,
            policy,
            clock: Clock::system(),
        }
    }

    /// Sets the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The policy.
    pub fn policy(&self) -> BackoffPolicy {
        self.policy
    }

    /// Whether `key` may try now.
    ///
    /// # Errors
    /// The key is closed for the returned number of seconds.
    pub async fn check(&self, key: &str) -> Result<(), RetryAfter> {
        let item = match self.store.get(&item_key(key)).await {
            Ok(item) => item,
            Err(e) => {
                tracing::warn!(error = %e, "back-off counter unreadable; not enforced");
                return Ok(());
            }
        };
        let now = self.clock.now();
        match item.and_then(|i| u64_attr(&i.attrs, "until")) {
            Some(until) if until > now => Err(RetryAfter(until - now)),
            _ => Ok(()),
        }
    }

    /// Counts a failure of `key`, and returns the wait it now imposes (0 for none).
    pub async fn record_failure(&self, key: &str) -> u64 {
        match self.try_record_failure(key).await {
            Ok(delay) => delay,
            Err(e) => {
                tracing::warn!(error = %e, "back-off counter not updated");
                0
            }
        }
    }

    async fn try_record_failure(&self, key: &str) -> Result<u64, StoreError> {
        let key = item_key(key);
        for _ in 0..ATTEMPTS {
            let current = self.store.get(&key).await?;
            let now = self.clock.now();
            let (failures, condition) = match &current {
                None => (0, Condition::Absent),
                Some(item) => {
                    let stored = item.attrs.get("failures").cloned().unwrap_or(Value::Null);
                    let live = u64_attr(&item.attrs, TTL_ATTRIBUTE).is_some_and(|t| t > now);
                    let failures = if live {
                        stored.as_u64().unwrap_or(0)
                    } else {
                        0
                    };
                    let condition = Condition::Equals {
                        name: "failures".into(),
                        value: stored,
                    };
                    (failures, condition)
                }
            };
            let failures = failures + 1;
            let delay = self.policy.delay(failures);
            let mut attrs = Attrs::new();
            attrs.insert("failures".into(), failures.into());
            attrs.insert("until".into(), (now + delay).into());
            attrs.insert(
                TTL_ATTRIBUTE.into(),
                (now + self.policy.forget_after.max(delay)).into(),
            );
            let write = Write::Put {
                item: Item {
                    key: key.clone(),
                    attrs,
                },
                condition: Some(condition),
            };
            match self.store.transact(vec![write]).await {
                Ok(()) => return Ok(delay),
                Err(StoreError::ConditionFailed { .. } | StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    /// Clears the counter of `key` after a success.
    pub async fn record_success(&self, key: &str) {
        let write = Write::Delete {
            key: item_key(key),
            condition: None,
        };
        if let Err(e) = self.store.transact(vec![write]).await {
            tracing::warn!(error = %e, "back-off counter not cleared");
        }
    }
}

#[cfg(test)]
mod tests {
    use jsonapi_store_redb::RedbStore;

    use super::*;

    fn setup() -> (tempfile::TempDir, Backoff<RedbStore>, Clock) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(RedbStore::open(dir.path()).unwrap());
        let clock = Clock::manual(5_000);
        let b = Backoff::new(store, BackoffPolicy::default()).with_clock(clock.clone());
        (dir, b, clock)
    }

    #[test]
    fn delays_double_from_the_sixth_failure_up_to_five_minutes() {
        let p = BackoffPolicy::default();
        let delays: Vec<u64> = (1..=16).map(|n| p.delay(n)).collect();
        assert_eq!(
            delays,
            [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
        );
        assert_eq!(p.delay(u64::MAX), 300);
    }

    #[tokio::test]
    async fn failures_close_the_key_and_success_reopens_it() {
        let (_dir, b, clock) = setup();
        let key = client_key("app");
        for _ in 0..5 {
            assert_eq!(b.check(&key).await, Ok(()));
            assert_eq!(b.record_failure(&key).await, 0);
        }
        assert_eq!(b.check(&key).await, Ok(()));
        assert_eq!(b.record_failure(&key).await, 1);
        assert_eq!(b.check(&key).await, Err(RetryAfter(1)));
        clock.advance(1);
        assert_eq!(b.check(&key).await, Ok(()));
        assert_eq!(b.record_failure(&key).await, 2);
        assert_eq!(b.check(&key).await, Err(RetryAfter(2)));
        clock.advance(1);
        assert_eq!(b.check(&key).await, Err(RetryAfter(1)));
        // Other keys are untouched.
        assert_eq!(b.check(&username_key("alice")).await, Ok(()));

        clock.advance(1);
        b.record_success(&key).await;
        assert_eq!(b.check(&key).await, Ok(()));
        assert_eq!(b.record_failure(&key).await, 0, "the count starts again");
    }

    #[tokio::test]
    async fn quiet_time_forgets_the_counter() {
        let (_dir, b, clock) = setup();
        let key = username_key("Bob");
        for _ in 0..7 {
            b.record_failure(&key).await;
        }
        assert!(
            b.check(&username_key("  bob ")).await.is_err(),
            "case-insensitive"
        );
        clock.advance(900);
        assert_eq!(b.check(&key).await, Ok(()));
        assert_eq!(b.record_failure(&key).await, 0);
    }

    #[tokio::test]
    async fn waits_are_capped() {
        let (_dir, b, clock) = setup();
        let key = client_key("x");
        let mut last = 0;
        for _ in 0..20 {
            last = b.record_failure(&key).await;
            clock.advance(last);
        }
        assert_eq!(last, 300);
        b.record_failure(&key).await;
        assert_eq!(b.check(&key).await, Err(RetryAfter(300)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_failures_are_all_counted() {
        let (_dir, b, _clock) = setup();
        let key = client_key("shared");
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let b = b.clone();
                let key = key.clone();
                tokio::spawn(async move { b.record_failure(&key).await })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        // Six failures: the sixth closed the key for one second.
        assert_eq!(b.check(&key).await, Err(RetryAfter(1)));
    }
}
