//! The API's own documentation, built from its checked configuration alone (no store, no
//! engine state): an OpenAPI 3.1 document, and the sandbox page that lets a person try every
//! route from a browser.
//!
//! # Layout
//! - [`document`]: the OpenAPI document of a [`Schema`].
//! - `operations`: paths and operations, one per route each type enables (the engine's
//!   `ROUTES` and `allowed_methods`): what each says of itself (`describe`), its request body
//!   (`body`) and its answers (`responses`); `error_responses`: the error statuses all
//!   operations refer to; `headers`: the response headers they name; `params`: query and header
//!   parameters (the engine's `Accepts` table); `schemas`: JSON Schemas of the documents;
//!   `values`: attribute values by data type; `plain`: the schemas of the plain view
//!   (`application/json`), listed beside JSON:API's on every route; `token`: the OAuth 2.0
//!   scheme and routes, `authorize`: the authorization endpoint's pages and redirects among
//!   them.
//! - `atomic`: the atomic extension's endpoint (`POST {prefix}/operations`), when enabled;
//!   `batch`: the batch API (`PATCH {prefix}/{type}`) of the types that enable it.
//! - `sandbox`: the page and its assets (Swagger UI, fetched and checked by `build.rs`), embedded.
//! - [`Docs`]: answers `GET {prefix}/doc` and `GET {prefix}/doc/{file}` (`openapi.json` and
//!   the page's assets); the HTTP edges ask it before the engine.

mod atomic;
mod authorize;
mod batch;
mod error_responses;
mod headers;
mod operations;
mod params;
mod plain;
mod sandbox;
mod schemas;
mod serve;
mod subresources;
mod token;
mod values;

use jsonapi_config::Schema;
use serde_json::{Map, Value, json};

pub use serve::Docs;

/// The JSON:API media type.
const MEDIA_TYPE: &str = jsonapi_engine::MEDIA_TYPE;

/// The name of the OAuth 2.0 security scheme.
pub const SECURITY_SCHEME: &str = "oauth2";

/// The file name of the OpenAPI document below `{prefix}/doc/`.
pub const OPENAPI_FILE: &str = "openapi.json";

/// The OpenAPI 3.1 document of the API `schema` describes, served at `base_url` (scheme and
/// host, plus a stage if any; no trailing slash): its paths carry the API prefix.
pub fn document(schema: &Schema, base_url: &str) -> Value {
    let auth = schema.api.auth.enabled;
    let mut paths = operations::paths(schema);
    paths.extend(subresources::paths(schema));
    let mut components = schemas::components(schema);
    plain::components(schema, &mut components);
    let mut tags: Vec<Value> = schema
        .types()
        .map(|ty| {
            let mut tag = json!({ "name": ty.name, "description": type_notes(ty).join(" ") });
            if tag["description"] == "" {
                tag.as_object_mut().map(|t| t.remove("description"));
            }
            tag
        })
        .collect();
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "JSON:API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "Every route speaks JSON:API 1.1 (`{MEDIA_TYPE}`), chosen by naming it in `Accept` or `Content-Type`; a request that names it in neither gets the plain view (`{}`): a resource as an object of its fields with `id` and its relationships as ids (arrays for to-many), a list as an array, with the same parameters and headers, and writes take the same flat object. Errors are JSON:API error documents (in the plain view, an array of `{{title, detail, source}}` with `source` a string) whose `title` names the kind of problem and whose `source` points at the member, parameter or header at fault; a request's problems are reported together. Pages hold {} resources unless `page[size]` says otherwise. Every `GET` route also answers `HEAD`: the same status and headers, without the body.",
                plain::MEDIA_TYPE,
                schema.api.page_size
            ),
        },
        "servers": [{ "url": base_url }],
    });
    if batch::add(schema, &mut paths, &mut components) {
        tags.push(json!({ "name": "asyncoperations", "description": "The batch API's asynchronous operations." }));
    }
    if let Some((path, item)) = atomic::path(schema) {
        paths.insert(path, item);
        tags.push(json!({ "name": "operations", "description": "Changes to several resources at once, all or nothing (the JSON:API atomic extension)." }));
    }
    if auth {
        paths.extend(token::paths(schema, &mut components));
        if schema.api.auth.users.is_some() {
            paths.extend(authorize::paths());
        }
        tags.push(json!({ "name": "authentication", "description": "OAuth 2.0 tokens and the keys that check them." }));
        doc["security"] = json!([{ SECURITY_SCHEME: [] }]);
    }
    doc["tags"] = Value::Array(tags);
    doc["paths"] = Value::Object(paths);
    let mut all = Map::new();
    all.insert("schemas".into(), Value::Object(components));
    all.insert(
        "parameters".into(),
        Value::Object(params::components(schema)),
    );
    all.insert(
        "responses".into(),
        Value::Object(error_responses::components(auth)),
    );
    if auth {
        all.insert(
            "securitySchemes".into(),
            Value::Object(token::security_schemes(schema, base_url)),
        );
    }
    doc["components"] = Value::Object(all);
    doc
}

/// What the documentation says of a type: its description, and how its ids, titles and write
/// options work.
fn type_notes(ty: &jsonapi_config::ResourceType) -> Vec<String> {
    let mut notes: Vec<String> = ty.description.iter().cloned().collect();
    notes.push(match ty.id {
        jsonapi_config::IdStrategy::Sequence => "Ids are 1, 2, 3… given by the server.".to_owned(),
        jsonapi_config::IdStrategy::Ulid => "Ids are ULIDs given by the server.".to_owned(),
        jsonapi_config::IdStrategy::Client => "Ids are chosen by the client.".to_owned(),
    });
    if ty.validation {
        notes.push("Writes accept `meta.validate` (a dry run).".to_owned());
    }
    if !ty.upsert.is_empty() {
        notes.push(format!(
            "Writes accept `meta.upsert` (by {}).",
            ty.upsert.join(", ")
        ));
    }
    notes
}
