//! The engine's operations: the unit of deployment of the cloud shape (one Lambda function per
//! operation) and the routes each serves. The SAM template is checked against [`ROUTES`].

use http::Method;

/// One operation of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GET /{type}/{id}`
    Get,
    /// `GET /{type}` (and `POST /{type}` with `X-HTTP-Method-Override: GET`)
    GetList,
    /// `POST /{type}`
    Create,
    /// `PATCH /{type}/{id}`
    Update,
    /// `DELETE /{type}/{id}`
    Delete,
    /// `DELETE /{type}`
    DeleteList,
    /// `GET /{type}/{id}/{relationship}`
    GetSubresource,
    /// `GET /{type}/{id}/relationships/{relationship}`
    GetRelationship,
    /// `PATCH /{type}/{id}/relationships/{relationship}`
    UpdateRelationship,
    /// `POST /{type}/{id}/relationships/{relationship}`
    AddRelationship,
    /// `DELETE /{type}/{id}/relationships/{relationship}`
    DeleteRelationship,
    /// `OPTIONS` on every route
    Options,
    /// `POST /oauth2-token`, `GET` / `POST /oauth2-token/authorize` and
    /// `GET /.well-known/jwks.json` (outside the API prefix)
    Token,
    /// `POST {prefix}/operations`: the JSON:API atomic extension, when the configuration
    /// enables it (`api.operations`); its function may write every type.
    Operations,
    /// `GET {prefix}/doc` (the sandbox page and its assets) and `GET
    /// {prefix}/doc/openapi.json`: the API's documentation, built from the configuration alone
    /// (crate `jsonapi-openapi`), never from the store.
    Docs,
}

/// The shape of a route's path below the API prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathKind {
    /// `/{type}`
    List,
    /// `/{type}/{id}`
    Item,
    /// `/{type}/{id}/{relationship}`
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
/// JWKS document, all served by [`Operation::Token`] (`HEAD` as `GET`).
pub const AUTH_ROUTES: [(Method, &str); 7] = [
    (Method::POST, crate::auth::TOKEN_PATH),
    (Method::OPTIONS, crate::auth::TOKEN_PATH),
    (Method::GET, crate::auth::AUTHORIZE_PATH),
    (Method::POST, crate::auth::AUTHORIZE_PATH),
    (Method::OPTIONS, crate::auth::AUTHORIZE_PATH),
    (Method::GET, crate::auth::JWKS_PATH),
    (Method::OPTIONS, crate::auth::JWKS_PATH),
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
pub const ROUTES: [(Method, PathKind, Operation); 15] = [
    (Method::GET, PathKind::List, Operation::GetList),
    (Method::POST, PathKind::List, Operation::Create),
    (Method::DELETE, PathKind::List, Operation::DeleteList),
    (Method::GET, PathKind::Item, Operation::Get),
    (Method::PATCH, PathKind::Item, Operation::Update),
    (Method::DELETE, PathKind::Item, Operation::Delete),
    (Method::GET, PathKind::Related, Operation::GetSubresource),
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

impl Operation {
    /// Every operation.
    pub const ALL: [Self; 15] = [
        Self::Get,
        Self::GetList,
        Self::Create,
        Self::Update,
        Self::Delete,
        Self::DeleteList,
        Self::GetSubresource,
        Self::GetRelationship,
        Self::UpdateRelationship,
        Self::AddRelationship,
        Self::DeleteRelationship,
        Self::Options,
        Self::Token,
        Self::Operations,
        Self::Docs,
    ];

    /// The kebab-case name used for function folders (`functions/get-list`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::GetList => "get-list",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::DeleteList => "delete-list",
            Self::GetSubresource => "get-subresource",
            Self::GetRelationship => "get-relationship",
            Self::UpdateRelationship => "update-relationship",
            Self::AddRelationship => "add-relationship",
            Self::DeleteRelationship => "delete-relationship",
            Self::Options => "options",
            Self::Token => "token",
            Self::Operations => "operations",
            Self::Docs => "docs",
        }
    }

    /// Whether the operation only reads (its function gets no write permission).
    pub fn read_only(self) -> bool {
        matches!(
            self,
            Self::Get
                | Self::GetList
                | Self::GetSubresource
                | Self::GetRelationship
                | Self::Options
                | Self::Docs
        )
    }

    /// The operation that answers `method` on a path of `kind` (`HEAD` as `GET`).
    pub fn of(method: &Method, kind: PathKind) -> Option<Self> {
        let method = if *method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        ROUTES
            .iter()
            .find(|(m, k, _)| m == method && *k == kind)
            .map(|(_, _, op)| *op)
    }
}
