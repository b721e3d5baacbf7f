//! Signing: [`TokenSigner`] makes our access tokens.

use std::fmt;

use jsonwebtoken::Header;
use serde::Serialize;

use super::claims::{AccessClaims, AccessToken, DEFAULT_ACCESS_TTL};
use super::verify::TokenVerifier;
use crate::clock::Clock;
use crate::keys::{KeyError, SigningKey};
use crate::secret::SecretString;
use crate::util::random_token;

/// Makes access tokens.
#[derive(Clone)]
pub struct TokenSigner {
    key: SigningKey,
    issuer: String,
    audience: String,
    ttl: u64,
    clock: Clock,
}

impl TokenSigner {
    /// A signer for `issuer` and `audience`, with the default lifetime and the system clock.
    pub fn new(key: SigningKey, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            key,
            issuer: issuer.into(),
            audience: audience.into(),
            ttl: DEFAULT_ACCESS_TTL,
            clock: Clock::system(),
        }
    }

    /// The same signer with another key (after a rotation).
    #[must_use]
    pub fn with_key(&self, key: SigningKey) -> Self {
        Self {
            key,
            ..self.clone()
        }
    }

    /// Sets the token lifetime in seconds (at least 1).
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

    /// The token lifetime in seconds.
    pub fn ttl(&self) -> u64 {
        self.ttl
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// A verifier for the tokens of this signer (same key, issuer and audience).
    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier::new(self.key.verifying_key(), &self.issuer, &self.audience)
    }

    /// Signs a token for `subject` with `roles`.
    ///
    /// # Errors
    /// The signature could not be made.
    pub fn sign(
        &self,
        subject: &str,
        roles: &[String],
        client_id: Option<&str>,
    ) -> Result<AccessToken, KeyError> {
        let now = self.clock.now();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.to_owned(),
            exp: now + self.ttl,
            nbf: now,
            iat: now,
            jti: random_token(16),
            roles: roles.to_vec(),
            client_id: client_id.map(str::to_owned),
        };
        let token = self.sign_claims(&claims)?;
        Ok(AccessToken {
            token,
            expires_in: self.ttl,
            claims,
        })
    }

    /// Signs arbitrary claims with this signer's key and header (tests build odd tokens so).
    ///
    /// # Errors
    /// The signature could not be made.
    pub fn sign_claims<T: Serialize>(&self, claims: &T) -> Result<SecretString, KeyError> {
        let mut header = Header::new(self.key.algorithm());
        header.kid = self.key.key_id().map(str::to_owned);
        jsonwebtoken::encode(&header, claims, self.key.encoding())
            .map(SecretString::new)
            .map_err(|e| KeyError::Signing(e.to_string()))
    }
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("key", &self.key)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}
