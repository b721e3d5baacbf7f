//! The functions of a configuration: one per operation it deploys, each with the routes that
//! operation answers. A new function needs its operation in `Operation::FUNCTIONS`, maybe an
//! arm in [`deploys`], one in [`description`] here, and one in `policy::access`; the compiler
//! points at the last two.

use std::fmt::Write as _;

use http::Method;
use jsonapi_config::{Operation, Schema};
use jsonapi_engine::{AUTH_ROUTES, DOC_ROUTES, OPERATIONS_ROUTES, PathKind, ROUTES};

use crate::policy;
use crate::yaml::{camel, quote};

/// One function of the template.
#[derive(Debug)]
pub(crate) struct Deployed {
    op: Operation,
    /// (event name, method, path), in the engine's route order; `HEAD` after each `GET`.
    routes: Vec<(String, Method, String)>,
}

/// The functions `schema` deploys, in [`Operation::FUNCTIONS`]' order.
pub(crate) fn deployed(schema: &Schema) -> Vec<Deployed> {
    Operation::FUNCTIONS
        .into_iter()
        .filter(|op| deploys(schema, *op))
        .map(|op| Deployed {
            op,
            routes: routes(&schema.api.prefix, op),
        })
        .collect()
}

/// Whether the configuration has a use for the operation's function. One that no type
/// enables gets no route either (API Gateway answers its own 404 there).
fn deploys(schema: &Schema, op: Operation) -> bool {
    let api = &schema.api;
    match op {
        Operation::Options => true,
        Operation::Token => api.auth.enabled,
        Operation::Operations => api.operations,
        Operation::Docs => api.sandbox || api.openapi,
        // Sub-resource actions are declared, not enabled: some type declares one.
        Operation::AddSubresource => schema.types().any(|t| {
            t.subresources
                .values()
                .any(|s| s.operation() == Operation::AddSubresource)
        }),
        // An operation on types' resources: some type enables it.
        _ => schema.types().any(|t| t.actions.allows(op)),
    }
}

/// What the function does, after its name in its `Description`.
fn description(op: Operation, schema: &Schema) -> String {
    match op {
        Operation::Get => "GET one resource".to_owned(),
        Operation::GetList => "GET a collection (filters, sorting, paging, include)".to_owned(),
        Operation::Create => {
            "POST a new resource (and POST with X-HTTP-Method-Override: GET, a long list query)"
                .to_owned()
        }
        Operation::Update => "PATCH a resource".to_owned(),
        Operation::Delete => "DELETE a resource".to_owned(),
        Operation::DeleteList => "DELETE the resources a filter selects".to_owned(),
        Operation::GetSubresource => {
            "GET the related resources of a relationship, or a computed subresource".to_owned()
        }
        Operation::AddSubresource => {
            "POST a subresource action an extension serves (one transaction)".to_owned()
        }
        Operation::GetRelationship => "GET the linkage of a relationship".to_owned(),
        Operation::UpdateRelationship => "PATCH (replace) a relationship's linkage".to_owned(),
        Operation::AddRelationship => "POST members to a to-many relationship".to_owned(),
        Operation::DeleteRelationship => "DELETE members from a to-many relationship".to_owned(),
        Operation::Options => "OPTIONS on every path (Allow)".to_owned(),
        Operation::UpdateList => "PATCH several resources at once".to_owned(),
        Operation::Token | Operation::Authorize | Operation::Jwks => {
            "POST /oauth2-token, GET|POST /oauth2-token/authorize, GET /.well-known/jwks.json"
                .to_owned()
        }
        Operation::Operations => {
            "POST JSON:API atomic operations (add, update, remove of any type, one transaction)"
                .to_owned()
        }
        Operation::Docs => {
            let api = &schema.api;
            let prefix = &api.prefix;
            let sandbox = format!("the sandbox page (GET {prefix}/doc)");
            let openapi = format!("the OpenAPI document (GET {prefix}/doc/openapi.json)");
            match (api.sandbox, api.openapi) {
                (true, true) => format!("{sandbox} and {openapi}"),
                (true, false) => sandbox,
                _ => openapi,
            }
        }
    }
}

/// The routes of `op`: the engine's route tables, paths below `prefix` but the token
/// endpoint's; `HEAD` wherever `GET` is (answered as `GET`, RFC 9110).
fn routes(prefix: &str, op: Operation) -> Vec<(String, Method, String)> {
    let kind_name = |kind: PathKind| match kind {
        PathKind::List => "List",
        PathKind::Item => "Item",
        PathKind::Related => "Related",
        PathKind::Relationship => "Relationship",
    };
    let mut found: Vec<(&Method, String, String)> = ROUTES
        .iter()
        .filter(|(_, _, o)| *o == op)
        .map(|(m, kind, _)| {
            (
                m,
                kind_name(*kind).to_owned(),
                format!("{prefix}{}", kind.template()),
            )
        })
        .collect();
    let (literal, below): (&[(Method, &str)], &str) = match op {
        Operation::Docs => (&DOC_ROUTES, prefix),
        Operation::Operations => (&OPERATIONS_ROUTES, prefix),
        Operation::Token => (&AUTH_ROUTES, ""),
        _ => (&[], ""),
    };
    found.extend(
        literal
            .iter()
            .map(|(m, path)| (m, camel(path), format!("{below}{path}"))),
    );
    let mut out = Vec::new();
    for (method, name, path) in found {
        out.push((
            format!("{}{name}", camel_method(method)),
            method.clone(),
            path.clone(),
        ));
        if *method == Method::GET {
            out.push((format!("Head{name}"), Method::HEAD, path));
        }
    }
    out
}

/// The update-list function's own timeout: a synchronous batch is answered at its wait
/// (`syncWait`, 25 s by default), after its write has stopped and rolled back and the batch
/// is stored as an operation (docs/batch.md), so it needs API Gateway's whole 30 s.
const UPDATE_LIST_TIMEOUT: &str =
    "      # A synchronous batch past its wait (syncWait, 25 s) is rolled back and stored as an
      # operation before the 202: the function takes API Gateway's whole 30 s.
      Timeout: 30
";

/// `GET` is `Get`: the start of an event's name.
fn camel_method(method: &Method) -> String {
    camel(&method.as_str().to_ascii_lowercase())
}

impl Deployed {
    /// The function's resource, at two spaces under `Resources`.
    pub(crate) fn write(&self, out: &mut String, schema: &Schema) {
        let op = self.op;
        let name = op.function_name();
        policy::comment(out, op);
        let _ = write!(
            out,
            "  {id}Function:\n    Type: AWS::Serverless::Function\n    Metadata:\n      \
             BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: fn-{name}\n    \
             Properties:\n      Description: !Sub {description}\n",
            id = camel(&name),
            description = quote(&format!(
                "${{AWS::StackName}} {name}: {}",
                description(op, schema)
            )),
        );
        if op == Operation::UpdateList {
            out.push_str(UPDATE_LIST_TIMEOUT);
        }
        policy::write(out, op, schema);
        out.push_str("      Events:\n");
        for (event, method, path) in &self.routes {
            let _ = writeln!(
                out,
                "        {event}:\n          Type: HttpApi\n          Properties: \
                 {{ ApiId: !Ref Api, Method: {method}, Path: {} }}",
                quote(path)
            );
        }
    }
}
