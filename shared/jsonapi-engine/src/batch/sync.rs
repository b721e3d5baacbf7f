//! `X-Mode: sync`: the batch's items are written as one change, all or nothing, and the answer
//! is every primary resource in request order (`meta.dataId` on items that came with an id or lid)
//! with the included ones (`meta.includeId`). A batch not written within its wait is
//! answered as an asynchronous one (`degrade`).

use http::StatusCode;
use jsonapi_store::Store;
use serde_json::{Value, json};

use crate::actions::compound::BatchWritten;
use crate::commit::Steps;
use crate::document::Batch;
use crate::engine::{Ctx, Engine};
use crate::error::{ApiError, ApiResult};
use crate::query::QueryParams;
use crate::render::{self, Rendered, Shape};
use crate::request::ApiResponse;

impl<S: Store> Engine<S> {
    /// Writes a checked batch at once, all or nothing, in `steps` when it needs them.
    pub(crate) async fn write_sync(
        &self,
        ctx: &Ctx,
        batch: &Batch,
        steps: &Steps,
    ) -> ApiResult<BatchWritten> {
        // A batch written in steps by a process that stopped mid-way is rolled back by the
        // next batch that comes after its lease (one query when there is none).
        self.recover_commits(false).await?;
        self.write_batch(ctx, &batch.primary, &batch.included, None, Some(steps))
            .await?
            .ok_or_else(|| ApiError::internal(&"a batch without a record was found applied").into())
    }

    /// The 200 answer to a batch written: every resource stored, in request order.
    pub(crate) async fn answer_sync(
        &self,
        ctx: &Ctx,
        q: &QueryParams,
        batch: &Batch,
        written: &BatchWritten,
    ) -> ApiResult<ApiResponse> {
        let objects = batch.primary.iter().chain(&batch.included);
        let mut data = Vec::new();
        let mut included = Vec::new();
        for (n, ((item_ty, id, _), object)) in written.items.iter().zip(objects).enumerate() {
            let stored = match written.staged.staged(&item_ty.name, id).flatten() {
                Some(r) => r.clone(),
                // An update that changed nothing was not written; the resource stays as read.
                None => self
                    .load(item_ty, id)
                    .await?
                    .ok_or_else(ApiError::not_found)?,
            };
            let primary = n < batch.primary.len();
            let shape = if primary {
                Shape::of(q)
            } else {
                Shape {
                    include: &[],
                    ..Shape::of(q)
                }
            };
            let rendered = self.render(ctx, item_ty, vec![stored], shape).await?;
            let (mut obj, more) = first(rendered);
            let key = if primary { "dataId" } else { "includeId" };
            if let Some(request_id) = object.id.clone().or_else(|| object.lid.clone()) {
                obj["meta"][key] = json!(request_id);
            }
            if primary {
                data.push(obj);
            } else {
                included.push(obj);
            }
            included.extend(more);
        }
        dedupe(&mut included, &data);
        let doc = render::document(
            Value::Array(data),
            Some(included).filter(|i| !i.is_empty()),
            None,
        );
        Ok(ApiResponse::document(StatusCode::OK, &doc))
    }
}

/// The one rendered resource and the resources its shape included.
fn first(rendered: Rendered) -> (Value, Vec<Value>) {
    let obj = rendered.data.into_iter().next().unwrap_or(Value::Null);
    (obj, rendered.included.unwrap_or_default())
}

/// Keeps one object per resource in `included` (the first, which carries `includeId` when the
/// request wrote it) and none that is also primary data.
fn dedupe(included: &mut Vec<Value>, data: &[Value]) {
    let identity = |o: &Value| (o["type"].clone(), o["id"].clone());
    let mut seen: std::collections::HashSet<(Value, Value)> = data.iter().map(identity).collect();
    // Objects the request wrote come first, so that they win over copies pulled in by `include`.
    included.sort_by_key(|o| o["meta"].get("includeId").is_none());
    included.retain(|o| seen.insert(identity(o)));
}
