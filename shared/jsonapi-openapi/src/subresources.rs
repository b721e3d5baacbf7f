//! The paths of the sub-resources the configuration declares (`types.{type}.subresources`)
//! and an extension serves: `GET` (computed) or `POST` (an action) on `/{type}/{id}/{name}`,
//! with `OPTIONS`. Their answers are a document of `meta` only, or resources of the declared
//! `returns` type.

use jsonapi_config::{Operation, ResourceType, Schema, Subresource, SubresourceMethod};
use serde_json::{Map, Value, json};

use crate::headers::allow_header;
use crate::params;
use crate::values::reference;
use crate::{MEDIA_TYPE, plain};

/// Every declared sub-resource's path and its operations.
pub(crate) fn paths(schema: &Schema) -> Map<String, Value> {
    let mut out = Map::new();
    for ty in schema.types() {
        for sub in ty.subresources.values() {
            let path = format!("{}/{}/{{id}}/{}", schema.api.prefix, ty.name, sub.name);
            out.insert(path, path_item(schema, ty, sub));
        }
    }
    out
}

fn path_item(schema: &Schema, ty: &ResourceType, sub: &Subresource) -> Value {
    let slug = format!("{}-{}", ty.name, sub.name);
    let (method, allow) = match sub.method {
        SubresourceMethod::Get => ("get", "OPTIONS, GET, HEAD"),
        SubresourceMethod::Post => ("post", "OPTIONS, POST"),
    };
    let operation = sub.operation();
    let mut op = json!({
        "operationId": format!("{}-{slug}", operation.slug()),
        "tags": [ty.name],
        "summary": sub.description.clone().unwrap_or_else(|| format!("{} of a {} resource", sub.name, ty.name)),
        "description": describe(sub),
        "responses": responses(schema, sub),
        "parameters": params::storefront(schema, ty, None, true),
    });
    if sub.method == SubresourceMethod::Post {
        op["requestBody"] = json!({
            "required": false,
            "content": {
                MEDIA_TYPE: { "schema": request_schema() },
                plain::MEDIA_TYPE: { "schema": request_schema() },
            },
        });
    }
    json!({
        "parameters": [params::path_id(ty)],
        method: op,
        "options": {
            "operationId": format!("{}-{slug}", Operation::Options.slug()),
            "tags": [ty.name],
            "summary": "The methods this URL allows",
            "description": format!("Answers `Allow: {allow}` for any id; needs no token."),
            "security": [],
            "responses": {
                "200": { "description": "The allowed methods.", "headers": allow_header(true) },
            },
        },
    })
}

fn describe(sub: &Subresource) -> String {
    let what = match (sub.method, &sub.returns) {
        (SubresourceMethod::Get, None) => {
            "Computed from the resource; answers a document with `meta` only.".to_owned()
        }
        (SubresourceMethod::Get, Some(t)) => {
            format!("Computed from the resource; answers `{t}` resources.")
        }
        (SubresourceMethod::Post, None) => {
            "An action on the resource; answers a document with `meta` only.".to_owned()
        }
        (SubresourceMethod::Post, Some(t)) => format!(
            "An action on the resource, written in one transaction; answers the `{t}` resource it creates (201, with `Location`)."
        ),
    };
    format!("{what} Takes no query parameters; a request document may carry `meta` only.")
}

/// `{ "meta": {...} }`: what an action reads from its request document.
fn request_schema() -> Value {
    json!({
        "type": "object",
        "properties": { "meta": { "type": "object" } },
        "additionalProperties": false,
    })
}

fn responses(schema: &Schema, sub: &Subresource) -> Value {
    let meta_document = json!({
        MEDIA_TYPE: { "schema": {
            "type": "object",
            "properties": { "jsonapi": reference("jsonapi"), "meta": { "type": "object" } },
            "required": ["meta"],
            "additionalProperties": false,
        } },
        plain::MEDIA_TYPE: { "schema": { "type": "object" } },
    });
    let document = |ty: &str, what: &str| {
        json!({
            MEDIA_TYPE: { "schema": reference(&format!("{ty}.{what}")) },
            plain::MEDIA_TYPE: { "schema": reference(&plain::name(ty, what)) },
        })
    };
    let mut out = Map::new();
    match (&sub.returns, sub.method) {
        (None, _) => {
            out.insert(
                "200".into(),
                json!({ "description": "The answer, in `meta`.", "content": meta_document }),
            );
        }
        (Some(t), SubresourceMethod::Get) => {
            let what = if sub.many {
                "collection"
            } else {
                "document.nullable"
            };
            out.insert(
                "200".into(),
                json!({ "description": "The resources.", "content": document(t, what) }),
            );
        }
        (Some(t), SubresourceMethod::Post) => {
            out.insert(
                "201".into(),
                json!({
                    "description": "The resource the action created.",
                    "content": document(t, "document"),
                    "headers": { "Location": {
                        "description": "The new resource's URL.",
                        "schema": { "type": "string" },
                    } },
                }),
            );
        }
    }
    let mut errors = vec![400, 404, 406, 413, 415, 503];
    if schema.api.auth.enabled {
        errors.extend([401, 403]);
    }
    if sub.method == SubresourceMethod::Post {
        errors.push(409);
    }
    errors.sort_unstable();
    for code in errors {
        out.insert(
            code.to_string(),
            json!({ "$ref": format!("#/components/responses/{code}") }),
        );
    }
    Value::Object(out)
}
