//! The paths and operations: for every type, each route of the engine's [`ROUTES`] whose
//! method the type enables ([`allowed_methods`], what `OPTIONS` answers in `Allow`); their
//! parameters, bodies and every status they answer with. `HEAD`, which every `GET` route
//! answers (the same status and headers, no body), is said once in the document's
//! description rather than listed: Swagger UI 5.35 stops rendering the page at a `head`
//! operation on a path with a parameter.

use http::Method;
use jsonapi_config::{Operation, Relationship, ResourceType, Schema};
use jsonapi_engine::{Accepts, PathKind, ROUTES, allowed_methods};
use serde_json::{Map, Value, json};

use crate::schemas::{self, ERRORS};
use crate::values::reference;
use crate::{MEDIA_TYPE, params, plain, values};

/// How filters reach related resources, for the operations that filter.
const PATHS: &str = "A filter of a related type applies through the relationship with a dotted path, at any depth: `filter[category.name]=Tea`, `filter[category.name][contains]=Te`.";

/// The error statuses the API answers with, and what each means; components `responses/{code}`.
const ERROR_STATUSES: [(u16, &str); 12] = [
    (
        400,
        "The request is invalid: a query parameter, the document or a value. Each error names what is wrong (`source.parameter`, `source.pointer`).",
    ),
    (
        401,
        "No valid access token: get one from the token endpoint and send it as `Authorization: Bearer …`.",
    ),
    (403, "The roles of the token do not allow this."),
    (
        404,
        "No such resource, or a resource the request names does not exist.",
    ),
    (
        405,
        "A resource in `included` is of a type that does not allow that action.",
    ),
    (
        406,
        "JSON:API: the `Accept` header allows no usable JSON:API media type. Plain view: `Accept` admits no JSON, or `Content-Type` is not `application/json`.",
    ),
    (
        409,
        "A conflict: the type or id does not fit the URL, the resource exists already, other resources still need it, or concurrent changes kept the request from applying (retry it).",
    ),
    (
        412,
        "`If-Match` names a version of the resource that is not the current one (or the resource does not exist): read it again and retry the change on the current version.",
    ),
    (413, "The request body is too large."),
    (
        415,
        "The body is not sent as `Content-Type: application/vnd.api+json` (without parameters but `profile`).",
    ),
    (
        428,
        "The type requires `If-Match` on writes of a known resource: send the `ETag` of the resource as last read.",
    ),
    (503, "The data store is busy; retry the request later."),
];

/// The reusable error responses.
pub(crate) fn error_responses(auth: bool) -> Map<String, Value> {
    ERROR_STATUSES
        .iter()
        .filter(|(code, _)| auth || !matches!(code, 401 | 403))
        .map(|(code, description)| {
            let mut response = json!({
                "description": description,
                "content": {
                    MEDIA_TYPE: { "schema": reference(ERRORS) },
                    plain::MEDIA_TYPE: { "schema": reference(plain::ERRORS) },
                },
            });
            if *code == 401 {
                response["headers"] = json!({
                    "WWW-Authenticate": {
                        "description": "`Bearer realm=\"api\"` without a token; `Bearer error=\"invalid_token\", error_description=…` for a token that is refused.",
                        "required": true,
                        "schema": { "type": "string" },
                    },
                });
            }
            if *code == 405 {
                response["headers"] = allow_header(false);
            }
            (code.to_string(), response)
        })
        .collect()
}

pub(crate) fn allow_header(required: bool) -> Value {
    json!({
        "Allow": {
            "description": "The methods this URL allows.",
            "required": required,
            "schema": { "type": "string" },
        },
    })
}

/// Every path of the API's types, with its operations.
pub(crate) fn paths(schema: &Schema) -> Map<String, Value> {
    let mut out = Map::new();
    for ty in schema.types() {
        for kind in PathKind::ALL {
            let relationships: Vec<Option<&Relationship>> = match kind {
                PathKind::List | PathKind::Item => vec![None],
                PathKind::Related | PathKind::Relationship => {
                    ty.relationships.values().map(Some).collect()
                }
            };
            for rel in relationships {
                let route = Route {
                    schema,
                    ty,
                    kind,
                    rel,
                };
                let item = route.path_item();
                if !item.is_empty() {
                    out.insert(route.path(), Value::Object(item));
                }
            }
        }
    }
    out
}

/// One path of one type.
#[derive(Clone, Copy)]
struct Route<'a> {
    schema: &'a Schema,
    ty: &'a ResourceType,
    kind: PathKind,
    rel: Option<&'a Relationship>,
}

impl Route<'_> {
    fn path(&self) -> String {
        let t = &self.ty.name;
        let prefix = &self.schema.api.prefix;
        let rel = self.rel.map(|r| r.name.as_str()).unwrap_or_default();
        match self.kind {
            PathKind::List => format!("{prefix}/{t}"),
            PathKind::Item => format!("{prefix}/{t}/{{id}}"),
            PathKind::Related => format!("{prefix}/{t}/{{id}}/{rel}"),
            PathKind::Relationship => format!("{prefix}/{t}/{{id}}/relationships/{rel}"),
        }
    }

    /// `{type}`, `{type}-item`, `{type}-{rel}`, `{type}-relationships-{rel}`: the tail of
    /// operation ids.
    fn slug(&self) -> String {
        let t = &self.ty.name;
        let rel = self.rel.map(|r| r.name.as_str()).unwrap_or_default();
        match self.kind {
            PathKind::List => t.clone(),
            PathKind::Item => format!("{t}-item"),
            PathKind::Related => format!("{t}-{rel}"),
            PathKind::Relationship => format!("{t}-relationships-{rel}"),
        }
    }

    /// The id of `operation` on this path: `get-list-products`, `get-products-item`, …
    fn operation_id(&self, operation: Operation) -> String {
        format!("{}-{}", operation.slug(), self.slug())
    }

    /// The resources the route's documents hold: the type, or the relationship's target.
    fn target(&self) -> &ResourceType {
        match self.rel {
            Some(rel) => self
                .schema
                .resource_type(&rel.target)
                .expect("relationship targets are checked with the configuration"),
            None => self.ty,
        }
    }

    fn path_item(&self) -> Map<String, Value> {
        let allowed = allowed_methods(self.ty, self.kind, self.rel.map(|r| r.name.as_str()));
        let mut item = Map::new();
        if allowed.len() == 1 {
            // No action of the type is enabled here: the engine answers 404, OPTIONS too.
            return item;
        }
        for (method, kind, operation) in &ROUTES {
            if *kind != self.kind || !allowed.contains(&method.as_str()) {
                continue;
            }
            if *operation == Operation::Options {
                item.insert("options".into(), self.options(&allowed));
                continue;
            }
            item.insert(
                method.as_str().to_ascii_lowercase(),
                self.operation(method, *operation),
            );
        }
        if self.kind != PathKind::List && !item.is_empty() {
            item.insert("parameters".into(), json!([params::path_id(self.ty)]));
        }
        item
    }

    /// Links from a created resource to every operation on it (its id from the response), so
    /// that a client, or a fuzzer's stateful phase, can follow a create with reads and writes.
    fn links_to_created(&self) -> Value {
        let mut links = Map::new();
        for kind in [PathKind::Item, PathKind::Related, PathKind::Relationship] {
            let relationships: Vec<Option<&Relationship>> = match kind {
                PathKind::Item => vec![None],
                _ => self.ty.relationships.values().map(Some).collect(),
            };
            for rel in relationships {
                let route = Route { kind, rel, ..*self };
                let allowed = allowed_methods(self.ty, kind, rel.map(|r| r.name.as_str()));
                for (method, k, operation) in &ROUTES {
                    if *k != kind
                        || *operation == Operation::Options
                        || !allowed.contains(&method.as_str())
                    {
                        continue;
                    }
                    let id = route.operation_id(*operation);
                    links.insert(
                        id.clone(),
                        json!({
                            "operationId": id,
                            "parameters": { "id": "$response.body#/data/id" },
                        }),
                    );
                }
            }
        }
        Value::Object(links)
    }

    fn options(&self, allowed: &[&str]) -> Value {
        let mut op = json!({
            "operationId": self.operation_id(Operation::Options),
            "tags": [self.ty.name],
            "summary": "The methods this URL allows",
            "description": format!("Answers `Allow: {}` (and a CORS preflight, when CORS is on) for any id; needs no token.", allowed.join(", ")),
            "security": [],
            "responses": {
                "200": { "description": "The allowed methods.", "headers": allow_header(true) },
            },
        });
        if self.kind != PathKind::List {
            // The answer is the same for every id, well-formed or not.
            op["parameters"] = json!([{
                "name": "id",
                "in": "path",
                "required": true,
                "schema": { "type": "string" },
            }]);
        }
        op
    }

    fn operation(&self, method: &Method, operation: Operation) -> Value {
        let many = self.rel.is_some_and(|r| r.many);
        let target = self.target();
        let accepts = Accepts::of(operation, many);
        let mut parameters = params::for_route(self.schema, target, accepts);
        parameters.push(params::x_include(match operation {
            Operation::GetList | Operation::GetSubresource | Operation::GetRelationship
                if many || operation == Operation::GetList =>
            {
                &["totalCount", "noHateoas"]
            }
            Operation::DeleteList => &["deletedCount", "totalCount"],
            _ => &["noHateoas"],
        }));
        parameters.extend(params::preconditions(operation));
        // Localized and converted values show in answers with resources, not in linkage.
        let shows_resources = matches!(
            operation,
            Operation::Get
                | Operation::GetList
                | Operation::Create
                | Operation::Update
                | Operation::GetSubresource
        );
        parameters.extend(params::storefront(
            self.schema,
            self.ty,
            shows_resources.then_some(target),
            self.kind != PathKind::List,
        ));
        let (summary, description) = self.describe(operation);
        let mut op = json!({
            "operationId": self.operation_id(operation),
            "tags": [self.ty.name],
            "summary": summary,
            "description": description,
            "parameters": parameters,
            "responses": self.responses(operation),
        });
        if let Some(body) = self.request_body(operation) {
            op["requestBody"] = body;
        }
        // Types open to anyone: reading them needs no token (a subresource's type too).
        let auth = &self.schema.api.auth;
        let open = |name: &String| auth.anonymous.contains(name);
        if *method == Method::GET
            && auth.enabled
            && open(&self.ty.name)
            && (operation != Operation::GetSubresource || open(&target.name))
        {
            op["security"] = json!([{}, { crate::SECURITY_SCHEME: [] }]);
        }
        op
    }

    fn describe(&self, operation: Operation) -> (String, String) {
        let t = &self.ty.name;
        let rel = self.rel.map(|r| r.name.as_str()).unwrap_or_default();
        let target = &self.target().name;
        let (summary, description) = match operation {
            Operation::GetList => (
                format!("List {t}"),
                format!(
                    "A page of `{t}` resources, filtered and sorted by the declared filters and sorters. {PATHS} A query too long for a URL can be sent as `POST` with `X-HTTP-Method-Override: GET` and the parameters as a JSON object in the body."
                ),
            ),
            Operation::Get => (format!("Get one {t} resource"), String::new()),
            Operation::Create => (
                format!("Create a {t} resource"),
                format!(
                    "Creates the resource (201, with `Location`), together with the resources in `included` in one transaction. {}",
                    self.options_text()
                ),
            ),
            Operation::Update => (
                format!("Update a {t} resource"),
                format!(
                    "Changes the members sent; absent members are left as they are. {}",
                    self.options_text()
                ),
            ),
            Operation::Delete => (
                format!("Delete a {t} resource"),
                "Also applies the delete rules of the relationships pointing at it (restrict, nullify, cascade).".to_owned(),
            ),
            Operation::DeleteList => (
                format!("Delete the {t} resources a filter selects"),
                format!(
                    "Deletes at most {} resources per request; at least one filter is needed. {PATHS} The filters may also be sent as a JSON object in the body.",
                    self.schema.api.max_delete
                ),
            ),
            Operation::GetSubresource => (
                format!("Get the {target} resources of {t}.{rel}"),
                self.rel
                    .and_then(|r| r.description.clone())
                    .into_iter()
                    .chain(self.rel.filter(|r| r.many).map(|_| PATHS.to_owned()))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Operation::GetRelationship => (
                format!("Get the linkage of {t}.{rel}"),
                "The identifiers of the related resources.".to_owned(),
            ),
            Operation::UpdateRelationship => (
                format!("Replace the linkage of {t}.{rel}"),
                String::new(),
            ),
            Operation::AddRelationship => (
                format!("Add members to {t}.{rel}"),
                "Members already there are left as they are.".to_owned(),
            ),
            Operation::DeleteRelationship => (
                format!("Remove members from {t}.{rel}"),
                "Members that are not there are ignored.".to_owned(),
            ),
            Operation::Options
            | Operation::AddSubresource
            | Operation::UpdateList
            | Operation::Token
            | Operation::Authorize
            | Operation::Jwks
            | Operation::Operations
            | Operation::Docs => {
                unreachable!("not a route of a type")
            }
        };
        (summary, description)
    }

    /// The meta options a write of the type offers.
    fn options_text(&self) -> String {
        let mut text = Vec::new();
        if self.ty.validation {
            text.push("`meta.validate: true` runs every check and answers as if written, but writes nothing.".to_owned());
        }
        let fields: Vec<&String> = self.ty.upsert.iter().filter(|f| *f != "id").collect();
        if self.ty.upsert.iter().any(|f| f == "id") {
            text.push(
                "`meta.upsert: true` updates the resource with this id, or creates it.".to_owned(),
            );
        }
        if !fields.is_empty() {
            text.push(format!(
                "`meta.upsert: [field]` (on create) updates the resource with the same value of {}, or creates it.",
                fields
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
        text.join(" ")
    }

    fn request_body(&self, operation: Operation) -> Option<Value> {
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

    /// Every answer of the operation on this path: its successes, then the error statuses it
    /// can answer with (references to the shared error responses).
    fn responses(&self, operation: Operation) -> Value {
        let mut responses = Map::new();
        let mut add = |code: u16, description: &str, content: Option<Value>, headers: Value| {
            let mut r = json!({ "description": description });
            if let Some(content) = content {
                r["content"] = content;
            }
            if headers.as_object().is_some_and(|h| !h.is_empty()) {
                r["headers"] = headers;
            }
            responses.insert(code.to_string(), r);
        };
        match operation {
            Operation::GetSubresource | Operation::GetRelationship => {
                self.related_successes(operation, &mut add);
            }
            _ => self.resource_successes(operation, &mut add),
        }
        if operation == Operation::Create {
            responses["201"]["links"] = self.links_to_created();
        }
        for code in self.error_statuses(operation) {
            let r = json!({ "$ref": format!("#/components/responses/{code}") });
            responses.insert(code.to_string(), r);
        }
        Value::Object(responses)
    }

    /// The successes of the operations on a type's own routes.
    fn resource_successes(&self, operation: Operation, add: &mut AddResponse<'_>) {
        let t = &self.ty.name;
        match operation {
            Operation::GetList => add(
                200,
                "A page of resources.",
                Some(document(t, "collection")),
                total_count(),
            ),
            Operation::Get => {
                add(
                    200,
                    "The resource.",
                    Some(document(t, "document")),
                    etag(true),
                );
                add(
                    304,
                    "Not modified: `If-None-Match` names the current version (no body).",
                    None,
                    etag(true),
                );
            }
            Operation::Create => self.create_successes(add),
            Operation::Update => {
                add(
                    200,
                    "The updated resource.",
                    Some(document(t, "document")),
                    etag(false),
                );
                if self.ty.upsert.iter().any(|f| f == "id") {
                    add(
                        201,
                        "meta.upsert created the resource.",
                        Some(document(t, "document")),
                        with_etag(location()),
                    );
                }
            }
            Operation::Delete => add(204, "Deleted.", None, json!({})),
            Operation::UpdateRelationship
            | Operation::AddRelationship
            | Operation::DeleteRelationship => add(
                204,
                "Done; `ETag` names the version of the resource now stored.",
                None,
                etag(true),
            ),
            Operation::DeleteList => {
                let mut headers = total_count();
                headers["X-Include-Deleted-Count"] = json!({
                    "description": "With `X-Include: deletedCount`: how many resources were deleted.",
                    "schema": { "type": "integer", "minimum": 0 },
                });
                add(204, "Deleted.", None, headers);
            }
            Operation::GetSubresource
            | Operation::GetRelationship
            | Operation::Options
            | Operation::AddSubresource
            | Operation::UpdateList
            | Operation::Token
            | Operation::Authorize
            | Operation::Jwks
            | Operation::Operations
            | Operation::Docs => {
                unreachable!("not a route of a type")
            }
        }
    }

    /// The successes of a create: 201, and the 200 of the same route read with
    /// `X-HTTP-Method-Override: GET` (or of an upsert that found its resource).
    fn create_successes(&self, add: &mut AddResponse<'_>) {
        let t = &self.ty.name;
        add(
            201,
            "Created (or, with meta.validate, would be).",
            Some(document(t, "document")),
            with_etag(location()),
        );
        let mut description = "With `X-HTTP-Method-Override: GET`, a page of resources".to_owned();
        let mut whats = vec!["collection"];
        if !self.ty.upsert.is_empty() {
            description.insert_str(
                0,
                "meta.upsert found and updated an existing resource; or, ",
            );
            whats.insert(0, "document");
        }
        description.push('.');
        let any_of = |name: &dyn Fn(&str) -> String| {
            let schemas: Vec<Value> = whats.iter().map(|w| reference(&name(w))).collect();
            json!({ "schema": { "anyOf": schemas } })
        };
        add(
            200,
            &description,
            Some(json!({
                MEDIA_TYPE: any_of(&|w| format!("{t}.{w}")),
                plain::MEDIA_TYPE: any_of(&|w| plain::name(t, w)),
            })),
            with_etag(total_count()),
        );
    }

    /// The successes of the reads of a relationship: the related resources, or their
    /// identifiers.
    fn related_successes(&self, operation: Operation, add: &mut AddResponse<'_>) {
        let target = &self.target().name;
        let many = self.rel.is_some_and(|r| r.many);
        let (description, what, headers) = match (operation, many) {
            (Operation::GetSubresource, true) => (
                "A page of the related resources.",
                "collection",
                total_count(),
            ),
            (Operation::GetSubresource, false) => (
                "The related resource, or null.",
                "document.nullable",
                json!({}),
            ),
            (_, true) => (
                "A page of the related resources' identifiers.",
                "linkage.many",
                total_count(),
            ),
            (_, false) => (
                "The related resource's identifier, or null.",
                "linkage",
                json!({}),
            ),
        };
        add(200, description, Some(document(target, what)), headers);
    }

    /// The error statuses the operation can answer with on this path.
    fn error_statuses(&self, operation: Operation) -> Vec<u16> {
        let writes = !operation.read_only();
        let compound = matches!(operation, Operation::Create | Operation::Update);
        // Any request may carry a body, which must then be JSON:API (415) and not too large.
        let mut errors = vec![400, 406, 413, 415, 503];
        if self.schema.api.auth.enabled {
            errors.extend([401, 403]);
        }
        if self.kind != PathKind::List || compound {
            errors.push(404);
        }
        if compound
            && self.schema.types().any(|t| {
                !t.actions.allows(Operation::Create) || !t.actions.allows(Operation::Update)
            })
        {
            errors.push(405);
        }
        if writes {
            errors.push(409);
        }
        if params::takes_if_match(operation) {
            errors.push(412);
            if self.ty.require_if_match && operation != Operation::Get {
                errors.push(428);
            }
        }
        errors.sort_unstable();
        errors
    }
}

/// Adds one success to an operation's responses: status, description, content, headers.
type AddResponse<'a> = dyn FnMut(u16, &str, Option<Value>, Value) + 'a;

/// The JSON:API document `{ty}.{what}` and its plain counterpart.
fn document(ty: &str, what: &str) -> Value {
    json!({
        MEDIA_TYPE: { "schema": reference(&format!("{ty}.{what}")) },
        plain::MEDIA_TYPE: { "schema": reference(&plain::name(ty, what)) },
    })
}

fn total_count() -> Value {
    json!({
        "X-Include-Total-Count": {
            "description": "With `X-Include: totalCount`: how many resources match, on every page.",
            "schema": { "type": "integer", "minimum": 0 },
        },
    })
}

fn location() -> Value {
    json!({
        "Location": {
            "description": "The new resource's URL (not on a dry run).",
            "schema": { "type": "string" },
        },
    })
}

/// The version of the resource written or read, for `If-Match` / `If-None-Match`.
fn etag(required: bool) -> Value {
    json!({
        "ETag": {
            "description": "The strong entity tag of the resource's stored version: send it as `If-Match` to change that version only, or as `If-None-Match` to be answered 304 while it holds.",
            "required": required,
            "schema": { "type": "string" },
        },
    })
}

fn with_etag(mut headers: Value) -> Value {
    headers["ETag"] = etag(false)["ETag"].clone();
    headers
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

/// The atomic extension's endpoint, when the configuration enables it: `POST
/// {prefix}/operations` (and `OPTIONS`).
pub(crate) fn atomic_path(schema: &Schema) -> Option<(String, Value)> {
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
