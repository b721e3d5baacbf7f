//! A chunk's body (its items as the request wrote them) too large for one stored item:
//! DynamoDB's items hold 400 KB, and a chunk of 100 items with 50 included ones may need
//! more (long descriptions). Such a body is stored in parts (`body#{n}#{k}`, `layout`) before
//! its chunk, which then holds their count (`parts`) and an empty body; a worker reads them
//! back in order. The stream's filter sees only chunks, never parts.

use jsonapi_store::{Item, RangeQuery, Store, Write, limits};
use serde_json::{Map, Value};

use super::layout;
use super::worker::Chunk;
use crate::engine::Engine;
use crate::error::{ApiError, ApiResult};

/// Most bytes of body text in one part, as the store counts it (escaped): well inside an
/// item, with its key and attributes.
const PART_BYTES: usize = 300 * 1024;

/// The attribute of a chunk holding the count of its body's parts.
const PARTS: &str = "parts";

/// The writes that store a chunk: its body's parts first when it is too large for one item
/// (the chunk itself then without its body), then the chunk, with `condition`.
pub(crate) fn chunk_writes(
    mut chunk: Item,
    condition: Option<jsonapi_store::Condition>,
) -> Vec<Write> {
    let mut writes = Vec::new();
    if limits::item_size(&chunk) > limits::MAX_ITEM_BYTES
        && let Some((op, n)) = layout::chunk_of(&chunk.key)
        && let Some(Value::String(body)) = chunk.attrs.remove("body")
    {
        let expires_at = chunk.attrs.get(layout::EXPIRES_AT).cloned();
        let parts = split(&body);
        for (k, text) in parts.iter().enumerate() {
            let mut attrs = Map::new();
            attrs.insert("text".into(), (*text).into());
            if let Some(at) = &expires_at {
                attrs.insert(layout::EXPIRES_AT.into(), at.clone());
            }
            writes.push(Write::Put {
                item: Item {
                    key: layout::body_key(op, n, k),
                    attrs,
                },
                condition: None,
            });
        }
        chunk.attrs.insert("body".into(), "".into());
        chunk.attrs.insert(PARTS.into(), parts.len().into());
    }
    writes.push(Write::Put {
        item: chunk,
        condition,
    });
    writes
}

/// `text` cut at character boundaries into parts of at most [`PART_BYTES`] once escaped.
fn split(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (at, c) in text.char_indices() {
        let escaped = match c {
            '"' | '\\' => 2,
            c if u32::from(c) < 0x20 => 6,
            c => c.len_utf8(),
        };
        if size + escaped > PART_BYTES {
            parts.push(&text[start..at]);
            (start, size) = (at, 0);
        }
        size += escaped;
    }
    parts.push(&text[start..]);
    parts
}

impl<S: Store> Engine<S> {
    /// The body of a stored chunk: its own, or its parts joined in order.
    pub(crate) async fn chunk_body(&self, chunk: &Item) -> ApiResult<String> {
        let unreadable = || ApiError::internal(&"a batch chunk's body is unreadable");
        let parts = chunk.attrs.get(PARTS).and_then(Value::as_u64).unwrap_or(0);
        let own = chunk.attrs.get("body").and_then(Value::as_str);
        if parts == 0 {
            return own.map(str::to_owned).ok_or_else(|| unreadable().into());
        }
        let (op, n) = layout::chunk_of(&chunk.key).ok_or_else(unreadable)?;
        let mut query = RangeQuery::prefix(layout::partition(op), &layout::body_prefix(n), 1000);
        let mut body = String::new();
        let mut read = 0;
        // A store's page holds a few parts (DynamoDB's pages end at 1 MB).
        loop {
            let page = self.store.query(&query).await?;
            for part in &page.items {
                if read < parts {
                    body.push_str(part.attrs.get("text").and_then(Value::as_str).unwrap_or(""));
                    read += 1;
                }
            }
            match page.next {
                Some(next) if read < parts => query.after = Some(next),
                _ if read == parts => return Ok(body),
                _ => return Err(unreadable().into()),
            }
        }
    }

    /// A stored chunk, its body read back whole.
    pub(crate) async fn load_chunk(&self, item: &Item) -> ApiResult<Chunk> {
        let unreadable =
            || ApiError::internal(&format!("batch chunk {} is unreadable", item.key.sk));
        let mut chunk = Chunk::of(item).ok_or_else(unreadable)?;
        chunk.body = self.chunk_body(item).await?;
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_past_one_item_is_stored_in_parts_that_join_back() {
        let chunk = |body: &str| {
            let mut attrs = Map::new();
            attrs.insert("body".into(), body.into());
            attrs.insert(layout::EXPIRES_AT.into(), 1.into());
            Item {
                key: layout::chunk_key(7, 2),
                attrs,
            }
        };
        let body = format!("{{\"data\":[{}]}}", "\"é\\\"x\",".repeat(120_000));
        let writes = chunk_writes(chunk(&body), None);
        assert!(writes.len() > 2, "{} writes", writes.len());
        let mut joined = String::new();
        for w in &writes {
            limits::check_transaction(std::slice::from_ref(w)).expect("each write fits");
            if let Write::Put { item, .. } = w
                && let Some(text) = item.attrs.get("text").and_then(Value::as_str)
            {
                joined.push_str(text);
            }
        }
        assert_eq!(joined, body);
        let small = chunk_writes(chunk("{}"), None);
        assert_eq!(small.len(), 1, "a small chunk is one item");
    }
}
