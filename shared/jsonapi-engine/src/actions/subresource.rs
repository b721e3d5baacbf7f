//! Sub-resources an extension serves (`types.{type}.subresources` in the configuration): the
//! parent loaded, the serving extension called, an action's staged changes written in one
//! transaction (the hook re-run from fresh reads when a concurrent write changed what it
//! read), and its answer rendered.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderValue, LOCATION};
use jsonapi_config::{ResourceType, Subresource, SubresourceMethod};
use jsonapi_store::Store;
use serde_json::{Map, Value, json};

use crate::commit::CommitError;
use crate::document::{self, shape};
use crate::engine::{Ctx, Engine, check_id};
use crate::error::{ApiError, ApiResult, ErrorKind, unsupported_subresource};
use crate::extension::{ChangeSet, Extension, FlushContext, SubresourceAnswer, SubresourceCall};
use crate::render::{self, Shape, resource_url};
use crate::request::ApiResponse;
use crate::resource::{self, Resource};

/// A sub-resource request and the extension serving it.
struct Served<'a> {
    ext: &'a dyn Extension,
    ty: &'a ResourceType,
    id: &'a str,
    sub: &'a Subresource,
    /// The request document's `meta`.
    meta: Map<String, Value>,
}

impl<S: Store> Engine<S> {
    /// `GET` or `POST /{type}/{id}/{name}` of a declared sub-resource.
    pub(crate) async fn serve_subresource(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        id: &str,
        sub: &Subresource,
        body: &Bytes,
    ) -> ApiResult<ApiResponse> {
        check_id(ty, id)?;
        // The answer is whatever the extension computes: nothing to filter, page or shape.
        if let Some((name, _)) = ctx.query.first() {
            return Err(ApiError::new(
                ErrorKind::Filter,
                format!("The \"{name}\" parameter is not supported by this subresource."),
            )
            .param(name.clone())
            .into());
        }
        let ext = self
            .extensions
            .iter()
            .find(|e| e.serves(&ty.name, &sub.name))
            .ok_or_else(unsupported_subresource)?;
        let served = Served {
            ext: ext.as_ref(),
            ty,
            id,
            sub,
            meta: request_meta(body)?,
        };
        let (answer, written) = match sub.method {
            SubresourceMethod::Get => {
                // A computed sub-resource reads only: whatever it staged is dropped.
                let mut changes = ChangeSet::default();
                let answer = self.call(ctx, &served, &mut changes).await?;
                (answer, changes)
            }
            SubresourceMethod::Post => {
                let key = resource::resource_key(&ty.name, id);
                self.with_retries(Some(key), || self.act(ctx, &served))
                    .await?
            }
        };
        self.answer(ctx, sub, answer, &written).await
    }

    /// Loads the parent and calls the extension.
    async fn call(
        &self,
        ctx: &Ctx,
        served: &Served<'_>,
        changes: &mut ChangeSet,
    ) -> ApiResult<SubresourceAnswer> {
        let Served { ty, id, sub, .. } = *served;
        // Loaded through the context, so that a staged new state of the parent is an update
        // of the version read.
        let mut flush = FlushContext::new(sub.operation(), changes, self);
        let parent = flush
            .load(&ty.name, id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let mut call = SubresourceCall {
            parent_url: resource_url(ctx, &ty.name, id),
            parent,
            name: sub.name.clone(),
            meta: served.meta.clone(),
            flush,
        };
        served.ext.subresource(&mut call).await
    }

    /// One attempt of an action: the hook, then its changes in one transaction.
    async fn act(
        &self,
        ctx: &Ctx,
        served: &Served<'_>,
    ) -> Result<(SubresourceAnswer, ChangeSet), CommitError> {
        let mut changes = ChangeSet::default();
        let answer = self.call(ctx, served, &mut changes).await?;
        let written = self.commit(served.sub.operation(), changes).await?;
        Ok((answer, written))
    }

    /// The response document of an answer.
    async fn answer(
        &self,
        ctx: &Ctx,
        sub: &Subresource,
        answer: SubresourceAnswer,
        written: &ChangeSet,
    ) -> ApiResult<ApiResponse> {
        let returns = sub.returns.as_ref().map(|t| self.schema.referenced(t));
        let (resources, created, ty) = match (answer, returns) {
            (SubresourceAnswer::Meta(meta), None) => {
                let doc = json!({ "jsonapi": { "version": "1.1" }, "meta": meta });
                return Ok(ApiResponse::document(StatusCode::OK, &doc));
            }
            (SubresourceAnswer::Resources(resources), Some(t)) => (resources, None, t),
            (SubresourceAnswer::Created(id), Some(t)) => {
                let r = written
                    .staged(&t.name, &id)
                    .flatten()
                    .cloned()
                    .ok_or_else(|| mismatch(sub))?;
                (vec![r], Some(id), t)
            }
            _ => return Err(mismatch(sub).into()),
        };
        let rendered = self
            .render(ctx, ty, only_of(ty, resources), Shape::FULL)
            .await?;
        if sub.many && created.is_none() {
            let doc = render::document(Value::Array(rendered.data), None, None);
            return Ok(ApiResponse::document(StatusCode::OK, &doc));
        }
        let status = if created.is_some() {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let mut response = render::single(rendered, None, status);
        if let Some(id) = created
            && let Ok(v) = HeaderValue::from_str(&resource_url(ctx, &ty.name, &id))
        {
            response.headers.insert(LOCATION, v);
        }
        Ok(response)
    }
}

/// The resources of `ty` among `resources` (an extension's mistake is not rendered as another
/// type).
fn only_of(ty: &ResourceType, resources: Vec<Resource>) -> Vec<Resource> {
    resources.into_iter().filter(|r| r.ty == ty.name).collect()
}

/// An extension answered with something its declaration does not say: the server's mistake.
fn mismatch(sub: &Subresource) -> ApiError {
    ApiError::internal(&format!(
        "the extension serving \"{}\" answered other than its declaration",
        sub.name
    ))
}

/// The request document's `meta` object: an empty body is none; otherwise a JSON object whose
/// only member may be `meta`, an object.
fn request_meta(body: &Bytes) -> ApiResult<Map<String, Value>> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    let Value::Object(mut doc) = document::parse_json(body)? else {
        return Err(shape("", "The request document must be an object.").into());
    };
    if let Some(name) = doc.keys().find(|k| *k != "meta") {
        return Err(shape(
            &format!("/{name}"),
            "This subresource reads only the \"meta\" member of the request document.",
        )
        .into());
    }
    match doc.remove("meta") {
        None => Ok(Map::new()),
        Some(Value::Object(meta)) => Ok(meta),
        Some(_) => Err(shape("/meta", "This value should be an object.").into()),
    }
}
