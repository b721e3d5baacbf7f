use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use super::*;
use crate::clock::Clock;
use crate::keys::SigningKey;
use crate::keys::tests::{pem, rsa_pkcs8};
use crate::secret::SecretString;
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
    forged =
        SecretString::new(jsonwebtoken::encode(&header, &claims(now() + 60, now()), &key).unwrap());
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
