//! The batch API in the document: `PATCH {prefix}/{type}` on every type that enables
//! update_list, its request document (an array of resource objects) and its answers, and the
//! asynchronous operations' routes (`{prefix}/asyncoperations/{id}` and its `errors`).

use jsonapi_config::{Operation, ResourceType, Schema};
use jsonapi_engine::Accepts;
use serde_json::{Map, Value, json};

use crate::schemas::request_document;
use crate::values::reference;
use crate::{MEDIA_TYPE, params, plain};

/// Adds `patch` to the list path of every type that enables update_list, the batch request
/// documents to the schemas, and the operations' routes; whether any type enables it.
pub(crate) fn add(
    schema: &Schema,
    paths: &mut Map<String, Value>,
    components: &mut Map<String, Value>,
) -> bool {
    for ty in schema
        .types()
        .filter(|t| t.actions.allows(Operation::UpdateList))
    {
        let t = &ty.name;
        let item = json!({ "anyOf": [reference(&format!("{t}.create")), reference(&format!("{t}.included"))] });
        let included = components
            .get(&format!("{t}.create.document"))
            .and_then(|d| d["properties"].get("included").cloned());
        components.insert(
            format!("{t}.batch.document"),
            request_document(
                json!({ "type": "array", "minItems": 1, "items": item }),
                included,
            ),
        );
        let path = format!("{}/{t}", schema.api.prefix);
        let Some(Value::Object(path_item)) = paths.get_mut(&path) else {
            continue;
        };
        path_item.insert("patch".into(), operation(schema, ty));
    }
    let enabled = schema
        .types()
        .any(|t| t.actions.allows(Operation::UpdateList));
    if enabled {
        operation_paths(schema, paths, components);
    }
    enabled
}

/// The schemas of an operation and of its errors, and their two routes.
fn operation_paths(
    schema: &Schema,
    paths: &mut Map<String, Value>,
    components: &mut Map<String, Value>,
) {
    operation_schemas(components);
    error_schemas(components);
    let prefix = &schema.api.prefix;
    paths.insert(
        format!("{prefix}/asyncoperations/{{id}}"),
        operation_item(schema),
    );
    paths.insert(
        format!("{prefix}/asyncoperations/{{id}}/errors"),
        errors_item(schema),
    );
}

/// An operation's resource, in a JSON:API document and in the plain view.
fn operation_schemas(components: &mut Map<String, Value>) {
    let counters = jsonapi_engine::SUMMARY_COUNTERS;
    let summary: Map<String, Value> = counters
        .iter()
        .map(|c| ((*c).to_owned(), json!({ "type": "integer", "minimum": 0 })))
        .collect();
    let required = [
        "status",
        "progress",
        "createdAt",
        "updatedAt",
        "elapsedTime",
        "entityType",
        "summary",
    ];
    let attributes = json!({
        "status": { "enum": ["new", "running", "success", "failed", "cancelled"] },
        "progress": { "type": ["number", "null"], "minimum": 0, "maximum": 1, "description": "null until the operation starts, then the share of its chunks done." },
        "createdAt": { "type": "string", "format": "date-time" },
        "updatedAt": { "type": "string", "format": "date-time" },
        "elapsedTime": { "type": "integer", "minimum": 0, "description": "Seconds since the operation started." },
        "entityType": { "type": "string" },
        "summary": {
            "description": "Once finished: items read, written (created and updated), errors, and the milliseconds spent applying them.",
            "oneOf": [{ "type": "null" }, { "type": "object", "properties": summary, "required": counters }],
        },
    });
    components.insert(
        "asyncoperations.resource".into(),
        json!({
            "type": "object",
            "required": ["type", "id", "attributes"],
            "properties": {
                "type": { "const": "asyncoperations" },
                "id": { "type": "string" },
                "links": reference("links"),
                "attributes": { "type": "object", "required": required, "properties": attributes },
                "relationships": {
                    "type": "object",
                    "properties": {
                        "owner": {
                            "type": "object",
                            "required": ["data"],
                            "properties": {
                                "data": {
                                    "description": "The user who started the operation; null when an API client's own token started it.",
                                    "oneOf": [
                                        { "type": "null" },
                                        {
                                            "type": "object",
                                            "required": ["type", "id"],
                                            "properties": { "type": { "type": "string" }, "id": { "type": "string" } },
                                        },
                                    ],
                                },
                            },
                        },
                    },
                },
            },
        }),
    );
    // The plain view's answer (`Accept: application/json`): the fields beside the id.
    let mut flat = attributes.as_object().cloned().unwrap_or_default();
    flat.insert("id".into(), json!({ "type": "string" }));
    flat.insert("owner".into(), json!({ "type": ["string", "null"] }));
    components.insert(
        plain::name("asyncoperations", "document"),
        json!({ "type": "object", "required": ["id"], "properties": flat }),
    );
    components.insert(
        "asyncoperations.document".into(),
        json!({
            "type": "object",
            "required": ["jsonapi", "data"],
            "properties": {
                "jsonapi": reference("jsonapi"),
                "data": reference("asyncoperations.resource"),
            },
        }),
    );
}

/// An operation's errors, as a JSON:API collection and in the plain view.
fn error_schemas(components: &mut Map<String, Value>) {
    let error_id = json!({ "type": "string", "description": "`{operation}-{chunk}-{n}`" });
    let error = json!({
        "status": { "type": "integer" },
        "title": { "type": "string" },
        "detail": { "type": ["string", "null"] },
        "source": { "type": "object", "properties": { "pointer": { "type": "string" } } },
    });
    let mut flat = error.as_object().cloned().unwrap_or_default();
    flat.insert("id".into(), error_id.clone());
    components.insert(
        plain::name("asyncoperationerrors", "collection"),
        json!({ "type": "array", "items": { "type": "object", "required": ["id"], "properties": flat } }),
    );
    components.insert(
        "asyncoperationerrors.collection".into(),
        json!({
            "type": "object",
            "required": ["jsonapi", "data"],
            "properties": {
                "jsonapi": reference("jsonapi"),
                "links": reference("links"),
                "data": { "type": "array", "items": {
                    "type": "object",
                    "required": ["type", "id", "attributes"],
                    "properties": {
                        "type": { "const": "asyncoperationerrors" },
                        "id": error_id,
                        "attributes": { "type": "object", "properties": error },
                    },
                } },
            },
        }),
    );
}

/// `GET {prefix}/asyncoperations/{id}`.
fn operation_item(schema: &Schema) -> Value {
    let mut ok = error_refs(schema, &[400, 401, 404, 405, 406, 503]);
    ok.insert(
        "200".into(),
        json!({
            "description": "The operation.",
            "content": {
                MEDIA_TYPE: { "schema": reference("asyncoperations.document") },
                plain::MEDIA_TYPE: { "schema": reference(&plain::name("asyncoperations", "document")) },
            },
        }),
    );
    json!({
        "parameters": id_parameter(),
        "get": {
            "operationId": "get-asyncoperations-item",
            "tags": ["asyncoperations"],
            "summary": "An asynchronous batch operation",
            "description": format!("Poll until `status` is `success` or `failed`, then read `summary` and, when `errorCount` > 0, the errors. Only the caller that started the operation and admins see it (404 for anyone else); operations are deleted {} after they were started.", lifetime(schema)),
            "responses": ok,
        },
        "options": options("asyncoperations-item"),
    })
}

/// `GET {prefix}/asyncoperations/{id}/errors`.
fn errors_item(schema: &Schema) -> Value {
    let mut page = error_refs(schema, &[400, 401, 404, 405, 406, 503]);
    page.insert("200".into(), json!({
        "description": "A page of the operation's errors, in the order of the request's items; `source.pointer` points into the request (`/data/57/attributes/price`, `/included/3`).",
        "content": {
            MEDIA_TYPE: { "schema": reference("asyncoperationerrors.collection") },
            plain::MEDIA_TYPE: { "schema": reference(&plain::name("asyncoperationerrors", "collection")) },
        },
    }));
    json!({
        "parameters": id_parameter(),
        "get": {
            "operationId": "get-asyncoperations-errors",
            "tags": ["asyncoperations"],
            "summary": "The errors of an asynchronous batch operation",
            "parameters": [
                { "name": "page[number]", "in": "query", "schema": { "type": "integer", "minimum": 1 } },
                { "name": "page[size]", "in": "query", "schema": { "type": "integer", "minimum": -1 } },
            ],
            "responses": page,
        },
        "options": options("asyncoperations-errors"),
    })
}

fn id_parameter() -> Value {
    json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }])
}

/// How long operations are kept, for the documentation.
fn lifetime(schema: &Schema) -> String {
    let seconds = schema.api.operation_lifetime;
    match seconds {
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3_600 == 0 => format!("{} hours", s / 3_600),
        s => format!("{s} seconds"),
    }
}

/// References to the shared error responses of these status codes (401 and 403 only with auth).
fn error_refs(schema: &Schema, codes: &[u16]) -> Map<String, Value> {
    codes
        .iter()
        .filter(|c| schema.api.auth.enabled || !matches!(c, 401 | 403))
        .map(|c| {
            (
                c.to_string(),
                json!({ "$ref": format!("#/components/responses/{c}") }),
            )
        })
        .collect()
}

/// The `OPTIONS` operation of one of these paths.
fn options(what: &str) -> Value {
    json!({
        "operationId": format!("options-{what}"),
        "tags": ["asyncoperations"],
        "summary": "The methods this URL allows",
        "security": [],
        "responses": { "200": { "description": "The allowed methods (`OPTIONS, GET, HEAD`).", "headers": {
            "Allow": { "required": true, "schema": { "type": "string" } } } } },
    })
}

fn operation(schema: &Schema, ty: &ResourceType) -> Value {
    let t = &ty.name;
    let limits = &ty.batch;
    // The synchronous answer is shaped as a create's.
    let mut parameters = params::for_route(schema, ty, Accepts::of(Operation::Create, false));
    parameters.push(json!({
        "name": "X-Mode",
        "in": "header",
        "description": "`sync`: write now, all or nothing; `async` (or an empty value): the default.",
        "schema": { "enum": ["sync", "async"] },
    }));
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "`X-Mode: sync`: every item was written; `data` holds every primary resource in request order (`meta.dataId`: the id or lid the request gave it), `included` the included ones (`meta.includeId`).",
            "content": { MEDIA_TYPE: { "schema": reference(&format!("{t}.collection")) } },
        }),
    );
    responses.insert(
        "202".into(),
        json!({
            "description": "The default (asynchronous) mode: the batch is stored as an operation, processed in chunks; items with errors are skipped and reported in the operation's errors, the others are saved. Poll `Content-Location`.",
            "headers": { "Content-Location": {
                "description": "The operation's URL.",
                "required": true,
                "schema": { "type": "string" },
            } },
            "content": {
                MEDIA_TYPE: { "schema": reference("asyncoperations.document") },
                plain::MEDIA_TYPE: { "schema": reference(&plain::name("asyncoperations", "document")) },
            },
        }),
    );
    let mut errors = vec![400, 405, 406, 409, 413, 415, 503];
    if schema.api.auth.enabled {
        errors.extend([401, 403]);
    }
    errors.push(404);
    errors.sort_unstable();
    for code in errors {
        responses.insert(
            code.to_string(),
            json!({ "$ref": format!("#/components/responses/{code}") }),
        );
    }
    json!({
        "operationId": format!("{}-{t}", Operation::UpdateList.slug()),
        "tags": [t],
        "summary": format!("Create or update many {t} resources (batch)"),
        "description": format!("The batch API (by default asynchronous: 202 and an operation to poll): `data` is an array of resource objects of this type (no meta: create; `meta.update: true`: update the resource with this `id`; `meta.upsert`: update or create), `included` more resources linked to them. With `X-Mode: sync` the items are written in request order, all or nothing (at most {} in `data` and {} in `included`). A request that cannot be read, whose items are of another type, or that asks for what the caller may not do is refused before anything is written.", limits.sync_limit, limits.sync_included_limit),
        "parameters": parameters,
        "requestBody": {
            "required": true,
            "content": { MEDIA_TYPE: { "schema": reference(&format!("{t}.batch.document")) } },
        },
        "responses": responses,
    })
}
