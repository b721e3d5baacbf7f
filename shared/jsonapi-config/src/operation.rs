//! The one vocabulary of operations: what a request asks the API to do, with the model system's
//! names. The configuration enables them per type (`actions`), routing resolves every request to
//! one, permissions are a function of it, and the cloud shape deploys one Lambda function per
//! [`Operation::function`].

use std::fmt;

/// One operation of the API.
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
    /// `DELETE /{type}` with filters
    DeleteList,
    /// `PATCH /{type}` (batch API)
    UpdateList,
    /// `GET /{type}/{id}/{relationship}`
    GetSubresource,
    /// `POST /{type}/{id}/{subresource}`: a sub-resource action an extension serves (the
    /// configuration declares it in `subresources`)
    AddSubresource,
    /// `GET /{type}/{id}/relationships/{relationship}`
    GetRelationship,
    /// `PATCH /{type}/{id}/relationships/{relationship}`
    UpdateRelationship,
    /// `POST /{type}/{id}/relationships/{relationship}`
    AddRelationship,
    /// `DELETE /{type}/{id}/relationships/{relationship}`
    DeleteRelationship,
    /// `OPTIONS` on every route of a type
    Options,
    /// `POST /oauth2-token` (outside the API prefix)
    Token,
    /// `GET` / `POST /oauth2-token/authorize`: the authorization code grant's pages
    Authorize,
    /// `GET /.well-known/jwks.json`: the public keys that check the API's tokens
    Jwks,
    /// `POST {prefix}/operations`: the JSON:API atomic extension, when the configuration
    /// enables it (`api.operations`)
    Operations,
    /// `GET {prefix}/doc` (the sandbox page and its assets) and `GET {prefix}/doc/openapi.json`
    Docs,
}

impl Operation {
    /// Every operation, in a stable order.
    pub const ALL: [Self; 19] = [
        Self::Get,
        Self::GetList,
        Self::Create,
        Self::Update,
        Self::Delete,
        Self::DeleteList,
        Self::UpdateList,
        Self::GetSubresource,
        Self::AddSubresource,
        Self::GetRelationship,
        Self::UpdateRelationship,
        Self::AddRelationship,
        Self::DeleteRelationship,
        Self::Options,
        Self::Token,
        Self::Authorize,
        Self::Jwks,
        Self::Operations,
        Self::Docs,
    ];

    /// The operations on a type's resources, which a type's `actions` enable or disable.
    pub const OF_TYPES: [Self; 12] = [
        Self::Get,
        Self::GetList,
        Self::Create,
        Self::Update,
        Self::Delete,
        Self::DeleteList,
        Self::UpdateList,
        Self::GetSubresource,
        Self::GetRelationship,
        Self::UpdateRelationship,
        Self::AddRelationship,
        Self::DeleteRelationship,
    ];

    /// The operations deployed as Lambda functions of their own (`functions/{name}`); the
    /// others are served by the function [`Self::function`] names.
    pub const FUNCTIONS: [Self; 17] = [
        Self::Get,
        Self::GetList,
        Self::Create,
        Self::Update,
        Self::Delete,
        Self::DeleteList,
        Self::UpdateList,
        Self::GetSubresource,
        Self::AddSubresource,
        Self::GetRelationship,
        Self::UpdateRelationship,
        Self::AddRelationship,
        Self::DeleteRelationship,
        Self::Options,
        Self::Token,
        Self::Operations,
        Self::Docs,
    ];

    /// The model system's name, used in the configuration (`actions`) and in logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::GetList => "get_list",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::DeleteList => "delete_list",
            Self::UpdateList => "update_list",
            Self::GetSubresource => "get_subresource",
            Self::AddSubresource => "add_subresource",
            Self::GetRelationship => "get_relationship",
            Self::UpdateRelationship => "update_relationship",
            Self::AddRelationship => "add_relationship",
            Self::DeleteRelationship => "delete_relationship",
            Self::Options => "options",
            Self::Token => "token",
            Self::Authorize => "authorize",
            Self::Jwks => "jwks",
            Self::Operations => "operations",
            Self::Docs => "docs",
        }
    }

    /// The operation on a type's resources with this configuration name.
    pub fn of_type_named(name: &str) -> Option<Self> {
        Self::OF_TYPES.into_iter().find(|a| a.name() == name)
    }

    /// The operation whose Lambda function serves this one: the token endpoint's function
    /// also serves the authorization pages and the public keys.
    pub fn function(self) -> Self {
        match self {
            Self::Authorize | Self::Jwks => Self::Token,
            other => other,
        }
    }

    /// The kebab-case name (`get-list`): the operation's ids in the OpenAPI document.
    pub fn slug(self) -> String {
        self.name().replace('_', "-")
    }

    /// The kebab-case name of the operation's function folder (`functions/get-list`).
    pub fn function_name(self) -> String {
        self.function().slug()
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
                | Self::Jwks
                | Self::Docs
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Operation;

    #[test]
    fn names_are_unique_and_functions_are_deployed_operations() {
        let names: std::collections::HashSet<_> = Operation::ALL.map(Operation::name).into();
        assert_eq!(names.len(), Operation::ALL.len());
        for op in Operation::ALL {
            assert_eq!(op.function().function(), op.function());
        }
        assert_eq!(
            Operation::of_type_named("get_list"),
            Some(Operation::GetList)
        );
        assert_eq!(Operation::of_type_named("token"), None);
        assert_eq!(Operation::Jwks.function_name(), "token");
        assert_eq!(Operation::DeleteList.function_name(), "delete-list");
    }
}
