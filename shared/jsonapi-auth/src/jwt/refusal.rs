//! Why a bearer token is refused, and how the refusal is told (`WWW-Authenticate`).

use jsonwebtoken::errors::ErrorKind;

/// Why a bearer token was refused; the caller answers 401 with
/// [`TokenError::www_authenticate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, unreadable header or claims, or too long.
    #[error("malformed token")]
    Malformed,
    /// The header names an algorithm that the key does not allow (including `none`).
    #[error("algorithm not accepted")]
    Algorithm,
    /// The signature does not match.
    #[error("invalid signature")]
    Signature,
    /// Past `exp`.
    #[error("token expired")]
    Expired,
    /// Before `nbf`.
    #[error("token not valid yet")]
    NotYetValid,
    /// Another issuer.
    #[error("wrong issuer")]
    Issuer,
    /// Another audience.
    #[error("wrong audience")]
    Audience,
    /// The `kid` names no configured key.
    #[error("unknown signing key")]
    UnknownKey,
    /// A required claim is missing or has the wrong type.
    #[error("missing or invalid claims")]
    Claims,
    /// The client it was issued to has been revoked.
    #[error("client revoked")]
    Revoked,
    /// The user it speaks for has been disabled or deleted since it was issued.
    #[error("user disabled or deleted")]
    UserInactive,
}

impl TokenError {
    /// A short reason for the `error_description` of `WWW-Authenticate` (no token content).
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed => "The access token is malformed",
            Self::Algorithm => "The access token's signing algorithm is not accepted",
            Self::Signature => "The access token's signature is invalid",
            Self::Expired => "The access token has expired",
            Self::NotYetValid => "The access token is not valid yet",
            Self::Issuer => "The access token was issued by an unknown issuer",
            Self::Audience => "The access token is meant for another audience",
            Self::UnknownKey => "The access token was signed with an unknown key",
            Self::Claims => "The access token lacks required claims",
            Self::Revoked => "The access token's client has been revoked",
            Self::UserInactive => "The access token's user has been disabled or deleted",
        }
    }

    /// The `WWW-Authenticate` header value for this refusal (RFC 6750 §3).
    pub fn www_authenticate(self) -> String {
        format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\"",
            self.reason()
        )
    }
}

pub(super) fn token_error(e: &jsonwebtoken::errors::Error) -> TokenError {
    match e.kind() {
        ErrorKind::InvalidSignature => TokenError::Signature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidKeyFormat => TokenError::Algorithm,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::Issuer,
        ErrorKind::InvalidAudience => TokenError::Audience,
        ErrorKind::MissingRequiredClaim(_)
        | ErrorKind::InvalidClaimFormat(_)
        | ErrorKind::InvalidSubject => TokenError::Claims,
        _ => TokenError::Malformed,
    }
}
