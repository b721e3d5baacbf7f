//! Reading and forging JWTs for the authentication tests: the parts of a compact token, claims
//! signed with a key the test holds, and tokens no key signed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonapi_auth::{SigningKey, TokenSigner};
use serde_json::{Value, json};

/// The issuer and audience the servers under test use (the defaults).
pub const ISSUER: &str = "jsonapi";

/// base64url without padding, as in JWTs.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The header and the claims of a compact JWT.
///
/// # Panics
/// When `token` is not three base64url parts holding JSON objects.
pub fn decode(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {token}");
    let part = |s: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .unwrap_or_else(|e| panic!("not base64url ({e}): {s}"));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
    };
    (part(parts[0]), part(parts[1]))
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// Claims the servers under test accept (issuer and audience `jsonapi`, valid for an hour from
/// now) for a subject with `roles`; tests change them to make them wrong.
pub fn claims(roles: &[&str]) -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "aud": ISSUER,
        "sub": "test-forger",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": format!("jti-{now}"),
        "roles": roles,
    })
}

/// `claims` signed with `key` (its algorithm, its `kid`).
///
/// # Panics
/// When signing fails.
pub fn sign(key: &SigningKey, claims: &Value) -> String {
    TokenSigner::new(key.clone(), ISSUER, ISSUER)
        .sign_claims(claims)
        .expect("the claims are signed")
        .expose()
        .to_owned()
}

/// A token with this header and these claims and the given signature part (`""` for none).
pub fn assemble(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}
