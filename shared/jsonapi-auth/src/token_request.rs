//! The parameters of a token request (`POST /oauth2-token`): a JSON or form body, and the
//! client credentials of an `Authorization: Basic` header (RFC 6749 §2.3.1, §4).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;

use crate::oauth_error::OAuthError;
use crate::secret::SecretString;

/// The parameters of a token request.
#[derive(Clone, Default)]
pub struct TokenRequest {
    /// `grant_type`, as sent.
    pub grant_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_secret`.
    pub client_secret: Option<SecretString>,
    /// `username`.
    pub username: Option<String>,
    /// `password`.
    pub password: Option<SecretString>,
    /// `refresh_token`.
    pub refresh_token: Option<SecretString>,
    /// `scope` (accepted and ignored: roles decide what a token may do).
    pub scope: Option<String>,
    /// `code`: an authorization code.
    pub code: Option<SecretString>,
    /// `redirect_uri`: the one the code was sent to.
    pub redirect_uri: Option<String>,
    /// `code_verifier` (PKCE).
    pub code_verifier: Option<SecretString>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("refresh_token", &self.refresh_token)
            .field("scope", &self.scope)
            .field("code", &self.code)
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &self.code_verifier)
            .finish()
    }
}

/// A JSON object's members in order, duplicates kept (a map would keep only the last).
struct Pairs(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, Value>()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

const PARAMETERS: [&str; 10] = [
    "grant_type",
    "client_id",
    "client_secret",
    "username",
    "password",
    "refresh_token",
    "scope",
    "code",
    "redirect_uri",
    "code_verifier",
];

impl TokenRequest {
    /// The largest body read.
    pub const MAX_BODY_BYTES: usize = 16 * 1024;

    fn set(&mut self, name: &str, value: String) -> Result<(), OAuthError> {
        let repeated =
            || OAuthError::invalid_request(format!("The parameter \"{name}\" is repeated"));
        if value.is_empty() {
            // RFC 6749 §3.1: a parameter without a value is treated as omitted.
            return Ok(());
        }
        macro_rules! put {
            ($field:expr, $value:expr) => {{
                if $field.is_some() {
                    return Err(repeated());
                }
                $field = Some($value);
            }};
        }
        match name {
            "grant_type" => put!(self.grant_type, value),
            "client_id" => put!(self.client_id, value),
            "client_secret" => put!(self.client_secret, SecretString::new(value)),
            "username" => put!(self.username, value),
            "password" => put!(self.password, SecretString::new(value)),
            "refresh_token" => put!(self.refresh_token, SecretString::new(value)),
            "scope" => put!(self.scope, value),
            "code" => put!(self.code, SecretString::new(value)),
            "redirect_uri" => put!(self.redirect_uri, value),
            "code_verifier" => put!(self.code_verifier, SecretString::new(value)),
            _ => {}
        }
        Ok(())
    }

    /// Reads a body sent as `application/json` (an object of strings) or
    /// `application/x-www-form-urlencoded`. Unknown parameters are ignored; empty ones count as
    /// omitted.
    ///
    /// # Errors
    /// `invalid_request`: another media type, a body too large or unreadable, a repeated
    /// parameter, or a parameter that is not a string.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self, OAuthError> {
        if body.len() > Self::MAX_BODY_BYTES {
            return Err(OAuthError::invalid_request("The request body is too large"));
        }
        let media = content_type
            .and_then(|c| c.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let mut request = Self::default();
        if media == "application/x-www-form-urlencoded" {
            let mut seen = Vec::new();
            for (name, value) in form_urlencoded::parse(body) {
                if PARAMETERS.contains(&name.as_ref()) {
                    if seen.contains(&name) {
                        return Err(OAuthError::invalid_request(format!(
                            "The parameter \"{name}\" is repeated"
                        )));
                    }
                    seen.push(name.clone());
                }
                request.set(&name, value.into_owned())?;
            }
        } else if media == "application/json" || media.ends_with("+json") {
            let Ok(Pairs(pairs)) = serde_json::from_slice::<Pairs>(body) else {
                return Err(OAuthError::invalid_request(
                    "The request body must be a JSON object",
                ));
            };
            let mut seen: Vec<&str> = Vec::new();
            for (name, _) in &pairs {
                if !PARAMETERS.contains(&name.as_str()) {
                    continue;
                }
                if seen.contains(&name.as_str()) {
                    return Err(OAuthError::invalid_request(format!(
                        "The parameter \"{name}\" is repeated"
                    )));
                }
                seen.push(name);
            }
            for (name, value) in pairs {
                if !PARAMETERS.contains(&name.as_str()) {
                    continue;
                }
                match value {
                    Value::Null => {}
                    Value::String(s) => request.set(&name, s)?,
                    _ => {
                        return Err(OAuthError::invalid_request(format!(
                            "The parameter \"{name}\" must be a string"
                        )));
                    }
                }
            }
        } else {
            return Err(OAuthError::invalid_request(
                "The request body must be application/json or application/x-www-form-urlencoded",
            ));
        }
        Ok(request)
    }

    /// Takes the client credentials from an `Authorization: Basic` header (RFC 6749 §2.3.1);
    /// other schemes and a missing header leave the request as it is.
    ///
    /// # Errors
    /// `invalid_client` for an unreadable Basic header; `invalid_request` when the body also
    /// carries a client secret or another client id.
    pub fn with_authorization(mut self, authorization: Option<&str>) -> Result<Self, OAuthError> {
        let Some(value) = authorization.map(str::trim) else {
            return Ok(self);
        };
        let Some((scheme, credentials)) = value.split_once(' ') else {
            return Ok(self);
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return Ok(self);
        }
        let decoded = STANDARD
            .decode(credentials.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(SecretString::new)
            .ok_or_else(OAuthError::invalid_client)?;
        let (id, secret) = decoded
            .expose()
            .split_once(':')
            .ok_or_else(OAuthError::invalid_client)?;
        let unform = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| OAuthError::invalid_client())
        };
        let id = unform(id)?;
        let secret = SecretString::new(unform(secret)?);
        if self.client_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "Use one way of client authentication, not two",
            ));
        }
        if self
            .client_id
            .as_ref()
            .is_some_and(|body_id| *body_id != id)
        {
            return Err(OAuthError::invalid_request(
                "The client_id differs from the authenticated client",
            ));
        }
        self.client_id = Some(id);
        self.client_secret = Some(secret);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth_error::ErrorCode;

    #[test]
    fn json_and_form_bodies_parse_alike() {
        let json = TokenRequest::parse(
            Some("application/json; charset=utf-8"),
            br#"{"grant_type":"password","client_id":"c","client_secret":"s","username":"u","password":"p w","scope":"","extra":1}"#,
        )
        .unwrap();
        let form = TokenRequest::parse(
            Some("Application/X-WWW-Form-Urlencoded"),
            b"grant_type=password&client_id=c&client_secret=s&username=u&password=p+w&scope=&extra=1",
        )
        .unwrap();
        for r in [&json, &form] {
            assert_eq!(r.grant_type.as_deref(), Some("password"));
            assert_eq!(r.client_id.as_deref(), Some("c"));
            assert_eq!(r.client_secret.as_ref().unwrap().expose(), "s");
            assert_eq!(r.username.as_deref(), Some("u"));
            assert_eq!(r.password.as_ref().unwrap().expose(), "p w");
            assert_eq!(r.scope, None);
        }
        let vnd = TokenRequest::parse(Some("application/vnd.api+json"), b"{}").unwrap();
        assert!(vnd.grant_type.is_none());
    }

    #[test]
    fn bad_bodies_are_invalid_request() {
        let cases: [(Option<&str>, &[u8]); 7] = [
            (None, b"grant_type=password"),
            (Some("text/plain"), b"grant_type=password"),
            (Some("application/json"), b"[1]"),
            (Some("application/json"), b"{"),
            (Some("application/json"), br#"{"grant_type": 5}"#),
            (
                Some("application/json"),
                br#"{"grant_type": "a", "grant_type": "b"}"#,
            ),
            (
                Some("application/x-www-form-urlencoded"),
                b"grant_type=a&grant_type=b",
            ),
        ];
        for (ct, body) in cases {
            let e = TokenRequest::parse(ct, body).unwrap_err();
            assert_eq!(
                e.code,
                ErrorCode::InvalidRequest,
                "{ct:?} {}",
                String::from_utf8_lossy(body)
            );
        }
        let big = vec![b'a'; TokenRequest::MAX_BODY_BYTES + 1];
        assert_eq!(
            TokenRequest::parse(Some("application/json"), &big)
                .unwrap_err()
                .code,
            ErrorCode::InvalidRequest
        );
        // Null counts as absent.
        let r = TokenRequest::parse(Some("application/json"), br#"{"scope": null}"#).unwrap();
        assert!(r.scope.is_none());
    }

    #[test]
    fn basic_authorization_supplies_client_credentials() {
        let base = TokenRequest::parse(
            Some("application/x-www-form-urlencoded"),
            b"grant_type=client_credentials",
        )
        .unwrap();
        let header = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret+x"));
        let r = base.clone().with_authorization(Some(&header)).unwrap();
        assert_eq!(r.client_id.as_deref(), Some("my id"));
        assert_eq!(r.client_secret.as_ref().unwrap().expose(), "s:cret x");
        // Other schemes and no header leave the request alone.
        assert!(
            base.clone()
                .with_authorization(Some("Bearer x"))
                .unwrap()
                .client_id
                .is_none()
        );
        assert!(
            base.clone()
                .with_authorization(None)
                .unwrap()
                .client_id
                .is_none()
        );
        // Garbage is invalid_client.
        for bad in [
            "Basic !!!",
            &format!("Basic {}", STANDARD.encode("no-colon")),
        ] {
            assert_eq!(
                base.clone().with_authorization(Some(bad)).unwrap_err().code,
                ErrorCode::InvalidClient
            );
        }
        // Two ways at once: invalid_request.
        let both = TokenRequest::parse(
            Some("application/x-www-form-urlencoded"),
            b"grant_type=client_credentials&client_id=a&client_secret=b",
        )
        .unwrap();
        let header = format!("Basic {}", STANDARD.encode("a:b"));
        assert_eq!(
            both.with_authorization(Some(&header)).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        let other_id = TokenRequest::parse(
            Some("application/x-www-form-urlencoded"),
            b"grant_type=client_credentials&client_id=z",
        )
        .unwrap();
        assert_eq!(
            other_id.with_authorization(Some(&header)).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }
}
