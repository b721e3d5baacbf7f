//! Small helpers shared by the modules: randomness, digests, attribute access.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonapi_store::Attrs;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// `n` bytes from the operating system's CSPRNG (through aws-lc).
pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // A CSPRNG failure leaves nothing safe to do; the argon2 salt generator panics as well.
    aws_lc_rs::rand::fill(&mut buf).expect("the system random number generator failed");
    buf
}

/// `n` random bytes as URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    b64url(&random_bytes(n))
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Epoch seconds as an RFC 3339 time (`2023-11-14T22:13:20Z`); empty when out of range.
pub fn rfc3339(epoch: u64) -> String {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    i64::try_from(epoch)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// URL-safe base64 without padding.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes URL-safe base64 without padding.
pub(crate) fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// SHA-256 of `text`, as URL-safe base64 (43 characters).
pub(crate) fn sha256_b64(text: &str) -> String {
    b64url(&Sha256::digest(text.as_bytes()))
}

pub(crate) fn str_attr<'a>(attrs: &'a Attrs, name: &str) -> Option<&'a str> {
    attrs.get(name).and_then(Value::as_str)
}

pub(crate) fn u64_attr(attrs: &Attrs, name: &str) -> Option<u64> {
    attrs.get(name).and_then(Value::as_u64)
}

pub(crate) fn bool_attr(attrs: &Attrs, name: &str) -> bool {
    attrs.get(name).and_then(Value::as_bool).unwrap_or(false)
}

pub(crate) fn strings_attr(attrs: &Attrs, name: &str) -> Vec<String> {
    attrs
        .get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn strings_value(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_url_safe() {
        let a = random_token(32);
        let b = random_token(32);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(b64url_decode(&a).map(|v| v.len()), Some(32));
        assert_eq!(sha256_b64("abc").len(), 43);
        assert_eq!(
            sha256_b64("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
