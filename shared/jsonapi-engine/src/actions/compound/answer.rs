//! The answer to a compound write: the primary resource as written, with each included
//! resource object of the request (marked by `meta.includeId`) ahead of what `include` adds.

use std::collections::HashSet;
use std::sync::Arc;

use http::StatusCode;
use http::header::{HeaderValue, LOCATION};
use jsonapi_config::ResourceType;
use jsonapi_store::Store;
use serde_json::{Value, json};

use super::{Node, Written};
use crate::engine::{Ctx, Engine};
use crate::error::{ApiError, ApiResult};
use crate::extension::ChangeSet;
use crate::query::QueryParams;
use crate::render::{self, Rendered, Shape, resource_url};
use crate::request::ApiResponse;
use crate::resource::Resource;

impl<S: Store> Engine<S> {
    /// `201 Created` with `Location` for a created primary resource, else `200 OK`; a dry run
    /// (`meta.validate`) answers without `ETag` or `Location`.
    pub(super) async fn written_answer(
        &self,
        ctx: &Ctx,
        q: &QueryParams,
        nodes: &[Node<'_>],
        written: &Written,
        validate: bool,
    ) -> ApiResult<ApiResponse> {
        let ty = &nodes[0].ty;
        let primary_id = &written.ids[0];
        let stored = self
            .written_resource(ty, primary_id, &written.staged)
            .await?;
        let tag = crate::precondition::etag(&stored, &ctx.variant);
        let shape = Shape::of(q);
        let mut rendered = self.render(ctx, ty, vec![stored], shape).await?;
        if nodes.len() > 1 {
            self.render_included_nodes(ctx, shape, nodes, written, &mut rendered)
                .await?;
        }
        let status = if written.created[0] {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let mut response = render::single(rendered, None, status);
        if !validate {
            response = response.with_etag(&tag);
        }
        if written.created[0]
            && !validate
            && let Ok(v) = HeaderValue::from_str(&resource_url(ctx, &ty.name, primary_id))
        {
            response.headers.insert(LOCATION, v);
        }
        Ok(response)
    }

    /// The request's included resource objects as written, first in `included`; what
    /// `include` adds follows, without repeating them.
    async fn render_included_nodes(
        &self,
        ctx: &Ctx,
        shape: Shape<'_>,
        nodes: &[Node<'_>],
        written: &Written,
        rendered: &mut Rendered,
    ) -> ApiResult<()> {
        let own = Shape {
            include: &[],
            ..shape
        };
        let mut objects = Vec::new();
        for (n, node) in nodes.iter().enumerate().skip(1) {
            let r = self
                .written_resource(&node.ty, &written.ids[n], &written.staged)
                .await?;
            let mut obj = self
                .render(ctx, &node.ty, vec![r], own)
                .await?
                .data
                .remove(0);
            let include_id = node
                .object
                .id
                .clone()
                .or_else(|| node.object.lid.clone())
                .unwrap_or_default();
            obj["meta"]["includeId"] = json!(include_id);
            objects.push(obj);
        }
        let mine: HashSet<(String, String)> = objects.iter().map(identity).collect();
        let mut all = objects;
        all.extend(
            rendered
                .included
                .take()
                .unwrap_or_default()
                .into_iter()
                .filter(|o| !mine.contains(&identity(o))),
        );
        rendered.included = Some(all);
        Ok(())
    }

    /// A resource as the write left it: as staged, or as read when an update changed nothing
    /// (it was not written).
    async fn written_resource(
        &self,
        ty: &Arc<ResourceType>,
        id: &str,
        staged: &ChangeSet,
    ) -> ApiResult<Resource> {
        match staged.staged(&ty.name, id).flatten().cloned() {
            Some(r) => Ok(r),
            None => Ok(self.load(ty, id).await?.ok_or_else(ApiError::not_found)?),
        }
    }
}

fn identity(obj: &Value) -> (String, String) {
    (
        obj["type"].as_str().unwrap_or_default().to_owned(),
        obj["id"].as_str().unwrap_or_default().to_owned(),
    )
}
