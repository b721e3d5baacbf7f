//! Opaque cursors for `page[after]` and `page[before]`: a [`Position`] in a sort (the sort keys
//! and id key of the resource a page ended at), bound to the query that produced it and
//! signed, so a cursor from another query or a tampered one is refused with a 400 instead of
//! being trusted. A position does not depend on how the query is planned, so a cursor stays
//! good when the plan changes as resources come and go.
//!
//! The signing key lives in the store (one item, created on first use), so every process of
//! one API (every Lambda instance) accepts the cursors of the others.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use jsonapi_store::{Key, Store};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::engine::Engine;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::plan::Position;

fn secret_key() -> Key {
    Key::new("meta#cursor-secret", "#")
}

fn invalid(parameter: &str) -> ApiError {
    ApiError::new(
        ErrorKind::Filter,
        "The cursor is not valid for this query; use the next or prev link of a response to this query.",
    )
    .param(parameter)
}

impl<S: Store> Engine<S> {
    async fn cursor_secret(&self) -> ApiResult<Vec<u8>> {
        if let Some(secret) = self.cursor_secret.get() {
            return Ok(secret.clone());
        }
        let encoded = crate::stored_secret::get_or_create(&*self.store, secret_key(), true, || {
            // Four ULIDs carry 320 random bits from a cryptographic generator.
            let fresh: Vec<u8> = (0..4).flat_map(|_| ulid::Ulid::new().to_bytes()).collect();
            Ok(URL_SAFE_NO_PAD.encode(fresh))
        })
        .await?
        .unwrap_or_default();
        let secret = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| ApiError::internal(&"the cursor secret is unreadable"))?;
        Ok(self.cursor_secret.get_or_init(|| secret).clone())
    }

    fn mac(secret: &[u8], payload: &str) -> Vec<u8> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes()[..16].to_vec()
    }

    /// A cursor for a position in the results of the query `scope` describes.
    pub(crate) async fn encode_cursor(
        &self,
        scope: &str,
        position: &Position,
    ) -> ApiResult<String> {
        let payload =
            URL_SAFE_NO_PAD.encode(json!({ "f": fingerprint(scope), "k": position.0 }).to_string());
        let mac = URL_SAFE_NO_PAD.encode(Self::mac(&self.cursor_secret().await?, &payload));
        Ok(format!("{payload}.{mac}"))
    }

    /// The position a cursor names, if it was made by this API for the query `scope`
    /// describes, sorted by `sort_fields` fields.
    pub(crate) async fn decode_cursor(
        &self,
        scope: &str,
        sort_fields: usize,
        cursor: &str,
        parameter: &str,
    ) -> ApiResult<Position> {
        let (payload, mac) = cursor.split_once('.').ok_or_else(|| invalid(parameter))?;
        let expected = Self::mac(&self.cursor_secret().await?, payload);
        let given = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| invalid(parameter))?;
        // The signature check runs on the whole MAC, whatever bytes differ.
        if given.len() != expected.len()
            || given
                .iter()
                .zip(&expected)
                .fold(0, |acc, (a, b)| acc | (a ^ b))
                != 0
        {
            return Err(invalid(parameter).into());
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| invalid(parameter))?;
        let doc: Value = serde_json::from_slice(&bytes).map_err(|_| invalid(parameter))?;
        if doc["f"].as_str() != Some(fingerprint(scope).as_str()) {
            return Err(invalid(parameter).into());
        }
        // One key per sort field and the id key.
        let keys: Vec<String> = doc["k"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect();
        if keys.len() != sort_fields + 1 || doc["k"].as_array().map(Vec::len) != Some(keys.len()) {
            return Err(invalid(parameter).into());
        }
        Ok(Position(keys))
    }
}

/// A short digest of a query's description.
fn fingerprint(scope: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(scope.as_bytes())[..12])
}
