//! create and update: one resource object, with the `included` resources written in the same
//! transaction (temporary ids, JSON:API 1.1 `lid`, `meta.update`), `meta.upsert` and
//! `meta.validate` (a dry run that writes nothing).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use http::StatusCode;
use http::header::{HeaderValue, LOCATION};
use jsonapi_config::{IdStrategy, Operation, ResourceType};
use jsonapi_store::{Store, Write};
use serde_json::{Value, json};

use super::write::{Applied, Locals, check_type, local_key};
use crate::auth::access::access_denied;
use crate::commit::CommitError;
use crate::document::{self, Linkage, ResourceObject};
use crate::engine::{Ctx, Engine, check_id};
use crate::error::{ApiError, ApiErrors, ApiResult, title};
use crate::extension::ChangeSet;
use crate::intent::Steps;
use crate::query::{self, Accepts};
use crate::render::{self, Shape, resource_url};
use crate::request::ApiResponse;
use crate::resource::{Resource, resource_key};
use crate::values;
use jsonapi_auth::Permission;

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

fn value_error(pointer: String, detail: &str) -> ApiError {
    ApiError::bad_request(title::VALUE, detail).at(pointer)
}

/// Reads and checks the meta options of a resource object.
fn meta_op(
    object: &ResourceObject,
    ty: &ResourceType,
    primary: bool,
    patch: bool,
    errors: &mut Vec<ApiError>,
) -> MetaOp {
    let at = |key: &str| format!("{}/meta/{key}", object.pointer);
    let enabled: Vec<&String> = object
        .meta
        .iter()
        .filter(|(_, v)| !matches!(v, Value::Bool(false) | Value::Null))
        .map(|(k, _)| k)
        .collect();
    if enabled.len() > 1 {
        errors.push(
            ApiError::bad_request(title::REQUEST_DATA, "Only one meta option can be used.")
                .at(format!("{}/meta", object.pointer)),
        );
        return MetaOp::None;
    }
    let Some(key) = enabled.first() else {
        return MetaOp::None;
    };
    let value = &object.meta[*key];
    match key.as_str() {
        "validate" if primary && ty.validation && *value == Value::Bool(true) => MetaOp::Validate,
        "update" if !primary && *value == Value::Bool(true) => MetaOp::Update,
        "upsert" => {
            let fields: Option<Vec<String>> = match value {
                Value::Bool(true) => None,
                Value::Array(items) => {
                    match items
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                    {
                        Some(f) if f == ["id"] => None,
                        Some(f) if !f.is_empty() => Some(f),
                        _ => {
                            errors.push(value_error(at("upsert"), "The upsert option must be true or a non-empty list of field names."));
                            return MetaOp::None;
                        }
                    }
                }
                _ => {
                    errors.push(value_error(
                        at("upsert"),
                        "The upsert option must be true or a non-empty list of field names.",
                    ));
                    return MetaOp::None;
                }
            };
            match &fields {
                None if !ty.upsert.iter().any(|f| f == "id") => {
                    errors.push(value_error(
                        at("upsert"),
                        "The upsert operation is not supported for resources with auto-generated identifier value.",
                    ));
                    MetaOp::None
                }
                Some(_) if patch => {
                    errors.push(value_error(at("upsert"), "Only the entity identifier can be used by the upsert operation to find an entity."));
                    MetaOp::None
                }
                Some(f) if f.iter().any(|f| !ty.upsert.contains(f)) => {
                    errors.push(value_error(
                        at("upsert"),
                        "The upsert operation cannot use this field to find an entity.",
                    ));
                    MetaOp::None
                }
                _ => MetaOp::Upsert(fields),
            }
        }
        _ => {
            errors.push(value_error(at(key), "The option is not supported."));
            MetaOp::None
        }
    }
}

/// A placeholder id for a resource the request creates, until its real id is allocated;
/// no real id can contain a NUL.
fn placeholder(node: usize) -> String {
    format!("\u{0}{node}")
}

fn rename(r: &mut Resource, ids: &HashMap<String, String>) {
    let swap = |id: &mut String| {
        if let Some(real) = ids.get(id.as_str()) {
            real.clone_into(id);
        }
    };
    swap(&mut r.id);
    r.to_one.values_mut().flatten().for_each(swap);
    r.to_many.values_mut().flatten().for_each(swap);
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
        let operation = if url_id.is_some() {
            Operation::Update
        } else {
            Operation::Create
        };
        let q = query::parse(
            &self.schema,
            ty,
            ctx.query.clone(),
            Accepts::of(operation, false),
        )?;
        let parsed = document::parse_compound(body, true)?;
        let (primary, included) = (parsed.primary, parsed.included);
        // Every problem of the document is reported at once: shape, type, id.
        let mut errors = parsed.errors;
        let reported = |errors: &[ApiError], pointer: &str| {
            errors
                .iter()
                .any(|e| e.source == Some(crate::error::Source::Pointer(pointer.to_owned())))
        };
        if !reported(&errors, "/data/type")
            && let Err(e) = check_type(ty, &primary)
        {
            errors.push(e);
        }
        if !reported(&errors, "/data/id") {
            match (url_id, &primary.id) {
                (Some(_), None) => errors.push(ApiError::bad_request(title::REQUEST_DATA, "The 'id' property is required.").at("/data/id")),
                (Some(id), Some(body_id))
                    if body_id != id && ctx.addressed_as.as_ref() != Some(body_id) =>
                {
                    errors.push(
                    ApiError::new(
                        StatusCode::CONFLICT,
                        title::CONFLICT,
                        "The 'id' property of the primary data object should match 'id' parameter of the query string.",
                    )
                    .at("/data/id"),
                    )
                }
                // A new resource's id is the server's to choose (upsert by id excepted).
                (None, Some(_)) if ty.id != IdStrategy::Client => errors.push(
                    ApiError::new(
                        StatusCode::FORBIDDEN,
                        title::ACCESS_DENIED,
                        format!("The server generates the ids of \"{}\"; remove \"id\" from the request (a \"lid\" can name it).", ty.name),
                    )
                    .at("/data/id"),
                ),
                _ => {}
            }
        }
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
        let action = if url_id.is_some() {
            Operation::Update
        } else {
            Operation::Create
        };
        let written = self
            .with_retries(url_id.map(|id| resource_key(&ty.name, id)), async || {
                self.write_nodes(ctx, &nodes, url_id, action, validate, None, None)
                    .await
            })
            .await?;

        let primary_id = written.ids[0].clone();
        let stored = written
            .staged
            .staged(&ty.name, &primary_id)
            .flatten()
            .cloned();
        let stored = match stored {
            Some(r) => r,
            // An update that changed nothing was not written; the resource stays as read.
            None => self
                .load(ty, &primary_id)
                .await?
                .ok_or_else(ApiError::not_found)?,
        };
        let tag = crate::precondition::etag(&stored);
        let shape = Shape::of(&q);
        let mut rendered = self.render(ctx, ty, vec![stored], shape).await?;
        if nodes.len() > 1 {
            let own = Shape {
                include: &[],
                ..shape
            };
            let mut objects = Vec::new();
            for (n, node) in nodes.iter().enumerate().skip(1) {
                let id = &written.ids[n];
                let r = match written.staged.staged(&node.ty.name, id).flatten().cloned() {
                    Some(r) => r,
                    None => self
                        .load(&node.ty, id)
                        .await?
                        .ok_or_else(ApiError::not_found)?,
                };
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
            && let Ok(v) = HeaderValue::from_str(&resource_url(ctx, &ty.name, &primary_id))
        {
            response.headers.insert(LOCATION, v);
        }
        Ok(response)
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
                ApiError::bad_request(
                    title::ENTITY_TYPE,
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
                    StatusCode::METHOD_NOT_ALLOWED,
                    title::ACTION_NOT_ALLOWED,
                    format!("The \"{a}\" action is not allowed."),
                )
                .at(object.pointer.clone()),
            );
        }
        if !primary && object.id.is_none() && object.lid.is_none() {
            errors.push(
                ApiError::bad_request(title::REQUEST_DATA, "The 'id' property is required.")
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

    /// One attempt at writing every node; re-run from fresh reads on a concurrency conflict.
    /// A batch's units come with their `record`; an atomic batch says how it is written in
    /// `steps` when it needs more than one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn write_nodes(
        &self,
        ctx: &Ctx,
        nodes: &[Node<'_>],
        url_id: Option<&str>,
        action: Operation,
        validate: bool,
        record: Option<&UnitRecord<'_>>,
        steps: Option<&Steps>,
    ) -> Result<Written, CommitError> {
        let mut errors = Vec::new();
        // What each node is: an existing resource (update) or a new one (create).
        let mut befores: Vec<Option<Resource>> = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            // A hundred reads take a while on a slow store: a write asked to stop need not
            // finish them (nothing is written yet).
            if let Some(steps) = steps.filter(|s| s.stop.asked()) {
                return Err(CommitError::Rejected(steps.stop.honour()));
            }
            befores.push(self.find_existing(n, node, url_id, &mut errors).await?);
        }
        if !errors.is_empty() {
            return Err(ApiErrors(errors).into());
        }
        // The primary resource of a PATCH is written under the version `If-Match` names.
        if url_id.is_some() {
            ctx.preconditions
                .check_write(&nodes[0].ty, befores[0].as_ref())?;
        }
        let access = &ctx.access;
        // Each node needs what its own action would: included resources too, and an upsert
        // needs EDIT when it finds one and CREATE when it makes one.
        for (n, node) in nodes.iter().enumerate() {
            let action = if befores[n].is_some() {
                Operation::Update
            } else {
                Operation::Create
            };
            let needed = jsonapi_auth::permissions::required(action);
            if !needed.iter().all(|p| access.allows(&node.ty.name, *p)) {
                errors.push(access_denied().at(node.object.pointer.clone()));
            }
        }
        if !errors.is_empty() {
            return Err(ApiErrors(errors).into());
        }
        let mut locals = Locals::new();
        let mut ids = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            let id = match (&befores[n], node.ty.id, &node.object.id) {
                (Some(b), _, _) => b.id.clone(),
                (None, IdStrategy::Client, Some(id)) => id.clone(),
                (None, _, _) => placeholder(n),
            };
            if let Some(id_given) = &node.object.id {
                locals.insert(local_key(&node.ty.name, id_given, false), id.clone());
            }
            if let Some(lid) = &node.object.lid {
                locals.insert(local_key(&node.ty.name, lid, true), id.clone());
            }
            ids.push(id);
        }
        let mut applied: Vec<Applied> = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            let base = match &befores[n] {
                Some(b) => b.clone(),
                None => self.new_resource(&node.ty, &ids[n]),
            };
            match self
                .apply(
                    ctx,
                    &node.ty,
                    base,
                    node.object,
                    befores[n].is_none(),
                    &locals,
                )
                .await
            {
                Ok(a) => applied.push(a),
                Err(e) => errors.extend(e.0),
            }
        }
        if nodes.iter().any(|n| !n.primary) {
            errors.extend(unlinked(nodes));
        }
        if !errors.is_empty() {
            // The transaction would report a taken unique value; a request refused for
            // other reasons reports it too, so that every problem comes back at once.
            for (n, node) in nodes.iter().enumerate() {
                errors.extend(self.taken_values(node, befores[n].as_ref()).await?);
            }
            return Err(ApiErrors(errors).into());
        }
        // Real ids for the new resources; a dry run only peeks at what they would be.
        let mut real: HashMap<String, String> = HashMap::new();
        let mut peeked: HashMap<String, u64> = HashMap::new();
        for (n, node) in nodes.iter().enumerate() {
            if ids[n] != placeholder(n) {
                continue;
            }
            let id = match node.ty.id {
                IdStrategy::Sequence if validate => {
                    let offset = peeked.entry(node.ty.name.clone()).or_default();
                    *offset += 1;
                    (self.peek_sequence(&node.ty.name).await? + *offset - 1).to_string()
                }
                IdStrategy::Sequence => self.next_sequence(&node.ty.name).await?.to_string(),
                IdStrategy::Ulid | IdStrategy::Client => ulid::Ulid::new().to_string(),
            };
            real.insert(ids[n].clone(), id.clone());
            ids[n] = id;
        }
        // Linkage kept on the other side changes resources of the related type.
        for (n, a) in applied.iter().enumerate() {
            for w in &a.inverse {
                if !access.allows(&w.target.name, Permission::Edit) {
                    errors.push(access_denied().at(format!(
                        "{}/relationships/{}",
                        nodes[n].object.pointer, w.rel
                    )));
                }
            }
        }
        if !errors.is_empty() {
            return Err(ApiErrors(errors).into());
        }
        let mut changes = ChangeSet::default();
        for (n, a) in applied.iter_mut().enumerate() {
            rename(&mut a.resource, &real);
            for w in &mut a.inverse {
                for id in &mut w.ids {
                    if let Some(r) = real.get(id.as_str()) {
                        r.clone_into(id);
                    }
                }
            }
            changes.put(befores[n].clone(), a.resource.clone());
        }
        // Also when the PATCH changes nothing: the answer then still says that version holds.
        if url_id.is_some()
            && ctx.preconditions.has_if_match()
            && let Some(before) = &befores[0]
        {
            changes.guard(before);
        }
        for (n, node) in nodes.iter().enumerate() {
            self.stage_inverse(
                &node.ty,
                &ids[n],
                &applied[n].inverse,
                &mut changes,
                befores[n].is_none(),
                &applied[n].linked,
            )
            .await?;
        }
        if let Some(record) = record {
            let created: Vec<bool> = befores.iter().map(Option::is_none).collect();
            for write in record(&created) {
                changes.record(write);
            }
        }
        errors.extend(self.missing_required(&changes, nodes, &ids));
        if !errors.is_empty() {
            return Err(ApiErrors(errors).into());
        }
        let staged = match self.commit_as(action, changes, validate, steps).await {
            Ok(staged) => staged,
            Err(CommitError::Exists { ty, id, key }) => {
                let node = node_of(nodes, &ids, &ty, &id);
                // Two upserts by one id raced and the other created it: update it instead.
                if node.is_some_and(|n| n.meta == MetaOp::Upsert(None)) {
                    return Err(CommitError::Stale(Some(key)));
                }
                let pointer = node.map_or("/data", |n| n.object.pointer.as_str());
                return Err(ApiErrors::from(ApiError::exists(pointer)).into());
            }
            Err(CommitError::Unique { ty, id, field, key }) => {
                let node = node_of(nodes, &ids, &ty, &id);
                // Two upserts by this value raced and the other took it: update that one.
                if node.is_some_and(
                    |n| matches!(&n.meta, MetaOp::Upsert(Some(fields)) if fields.contains(&field)),
                ) {
                    return Err(CommitError::Stale(Some(key)));
                }
                let pointer = node.map_or("/data", |n| n.object.pointer.as_str());
                return Err(ApiErrors::from(ApiError::value_used(pointer, &field)).into());
            }
            Err(e) => return Err(e),
        };
        let created = befores.iter().map(Option::is_none).collect();
        Ok(Written {
            staged,
            ids,
            created,
        })
    }

    /// The stored resource a node updates, or `None` when it creates one.
    async fn find_existing(
        &self,
        n: usize,
        node: &Node<'_>,
        url_id: Option<&str>,
        errors: &mut Vec<ApiError>,
    ) -> ApiResult<Option<Resource>> {
        let object = node.object;
        let ty = &node.ty;
        let id_pointer = format!("{}/id", object.pointer);
        let load = async |id: &str, errors: &mut Vec<ApiError>| -> ApiResult<Option<Resource>> {
            if let Err(e) = check_id(ty, id) {
                errors.push(e.at(id_pointer.clone()));
                return Ok(None);
            }
            self.load(ty, id).await
        };
        Ok(match (&node.meta, n, url_id) {
            (MetaOp::Upsert(None), 0, Some(id)) => load(id, errors).await?,
            (_, 0, Some(id)) => match load(id, errors).await? {
                Some(r) => Some(r),
                None if errors.is_empty() => return Err(ApiError::not_found().into()),
                None => None,
            },
            (MetaOp::Update, _, _) => match &object.id {
                Some(id) => match load(id, errors).await? {
                    Some(r) => Some(r),
                    None => {
                        errors.push(ApiError::not_found().at(object.pointer.clone()));
                        None
                    }
                },
                None => {
                    errors.push(
                        ApiError::bad_request(
                            title::REQUEST_DATA,
                            "The 'id' property is required to update a resource.",
                        )
                        .at(id_pointer.clone()),
                    );
                    None
                }
            },
            (MetaOp::Upsert(None), _, _) => match &object.id {
                Some(id) => load(id, errors).await?,
                None => {
                    errors.push(
                        ApiError::bad_request(
                            title::REQUEST_DATA,
                            "The 'id' property is required to upsert by id.",
                        )
                        .at(id_pointer.clone()),
                    );
                    None
                }
            },
            (MetaOp::Upsert(Some(fields)), _, _) => {
                self.find_by_unique(node, fields, errors).await?
            }
            _ => {
                match (ty.id, &object.id, n) {
                    (IdStrategy::Client, None, _) => {
                        errors.push(
                            ApiError::bad_request(
                                title::ENTITY_IDENTIFIER,
                                "The identifier is mandatory.",
                            )
                            .at(id_pointer.clone()),
                        );
                    }
                    (IdStrategy::Client, Some(id), _) => {
                        if let Err(e) = check_id(ty, id) {
                            errors.push(e.at(id_pointer.clone()));
                        }
                    }
                    // An included item's `id` is a temporary id (a primary's was refused earlier).
                    _ => {}
                }
                None
            }
        })
    }

    /// `meta.upsert: [fields]`: the resource holding these unique values, looked up through
    /// the unique-value items (one read per field); 409 when they name different resources.
    async fn find_by_unique(
        &self,
        node: &Node<'_>,
        fields: &[String],
        errors: &mut Vec<ApiError>,
    ) -> ApiResult<Option<Resource>> {
        let object = node.object;
        let mut owners: Vec<String> = Vec::new();
        for field in fields {
            let attr = &node.ty.attributes[field];
            let Some(value) = object.attributes.get(field).filter(|v| !v.is_null()) else {
                errors.push(value_error(
                    format!("{}/meta/upsert", object.pointer),
                    &format!("The upsert field \"{field}\" needs a value in the request."),
                ));
                return Ok(None);
            };
            let Ok(stored) = values::accept(attr, value) else {
                // The value itself is reported by the attribute checks.
                return Ok(None);
            };
            if let Some(owner) = self.unique_owner(&node.ty.name, field, &stored).await?
                && !owners.contains(&owner)
            {
                owners.push(owner);
            }
        }
        match owners.as_slice() {
            [] => Ok(None),
            [one] => self.load(&node.ty, one).await,
            _ => Err(ApiError::new(
                StatusCode::CONFLICT,
                title::CONFLICT,
                "The upsert operation founds more than one entity.",
            )
            .at(format!("{}/meta/upsert", object.pointer))
            .into()),
        }
    }

    /// The resource holding a unique value (stored form), read from its unique-value item.
    pub(crate) async fn unique_owner(
        &self,
        ty: &str,
        field: &str,
        stored: &Value,
    ) -> ApiResult<Option<String>> {
        let item = self
            .store
            .get(&crate::resource::unique_key(ty, field, stored))
            .await?;
        Ok(item.and_then(|i| i.attrs.get("id").and_then(Value::as_str).map(str::to_owned)))
    }

    /// Unique values a node sends that another resource holds (one read per unique field).
    async fn taken_values(
        &self,
        node: &Node<'_>,
        before: Option<&Resource>,
    ) -> ApiResult<Vec<ApiError>> {
        let mut errors = Vec::new();
        for attr in node.ty.unique_attributes() {
            let Some(Ok(stored)) = node
                .object
                .attributes
                .get(&attr.name)
                .filter(|v| !v.is_null())
                .map(|v| values::accept(attr, v))
            else {
                continue;
            };
            let owner = self
                .unique_owner(&node.ty.name, &attr.name, &stored)
                .await?;
            if owner.is_some_and(|o| before.is_none_or(|b| b.id != o)) {
                errors.push(ApiError::value_used(&node.object.pointer, &attr.name));
            }
        }
        Ok(errors)
    }

    /// A new resource of a type, with its defaults.
    pub(crate) fn new_resource(&self, ty: &ResourceType, id: &str) -> Resource {
        let mut r = Resource::new(&ty.name, id);
        for attr in ty.attributes.values() {
            if let Some(default) = &attr.default
                && let Ok(v) = values::accept(attr, default)
            {
                r.attributes.insert(attr.name.clone(), v);
            }
        }
        r
    }

    /// Required to-one relationships left empty on created resources, once every inverse
    /// write of the request has been staged.
    fn missing_required(
        &self,
        changes: &ChangeSet,
        nodes: &[Node<'_>],
        ids: &[String],
    ) -> Vec<ApiError> {
        let mut errors = Vec::new();
        for change in changes.changes().filter(|c| c.before.is_none()) {
            let Some(r) = &change.after else { continue };
            let ty = self.schema.resource_type(&r.ty).expect("known type");
            let pointer = node_of(nodes, ids, &r.ty, &r.id).map_or("/data", |n| &n.object.pointer);
            for rel in ty
                .relationships
                .values()
                .filter(|rel| rel.required && r.related(&rel.name).is_none())
            {
                errors.push(
                    values::not_blank().at(format!("{pointer}/relationships/{}/data", rel.name)),
                );
            }
        }
        errors
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

fn identity(obj: &Value) -> (String, String) {
    (
        obj["type"].as_str().unwrap_or_default().to_owned(),
        obj["id"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Included items that repeat an earlier one (same type and id or lid).
pub(crate) fn duplicates(nodes: &[Node<'_>]) -> Vec<ApiError> {
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let mut errors = Vec::new();
    for (n, node) in nodes.iter().filter(|n| !n.primary).enumerate() {
        let key = match (&node.object.id, &node.object.lid) {
            (Some(id), _) => local_key(&node.ty.name, id, false),
            (None, Some(lid)) => local_key(&node.ty.name, lid, true),
            (None, None) => continue,
        };
        match seen.get(&key) {
            Some(first) => errors.push(
                ApiError::bad_request(
                    title::REQUEST_DATA,
                    format!("The item duplicates the item with the index {first}."),
                )
                .at(node.object.pointer.clone()),
            ),
            None => {
                seen.insert(key, n);
            }
        }
    }
    errors
}

/// Included items not linked to a primary resource, directly or through other included
/// items, in either direction.
fn unlinked(nodes: &[Node<'_>]) -> Vec<ApiError> {
    // A batch's primary items sit at `/data/N`: the model's message for batches says "at least
    // one primary entity".
    let detail = if !nodes
        .iter()
        .any(|n| n.primary && n.object.pointer == "/data")
    {
        "The entity should have a relationship with at least one primary entity and this should be explicitly specified in the request."
    } else {
        "The entity should have a relationship with the primary entity and this should be explicitly specified in the request."
    };
    let names = |node: &Node<'_>| -> Vec<(String, String)> {
        let mut keys = Vec::new();
        if let Some(id) = &node.object.id {
            keys.push(local_key(&node.ty.name, id, false));
        }
        if let Some(lid) = &node.object.lid {
            keys.push(local_key(&node.ty.name, lid, true));
        }
        keys
    };
    let node_of: HashMap<(String, String), usize> = nodes
        .iter()
        .enumerate()
        .flat_map(|(n, node)| names(node).into_iter().map(move |k| (k, n)))
        .collect();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (n, node) in nodes.iter().enumerate() {
        for linkage in node.object.relationships.values() {
            let idents = match linkage {
                Linkage::One(Some(i)) => vec![i],
                Linkage::Many(is) => is.iter().collect(),
                Linkage::One(None) => Vec::new(),
            };
            for ident in idents {
                if let Some(&m) = node_of.get(&local_key(&ident.ty, &ident.id, ident.local)) {
                    edges[n].push(m);
                    edges[m].push(n);
                }
            }
        }
    }
    let mut reached: Vec<bool> = nodes.iter().map(|n| n.primary).collect();
    let mut queue: VecDeque<usize> = (0..nodes.len()).filter(|&n| reached[n]).collect();
    while let Some(n) = queue.pop_front() {
        for &m in &edges[n] {
            if !reached[m] {
                reached[m] = true;
                queue.push_back(m);
            }
        }
    }
    nodes
        .iter()
        .zip(reached)
        .filter(|(_, r)| !r)
        .map(|(node, _)| {
            ApiError::bad_request(title::REQUEST_DATA, detail).at(node.object.pointer.clone())
        })
        .collect()
}
