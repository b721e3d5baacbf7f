//! What each resource object of a compound write meets in the store: the resource it updates
//! (by the URL's id, its own id, or its unique values for `meta.upsert`), and unique values
//! another resource holds already.

use jsonapi_config::IdStrategy;
use jsonapi_store::Store;
use serde_json::Value;

use super::meta::value_error;
use super::{MetaOp, Node};
use crate::engine::{Engine, check_id};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::resource::Resource;
use crate::values;

impl<S: Store> Engine<S> {
    /// The stored resource each node updates, `None` for those it creates; problems with the
    /// ids go to `errors`, and the nodes they are about are marked in the second list.
    pub(super) async fn find_all_existing(
        &self,
        nodes: &[Node<'_>],
        url_id: Option<&str>,
        errors: &mut Vec<ApiError>,
    ) -> ApiResult<(Vec<Option<Resource>>, Vec<bool>)> {
        let mut befores = Vec::new();
        let mut unfound = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            let before = errors.len();
            befores.push(self.find_existing(n, node, url_id, errors).await?);
            unfound.push(errors.len() > before);
        }
        Ok((befores, unfound))
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
        Ok(match (&node.meta, n, url_id) {
            (MetaOp::Upsert(None), 0, Some(id)) => self.load_checked(node, id, errors).await?,
            (_, 0, Some(id)) => match self.load_checked(node, id, errors).await? {
                Some(r) => Some(r),
                None if errors.is_empty() => return Err(ApiError::not_found().into()),
                None => None,
            },
            (MetaOp::Update, _, _) => match &object.id {
                Some(id) => {
                    let before = errors.len();
                    let found = self.load_checked(node, id, errors).await?;
                    // A malformed id was reported as such: it names nothing to look for.
                    if found.is_none() && errors.len() == before {
                        errors.push(ApiError::not_found().at(object.pointer.clone()));
                    }
                    found
                }
                // The model's answer to an update that names no resource: an identifier
                // problem of the item.
                None => {
                    errors.push(
                        ApiError::new(
                            ErrorKind::EntityIdentifier,
                            "The 'id' property is required to update a resource.",
                        )
                        .at(object.pointer.clone()),
                    );
                    None
                }
            },
            (MetaOp::Upsert(None), _, _) => match &object.id {
                Some(id) => self.load_checked(node, id, errors).await?,
                None => {
                    errors.push(id_required(
                        node,
                        "The 'id' property is required to upsert by id.",
                    ));
                    None
                }
            },
            (MetaOp::Upsert(Some(fields)), _, _) => {
                self.find_by_unique(node, fields, errors).await?
            }
            _ => {
                check_new_id(node, errors);
                None
            }
        })
    }

    /// The node's resource under `id`; a malformed id is reported at the object's `id`.
    async fn load_checked(
        &self,
        node: &Node<'_>,
        id: &str,
        errors: &mut Vec<ApiError>,
    ) -> ApiResult<Option<Resource>> {
        if let Err(e) = check_id(&node.ty, id) {
            errors.push(e.at(format!("{}/id", node.object.pointer)));
            return Ok(None);
        }
        self.load(&node.ty, id).await
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
                    object.meta_pointer("upsert"),
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
                ErrorKind::Conflict,
                "The upsert operation founds more than one entity.",
            )
            .at(object.meta_pointer("upsert"))
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

    /// Unique values the nodes send that another resource holds (one read per unique field).
    pub(super) async fn taken_values(
        &self,
        nodes: &[Node<'_>],
        befores: &[Option<Resource>],
    ) -> ApiResult<Vec<ApiError>> {
        let mut errors = Vec::new();
        for (node, before) in nodes.iter().zip(befores) {
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
                if owner.is_some_and(|o| before.as_ref().is_none_or(|b| b.id != o)) {
                    errors.push(ApiError::value_used(&node.object.pointer, &attr.name));
                }
            }
        }
        Ok(errors)
    }
}

fn id_required(node: &Node<'_>, detail: &str) -> ApiError {
    ApiError::new(ErrorKind::RequestData, detail).at(format!("{}/id", node.object.pointer))
}

/// A created resource's id: the type's clients must send one, in the type's id format; an
/// included item's `id` of a server-chosen type is a temporary id (a primary's was refused
/// earlier).
fn check_new_id(node: &Node<'_>, errors: &mut Vec<ApiError>) {
    let id_pointer = || format!("{}/id", node.object.pointer);
    match (node.ty.id, &node.object.id) {
        (IdStrategy::Client, None) => errors.push(
            ApiError::new(ErrorKind::EntityIdentifier, "The identifier is mandatory.")
                .at(id_pointer()),
        ),
        (IdStrategy::Client, Some(id)) => {
            if let Err(e) = check_id(&node.ty, id) {
                errors.push(e.at(id_pointer()));
            }
        }
        _ => {}
    }
}
