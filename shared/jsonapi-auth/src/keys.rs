//! Signing keys: an HS256 secret, or an ES256 / RS256 key pair (generated, or read from PEM or
//! JWK), and the public JWKS document that lets others check our tokens.
//!
//! Asymmetric keys get a key id, the RFC 7638 thumbprint of their public JWK; tokens carry it
//! in the `kid` header. An HS256 secret is never published: its JWKS is empty.

use std::fmt;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::secret::SecretString;
use crate::util::b64url_decode;

/// The shortest HS256 secret accepted (RFC 7518 §3.2: at least the hash's size).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;
/// The smallest RSA modulus accepted.
pub const MIN_RSA_BITS: usize = 2048;

/// Why a key could not be made or read. The messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// An HMAC secret shorter than [`MIN_HMAC_SECRET_BYTES`].
    #[error("an HS256 secret needs at least {MIN_HMAC_SECRET_BYTES} bytes")]
    SecretTooShort,
    /// The text is not a PEM document this crate reads.
    #[error("invalid PEM: {0}")]
    Pem(&'static str),
    /// A key of a kind this crate does not sign or verify with.
    #[error("unsupported key: {0}")]
    Unsupported(String),
    /// A JWK (or JWKS) that is malformed.
    #[error("invalid JWK: {0}")]
    Jwk(String),
    /// The cryptographic library refused the key.
    #[error("the key was rejected: {0}")]
    Rejected(String),
    /// Signing a token failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

fn rejected(e: impl fmt::Display) -> KeyError {
    KeyError::Rejected(e.to_string())
}

/// The key that checks tokens: an HS256 secret or a public key, with its pinned algorithm.
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    decoding: DecodingKey,
    kid: Option<String>,
    public_jwk: Option<Jwk>,
}

impl VerifyingKey {
    /// An HS256 secret (at least [`MIN_HMAC_SECRET_BYTES`] bytes).
    ///
    /// # Errors
    /// [`KeyError::SecretTooShort`].
    pub fn hs256(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(KeyError::SecretTooShort);
        }
        Ok(Self {
            alg: Algorithm::HS256,
            decoding: DecodingKey::from_secret(secret),
            kid: None,
            public_jwk: None,
        })
    }

    /// A public EC P-256 or RSA key as a JWK (`{"kty":"EC",...}`); its `alg`, when given, must
    /// suit the key, and is otherwise ES256 / RS256. Symmetric (`oct`) JWKs are refused.
    ///
    /// # Errors
    /// The JWK is malformed, symmetric or of an unsupported kind.
    pub fn from_public_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let mut parsed: Jwk =
            serde_json::from_value(jwk.clone()).map_err(|e| KeyError::Jwk(e.to_string()))?;
        let alg = jwk_algorithm(&parsed)?;
        let decoding = DecodingKey::from_jwk(&parsed).map_err(rejected)?;
        if parsed.common.key_id.is_none() {
            parsed.common.key_id = parsed.thumbprint(ThumbprintHash::SHA256).ok();
        }
        Ok(Self {
            alg,
            decoding,
            kid: parsed.common.key_id.clone(),
            public_jwk: Some(parsed),
        })
    }

    /// The only algorithm tokens checked with this key may use.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id (`kid`), for asymmetric keys.
    pub fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The public key as a JWK (with its `kid`); `None` for an HS256 secret.
    pub fn public_jwk(&self) -> Option<Value> {
        self.public_jwk
            .as_ref()
            .and_then(|jwk| serde_json::to_value(jwk).ok())
    }

    /// The public JWKS document (`{"keys":[...]}`); empty for an HS256 secret.
    pub fn jwks(&self) -> Value {
        let set = JwkSet {
            keys: self.public_jwk.iter().cloned().collect(),
        };
        serde_json::to_value(set).unwrap_or_else(|_| serde_json::json!({ "keys": [] }))
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The key that signs tokens, with its verifying half.
#[derive(Clone)]
pub struct SigningKey {
    encoding: EncodingKey,
    verifying: VerifyingKey,
    /// PKCS#8 (EC) or PKCS#1 (RSA) DER; empty for HS256.
    private_der: Zeroizing<Vec<u8>>,
}

impl SigningKey {
    /// An HS256 secret of at least [`MIN_HMAC_SECRET_BYTES`] bytes: the simple option, where
    /// every party that checks tokens also holds the secret.
    ///
    /// # Errors
    /// [`KeyError::SecretTooShort`].
    pub fn hs256(secret: &[u8]) -> Result<Self, KeyError> {
        let verifying = VerifyingKey::hs256(secret)?;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            verifying,
            private_der: Zeroizing::new(Vec::new()),
        })
    }

    /// A fresh ES256 (P-256) key pair, for local use; keep it with [`SigningKey::to_pem`].
    ///
    /// # Errors
    /// The cryptographic library failed.
    pub fn generate_es256() -> Result<Self, KeyError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(rejected)?;
        Self::es256_from_pkcs8(doc.as_ref())
    }

    /// A private key in PEM: EC P-256 (`PRIVATE KEY` PKCS#8, or `EC PRIVATE KEY` SEC 1) signs
    /// with ES256, RSA of at least 2048 bits (`PRIVATE KEY` or `RSA PRIVATE KEY`) with RS256.
    /// Encrypted keys are not read.
    ///
    /// # Errors
    /// Not PEM, not a private key, or a kind of key not supported.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let blocks = pem_blocks(pem)?;
        let (label, der) = blocks
            .into_iter()
            .find(|(label, _)| label != "EC PARAMETERS")
            .ok_or(KeyError::Pem("no key block"))?;
        match label.as_str() {
            "PRIVATE KEY" => {
                if EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).is_ok() {
                    Self::es256_from_pkcs8(&der)
                } else if RsaKeyPair::from_pkcs8(&der).is_ok() {
                    let inner = pkcs8_private_key(&der).ok_or(KeyError::Pem("malformed PKCS#8"))?;
                    Self::rs256_from_pkcs1(inner)
                } else {
                    Err(KeyError::Unsupported(
                        "a PKCS#8 key that is neither EC P-256 nor RSA".into(),
                    ))
                }
            }
            "EC PRIVATE KEY" => {
                let pair =
                    EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                        .map_err(rejected)?;
                let doc = pair.to_pkcs8v1().map_err(rejected)?;
                Self::es256_from_pkcs8(doc.as_ref())
            }
            "RSA PRIVATE KEY" => Self::rs256_from_pkcs1(&der),
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::Unsupported("encrypted private keys".into())),
            "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => Err(KeyError::Unsupported(
                "a public key cannot sign; use VerifyingKey::from_public_jwk".into(),
            )),
            other => Err(KeyError::Unsupported(format!("PEM block \"{other}\""))),
        }
    }

    /// A private key as a JWK: EC P-256 with `d`, `x`, `y` (ES256), or `oct` with `k` (HS256).
    ///
    /// # Errors
    /// Malformed, public-only or unsupported JWK.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let field = |name: &str| -> Result<Vec<u8>, KeyError> {
            jwk.get(name)
                .and_then(Value::as_str)
                .and_then(b64url_decode)
                .ok_or_else(|| KeyError::Jwk(format!("missing or invalid \"{name}\"")))
        };
        let alg = jwk.get("alg").and_then(Value::as_str);
        match jwk.get("kty").and_then(Value::as_str) {
            Some("oct") => {
                if alg.is_some_and(|a| a != "HS256") {
                    return Err(KeyError::Unsupported(
                        "oct keys sign with HS256 only".into(),
                    ));
                }
                let secret = Zeroizing::new(field("k")?);
                Self::hs256(&secret)
            }
            Some("EC") => {
                if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                    return Err(KeyError::Unsupported("EC keys must be on P-256".into()));
                }
                if alg.is_some_and(|a| a != "ES256") {
                    return Err(KeyError::Unsupported(
                        "P-256 keys sign with ES256 only".into(),
                    ));
                }
                if jwk.get("d").is_none() {
                    return Err(KeyError::Jwk(
                        "a public JWK cannot sign; use VerifyingKey::from_public_jwk".into(),
                    ));
                }
                let d = Zeroizing::new(field("d")?);
                let (x, y) = (field("x")?, field("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(KeyError::Jwk("P-256 coordinates are 32 bytes".into()));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let pair = EcdsaKeyPair::from_private_key_and_public_key(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &d,
                    &point,
                )
                .map_err(rejected)?;
                let doc = pair.to_pkcs8v1().map_err(rejected)?;
                Self::es256_from_pkcs8(doc.as_ref())
            }
            Some("RSA") => Err(KeyError::Unsupported(
                "RSA private keys are read from PEM".into(),
            )),
            Some(other) => Err(KeyError::Unsupported(format!("key type \"{other}\""))),
            None => Err(KeyError::Jwk("missing \"kty\"".into())),
        }
    }

    fn es256_from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(rejected)?;
        Self::asymmetric(Algorithm::ES256, EncodingKey::from_ec_der(der), der)
    }

    fn rs256_from_pkcs1(der: &[u8]) -> Result<Self, KeyError> {
        let pair = RsaKeyPair::from_der(der).map_err(rejected)?;
        if pair.public_modulus_len() * 8 < MIN_RSA_BITS {
            return Err(KeyError::Unsupported(format!(
                "RSA keys need at least {MIN_RSA_BITS} bits"
            )));
        }
        Self::asymmetric(Algorithm::RS256, EncodingKey::from_rsa_der(der), der)
    }

    fn asymmetric(alg: Algorithm, encoding: EncodingKey, der: &[u8]) -> Result<Self, KeyError> {
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).map_err(rejected)?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(rejected)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(rejected)?;
        Ok(Self {
            encoding,
            verifying: VerifyingKey {
                alg,
                decoding,
                kid: Some(kid),
                public_jwk: Some(jwk),
            },
            private_der: Zeroizing::new(der.to_vec()),
        })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.verifying.alg
    }

    /// The key id (`kid`), for asymmetric keys.
    pub fn key_id(&self) -> Option<&str> {
        self.verifying.key_id()
    }

    /// The verifying half (the public key, or the same HS256 secret).
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
    }

    /// The public JWKS document for `/.well-known/jwks.json` (empty for HS256).
    pub fn jwks(&self) -> Value {
        self.verifying.jwks()
    }

    /// The private key as PEM (`PRIVATE KEY` PKCS#8 for EC, `RSA PRIVATE KEY` for RSA), to keep
    /// a generated key; `None` for an HS256 secret.
    pub fn to_pem(&self) -> Option<SecretString> {
        let label = match self.verifying.alg {
            Algorithm::ES256 => "PRIVATE KEY",
            Algorithm::RS256 => "RSA PRIVATE KEY",
            _ => return None,
        };
        let b64 = Zeroizing::new(STANDARD.encode(&*self.private_der));
        let mut pem = format!("-----BEGIN {label}-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str(&format!("-----END {label}-----\n"));
        Some(SecretString::new(pem))
    }

    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.verifying.alg)
            .field("kid", &self.verifying.kid)
            .finish_non_exhaustive()
    }
}

/// The algorithm a public JWK verifies: its `alg` when given (checked against the key), else
/// RS256 for RSA and ES256 / ES384 for P-256 / P-384.
pub(crate) fn jwk_algorithm(jwk: &Jwk) -> Result<Algorithm, KeyError> {
    let inferred = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return Err(KeyError::Unsupported("this elliptic curve".into())),
        },
        AlgorithmParameters::OctetKey(_) => {
            return Err(KeyError::Unsupported(
                "symmetric keys are never published in a JWKS".into(),
            ));
        }
        _ => return Err(KeyError::Unsupported("this key type".into())),
    };
    let Some(declared) = jwk.common.key_algorithm else {
        return Ok(inferred);
    };
    let declared = Algorithm::try_from(declared)
        .map_err(|_| KeyError::Unsupported("the JWK's \"alg\"".into()))?;
    let fits = match declared.family() {
        AlgorithmFamily::Rsa => inferred.family() == AlgorithmFamily::Rsa,
        AlgorithmFamily::Ec => declared == inferred,
        _ => false,
    };
    if fits {
        Ok(declared)
    } else {
        Err(KeyError::Jwk("the \"alg\" does not suit the key".into()))
    }
}

/// The blocks of a PEM document: label and DER.
fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, KeyError> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = Zeroizing::new(String::new());
        let mut closed = false;
        for line in lines.by_ref() {
            if line == end {
                closed = true;
                break;
            }
            if line.contains(':') {
                return Err(KeyError::Unsupported(
                    "PEM headers (encrypted keys are not read)".into(),
                ));
            }
            body.push_str(line);
        }
        if !closed {
            return Err(KeyError::Pem("a block is not closed"));
        }
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|_| KeyError::Pem("bad base64"))?;
        blocks.push((label.to_owned(), der));
    }
    if blocks.is_empty() {
        return Err(KeyError::Pem("no -----BEGIN line"));
    }
    Ok(blocks)
}

/// One DER element: tag, contents, the bytes after it.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The `privateKey` octets of a PKCS#8 `PrivateKeyInfo` (for RSA: the PKCS#1 key).
fn pkcs8_private_key(der: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const OCTET_STRING: u8 = 0x04;
    let (tag, info, rest) = der_element(der)?;
    if tag != SEQUENCE || !rest.is_empty() {
        return None;
    }
    let (tag, _version, info) = der_element(info)?;
    if tag != INTEGER {
        return None;
    }
    let (tag, _algorithm, info) = der_element(info)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, key, _attributes) = der_element(info)?;
    (tag == OCTET_STRING).then_some(key)
}

#[cfg(test)]
pub(crate) mod tests;
