//! Applying a request's resource object to a resource: its attributes (checked and stored
//! in their stored form), its relationships' linkage (resolved against the request's own
//! resources or checked to name stored ones), every problem collected with its pointer.

use std::collections::HashMap;
use std::sync::Arc;

use jsonapi_config::{RelationshipStorage, ResourceType};
use jsonapi_store::Store;
use serde_json::Value;

use super::{Applied, InverseWrite, Locals, MemberOp, extra_field, resolve};
use crate::document::{self, Identifier, Linkage, ResourceObject, escape_pointer};
use crate::engine::{Ctx, Engine};
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind};
use crate::resource::Resource;
use crate::values;

impl<S: Store> Engine<S> {
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
        apply_attributes(ctx, ty, &mut resource, object, creating, &mut errors);
        let mut wanted = Wanted::new();
        let inverse =
            self.apply_relationships(ty, &mut resource, object, locals, &mut wanted, &mut errors);
        let linked = self.check_linked(wanted, &mut errors).await?;
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

    /// The linkage of each relationship the object sends, set on `resource` (owned) or
    /// returned as the inverse writes still to stage; identifiers of stored resources go to
    /// `wanted`.
    fn apply_relationships<'a>(
        &'a self,
        ty: &ResourceType,
        resource: &mut Resource,
        object: &'a ResourceObject,
        locals: &Locals,
        wanted: &mut Wanted<'a>,
        errors: &mut Vec<ApiError>,
    ) -> Vec<InverseWrite> {
        let mut inverse = Vec::new();
        for (name, linkage) in &object.relationships {
            let here = member_pointer(object, "relationships", name);
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
                    if let Some((id, stored)) = resolve(target, ident, locals, errors) {
                        if stored {
                            want(wanted, target, ident);
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
                    let (ids, pointers) = members(target, idents, locals, wanted, errors);
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
        inverse
    }

    /// Linkage must point at stored resources: one batch read per related type. The
    /// resources found.
    async fn check_linked(
        &self,
        wanted: Wanted<'_>,
        errors: &mut Vec<ApiError>,
    ) -> ApiResult<Vec<Resource>> {
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
        Ok(linked)
    }
}

/// The identifiers of stored resources a resource object links to, by related type.
type Wanted<'a> = HashMap<&'a str, (&'a ResourceType, Vec<&'a Identifier>)>;

fn want<'a>(wanted: &mut Wanted<'a>, target: &'a ResourceType, ident: &'a Identifier) {
    wanted
        .entry(&target.name)
        .or_insert_with(|| (target, Vec::new()))
        .1
        .push(ident);
}

/// `{object}/{member}/{name}`, the pointer of an attribute or a relationship.
fn member_pointer(object: &ResourceObject, member: &str, name: &str) -> String {
    format!("{}/{member}/{}", object.pointer, escape_pointer(name))
}

/// The distinct ids a to-many linkage names, with the pointer of each one's identifier.
fn members<'a>(
    target: &'a ResourceType,
    idents: &'a [Identifier],
    locals: &Locals,
    wanted: &mut Wanted<'a>,
    errors: &mut Vec<ApiError>,
) -> (Vec<String>, Vec<String>) {
    let mut ids: Vec<String> = Vec::new();
    let mut pointers = Vec::new();
    for ident in idents {
        let Some((id, stored)) = resolve(target, ident, locals, errors) else {
            continue;
        };
        if !ids.contains(&id) {
            ids.push(id);
            pointers.push(ident.pointer.clone());
            if stored {
                want(wanted, target, ident);
            }
        }
    }
    (ids, pointers)
}

/// The attributes the object sends, checked and stored on `resource` (in the answer's
/// localization where they are localizable); a created resource must send the required ones.
fn apply_attributes(
    ctx: &Ctx,
    ty: &ResourceType,
    resource: &mut Resource,
    object: &ResourceObject,
    creating: bool,
    errors: &mut Vec<ApiError>,
) {
    let at = |name: &str| member_pointer(object, "attributes", name);
    for (name, value) in &object.attributes {
        let Some(attr) = ty
            .attributes
            .get(name)
            .filter(|a| a.direction != jsonapi_config::Direction::OutputOnly)
        else {
            errors.push(extra_field(at(name), name));
            continue;
        };
        if !attr.writable() {
            continue; // read-only: ignored, as the model system does with timestamps
        }
        let stored = if value.is_null() {
            if attr.required {
                Err(values::not_blank())
            } else if !attr.nullable {
                Err(values::not_null())
            } else {
                Ok(Value::Null)
            }
        } else {
            match values::accept(attr, value) {
                Ok(v) if attr.required && values::is_blank(&v) => Err(values::not_blank()),
                accepted => accepted,
            }
        };
        let written = stored.and_then(|v| {
            ctx.storefront
                .store(attr, &mut resource.attributes, v, creating)
        });
        if let Err(e) = written {
            errors.push(e.at(at(name)));
        }
    }
    if creating {
        for attr in ty
            .attributes
            .values()
            .filter(|a| a.required && a.writable())
        {
            if !object.attributes.contains_key(&attr.name) {
                errors.push(values::not_blank().at(at(&attr.name)));
            }
        }
    }
}
