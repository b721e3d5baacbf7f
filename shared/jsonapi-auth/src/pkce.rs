//! Proof Key for Code Exchange (RFC 7636): the client sends `code_challenge` =
//! BASE64URL(SHA-256(`code_verifier`)) with the authorization request and the verifier with the
//! token request, so a code intercepted on its way back is useless without the verifier.
//!
//! Only the `S256` method is accepted: `plain` sends the verifier itself through the browser,
//! which is what PKCE exists to avoid.

use sha2::{Digest as _, Sha256};

use crate::util::{b64url, same_secret};

/// The one transformation accepted.
pub const S256: &str = "S256";

/// Whether `text` has the form RFC 7636 §4.1 gives a verifier (and, for S256, the challenge
/// shares its alphabet): 43 to 128 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
pub fn well_formed(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `challenge` can be an S256 challenge: the base64url form of a SHA-256 digest
/// (43 characters, no padding).
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// The S256 challenge of a verifier.
pub fn s256_challenge(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` is well formed and its S256 challenge is `challenge` (compared in
/// constant time).
pub fn verify(verifier: &str, challenge: &str) -> bool {
    well_formed(verifier) && same_secret(s256_challenge(verifier).as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_appendix_b_vector() {
        assert_eq!(s256_challenge(VERIFIER), CHALLENGE);
        assert!(verify(VERIFIER, CHALLENGE));
        assert!(is_s256_challenge(CHALLENGE));
        // One character off, on either side: refused.
        assert!(!verify(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            CHALLENGE
        ));
        assert!(!verify(
            VERIFIER,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        // `plain` would compare the verifier itself: never accepted.
        assert!(!verify(VERIFIER, VERIFIER));
    }

    #[test]
    fn verifiers_have_43_to_128_unreserved_characters() {
        assert!(well_formed(&"a".repeat(43)));
        assert!(well_formed(&"A-._~9".repeat(22)[..128]));
        assert!(!well_formed(&"a".repeat(42)));
        assert!(!well_formed(&"a".repeat(129)));
        assert!(!well_formed(&format!("{}+", "a".repeat(42))));
        assert!(!well_formed(&format!("{} ", "a".repeat(43))));
        // A short verifier never verifies, even against its own challenge.
        assert!(!verify("short", &s256_challenge("short")));
        assert!(!is_s256_challenge(&"a".repeat(44)));
        assert!(!is_s256_challenge(&format!("{}=", "a".repeat(42))));
    }
}
