//! The JSON Schemas of the plain view (`application/json`, the engine's `plain` module): per
//! type a resource as a flat object of its fields, its documents and write bodies, and the
//! flat error array. Named `{type}.plain.{what}` with the `{what}` of the JSON:API schema
//! they stand beside (`products.plain.collection` beside `products.collection`), so that a
//! route's content names both the same way.

use jsonapi_config::{Direction, ResourceType, Schema};
use serde_json::{Map, Value, json};

use crate::values::{self, reference};

/// The media type of the plain view.
pub(crate) const MEDIA_TYPE: &str = jsonapi_engine::PLAIN_MEDIA_TYPE;

/// The name of the plain error array's schema.
pub(crate) const ERRORS: &str = "errors.plain";

/// The plain counterpart of the JSON:API schema named `{ty}.{what}`.
pub(crate) fn name(ty: &str, what: &str) -> String {
    format!("{ty}.plain.{what}")
}

/// The plain schemas of every type, and the error array.
pub(crate) fn components(schema: &Schema, out: &mut Map<String, Value>) {
    out.insert(
        ERRORS.into(),
        json!({
            "type": "array",
            "description": "Every problem of the request at once (the status is the response's).",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "code": { "type": "string" },
                    "title": { "type": "string" },
                    "detail": { "type": "string" },
                    "source": {
                        "type": "string",
                        "description": "What is at fault: a JSON pointer into the request body, a query parameter or a header.",
                    },
                    "meta": { "type": "object" },
                },
                "required": ["title"],
                "additionalProperties": false,
            },
        }),
    );
    for ty in schema.types() {
        responses(schema, ty, out);
        requests(ty, out);
    }
}

/// The id schema of the relationship's target type.
fn target_id(schema: &Schema, target: &str) -> Value {
    schema
        .resource_type(target)
        .map_or_else(|| json!({ "type": "string" }), |t| values::id(t.id))
}

fn responses(schema: &Schema, ty: &ResourceType, out: &mut Map<String, Value>) {
    let t = &ty.name;
    let mut properties = Map::new();
    properties.insert("id".into(), values::id(ty.id));
    for a in ty.attributes.values().filter(|a| a.readable()) {
        properties.insert(a.name.clone(), values::attribute(a, false));
    }
    for r in ty.relationships.values() {
        // The id, or with `include` the related resource itself.
        let related = json!({
            "anyOf": [target_id(schema, &r.target), reference(&name(&r.target, "resource"))],
        });
        let mut value = if r.many {
            json!({ "type": "array", "items": related })
        } else {
            values::or_null(related)
        };
        if let Some(d) = &r.description {
            value["description"] = d.clone().into();
        }
        properties.insert(r.name.clone(), value);
    }
    properties.insert(
        "meta".into(),
        json!({
            "type": "object",
            "properties": { "title": { "type": "string", "description": "With `meta=title`: the resource's title." } },
            "additionalProperties": false,
        }),
    );
    let mut resource = json!({
        "type": "object",
        "properties": properties,
        "required": ["id"],
        "additionalProperties": false,
    });
    if let Some(d) = &ty.description {
        resource["description"] = d.clone().into();
    }
    out.insert(name(t, "resource"), resource);
    let one = reference(&name(t, "resource"));
    out.insert(name(t, "document"), one.clone());
    out.insert(name(t, "document.nullable"), values::or_null(one.clone()));
    out.insert(
        name(t, "collection"),
        json!({ "type": "array", "items": one }),
    );
    let id = values::id(ty.id);
    out.insert(name(t, "linkage"), values::or_null(id.clone()));
    out.insert(
        name(t, "linkage.many"),
        json!({ "type": "array", "items": id }),
    );
}

fn requests(ty: &ResourceType, out: &mut Map<String, Value>) {
    let t = &ty.name;
    for creating in [true, false] {
        let mut properties = Map::new();
        // On update the URL names the resource; an id in the body must be the same.
        if !creating || ty.id == jsonapi_config::IdStrategy::Client {
            properties.insert("id".into(), values::id(ty.id));
        }
        let mut required = Vec::new();
        for a in ty
            .attributes
            .values()
            .filter(|a| a.direction != Direction::OutputOnly)
        {
            properties.insert(a.name.clone(), values::attribute(a, true));
            if creating && a.required && a.writable() {
                required.push(a.name.clone());
            }
        }
        for r in ty.relationships.values() {
            properties.insert(r.name.clone(), linkage_request(r.many, !r.required));
            if creating && r.required {
                required.push(r.name.clone());
            }
        }
        let mut body = json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        });
        if !required.is_empty() {
            body["required"] = json!(required);
        }
        out.insert(name(t, if creating { "create" } else { "update" }), body);
    }
}

/// Linkage in a plain write: an id, `null` (a to-one that may be cleared), or an array of ids.
pub(crate) fn linkage_request(many: bool, nullable: bool) -> Value {
    let id = json!({ "type": "string", "minLength": 1 });
    match (many, nullable) {
        (true, _) => json!({ "type": "array", "items": id }),
        (false, true) => values::or_null(id),
        (false, false) => id,
    }
}
