//! The batch API in the document: `PATCH {prefix}/{type}` on every type that enables
//! update_list, its request document (an array of resource objects) and its answers.

use jsonapi_config::{Operation, ResourceType, Schema};
use jsonapi_engine::Accepts;
use serde_json::{Map, Value, json};

use crate::schemas::request_document;
use crate::values::reference;
use crate::{MEDIA_TYPE, params};

/// Adds `patch` to the list path of every type that enables update_list, and the batch
/// request documents to the schemas.
pub(crate) fn add(
    schema: &Schema,
    paths: &mut Map<String, Value>,
    components: &mut Map<String, Value>,
) {
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
}

fn operation(schema: &Schema, ty: &ResourceType) -> Value {
    let t = &ty.name;
    // The synchronous answer is shaped as a create's.
    let mut parameters = params::for_route(schema, ty, Accepts::of(Operation::Create, false));
    parameters.push(json!({
        "name": "X-Mode",
        "in": "header",
        "description": "`sync`: write now, all or nothing; `async`: the default.",
        "schema": { "enum": ["sync", "async"] },
    }));
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "`X-Mode: sync`: every item was written; `data` holds every primary resource in request order (`meta.dataId`: the id the request gave it), `included` the included ones (`meta.includeId`).",
            "content": { MEDIA_TYPE: { "schema": reference(&format!("{t}.collection")) } },
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
        "operationId": format!("update_list-{t}"),
        "tags": [t],
        "summary": format!("Create or update many {t} resources (batch)"),
        "description": "The batch API: `data` is an array of resource objects of this type (no meta: create; `meta.update: true`: update the resource with this `id`; `meta.upsert`: update or create), `included` more resources linked to them. With `X-Mode: sync` the items are written in request order, all or nothing (at most 100 in `data` and 50 in `included`). A request that cannot be read, whose items are of another type, or that asks for what the caller may not do is refused before anything is written.",
        "parameters": parameters,
        "requestBody": {
            "required": true,
            "content": { MEDIA_TYPE: { "schema": reference(&format!("{t}.batch.document")) } },
        },
        "responses": responses,
    })
}
