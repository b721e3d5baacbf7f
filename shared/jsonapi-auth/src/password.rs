//! Password (and client-secret) hashing with argon2id, as PHC strings with a random salt.
//!
//! Verification recomputes the hash with the parameters stored in the PHC string and compares
//! in constant time (the `password-hash` crate's `Output` comparison).
//! [`Passwords::verify_dummy`] spends the same time on a user that does not exist, so that the
//! answer time does not tell which usernames are taken.

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use crate::util::random_bytes;

/// Why a hash could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Parameters argon2 refuses.
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    /// Hashing failed.
    #[error("hashing failed: {0}")]
    Hash(String),
    /// The blocking task running the hash was lost.
    #[error("the hashing task failed")]
    Task,
}

/// An argon2id PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`), kept out of
/// `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// A stored PHC string.
    pub fn new(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string, to store.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PHC string, to store.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// Hashes and verifies passwords with argon2id and fixed cost parameters.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
    /// A PHC string with these parameters that no password matches.
    dummy: Arc<str>,
}

impl Default for Passwords {
    /// OWASP's recommended argon2id parameters: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self::from_params(Params::DEFAULT)
    }
}

impl Passwords {
    /// The default parameters (see [`Passwords::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Custom cost: memory in KiB, passes and lanes. Lower costs are for tests only.
    ///
    /// # Errors
    /// Parameters argon2 refuses (e.g. memory below 8 KiB per lane).
    pub fn with_params(memory_kib: u32, passes: u32, lanes: u32) -> Result<Self, PasswordError> {
        let params = Params::new(memory_kib, passes, lanes, None)
            .map_err(|e| PasswordError::Params(e.to_string()))?;
        Ok(Self::from_params(params))
    }

    /// Cheap parameters (8 KiB, 1 pass) so that test suites stay fast. Never use in production.
    pub fn insecure_fast_for_tests() -> Self {
        Self::from_params(Params::new(8, 1, 1, None).unwrap_or(Params::DEFAULT))
    }

    fn from_params(params: Params) -> Self {
        let dummy = format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            STANDARD_NO_PAD.encode(random_bytes(16)),
            STANDARD_NO_PAD.encode(random_bytes(Params::DEFAULT_OUTPUT_LEN)),
        );
        Self {
            params,
            dummy: dummy.into(),
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes `password` with a fresh random salt.
    ///
    /// # Errors
    /// Hashing failed.
    pub fn hash(&self, password: &str) -> Result<PasswordHash, PasswordError> {
        self.argon2()
            .hash_password(password.as_bytes())
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| PasswordError::Hash(e.to_string()))
    }

    /// Whether `password` matches `hash` (any argon2 PHC string; its own parameters are used).
    /// A malformed hash never matches.
    pub fn verify(&self, password: &str, hash: &str) -> bool {
        // The PHC string names the variant and parameters; `Argon2::default()` only supplies
        // the implementation.
        Argon2::default()
            .verify_password(password.as_bytes(), hash)
            .is_ok()
    }

    /// Spends the time of one verification and returns nothing: call it when the user (or
    /// client) does not exist.
    pub fn verify_dummy(&self, password: &str) {
        let _ = self.verify(password, &self.dummy);
    }

    /// [`Passwords::hash`] on the blocking pool, so that the async threads keep serving.
    ///
    /// # Errors
    /// Hashing failed.
    pub async fn hash_blocking(&self, password: &str) -> Result<PasswordHash, PasswordError> {
        let this = self.clone();
        let password = crate::SecretString::new(password);
        tokio::task::spawn_blocking(move || this.hash(password.expose()))
            .await
            .map_err(|_| PasswordError::Task)?
    }

    /// [`Passwords::verify`] on the blocking pool; `hash: None` runs [`Passwords::verify_dummy`]
    /// and answers `false`.
    pub async fn verify_blocking(&self, password: &str, hash: Option<&str>) -> bool {
        let this = self.clone();
        let password = crate::SecretString::new(password);
        let hash = hash.map(str::to_owned);
        tokio::task::spawn_blocking(move || match hash {
            Some(hash) => this.verify(password.expose(), &hash),
            None => {
                this.verify_dummy(password.expose());
                false
            }
        })
        .await
        .unwrap_or(false)
    }
}

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passwords")
            .field("m_cost", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_salts_differ() {
        let p = Passwords::insecure_fast_for_tests();
        let a = p.hash("correct horse").unwrap();
        let b = p.hash("correct horse").unwrap();
        assert!(a.as_str().starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
        assert_ne!(a, b, "random salt");
        assert!(p.verify("correct horse", a.as_str()));
        assert!(p.verify("correct horse", b.as_str()));
        assert!(!p.verify("correct horsE", a.as_str()));
        assert!(!p.verify("", a.as_str()));
        assert!(!p.verify("correct horse", "not a phc string"));
        assert!(!p.verify("correct horse", ""));
        // A hash made with other parameters still verifies (parameters travel with it).
        let other = Passwords::with_params(16, 2, 1).unwrap();
        assert!(p.verify("x", other.hash("x").unwrap().as_str()));
    }

    #[test]
    fn default_parameters_are_owasp_argon2id() {
        let p = Passwords::default();
        let h = p.hash("pw").unwrap();
        assert!(
            h.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            h.as_str()
        );
        assert!(p.verify("pw", h.as_str()));
    }

    #[test]
    fn dummy_has_the_real_parameters_and_never_matches() {
        // argon2id's cost is set by its parameters alone (memory, passes, lanes), so a dummy
        // with the same parameters costs what a real check costs; a wall-clock comparison
        // would only measure the machine's load.
        let p = Passwords::with_params(1024, 2, 1).unwrap();
        let h = p.hash("pw").unwrap();
        assert!(
            argon2::password_hash::phc::PasswordHash::new(&p.dummy).is_ok(),
            "{}",
            p.dummy
        );
        let params = |phc: &str| phc.split('$').nth(3).map(str::to_owned);
        assert_eq!(params(&p.dummy), params(h.as_str()));
        assert!(p.dummy.starts_with("$argon2id$v=19$m=1024,t=2,p=1$"));
        assert!(!p.verify("pw", &p.dummy));
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(Passwords::with_params(1, 1, 1).is_err());
        assert!(Passwords::with_params(8, 0, 1).is_err());
    }

    #[tokio::test]
    async fn blocking_variants_agree() {
        let p = Passwords::insecure_fast_for_tests();
        let h = p.hash_blocking("s3cret").await.unwrap();
        assert!(p.verify_blocking("s3cret", Some(h.as_str())).await);
        assert!(!p.verify_blocking("nope", Some(h.as_str())).await);
        assert!(!p.verify_blocking("s3cret", None).await);
    }

    #[test]
    fn debug_prints_no_hash() {
        let p = Passwords::insecure_fast_for_tests();
        let h = p.hash("pw").unwrap();
        let shown = format!("{h:?} {p:?}");
        assert!(!shown.contains("argon2id"));
        assert!(!shown.contains(&*p.dummy));
        assert!(shown.contains("[redacted]"));
    }
}
