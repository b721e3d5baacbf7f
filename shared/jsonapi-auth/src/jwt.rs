//! Access tokens: JWTs signed by [`TokenSigner`] and checked by [`TokenVerifier`].
//!
//! Verification pins the algorithm of the configured key (a token may not choose it: `none`,
//! HS256 against an asymmetric key or an asymmetric algorithm against an HS256 secret all fail),
//! requires `iss`, `aud`, `sub`, `exp` and `nbf`, and checks the times with a small leeway.
//! Tokens of an external OpenID provider are accepted when its JWKS is configured
//! ([`ExternalIssuer`]); they are recognised by the `kid` of one of its keys, and are then held
//! to that provider's issuer, audience and key algorithm.

use std::collections::HashSet;
use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Clock;
use crate::keys::{KeyError, SigningKey, VerifyingKey, jwk_algorithm};
use crate::secret::SecretString;
use crate::util::random_token;

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

fn token_error(e: &jsonwebtoken::errors::Error) -> TokenError {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::keys::tests::{pem, rsa_pkcs8};
    use crate::util::b64url;

    const ISS: &str = "https://api.example.test";
    const AUD: &str = "jsonapi";

    fn hs() -> SigningKey {
        SigningKey::hs256(b"a-test-secret-of-at-least-32-bytes!!").unwrap()
    }

    fn signer(key: SigningKey) -> TokenSigner {
        TokenSigner::new(key, ISS, AUD)
    }

    fn now() -> u64 {
        Clock::system().now()
    }

    fn claims(exp: u64, nbf: u64) -> Value {
        json!({"iss": ISS, "aud": AUD, "sub": "c1", "exp": exp, "nbf": nbf, "iat": nbf,
               "jti": "j", "roles": ["admin"]})
    }

    fn roles() -> Vec<String> {
        vec!["admin".into(), "viewer".into()]
    }

    #[test]
    fn signed_tokens_verify_for_every_key_kind() {
        let rsa = SigningKey::from_pem(&pem("PRIVATE KEY", rsa_pkcs8())).unwrap();
        for key in [hs(), SigningKey::generate_es256().unwrap(), rsa] {
            let alg = key.algorithm();
            let s = signer(key);
            let t = s.sign("user:7", &roles(), Some("client-a")).unwrap();
            assert_eq!(t.expires_in, 3600);
            let header = jsonwebtoken::decode_header(t.token.expose()).unwrap();
            assert_eq!(header.alg, alg);
            assert_eq!(header.kid.as_deref(), s.key().key_id());
            let p = s.verifier().verify(t.token.expose()).unwrap();
            assert_eq!(p.subject, "user:7");
            assert_eq!(p.roles, roles());
            assert_eq!(p.client_id.as_deref(), Some("client-a"));
            assert_eq!(p.issuer, ISS);
            assert_eq!(p.expires_at, t.claims.exp);
            assert_eq!(p.token_id.as_deref(), Some(t.claims.jti.as_str()));
            assert!(!p.external);
            // Claims as the issue lists them.
            let body: Value = serde_json::from_slice(
                &crate::util::b64url_decode(t.token.expose().split('.').nth(1).unwrap()).unwrap(),
            )
            .unwrap();
            for claim in ["iss", "aud", "sub", "exp", "nbf", "iat", "jti", "roles"] {
                assert!(body.get(claim).is_some(), "{claim} missing");
            }
        }
    }

    #[test]
    fn alg_none_is_refused() {
        let s = signer(hs());
        let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
        let body = b64url(claims(now() + 60, now()).to_string().as_bytes());
        for token in [format!("{header}.{body}."), format!("{header}.{body}.c2ln")] {
            assert_eq!(s.verifier().verify(&token), Err(TokenError::Algorithm));
        }
        let header = b64url(br#"{"alg":"None"}"#);
        assert_eq!(
            s.verifier().verify(&format!("{header}.{body}.")),
            Err(TokenError::Algorithm)
        );
    }

    #[test]
    fn hs256_token_is_refused_by_an_es256_verifier() {
        let es = signer(SigningKey::generate_es256().unwrap());
        // An attacker signs HS256 with the published public key as the HMAC secret, and with
        // any other secret; both are refused whatever the kid says.
        let public = es.key().jwks().to_string();
        let mut forged = signer(SigningKey::hs256(public.as_bytes()).unwrap())
            .sign_claims(&claims(now() + 60, now()))
            .unwrap();
        assert_eq!(
            es.verifier().verify(forged.expose()),
            Err(TokenError::Algorithm)
        );
        let mut header = Header::new(Algorithm::HS256);
        header.kid = es.key().key_id().map(str::to_owned);
        let key = jsonwebtoken::EncodingKey::from_secret(public.as_bytes());
        forged = SecretString::new(
            jsonwebtoken::encode(&header, &claims(now() + 60, now()), &key).unwrap(),
        );
        assert_eq!(
            es.verifier().verify(forged.expose()),
            Err(TokenError::Algorithm)
        );
    }

    #[test]
    fn es256_token_is_refused_by_an_hs256_verifier() {
        let es = signer(SigningKey::generate_es256().unwrap());
        let token = es.sign("c1", &[], None).unwrap();
        let hs = signer(hs());
        assert_eq!(
            hs.verifier().verify(token.token.expose()),
            Err(TokenError::Algorithm)
        );
        // Without the kid the algorithm pin refuses it.
        let mut parts: Vec<String> = token.token.expose().split('.').map(str::to_owned).collect();
        parts[0] = b64url(br#"{"alg":"ES256","typ":"JWT"}"#);
        assert_eq!(
            hs.verifier().verify(&parts.join(".")),
            Err(TokenError::Algorithm)
        );
        // RS256 against ES256 likewise.
        let rsa = signer(SigningKey::from_pem(&pem("PRIVATE KEY", rsa_pkcs8())).unwrap());
        let mut header = Header::new(Algorithm::RS256);
        header.kid = es.key().key_id().map(str::to_owned);
        let rsa_key = rsa.key().encoding().clone();
        let forged = jsonwebtoken::encode(&header, &claims(now() + 60, now()), &rsa_key).unwrap();
        assert_eq!(es.verifier().verify(&forged), Err(TokenError::Algorithm));
    }

    #[test]
    fn bad_signature_is_refused() {
        for key in [hs(), SigningKey::generate_es256().unwrap()] {
            let s = signer(key);
            let token = s.sign("c1", &[], None).unwrap();
            let t = token.token.expose();
            // Flip one signature character.
            let (head, sig) = t.rsplit_once('.').unwrap();
            let mut sig: Vec<char> = sig.chars().collect();
            sig[3] = if sig[3] == 'A' { 'B' } else { 'A' };
            let tampered = format!("{head}.{}", sig.into_iter().collect::<String>());
            assert_eq!(s.verifier().verify(&tampered), Err(TokenError::Signature));
            // Change the claims, keep the signature.
            let mut parts: Vec<&str> = t.split('.').collect();
            let other = b64url(claims(now() + 60, now()).to_string().as_bytes());
            parts[1] = &other;
            assert_eq!(
                s.verifier().verify(&parts.join(".")),
                Err(TokenError::Signature)
            );
            // Another key of the same kind.
            let other_key = match s.key().algorithm() {
                Algorithm::HS256 => SigningKey::hs256(&[1; 32]).unwrap(),
                _ => SigningKey::generate_es256().unwrap(),
            };
            let stranger = TokenSigner::new(other_key, ISS, AUD)
                .sign("c1", &[], None)
                .unwrap();
            assert!(s.verifier().verify(stranger.token.expose()).is_err());
        }
    }

    #[test]
    fn keys_offered_in_the_token_header_are_ignored() {
        // An attacker embeds their own public key (`jwk`) or a key URL (`jku`) and our kid.
        let ours = signer(SigningKey::generate_es256().unwrap());
        let attacker = SigningKey::generate_es256().unwrap();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = ours.key().key_id().map(str::to_owned);
        header.jwk = Some(serde_json::from_value(attacker.jwks()["keys"][0].clone()).unwrap());
        header.jku = Some("https://evil.test/jwks.json".into());
        let forged =
            jsonwebtoken::encode(&header, &claims(now() + 60, now()), attacker.encoding()).unwrap();
        assert_eq!(ours.verifier().verify(&forged), Err(TokenError::Signature));
    }

    #[test]
    fn expired_and_not_yet_valid_tokens_are_refused_with_a_small_leeway() {
        let s = signer(hs());
        let v = s.verifier();
        let sign = |c: &Value| s.sign_claims(c).unwrap();
        assert_eq!(
            v.verify(sign(&claims(now() - 120, now() - 3720)).expose()),
            Err(TokenError::Expired)
        );
        assert_eq!(
            v.verify(sign(&claims(now() + 3720, now() + 120)).expose()),
            Err(TokenError::NotYetValid)
        );
        // Within the leeway: accepted.
        assert!(
            v.verify(sign(&claims(now() - 5, now() - 60)).expose())
                .is_ok()
        );
        assert!(
            v.verify(sign(&claims(now() + 3600, now() + 5)).expose())
                .is_ok()
        );
        // With no leeway the 5 s skew counts.
        let strict = v.clone().with_leeway(0);
        assert_eq!(
            strict.verify(sign(&claims(now() - 5, now() - 60)).expose()),
            Err(TokenError::Expired)
        );
        // A signer with a clock in the past makes tokens that are already dead.
        let old = signer(hs()).with_clock(Clock::manual(now() - 7200));
        let t = old.sign("c1", &[], None).unwrap();
        assert_eq!(v.verify(t.token.expose()), Err(TokenError::Expired));
    }

    #[test]
    fn wrong_issuer_or_audience_and_missing_claims_are_refused() {
        let key = hs();
        let t = TokenSigner::new(key.clone(), "https://evil.test", AUD)
            .sign("c1", &[], None)
            .unwrap();
        let v = signer(key.clone()).verifier();
        assert_eq!(v.verify(t.token.expose()), Err(TokenError::Issuer));
        let t = TokenSigner::new(key.clone(), ISS, "other-api")
            .sign("c1", &[], None)
            .unwrap();
        assert_eq!(v.verify(t.token.expose()), Err(TokenError::Audience));
        let s = signer(key);
        for missing in ["iss", "aud", "sub", "exp", "nbf"] {
            let mut c = claims(now() + 60, now());
            c.as_object_mut().unwrap().remove(missing);
            assert_eq!(
                v.verify(s.sign_claims(&c).unwrap().expose()),
                Err(TokenError::Claims),
                "{missing}"
            );
        }
        let mut c = claims(now() + 60, now());
        c["exp"] = json!("soon");
        assert_eq!(
            v.verify(s.sign_claims(&c).unwrap().expose()),
            Err(TokenError::Claims)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let v = signer(hs()).verifier();
        for t in [
            "",
            "abc",
            "a.b",
            "a.b.c",
            "....",
            &"x".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            assert_eq!(v.verify(t), Err(TokenError::Malformed), "{t}");
        }
    }

    #[test]
    fn external_provider_tokens_are_accepted_by_kid_and_held_to_its_issuer() {
        // The "provider" signs with its own RSA key; we only know its JWKS.
        let provider_key = SigningKey::from_pem(&pem("PRIVATE KEY", rsa_pkcs8())).unwrap();
        let provider_iss = "https://cognito-idp.eu-west-1.amazonaws.com/pool";
        let provider = TokenSigner::new(provider_key.clone(), provider_iss, "unused");
        let mut external = ExternalIssuer::new(provider_iss, provider_key.jwks());
        external.roles_claim = "cognito:groups".into();

        let ours = signer(SigningKey::generate_es256().unwrap());
        let v = ours.verifier().with_external(&external).unwrap();

        let c = json!({"iss": provider_iss, "sub": "abc-123", "exp": now() + 60,
                       "client_id": "app", "cognito:groups": ["editors"], "token_use": "access"});
        let t = provider.sign_claims(&c).unwrap();
        let p = v.verify(t.expose()).unwrap();
        assert_eq!(p.subject, "abc-123");
        assert_eq!(p.roles, vec!["editors".to_owned()]);
        assert_eq!(p.client_id.as_deref(), Some("app"));
        assert!(p.external);

        // Our own tokens still verify.
        assert!(
            v.verify(ours.sign("c1", &[], None).unwrap().token.expose())
                .is_ok()
        );

        // Another issuer with the provider's key: refused.
        let mut c2 = c.clone();
        c2["iss"] = json!(ISS);
        assert_eq!(
            v.verify(provider.sign_claims(&c2).unwrap().expose()),
            Err(TokenError::Issuer)
        );
        // Expired: refused.
        let mut c3 = c.clone();
        c3["exp"] = json!(now() - 600);
        assert_eq!(
            v.verify(provider.sign_claims(&c3).unwrap().expose()),
            Err(TokenError::Expired)
        );
        // Roles claim of the wrong shape: refused.
        let mut c4 = c.clone();
        c4["cognito:groups"] = json!("editors");
        assert_eq!(
            v.verify(provider.sign_claims(&c4).unwrap().expose()),
            Err(TokenError::Claims)
        );
        // HS256 with the provider's kid: refused.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = provider_key.key_id().map(str::to_owned);
        let forged = jsonwebtoken::encode(
            &header,
            &c,
            &jsonwebtoken::EncodingKey::from_secret(provider_key.jwks().to_string().as_bytes()),
        )
        .unwrap();
        assert_eq!(v.verify(&forged), Err(TokenError::Algorithm));
        // An unknown kid: refused.
        let stranger = signer(SigningKey::generate_es256().unwrap());
        assert_eq!(
            v.verify(stranger.sign("c1", &[], None).unwrap().token.expose()),
            Err(TokenError::UnknownKey)
        );

        // With an audience configured, it is checked.
        let mut strict = external;
        strict.audiences = vec!["my-app".into()];
        let v = ours.verifier().with_external(&strict).unwrap();
        assert_eq!(v.verify(t.expose()), Err(TokenError::Claims));
        let mut c5 = c;
        c5["aud"] = json!("my-app");
        assert!(
            v.verify(provider.sign_claims(&c5).unwrap().expose())
                .is_ok()
        );
        c5["aud"] = json!("other");
        assert_eq!(
            v.verify(provider.sign_claims(&c5).unwrap().expose()),
            Err(TokenError::Audience)
        );
    }

    #[test]
    fn external_jwks_must_hold_usable_keys() {
        let v = signer(hs()).verifier();
        assert!(
            v.clone()
                .with_external(&ExternalIssuer::new("x", json!({"keys": []})))
                .is_err()
        );
        assert!(
            v.clone()
                .with_external(&ExternalIssuer::new("x", json!("nope")))
                .is_err()
        );
        let k = b64url(&[1; 32]);
        assert!(
            v.clone()
                .with_external(&ExternalIssuer::new(
                    "x",
                    json!({"keys": [{"kty": "oct", "k": k, "kid": "s"}]})
                ))
                .is_err()
        );
        let es = SigningKey::generate_es256().unwrap();
        let v = v
            .with_external(&ExternalIssuer::new("x", es.jwks()))
            .unwrap();
        // The same key twice: refused.
        assert!(
            v.with_external(&ExternalIssuer::new("y", es.jwks()))
                .is_err()
        );
    }

    #[test]
    fn www_authenticate_names_the_reason_only() {
        assert_eq!(
            TokenError::Expired.www_authenticate(),
            "Bearer error=\"invalid_token\", error_description=\"The access token has expired\""
        );
        for e in [
            TokenError::Malformed,
            TokenError::Algorithm,
            TokenError::Signature,
            TokenError::NotYetValid,
            TokenError::Issuer,
            TokenError::Audience,
            TokenError::UnknownKey,
            TokenError::Claims,
        ] {
            assert!(!e.reason().contains('"'));
        }
    }

    #[test]
    fn debug_prints_no_token_or_secret() {
        let key = SigningKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap();
        let s = signer(key);
        let t = s.sign("c1", &[], None).unwrap();
        let shown = format!("{s:?} {:?} {t:?}", s.verifier());
        assert!(!shown.contains("0123456789abcdef"));
        assert!(!shown.contains(t.token.expose()));
        assert!(!shown.contains(t.token.expose().split('.').nth(2).unwrap()));
    }
}
