//! Every answer of an operation: its successes (documents and headers), the links from a
//! created resource to the operations on it, and the error statuses it can answer with
//! (references to the shared [`error_responses`](crate::error_responses)).

use jsonapi_config::{Operation, Relationship};
use jsonapi_engine::{PathKind, ROUTES, allowed_methods};
use serde_json::{Map, Value, json};

use super::Route;
use crate::headers::{etag, location, total_count, with_etag};
use crate::values::reference;
use crate::{MEDIA_TYPE, params, plain};

impl Route<'_> {
    /// Every answer of the operation on this path: its successes, then the error statuses it
    /// can answer with (references to the shared error responses).
    pub(super) fn responses(&self, operation: Operation) -> Value {
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
