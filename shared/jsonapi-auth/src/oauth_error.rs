//! The errors of the OAuth endpoints (RFC 6749 §4.1.2.1 and §5.2): the `error` codes and the
//! token endpoint's error answer.

use jsonapi_store::StoreError;
use serde::Serialize;
use serde_json::{Value, json};

use crate::backoff::RetryAfter;

/// An RFC 6749 `error` code (with this crate's addition for throttling). The token endpoint
/// answers with one in a JSON body, the authorization endpoint in the query of the redirect
/// back to the client (`access_denied` and `unsupported_response_type` are its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request` (400)
    InvalidRequest,
    /// `invalid_client` (401)
    InvalidClient,
    /// `invalid_grant` (400)
    InvalidGrant,
    /// `unauthorized_client` (400)
    UnauthorizedClient,
    /// `unsupported_grant_type` (400)
    UnsupportedGrantType,
    /// `invalid_scope` (400)
    InvalidScope,
    /// `slow_down` (429, with `Retry-After`): too many failures for this client or username.
    SlowDown,
    /// `server_error` (500)
    ServerError,
    /// `temporarily_unavailable` (503, with `Retry-After`)
    TemporarilyUnavailable,
    /// `access_denied`: the user refused (authorization endpoint).
    AccessDenied,
    /// `unsupported_response_type` (authorization endpoint).
    UnsupportedResponseType,
}

impl ErrorCode {
    /// The `error` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::SlowDown => "slow_down",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::AccessDenied => 403,
            Self::SlowDown => 429,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// An error answer of the token endpoint (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    /// The `error` code.
    pub code: ErrorCode,
    /// The `error_description` (never holds a secret).
    pub description: String,
    /// Seconds for `Retry-After`.
    pub retry_after: Option<u64>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub(crate) fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "Client authentication failed")
    }

    pub(crate) fn invalid_grant(description: &str) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub(crate) fn slow_down(retry: RetryAfter) -> Self {
        Self {
            code: ErrorCode::SlowDown,
            description: "Too many failed attempts; retry later".into(),
            retry_after: Some(retry.0.max(1)),
        }
    }

    pub(crate) fn server_error() -> Self {
        Self::new(ErrorCode::ServerError, "The server could not issue a token")
    }

    pub(crate) fn from_store(e: &StoreError) -> Self {
        match e {
            StoreError::Unavailable { retry_after, .. } => Self {
                code: ErrorCode::TemporarilyUnavailable,
                description: "The service is temporarily unavailable".into(),
                retry_after: Some((*retry_after).max(1)),
            },
            _ => {
                tracing::error!(error = %e, "token endpoint storage failure");
                Self::server_error()
            }
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The JSON body: `{"error": ..., "error_description": ...}`.
    pub fn body(&self) -> Value {
        json!({ "error": self.code.as_str(), "error_description": self.description })
    }

    /// The response headers: `Cache-Control: no-store`, `Pragma: no-cache`, `Retry-After` when
    /// set, and `WWW-Authenticate: Basic` for `invalid_client` (RFC 6749 §5.2).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("Cache-Control", "no-store".to_owned()),
            ("Pragma", "no-cache".to_owned()),
        ];
        if let Some(seconds) = self.retry_after {
            headers.push(("Retry-After", seconds.to_string()));
        }
        if self.code == ErrorCode::InvalidClient {
            headers.push((
                "WWW-Authenticate",
                "Basic realm=\"oauth2-token\"".to_owned(),
            ));
        }
        headers
    }
}

impl Serialize for OAuthError {
    fn serialize<Ser: serde::Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        self.body().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialize_as_rfc6749_bodies() {
        let e = OAuthError::new(ErrorCode::InvalidGrant, "nope");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"error": "invalid_grant", "error_description": "nope"})
        );
        assert_eq!(e.to_string(), "invalid_grant: nope");
        let statuses: Vec<u16> = [
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidClient,
            ErrorCode::InvalidGrant,
            ErrorCode::UnauthorizedClient,
            ErrorCode::UnsupportedGrantType,
            ErrorCode::InvalidScope,
            ErrorCode::SlowDown,
            ErrorCode::ServerError,
            ErrorCode::TemporarilyUnavailable,
            ErrorCode::AccessDenied,
            ErrorCode::UnsupportedResponseType,
        ]
        .iter()
        .map(|c| c.status())
        .collect();
        assert_eq!(
            statuses,
            [400, 401, 400, 400, 400, 400, 429, 500, 503, 403, 400]
        );
        let headers = e.headers();
        assert!(headers.contains(&("Cache-Control", "no-store".to_owned())));
        assert!(headers.contains(&("Pragma", "no-cache".to_owned())));
        assert!(
            !headers
                .iter()
                .any(|(h, _)| *h == "WWW-Authenticate" || *h == "Retry-After")
        );
    }
}
