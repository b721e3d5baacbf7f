//! What an access token of ours says, and the limits every token is held to.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::secret::SecretString;

/// Default access-token lifetime (Oro's: one hour).
pub const DEFAULT_ACCESS_TTL: u64 = 3600;
/// Default clock-skew allowance for `exp` and `nbf`, in seconds.
pub const DEFAULT_LEEWAY: u64 = 30;
/// Longer bearer tokens are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The claims of the access tokens this crate signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Subject: a client id (client credentials) or `user:{id}`.
    pub sub: String,
    /// Expiry, epoch seconds.
    pub exp: u64,
    /// Not before, epoch seconds.
    pub nbf: u64,
    /// Issued at, epoch seconds.
    pub iat: u64,
    /// Token id.
    pub jti: String,
    /// Role ids.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The client the token was issued to (RFC 9068).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A signed access token.
#[derive(Clone)]
pub struct AccessToken {
    /// The compact JWT.
    pub token: SecretString,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// What it says.
    pub claims: AccessClaims,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &self.token)
            .field("expires_in", &self.expires_in)
            .field("claims", &self.claims)
            .finish()
    }
}
