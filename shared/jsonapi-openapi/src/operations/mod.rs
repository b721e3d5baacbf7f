//! The paths and operations: for every type, each route of the engine's [`ROUTES`] whose
//! method the type enables ([`allowed_methods`], what `OPTIONS` answers in `Allow`); their
//! parameters, bodies and every status they answer with. `HEAD`, which every `GET` route
//! answers (the same status and headers, no body), is said once in the document's
//! description rather than listed: Swagger UI 5.35 stops rendering the page at a `head`
//! operation on a path with a parameter.
//!
//! One [`Route`] (a type's path) builds its path item here, operation by operation; the parts of
//! an operation are in `describe` (summary and description), `body` (the request body and its
//! example) and `responses` (successes, links and error statuses).

mod body;
mod describe;
mod responses;

use http::Method;
use jsonapi_config::{Operation, Relationship, ResourceType, Schema};
use jsonapi_engine::{Accepts, PathKind, ROUTES, allowed_methods};
use serde_json::{Map, Value, json};

use crate::headers::allow_header;
use crate::params;

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
            // The batch request has a document of its own (`batch`).
            if *operation == Operation::UpdateList {
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
}
