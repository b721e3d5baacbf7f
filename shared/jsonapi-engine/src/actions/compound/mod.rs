//! create and update: one resource object, with the `included` resources written in the same
//! transaction (temporary ids, JSON:API 1.1 `lid`, `meta.update`), `meta.upsert` and
//! `meta.validate` (a dry run that writes nothing).
//!
//! A write runs in phases, one module each: the meta options ([`meta`]), the checks over all
//! resource objects ([`checks`]), what each one meets in the store ([`existing`]), one attempt
//! at staging and committing them ([`attempt`]), and the answer ([`answer`]).

mod answer;
mod attempt;
mod checks;
mod existing;
mod meta;

use std::sync::Arc;

use jsonapi_config::{IdStrategy, Operation, ResourceType};
use jsonapi_store::{Store, Write};

use super::write::check_type;
use crate::commit::Steps;
use crate::document::{self, ResourceObject};
use crate::engine::{Ctx, Engine, check_id};
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind};
use crate::extension::ChangeSet;
use crate::query::{self, Accepts};
use crate::request::ApiResponse;
use crate::resource::resource_key;
pub(crate) use checks::{duplicate_of, own_key, repeated};
use checks::{duplicates, unlinked};
use meta::meta_op;

/// The meta option of one resource object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MetaOp {
    None,
    /// `meta.update`: an existing resource (included items only).
    Update,
    /// `meta.upsert`: by id, or by these unique fields.
    Upsert(Option<Vec<String>>),
    /// `meta.validate`: run everything, write nothing (primary only).
    Validate,
}

/// One resource object of the request.
#[derive(Clone)]
pub(crate) struct Node<'a> {
    object: &'a ResourceObject,
    ty: Arc<ResourceType>,
    meta: MetaOp,
    /// The primary resource, or an item of a batch's `data`: what included items link to.
    primary: bool,
}

/// Makes the records written with batch units (one or a group of them written together), from
/// whether each of their resource objects is created (`data` items first); the first one's
/// key says whether they were written already.
pub(crate) type UnitRecord<'a> = dyn Fn(&[bool]) -> Vec<Write> + Send + Sync + 'a;

/// What a batch write stored: the change set written, and each resource object's type, id
/// and whether it was created, in request order (`data` items first).
pub(crate) struct BatchWritten {
    pub(crate) staged: ChangeSet,
    pub(crate) items: Vec<(Arc<ResourceType>, String, bool)>,
}

/// The result of one attempt: what was (or would be) stored, and each node's id.
struct Written {
    staged: ChangeSet,
    ids: Vec<String>,
    created: Vec<bool>,
}

impl<S: Store> Engine<S> {
    /// `POST /api/{type}` (`url_id` = `None`) and `PATCH /api/{type}/{id}`.
    pub(crate) async fn write_document(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        url_id: Option<&str>,
        body: &[u8],
    ) -> ApiResult<ApiResponse> {
        if let Some(id) = url_id {
            check_id(ty, id)?;
        }
        let action = if url_id.is_some() {
            Operation::Update
        } else {
            Operation::Create
        };
        let q = query::parse(
            &self.schema,
            ty,
            ctx.query.clone(),
            Accepts::of(action, false),
        )?;
        let parsed = document::parse_compound(body, true)?;
        let (primary, included) = (parsed.primary, parsed.included);
        // Every problem of the document is reported at once: shape, type, id.
        let mut errors = parsed.errors;
        check_primary(ctx, ty, url_id, &primary, &mut errors);
        let mut nodes = vec![Node {
            meta: meta_op(&primary, ty, true, url_id.is_some(), &mut errors),
            object: &primary,
            ty: Arc::clone(ty),
            primary: true,
        }];
        for object in &included {
            nodes.extend(self.item_node(object, false, &mut errors));
        }
        errors.extend(duplicates(&nodes));
        if !errors.is_empty() {
            return Err(ApiErrors(errors));
        }
        let validate = nodes[0].meta == MetaOp::Validate;
        let written = self
            .with_retries(url_id.map(|id| resource_key(&ty.name, id)), async || {
                self.write_nodes(ctx, &nodes, url_id, action, validate, None, None)
                    .await
            })
            .await?;
        self.written_answer(ctx, &q, &nodes, &written, validate)
            .await
    }

    /// Writes batch items (`primary`, the `data` items) with their `included` items as one
    /// all-or-nothing change, each resource object as a compound write would write it. The
    /// answer lists every object's type, stored id and whether it was created, `data` items
    /// first, in request order. `record` makes a put whose condition is that its item is
    /// absent, from whether each object is created; it is written in the same transaction:
    /// when its item exists already, the change was applied before and nothing is written
    /// (`None`). A change too large for one transaction is written in `steps` when given
    /// (`crate::intent`), else refused.
    pub(crate) async fn write_batch(
        &self,
        ctx: &Ctx,
        primary: &[ResourceObject],
        included: &[ResourceObject],
        record: Option<&UnitRecord<'_>>,
        steps: Option<&Steps>,
    ) -> ApiResult<Option<BatchWritten>> {
        let record_key = record
            .and_then(|r| r(&[]).into_iter().next())
            .map(|w| w.key().clone());
        let mut errors = Vec::new();
        let nodes: Vec<Node<'_>> = primary
            .iter()
            .map(|o| (o, true))
            .chain(included.iter().map(|o| (o, false)))
            .filter_map(|(o, p)| self.item_node(o, p, &mut errors))
            .collect();
        errors.extend(duplicates(&nodes));
        if !errors.is_empty() {
            return Err(ApiErrors(errors));
        }
        let written = self
            .with_retries(None, async || {
                if let Some(key) = &record_key
                    && self.store.get(key).await.map_err(ApiError::from)?.is_some()
                {
                    return Ok(None);
                }
                let (action, validate) = (Operation::UpdateList, false);
                self.write_nodes(ctx, &nodes, None, action, validate, record, steps)
                    .await
                    .map(Some)
            })
            .await?;
        Ok(written.map(|written| BatchWritten {
            items: nodes
                .iter()
                .zip(written.ids)
                .zip(written.created)
                .map(|((n, id), created)| (Arc::clone(&n.ty), id, created))
                .collect(),
            staged: written.staged,
        }))
    }

    /// A resource object of a compound or batch write other than the one a URL names: an
    /// included item, or (`primary`) an item of a batch's `data`. Its type, its meta option
    /// and the action it needs, which the type must enable; an included item must carry an
    /// `id` or `lid` (it is linked by them), a batch item only to update.
    pub(crate) fn item_node<'a>(
        &self,
        object: &'a ResourceObject,
        primary: bool,
        errors: &mut Vec<ApiError>,
    ) -> Option<Node<'a>> {
        let Some(t) = self.schema.resource_type(&object.ty) else {
            errors.push(
                ApiError::new(
                    ErrorKind::EntityType,
                    format!("Unknown entity type: {}.", object.ty),
                )
                .at(format!("{}/type", object.pointer)),
            );
            return None;
        };
        let meta = meta_op(object, t, false, false, errors);
        let actions: &[Operation] = match meta {
            MetaOp::Update => &[Operation::Update],
            MetaOp::Upsert(_) => &[Operation::Create, Operation::Update],
            _ => &[Operation::Create],
        };
        if let Some(a) = actions.iter().find(|a| !t.actions.allows(**a)) {
            errors.push(
                ApiError::new(
                    ErrorKind::ActionNotAllowed,
                    format!("The \"{a}\" action is not allowed."),
                )
                .at(object.pointer.clone()),
            );
        }
        if !primary && object.id.is_none() && object.lid.is_none() {
            errors.push(
                ApiError::new(ErrorKind::RequestData, "The 'id' property is required")
                    .at(format!("{}/id", object.pointer)),
            );
        }
        Some(Node {
            object,
            ty: Arc::clone(t),
            meta,
            primary,
        })
    }
}

/// The primary resource object's type and id, unless the document's shape was reported
/// there already: the URL's id on a PATCH, none on a POST unless clients choose the ids.
fn check_primary(
    ctx: &Ctx,
    ty: &ResourceType,
    url_id: Option<&str>,
    primary: &ResourceObject,
    errors: &mut Vec<ApiError>,
) {
    let reported = |errors: &[ApiError], pointer: &str| {
        errors
            .iter()
            .any(|e| e.source == Some(crate::error::Source::Pointer(pointer.to_owned())))
    };
    if !reported(errors, "/data/type")
        && let Err(e) = check_type(ty, primary)
    {
        errors.push(e);
    }
    if reported(errors, "/data/id") {
        return;
    }
    match (url_id, &primary.id) {
        (Some(_), None) => errors.push(
            ApiError::new(ErrorKind::RequestData, "The 'id' property is required")
                .at("/data/id"),
        ),
        (Some(id), Some(body_id))
            if body_id != id && ctx.addressed_as.as_ref() != Some(body_id) =>
        {
            errors.push(
                ApiError::new(
                    ErrorKind::Conflict,
                    "The 'id' property of the primary data object should match 'id' parameter of the query string.",
                )
                .at("/data/id"),
            )
        }
        // A new resource's id is the server's to choose (upsert by id excepted).
        (None, Some(_)) if ty.id != IdStrategy::Client => errors.push(
            ApiError::new(
                ErrorKind::AccessDenied,
                format!("The server generates the ids of \"{}\"; remove \"id\" from the request (a \"lid\" can name it).", ty.name),
            )
            .at("/data/id"),
        ),
        _ => {}
    }
}

/// The node of the request that names resource `(ty, id)` (under its real id).
fn node_of<'n, 'a>(
    nodes: &'n [Node<'a>],
    ids: &[String],
    ty: &str,
    id: &str,
) -> Option<&'n Node<'a>> {
    nodes
        .iter()
        .zip(ids)
        .find(|(node, nid)| node.ty.name == ty && *nid == id)
        .map(|(node, _)| node)
}
