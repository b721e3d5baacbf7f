//! The write actions: create, update and delete, and what they share: applying a request's
//! resource object to a resource, checking linkage, and keeping inverse relationships and
//! delete rules consistent inside the same transaction.

use std::collections::HashMap;
use std::sync::Arc;

use http::StatusCode;
use http::header::HeaderValue;
use jsonapi_config::{OnDelete, Operation, RelationshipStorage, ResourceType};
use jsonapi_store::{RangeQuery, Store};
use serde_json::Value;

use crate::commit::CommitError;
use crate::document::{self, Identifier, Linkage, ResourceObject, escape_pointer};
use crate::engine::{Ctx, Engine, check_id};
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind};
use crate::extension::ChangeSet;
use crate::query::{self, Accepts};
use crate::request::ApiResponse;
use crate::resource::{self, Resource};
use crate::values;

/// Writes per delete_list transaction, below the store's limit to leave room for what
/// extensions add at `pre_flush_data`.
const BATCH_WRITES: usize = 80;

/// What a write of a to-many relationship does with the members it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberOp {
    /// They join; the others stay (`POST` on a relationship endpoint).
    Add,
    /// They leave; the others stay (`DELETE` on a relationship endpoint).
    Remove,
    /// They become the whole set (`PATCH`, and linkage in a resource object).
    Replace,
}

/// A to-many relationship derived from the related type's to-one: writing it rewrites that
/// to-one on the related resources, which happens inside the write's transaction.
#[derive(Debug, Clone)]
pub(crate) struct InverseWrite {
    pub(crate) rel: String,
    pub(crate) target: Arc<ResourceType>,
    pub(crate) field: String,
    pub(crate) op: MemberOp,
    /// The members named.
    pub(crate) ids: Vec<String>,
    /// The pointer of each member's identifier in the request.
    pub(crate) pointers: Vec<String>,
    /// The pointer of the linkage in the request.
    pub(crate) pointer: String,
}

/// A checked resource object: the resource with the request applied, the inverse
/// relationships still to apply once the resource's id is known, and the stored resources its
/// linkage names (read to check that they exist).
pub(crate) struct Applied {
    pub(crate) resource: Resource,
    pub(crate) inverse: Vec<InverseWrite>,
    pub(crate) linked: Vec<Resource>,
}

fn extra_field(pointer: String, name: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ExtraFields,
        format!("This form should not contain extra fields: \"{name}\"."),
    )
    .at(pointer)
}

impl<S: Store> Engine<S> {
    pub(crate) async fn delete(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        id: &str,
    ) -> ApiResult<ApiResponse> {
        check_id(ty, id)?;
        let accepts = Accepts::of(Operation::Delete, false);
        query::parse(&self.schema, ty, ctx.query.clone(), accepts)?;
        self.with_retries(Some(resource::resource_key(&ty.name, id)), async || {
            let before = self.load(ty, id).await?.ok_or_else(ApiError::not_found)?;
            // The deletion is conditioned on the version checked here.
            ctx.preconditions.check_write(ty, Some(&before))?;
            let mut changes = ChangeSet::default();
            self.stage_delete(before, &mut changes).await?;
            ctx.access.check_delete_rules(&changes)?;
            self.commit(Operation::Delete, changes).await?;
            Ok(())
        })
        .await?;
        Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
    }

    /// `DELETE /api/{type}`: deletes what the filters select, at most `maxDelete` per call, in
    /// one transaction per batch (as many deletions as the store's transaction limit holds).
    pub(crate) async fn delete_list(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
    ) -> ApiResult<ApiResponse> {
        let accepts = Accepts::of(Operation::DeleteList, false);
        let q = query::parse(&self.schema, ty, ctx.query.clone(), accepts)?;
        ctx.access.check_filter_paths(&q.filters)?;
        let (selected, total) = self
            .select_for_delete(ty, &q, self.schema.api.max_delete, ctx.total_count)
            .await?;
        let mut batches: Vec<Vec<String>> = Vec::new();
        let mut staged = ChangeSet::default();
        for r in selected {
            let id = r.id.clone();
            let mut candidate = staged.clone();
            self.stage_delete(r, &mut candidate)
                .await
                .map_err(|e| e.into_errors())?;
            let fits = self.count_writes(&candidate) <= BATCH_WRITES;
            match batches.last_mut() {
                Some(batch) if fits => {
                    batch.push(id);
                    staged = candidate;
                }
                _ => {
                    batches.push(vec![id.clone()]);
                    staged = ChangeSet::default();
                    let r = self.load(ty, &id).await?.ok_or_else(ApiError::not_found)?;
                    self.stage_delete(r, &mut staged)
                        .await
                        .map_err(|e| e.into_errors())?;
                }
            }
        }
        let mut deleted = 0;
        for batch in batches {
            deleted += self
                .with_retries(None, async || {
                    let mut changes = ChangeSet::default();
                    let mut n = 0;
                    for r in self.load_many(ty, &batch).await? {
                        self.stage_delete(r, &mut changes).await?;
                        n += 1;
                    }
                    ctx.access.check_delete_rules(&changes)?;
                    self.commit(Operation::DeleteList, changes).await?;
                    Ok(n)
                })
                .await?;
        }
        let mut response = ApiResponse::empty(StatusCode::NO_CONTENT);
        if ctx.deleted_count {
            response
                .headers
                .insert("x-include-deleted-count", HeaderValue::from(deleted));
        }
        if let Some(total) = total {
            response
                .headers
                .insert("x-include-total-count", HeaderValue::from(total));
        }
        Ok(response)
    }

    /// Applies a resource object's attributes and relationships to `resource`, collecting every
    /// problem with its pointer.
    ///
    /// Identifiers naming resources created or updated by the same request (a temporary `id`
    /// or a `lid`) resolve through `locals`; the others must name stored resources.
    pub(crate) async fn apply(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        mut resource: Resource,
        object: &ResourceObject,
        creating: bool,
        locals: &Locals,
    ) -> ApiResult<Applied> {
        let mut errors = Vec::new();
        let at = |member: &str, name: &str| {
            format!("{}/{member}/{}", object.pointer, escape_pointer(name))
        };
        for (name, value) in &object.attributes {
            let Some(attr) = ty
                .attributes
                .get(name)
                .filter(|a| a.direction != jsonapi_config::Direction::OutputOnly)
            else {
                errors.push(extra_field(at("attributes", name), name));
                continue;
            };
            if !attr.writable() {
                continue; // read-only: ignored, as the model system does with timestamps
            }
            if value.is_null() {
                if attr.required {
                    errors.push(values::not_blank().at(at("attributes", name)));
                } else if !attr.nullable {
                    errors.push(values::not_null().at(at("attributes", name)));
                } else if let Err(e) =
                    ctx.storefront
                        .store(attr, &mut resource.attributes, Value::Null, creating)
                {
                    errors.push(e.at(at("attributes", name)));
                }
                continue;
            }
            match values::accept(attr, value) {
                Ok(v) if attr.required && values::is_blank(&v) => {
                    errors.push(values::not_blank().at(at("attributes", name)))
                }
                Ok(v) => {
                    if let Err(e) =
                        ctx.storefront
                            .store(attr, &mut resource.attributes, v, creating)
                    {
                        errors.push(e.at(at("attributes", name)));
                    }
                }
                Err(e) => errors.push(e.at(at("attributes", name))),
            }
        }
        if creating {
            for attr in ty
                .attributes
                .values()
                .filter(|a| a.required && a.writable())
            {
                if !object.attributes.contains_key(&attr.name) {
                    errors.push(values::not_blank().at(at("attributes", &attr.name)));
                }
            }
        }
        let mut inverse = Vec::new();
        let mut wanted: HashMap<&str, (&ResourceType, Vec<&Identifier>)> = HashMap::new();
        for (name, linkage) in &object.relationships {
            let here = at("relationships", name);
            let Some(rel) = ty.relationships.get(name) else {
                errors.push(extra_field(here, name));
                continue;
            };
            let target = self.schema.target(rel);
            match (rel.many, linkage) {
                (false, Linkage::One(None)) => {
                    if rel.required {
                        errors.push(values::not_blank().at(format!("{here}/data")));
                    } else if rel.storage == RelationshipStorage::Owned {
                        resource.to_one.insert(name.clone(), None);
                    }
                }
                (false, Linkage::One(Some(ident))) => {
                    if let Some((id, stored)) = resolve(target, ident, locals, &mut errors) {
                        if stored {
                            wanted
                                .entry(&target.name)
                                .or_insert_with(|| (target, Vec::new()))
                                .1
                                .push(ident);
                        }
                        resource.to_one.insert(name.clone(), Some(id));
                    }
                }
                (true, Linkage::Many(idents)) => {
                    if idents.len() > self.schema.api.max_related {
                        errors.push(
                            ApiError::new(
                                ErrorKind::RequestData,
                                format!(
                                    "A relationship takes at most {} members in one request.",
                                    self.schema.api.max_related
                                ),
                            )
                            .at(format!("{here}/data")),
                        );
                        continue;
                    }
                    let mut ids: Vec<String> = Vec::new();
                    let mut pointers = Vec::new();
                    for ident in idents {
                        let Some((id, stored)) = resolve(target, ident, locals, &mut errors) else {
                            continue;
                        };
                        if !ids.contains(&id) {
                            ids.push(id);
                            pointers.push(ident.pointer.clone());
                            if stored {
                                wanted
                                    .entry(&target.name)
                                    .or_insert_with(|| (target, Vec::new()))
                                    .1
                                    .push(ident);
                            }
                        }
                    }
                    match &rel.storage {
                        RelationshipStorage::Owned => {
                            resource.to_many.insert(name.clone(), ids);
                        }
                        RelationshipStorage::InverseOf { field } => inverse.push(InverseWrite {
                            rel: name.clone(),
                            target: Arc::clone(target),
                            field: field.clone(),
                            op: MemberOp::Replace,
                            ids,
                            pointers,
                            pointer: format!("{here}/data"),
                        }),
                    }
                }
                (many, _) => errors.push(document::wrong_shape(many, &format!("{here}/data"))),
            }
        }
        // Linkage must point at stored resources: one batch read per related type.
        let mut linked = Vec::new();
        for (target, idents) in wanted.into_values() {
            let ids: Vec<String> = idents.iter().map(|i| i.id.clone()).collect();
            let found = self.load_many(target, &ids).await?;
            for ident in idents {
                if !found.iter().any(|r| r.id == ident.id) {
                    errors.push(
                        ApiError::new(ErrorKind::Form, "The entity does not exist.")
                            .at(ident.pointer.clone()),
                    );
                }
            }
            linked.extend(found);
        }
        if errors.is_empty() {
            Ok(Applied {
                resource,
                inverse,
                linked,
            })
        } else {
            Err(ApiErrors(errors))
        }
    }

    /// Rewrites the to-one side of inverse relationships of `id`: the members named join or
    /// leave, or (replace) become exactly its members. Only the members that change are
    /// written, each under its own version; a replace reads the current members, after the
    /// membership stamp that makes the transaction fail if one joins meanwhile. `known` are
    /// resources this attempt has read already (they are not read again).
    pub(crate) async fn stage_inverse(
        &self,
        ty: &ResourceType,
        id: &str,
        writes: &[InverseWrite],
        changes: &mut ChangeSet,
        creating: bool,
        known: &[Resource],
    ) -> Result<(), CommitError> {
        for w in writes {
            let target = &w.target;
            let (joining, leaving) = match w.op {
                MemberOp::Add => (w.ids.clone(), Vec::new()),
                MemberOp::Remove => (Vec::new(), w.ids.clone()),
                // A resource this request creates has no members yet: nothing can point at a
                // resource before it exists.
                MemberOp::Replace if creating => (w.ids.clone(), Vec::new()),
                MemberOp::Replace => {
                    self.read_members(&ty.name, id, changes).await?;
                    let current = self
                        .inverse_ids(ty, id, target, &w.field, 0, self.schema.api.max_related)
                        .await?
                        .0;
                    let leaving = current.iter().filter(|c| !w.ids.contains(c)).cloned();
                    (w.ids.clone(), leaving.collect())
                }
            };
            let leaving: Vec<Resource> = self
                .staged_or_loaded(target, &leaving, changes, known)
                .await?
                .into_iter()
                .filter(|r| r.related(&w.field) == Some(id))
                .collect();
            let required = target
                .relationships
                .get(&w.field)
                .is_some_and(|r| r.required);
            if required && !leaving.is_empty() {
                return Err(ApiErrors(cannot_leave(w, &leaving)).into());
            }
            for r in leaving {
                changes.edit(r, |r| {
                    r.to_one.insert(w.field.clone(), None);
                });
            }
            for r in self
                .staged_or_loaded(target, &joining, changes, known)
                .await?
            {
                if r.related(&w.field) != Some(id) {
                    changes.edit(r, |r| {
                        r.to_one.insert(w.field.clone(), Some(id.to_owned()));
                    });
                }
            }
        }
        Ok(())
    }

    /// Resources as the change set will leave them: staged ones from the set, others from
    /// `known` (read by this attempt already) or loaded.
    pub(crate) async fn staged_or_loaded(
        &self,
        ty: &ResourceType,
        ids: &[String],
        changes: &ChangeSet,
        known: &[Resource],
    ) -> ApiResult<Vec<Resource>> {
        let mut out = Vec::new();
        let mut missing = Vec::new();
        for id in ids {
            match changes.staged(&ty.name, id) {
                Some(Some(r)) => out.push(r.clone()),
                Some(None) => {}
                None => match known.iter().find(|r| r.ty == ty.name && r.id == *id) {
                    Some(r) => out.push(r.clone()),
                    None => missing.push(id.clone()),
                },
            }
        }
        out.extend(self.load_many(ty, &missing).await?);
        Ok(out)
    }

    /// Stages the deletion of a resource and what its relationships' delete rules require of
    /// the resources that point at it: refuse (restrict), clear the link (nullify), or delete
    /// them too (cascade, followed transitively).
    pub(crate) async fn stage_delete(
        &self,
        root: Resource,
        changes: &mut ChangeSet,
    ) -> Result<(), CommitError> {
        let mut pending = vec![root];
        while let Some(doomed) = pending.pop() {
            if matches!(changes.staged(&doomed.ty, &doomed.id), Some(None)) {
                continue;
            }
            let doomed_ty = self
                .schema
                .resource_type(&doomed.ty)
                .expect("known type")
                .clone();
            // Who points at it is read from index ranges: the stamp first, so that the
            // transaction fails if anyone joins after these reads.
            self.read_members(&doomed.ty, &doomed.id, changes).await?;
            changes.delete(doomed.clone());
            for referrer in self.schema.types() {
                for rel in referrer.relationships.values() {
                    if rel.target != doomed.ty || rel.storage != RelationshipStorage::Owned {
                        continue;
                    }
                    let query = RangeQuery::prefix(
                        resource::index_pk(&referrer.name, &rel.name),
                        &resource::linkage_prefix(&doomed_ty, &doomed.id),
                        1,
                    );
                    let max = self.schema.api.max_delete;
                    let (ids, _) = self.range_ids(query, referrer.shards, 0, max).await?;
                    let referring = self.staged_or_loaded(referrer, &ids, changes, &[]).await?;
                    let referring: Vec<Resource> = referring
                        .into_iter()
                        .filter(|r| {
                            r.related(&rel.name) == Some(doomed.id.as_str())
                                || r.to_many
                                    .get(&rel.name)
                                    .is_some_and(|ids| ids.contains(&doomed.id))
                        })
                        .collect();
                    if referring.is_empty() {
                        continue;
                    }
                    if rel.many {
                        for r in referring {
                            changes.edit(r, |r| {
                                if let Some(ids) = r.to_many.get_mut(&rel.name) {
                                    ids.retain(|i| *i != doomed.id);
                                }
                            });
                        }
                        continue;
                    }
                    match rel.on_delete {
                        OnDelete::Restrict => {
                            let ids: Vec<&str> = referring.iter().map(|r| r.id.as_str()).collect();
                            return Err(ApiErrors::from(ApiError::new(
                                ErrorKind::Conflict,
                                format!(
                                    "The entity cannot be deleted: \"{}\" {} refer to it through the required relationship \"{}\"; delete or move them first.",
                                    referrer.name,
                                    ids.join(", "),
                                    rel.name
                                ),
                            ))
                            .into());
                        }
                        OnDelete::Nullify => {
                            for r in referring {
                                changes.edit(r, |r| {
                                    r.to_one.insert(rel.name.clone(), None);
                                });
                            }
                        }
                        OnDelete::Cascade => pending.extend(referring),
                    }
                }
            }
        }
        Ok(())
    }
}

/// The refusal of members that cannot leave: their to-one is required. A removal points at
/// each identifier named; a replacement at the linkage, which left them out.
fn cannot_leave(w: &InverseWrite, leaving: &[Resource]) -> Vec<ApiError> {
    let refuse = |ids: &str, pointer: &str| {
        ApiError::new(
            ErrorKind::Form,
            format!(
                "\"{}\" {ids} cannot leave this relationship because its \"{}\" is required; move it to another resource or delete it instead.",
                w.target.name, w.field
            ),
        )
        .at(pointer)
    };
    if w.op == MemberOp::Remove {
        return leaving
            .iter()
            .map(|r| {
                let at = w.ids.iter().position(|i| *i == r.id);
                refuse(&r.id, at.map_or(&w.pointer, |n| &w.pointers[n]))
            })
            .collect();
    }
    let ids: Vec<&str> = leaving.iter().map(|r| r.id.as_str()).collect();
    vec![refuse(&ids.join(", "), &w.pointer)]
}

/// Ids given to the resources a request creates or updates, by `(type, "id:…" | "lid:…")`.
pub(crate) type Locals = HashMap<(String, String), String>;

/// The key of an identifier in [`Locals`].
pub(crate) fn local_key(ty: &str, ident_id: &str, lid: bool) -> (String, String) {
    (
        ty.to_owned(),
        format!("{}:{ident_id}", if lid { "lid" } else { "id" }),
    )
}

/// The id an identifier names, and whether it must be a stored resource (checked in one
/// batch read) rather than one of the request's own.
fn resolve(
    target: &ResourceType,
    ident: &Identifier,
    locals: &Locals,
    errors: &mut Vec<ApiError>,
) -> Option<(String, bool)> {
    if let Some(e) = wrong_type(target, ident) {
        errors.push(e);
        return None;
    }
    if let Some(id) = locals.get(&local_key(&target.name, &ident.id, ident.local)) {
        return Some((id.clone(), false));
    }
    if ident.local {
        errors.push(
            ApiError::new(
                ErrorKind::RequestData,
                format!(
                    "The lid \"{}\" does not name a resource of this request.",
                    ident.id
                ),
            )
            .at(format!("{}/lid", ident.pointer)),
        );
        return None;
    }
    check_identifier(target, ident, errors).then(|| (ident.id.clone(), true))
}

/// The error for an identifier whose type is not the relationship's target type.
pub(crate) fn wrong_type(target: &ResourceType, ident: &Identifier) -> Option<ApiError> {
    (ident.ty != target.name).then(|| {
        ApiError::new(
            ErrorKind::Form,
            format!(
                "The type \"{}\" does not fit this relationship; use \"{}\".",
                ident.ty, target.name
            ),
        )
        .at(format!("{}/type", ident.pointer))
    })
}

/// A linkage identifier must name the relationship's target type and a well-formed id.
pub(crate) fn check_identifier(
    target: &ResourceType,
    ident: &Identifier,
    errors: &mut Vec<ApiError>,
) -> bool {
    if let Some(e) = wrong_type(target, ident) {
        errors.push(e);
        return false;
    }
    match check_id(target, &ident.id) {
        Ok(()) => true,
        Err(e) => {
            errors.push(e.at(format!("{}/id", ident.pointer)));
            false
        }
    }
}

pub(crate) fn check_type(ty: &ResourceType, object: &ResourceObject) -> Result<(), ApiError> {
    if object.ty == ty.name {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::Conflict,
            format!(
                "The 'type' property of the primary data object should match the requested resource type \"{}\".",
                ty.name
            ),
        )
        .at("/data/type"))
    }
}
