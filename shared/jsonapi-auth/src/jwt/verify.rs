//! Verifying: [`TokenVerifier`] checks our tokens and those of external providers.

use std::collections::HashSet;
use std::fmt;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::claims::{AccessClaims, DEFAULT_LEEWAY, MAX_TOKEN_BYTES};
use super::refusal::{TokenError, token_error};
use crate::keys::{KeyError, VerifyingKey, jwk_algorithm};

/// The `iss` a token claims, read without checking anything: only to pick whose keys to
/// refresh when its `kid` is unknown (the token is then checked against that issuer's keys).
pub fn claimed_issuer(token: &str) -> Option<String> {
    use base64::Engine as _;
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

/// Whether a token's header says `"alg": "none"` (an unsigned token: refused as an algorithm
/// we do not accept, which is what it is, rather than as unreadable).
fn declares_no_algorithm(token: &str) -> bool {
    use base64::Engine as _;
    token
        .split('.')
        .next()
        .and_then(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
        .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned))
        .is_some_and(|alg| alg.eq_ignore_ascii_case("none"))
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `sub`: a client id or `user:{id}` for our tokens; the provider's subject otherwise.
    pub subject: String,
    /// Role ids.
    pub roles: Vec<String>,
    /// The client the token was issued to, when it says.
    pub client_id: Option<String>,
    /// `iss`.
    pub issuer: String,
    /// `jti`, when present.
    pub token_id: Option<String>,
    /// `exp`.
    pub expires_at: u64,
    /// Whether an external provider issued it.
    pub external: bool,
}

/// An external OpenID provider whose tokens are accepted too (e.g. Cognito).
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalIssuer {
    /// Its `iss` (e.g. `https://cognito-idp.{region}.amazonaws.com/{pool}`).
    pub issuer: String,
    /// Accepted `aud` values; empty = `aud` not checked (Cognito access tokens have none).
    pub audiences: Vec<String>,
    /// Its JWKS document (`{"keys":[...]}`): given inline, or as last fetched
    /// ([`crate::verifier`]).
    pub jwks: Value,
    /// The claim holding role ids (a string array), e.g. `cognito:groups`.
    pub roles_claim: String,
}

impl ExternalIssuer {
    /// An issuer with its JWKS, no audience check and roles in `roles`.
    pub fn new(issuer: impl Into<String>, jwks: Value) -> Self {
        Self {
            issuer: issuer.into(),
            audiences: Vec::new(),
            jwks,
            roles_claim: "roles".into(),
        }
    }
}

#[derive(Clone)]
struct ExternalKey {
    kid: String,
    key: DecodingKey,
    validation: Validation,
    issuer: String,
    roles_claim: String,
}

/// One of our own keys, with the checks of its tokens.
#[derive(Clone)]
struct OwnKey {
    key: VerifyingKey,
    validation: Validation,
}

/// Checks access tokens: ours (signed by the current key or a previous one still in use), and
/// those of any configured external issuer.
#[derive(Clone)]
pub struct TokenVerifier {
    /// The current key first.
    own: Vec<OwnKey>,
    issuer: String,
    audience: String,
    leeway: u64,
    external: Vec<ExternalKey>,
}

fn validation(alg: Algorithm, issuer: &str, audiences: &[String], leeway: u64) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = leeway;
    v.validate_exp = true;
    v.validate_nbf = true;
    v.set_issuer(&[issuer]);
    let mut required = vec!["exp", "iss", "sub"];
    if audiences.is_empty() {
        v.validate_aud = false;
    } else {
        v.set_audience(audiences);
        required.push("aud");
    }
    v.set_required_spec_claims(&required);
    v
}

impl TokenVerifier {
    /// A verifier of tokens signed with `key` for `issuer` and `audience`.
    pub fn new(key: VerifyingKey, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        let mut verifier = Self::without_keys(issuer, audience);
        verifier.own.push(verifier.own_key(key));
        verifier
    }

    /// A verifier for `issuer` and `audience` that knows no key of ours yet (none was made):
    /// it refuses our tokens as signed by an unknown key until [`TokenVerifier::with_key`].
    pub fn without_keys(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            own: Vec::new(),
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: DEFAULT_LEEWAY,
            external: Vec::new(),
        }
    }

    fn own_key(&self, key: VerifyingKey) -> OwnKey {
        let mut validation = validation(
            key.algorithm(),
            &self.issuer,
            std::slice::from_ref(&self.audience),
            self.leeway,
        );
        // Our own tokens always carry `nbf`.
        validation.required_spec_claims.insert("nbf".into());
        OwnKey { key, validation }
    }

    /// Also accepts our tokens signed by `key` (a previous key whose tokens may still be in
    /// use); the first key given stays the current one.
    ///
    /// # Errors
    /// The key's id is already known.
    pub fn with_key(mut self, key: VerifyingKey) -> Result<Self, KeyError> {
        if let Some(kid) = key.key_id()
            && self.knows_kid(kid)
        {
            return Err(KeyError::Jwk(format!("key id \"{kid}\" is used twice")));
        }
        let own = self.own_key(key);
        self.own.push(own);
        Ok(self)
    }

    fn knows_kid(&self, kid: &str) -> bool {
        self.own.iter().any(|k| k.key.key_id() == Some(kid))
            || self.external.iter().any(|k| k.kid == kid)
    }

    /// Sets the clock-skew leeway in seconds for every issuer.
    #[must_use]
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        for k in &mut self.own {
            k.validation.leeway = seconds;
        }
        for e in &mut self.external {
            e.validation.leeway = seconds;
        }
        self
    }

    /// Also accepts tokens of `external`, signed by a key of its JWKS.
    ///
    /// # Errors
    /// The JWKS is malformed, holds no usable key, or a key id clashes with another key.
    pub fn with_external(mut self, external: &ExternalIssuer) -> Result<Self, KeyError> {
        let set: JwkSet = serde_json::from_value(external.jwks.clone())
            .map_err(|e| KeyError::Jwk(e.to_string()))?;
        let mut added = 0;
        let mut seen: HashSet<String> = self.external.iter().map(|k| k.kid.clone()).collect();
        seen.extend(
            self.own
                .iter()
                .filter_map(|k| k.key.key_id().map(str::to_owned)),
        );
        for jwk in &set.keys {
            // Encryption keys and keys without an id cannot be used to check our bearers.
            if jwk
                .common
                .public_key_use
                .as_ref()
                .is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature)
            {
                continue;
            }
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let alg = jwk_algorithm(jwk)?;
            let key = DecodingKey::from_jwk(jwk).map_err(|e| KeyError::Rejected(e.to_string()))?;
            if !seen.insert(kid.clone()) {
                return Err(KeyError::Jwk(format!("key id \"{kid}\" is used twice")));
            }
            let validation = validation(alg, &external.issuer, &external.audiences, self.leeway);
            self.external.push(ExternalKey {
                kid,
                key,
                validation,
                issuer: external.issuer.clone(),
                roles_claim: external.roles_claim.clone(),
            });
            added += 1;
        }
        if added == 0 {
            return Err(KeyError::Jwk(
                "the JWKS has no signing key with a \"kid\"".into(),
            ));
        }
        Ok(self)
    }

    /// The issuer of our own tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Checks a bearer token (without the `Bearer ` prefix).
    ///
    /// # Errors
    /// Why the token is refused.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        if token.len() > MAX_TOKEN_BYTES || token.is_empty() {
            return Err(TokenError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            if declares_no_algorithm(token) {
                TokenError::Algorithm
            } else {
                token_error(&e)
            }
        })?;
        if let Some(kid) = header.kid.as_deref()
            && let Some(external) = self.external.iter().find(|k| k.kid == kid)
        {
            return Self::verify_external(token, external);
        }
        // Our asymmetric keys are found by `kid`; a token without one, or an HS256 secret
        // (which has no id), is checked with the current key.
        let own = match header.kid.as_deref() {
            Some(kid) => self
                .own
                .iter()
                .find(|k| k.key.key_id() == Some(kid))
                .or_else(|| self.own.first().filter(|k| k.key.key_id().is_none())),
            None => self.own.first(),
        };
        let Some(own) = own else {
            return Err(TokenError::UnknownKey);
        };
        let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(
            token,
            own.key.decoding(),
            &own.validation,
        )
        .map_err(|e| token_error(&e))?;
        let c: AccessClaims =
            serde_json::from_value(Value::Object(data.claims)).map_err(|_| TokenError::Claims)?;
        Ok(Principal {
            subject: c.sub,
            roles: c.roles,
            client_id: c.client_id,
            issuer: c.iss,
            token_id: Some(c.jti),
            expires_at: c.exp,
            external: false,
        })
    }

    fn verify_external(token: &str, external: &ExternalKey) -> Result<Principal, TokenError> {
        let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(
            token,
            &external.key,
            &external.validation,
        )
        .map_err(|e| token_error(&e))?;
        let claims = data.claims;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let roles = match claims.get(&external.roles_claim) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or(TokenError::Claims))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(TokenError::Claims),
        };
        Ok(Principal {
            subject: text("sub").ok_or(TokenError::Claims)?,
            roles,
            client_id: text("client_id").or_else(|| text("azp")),
            issuer: external.issuer.clone(),
            token_id: text("jti"),
            expires_at: claims
                .get("exp")
                .and_then(Value::as_u64)
                .ok_or(TokenError::Claims)?,
            external: true,
        })
    }
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("own", &self.own.iter().map(|k| &k.key).collect::<Vec<_>>())
            .field("issuer", &self.issuer)
            .field("leeway", &self.leeway)
            .field(
                "external",
                &self
                    .external
                    .iter()
                    .map(|k| (k.issuer.as_str(), k.kid.as_str()))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}
