//! update_relationship, add_relationship and delete_relationship:
//! `PATCH|POST|DELETE /api/{type}/{id}/relationships/{relationship}`.
//!
//! Inverse relationships are written through the related resources' to-one side, in the
//! same transaction, so both sides always agree. An add or a removal touches only the members
//! it names (each under its own version), so concurrent adds and removals of different members
//! never undo one another.

use http::{Method, StatusCode};
use jsonapi_config::{Action, RelationshipStorage, ResourceType};
use jsonapi_store::Store;

use super::write::{InverseWrite, MemberOp};
use crate::document::{self, Identifier, Linkage};
use crate::engine::{Engine, check_id};
use crate::error::{ApiError, ApiErrors, ApiResult, title};
use crate::extension::ChangeSet;
use crate::operation::Operation;
use crate::query::{self, Accepts};
use crate::request::ApiResponse;
use crate::resource;
use crate::values;

impl<S: Store> Engine<S> {
    pub(crate) async fn write_relationship(
        &self,
        ty: &ResourceType,
        id: &str,
        rel_name: &str,
        method: &Method,
        query: Option<&str>,
        body: &[u8],
    ) -> ApiResult<ApiResponse> {
        check_id(ty, id)?;
        // Every relationship write reads the same (nothing) from the query string.
        let accepts = Accepts::of(Operation::UpdateRelationship, false);
        query::parse(&self.schema, ty, query::pairs(query), accepts)?;
        let rel = &ty.relationships[rel_name];
        let target = self.target_of(ty, rel_name);
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
                        StatusCode::CONFLICT,
                        title::CONFLICT,
                        format!(
                            "The type \"{}\" does not fit this relationship; use \"{}\".",
                            ident.ty, target.name
                        ),
                    )
                    .at(format!("{}/type", ident.pointer)),
                );
            } else if ident.local {
                errors.push(
                    ApiError::bad_request(
                        title::REQUEST_DATA,
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
        let mut ids: Vec<String> = Vec::new();
        let mut pointers = Vec::new();
        for ident in &idents {
            if !ids.contains(&ident.id) {
                ids.push(ident.id.clone());
                pointers.push(ident.pointer.clone());
            }
        }
        let action = match *method {
            Method::POST => Action::AddRelationship,
            Method::DELETE => Action::DeleteRelationship,
            _ => Action::UpdateRelationship,
        };
        self.with_retries(Some(resource::resource_key(&ty.name, id)), async || {
            let owner = self.load(ty, id).await?.ok_or_else(ApiError::not_found)?;
            // Members must exist (JSON:API: 404 for a missing related resource).
            let found = self.load_many(target, &ids).await?;
            let missing: Vec<ApiError> = idents
                .iter()
                .filter(|i| {
                    !found.iter().any(|r| r.id == i.id) && action != Action::DeleteRelationship
                })
                .map(|i| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        title::NOT_FOUND,
                        "The entity does not exist.",
                    )
                    .at(i.pointer.clone())
                })
                .collect();
            if !missing.is_empty() {
                return Err(ApiErrors(missing).into());
            }
            let mut changes = ChangeSet::default();
            let mut after = owner.clone();
            match (&rel.storage, rel.many) {
                (RelationshipStorage::Owned, false) => {
                    if ids.is_empty() && rel.required {
                        return Err(ApiErrors::from(values::not_null().at("/data")).into());
                    }
                    after
                        .to_one
                        .insert(rel_name.to_owned(), ids.first().cloned());
                }
                (RelationshipStorage::Owned, true) => {
                    let members = after.to_many.entry(rel_name.to_owned()).or_default();
                    match action {
                        Action::AddRelationship => members.extend(
                            ids.iter()
                                .filter(|i| !members.contains(i))
                                .cloned()
                                .collect::<Vec<_>>(),
                        ),
                        Action::DeleteRelationship => members.retain(|m| !ids.contains(m)),
                        _ => members.clone_from(&ids),
                    }
                    if members.len() > self.schema.api.max_related {
                        return Err(ApiErrors::from(ApiError::bad_request(
                            title::REQUEST_DATA,
                            format!(
                                "A relationship holds at most {} members.",
                                self.schema.api.max_related
                            ),
                        ))
                        .into());
                    }
                }
                (RelationshipStorage::InverseOf { field }, _) => {
                    let op = match action {
                        Action::AddRelationship => MemberOp::Add,
                        Action::DeleteRelationship => MemberOp::Remove,
                        _ => MemberOp::Replace,
                    };
                    let write = InverseWrite {
                        rel: rel_name.to_owned(),
                        target: target.name.clone(),
                        field: field.clone(),
                        op,
                        ids: ids.clone(),
                        pointers: pointers.clone(),
                        pointer: "/data".to_owned(),
                    };
                    self.stage_inverse(ty, id, &[write], &mut changes, false, &found)
                        .await?;
                }
            }
            changes.put(Some(owner), after);
            self.commit(action, changes).await?;
            Ok(())
        })
        .await?;
        Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
    }
}
