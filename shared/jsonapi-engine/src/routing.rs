//! Requests to what they address: URL paths to routes, every route's operation (the tables the
//! SAM template is checked against), and the methods each route allows for a type. A request is
//! resolved once, into a [`Resolved`], before anything else reads it.

use http::Method;
use jsonapi_config::{
    ApiSettings, DOC_SEGMENT, OPERATIONS_SEGMENT, Operation, ResourceType, SubresourceMethod,
};

use crate::error::ApiResult;
use crate::query;
use crate::request::ApiRequest;

/// The token endpoint's path (outside the API prefix, as in the model system).
pub const TOKEN_PATH: &str = "/oauth2-token";
/// The authorization endpoint's path: the sign-in and consent pages of the code grant.
pub const AUTHORIZE_PATH: &str = "/oauth2-token/authorize";
/// The JWKS document's path.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The shape of a route's path below the API prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathKind {
    /// `/{type}`
    List,
    /// `/{type}/{id}`
    Item,
    /// `/{type}/{id}/{relationship}` (or a declared sub-resource's name)
    Related,
    /// `/{type}/{id}/relationships/{relationship}`
    Relationship,
}

impl PathKind {
    /// The path template, as API Gateway writes it.
    pub fn template(self) -> &'static str {
        match self {
            Self::List => "/{type}",
            Self::Item => "/{type}/{id}",
            Self::Related => "/{type}/{id}/{relationship}",
            Self::Relationship => "/{type}/{id}/relationships/{relationship}",
        }
    }

    /// Every kind.
    pub const ALL: [Self; 4] = [Self::List, Self::Item, Self::Related, Self::Relationship];
}

/// The routes outside the API prefix: the token endpoint, the authorization endpoint and the
/// JWKS document, served by [`Operation::Token`], [`Operation::Authorize`] and [`Operation::Jwks`]
/// (`HEAD` as `GET`), which one Lambda function serves.
pub const AUTH_ROUTES: [(Method, &str); 7] = [
    (Method::POST, TOKEN_PATH),
    (Method::OPTIONS, TOKEN_PATH),
    (Method::GET, AUTHORIZE_PATH),
    (Method::POST, AUTHORIZE_PATH),
    (Method::OPTIONS, AUTHORIZE_PATH),
    (Method::GET, JWKS_PATH),
    (Method::OPTIONS, JWKS_PATH),
];

/// The routes of the API's documentation, below the API prefix, all served by
/// [`Operation::Docs`] (`HEAD` as `GET`): the sandbox page, and the OpenAPI document and the
/// page's assets as `{file}`.
pub const DOC_ROUTES: [(Method, &str); 4] = [
    (Method::GET, "/doc"),
    (Method::OPTIONS, "/doc"),
    (Method::GET, "/doc/{file}"),
    (Method::OPTIONS, "/doc/{file}"),
];

/// The routes of the atomic extension, below the API prefix, served by
/// [`Operation::Operations`] when the configuration enables it.
pub const OPERATIONS_ROUTES: [(Method, &str); 2] = [
    (Method::POST, "/operations"),
    (Method::OPTIONS, "/operations"),
];

/// Every (method, path, operation) the engine serves. `HEAD` is served by the operation of
/// `GET`; `OPTIONS` on every path by [`Operation::Options`].
pub const ROUTES: [(Method, PathKind, Operation); 17] = [
    (Method::GET, PathKind::List, Operation::GetList),
    (Method::POST, PathKind::List, Operation::Create),
    (Method::PATCH, PathKind::List, Operation::UpdateList),
    (Method::DELETE, PathKind::List, Operation::DeleteList),
    (Method::GET, PathKind::Item, Operation::Get),
    (Method::PATCH, PathKind::Item, Operation::Update),
    (Method::DELETE, PathKind::Item, Operation::Delete),
    (Method::GET, PathKind::Related, Operation::GetSubresource),
    (Method::POST, PathKind::Related, Operation::AddSubresource),
    (
        Method::GET,
        PathKind::Relationship,
        Operation::GetRelationship,
    ),
    (
        Method::PATCH,
        PathKind::Relationship,
        Operation::UpdateRelationship,
    ),
    (
        Method::POST,
        PathKind::Relationship,
        Operation::AddRelationship,
    ),
    (
        Method::DELETE,
        PathKind::Relationship,
        Operation::DeleteRelationship,
    ),
    (Method::OPTIONS, PathKind::List, Operation::Options),
    (Method::OPTIONS, PathKind::Item, Operation::Options),
    (Method::OPTIONS, PathKind::Related, Operation::Options),
    (Method::OPTIONS, PathKind::Relationship, Operation::Options),
];

/// A parsed API path (segments percent-decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/{type}`
    List { ty: String },
    /// `/{type}/{id}`
    Item { ty: String, id: String },
    /// `/{type}/{id}/{relationship}`
    Related { ty: String, id: String, rel: String },
    /// `/{type}/{id}/relationships/{relationship}`
    Relationship { ty: String, id: String, rel: String },
}

impl Route {
    pub(crate) fn ty(&self) -> &str {
        match self {
            Self::List { ty }
            | Self::Item { ty, .. }
            | Self::Related { ty, .. }
            | Self::Relationship { ty, .. } => ty,
        }
    }

    /// The resource id a path below a type names (`None` for a list).
    pub(crate) fn id_mut(&mut self) -> Option<&mut String> {
        match self {
            Self::List { .. } => None,
            Self::Item { id, .. } | Self::Related { id, .. } | Self::Relationship { id, .. } => {
                Some(id)
            }
        }
    }

    /// The shape of the path.
    pub(crate) fn kind(&self) -> PathKind {
        match self {
            Self::List { .. } => PathKind::List,
            Self::Item { .. } => PathKind::Item,
            Self::Related { .. } => PathKind::Related,
            Self::Relationship { .. } => PathKind::Relationship,
        }
    }

    /// Splits a path under `prefix` into a route; `None` when it is not an API path.
    pub(crate) fn parse(prefix: &str, path: &str) -> Option<Self> {
        let rest = path.strip_prefix(prefix)?.strip_prefix('/')?;
        let segments: Option<Vec<String>> = rest
            .split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .ok()
                    .map(|c| c.into_owned())
                    .filter(|s| !s.is_empty())
            })
            .collect();
        let mut segments = segments?.into_iter();
        let ty = segments.next()?;
        let Some(id) = segments.next() else {
            return Some(Self::List { ty });
        };
        let Some(third) = segments.next() else {
            return Some(Self::Item { ty, id });
        };
        match (third.as_str(), segments.next(), segments.next()) {
            (_, None, _) => Some(Self::Related { ty, id, rel: third }),
            ("relationships", Some(rel), None) => Some(Self::Relationship { ty, id, rel }),
            _ => None,
        }
    }

    /// The methods this route allows for `ty`, `OPTIONS` first, as the `Allow` header lists them.
    pub(crate) fn allowed_methods(&self, ty: &ResourceType) -> Vec<&'static str> {
        let rel = match self {
            Self::Related { rel, .. } | Self::Relationship { rel, .. } => Some(rel.as_str()),
            Self::List { .. } | Self::Item { .. } => None,
        };
        allowed_methods(ty, self.kind(), rel)
    }
}

/// A request resolved once: the route its path names, the operation that serves it and its
/// query parameters. Everything after reads these, never the raw path or query again.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// The API route (`None` for a path outside the API prefix or of no route's shape).
    pub(crate) route: Option<Route>,
    /// The operation; `None` when the path is unknown or its method has none there.
    pub(crate) operation: Option<Operation>,
    /// A `POST /{type}` made a get_list by `X-HTTP-Method-Override: GET` (for filters too long
    /// for a URL).
    pub(crate) overridden: bool,
    /// The query parameters: the query string's, and for a get_list sent as `POST` or a
    /// delete_list those of the body too (an unreadable body is this error).
    pub(crate) query: ApiResult<Vec<(String, String)>>,
}

impl Resolved {
    /// Resolves `req` against the API's settings.
    pub(crate) fn of(api: &ApiSettings, req: &ApiRequest) -> Self {
        let route = Route::parse(&api.prefix, &req.path);
        let overridden = matches!(route, Some(Route::List { .. }))
            && req.method == Method::POST
            && overrides_to_get(req);
        let operation = match req.path.as_str() {
            TOKEN_PATH => Some(Operation::Token),
            AUTHORIZE_PATH => Some(Operation::Authorize),
            JWKS_PATH => Some(Operation::Jwks),
            _ => route
                .as_ref()
                .and_then(|route| route_operation(api, route, &req.method, overridden)),
        };
        let query = match operation {
            Some(Operation::GetList) if overridden => {
                query::merge_body_pairs(req.query.as_deref(), &req.body)
            }
            Some(Operation::DeleteList) => query::merge_body_pairs(req.query.as_deref(), &req.body),
            _ => Ok(query::pairs(req.query.as_deref())),
        };
        Self {
            route,
            operation,
            overridden,
            query,
        }
    }

    /// The operation whose Lambda function the request reaches in the cloud shape. API
    /// Gateway routes by method and path alone, so a get_list sent as `POST` reaches create's.
    pub(crate) fn function(&self) -> Option<Operation> {
        if self.overridden {
            Some(Operation::Create)
        } else {
            self.operation.map(Operation::function)
        }
    }

    /// Whether the request is the atomic extension's (`{prefix}/operations`, when enabled).
    pub(crate) fn is_operations(&self) -> bool {
        self.operation == Some(Operation::Operations)
    }
}

/// The operation of `method` on an API route: the documentation's and the atomic extension's
/// paths first (no type has their names), then the route table (`HEAD` as `GET`).
fn route_operation(
    api: &ApiSettings,
    route: &Route,
    method: &Method,
    overridden: bool,
) -> Option<Operation> {
    if route.ty() == DOC_SEGMENT {
        return Some(Operation::Docs);
    }
    if api.operations && matches!(route, Route::List { .. }) && route.ty() == OPERATIONS_SEGMENT {
        return Some(Operation::Operations);
    }
    if overridden {
        return Some(Operation::GetList);
    }
    let method = if *method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    ROUTES
        .iter()
        .find(|(m, k, _)| m == method && *k == route.kind())
        .map(|(_, _, op)| *op)
}

/// `X-HTTP-Method-Override: GET` on a request.
fn overrides_to_get(req: &ApiRequest) -> bool {
    req.headers
        .get("x-http-method-override")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("GET"))
}

/// The methods a path of `kind` allows for `ty` (`relationship`: the relationship a related or
/// relationship path names), `OPTIONS` first, as the `Allow` header lists them; only
/// `OPTIONS` when the type enables no action there.
pub fn allowed_methods(
    ty: &ResourceType,
    kind: PathKind,
    relationship: Option<&str>,
) -> Vec<&'static str> {
    let a = &ty.actions;
    let mut methods = vec!["OPTIONS"];
    let mut add = |enabled: bool, names: &[&'static str]| {
        if enabled {
            methods.extend_from_slice(names);
        }
    };
    match kind {
        PathKind::List => {
            add(a.allows(Operation::GetList), &["GET", "HEAD"]);
            add(a.allows(Operation::UpdateList), &["PATCH"]);
            add(a.allows(Operation::Create), &["POST"]);
            add(a.allows(Operation::DeleteList), &["DELETE"]);
        }
        PathKind::Item => {
            add(a.allows(Operation::Get), &["GET", "HEAD"]);
            add(a.allows(Operation::Update), &["PATCH"]);
            add(a.allows(Operation::Delete), &["DELETE"]);
        }
        PathKind::Related => match relationship.and_then(|name| ty.subresources.get(name)) {
            // A declared sub-resource has the one method it declares.
            Some(sub) => match sub.method {
                SubresourceMethod::Get => add(true, &["GET", "HEAD"]),
                SubresourceMethod::Post => add(true, &["POST"]),
            },
            None => add(a.allows(Operation::GetSubresource), &["GET", "HEAD"]),
        },
        PathKind::Relationship => {
            let many = relationship
                .and_then(|rel| ty.relationships.get(rel))
                .is_some_and(|r| r.many);
            add(a.allows(Operation::GetRelationship), &["GET", "HEAD"]);
            add(a.allows(Operation::UpdateRelationship), &["PATCH"]);
            add(many && a.allows(Operation::AddRelationship), &["POST"]);
            add(many && a.allows(Operation::DeleteRelationship), &["DELETE"]);
        }
    }
    methods
}

/// Percent-encodes an id for use in a URL path segment.
pub(crate) fn encode_segment(s: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn paths_become_routes() {
        let p = |s| Route::parse("/api", s);
        assert_eq!(
            p("/api/products"),
            Some(Route::List {
                ty: "products".into()
            })
        );
        assert_eq!(
            p("/api/products/1"),
            Some(Route::Item {
                ty: "products".into(),
                id: "1".into()
            })
        );
        assert_eq!(
            p("/api/products/1/category"),
            Some(Route::Related {
                ty: "products".into(),
                id: "1".into(),
                rel: "category".into()
            })
        );
        assert_eq!(
            p("/api/products/1/relationships/category"),
            Some(Route::Relationship {
                ty: "products".into(),
                id: "1".into(),
                rel: "category".into()
            })
        );
        assert_eq!(
            p("/api/roles/a%20b"),
            Some(Route::Item {
                ty: "roles".into(),
                id: "a b".into()
            })
        );
        assert_eq!(p("/api"), None);
        assert_eq!(p("/api/"), None);
        assert_eq!(p("/api/products/"), None);
        assert_eq!(p("/apix/products"), None);
        assert_eq!(p("/api/a/b/c/d"), None);
    }
}
