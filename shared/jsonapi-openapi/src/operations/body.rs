//! The request body of a write: its JSON:API and plain schemas, and for a create an example
//! that pre-fills the sandbox.

use jsonapi_config::{Operation, ResourceType, Schema};
use serde_json::{Map, Value, json};

use super::Route;
use crate::values::reference;
use crate::{MEDIA_TYPE, plain, schemas, values};

impl Route<'_> {
    pub(super) fn request_body(&self, operation: Operation) -> Option<Value> {
        let t = &self.ty.name;
        let (schema, plain_schema, example) = match operation {
            Operation::Create => (
                reference(&format!("{t}.create.document")),
                reference(&plain::name(t, "create")),
                Some(example(self.schema, self.ty)),
            ),
            Operation::Update => (
                reference(&format!("{t}.update.document")),
                reference(&plain::name(t, "update")),
                None,
            ),
            Operation::UpdateRelationship
            | Operation::AddRelationship
            | Operation::DeleteRelationship => {
                let rel = self.rel.expect("a relationship route");
                (
                    schemas::linkage_request(&rel.target, rel.many, !rel.required),
                    plain::linkage_request(rel.many, !rel.required),
                    None,
                )
            }
            _ => return None,
        };
        let mut media = json!({ "schema": schema });
        if let Some(example) = example {
            media["example"] = example;
        }
        Some(json!({
            "required": true,
            "content": { MEDIA_TYPE: media, plain::MEDIA_TYPE: { "schema": plain_schema } },
        }))
    }
}

/// A request document that creates a resource of `ty`, to pre-fill the sandbox: the required
/// fields, and the optional attributes that have no default and need no unique value.
fn example(schema: &Schema, ty: &ResourceType) -> Value {
    let attributes: Map<String, Value> = ty
        .attributes
        .values()
        .filter(|a| a.writable() && (a.required || (!a.unique && a.default.is_none())))
        .map(|a| (a.name.clone(), values::example(a)))
        .collect();
    let relationships: Map<String, Value> = ty
        .relationships
        .values()
        .filter(|r| r.required)
        .filter_map(|r| {
            let target = schema.resource_type(&r.target)?;
            let id = match target.id {
                jsonapi_config::IdStrategy::Sequence => "1".to_owned(),
                _ => format!("the id of a {}", target.name),
            };
            Some((
                r.name.clone(),
                json!({ "data": { "type": target.name, "id": id } }),
            ))
        })
        .collect();
    let mut data = json!({ "type": ty.name });
    if !attributes.is_empty() {
        data["attributes"] = Value::Object(attributes);
    }
    if !relationships.is_empty() {
        data["relationships"] = Value::Object(relationships);
    }
    json!({ "data": data })
}
