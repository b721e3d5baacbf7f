//! Turns the file as written ([`crate::raw`]) into a checked [`Schema`], naming the key of
//! every problem it finds.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use crate::operation::Operation;
use crate::raw::{
    RawApi, RawAttribute, RawAuth, RawConfig, RawCors, RawFilter, RawRelationship, RawType,
    TitleSpec,
};
use crate::schema::{
    ASYNC_OPERATIONS_SEGMENT, ActionSet, ApiSettings, Attribute, AuthSettings, BatchSettings,
    CorsSettings, DOC_SEGMENT, DataType, ExternalIssuerSettings, Filter, FilterTarget, IdStrategy,
    IssuerKeys, OPERATIONS_SEGMENT, OnDelete, Operator, Relationship, RelationshipStorage,
    ResourceType, Schema, Subresource, TitlePart, TitleTemplate, TypeRef,
};

/// A problem with the meaning of the file: the dotted key it is about and what is wrong.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) key: Vec<String>,
    pub(crate) message: String,
}

fn problem(key: &[&str], message: impl Into<String>) -> Problem {
    Problem {
        key: key.iter().map(|s| (*s).to_owned()).collect(),
        message: message.into(),
    }
}

type Checked<T> = Result<T, Problem>;

pub(crate) fn check(raw: &RawConfig) -> Checked<Schema> {
    let mut api = check_api(&raw.api)?;
    if raw.types.is_empty() {
        return Err(problem(&["types"], "declare at least one resource type"));
    }
    let mut types = IndexMap::new();
    for (name, ty) in &raw.types {
        check_type_name(name)?;
        types.insert(name.clone(), check_type(name, ty, &raw.types)?);
    }
    resolve_relationships(raw, &mut types)?;
    check_subresources(raw, &mut types)?;
    for (name, ty) in &raw.types {
        let resolved = types.get_mut(name).expect("inserted above");
        resolved.filters = check_filters(resolved, &ty.filters)?;
        resolved.sorters = check_sorters(resolved, &ty.sorters)?;
        resolved.indexes = check_indexes(resolved, &ty.indexes)?;
    }
    for (name, ty) in &raw.types {
        let title = check_title(name, ty.title.as_ref(), &types)?;
        types.get_mut(name).expect("inserted above").title = title;
    }
    api.auth = check_auth(&raw.api.auth, &types)?;
    api.operations = check_operations(raw.api.operations, &types)?;
    for (name, ty) in &types {
        check_require_if_match(name, ty)?;
    }
    Ok(Schema {
        api,
        types: types.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
    })
}

fn check_api(raw: &RawApi) -> Checked<ApiSettings> {
    let prefix = raw.prefix.clone().unwrap_or_else(|| "/api".to_owned());
    if !prefix.starts_with('/') || prefix.ends_with('/') && prefix.len() > 1 {
        return Err(problem(
            &["api", "prefix"],
            "must start with \"/\" and not end with one, like \"/api\"",
        ));
    }
    let page_size = match raw.page_size {
        None => 10,
        Some(n) if n >= 1 => n as usize,
        Some(_) => return Err(problem(&["api", "pageSize"], "must be at least 1")),
    };
    let max_results = match raw.max_results {
        None | Some(-1) => None,
        Some(n) if n >= 1 => Some(n as usize),
        Some(_) => {
            return Err(problem(
                &["api", "maxResults"],
                "must be -1 (unlimited) or at least 1",
            ));
        }
    };
    if max_results.is_some_and(|m| m < page_size) {
        return Err(problem(
            &["api", "maxResults"],
            "must not be smaller than pageSize",
        ));
    }
    let public_url = raw
        .public_url
        .as_deref()
        .map(crate::public_url)
        .transpose()
        .map_err(|e| problem(&["api", "publicUrl"], e.to_string()))?;
    let openapi = raw.openapi.unwrap_or(true);
    let sandbox = raw.sandbox.unwrap_or(true);
    if sandbox && !openapi {
        return Err(problem(
            &["api", "sandbox"],
            "the sandbox page is built on the OpenAPI document: set it to false too, or api.openapi to true",
        ));
    }
    Ok(ApiSettings {
        enabled: raw.enabled.unwrap_or(true),
        public_url,
        prefix: if prefix == "/" { String::new() } else { prefix },
        page_size,
        max_results,
        max_related: raw.max_related.unwrap_or(1000).max(1),
        max_delete: raw.max_delete.unwrap_or(100).max(1),
        batch: BatchSettings {
            chunk_size: raw.batch.chunk_size.unwrap_or(100).max(1),
            included_chunk_size: raw.batch.included_chunk_size.unwrap_or(50).max(1),
            sync_limit: raw.batch.sync_limit.unwrap_or(100).max(1),
            sync_included_limit: raw.batch.sync_included_limit.unwrap_or(50),
        },
        openapi,
        sandbox,
        operations: false,
        auth: AuthSettings {
            enabled: true,
            issuer: String::new(),
            audience: String::new(),
            access_token_lifetime: 0,
            refresh_token_lifetime: 0,
            anonymous: Vec::new(),
            users: None,
            roles: None,
            external_issuers: Vec::new(),
        },
        cors: check_cors(&raw.cors)?,
    })
}

/// `api.operations` (the atomic extension at `{prefix}/operations`) writes through the
/// types' own create, update and delete actions: with none enabled it could do nothing.
fn check_operations(raw: Option<bool>, types: &IndexMap<String, ResourceType>) -> Checked<bool> {
    let enabled = raw.unwrap_or(false);
    let writable = types.values().any(|ty| {
        [Operation::Create, Operation::Update, Operation::Delete]
            .into_iter()
            .any(|a| ty.actions.allows(a))
    });
    if enabled && types.contains_key(OPERATIONS_SEGMENT) {
        return Err(problem(
            &["types", OPERATIONS_SEGMENT],
            "with api.operations on, {prefix}/operations is the atomic extension's endpoint: rename the type, or set api.operations to false",
        ));
    }
    if enabled && !writable {
        return Err(problem(
            &["api", "operations"],
            "no type enables create, update or delete, so atomic operations could change nothing: enable one, or set this to false",
        ));
    }
    Ok(enabled)
}

/// `requireIfMatch` guards the writes of a known resource; a type that allows none of them
/// would declare a rule that never applies, which is a mistake worth naming.
fn check_require_if_match(name: &str, ty: &ResourceType) -> Checked<()> {
    let guarded = [
        Operation::Update,
        Operation::Delete,
        Operation::UpdateRelationship,
        Operation::AddRelationship,
        Operation::DeleteRelationship,
    ];
    if ty.require_if_match && !guarded.into_iter().any(|a| ty.actions.allows(a)) {
        return Err(problem(
            &["types", name, "requireIfMatch"],
            "the type enables no update, delete or relationship write for If-Match to guard: remove it, or enable one",
        ));
    }
    Ok(())
}

fn check_cors(raw: &RawCors) -> Checked<CorsSettings> {
    for (n, origin) in raw.allow_origins.iter().enumerate() {
        let ok = origin == "*"
            || (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.ends_with('/')
                && !origin.contains(char::is_whitespace);
        if !ok {
            return Err(problem(
                &["api", "cors", "allowOrigins", &n.to_string()],
                "must be \"*\" or an origin such as \"https://app.example.com\" (scheme and host, no path)",
            ));
        }
    }
    let header_names = |key: &str, names: &[String]| -> Checked<Vec<String>> {
        names
            .iter()
            .enumerate()
            .map(|(n, h)| {
                http_token(h).then(|| h.clone()).ok_or_else(|| {
                    problem(
                        &["api", "cors", key, &n.to_string()],
                        "is not a header name",
                    )
                })
            })
            .collect()
    };
    Ok(CorsSettings {
        allow_origins: raw.allow_origins.clone(),
        allow_credentials: raw.allow_credentials.unwrap_or(false),
        allow_headers: header_names("allowHeaders", &raw.allow_headers)?,
        expose_headers: header_names("exposeHeaders", &raw.expose_headers)?,
        preflight_max_age: raw.preflight_max_age.unwrap_or(600),
    })
}

/// An RFC 9110 token (what a header name is made of).
fn http_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The default lifetime of refresh tokens: the model's 18144000 s.
const REFRESH_TOKEN_LIFETIME: u64 = 18_144_000;

fn check_auth(raw: &RawAuth, types: &IndexMap<String, ResourceType>) -> Checked<AuthSettings> {
    let access = raw.access_token_lifetime.unwrap_or(3600);
    if !(60..=86_400).contains(&access) {
        return Err(problem(
            &["api", "auth", "accessTokenLifetime"],
            "must be between 60 and 86400 seconds",
        ));
    }
    let refresh = raw.refresh_token_lifetime.unwrap_or(REFRESH_TOKEN_LIFETIME);
    if refresh < access {
        return Err(problem(
            &["api", "auth", "refreshTokenLifetime"],
            "must not be shorter than accessTokenLifetime",
        ));
    }
    for (n, ty) in raw.anonymous.iter().enumerate() {
        if !types.contains_key(ty) {
            return Err(problem(
                &["api", "auth", "anonymous", &n.to_string()],
                format!("unknown type \"{ty}\""),
            ));
        }
    }
    let roles = check_roles_type(raw.roles.as_deref(), types)?;
    let users = check_users_type(raw.users.as_deref(), roles.as_deref(), types)?;
    let mut external_issuers = Vec::new();
    for (n, issuer) in raw.external_issuers.iter().enumerate() {
        let n = n.to_string();
        if issuer.issuer.trim().is_empty() {
            return Err(problem(
                &["api", "auth", "externalIssuers", &n, "issuer"],
                "must not be empty",
            ));
        }
        let at = |key| ["api", "auth", "externalIssuers", n.as_str(), key];
        let keys = match (&issuer.jwks, &issuer.jwks_uri) {
            (Some(_), Some(_)) => {
                return Err(problem(
                    &at("jwksUri"),
                    "give the keys inline (jwks) or where to fetch them (jwksUri), not both",
                ));
            }
            (Some(jwks), None) => {
                if !jwks.get("keys").is_some_and(Value::is_array) {
                    return Err(problem(
                        &at("jwks"),
                        "must be a JWKS document: a mapping with a \"keys\" list",
                    ));
                }
                IssuerKeys::Inline(jwks.clone())
            }
            (None, Some(uri)) => {
                fetchable_url(uri).map_err(|e| problem(&at("jwksUri"), e.to_string()))?;
                IssuerKeys::Uri(uri.clone())
            }
            (None, None) => {
                fetchable_url(&issuer.issuer).map_err(|e| {
                    problem(
                        &at("issuer"),
                        format!("{e} (without jwks or jwksUri, the keys are found through the issuer's OpenID configuration)"),
                    )
                })?;
                IssuerKeys::Discovery
            }
        };
        external_issuers.push(ExternalIssuerSettings {
            issuer: issuer.issuer.clone(),
            audiences: issuer.audiences.clone(),
            roles_claim: issuer
                .roles_claim
                .clone()
                .unwrap_or_else(|| "roles".to_owned()),
            keys,
        });
    }
    Ok(AuthSettings {
        enabled: raw.enabled.unwrap_or(true),
        issuer: raw.issuer.clone().unwrap_or_else(|| "jsonapi".to_owned()),
        audience: raw.audience.clone().unwrap_or_else(|| "jsonapi".to_owned()),
        access_token_lifetime: access,
        refresh_token_lifetime: refresh,
        anonymous: raw.anonymous.clone(),
        users,
        roles,
        external_issuers,
    })
}

/// A URL keys may not be fetched from.
#[derive(Debug, thiserror::Error)]
#[error("must be an https URL (http only on 127.0.0.1, [::1] or localhost), not \"{0}\"")]
struct NotFetchable(String);

/// Whether keys may be fetched from `url`: an absolute `https` URL, or `http` on a loopback
/// host (a local identity provider).
fn fetchable_url(url: &str) -> Result<(), NotFetchable> {
    let problem = || NotFetchable(url.to_owned());
    let url = crate::public_url(url).map_err(|_| problem())?;
    if url.starts_with("https://") {
        return Ok(());
    }
    let authority = url["http://".len()..].split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback { Ok(()) } else { Err(problem()) }
}

/// What a type lacks for the part auth gives it ("needs a ..." after the type's name).
struct Unfit(String);

/// A type auth relies on: the one named under `key`, or else `default` when the API has such
/// a type; it must pass `check`. With `lenient`, a default type that does not pass is simply
/// not used (an API whose `users` type is not made for signing in has no password grant);
/// without, it is an error (no roles type would let every caller do everything).
fn auth_type(
    key: &str,
    named: Option<&str>,
    (default, lenient): (&str, bool),
    types: &IndexMap<String, ResourceType>,
    check: impl Fn(&ResourceType) -> Result<(), Unfit>,
) -> Checked<Option<String>> {
    let at = ["api", "auth", key];
    let ty = match named {
        Some(ty) => ty,
        None if types.contains_key(default) => default,
        None => return Ok(None),
    };
    let resolved = types
        .get(ty)
        .ok_or_else(|| problem(&at, format!("unknown type \"{ty}\"")))?;
    match check(resolved) {
        Ok(()) => Ok(Some(ty.to_owned())),
        Err(_) if named.is_none() && lenient => Ok(None),
        Err(Unfit(m)) => Err(problem(&at, format!("the type \"{ty}\" {m}"))),
    }
}

/// The roles type needs a `permissions` json attribute.
fn check_roles_type(
    named: Option<&str>,
    types: &IndexMap<String, ResourceType>,
) -> Checked<Option<String>> {
    auth_type("roles", named, ("roles", false), types, |ty| {
        if ty
            .attributes
            .get("permissions")
            .is_some_and(|a| a.data_type == DataType::Json)
        {
            Ok(())
        } else {
            Err(Unfit(
                "needs a \"permissions\" attribute of type json".to_owned(),
            ))
        }
    })
}

/// The users type needs a unique string `username`, a string `password` and, with a roles
/// type, a to-many `roles` relationship to it.
fn check_users_type(
    named: Option<&str>,
    roles: Option<&str>,
    types: &IndexMap<String, ResourceType>,
) -> Checked<Option<String>> {
    auth_type("users", named, ("users", true), types, |ty| {
        let string = |name: &str| {
            ty.attributes
                .get(name)
                .filter(|a| a.data_type == DataType::String)
        };
        if !string("username").is_some_and(|a| a.unique) || string("password").is_none() {
            return Err(Unfit(
                "needs a unique string attribute \"username\" and a string attribute \"password\""
                    .to_owned(),
            ));
        }
        match roles {
            Some(roles)
                if !ty
                    .relationships
                    .get("roles")
                    .is_some_and(|r| r.many && r.target == roles) =>
            {
                Err(Unfit(format!(
                    "needs a to-many \"roles\" relationship to \"{roles}\""
                )))
            }
            _ => Ok(()),
        }
    })
}

/// Type names are URL segments and key prefixes: lowercase letters and digits only.
fn check_type_name(name: &str) -> Checked<()> {
    if name == DOC_SEGMENT {
        return Err(problem(
            &["types", name],
            "\"doc\" is reserved: {prefix}/doc serves the API's documentation",
        ));
    }
    if name == ASYNC_OPERATIONS_SEGMENT {
        return Err(problem(
            &["types", name],
            "\"asyncoperations\" is reserved: {prefix}/asyncoperations/{id} serves the batch API's operations",
        ));
    }
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(problem(
            &["types", name],
            "a type name must be lowercase letters and digits, starting with a letter (e.g. \"orderlineitems\")",
        ))
    }
}

/// Member names must be valid JSON:API member names and may not be `id` or `type`.
fn check_member_name(path: &[&str], name: &str) -> Checked<()> {
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "id"
        && name != "type";
    if ok {
        Ok(())
    } else {
        Err(problem(
            path,
            "a field name must be letters, digits or \"_\", start with a letter, and not be \"id\" or \"type\"",
        ))
    }
}

/// A description is text for people: present and not blank (leave the key out instead).
fn check_description(path: &[&str], text: Option<&String>) -> Checked<Option<String>> {
    match text {
        None => Ok(None),
        Some(t) if t.trim().is_empty() => {
            let mut p = path.to_vec();
            p.push("description");
            Err(problem(
                &p,
                "must not be empty; leave the key out when there is nothing to say",
            ))
        }
        Some(t) => Ok(Some(t.trim().to_owned())),
    }
}

/// `declared` are every type of the file: relationship targets are resolved against them (the
/// checked types keep their order, so an index into one is an index into the other).
fn check_type(
    name: &str,
    raw: &RawType,
    declared: &IndexMap<String, RawType>,
) -> Checked<ResourceType> {
    let description = check_description(&["types", name], raw.description.as_ref())?;
    let mut attributes = IndexMap::new();
    for (field, attr) in &raw.attributes {
        let path = ["types", name, "attributes", field];
        check_member_name(&path, field)?;
        attributes.insert(field.clone(), check_attribute(&path, field, attr)?);
    }
    let mut relationships = IndexMap::new();
    for (field, rel) in &raw.relationships {
        let path = ["types", name, "relationships", field];
        check_member_name(&path, field)?;
        if attributes.contains_key(field) {
            return Err(problem(&path, "an attribute already has this name"));
        }
        relationships.insert(
            field.clone(),
            check_relationship(&path, field, rel, declared)?,
        );
    }
    let mut actions: Vec<Operation> = Operation::OF_TYPES
        .into_iter()
        .filter(|a| *a != Operation::UpdateList)
        .collect();
    for (action, enabled) in &raw.actions {
        let Some(a) = Operation::of_type_named(action) else {
            let known: Vec<_> = Operation::OF_TYPES.iter().map(|a| a.name()).collect();
            return Err(problem(
                &["types", name, "actions", action],
                format!("unknown action; known actions: {}", known.join(", ")),
            ));
        };
        actions.retain(|x| *x != a);
        if *enabled {
            actions.push(a);
        }
    }
    let mut upsert = Vec::new();
    if raw.id == IdStrategy::Client {
        upsert.push("id".to_owned());
    }
    for field in &raw.upsert {
        match attributes.get(field) {
            Some(a) if a.unique => upsert.push(field.clone()),
            Some(_) => {
                return Err(problem(
                    &["types", name, "upsert"],
                    format!("\"{field}\" must be unique to be an upsert key"),
                ));
            }
            None if field == "id" => {
                return Err(problem(
                    &["types", name, "upsert"],
                    "\"id\" is an upsert key only for types whose ids the client chooses (id: client), and then it is one already",
                ));
            }
            None => {
                return Err(problem(
                    &["types", name, "upsert"],
                    format!("\"{field}\" is not an attribute of this type"),
                ));
            }
        }
    }
    Ok(ResourceType {
        name: name.to_owned(),
        id: raw.id,
        description,
        attributes,
        relationships,
        filters: IndexMap::new(),
        sorters: Vec::new(),
        actions: ActionSet::new(actions),
        validation: raw.validation,
        require_if_match: raw.require_if_match,
        upsert,
        indexes: Vec::new(),
        title: Vec::new(),
        subresources: IndexMap::new(),
    })
}

/// Sub-resources: names of their own (not a relationship's, nor `relationships`), and the type
/// they answer with declared.
fn check_subresources(raw: &RawConfig, types: &mut IndexMap<String, ResourceType>) -> Checked<()> {
    for (name, ty) in &raw.types {
        let mut checked = IndexMap::new();
        for (sub, rawsub) in &ty.subresources {
            let path = ["types", name.as_str(), "subresources", sub.as_str()];
            check_member_name(&path, sub)?;
            if sub == "relationships" || types[name].relationships.contains_key(sub) {
                return Err(problem(&path, "a relationship already has this path"));
            }
            if let Some(returns) = &rawsub.returns
                && !types.contains_key(returns)
            {
                let mut p = path.to_vec();
                p.push("returns");
                return Err(problem(&p, format!("\"{returns}\" is not a declared type")));
            }
            if rawsub.many && rawsub.returns.is_none() {
                let mut p = path.to_vec();
                p.push("many");
                return Err(problem(
                    &p,
                    "only a sub-resource that returns a type can return many",
                ));
            }
            let description = check_description(&path, rawsub.description.as_ref())?;
            checked.insert(
                sub.clone(),
                Subresource {
                    name: sub.clone(),
                    method: rawsub.method,
                    description,
                    returns: rawsub.returns.clone(),
                    many: rawsub.many,
                },
            );
        }
        if let Some(t) = types.get_mut(name) {
            t.subresources = checked;
        }
    }
    Ok(())
}

fn check_attribute(path: &[&str], name: &str, raw: &RawAttribute) -> Checked<Attribute> {
    let key = |k: &str| {
        let mut p = path.to_vec();
        p.push(k);
        p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    };
    let fail = |k: &str, m: String| Problem {
        key: key(k),
        message: m,
    };
    let dt = raw.data_type;
    let is_string = matches!(dt, DataType::String | DataType::Text);
    let is_number = matches!(
        dt,
        DataType::Integer | DataType::Bigint | DataType::Decimal | DataType::Float
    );
    if (raw.max_length.is_some() || raw.min_length.is_some()) && !is_string {
        return Err(fail(
            "maxLength",
            "maxLength and minLength apply to string and text attributes only".to_owned(),
        ));
    }
    let bound = |k: &str, v: &Option<Value>| -> Checked<Option<String>> {
        match v {
            None => Ok(None),
            Some(_) if !is_number => Err(fail(
                k,
                "min and max apply to numeric attributes only".to_owned(),
            )),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::String(s)) if s.parse::<f64>().is_ok() => Ok(Some(s.clone())),
            Some(_) => Err(fail(k, "must be a number".to_owned())),
        }
    };
    let min = bound("min", &raw.min)?;
    let max = bound("max", &raw.max)?;
    let values = match (&raw.values, dt) {
        (Some(v), DataType::Enum) if !v.is_empty() => v.clone(),
        (_, DataType::Enum) => {
            return Err(fail(
                "values",
                "an enum attribute needs a non-empty list of values".to_owned(),
            ));
        }
        (Some(_), _) => {
            return Err(fail(
                "values",
                "values apply to enum attributes only".to_owned(),
            ));
        }
        (None, _) => Vec::new(),
    };
    if raw.format.is_some() && dt != DataType::String {
        return Err(fail(
            "format",
            "format applies to string attributes only".to_owned(),
        ));
    }
    if raw.unique && !matches!(dt, DataType::String | DataType::Integer | DataType::Bigint) {
        return Err(fail(
            "unique",
            "unique applies to string, integer and bigint attributes".to_owned(),
        ));
    }
    if raw.timestamp.is_some() && dt != DataType::Datetime {
        return Err(fail(
            "timestamp",
            "timestamp applies to datetime attributes only".to_owned(),
        ));
    }
    if let Some(default) = &raw.default {
        let fits = match dt {
            DataType::Boolean => default.is_boolean(),
            DataType::Integer | DataType::Float => default.is_number(),
            DataType::Bigint | DataType::Decimal => default.is_number() || default.is_string(),
            DataType::Enum => default
                .as_str()
                .is_some_and(|s| values.iter().any(|v| v == s)),
            DataType::Strings => default
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string)),
            DataType::Json => default.is_object(),
            _ => default.is_string(),
        };
        if !fits {
            return Err(fail(
                "default",
                format!("the default does not fit the data type of \"{name}\""),
            ));
        }
    }
    Ok(Attribute {
        name: name.to_owned(),
        data_type: dt,
        description: check_description(path, raw.description.as_ref())?,
        required: raw.required,
        nullable: raw.nullable.unwrap_or(!raw.required),
        max_length: raw.max_length,
        min_length: raw.min_length,
        min,
        max,
        values,
        format: raw.format,
        unique: raw.unique,
        default: raw.default.clone(),
        read_only: raw.read_only,
        direction: raw.direction,
        timestamp: raw.timestamp,
    })
}

fn check_relationship(
    path: &[&str],
    name: &str,
    raw: &RawRelationship,
    declared: &IndexMap<String, RawType>,
) -> Checked<Relationship> {
    let Some(index) = declared.get_index_of(&raw.target) else {
        let mut p = path.to_vec();
        p.push("target");
        return Err(problem(
            &p,
            format!("\"{}\" is not a declared type", raw.target),
        ));
    };
    if raw.many && raw.required {
        let mut p = path.to_vec();
        p.push("required");
        return Err(problem(&p, "only to-one relationships can be required"));
    }
    let on_delete = match (raw.on_delete, raw.required) {
        (Some(OnDelete::Nullify), true) => {
            let mut p = path.to_vec();
            p.push("onDelete");
            return Err(problem(
                &p,
                "a required relationship cannot be cleared: use restrict or cascade",
            ));
        }
        (Some(d), _) => d,
        (None, true) => OnDelete::Restrict,
        (None, false) => OnDelete::Nullify,
    };
    Ok(Relationship {
        name: name.to_owned(),
        target: TypeRef::new(raw.target.clone(), index),
        description: check_description(path, raw.description.as_ref())?,
        many: raw.many,
        inverse: raw.inverse.clone(),
        required: raw.required,
        on_delete,
        storage: RelationshipStorage::Owned,
    })
}

/// Checks inverses, and decides which side of each pair stores the linkage:
/// the to-one side does, and the to-many side is derived from it.
fn resolve_relationships(
    raw: &RawConfig,
    types: &mut IndexMap<String, ResourceType>,
) -> Checked<()> {
    let mut derived = Vec::new();
    for (name, ty) in &raw.types {
        for (field, rel) in &ty.relationships {
            let path = ["types", name.as_str(), "relationships", field.as_str()];
            let Some(inverse) = &rel.inverse else {
                continue;
            };
            let target = &types[rel.target.as_str()];
            let mut p = path.to_vec();
            p.push("inverse");
            let Some(other) = target.relationships.get(inverse) else {
                return Err(problem(
                    &p,
                    format!("\"{}\" has no relationship \"{inverse}\"", rel.target),
                ));
            };
            if other.target != *name || other.inverse.as_deref() != Some(field) {
                return Err(problem(
                    &p,
                    format!(
                        "\"{}.{inverse}\" must target \"{name}\" and name \"{field}\" as its inverse",
                        rel.target
                    ),
                ));
            }
            match (rel.many, other.many) {
                (true, false) => derived.push((name.clone(), field.clone(), inverse.clone())),
                (false, true) => {}
                _ => {
                    return Err(problem(
                        &p,
                        "inverse pairs must be one to-one and one to-many relationship",
                    ));
                }
            }
        }
    }
    for (ty, field, inverse) in derived {
        let rel = types
            .get_mut(&ty)
            .and_then(|t| t.relationships.get_mut(&field))
            .expect("checked above");
        rel.storage = RelationshipStorage::InverseOf { field: inverse };
    }
    Ok(())
}

fn default_operators(target: FilterTarget, id: IdStrategy) -> Vec<Operator> {
    use Operator::*;
    match target {
        FilterTarget::Id if id == IdStrategy::Sequence => vec![Eq, Neq, Lt, Lte, Gt, Gte],
        FilterTarget::Id => vec![Eq, Neq],
        FilterTarget::Relationship { .. } => vec![Eq, Neq, Exists, NeqOrNull],
        FilterTarget::Attribute(dt) => match dt {
            DataType::String | DataType::Boolean | DataType::Enum => {
                vec![Eq, Neq, Exists, NeqOrNull]
            }
            DataType::Text | DataType::Json | DataType::Strings => vec![Exists],
            DataType::Integer
            | DataType::Bigint
            | DataType::Decimal
            | DataType::Float
            | DataType::Date
            | DataType::Datetime => vec![Eq, Neq, Lt, Lte, Gt, Gte, Exists, NeqOrNull],
        },
    }
}

fn check_filters(
    ty: &ResourceType,
    raw: &IndexMap<String, Option<RawFilter>>,
) -> Checked<IndexMap<String, Filter>> {
    let mut filters = IndexMap::new();
    let mut all: Vec<(&String, Option<&RawFilter>)> =
        raw.iter().map(|(k, v)| (k, v.as_ref())).collect();
    let id = "id".to_owned();
    if !raw.contains_key("id") {
        // The model system always offers `filter[id]`.
        all.insert(0, (&id, None));
    }
    for (field, spec) in all {
        let path = ["types", ty.name.as_str(), "filters", field.as_str()];
        let target = if field == "id" {
            FilterTarget::Id
        } else if let Some(a) = ty.attributes.get(field) {
            if !a.readable() {
                return Err(problem(&path, "an input-only attribute cannot be filtered"));
            }
            FilterTarget::Attribute(a.data_type)
        } else if let Some(r) = ty.relationships.get(field) {
            FilterTarget::Relationship { many: r.many }
        } else {
            return Err(problem(
                &path,
                "not an attribute or relationship of this type",
            ));
        };
        let mut operators = default_operators(target, ty.id);
        let no_options = RawFilter::default();
        let spec = spec.unwrap_or(&no_options);
        for op in &spec.operators {
            let Some(op) = Operator::parse(op) else {
                let mut p = path.to_vec();
                p.push("operators");
                let known: Vec<_> = Operator::ALL.iter().map(|o| o.name()).collect();
                return Err(problem(
                    &p,
                    format!("unknown operator \"{op}\"; known: {}", known.join(", ")),
                ));
            };
            if !operators.contains(&op) {
                operators.push(op);
            }
        }
        let (array_default, range_default) = match target {
            FilterTarget::Attribute(DataType::String | DataType::Text | DataType::Boolean) => {
                (false, false)
            }
            FilterTarget::Attribute(DataType::Enum) => (true, false),
            FilterTarget::Attribute(DataType::Strings | DataType::Json) => (true, false),
            FilterTarget::Relationship { .. } => (true, false),
            FilterTarget::Id if ty.id != IdStrategy::Sequence => (true, false),
            _ => (true, true),
        };
        filters.insert(
            field.clone(),
            Filter {
                field: field.clone(),
                target,
                operators,
                allow_array: spec.allow_array.unwrap_or(array_default),
                allow_range: spec.allow_range.unwrap_or(range_default),
                description: check_description(&path, spec.description.as_ref())?,
            },
        );
    }
    Ok(filters)
}

fn check_sorters(ty: &ResourceType, raw: &[String]) -> Checked<Vec<String>> {
    let mut sorters = vec!["id".to_owned()];
    for (i, field) in raw.iter().enumerate() {
        let index = i.to_string();
        let path = ["types", ty.name.as_str(), "sorters", index.as_str()];
        let ok = field == "id"
            || ty.attributes.get(field).is_some_and(|a| {
                a.readable() && !matches!(a.data_type, DataType::Json | DataType::Strings)
            })
            || ty.relationships.get(field).is_some_and(|r| !r.many);
        if !ok {
            return Err(problem(
                &path,
                format!(
                    "\"{field}\" is not a sortable field: use id, a scalar attribute or a to-one relationship"
                ),
            ));
        }
        if !sorters.contains(field) {
            sorters.push(field.clone());
        }
    }
    Ok(sorters)
}

fn check_indexes(ty: &ResourceType, raw: &[Vec<String>]) -> Checked<Vec<[String; 2]>> {
    let mut indexes = Vec::new();
    for (i, fields) in raw.iter().enumerate() {
        let index = i.to_string();
        let path = ["types", ty.name.as_str(), "indexes", index.as_str()];
        let [first, second] = fields.as_slice() else {
            return Err(problem(
                &path,
                "a composite index names two fields: [equality field, sort field]",
            ));
        };
        for f in [first, second] {
            let ok = ty.attributes.get(f).is_some_and(|a| {
                a.readable()
                    && !matches!(
                        a.data_type,
                        DataType::Json | DataType::Strings | DataType::Text
                    )
            }) || ty
                .relationships
                .get(f)
                .is_some_and(|r| !r.many && r.storage == RelationshipStorage::Owned);
            if !ok {
                return Err(problem(
                    &path,
                    format!(
                        "\"{f}\" cannot be indexed: use a scalar attribute or a to-one relationship"
                    ),
                ));
            }
        }
        if !ty.filters.contains_key(first) {
            return Err(problem(
                &path,
                format!("\"{first}\" must be a declared filter to lead a composite index"),
            ));
        }
        indexes.push([first.clone(), second.clone()]);
    }
    Ok(indexes)
}

fn check_title(
    name: &str,
    spec: Option<&TitleSpec>,
    types: &IndexMap<String, ResourceType>,
) -> Checked<Vec<TitleTemplate>> {
    let alternatives: Vec<&String> = match spec {
        None => return Ok(vec![TitleTemplate(vec![TitlePart::Field("id".to_owned())])]),
        Some(TitleSpec::One(s)) => vec![s],
        Some(TitleSpec::FirstOf(v)) => v.iter().collect(),
    };
    let ty = &types[name];
    let path = ["types", name, "title"];
    let mut templates = Vec::new();
    for text in alternatives {
        let mut parts = Vec::new();
        let mut rest = text.as_str();
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(TitlePart::Literal(rest[..open].to_owned()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(problem(&path, format!("unclosed \"{{\" in \"{text}\"")));
            };
            let field = &rest[open + 1..open + close];
            parts.push(title_field(ty, types, field).ok_or_else(|| {
                problem(
                    &path,
                    format!("\"{{{field}}}\" is not a field or a to-one relationship's field"),
                )
            })?);
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(TitlePart::Literal(rest.to_owned()));
        }
        templates.push(TitleTemplate(parts));
    }
    Ok(templates)
}

fn title_field(
    ty: &ResourceType,
    types: &IndexMap<String, ResourceType>,
    field: &str,
) -> Option<TitlePart> {
    let scalar = |t: &ResourceType, f: &str| f == "id" || t.attributes.contains_key(f);
    match field.split_once('.') {
        None => scalar(ty, field).then(|| TitlePart::Field(field.to_owned())),
        Some((rel, f)) => {
            let r = ty.relationships.get(rel).filter(|r| !r.many)?;
            scalar(&types[r.target.name()], f)
                .then(|| TitlePart::Related(rel.to_owned(), f.to_owned()))
        }
    }
}
