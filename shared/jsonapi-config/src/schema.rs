//! The checked configuration: resource types with resolved relationships, filters and actions.

use std::sync::Arc;

use indexmap::IndexMap;

use crate::operation::Operation;
use serde_json::Value;

pub use crate::raw::{
    DataType, Direction, Format, IdStrategy, OnDelete, SubresourceMethod, Timestamp,
};
pub use crate::storefront::{AlternateId, Currencies, Currency, Localizations};

/// The path segment below the prefix where the API documents itself (`{prefix}/doc`, as in
/// the model system); no type may have this name.
pub const DOC_SEGMENT: &str = "doc";

/// The path segment below the prefix of the atomic extension's endpoint
/// (`POST {prefix}/operations`); no type may have this name while `api.operations` is on.
pub const OPERATIONS_SEGMENT: &str = "operations";

/// The path segment below the API prefix of the batch API's asynchronous operations
/// (`{prefix}/asyncoperations/{id}`); no type may have this name.
pub const ASYNC_OPERATIONS_SEGMENT: &str = "asyncoperations";

/// The batch API's sizes: how many items an asynchronous chunk holds, how many a synchronous
/// batch may send and how long it is waited for (the model's `chunk_size`,
/// `included_data_chunk_size`, `sync_processing_limit`, `sync_processing_included_data_limit`,
/// `sync_processing_wait_timeout`). `api.batch` sets them for every type, a type's own
/// `batch` over them ([`ResourceType::batch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSettings {
    /// `data` items per chunk (default 100).
    pub chunk_size: usize,
    /// `included` items per chunk (default 50).
    pub included_chunk_size: usize,
    /// Most `data` items with `X-Mode: sync` (default 100).
    pub sync_limit: usize,
    /// Most `included` items with `X-Mode: sync` (default 50).
    pub sync_included_limit: usize,
    /// How long an `X-Mode: sync` request waits for its batch before it is answered as an
    /// asynchronous one, the batch going on (default 25 s).
    pub sync_wait: std::time::Duration,
}

/// Every resource type of one API, and the API-wide settings.
#[derive(Debug, Clone)]
pub struct Schema {
    /// API-wide settings.
    pub api: ApiSettings,
    pub(crate) types: IndexMap<String, Arc<ResourceType>>,
}

impl Schema {
    /// The type with this name, if the API serves it.
    pub fn resource_type(&self, name: &str) -> Option<&Arc<ResourceType>> {
        self.types.get(name)
    }

    /// Every type, in the order of the configuration file.
    pub fn types(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.types.values()
    }

    /// The type a reference of this schema names. Cannot fail: the name was resolved when the
    /// configuration loaded, and a schema never loses a type.
    pub fn referenced(&self, ty: &TypeRef) -> &Arc<ResourceType> {
        &self.types[ty.index]
    }

    /// The related type of a relationship of this schema.
    pub fn target(&self, rel: &Relationship) -> &Arc<ResourceType> {
        self.referenced(&rel.target)
    }

    /// The related type of `ty`'s relationship named `rel`, if it has one.
    pub fn related(&self, ty: &ResourceType, rel: &str) -> Option<&Arc<ResourceType>> {
        ty.relationships.get(rel).map(|r| self.target(r))
    }
}

/// A type the configuration names (a relationship's related type, the type a sub-resource
/// returns, the users and roles types of `api.auth`): its name, and where the [`Schema`] holds it. Made only when the configuration
/// loads, after the name was found among the declared types, so following it at request time
/// ([`Schema::referenced`], [`Schema::target`]) is a plain index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeRef {
    name: String,
    index: usize,
}

impl TypeRef {
    pub(crate) fn new(name: String, index: usize) -> Self {
        Self { name, index }
    }

    /// The type's name (its `type` member).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::ops::Deref for TypeRef {
    type Target = str;

    fn deref(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for TypeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl PartialEq<str> for TypeRef {
    fn eq(&self, other: &str) -> bool {
        self.name == other
    }
}

impl PartialEq<&str> for TypeRef {
    fn eq(&self, other: &&str) -> bool {
        self.name == *other
    }
}

impl PartialEq<String> for TypeRef {
    fn eq(&self, other: &String) -> bool {
        self.name == *other
    }
}

/// API-wide settings (`api:` in the file).
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// `false` answers 404 on every route, as the model system does with the API feature off.
    pub enabled: bool,
    /// The URL clients reach the API at (`https://api.example.com`, without a trailing
    /// slash), which every link starts with; `None` leaves it to the server (its listen
    /// address locally, API Gateway's domain and stage in Lambda), never to the request's
    /// `Host`.
    pub public_url: Option<String>,
    /// The URL prefix of every route, without a trailing slash (default `/api`).
    pub prefix: String,
    /// Page size when `page[size]` is absent (default 10).
    pub page_size: usize,
    /// The largest `page[size]`, and the cap of an unpaged list; `None` = unlimited.
    pub max_results: Option<usize>,
    /// The most members of a to-many relationship rendered inside a resource (default 1000).
    pub max_related: usize,
    /// The most resources one `DELETE /api/{type}` deletes (default 100).
    pub max_delete: usize,
    /// The batch API's sizes (`PATCH /api/{type}`), for types that set none of their own.
    pub batch: BatchSettings,
    /// How long an asynchronous operation is kept after it was started, in seconds
    /// (`api.batch.lifetime`, default 30 days, the model's `lifetime`).
    pub operation_lifetime: u64,
    /// `GET {prefix}/doc/openapi.json` serves the OpenAPI document of the API (default true).
    pub openapi: bool,
    /// `GET {prefix}/doc` serves the sandbox page, which needs the OpenAPI document (default
    /// true).
    pub sandbox: bool,
    /// `POST {prefix}/operations` serves the JSON:API atomic extension (default false).
    pub operations: bool,
    /// Who may call the API (`api.auth`).
    pub auth: AuthSettings,
    /// Cross-origin requests (`api.cors`); off while `allow_origins` is empty.
    pub cors: CorsSettings,
    /// What `X-Localization-ID` may name (`api.localizations`).
    pub localizations: Localizations,
    /// What `X-Currency` may name (`api.currencies`); `None`: no money attributes.
    pub currencies: Option<Currencies>,
    /// The storefront headers the configuration uses: answers vary by them (`Vary`), and
    /// CORS allows them.
    pub storefront_headers: Vec<String>,
}

/// Authentication and authorization settings (`api.auth`).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `false` serves every caller without a token and without permission checks (a local,
    /// private development setting).
    pub enabled: bool,
    /// `iss` of the access tokens this API signs (default `jsonapi`).
    pub issuer: String,
    /// `aud` of the access tokens this API signs and accepts (default `jsonapi`).
    pub audience: String,
    /// Access-token lifetime in seconds (default 3600).
    pub access_token_lifetime: u64,
    /// Refresh-token lifetime in seconds (default 18144000, the model's 210 days).
    pub refresh_token_lifetime: u64,
    /// Types anyone may read (VIEW) without a token.
    pub anonymous: Vec<String>,
    /// The type whose resources sign in with the password grant (`username`, `password`,
    /// `enabled`, to-many `roles`); `None` turns the password grant off.
    pub users: Option<TypeRef>,
    /// The type whose resources are roles (their `permissions` attribute grants VIEW / CREATE /
    /// EDIT / DELETE per type); `None` = every authenticated caller may do everything.
    pub roles: Option<TypeRef>,
    /// Other token issuers (OpenID providers such as Cognito) whose access tokens are accepted.
    pub external_issuers: Vec<ExternalIssuerSettings>,
}

/// An external token issuer (`api.auth.externalIssuers[]`).
#[derive(Debug, Clone)]
pub struct ExternalIssuerSettings {
    /// Its `iss`.
    pub issuer: String,
    /// Accepted `aud` values; empty = not checked.
    pub audiences: Vec<String>,
    /// The claim holding role ids (default `roles`; Cognito: `cognito:groups`).
    pub roles_claim: String,
    /// Where its public keys come from.
    pub keys: IssuerKeys,
}

/// Where an external issuer's public keys come from.
#[derive(Debug, Clone, PartialEq)]
pub enum IssuerKeys {
    /// A JWKS document given in the configuration (`jwks`; offline use).
    Inline(Value),
    /// Fetched from this URL (`jwksUri`).
    Uri(String),
    /// Fetched from the `jwks_uri` of `{issuer}/.well-known/openid-configuration` (neither
    /// `jwks` nor `jwksUri` given).
    Discovery,
}

/// CORS settings (`api.cors`), as the model's `oro_api.cors`.
#[derive(Debug, Clone)]
pub struct CorsSettings {
    /// Origins allowed to call the API (`*` = any); empty turns CORS off.
    pub allow_origins: Vec<String>,
    /// Sends `Access-Control-Allow-Credentials: true`.
    pub allow_credentials: bool,
    /// Request headers allowed besides `Authorization`, `Content-Type`, `X-Include`,
    /// `If-Match`, `If-None-Match`.
    pub allow_headers: Vec<String>,
    /// Response headers exposed besides `Location`, `ETag`, `X-Include-Total-Count`,
    /// `X-Include-Deleted-Count`.
    pub expose_headers: Vec<String>,
    /// How long a browser may cache a preflight answer, in seconds (default 600; 0 = not cached).
    pub preflight_max_age: u64,
}

/// The most shards a type's listing and indexes may be spread over.
pub const MAX_SHARDS: u32 = 64;

/// One resource type.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// The type name, as in URLs and in `type` members.
    pub name: String,
    /// How ids are made.
    pub id: IdStrategy,
    /// What the type is, for the API's documentation.
    pub description: Option<String>,
    /// Attributes in declaration order.
    pub attributes: IndexMap<String, Attribute>,
    /// Relationships in declaration order.
    pub relationships: IndexMap<String, Relationship>,
    /// Filters by name (`id`, an attribute or a relationship).
    pub filters: IndexMap<String, Filter>,
    /// Fields that `sort` accepts.
    pub sorters: Vec<String>,
    /// The actions this type serves.
    pub actions: ActionSet,
    /// Whether `meta.validate` (a dry run) is allowed.
    pub validation: bool,
    /// Writes of a known resource (`PATCH`, `DELETE`, relationship endpoints) must carry
    /// `If-Match` (428 without it).
    pub require_if_match: bool,
    /// Fields `meta.upsert` may match on (`id` included when the client chooses ids).
    pub upsert: Vec<String>,
    /// `meta.title`: the first alternative whose fields are all non-empty.
    pub title: Vec<TitleTemplate>,
    /// Composite indexes: an equality on the first field with a sort (or range) on the second
    /// is served by one key range.
    pub indexes: Vec<[String; 2]>,
    /// How many partitions its listing and each of its indexes are spread over (a power of
    /// two, at most [`MAX_SHARDS`]; 1 = one partition each): a write touches the one shard its
    /// id hashes to, a list page reads every shard and merges them.
    pub shards: u32,
    /// Sub-resources an extension serves (`/{type}/{id}/{name}`), by name: computed
    /// sub-resources (`GET`) and sub-resource actions (`POST`).
    pub subresources: IndexMap<String, Subresource>,
    /// The header that names its resources by a unique attribute on item routes.
    pub alternate_id: Option<AlternateId>,
    /// Its batch sizes: its own `batch` settings over `api.batch`.
    pub batch: BatchSettings,
}

/// A sub-resource the configuration declares and an extension serves
/// (`jsonapi_engine::extension::Extension::subresource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subresource {
    /// Its path segment after `/{type}/{id}/`.
    pub name: String,
    /// `GET` (computed, reads only) or `POST` (an action, may write).
    pub method: SubresourceMethod,
    /// What it does, for the API's documentation.
    pub description: Option<String>,
    /// The type of the resources it answers with; `None`: a document with `meta` only.
    pub returns: Option<TypeRef>,
    /// Whether it answers with a collection of `returns` (otherwise one resource).
    pub many: bool,
}

impl Subresource {
    /// The operation that serves it: `get_subresource` or `add_subresource`.
    pub fn operation(&self) -> Operation {
        match self.method {
            SubresourceMethod::Get => Operation::GetSubresource,
            SubresourceMethod::Post => Operation::AddSubresource,
        }
    }
}

impl ResourceType {
    /// An attribute or relationship with this name exists.
    pub fn has_field(&self, name: &str) -> bool {
        self.attributes.contains_key(name) || self.relationships.contains_key(name)
    }

    /// The attributes whose values must be unique across the type.
    pub fn unique_attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.attributes.values().filter(|a| a.unique)
    }
}

/// One attribute and its constraints.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// The member name.
    pub name: String,
    /// The data type.
    pub data_type: DataType,
    /// What the attribute holds, for the API's documentation.
    pub description: Option<String>,
    /// Must be present and not blank on create, and may not be blanked later.
    pub required: bool,
    /// May hold `null`.
    pub nullable: bool,
    /// Longest accepted string, in characters.
    pub max_length: Option<usize>,
    /// Shortest accepted string, in characters.
    pub min_length: Option<usize>,
    /// Smallest accepted number, as written in the file.
    pub min: Option<String>,
    /// Largest accepted number, as written in the file.
    pub max: Option<String>,
    /// Allowed values of an `enum`.
    pub values: Vec<String>,
    /// A format check.
    pub format: Option<Format>,
    /// Unique across the type; enforced by the store.
    pub unique: bool,
    /// Value on create when the request omits it.
    pub default: Option<Value>,
    /// Returned, silently ignored when sent.
    pub read_only: bool,
    /// Accepted, returned, or both.
    pub direction: Direction,
    /// Maintained by the engine.
    pub timestamp: Option<Timestamp>,
    /// Holds a value per localization beside its default (`X-Localization-ID`).
    pub localizable: bool,
    /// An amount in the default currency, returned converted by `X-Currency`.
    pub money: bool,
}

impl Attribute {
    /// A request may set this attribute.
    pub fn writable(&self) -> bool {
        !self.read_only && self.timestamp.is_none() && self.direction != Direction::OutputOnly
    }

    /// Responses carry this attribute.
    pub fn readable(&self) -> bool {
        self.direction != Direction::InputOnly
    }
}

/// One relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    /// The member name.
    pub name: String,
    /// The related type ([`Schema::target`] gives it).
    pub target: TypeRef,
    /// What the relationship means, for the API's documentation.
    pub description: Option<String>,
    /// To-many (`true`) or to-one.
    pub many: bool,
    /// The relationship of the target type that mirrors this one.
    pub inverse: Option<String>,
    /// A to-one that must always point at a resource.
    pub required: bool,
    /// What deleting the target does to resources that point at it (to-one only).
    pub on_delete: OnDelete,
    /// Where the linkage is stored.
    pub storage: RelationshipStorage,
}

/// Where the engine keeps the linkage of a relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationshipStorage {
    /// In the resource itself (a to-one id, or the ids of a to-many without inverse).
    Owned,
    /// Derived from the to-one relationship `field` of the target type: writing this side
    /// rewrites that field on the related resources.
    InverseOf {
        /// The to-one relationship on the target type.
        field: String,
    },
}

/// The actions a type serves.
#[derive(Debug, Clone, Default)]
pub struct ActionSet(Vec<Operation>);

impl ActionSet {
    pub(crate) fn new(actions: Vec<Operation>) -> Self {
        Self(actions)
    }

    /// The operation is enabled.
    pub fn allows(&self, action: Operation) -> bool {
        self.0.contains(&action)
    }
}

/// The filter operators of the model system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// equal (to-many: contains any)
    Eq,
    /// not equal (to-many: contains none)
    Neq,
    /// less than
    Lt,
    /// less than or equal
    Lte,
    /// greater than
    Gt,
    /// greater than or equal
    Gte,
    /// `true`: not null; `false`: null
    Exists,
    /// not equal, or null
    NeqOrNull,
    /// substring (to-many: contains all)
    Contains,
    /// not a substring
    NotContains,
    /// prefix
    StartsWith,
    /// not a prefix
    NotStartsWith,
    /// suffix
    EndsWith,
    /// not a suffix
    NotEndsWith,
    /// `true`: empty or null; `false`: neither
    Empty,
}

impl Operator {
    /// Every operator.
    pub const ALL: [Self; 15] = [
        Self::Eq,
        Self::Neq,
        Self::Lt,
        Self::Lte,
        Self::Gt,
        Self::Gte,
        Self::Exists,
        Self::NeqOrNull,
        Self::Contains,
        Self::NotContains,
        Self::StartsWith,
        Self::NotStartsWith,
        Self::EndsWith,
        Self::NotEndsWith,
        Self::Empty,
    ];

    /// The name used in `filter[field][name]`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Neq => "neq",
            Self::Lt => "lt",
            Self::Lte => "lte",
            Self::Gt => "gt",
            Self::Gte => "gte",
            Self::Exists => "exists",
            Self::NeqOrNull => "neq_or_null",
            Self::Contains => "contains",
            Self::NotContains => "not_contains",
            Self::StartsWith => "starts_with",
            Self::NotStartsWith => "not_starts_with",
            Self::EndsWith => "ends_with",
            Self::NotEndsWith => "not_ends_with",
            Self::Empty => "empty",
        }
    }

    /// The symbol the model system uses for it in configuration files.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Neq => "!=",
            Self::Lt => "<",
            Self::Lte => "<=",
            Self::Gt => ">",
            Self::Gte => ">=",
            Self::Exists => "*",
            Self::NeqOrNull => "!*",
            Self::Contains => "~",
            Self::NotContains => "!~",
            Self::StartsWith => "^",
            Self::NotStartsWith => "!^",
            Self::EndsWith => "$",
            Self::NotEndsWith => "!$",
            Self::Empty => "empty",
        }
    }

    /// A comma list (`a,b`) means any (or, for `contains` on many values, all) of its values,
    /// where the filter allows lists.
    pub fn takes_list(self) -> bool {
        matches!(
            self,
            Self::Eq | Self::Neq | Self::NeqOrNull | Self::Contains | Self::NotContains
        )
    }

    /// A range (`a..b`) means between its ends, inclusive, where the filter allows ranges.
    pub fn takes_range(self) -> bool {
        matches!(self, Self::Eq | Self::Neq | Self::NeqOrNull)
    }

    /// The operator with this name or symbol.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|o| o.name() == s || o.symbol() == s)
    }
}

/// What a filter applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterTarget {
    /// The resource id.
    Id,
    /// An attribute of this data type.
    Attribute(DataType),
    /// A relationship, matched by related id.
    Relationship {
        /// A to-many relationship.
        many: bool,
    },
}

/// One declared filter.
#[derive(Debug, Clone)]
pub struct Filter {
    /// The field it filters on.
    pub field: String,
    /// What kind of field that is.
    pub target: FilterTarget,
    /// The operators it accepts.
    pub operators: Vec<Operator>,
    /// Comma lists (`a,b` = a OR b) are accepted.
    pub allow_array: bool,
    /// Ranges (`a..b`) are accepted.
    pub allow_range: bool,
    /// What the filter selects, for the API's documentation.
    pub description: Option<String>,
}

/// One alternative of a title: literal text and `{field}` or `{relationship.field}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleTemplate(pub Vec<TitlePart>);

/// A piece of a [`TitleTemplate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TitlePart {
    /// Text copied as is.
    Literal(String),
    /// A field of the resource (`id` or an attribute).
    Field(String),
    /// A field of a to-one related resource.
    Related(String, String),
}
