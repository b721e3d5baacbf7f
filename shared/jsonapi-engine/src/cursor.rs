//! Opaque cursors for `page[after]` and `page[before]`: a position in a plan's results, bound
//! to the plan that produced it and signed, so a cursor from another query or a tampered one
//! is refused with a 400 instead of being trusted.
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
use crate::error::{ApiError, ApiResult, title};
use crate::plan::{Plan, Position};

fn secret_key() -> Key {
    Key::new("meta#cursor-secret", "#")
}

fn invalid(parameter: &str) -> ApiError {
    ApiError::bad_request(
        title::FILTER,
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

    /// A cursor for a position of a plan.
    pub(crate) async fn encode_cursor(
        &self,
        plan: &Plan,
        position: &Position,
    ) -> ApiResult<String> {
        let p = match position {
            Position::Key { range, key } => json!({ "r": range, "k": key }),
            Position::Offset(o) => json!({ "o": o }),
        };
        let fingerprint =
            URL_SAFE_NO_PAD.encode(&Sha256::digest(plan.fingerprint().as_bytes())[..12]);
        let payload = URL_SAFE_NO_PAD.encode(json!({ "f": fingerprint, "p": p }).to_string());
        let mac = URL_SAFE_NO_PAD.encode(Self::mac(&self.cursor_secret().await?, &payload));
        Ok(format!("{payload}.{mac}"))
    }

    /// The position a cursor names, if it was made by this API for this plan.
    pub(crate) async fn decode_cursor(
        &self,
        plan: &Plan,
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
        let fingerprint =
            URL_SAFE_NO_PAD.encode(&Sha256::digest(plan.fingerprint().as_bytes())[..12]);
        if doc["f"].as_str() != Some(fingerprint.as_str()) {
            return Err(invalid(parameter).into());
        }
        let p = &doc["p"];
        let position = match (p["r"].as_u64(), p["k"].as_str(), p["o"].as_u64()) {
            (Some(r), Some(k), None) if plan.ordered => Position::Key {
                range: r as usize,
                key: k.to_owned(),
            },
            (None, None, Some(o)) if !plan.ordered => Position::Offset(o as usize),
            _ => return Err(invalid(parameter).into()),
        };
        Ok(position)
    }
}
