//! The atomic extension's endpoint (`POST {prefix}/operations`), when the configuration enables
//! it: its request document and its answers.

use jsonapi_config::Schema;
use serde_json::{Map, Value, json};

use crate::MEDIA_TYPE;
use crate::headers::allow_header;
use crate::values::reference;

/// The atomic extension's endpoint, when the configuration enables it: `POST
/// {prefix}/operations` (and `OPTIONS`).
pub(crate) fn path(schema: &Schema) -> Option<(String, Value)> {
    if !schema.api.operations {
        return None;
    }
    let ext = "https://jsonapi.org/ext/atomic";
    let with_ext = format!("{MEDIA_TYPE}; ext=\"{ext}\"");
    let request = atomic_request();
    let responses = atomic_responses(schema);
    let item = json!({
        "post": {
            "operationId": "operations",
            "tags": ["operations"],
            "summary": "Run atomic operations",
            "description": format!("The JSON:API atomic extension (`{ext}`): `add`, `update` and `remove` of resources of any type, and of relationships (`ref.relationship`), applied in order and all together or not at all (one store transaction; at most 100 operations). A `lid` given by an `add` names its resource in later operations. Errors point at `/atomic:operations/N/...`; each operation needs the permissions its action would. The body is sent as `Content-Type: {with_ext}`."),
            "requestBody": {
                "required": true,
                "content": { with_ext: { "schema": request } },
            },
            "responses": responses,
        },
        "options": {
            "operationId": "options-operations",
            "tags": ["operations"],
            "summary": "The methods this URL allows",
            "security": [],
            "responses": {
                "200": { "description": "The allowed methods.", "headers": allow_header(true) },
            },
        },
    });
    Some((format!("{}/operations", schema.api.prefix), item))
}

/// The atomic request document.
fn atomic_request() -> Value {
    let operation = json!({
        "type": "object",
        "required": ["op"],
        "properties": {
            "op": { "enum": ["add", "update", "remove"] },
            "ref": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": { "type": "string" },
                    "id": { "type": "string" },
                    "lid": { "type": "string" },
                    "relationship": { "type": "string" },
                },
                "additionalProperties": false,
            },
            "data": {},
            "meta": { "type": "object" },
        },
        "additionalProperties": false,
    });
    json!({
        "type": "object",
        "required": ["atomic:operations"],
        "properties": {
            "atomic:operations": { "type": "array", "minItems": 1, "items": operation },
            "jsonapi": { "type": "object" },
            "meta": { "type": "object" },
        },
        "additionalProperties": false,
    })
}

/// What the atomic endpoint answers: its results, or an error document.
fn atomic_responses(schema: &Schema) -> Map<String, Value> {
    let results = json!({
        "type": "object",
        "required": ["atomic:results"],
        "properties": {
            "atomic:results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": { "data": reference("resource") },
                },
            },
        },
    });
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "Every operation applied, in one transaction; `atomic:results` holds one result per operation, in order (the resource an `add` or `update` left, `{}` for the others).",
            "content": { MEDIA_TYPE: { "schema": results } },
        }),
    );
    responses.insert(
        "204".into(),
        json!({ "description": "Every operation applied; none has a resource to show." }),
    );
    let mut errors = vec![400, 404, 405, 406, 409, 413, 415, 503];
    if schema.api.auth.enabled {
        errors.extend([401, 403]);
    }
    errors.sort_unstable();
    for code in errors {
        responses.insert(
            code.to_string(),
            json!({ "$ref": format!("#/components/responses/{code}") }),
        );
    }
    responses
}
