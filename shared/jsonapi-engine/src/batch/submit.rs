//! Starting an asynchronous batch: the request's items are split into chunks of whole units
//! and stored as the request wrote them, then the operation's record, which releases them
//! (`release`); the answer is 202 with the operation, and the worker is woken.

use std::collections::HashMap;
use std::sync::Arc;

use http::StatusCode;
use http::header::{CONTENT_LOCATION, HeaderValue};
use jsonapi_config::ResourceType;
use jsonapi_store::{Condition, Item, Store};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::body::chunk_writes;
use super::layout;
use super::operation::{Record, expires_at, operation_url};
use super::units::{Unit, chunks, units};
use crate::document::Batch;
use crate::engine::{Ctx, Engine};
use crate::error::{ApiError, ApiResult};
use crate::render;
use crate::request::ApiResponse;

impl<S: Store> Engine<S> {
    /// Stores a checked batch as a new operation and answers 202.
    pub(crate) async fn start_async(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        body: &[u8],
        batch: &Batch,
    ) -> ApiResult<ApiResponse> {
        let (data, included) = raw_items(body)?;
        let id = self.store.allocate(&layout::sequence_key(), 1).await?;
        let now = time::OffsetDateTime::now_utc();
        let expires_at = expires_at(&self.schema, now);
        let groups = chunks(
            units(&batch.primary, &batch.included),
            ty.batch.chunk_size,
            ty.batch.included_chunk_size,
        );
        for (n, units) in groups.iter().enumerate() {
            let item = chunk_item(
                id,
                n,
                units,
                &|i| data[i].get(),
                &|i| included[i].get(),
                expires_at,
            );
            self.store_chunk(item).await?;
        }
        let owner = ctx.access.caller().map(str::to_owned);
        let record = Record::new(id, &ty.name, owner, groups.len(), now, expires_at);
        let record = self.store_operation(record).await?;
        Ok(self.accepted(ctx, &record))
    }

    /// The answer to a batch that goes on as an operation: 202, the operation and its URL in
    /// `Content-Location`.
    pub(crate) fn accepted(&self, ctx: &Ctx, record: &Record) -> ApiResponse {
        let url = operation_url(&ctx.api_url, record.id);
        let links = ctx.hateoas.then_some(ctx.api_url.as_str());
        let mut response = ApiResponse::document(
            StatusCode::ACCEPTED,
            &render::document(self.operation_resource(record, links), None, None),
        );
        if let Ok(v) = HeaderValue::from_str(&url) {
            response.headers.insert(CONTENT_LOCATION, v);
        }
        response
    }

    /// Stores a new chunk of an operation, which nothing runs until the operation's record
    /// releases it (`layout`: chunks first, so that no worker runs an operation whose chunks
    /// are not all there; the record's durable write makes them durable, so they need not be
    /// synced one by one).
    pub(crate) async fn store_chunk(&self, item: Item) -> ApiResult<()> {
        for write in chunk_writes(item, Some(Condition::Absent)) {
            self.store.transact_deferred(vec![write]).await?;
        }
        Ok(())
    }
}

/// The `data` and `included` items of a batch body as written (numbers keep every digit).
pub(crate) fn raw_items(body: &[u8]) -> ApiResult<(Vec<&RawValue>, Vec<&RawValue>)> {
    let unreadable = || ApiError::internal(&"a checked batch could not be read again");
    let top: HashMap<String, &RawValue> = serde_json::from_slice(body).map_err(|_| unreadable())?;
    let list = |name: &str| -> ApiResult<Vec<&RawValue>> {
        match top.get(name) {
            Some(raw) => serde_json::from_str(raw.get()).map_err(|_| unreadable().into()),
            None => Ok(Vec::new()),
        }
    };
    Ok((list("data")?, list("included")?))
}

/// The stored chunk: its items as written (`data(i)` / `included(i)`: the text of the item at
/// position `i` of the request), their positions in the request, and its units as positions in
/// the chunk.
pub(crate) fn chunk_item<'t>(
    op: u64,
    n: usize,
    units: &[Unit],
    data: &dyn Fn(usize) -> &'t str,
    included: &dyn Fn(usize) -> &'t str,
    expires_at: i64,
) -> Item {
    let data_index: Vec<usize> = units.iter().flat_map(|u| u.data.iter().copied()).collect();
    let included_index: Vec<usize> = units
        .iter()
        .flat_map(|u| u.included.iter().copied())
        .collect();
    let join = |index: &[usize], item: &dyn Fn(usize) -> &'t str| {
        index.iter().map(|&i| item(i)).collect::<Vec<_>>().join(",")
    };
    let body = format!(
        "{{\"data\":[{}],\"included\":[{}]}}",
        join(&data_index, data),
        join(&included_index, included)
    );
    // Each unit as positions in the chunk's own `data` and `included`.
    let (mut d, mut i) = (0, 0);
    let chunk_units: Vec<Value> = units
        .iter()
        .map(|u| {
            let unit = json!([
                (d..d + u.data.len()).collect::<Vec<_>>(),
                (i..i + u.included.len()).collect::<Vec<_>>()
            ]);
            d += u.data.len();
            i += u.included.len();
            unit
        })
        .collect();
    let attrs = json!({
        "state": "pending",
        "attempts": 0,
        "body": body,
        "dataIndex": data_index,
        "includedIndex": included_index,
        "units": chunk_units,
    });
    let mut attrs = match attrs {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    attrs.insert(layout::EXPIRES_AT.into(), expires_at.into());
    Item {
        key: layout::chunk_key(op, n),
        attrs,
    }
}
