use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::KeySize;
use serde_json::json;

use super::*;

/// One 2048-bit RSA key pair (PKCS#8 DER) for all tests; generating one is slow in debug.
pub(crate) fn rsa_pkcs8() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        pair.as_der().unwrap().as_ref().to_vec()
    })
}

pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[test]
fn hs256_needs_32_bytes_and_publishes_nothing() {
    assert_eq!(
        SigningKey::hs256(&[7; 31]).unwrap_err(),
        KeyError::SecretTooShort
    );
    let key = SigningKey::hs256(&[7; 32]).unwrap();
    assert_eq!(key.algorithm(), Algorithm::HS256);
    assert_eq!(key.key_id(), None);
    assert_eq!(key.jwks(), json!({ "keys": [] }));
    assert!(key.to_pem().is_none());
}

#[test]
fn generated_es256_key_round_trips_through_pem_and_publishes_its_public_half() {
    let key = SigningKey::generate_es256().unwrap();
    assert_eq!(key.algorithm(), Algorithm::ES256);
    let kid = key.key_id().unwrap().to_owned();
    let jwks = key.jwks();
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(jwk["alg"], "ES256");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["kid"], kid.as_str());
    assert!(jwk.get("d").is_none(), "the JWKS must hold no private part");

    let pem = key.to_pem().unwrap();
    assert!(pem.expose().starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let again = SigningKey::from_pem(pem.expose()).unwrap();
    assert_eq!(again.key_id(), Some(kid.as_str()));

    // The public JWK is enough to verify.
    let verifying = VerifyingKey::from_public_jwk(jwk).unwrap();
    assert_eq!(verifying.algorithm(), Algorithm::ES256);
    assert_eq!(verifying.key_id(), Some(kid.as_str()));
}

#[test]
fn sec1_ec_pem_with_parameters_block_is_read() {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let sec1 = pair.private_key().as_der().unwrap();
    let text = format!(
        "{}{}",
        pem(
            "EC PARAMETERS",
            &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]
        ),
        pem("EC PRIVATE KEY", sec1.as_ref())
    );
    let key = SigningKey::from_pem(&text).unwrap();
    assert_eq!(key.algorithm(), Algorithm::ES256);
}

#[test]
fn private_ec_jwk_is_read() {
    let key = SigningKey::generate_es256().unwrap();
    // Rebuild the private JWK from the PKCS#8 document.
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.private_der).unwrap();
    use aws_lc_rs::encoding::AsBigEndian as _;
    let d = pair.private_key().as_be_bytes().unwrap();
    let mut jwk = key.jwks()["keys"][0].clone();
    jwk["d"] = json!(crate::util::b64url(d.as_ref()));
    let again = SigningKey::from_jwk(&jwk).unwrap();
    assert_eq!(again.key_id(), key.key_id());

    // Public only: refused for signing.
    let public = key.jwks()["keys"][0].clone();
    assert!(matches!(
        SigningKey::from_jwk(&public),
        Err(KeyError::Jwk(_))
    ));
    // A wrong curve or algorithm: refused.
    let mut bad = jwk.clone();
    bad["alg"] = json!("RS256");
    assert!(SigningKey::from_jwk(&bad).is_err());
    let mut bad = jwk;
    bad["crv"] = json!("P-384");
    assert!(SigningKey::from_jwk(&bad).is_err());
}

#[test]
fn oct_jwk_is_an_hs256_secret() {
    let k = crate::util::b64url(&[9; 32]);
    let key = SigningKey::from_jwk(&json!({"kty": "oct", "k": k})).unwrap();
    assert_eq!(key.algorithm(), Algorithm::HS256);
    let short = crate::util::b64url(&[9; 16]);
    assert_eq!(
        SigningKey::from_jwk(&json!({"kty": "oct", "k": short})).unwrap_err(),
        KeyError::SecretTooShort
    );
    // Never accepted as a published (public) key.
    assert!(VerifyingKey::from_public_jwk(&json!({"kty": "oct", "k": k})).is_err());
}

#[test]
fn rsa_pem_in_both_encodings_is_read() {
    let pkcs8 = rsa_pkcs8();
    let key = SigningKey::from_pem(&pem("PRIVATE KEY", pkcs8)).unwrap();
    assert_eq!(key.algorithm(), Algorithm::RS256);
    let jwk = &key.jwks()["keys"][0];
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert!(jwk.get("d").is_none());

    let pkcs1 = pkcs8_private_key(pkcs8).unwrap();
    let again = SigningKey::from_pem(&pem("RSA PRIVATE KEY", pkcs1)).unwrap();
    assert_eq!(again.key_id(), key.key_id());
    let pem = key.to_pem().unwrap();
    assert!(pem.expose().starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert_eq!(
        SigningKey::from_pem(pem.expose()).unwrap().key_id(),
        key.key_id()
    );
}

#[test]
fn bad_pem_is_refused() {
    assert!(matches!(
        SigningKey::from_pem("hello"),
        Err(KeyError::Pem(_))
    ));
    assert!(matches!(
        SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n"),
        Err(KeyError::Pem(_))
    ));
    assert!(matches!(
        SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----"),
        Err(KeyError::Pem(_))
    ));
    assert!(SigningKey::from_pem(&pem("PRIVATE KEY", &[0x30, 0x00])).is_err());
    assert!(matches!(
        SigningKey::from_pem(&pem("ENCRYPTED PRIVATE KEY", &[0x30, 0x00])),
        Err(KeyError::Unsupported(_))
    ));
    assert!(matches!(
        SigningKey::from_pem(&pem("PUBLIC KEY", &[0x30, 0x00])),
        Err(KeyError::Unsupported(_))
    ));
    assert!(matches!(
        SigningKey::from_pem(
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n-----END RSA PRIVATE KEY-----"
        ),
        Err(KeyError::Unsupported(_))
    ));
}

#[test]
fn der_reader_refuses_truncated_input() {
    assert_eq!(der_element(&[]), None);
    assert_eq!(der_element(&[0x30]), None);
    assert_eq!(der_element(&[0x30, 0x05, 1, 2]), None);
    assert_eq!(der_element(&[0x30, 0x81]), None);
    assert_eq!(der_element(&[0x30, 0x80]), None);
    assert_eq!(
        der_element(&[0x04, 0x81, 0x01, 9, 8]),
        Some((0x04, &[9u8][..], &[8u8][..]))
    );
    assert_eq!(pkcs8_private_key(&[0x30, 0x00]), None);
}

#[test]
fn debug_prints_no_key_material() {
    let key = SigningKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap();
    let shown = format!("{key:?} {:?}", key.verifying_key());
    assert!(!shown.contains("0123456789abcdef"));
    assert!(shown.contains("HS256"));
    let es = SigningKey::generate_es256().unwrap();
    let shown = format!("{es:?}");
    let pem = es.to_pem().unwrap();
    let body: String = pem
        .expose()
        .lines()
        .nth(1)
        .unwrap()
        .chars()
        .take(20)
        .collect();
    assert!(!shown.contains(&body));
    assert_eq!(format!("{pem:?}"), "[redacted]");
}
