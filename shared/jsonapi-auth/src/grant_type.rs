//! The OAuth 2.0 grants a client may be allowed to use. A module of its own: clients record
//! theirs and the token endpoint runs them, and neither needs the other for it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An OAuth 2.0 grant type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// `client_credentials`
    ClientCredentials,
    /// `password`
    Password,
    /// `refresh_token`
    RefreshToken,
    /// `authorization_code` (RFC 6749 §4.1, with PKCE: RFC 7636)
    AuthorizationCode,
}

impl GrantType {
    /// Every grant.
    pub const ALL: [Self; 4] = [
        Self::ClientCredentials,
        Self::Password,
        Self::RefreshToken,
        Self::AuthorizationCode,
    ];

    /// The RFC 6749 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::AuthorizationCode => "authorization_code",
        }
    }

    /// Parses an RFC 6749 name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == name)
    }

    /// The names of every grant, comma-separated (for messages listing the choices).
    pub fn names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for grant in GrantType::ALL {
            assert_eq!(GrantType::parse(grant.as_str()), Some(grant));
            assert_eq!(
                serde_json::to_value(grant).unwrap(),
                serde_json::json!(grant.as_str())
            );
        }
        assert_eq!(GrantType::parse("implicit"), None);
        assert_eq!(
            GrantType::names(),
            "client_credentials, password, refresh_token, authorization_code"
        );
    }
}
