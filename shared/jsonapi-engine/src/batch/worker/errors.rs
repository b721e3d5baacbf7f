//! A unit's errors stored in their place (numbered in their chunk, pointing into the request).

use jsonapi_store::{Item, Store, Write, limits};
use serde_json::{Map, Value, json};

use crate::batch::layout;
use crate::engine::Engine;
use crate::error::{ApiErrors, ApiResult, Source};

/// Where a unit's errors are stored: their operation, chunk and unit, how many errors the
/// chunk reported before them (they are numbered in their chunk), and when they expire.
pub(crate) struct ErrorPlace {
    pub(crate) op: u64,
    pub(crate) chunk: usize,
    pub(crate) unit: usize,
    pub(crate) before: usize,
    pub(crate) expires_at: i64,
}

impl<S: Store> Engine<S> {
    /// Stores a unit's errors, their pointers into the original request (keyed by their
    /// place, so storing them again changes nothing).
    pub(crate) async fn store_errors(
        &self,
        place: &ErrorPlace,
        errors: &ApiErrors,
    ) -> ApiResult<()> {
        let writes: Vec<Write> = errors
            .0
            .iter()
            .enumerate()
            .map(|(k, e)| {
                let pointer = match &e.source {
                    Some(Source::Pointer(p)) => Some(p.as_str()),
                    _ => None,
                };
                let attrs = json!({
                    "chunk": place.chunk + 1,
                    "n": place.before + k + 1,
                    "status": e.status().as_u16(),
                    "title": e.title(),
                    "detail": e.detail,
                    "pointer": pointer,
                    "expiresAt": place.expires_at,
                });
                Write::Put {
                    item: Item {
                        key: layout::error_key(place.op, place.chunk, place.unit, k),
                        attrs: match attrs {
                            Value::Object(m) => m,
                            _ => Map::new(),
                        },
                    },
                    condition: None,
                }
            })
            .collect();
        self.transact_in_turn(writes).await
    }

    /// Writes `writes` in order, in as few transactions as the store's common limit allows
    /// (each one whole; a failure stops before the next).
    async fn transact_in_turn(&self, writes: Vec<Write>) -> ApiResult<()> {
        let mut writes = writes.into_iter().peekable();
        while writes.peek().is_some() {
            let batch: Vec<Write> = writes
                .by_ref()
                .take(limits::MAX_TRANSACTION_WRITES)
                .collect();
            self.store.transact(batch).await?;
        }
        Ok(())
    }
}
