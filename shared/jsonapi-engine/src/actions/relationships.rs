//! update_relationship, add_relationship and delete_relationship:
//! `PATCH|POST|DELETE /api/{type}/{id}/relationships/{relationship}`.
//!
//! Inverse relationships are written through the related resources' to-one side, in the
//! same transaction, so both sides always agree. An add or a removal touches only the members
//! it names (each under its own version), so concurrent adds and removals of different members
//! never undo one another.

use std::sync::Arc;

use http::StatusCode;
use jsonapi_config::{Operation, Relationship, RelationshipStorage, ResourceType};
use jsonapi_store::Store;

use super::write::{InverseWrite, MemberOp};
use crate::commit::CommitError;
use crate::document::{self, Identifier, Linkage};
use crate::engine::{Ctx, Engine, check_id};
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind};
use crate::extension::ChangeSet;
use crate::precondition;
use crate::query::{self, Accepts};
use crate::request::ApiResponse;
use crate::resource::{self, Resource};
use crate::values;

impl<S: Store> Engine<S> {
    /// update_relationship, add_relationship or delete_relationship (`action`) of `id`'s
    /// relationship `rel_name`, with the linkage document `body`.
    pub(crate) async fn write_relationship(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        id: &str,
        rel: &Relationship,
        action: Operation,
        body: &[u8],
    ) -> ApiResult<ApiResponse> {
        check_id(ty, id)?;
        // Every relationship write reads the same (nothing) from the query string.
        let accepts = Accepts::of(action, false);
        query::parse(&self.schema, ty, ctx.query.clone(), accepts)?;
        let target = self.schema.target(rel);
        let idents: Vec<Identifier> = match (document::parse_linkage(body)?, rel.many) {
            (Linkage::One(ident), false) => ident.into_iter().collect(),
            (Linkage::Many(idents), true) => idents,
            (_, many) => return Err(document::wrong_shape(many, "/data").into()),
        };
        let mut errors = Vec::new();
        for ident in &idents {
            if ident.ty != target.name {
                errors.push(
                    ApiError::new(
                        ErrorKind::Conflict,
                        format!(
                            "The type \"{}\" does not fit this relationship; use \"{}\".",
                            ident.ty, target.name
                        ),
                    )
                    .at(format!("{}/type", ident.pointer)),
                );
            } else if ident.local {
                errors.push(
                    ApiError::new(
                        ErrorKind::RequestData,
                        "A relationship endpoint takes ids, not lids.",
                    )
                    .at(format!("{}/lid", ident.pointer)),
                );
            } else if let Err(e) = check_id(target, &ident.id) {
                errors.push(e.at(format!("{}/id", ident.pointer)));
            }
        }
        if !errors.is_empty() {
            return Err(ApiErrors(errors));
        }
        let owner = self
            .with_retries(Some(resource::resource_key(&ty.name, id)), async || {
                let owner = self.load(ty, id).await?.ok_or_else(ApiError::not_found)?;
                ctx.preconditions.check_write(ty, Some(&owner))?;
                let mut changes = ChangeSet::default();
                // An inverse relationship's write rewrites the members, not the owner: the
                // owner's version is then held by a check of its own.
                if ctx.preconditions.has_if_match() {
                    changes.guard(&owner);
                }
                self.stage_relationship(
                    owner.clone(),
                    (ty, rel),
                    action,
                    &idents,
                    "/data",
                    &mut changes,
                )
                .await?;
                let staged = self.commit(action, changes).await?;
                Ok(staged
                    .staged(&ty.name, id)
                    .flatten()
                    .cloned()
                    .unwrap_or(owner))
            })
            .await?;
        Ok(ApiResponse::empty(StatusCode::NO_CONTENT)
            .with_etag(&precondition::etag(&owner, &ctx.variant)))
    }

    /// Stages a write of `owner`'s relationship (`owner` as stored, or as this request staged
    /// it): the members named join, leave or become the whole set. Members must exist, in the
    /// store or among the request's staged resources (404 otherwise; a removal of one that does
    /// not exist is a no-op).
    /// `of` is the relationship with the type that declares it (`owner`'s); `pointer` is where
    /// the linkage sits in the request (`/data`).
    pub(crate) async fn stage_relationship(
        &self,
        owner: Resource,
        (ty, rel): (&ResourceType, &Relationship),
        action: Operation,
        idents: &[Identifier],
        pointer: &str,
        changes: &mut ChangeSet,
    ) -> Result<(), CommitError> {
        let target = self.schema.target(rel);
        let rel_name = rel.name.as_str();
        let mut ids: Vec<String> = Vec::new();
        let mut pointers = Vec::new();
        for ident in idents {
            if !ids.contains(&ident.id) {
                ids.push(ident.id.clone());
                pointers.push(ident.pointer.clone());
            }
        }
        let found = self.staged_or_loaded(target, &ids, changes, &[]).await?;
        if action != Operation::DeleteRelationship {
            all_found(idents, &found)?;
        }
        let mut after = owner.clone();
        match (&rel.storage, rel.many) {
            (RelationshipStorage::Owned, false) => {
                if ids.is_empty() && rel.required {
                    return Err(ApiErrors::from(values::not_null().at(pointer)).into());
                }
                after
                    .to_one
                    .insert(rel_name.to_owned(), ids.first().cloned());
            }
            (RelationshipStorage::Owned, true) => {
                let members = after.to_many.entry(rel_name.to_owned()).or_default();
                change_members(members, &ids, action, self.schema.api.max_related)?;
            }
            (RelationshipStorage::InverseOf { field }, _) => {
                let op = match action {
                    Operation::AddRelationship => MemberOp::Add,
                    Operation::DeleteRelationship => MemberOp::Remove,
                    _ => MemberOp::Replace,
                };
                let write = InverseWrite {
                    rel: rel_name.to_owned(),
                    target: Arc::clone(target),
                    field: field.clone(),
                    op,
                    ids,
                    pointers,
                    pointer: pointer.to_owned(),
                };
                let creating = matches!(changes.original(&ty.name, &owner.id), Some(None));
                // Only the members change: the owner is not put back, which would undo its
                // own change when it is one of them (a category made its own child).
                return self
                    .stage_inverse(ty, &owner.id, &[write], changes, creating, &found)
                    .await;
            }
        }
        changes.put(Some(owner), after);
        Ok(())
    }
}

/// Every identifier names a resource that exists (staged or stored): else, as a related id
/// in a resource's body, `400 form constraint` at its identifier (the model's answer; the
/// URL's own resource missing is the 404).
fn all_found(idents: &[Identifier], found: &[Resource]) -> Result<(), ApiErrors> {
    let missing: Vec<ApiError> = idents
        .iter()
        .filter(|i| !found.iter().any(|r| r.id == i.id))
        .map(|i| ApiError::new(ErrorKind::Form, "The entity does not exist.").at(i.pointer.clone()))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiErrors(missing))
    }
}

/// Adds, removes or replaces the members of an owned to-many relationship, within `max`.
fn change_members(
    members: &mut Vec<String>,
    ids: &[String],
    action: Operation,
    max: usize,
) -> Result<(), ApiErrors> {
    match action {
        Operation::AddRelationship => {
            let new: Vec<String> = ids
                .iter()
                .filter(|i| !members.contains(i))
                .cloned()
                .collect();
            members.extend(new);
        }
        Operation::DeleteRelationship => members.retain(|m| !ids.contains(m)),
        _ => {
            members.clear();
            members.extend_from_slice(ids);
        }
    }
    if members.len() > max {
        return Err(ApiError::new(
            ErrorKind::RequestData,
            format!("A relationship holds at most {max} members."),
        )
        .into());
    }
    Ok(())
}
