//! The JSON Schemas of the documents the API reads and writes, as named components: per type
//! its resource objects, identifiers and documents (responses and requests), and the shared
//! ones (the `jsonapi` member, links, the error document).
//!
//! Names are `{type}.{what}`: `products.resource`, `products.create.document`, … Response
//! schemas describe what the engine renders (every member it may write, nothing else);
//! request schemas what it accepts (`additionalProperties: false` where it refuses unknown
//! members).

use jsonapi_config::{IdStrategy, Operation, ResourceType, Schema};
use serde_json::{Map, Value, json};

use crate::values::{self, reference};

/// The name of the error document's schema.
pub(crate) const ERRORS: &str = "errors";

/// Every schema the document refers to.
pub(crate) fn components(schema: &Schema) -> Map<String, Value> {
    let mut out = Map::new();
    shared(schema, &mut out);
    for ty in schema.types() {
        response_schemas(ty, &mut out);
        request_schemas(schema, ty, &mut out);
    }
    out
}

fn shared(schema: &Schema, out: &mut Map<String, Value>) {
    out.insert(
        "jsonapi".into(),
        json!({
            "type": "object",
            "description": "The JSON:API version the server implements.",
            "properties": { "version": { "const": "1.1" } },
            "required": ["version"],
            "additionalProperties": false,
        }),
    );
    out.insert(
        "links".into(),
        json!({
            "type": "object",
            "description": "Links of a document: `self`, the paging links `first`, `prev` and `next` where they lead somewhere (there is no `last`), and `related` on relationship documents.",
            "properties": {
                "self": { "type": "string" },
                "related": { "type": "string" },
                "first": { "type": "string" },
                "prev": { "type": "string" },
                "next": { "type": "string" },
            },
            "additionalProperties": false,
        }),
    );
    out.insert(
        "error".into(),
        json!({
            "type": "object",
            "properties": {
                "status": { "type": "string", "pattern": "^[45][0-9]{2}$" },
                "title": {
                    "type": "string",
                    "description": "A stable category: validation problems end in \"constraint\" (`not blank constraint`), others in \"exception\" (`not found http exception`).",
                },
                "detail": { "type": "string", "description": "What happened and what to change." },
                "source": {
                    "type": "object",
                    "description": "What in the request is at fault: a JSON pointer into the request document, a query parameter or a header.",
                    "properties": {
                        "pointer": { "type": "string" },
                        "parameter": { "type": "string" },
                        "header": { "type": "string" },
                    },
                    "minProperties": 1,
                    "maxProperties": 1,
                    "additionalProperties": false,
                },
                "meta": {
                    "type": "object",
                    "description": "More for the client to act on (a payment's `data.purchaseRedirectUrl`).",
                },
            },
            "required": ["status", "title"],
            "additionalProperties": false,
        }),
    );
    out.insert(
        ERRORS.into(),
        json!({
            "type": "object",
            "description": "Every problem of the request at once. The status of the response is the highest class's: one distinct code as is, a mix of 4xx containing 409 is 409, another mix the class's base code.",
            "properties": {
                "jsonapi": reference("jsonapi"),
                "errors": { "type": "array", "items": reference("error"), "minItems": 1 },
            },
            "required": ["jsonapi", "errors"],
            "additionalProperties": false,
        }),
    );
    let every: Vec<Value> = schema
        .types()
        .map(|t| reference(&format!("{}.resource", t.name)))
        .collect();
    out.insert(
        "resource".into(),
        json!({ "description": "A resource object of any type.", "oneOf": every }),
    );
}

/// `{"type": "object", properties, additionalProperties: false}` with `required` when any.
fn object(properties: Map<String, Value>, required: &[String]) -> Value {
    let mut o = json!({ "type": "object", "additionalProperties": false });
    o["properties"] = Value::Object(properties);
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

fn response_schemas(ty: &ResourceType, out: &mut Map<String, Value>) {
    let t = &ty.name;
    out.insert(
        format!("{t}.identifier"),
        json!({
            "type": "object",
            "properties": { "type": { "const": t }, "id": values::id(ty.id) },
            "required": ["type", "id"],
            "additionalProperties": false,
        }),
    );
    let attributes = ty
        .attributes
        .values()
        .filter(|a| a.readable())
        .map(|a| (a.name.clone(), values::attribute(a, false)))
        .collect();
    out.insert(format!("{t}.attributes"), object(attributes, &[]));
    out.insert(format!("{t}.relationships"), object(relationships(ty), &[]));
    out.insert(format!("{t}.resource"), resource(ty));
    documents(t, out);
}

/// Each relationship object of a type, by relationship name.
fn relationships(ty: &ResourceType) -> Map<String, Value> {
    ty.relationships
        .values()
        .map(|r| {
            let identifier = reference(&format!("{}.identifier", r.target));
            let data = if r.many {
                json!({ "type": "array", "items": identifier })
            } else {
                values::or_null(identifier)
            };
            let mut o = object(
                Map::from_iter([
                    ("links".to_owned(), reference("links")),
                    ("data".to_owned(), data),
                ]),
                &[],
            );
            if let Some(d) = &r.description {
                o["description"] = d.clone().into();
            }
            (r.name.clone(), o)
        })
        .collect()
}

/// A type's resource object.
fn resource(ty: &ResourceType) -> Value {
    let t = &ty.name;
    let mut resource = object(
        Map::from_iter([
            ("type".to_owned(), json!({ "const": t })),
            ("id".to_owned(), values::id(ty.id)),
            ("links".to_owned(), reference("links")),
            (
                "attributes".to_owned(),
                reference(&format!("{t}.attributes")),
            ),
            (
                "relationships".to_owned(),
                reference(&format!("{t}.relationships")),
            ),
            (
                "meta".to_owned(),
                object(
                    Map::from_iter([
                        (
                            "title".to_owned(),
                            json!({ "type": "string", "description": "With `meta=title`: the resource's title." }),
                        ),
                        (
                            "includeId".to_owned(),
                            json!({ "type": "string", "description": "In the response to a compound write: the `id` or `lid` the request gave this resource." }),
                        ),
                        (
                            "dataId".to_owned(),
                            json!({ "type": "string", "description": "In the response to a synchronous batch: the `id` the request gave this primary resource." }),
                        ),
                    ]),
                    &[],
                ),
            ),
        ]),
        &["type".to_owned(), "id".to_owned()],
    );
    if let Some(d) = &ty.description {
        resource["description"] = d.clone().into();
    }
    resource
}

/// The documents of a type: one resource (or null), a collection, and their linkage.
fn documents(t: &str, out: &mut Map<String, Value>) {
    let resource = reference(&format!("{t}.resource"));
    let included = json!({ "type": "array", "items": reference("resource") });
    let document = |data: Value| {
        object(
            Map::from_iter([
                ("jsonapi".to_owned(), reference("jsonapi")),
                ("links".to_owned(), reference("links")),
                ("data".to_owned(), data),
                ("included".to_owned(), included.clone()),
            ]),
            &["jsonapi".to_owned(), "data".to_owned()],
        )
    };
    out.insert(format!("{t}.document"), document(resource.clone()));
    out.insert(
        format!("{t}.document.nullable"),
        document(values::or_null(resource.clone())),
    );
    out.insert(
        format!("{t}.collection"),
        document(json!({ "type": "array", "items": resource })),
    );
    let identifier = reference(&format!("{t}.identifier"));
    let linkage = |data: Value| {
        object(
            Map::from_iter([
                ("jsonapi".to_owned(), reference("jsonapi")),
                ("links".to_owned(), reference("links")),
                ("data".to_owned(), data),
            ]),
            &["jsonapi".to_owned(), "data".to_owned()],
        )
    };
    out.insert(
        format!("{t}.linkage"),
        linkage(values::or_null(identifier.clone())),
    );
    out.insert(
        format!("{t}.linkage.many"),
        linkage(json!({ "type": "array", "items": identifier })),
    );
}

/// Top-level members every request document may carry besides `data` (and `included`).
pub(crate) fn request_document(data: Value, included: Option<Value>) -> Value {
    let mut properties = Map::from_iter([
        ("data".to_owned(), data),
        ("jsonapi".to_owned(), json!({ "type": "object" })),
        ("meta".to_owned(), json!({ "type": "object" })),
        ("links".to_owned(), json!({ "type": "object" })),
    ]);
    if let Some(included) = included {
        properties.insert("included".to_owned(), included);
    }
    object(properties, &["data".to_owned()])
}

fn request_schemas(schema: &Schema, ty: &ResourceType, out: &mut Map<String, Value>) {
    let t = &ty.name;
    let reference_object = json!({
        "type": "object",
        "description": "A resource identifier: `id` names a stored resource (or, in a compound write, one the request makes with a temporary id), `lid` one the request makes.",
        "properties": {
            "type": { "const": t },
            "id": { "type": "string", "minLength": 1 },
            "lid": { "type": "string", "minLength": 1 },
            "meta": { "type": "object" },
        },
        "required": ["type"],
        "anyOf": [{ "required": ["id"] }, { "required": ["lid"] }],
        "additionalProperties": false,
    });
    out.insert(format!("{t}.ref"), reference_object);
    member_schemas(schema, ty, out);
    resource_object_schemas(ty, out);
    request_documents(schema, t, out);
}

/// `{type}.attributes.create|update` and `{type}.relationships.create|update`: the members a
/// write may send.
fn member_schemas(schema: &Schema, ty: &ResourceType, out: &mut Map<String, Value>) {
    let t = &ty.name;
    for creating in [true, false] {
        let which = if creating { "create" } else { "update" };
        let attributes: Map<String, Value> = ty
            .attributes
            .values()
            .filter(|a| a.direction != jsonapi_config::Direction::OutputOnly)
            .map(|a| (a.name.clone(), values::attribute(a, true)))
            .collect();
        let required: Vec<String> = if creating {
            ty.attributes
                .values()
                .filter(|a| a.required && a.writable())
                .map(|a| a.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        out.insert(
            format!("{t}.attributes.{which}"),
            object(attributes, &required),
        );
        let relationships: Map<String, Value> = ty
            .relationships
            .values()
            .map(|r| {
                let target = reference(&format!("{}.ref", r.target));
                let data = if r.many {
                    json!({ "type": "array", "items": target, "maxItems": schema.api.max_related })
                } else if r.required {
                    target
                } else {
                    values::or_null(target)
                };
                let mut o = json!({
                    "type": "object",
                    "properties": { "data": data },
                    "required": ["data"],
                });
                if let Some(d) = &r.description {
                    o["description"] = d.clone().into();
                }
                (r.name.clone(), o)
            })
            .collect();
        let required: Vec<String> = if creating {
            ty.relationships
                .values()
                .filter(|r| r.required)
                .map(|r| r.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        out.insert(
            format!("{t}.relationships.{which}"),
            object(relationships, &required),
        );
    }
}

/// The resource object of a write, with its `attributes` and `relationships` (`creating`: those
/// of a create) and `meta` options.
fn object_for(t: &str, creating: bool, meta: Map<String, Value>) -> Map<String, Value> {
    let which = if creating { "create" } else { "update" };
    let mut properties = Map::from_iter([
        ("type".to_owned(), json!({ "const": t })),
        (
            "attributes".to_owned(),
            reference(&format!("{t}.attributes.{which}")),
        ),
        (
            "relationships".to_owned(),
            reference(&format!("{t}.relationships.{which}")),
        ),
        ("links".to_owned(), json!({ "type": "object" })),
    ]);
    if !meta.is_empty() {
        properties.insert("meta".to_owned(), object(meta, &[]));
    }
    properties
}

/// `meta.validate`.
fn validate_meta() -> (String, Value) {
    (
        "validate".to_owned(),
        json!({ "type": "boolean", "description": "true: check everything and answer as if written, but write nothing." }),
    )
}

/// `meta.upsert`: `true`, or (`fields`) a list of the unique fields it may find by.
fn upsert_meta(upsert_fields: &[&String], fields: bool) -> (String, Value) {
    let mut options = vec![json!({ "type": "boolean" })];
    if fields && !upsert_fields.is_empty() {
        options.push(json!({
            "type": "array",
            "items": { "enum": upsert_fields },
            "minItems": 1,
            "uniqueItems": true,
        }));
    }
    (
        "upsert".to_owned(),
        json!({
            "description": "Update the resource if it exists, create it otherwise: true finds it by id, a list of unique fields by their values.",
            "anyOf": options,
        }),
    )
}

/// `{type}.create`, `{type}.update` and `{type}.included`: the resource objects of a POST, a
/// PATCH, and of a resource in `included`.
fn resource_object_schemas(ty: &ResourceType, out: &mut Map<String, Value>) {
    let t = &ty.name;
    let upsert_fields: Vec<&String> = ty.upsert.iter().filter(|f| *f != "id").collect();
    let by_id = ty.id == IdStrategy::Client;
    let upsert = |fields: bool| upsert_meta(&upsert_fields, fields);
    // The primary resource of POST.
    let mut meta = Map::new();
    if ty.validation {
        meta.extend([validate_meta()]);
    }
    if by_id || !upsert_fields.is_empty() {
        meta.extend([upsert(true)]);
    }
    let mut create = object_for(t, true, meta);
    let mut required = vec!["type".to_owned()];
    if by_id {
        create.insert("id".to_owned(), values::id(ty.id));
    }
    create.insert(
        "lid".to_owned(),
        json!({ "type": "string", "minLength": 1, "description": "Names the new resource within the request." }),
    );
    if ty.attributes.values().any(|a| a.required && a.writable()) {
        required.push("attributes".to_owned());
    }
    if ty.relationships.values().any(|r| r.required) {
        required.push("relationships".to_owned());
    }
    out.insert(format!("{t}.create"), object(create, &required));
    // The primary resource of PATCH.
    let mut meta = Map::new();
    if ty.validation {
        meta.extend([validate_meta()]);
    }
    if by_id {
        meta.extend([upsert(false)]);
    }
    let mut update = object_for(t, false, meta);
    update.insert("id".to_owned(), values::id(ty.id));
    out.insert(
        format!("{t}.update"),
        object(update, &["type".to_owned(), "id".to_owned()]),
    );
    // A resource in `included`: created, or updated with meta.update / meta.upsert.
    let mut meta = Map::from_iter([(
        "update".to_owned(),
        json!({ "type": "boolean", "description": "true: the resource exists and is updated." }),
    )]);
    if by_id || !upsert_fields.is_empty() {
        meta.extend([upsert(true)]);
    }
    let mut included = object_for(t, false, meta);
    included.insert(
        "id".to_owned(),
        json!({ "type": "string", "minLength": 1, "description": "A stored resource's id (meta.update, meta.upsert), or a temporary id the request's linkage names." }),
    );
    included.insert(
        "lid".to_owned(),
        json!({ "type": "string", "minLength": 1 }),
    );
    let mut included = object(included, &["type".to_owned()]);
    included["anyOf"] = json!([{ "required": ["id"] }, { "required": ["lid"] }]);
    out.insert(format!("{t}.included"), included);
}

/// `{type}.create.document` and `{type}.update.document`: the request documents, with the
/// resources of every writable type they may include.
fn request_documents(schema: &Schema, t: &str, out: &mut Map<String, Value>) {
    let includable: Vec<Value> = schema
        .types()
        .filter(|o| o.actions.allows(Operation::Create) || o.actions.allows(Operation::Update))
        .map(|o| reference(&format!("{}.included", o.name)))
        .collect();
    let included = json!({
        "type": "array",
        "description": "More resources written in the same transaction: created, or updated with meta.update (or meta.upsert); linkage between them uses `id` or `lid`.",
        "items": { "oneOf": includable },
    });
    out.insert(
        format!("{t}.create.document"),
        request_document(reference(&format!("{t}.create")), Some(included.clone())),
    );
    out.insert(
        format!("{t}.update.document"),
        request_document(reference(&format!("{t}.update")), Some(included)),
    );
}

/// The body of a relationship endpoint: linkage to stored resources of `target` (`many`: a
/// list; `nullable`: a to-one that may be cleared).
pub(crate) fn linkage_request(target: &str, many: bool, nullable: bool) -> Value {
    let identifier = reference(&format!("{target}.identifier"));
    let data = match (many, nullable) {
        (true, _) => json!({ "type": "array", "items": identifier }),
        (false, true) => values::or_null(identifier),
        (false, false) => identifier,
    };
    request_document(data, None)
}
