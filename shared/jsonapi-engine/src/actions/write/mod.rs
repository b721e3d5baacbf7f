//! The write actions: create, update and delete, and what they share: applying a request's
//! resource object to a resource ([`apply`]), checking linkage, and keeping inverse
//! relationships ([`inverse`]) and delete rules ([`delete`]) consistent inside the same
//! transaction.

mod apply;
mod delete;
mod inverse;

use std::collections::HashMap;
use std::sync::Arc;

use jsonapi_config::ResourceType;

use crate::document::{Identifier, ResourceObject};
use crate::engine::check_id;
use crate::error::{ApiError, ErrorKind};
use crate::resource::Resource;

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

pub(super) fn extra_field(pointer: String, name: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ExtraFields,
        format!("This form should not contain extra fields: \"{name}\"."),
    )
    .at(pointer)
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
pub(super) fn resolve(
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
