//! Relationships: each one's target, then the pairs of inverses and which side stores them.

use indexmap::IndexMap;

use super::names::check_description;
use super::problem::{Checked, problem};
use crate::raw::{RawConfig, RawRelationship, RawType};
use crate::schema::{OnDelete, Relationship, RelationshipStorage, ResourceType, TypeRef};

pub(super) fn check_relationship(
    path: &[&str],
    name: &str,
    raw: &RawRelationship,
    declared: &IndexMap<String, RawType>,
) -> Checked<Relationship> {
    let Some(index) = declared.get_index_of(&raw.target) else {
        let mut p = path.to_vec();
        p.push("target");
        return Err(problem(
            &p,
            format!("\"{}\" is not a declared type", raw.target),
        ));
    };
    if raw.many && raw.required {
        let mut p = path.to_vec();
        p.push("required");
        return Err(problem(&p, "only to-one relationships can be required"));
    }
    let on_delete = match (raw.on_delete, raw.required) {
        (Some(OnDelete::Nullify), true) => {
            let mut p = path.to_vec();
            p.push("onDelete");
            return Err(problem(
                &p,
                "a required relationship cannot be cleared: use restrict or cascade",
            ));
        }
        (Some(d), _) => d,
        (None, true) => OnDelete::Restrict,
        (None, false) => OnDelete::Nullify,
    };
    Ok(Relationship {
        name: name.to_owned(),
        target: TypeRef::new(raw.target.clone(), index),
        description: check_description(path, raw.description.as_ref())?,
        many: raw.many,
        inverse: raw.inverse.clone(),
        required: raw.required,
        on_delete,
        storage: RelationshipStorage::Owned,
    })
}

/// Checks inverses, and decides which side of each pair stores the linkage:
/// the to-one side does, and the to-many side is derived from it.
pub(super) fn resolve_relationships(
    raw: &RawConfig,
    types: &mut IndexMap<String, ResourceType>,
) -> Checked<()> {
    let mut derived = Vec::new();
    for (name, ty) in &raw.types {
        for (field, rel) in &ty.relationships {
            let path = ["types", name.as_str(), "relationships", field.as_str()];
            let Some(inverse) = &rel.inverse else {
                continue;
            };
            let target = &types[rel.target.as_str()];
            let mut p = path.to_vec();
            p.push("inverse");
            let Some(other) = target.relationships.get(inverse) else {
                return Err(problem(
                    &p,
                    format!("\"{}\" has no relationship \"{inverse}\"", rel.target),
                ));
            };
            if other.target != *name || other.inverse.as_deref() != Some(field) {
                return Err(problem(
                    &p,
                    format!(
                        "\"{}.{inverse}\" must target \"{name}\" and name \"{field}\" as its inverse",
                        rel.target
                    ),
                ));
            }
            match (rel.many, other.many) {
                (true, false) => derived.push((name.clone(), field.clone(), inverse.clone())),
                (false, true) => {}
                _ => {
                    return Err(problem(
                        &p,
                        "inverse pairs must be one to-one and one to-many relationship",
                    ));
                }
            }
        }
    }
    for (ty, field, inverse) in derived {
        let rel = types
            .get_mut(&ty)
            .and_then(|t| t.relationships.get_mut(&field))
            .expect("checked above");
        rel.storage = RelationshipStorage::InverseOf { field: inverse };
    }
    Ok(())
}
