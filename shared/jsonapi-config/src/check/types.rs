//! One resource type: its members, actions and upsert keys; then its sub-resources.

use indexmap::IndexMap;

use super::attributes::check_attribute;
use super::batch::check_type_batch;
use super::names::{check_description, check_member_name};
use super::problem::{Checked, problem};
use super::relationships::check_relationship;
use crate::operation::Operation;
use crate::raw::{RawConfig, RawType};
use crate::schema::{
    ActionSet, Attribute, BatchSettings, IdStrategy, MAX_SHARDS, ResourceType, Subresource, TypeRef,
};

/// `declared` are every type of the file: relationship targets are resolved against them (the
/// checked types keep their order, so an index into one is an index into the other);
/// `api_batch` are the batch settings of types that set none of their own.
pub(super) fn check_type(
    name: &str,
    raw: &RawType,
    declared: &IndexMap<String, RawType>,
    api_batch: &BatchSettings,
) -> Checked<ResourceType> {
    let description = check_description(&["types", name], raw.description.as_ref())?;
    let mut attributes = IndexMap::new();
    for (field, attr) in &raw.attributes {
        let path = ["types", name, "attributes", field];
        check_member_name(&path, field)?;
        attributes.insert(field.clone(), check_attribute(&path, field, attr)?);
    }
    let mut relationships = IndexMap::new();
    for (field, rel) in &raw.relationships {
        let path = ["types", name, "relationships", field];
        check_member_name(&path, field)?;
        if attributes.contains_key(field) {
            return Err(problem(&path, "an attribute already has this name"));
        }
        relationships.insert(
            field.clone(),
            check_relationship(&path, field, rel, declared)?,
        );
    }
    let actions = check_actions(name, raw)?;
    let upsert = check_upsert(name, raw, &attributes)?;
    let alternate_id = super::storefront::check_alternate_id(name, raw, &attributes)?;
    let shards = check_shards(name, raw.shards)?;
    Ok(ResourceType {
        name: name.to_owned(),
        id: raw.id,
        description,
        attributes,
        relationships,
        filters: IndexMap::new(),
        sorters: Vec::new(),
        actions: ActionSet::new(actions),
        validation: raw.validation,
        require_if_match: raw.require_if_match,
        upsert,
        indexes: Vec::new(),
        shards,
        title: Vec::new(),
        subresources: IndexMap::new(),
        alternate_id,
        batch: check_type_batch(name, raw.batch.as_ref(), api_batch)?,
    })
}

/// `shards`: a power of two up to [`MAX_SHARDS`], 1 when absent (one partition per listing
/// and index, the layout of data written before shards existed). A power of two so that the
/// shard is the low bits of the id's hash.
fn check_shards(name: &str, raw: Option<u64>) -> Checked<u32> {
    let Some(n) = raw else { return Ok(1) };
    match u32::try_from(n) {
        Ok(n) if n.is_power_of_two() && n <= MAX_SHARDS => Ok(n),
        _ => Err(problem(
            &["types", name, "shards"],
            format!("a power of two from 1 to {MAX_SHARDS}, not {n}"),
        )),
    }
}

/// The type's actions: every operation on a type but `update-list` unless `actions` says
/// otherwise (and `update-list` only with `get` and `create` or `update`).
fn check_actions(name: &str, raw: &RawType) -> Checked<Vec<Operation>> {
    let mut actions: Vec<Operation> = Operation::OF_TYPES
        .into_iter()
        .filter(|a| *a != Operation::UpdateList)
        .collect();
    for (action, enabled) in &raw.actions {
        let Some(a) = Operation::of_type_named(action) else {
            let known: Vec<_> = Operation::OF_TYPES.iter().map(|a| a.name()).collect();
            return Err(problem(
                &["types", name, "actions", action],
                format!("unknown action; known actions: {}", known.join(", ")),
            ));
        };
        actions.retain(|x| *x != a);
        if *enabled {
            actions.push(a);
        }
    }
    // As in the model, a batch needs its items' reads and writes: without `get`, or without
    // both `create` and `update`, `update_list` is off (405) whatever `actions` says.
    let has = |a: Operation| actions.contains(&a);
    if !has(Operation::Get) || !(has(Operation::Create) || has(Operation::Update)) {
        actions.retain(|x| *x != Operation::UpdateList);
    }
    Ok(actions)
}

/// Upsert keys: `id` when the client chooses ids, and the unique attributes `upsert` names.
fn check_upsert(
    name: &str,
    raw: &RawType,
    attributes: &IndexMap<String, Attribute>,
) -> Checked<Vec<String>> {
    let mut upsert = Vec::new();
    if raw.id == IdStrategy::Client {
        upsert.push("id".to_owned());
    }
    for field in &raw.upsert {
        match attributes.get(field) {
            Some(a) if a.unique => upsert.push(field.clone()),
            Some(_) => {
                return Err(problem(
                    &["types", name, "upsert"],
                    format!("\"{field}\" must be unique to be an upsert key"),
                ));
            }
            None if field == "id" => {
                return Err(problem(
                    &["types", name, "upsert"],
                    "\"id\" is an upsert key only for types whose ids the client chooses (id: client), and then it is one already",
                ));
            }
            None => {
                return Err(problem(
                    &["types", name, "upsert"],
                    format!("\"{field}\" is not an attribute of this type"),
                ));
            }
        }
    }
    Ok(upsert)
}

/// Sub-resources: names of their own (not a relationship's, nor `relationships`), and the type
/// they answer with declared.
pub(super) fn check_subresources(
    raw: &RawConfig,
    types: &mut IndexMap<String, ResourceType>,
) -> Checked<()> {
    for (name, ty) in &raw.types {
        let mut checked = IndexMap::new();
        for (sub, rawsub) in &ty.subresources {
            let path = ["types", name.as_str(), "subresources", sub.as_str()];
            check_member_name(&path, sub)?;
            if sub == "relationships" || types[name].relationships.contains_key(sub) {
                return Err(problem(&path, "a relationship already has this path"));
            }
            let returns = match &rawsub.returns {
                Some(returns) => {
                    let Some(index) = types.get_index_of(returns) else {
                        let mut p = path.to_vec();
                        p.push("returns");
                        return Err(problem(&p, format!("\"{returns}\" is not a declared type")));
                    };
                    Some(TypeRef::new(returns.clone(), index))
                }
                None => None,
            };
            if rawsub.many && rawsub.returns.is_none() {
                let mut p = path.to_vec();
                p.push("many");
                return Err(problem(
                    &p,
                    "only a sub-resource that returns a type can return many",
                ));
            }
            let description = check_description(&path, rawsub.description.as_ref())?;
            checked.insert(
                sub.clone(),
                Subresource {
                    name: sub.clone(),
                    method: rawsub.method,
                    description,
                    returns,
                    many: rawsub.many,
                },
            );
        }
        if let Some(t) = types.get_mut(name) {
            t.subresources = checked;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Operation;

    /// Whether `products` serves `update_list` with these actions.
    fn batches(actions: &str) -> bool {
        let text = format!("types:\n  products:\n    id: sequence\n    actions: {{ {actions} }}\n");
        let schema = crate::parse("api.yaml", &text).expect("valid");
        let products = schema.resource_type("products").expect("declared");
        products.actions.allows(Operation::UpdateList)
    }

    #[test]
    fn update_list_needs_get_and_create_or_update_as_in_the_model() {
        assert!(batches("update_list: true"));
        assert!(batches("update_list: true, create: false"));
        assert!(batches("update_list: true, update: false"));
        assert!(!batches("update_list: true, create: false, update: false"));
        assert!(!batches("update_list: true, get: false"));
        assert!(!batches("get: true"));
    }
}
